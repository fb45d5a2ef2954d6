//! Discord's transport encryption of RTP voice packets (the `_rtpsize` modes).
//!
//! Layout of a packet on the wire, as songbird 0.6 sends it:
//!
//! ```text
//! | RTP header (12 B + 4 B per CSRC) | [ext preamble 4 B] | ciphertext | tag 16 B | counter 4 B |
//! |<------------- authenticated, not encrypted ---------->|
//! ```
//!
//! The counter is a big-endian `u32` that increases by one per packet; the
//! cipher nonce is those 4 bytes followed by zeros (12 bytes in all for
//! AES-256-GCM, 24 for XChaCha20-Poly1305). If the header has the extension
//! bit, only the 4-byte extension preamble is in the clear: the extension
//! body is encrypted and sits at the start of the plaintext (Discord's
//! departure from SRTP).

use std::fmt;

use aes_gcm::{
    Aes256Gcm,
    aead::{Aead, KeyInit, Payload},
};
use chacha20poly1305::XChaCha20Poly1305;

/// The Opus frame songbird (and Discord clients) send for silence.
pub const SILENCE_FRAME: [u8; 3] = [0xF8, 0xFF, 0xFE];

/// Length of the fixed RTP header, before any CSRC entries.
pub const RTP_HEADER_LEN: usize = 12;

const TAG_LEN: usize = 16;
const COUNTER_LEN: usize = 4;
const EXTENSION_PREAMBLE_LEN: usize = 4;

/// A transport encryption mode the fake voice server can negotiate.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
#[non_exhaustive]
pub enum CryptoMode {
    /// `aead_aes256_gcm_rtpsize`: songbird's default and Discord's preferred mode.
    Aes256GcmRtpsize,
    /// `aead_xchacha20_poly1305_rtpsize`: the mode every client must support.
    XChaCha20Poly1305Rtpsize,
}

impl CryptoMode {
    /// Every supported mode, in Discord's order of preference.
    pub const ALL: [CryptoMode; 2] = [CryptoMode::Aes256GcmRtpsize, CryptoMode::XChaCha20Poly1305Rtpsize];

    /// Returns the mode's name as it appears in Ready, SelectProtocol and
    /// SessionDescription.
    pub const fn name(self) -> &'static str {
        match self {
            CryptoMode::Aes256GcmRtpsize => "aead_aes256_gcm_rtpsize",
            CryptoMode::XChaCha20Poly1305Rtpsize => "aead_xchacha20_poly1305_rtpsize",
        }
    }

    /// Parses a mode name, returning `None` for modes this server does not speak.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

impl fmt::Display for CryptoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a datagram could not be turned into an Opus payload.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than its headers, tag and nonce counter.
    TooShort,
    /// Not RTP version 2, or an RTCP packet.
    NotRtp,
    /// Authentication failed: wrong key, wrong mode or a garbled packet.
    Decrypt,
    /// Decrypted, but the header extension or padding does not fit.
    Malformed,
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RtpError::TooShort => "packet too short",
            RtpError::NotRtp => "not an rtp packet",
            RtpError::Decrypt => "packet failed authentication",
            RtpError::Malformed => "malformed rtp extension or padding",
        })
    }
}

impl std::error::Error for RtpError {}

/// The clear-text fields of an RTP header, and where the encrypted part starts.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct RtpHeader {
    /// Whether the padding bit is set (the last payload byte counts padding).
    pub padding: bool,
    /// Whether a header extension follows the CSRC list.
    pub extension: bool,
    /// The marker bit.
    pub marker: bool,
    /// Payload type; songbird sends 120 for Opus.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Timestamp in 48 kHz sample units.
    pub timestamp: u32,
    /// Synchronisation source: the ssrc the server handed out in Ready.
    pub ssrc: u32,
    /// Bytes in the clear (header, CSRCs, extension preamble): the AEAD's
    /// associated data.
    pub clear_len: usize,
}

