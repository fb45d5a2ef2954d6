//! The UDP side: IP discovery replies, keepalives, and RTP intake.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::net::UdpSocket;
use tracing::{debug, trace};

use super::{
    discovery,
    rtp::RtpHeader,
    state::{RtpOutcome, Shared},
};

/// Larger than any datagram songbird sends (it caps packets at 1460 bytes),
/// so nothing is silently truncated.
const RECV_BUFFER: usize = 64 * 1024;

/// Whether the UDP side answers at all; a test turns it off to make the
/// server unreachable over UDP while its WebSocket stays up.
#[derive(Debug)]
pub(crate) struct UdpSwitch {
    answering: AtomicBool,
    ignored: AtomicU64,
}

impl UdpSwitch {
    pub(crate) fn new() -> Self {
        Self { answering: AtomicBool::new(true), ignored: AtomicU64::new(0) }
    }

    pub(crate) fn set_answering(&self, answering: bool) {
        self.answering.store(answering, Ordering::Relaxed);
    }

    /// Datagrams received while not answering (and so neither answered nor
    /// recorded).
    pub(crate) fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }
}

/// Receives datagrams until the task is aborted.
pub(crate) async fn run(socket: UdpSocket, shared: Arc<Shared>, switch: Arc<UdpSwitch>) {
    let mut buffer = vec![0u8; RECV_BUFFER];
    loop {
        let (len, from) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // e.g. ICMP port unreachable surfacing on Linux; back off a
                // little so a persistent error cannot spin the runtime.
                debug!(%error, "voice udp receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !switch.answering.load(Ordering::Relaxed) {
            // As if the network lost it: no discovery reply, no audio heard.
            switch.ignored.fetch_add(1, Ordering::Relaxed);
            trace!(%from, len, "voice datagram ignored: udp is off");
            continue;
        }
        let datagram = &buffer[..len];
        let at = std::time::Instant::now();

        if let Some(ssrc) = discovery::parse_request(datagram) {
            if !shared.lock().knows_ssrc(ssrc) {
                debug!(ssrc, %from, "ip discovery for unknown ssrc dropped");
                continue;
            }
            if let Err(error) = socket.send_to(&discovery::response(ssrc, from), from).await {
                debug!(ssrc, %from, %error, "ip discovery reply failed");
            }
            trace!(ssrc, %from, "ip discovery answered");
            continue;
        }

        if len == 4 || len == 8 {
            // songbird's keepalive is the 4-byte ssrc; Discord clients send 8.
            let ssrc = u32::from_be_bytes([datagram[0], datagram[1], datagram[2], datagram[3]]);
            shared.lock().keepalive(ssrc);
            trace!(ssrc, "voice keepalive");
            continue;
        }

        let header = match RtpHeader::parse(datagram) {
            Ok(header) => header,
            Err(error) => {
                debug!(%from, len, %error, "voice datagram dropped");
                continue;
            }
        };
        let outcome = shared.lock().rtp(header.ssrc, datagram, at);
        match outcome {
            RtpOutcome::UnknownSsrc => debug!(ssrc = header.ssrc, "rtp for unknown ssrc dropped"),
            RtpOutcome::Rejected(guild_id, error) => {
                debug!(guild_id, ssrc = header.ssrc, %error, "rtp packet rejected");
            }
            RtpOutcome::DaveRejected(guild_id, error) => {
                debug!(guild_id, ssrc = header.ssrc, %error, "dave frame did not decrypt");
            }
            RtpOutcome::Counted => {}
            RtpOutcome::Undecodable(guild_id, packet) => {
                debug!(guild_id, sequence = packet.header.sequence, "opus frame failed to decode");
            }
            RtpOutcome::Silence(guild_id, packet) | RtpOutcome::Audio(guild_id, packet) => {
                trace!(guild_id, sequence = packet.header.sequence, len = packet.payload.len(), "rtp packet");
            }
        }
    }
}
