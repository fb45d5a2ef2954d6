//! Discord's UDP IP discovery: how a client learns its public address.
//!
//! Both directions are 74 bytes, big-endian:
//!
//! ```text
//! | type u16 (1 request, 2 response) | length u16 = 70 | ssrc u32 |
//! | address: 64 bytes, NUL-terminated ASCII | port u16 |
//! ```
//!
//! songbird sends a request with only type, length and ssrc filled in, and
//! reads the address up to the first NUL and the port from the response.

use std::net::SocketAddr;

/// Size of a discovery packet in either direction.
pub const IP_DISCOVERY_LEN: usize = 74;

const REQUEST: u16 = 1;
const RESPONSE: u16 = 2;
/// Value of the length field: the bytes after type and length.
const BODY_LEN: u16 = 70;
const ADDRESS_LEN: usize = 64;

/// Returns the ssrc of an IP discovery request, or `None` if `packet` is not one.
///
/// A request must be exactly 74 bytes with type 1 and length 70; anything
/// else (RTP, keepalives, garbage) is not a request.
pub fn parse_request(packet: &[u8]) -> Option<u32> {
    if packet.len() != IP_DISCOVERY_LEN {
        return None;
    }
    let kind = u16::from_be_bytes([packet[0], packet[1]]);
    let length = u16::from_be_bytes([packet[2], packet[3]]);
    if kind != REQUEST || length != BODY_LEN {
        return None;
    }
    Some(u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]))
}

/// Builds the response telling the client which address and port the server
/// saw its request come from.
pub fn response(ssrc: u32, seen_from: SocketAddr) -> [u8; IP_DISCOVERY_LEN] {
    let mut packet = [0u8; IP_DISCOVERY_LEN];
    packet[0..2].copy_from_slice(&RESPONSE.to_be_bytes());
    packet[2..4].copy_from_slice(&BODY_LEN.to_be_bytes());
    packet[4..8].copy_from_slice(&ssrc.to_be_bytes());
    let address = seen_from.ip().to_string();
    // An IPv6 address is at most 45 characters, so it always fits with its NUL.
    let len = address.len().min(ADDRESS_LEN - 1);
    packet[8..8 + len].copy_from_slice(&address.as_bytes()[..len]);
    packet[72..74].copy_from_slice(&seen_from.port().to_be_bytes());
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request laid out byte by byte as songbird's connection code builds it.
    fn songbird_request(ssrc: u32) -> [u8; 74] {
        let mut packet = [0u8; 74];
        packet[1] = 1;
        packet[3] = 70;
        packet[4..8].copy_from_slice(&ssrc.to_be_bytes());
        packet
    }

    /// Reads a response the way songbird does: address up to the first NUL.
    fn read_response(packet: &[u8]) -> Option<(u32, SocketAddr)> {
        if packet.len() != IP_DISCOVERY_LEN || packet[0..4] != [0, 2, 0, 70] {
            return None;
        }
        let ssrc = u32::from_be_bytes(packet[4..8].try_into().ok()?);
        let raw = &packet[8..72];
        let end = raw.iter().position(|&b| b == 0)?;
        let ip = std::str::from_utf8(&raw[..end]).ok()?.parse().ok()?;
        let port = u16::from_be_bytes([packet[72], packet[73]]);
        Some((ssrc, SocketAddr::new(ip, port)))
    }

    #[test]
    fn parse_request_reads_the_ssrc() {
        assert_eq!(parse_request(&songbird_request(0x0A0B_0C0D)), Some(0x0A0B_0C0D));
    }

    #[test]
    fn parse_request_rejects_other_packets() {
        assert_eq!(parse_request(&[]), None);
        assert_eq!(parse_request(&songbird_request(1)[..73]), None);
        assert_eq!(parse_request(&[&songbird_request(1)[..], &[0]].concat()), None);
        let mut wrong_type = songbird_request(1);
        wrong_type[1] = 2;
        assert_eq!(parse_request(&wrong_type), None);
        let mut wrong_length = songbird_request(1);
        wrong_length[3] = 71;
        assert_eq!(parse_request(&wrong_length), None);
        let mut rtp = [0u8; 74];
        rtp[0] = 0x80;
        assert_eq!(parse_request(&rtp), None);
    }

    #[test]
    fn response_carries_address_and_port() {
        for seen in ["127.0.0.1:54321", "[::1]:9", "[2001:db8::ffff:1:2:3]:65535"] {
            let seen: SocketAddr = seen.parse().unwrap();
            let packet = response(77, seen);
            assert_eq!(read_response(&packet), Some((77, seen)));
        }
    }
}
