//! Property tests of `check_ip` against an independent table of the special
//! ranges, written from the IANA registries rather than from the crate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use proptest::sample::select;
use timmybot_outbound::{AllowList, check_ip};

const FORBIDDEN_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// IPv6 ranges refused whatever follows the prefix.
const FORBIDDEN_V6: &[&str] = &[
    "::1/128",
    "::/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "3fff::/20",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

fn nets(table: &[&str]) -> Vec<IpNet> {
    table.iter().map(|s| s.parse().unwrap()).collect()
}

fn deny() -> AllowList {
    AllowList::default()
}

/// An address inside `net`, the host part taken from `bits`.
fn inside(net: IpNet, bits: u128) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let host = (bits as u32) & !u32::from(n.netmask());
            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
        }
        IpNet::V6(n) => {
            let host = bits & !u128::from(n.netmask());
            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
        }
    }
}

/// The IPv6 forms that carry an IPv4 address: mapped, translated,
/// compatible, NAT64 and 6to4.
fn embeddings(v4: Ipv4Addr) -> [Ipv6Addr; 5] {
    let bits = u128::from(u32::from(v4));
    [
        v4.to_ipv6_mapped(),
        Ipv6Addr::from((0xffff << 48) | bits),
        Ipv6Addr::from(bits),
        Ipv6Addr::from((0x0064_ff9b << 96) | bits),
        Ipv6Addr::from((0x2002 << 112) | (bits << 80)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_ipv4_address_in_a_forbidden_range_is_refused(net in select(nets(FORBIDDEN_V4)), bits in any::<u128>()) {
        let ip = inside(net, bits);
        prop_assert!(check_ip(ip, &deny()).is_err(), "{ip} in {net}");
    }

    #[test]
    fn every_ipv6_address_in_a_forbidden_range_is_refused(net in select(nets(FORBIDDEN_V6)), bits in any::<u128>()) {
        let ip = inside(net, bits);
        prop_assert!(check_ip(ip, &deny()).is_err(), "{ip} in {net}");
    }

    #[test]
    fn ipv4_embedded_in_ipv6_gets_the_ipv4_verdict(raw in any::<u32>()) {
        let v4 = Ipv4Addr::from(raw);
        let verdict = check_ip(IpAddr::V4(v4), &deny()).is_ok();
        for v6 in embeddings(v4) {
            prop_assert_eq!(check_ip(IpAddr::V6(v6), &deny()).is_ok(), verdict, "{} as {}", v4, v6);
        }
    }

    #[test]
    fn forbidden_ipv4_stays_refused_in_every_ipv6_embedding(net in select(nets(FORBIDDEN_V4)), bits in any::<u128>()) {
        let IpAddr::V4(v4) = inside(net, bits) else { unreachable!() };
        for v6 in embeddings(v4) {
            prop_assert!(check_ip(IpAddr::V6(v6), &deny()).is_err(), "{} as {}", v4, v6);
        }
    }

    #[test]
    fn public_ipv4_addresses_pass(raw in any::<u32>()) {
        let ip = IpAddr::V4(Ipv4Addr::from(raw));
        prop_assume!(!nets(FORBIDDEN_V4).iter().any(|n| n.contains(&ip)));
        prop_assert_eq!(check_ip(ip, &deny()), Ok(()), "{}", ip);
    }

    #[test]
    fn public_ipv6_global_unicast_addresses_pass(raw in any::<u128>()) {
        // 2000::/3 is global unicast; 2002::/16 (6to4) carries IPv4 and is
        // covered by the embedding properties.
        let global = Ipv6Net::new(Ipv6Addr::from(0x2000u128 << 112), 3).unwrap();
        let ip = inside(IpNet::V6(global), raw);
        let six_to_four: IpNet = "2002::/16".parse().unwrap();
        prop_assume!(!six_to_four.contains(&ip) && !nets(FORBIDDEN_V6).iter().any(|n| n.contains(&ip)));
        prop_assert_eq!(check_ip(ip, &deny()), Ok(()), "{}", ip);
    }

    #[test]
    fn an_allow_listed_cidr_lets_its_addresses_through(net in select(nets(FORBIDDEN_V4)), bits in any::<u128>()) {
        let ip = inside(net, bits);
        let metadata = ["169.254.169.254", "169.254.170.2", "169.254.170.23"].map(|s| s.parse::<IpAddr>().unwrap());
        prop_assume!(!metadata.contains(&ip));
        let allow = AllowList::parse([net.to_string()]).unwrap();
        prop_assert_eq!(check_ip(ip, &allow), Ok(()), "{} in {}", ip, net);
        let only_v4: Ipv4Net = "203.0.113.7/32".parse().unwrap();
        let unrelated = AllowList::parse([only_v4.to_string()]).unwrap();
        prop_assert_eq!(check_ip(ip, &unrelated).is_ok(), IpNet::V4(only_v4).contains(&ip), "{}", ip);
    }
}
