//! The outbound address check and first-hop URL check on arbitrary input:
//! never a panic; an IPv4 address and its IPv4-mapped IPv6 form always get
//! the same verdict; a URL accepted by `check_url` is http(s), has a host,
//! carries no credentials, and an IP-literal host passes `check_ip`; a
//! refusal's member message never names the address; allow-list parsing
//! never panics.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use timmybot_outbound::{AllowList, OutboundPolicy, SafeHttpClient, check_ip};

fn client() -> &'static SafeHttpClient {
    static CLIENT: OnceLock<SafeHttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| SafeHttpClient::new(OutboundPolicy::default()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let deny_all = AllowList::default();
    match mode % 3 {
        0 if rest.len() >= 4 => {
            let v4 = Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]);
            let plain = check_ip(IpAddr::V4(v4), &deny_all);
            let mapped = check_ip(IpAddr::V6(v4.to_ipv6_mapped()), &deny_all);
            assert_eq!(plain.is_ok(), mapped.is_ok(), "{v4} and its mapped form disagree");
            if let Err(refusal) = plain {
                assert!(!refusal.user_message().contains(&v4.to_string()));
            }
            if rest.len() >= 16 {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&rest[..16]);
                let _ = check_ip(IpAddr::V6(Ipv6Addr::from(octets)), &deny_all);
            }
        }
        1 => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let Ok(url) = url::Url::parse(text) else { return };
            if client().check_url(&url).is_ok() {
                assert!(matches!(url.scheme(), "http" | "https"), "{url}");
                assert!(url.username().is_empty() && url.password().is_none(), "{url}");
                match url.host() {
                    Some(url::Host::Ipv4(ip)) => assert!(check_ip(IpAddr::V4(ip), &deny_all).is_ok(), "{url}"),
                    Some(url::Host::Ipv6(ip)) => assert!(check_ip(IpAddr::V6(ip), &deny_all).is_ok(), "{url}"),
                    Some(url::Host::Domain(_)) => {}
                    None => panic!("accepted a URL without a host: {url}"),
                }
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let _ = text.parse::<AllowList>();
        }
    }
});