impl RtpHeader {
    /// Parses the clear-text part of an RTP packet.
    ///
    /// # Errors
    ///
    /// [`RtpError::NotRtp`] for other versions and RTCP (payload types
    /// 72–76 with the marker bit, that is second byte 200–204);
    /// [`RtpError::TooShort`] if the header does not fit.
    pub fn parse(packet: &[u8]) -> Result<Self, RtpError> {
        if packet.len() < RTP_HEADER_LEN {
            return Err(RtpError::TooShort);
        }
        if packet[0] >> 6 != 2 || (200..=204).contains(&packet[1]) {
            return Err(RtpError::NotRtp);
        }
        let csrc_count = usize::from(packet[0] & 0x0F);
        let extension = packet[0] & 0x10 != 0;
        let mut clear_len = RTP_HEADER_LEN + 4 * csrc_count;
        if extension {
            clear_len += EXTENSION_PREAMBLE_LEN;
        }
        if packet.len() < clear_len {
            return Err(RtpError::TooShort);
        }
        Ok(Self {
            padding: packet[0] & 0x20 != 0,
            extension,
            marker: packet[1] & 0x80 != 0,
            payload_type: packet[1] & 0x7F,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
            clear_len,
        })
    }
}

/// A decrypted RTP packet.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct RtpPacket {
    /// The clear-text header.
    pub header: RtpHeader,
    /// The 4-byte nonce counter that followed the tag.
    pub counter: u32,
    /// The media payload (Opus), with extension body and padding removed.
    pub payload: Vec<u8>,
}

impl RtpPacket {
    /// Returns whether the payload is the 3-byte Opus silence frame.
    pub fn is_silence(&self) -> bool {
        self.payload == SILENCE_FRAME
    }
}

/// Builds a 12-byte RTP header (version 2, no CSRCs, no extension, payload
/// type 120) as songbird writes it.
pub fn rtp_header(sequence: u16, timestamp: u32, ssrc: u32) -> [u8; RTP_HEADER_LEN] {
    let mut header = [0u8; RTP_HEADER_LEN];
    header[0] = 0x80;
    header[1] = 120;
    header[2..4].copy_from_slice(&sequence.to_be_bytes());
    header[4..8].copy_from_slice(&timestamp.to_be_bytes());
    header[8..12].copy_from_slice(&ssrc.to_be_bytes());
    header
}

/// An AEAD keyed with a session's `secret_key` for one [`CryptoMode`].
#[derive(Clone)]
pub struct RtpCipher {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Aes(Box<Aes256Gcm>),
    XChaCha(Box<XChaCha20Poly1305>),
}

impl fmt::Debug for RtpCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of debug output.
        f.debug_struct("RtpCipher").field("mode", &self.mode()).finish_non_exhaustive()
    }
}

impl RtpCipher {
    /// Creates a cipher for `mode` from the 32-byte session key.
    pub fn new(mode: CryptoMode, key: &[u8; 32]) -> Self {
        let inner = match mode {
            CryptoMode::Aes256GcmRtpsize => Inner::Aes(Box::new(Aes256Gcm::new(key.into()))),
            CryptoMode::XChaCha20Poly1305Rtpsize => Inner::XChaCha(Box::new(XChaCha20Poly1305::new(key.into()))),
        };
        Self { inner }
    }

    /// Returns the mode this cipher implements.
    pub fn mode(&self) -> CryptoMode {
        match self.inner {
            Inner::Aes(_) => CryptoMode::Aes256GcmRtpsize,
            Inner::XChaCha(_) => CryptoMode::XChaCha20Poly1305Rtpsize,
        }
    }

    /// Seals a packet the way a client does: `clear` (header, CSRCs and any
    /// extension preamble) is authenticated, `body` is encrypted, then the
    /// tag and the big-endian `counter` are appended.
    ///
    /// # Errors
    ///
    /// [`RtpError::Decrypt`] if the AEAD refuses (only for absurd lengths).
    pub fn encrypt(&self, clear: &[u8], body: &[u8], counter: u32) -> Result<Vec<u8>, RtpError> {
        let sealed = self.seal(clear, body, counter)?;
        let mut packet = Vec::with_capacity(clear.len() + sealed.len() + COUNTER_LEN);
        packet.extend_from_slice(clear);
        packet.extend_from_slice(&sealed);
        packet.extend_from_slice(&counter.to_be_bytes());
        Ok(packet)
    }

    /// Opens a packet: checks the header, authenticates and decrypts it, and
    /// strips the extension body and padding.
    ///
    /// # Errors
    ///
    /// Any [`RtpError`]; none of them panic, whatever the bytes.
    pub fn decrypt(&self, packet: &[u8]) -> Result<RtpPacket, RtpError> {
        let header = RtpHeader::parse(packet)?;
        if packet.len() < header.clear_len + TAG_LEN + COUNTER_LEN {
            return Err(RtpError::TooShort);
        }
        let (rest, counter_bytes) = packet.split_at(packet.len() - COUNTER_LEN);
        let counter = u32::from_be_bytes(counter_bytes.try_into().map_err(|_| RtpError::TooShort)?);
        let (clear, sealed) = rest.split_at(header.clear_len);
        let mut plain = self.open(clear, sealed, counter)?;

        if header.extension {
            // The preamble's second half counts 32-bit words of extension body.
            let words = u16::from_be_bytes([clear[clear.len() - 2], clear[clear.len() - 1]]);
            let skip = 4 * usize::from(words);
            if skip > plain.len() {
                return Err(RtpError::Malformed);
            }
            plain.drain(..skip);
        }
        if header.padding {
            let pad = usize::from(*plain.last().ok_or(RtpError::Malformed)?);
            if pad == 0 || pad > plain.len() {
                return Err(RtpError::Malformed);
            }
            plain.truncate(plain.len() - pad);
        }
        Ok(RtpPacket { header, counter, payload: plain })
    }

    fn seal(&self, aad: &[u8], msg: &[u8], counter: u32) -> Result<Vec<u8>, RtpError> {
        let payload = Payload { msg, aad };
        match &self.inner {
            Inner::Aes(cipher) => cipher.encrypt(&aes_nonce(counter).into(), payload),
            Inner::XChaCha(cipher) => cipher.encrypt(&xchacha_nonce(counter).into(), payload),
        }
        .map_err(|_| RtpError::Decrypt)
    }

    fn open(&self, aad: &[u8], msg: &[u8], counter: u32) -> Result<Vec<u8>, RtpError> {
        let payload = Payload { msg, aad };
        match &self.inner {
            Inner::Aes(cipher) => cipher.decrypt(&aes_nonce(counter).into(), payload),
            Inner::XChaCha(cipher) => cipher.decrypt(&xchacha_nonce(counter).into(), payload),
        }
        .map_err(|_| RtpError::Decrypt)
    }
}

fn aes_nonce(counter: u32) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..COUNTER_LEN].copy_from_slice(&counter.to_be_bytes());
    nonce
}

fn xchacha_nonce(counter: u32) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..COUNTER_LEN].copy_from_slice(&counter.to_be_bytes());
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn decrypt_round_trips_packets_sealed_in_both_modes() {
        for mode in CryptoMode::ALL {
            let cipher = RtpCipher::new(mode, &KEY);
            let header = rtp_header(513, 960 * 3, 0xDEAD_BEEF);
            let packet = cipher.encrypt(&header, b"opus bytes", 0xFFFF_FFFE).unwrap();
            assert_eq!(packet.len(), 12 + 10 + 16 + 4, "{mode}");
            assert_eq!(&packet[packet.len() - 4..], &[0xFF, 0xFF, 0xFF, 0xFE]);

            let opened = cipher.decrypt(&packet).unwrap();
            assert_eq!(opened.payload, b"opus bytes");
            assert_eq!(opened.counter, 0xFFFF_FFFE);
            assert_eq!(opened.header.sequence, 513);
            assert_eq!(opened.header.timestamp, 2880);
            assert_eq!(opened.header.ssrc, 0xDEAD_BEEF);
            assert_eq!(opened.header.payload_type, 120);
            assert!(!opened.is_silence());
        }
    }

    /// Pins the nonce layout with a packet sealed by the AEAD crates directly,
    /// not through `encrypt`, so a symmetric mistake cannot pass.
    #[test]
    fn decrypt_uses_counter_then_zeros_as_nonce() {
        let header = rtp_header(1, 2, 3);
        let counter = 0x0102_0304u32;

        let mut aes_nonce = [0u8; 12];
        aes_nonce[..4].copy_from_slice(&[1, 2, 3, 4]);
        let sealed = Aes256Gcm::new((&KEY).into())
            .encrypt((&aes_nonce).into(), Payload { msg: &SILENCE_FRAME, aad: &header })
            .unwrap();
        let packet = [&header[..], &sealed, &counter.to_be_bytes()].concat();
        let opened = RtpCipher::new(CryptoMode::Aes256GcmRtpsize, &KEY).decrypt(&packet).unwrap();
        assert!(opened.is_silence());

        let mut x_nonce = [0u8; 24];
        x_nonce[..4].copy_from_slice(&[1, 2, 3, 4]);
        let sealed = XChaCha20Poly1305::new((&KEY).into())
            .encrypt((&x_nonce).into(), Payload { msg: &SILENCE_FRAME, aad: &header })
            .unwrap();
        let packet = [&header[..], &sealed, &counter.to_be_bytes()].concat();
        let opened = RtpCipher::new(CryptoMode::XChaCha20Poly1305Rtpsize, &KEY).decrypt(&packet).unwrap();
        assert!(opened.is_silence());
    }

    #[test]
    fn decrypt_skips_encrypted_extension_body_and_authenticates_preamble() {
        for mode in CryptoMode::ALL {
            let cipher = RtpCipher::new(mode, &KEY);
            let mut clear = rtp_header(9, 9, 9).to_vec();
            clear[0] |= 0x10;
            clear.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01]); // one word of extension
            let body = [&[0x10, 0xAA, 0x00, 0x00][..], &[1, 2, 3]].concat();
            let packet = cipher.encrypt(&clear, &body, 5).unwrap();
            assert_eq!(cipher.decrypt(&packet).unwrap().payload, [1, 2, 3]);

            let mut tampered = packet.clone();
            tampered[13] ^= 1; // inside the preamble: authenticated
            assert_eq!(cipher.decrypt(&tampered), Err(RtpError::Decrypt));
        }
    }

    #[test]
    fn decrypt_rejects_wrong_key_and_wrong_mode() {
        let packet =
            RtpCipher::new(CryptoMode::Aes256GcmRtpsize, &KEY).encrypt(&rtp_header(1, 1, 1), b"abc", 1).unwrap();
        let wrong_key = RtpCipher::new(CryptoMode::Aes256GcmRtpsize, &[8; 32]);
        assert_eq!(wrong_key.decrypt(&packet), Err(RtpError::Decrypt));
        let wrong_mode = RtpCipher::new(CryptoMode::XChaCha20Poly1305Rtpsize, &KEY);
        assert_eq!(wrong_mode.decrypt(&packet), Err(RtpError::Decrypt));
    }

    #[test]
    fn decrypt_never_panics_on_short_or_garbled_input() {
        let cipher = RtpCipher::new(CryptoMode::Aes256GcmRtpsize, &KEY);
        let good = cipher.encrypt(&rtp_header(1, 1, 1), b"abc", 1).unwrap();
        for len in 0..good.len() {
            assert!(cipher.decrypt(&good[..len]).is_err(), "len {len}");
        }
        // Every CSRC count and flag combination, over short and long buffers.
        for first in 0x80..=0xBFu8 {
            for len in [12, 16, 40, 100] {
                let mut packet = vec![0x55; len];
                packet[0] = first;
                assert!(cipher.decrypt(&packet).is_err());
            }
        }
        assert_eq!(cipher.decrypt(&[0x00; 74]), Err(RtpError::NotRtp));
        let mut rtcp = good.clone();
        rtcp[1] = 200;
        assert_eq!(cipher.decrypt(&rtcp), Err(RtpError::NotRtp));
    }

    #[test]
    fn decrypt_rejects_bad_extension_length_and_padding() {
        let cipher = RtpCipher::new(CryptoMode::XChaCha20Poly1305Rtpsize, &KEY);
        let mut clear = rtp_header(1, 1, 1).to_vec();
        clear[0] |= 0x10;
        clear.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x09]); // claims 36 bytes
        let packet = cipher.encrypt(&clear, &[1, 2, 3], 1).unwrap();
        assert_eq!(cipher.decrypt(&packet), Err(RtpError::Malformed));

        let mut clear = rtp_header(1, 1, 1);
        clear[0] |= 0x20;
        let packet = cipher.encrypt(&clear, &[1, 2, 9], 1).unwrap();
        assert_eq!(cipher.decrypt(&packet), Err(RtpError::Malformed));
        let packet = cipher.encrypt(&clear, &[1, 2, 0, 2], 1).unwrap();
        assert_eq!(cipher.decrypt(&packet).unwrap().payload, [1, 2]);
    }

    #[test]
    fn mode_names_round_trip() {
        for mode in CryptoMode::ALL {
            assert_eq!(CryptoMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(CryptoMode::from_name("xsalsa20_poly1305"), None);
    }
}
