//! Which destinations a user-directed fetch may reach.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

use crate::Refusal;

/// Why an address counts as internal. Named in logs, never shown to members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and unique-local fc00::/7.
    Private,
    /// 169.254.0.0/16, fe80::/10 (and the deprecated site-local fec0::/10).
    LinkLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    SharedCgnat,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// Documentation and benchmarking ranges (TEST-NET-1..3, 198.18/15,
    /// 2001:db8::/32, 3fff::/20).
    Documentation,
    /// Other special-purpose ranges: 0/8, 192.0.0/24, 240/4, 100::/64,
    /// 2001::/23, 64:ff9b:1::/48.
    Reserved,
    /// A cloud metadata endpoint: refused even when an allow list covers it.
    Metadata,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::SharedCgnat => "cgnat",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
            Self::Metadata => "metadata",
        })
    }
}

/// Metadata endpoints: ECS task metadata and credentials (169.254.170.2),
/// EKS pod identity (169.254.170.23), EC2/most clouds' IMDS (169.254.169.254).
const METADATA_V4: [Ipv4Addr; 3] =
    [Ipv4Addr::new(169, 254, 169, 254), Ipv4Addr::new(169, 254, 170, 2), Ipv4Addr::new(169, 254, 170, 23)];
/// IPv6 IMDS and EKS pod identity on AWS (inside fc00::/7 anyway).
const METADATA_V6: [Ipv6Addr; 2] =
    [Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)];

/// Special-purpose IPv4 ranges (IANA registry), most specific first where
/// they overlap.
const RANGES_V4: [(u32, u8, AddressClass); 15] = [
    (0xffff_ffff, 32, AddressClass::Broadcast),
    (0x0000_0000, 32, AddressClass::Unspecified),
    (0x0000_0000, 8, AddressClass::Reserved),
    (0x0a00_0000, 8, AddressClass::Private),
    (0x6440_0000, 10, AddressClass::SharedCgnat),
    (0x7f00_0000, 8, AddressClass::Loopback),
    (0xa9fe_0000, 16, AddressClass::LinkLocal),
    (0xac10_0000, 12, AddressClass::Private),
    (0xc000_0000, 24, AddressClass::Reserved),
    (0xc000_0200, 24, AddressClass::Documentation),
    (0xc0a8_0000, 16, AddressClass::Private),
    (0xc612_0000, 15, AddressClass::Documentation),
    (0xc633_6400, 24, AddressClass::Documentation),
    (0xcb00_7100, 24, AddressClass::Documentation),
    (0xe000_0000, 3, AddressClass::Multicast), // 224/4 multicast, then 240/4 below
];

/// Special-purpose IPv6 ranges that do not embed an IPv4 address.
const RANGES_V6: [(u128, u8, AddressClass); 10] = [
    (0, 128, AddressClass::Unspecified),
    (1, 128, AddressClass::Loopback),
    (0x0064_ff9b_0001 << 80, 48, AddressClass::Reserved),
    (0x0100 << 112, 64, AddressClass::Reserved),
    (0x2001_0db8 << 96, 32, AddressClass::Documentation),
    (0x2001 << 112, 23, AddressClass::Reserved),
    (0x3fff << 112, 20, AddressClass::Documentation),
    (0xfc00 << 112, 7, AddressClass::Private),
    (0xfe80 << 112, 9, AddressClass::LinkLocal), // fe80::/10 and fec0::/10 (site-local)
    (0xff00 << 112, 8, AddressClass::Multicast),
];

fn in_v4(ip: u32, base: u32, prefix: u8) -> bool {
    prefix == 0 || (ip ^ base) >> (32 - u32::from(prefix)) == 0
}

fn in_v6(ip: u128, base: u128, prefix: u8) -> bool {
    prefix == 0 || (ip ^ base) >> (128 - u32::from(prefix)) == 0
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    if METADATA_V4.contains(&ip) {
        return Some(AddressClass::Metadata);
    }
    let bits = u32::from(ip);
    let class = RANGES_V4.iter().find(|(base, prefix, _)| in_v4(bits, *base, *prefix)).map(|(_, _, c)| *c);
    // 224.0.0.0/3 covers multicast (224/4) and the reserved 240/4; name them apart.
    match class {
        Some(AddressClass::Multicast) if bits >= 0xf000_0000 => Some(AddressClass::Reserved),
        other => other,
    }
}

/// The IPv4 address an IPv6 address stands for, when it embeds one: mapped
/// (::ffff:0:0/96), translated (::ffff:0:0:0/96), compatible (::/96, apart
/// from :: and ::1), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    if in_v6(bits, 0xffff << 32, 96) || in_v6(bits, 0xffff << 48, 96) || in_v6(bits, 0x0064_ff9b << 96, 96) {
        return Some(low);
    }
    if in_v6(bits, 0, 96) && bits > 1 {
        return Some(low);
    }
    if in_v6(bits, 0x2002 << 112, 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

/// The internal class of `ip`, or `None` for a public address.
///
/// IPv6 forms that embed an IPv4 address get the IPv4 address's verdict.
pub fn classify_ip(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if METADATA_V6.contains(&v6) {
                return Some(AddressClass::Metadata);
            }
            if let Some(v4) = embedded_v4(v6) {
                return classify_v4(v4);
            }
            let bits = u128::from(v6);
            RANGES_V6.iter().find(|(base, prefix, _)| in_v6(bits, *base, *prefix)).map(|(_, _, c)| *c)
        }
    }
}

/// Checks that a fetch may connect to `ip`.
///
/// Public addresses pass; internal ones pass only when `allow` covers them,
/// and metadata endpoints never do.
///
/// # Errors
/// [`Refusal::AddressNotAllowed`] naming the address's class.
pub fn check_ip(ip: IpAddr, allow: &AllowList) -> Result<(), Refusal> {
    match classify_ip(ip) {
        None => Ok(()),
        Some(AddressClass::Metadata) => Err(Refusal::AddressNotAllowed(AddressClass::Metadata)),
        Some(_) if allow.permits_ip(ip) => Ok(()),
        Some(class) => Err(Refusal::AddressNotAllowed(class)),
    }
}

/// Internal destinations a deployment opts in to: exact host names and
/// CIDRs. The default is empty and denies every internal address.
///
/// Host names match exactly (no subdomains, case and a trailing dot ignored);
/// every address such a name resolves to is allowed, except metadata
/// endpoints. A CIDR entry allows the addresses inside it, also when they
/// arrive IPv4-mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

/// An allow-list entry that is neither a host name nor a CIDR or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allow-list entry {entry:?} is neither a host name nor an address or CIDR")]
pub struct AllowListError {
    /// The entry as given.
    pub entry: String,
}

impl AllowList {
    /// Parses entries such as `"10.0.0.0/8"`, `"radio.lan"`, `"127.0.0.1/32"`
    /// or `"::1"` (a bare address counts as a single-address CIDR).
    ///
    /// # Errors
    /// [`AllowListError`] for the first entry that does not parse.
    pub fn parse<I, S>(entries: I) -> Result<Self, AllowListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::default();
        for entry in entries {
            list.add(entry.as_ref())?;
        }
        Ok(list)
    }

    /// Adds one entry; see [`AllowList::parse`].
    ///
    /// # Errors
    /// [`AllowListError`] when the entry does not parse.
    pub fn add(&mut self, entry: &str) -> Result<(), AllowListError> {
        let error = || AllowListError { entry: entry.to_owned() };
        let trimmed = entry.trim();
        let unbracketed = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(trimmed);
        if trimmed.contains('/') {
            let net = IpNet::from_str(trimmed).map_err(|_| error())?;
            self.nets.push(net.trunc());
        } else if let Ok(ip) = IpAddr::from_str(unbracketed) {
            self.nets.push(IpNet::from(ip));
        } else {
            let host = normalise_host(trimmed).ok_or_else(error)?;
            if !self.hosts.contains(&host) {
                self.hosts.push(host);
            }
        }
        Ok(())
    }

    /// Whether nothing is allowed (the default).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    /// Whether `host` is one of the allowed host names.
    pub fn permits_host(&self, host: &str) -> bool {
        normalise_host(host).is_some_and(|h| self.hosts.contains(&h))
    }

    /// Whether a CIDR entry covers `ip`, or the IPv4 address it embeds.
    pub fn permits_ip(&self, ip: IpAddr) -> bool {
        let inner = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.nets.iter().any(|net| net.contains(&ip) || inner.is_some_and(|v4| net.contains(&v4)))
    }
}

impl FromStr for AllowList {
    type Err = AllowListError;

    /// Parses a comma-separated list; empty items are skipped.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.split(',').filter(|e| !e.trim().is_empty()))
    }
}

/// Lowercases a DNS name and drops a trailing dot; `None` when it is not a
/// plain name (labels of letters, digits and hyphens, 1..=63 long).
fn normalise_host(host: &str) -> Option<String> {
    let host = host.trim().strip_suffix('.').unwrap_or(host.trim()).to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    valid.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allow_list_parses_cidrs_hosts_and_bare_addresses() {
        let list =
            AllowList::parse(["10.0.0.0/8", "radio.lan", "127.0.0.1/32", "::1", "[fd00::1]", " Radio.LAN. "]).unwrap();
        assert!(list.permits_ip(ip("10.200.3.4")));
        assert!(list.permits_ip(ip("127.0.0.1")));
        assert!(!list.permits_ip(ip("127.0.0.2")));
        assert!(list.permits_ip(ip("::1")));
        assert!(list.permits_ip(ip("fd00::1")));
        assert!(!list.permits_ip(ip("11.0.0.1")));
        assert!(list.permits_host("radio.lan"));
        assert!(list.permits_host("RADIO.lan."));
        assert!(!list.permits_host("sub.radio.lan"));
        assert!(!list.permits_host("lan"));
        assert_eq!(list.hosts.len(), 1, "duplicate host names collapse");
    }

    #[test]
    fn allow_list_truncates_host_bits_of_a_cidr() {
        let list = AllowList::parse(["192.168.1.77/24"]).unwrap();
        assert!(list.permits_ip(ip("192.168.1.1")));
        assert!(!list.permits_ip(ip("192.168.2.1")));
    }

    #[test]
    fn allow_list_covers_ipv4_mapped_forms_of_its_cidrs() {
        let list = AllowList::parse(["127.0.0.1/32"]).unwrap();
        assert!(list.permits_ip(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn allow_list_rejects_malformed_entries() {
        for bad in ["", "  ", "10.0.0.0/33", "10.0.0/8", "*.lan", "radio..lan", "-radio.lan", "http://radio.lan", "a b"]
        {
            assert_eq!(AllowList::parse([bad]), Err(AllowListError { entry: bad.to_owned() }), "{bad:?}");
        }
    }

    #[test]
    fn allow_list_from_str_splits_on_commas_and_defaults_to_deny() {
        let list: AllowList = "radio.lan, 10.0.0.0/8,".parse().unwrap();
        assert!(list.permits_host("radio.lan") && list.permits_ip(ip("10.1.1.1")));
        assert!(AllowList::default().is_empty());
        assert!("".parse::<AllowList>().unwrap().is_empty());
    }

    #[test]
    fn check_ip_names_the_class_of_known_internal_addresses() {
        let deny = AllowList::default();
        let cases = [
            ("127.0.0.1", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.0.1", AddressClass::Private),
            ("fd12::1", AddressClass::Private),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("100.64.0.1", AddressClass::SharedCgnat),
            ("224.0.0.1", AddressClass::Multicast),
            ("ff02::1", AddressClass::Multicast),
            ("0.0.0.0", AddressClass::Unspecified),
            ("::", AddressClass::Unspecified),
            ("255.255.255.255", AddressClass::Broadcast),
            ("240.0.0.1", AddressClass::Reserved),
            ("0.1.2.3", AddressClass::Reserved),
            ("192.0.2.1", AddressClass::Documentation),
            ("198.18.0.1", AddressClass::Documentation),
            ("2001:db8::1", AddressClass::Documentation),
            ("169.254.169.254", AddressClass::Metadata),
            ("169.254.170.2", AddressClass::Metadata),
            ("fd00:ec2::254", AddressClass::Metadata),
            ("::ffff:169.254.169.254", AddressClass::Metadata),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::127.0.0.1", AddressClass::Loopback),
            ("64:ff9b::10.0.0.1", AddressClass::Private),
            ("2002:7f00:1::", AddressClass::Loopback),
        ];
        for (addr, class) in cases {
            assert_eq!(check_ip(ip(addr), &deny), Err(Refusal::AddressNotAllowed(class)), "{addr}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert_eq!(check_ip(ip(public), &deny), Ok(()), "{public}");
        }
    }

    #[test]
    fn metadata_addresses_stay_refused_even_when_allow_listed() {
        let allow = AllowList::parse(["169.254.0.0/16", "0.0.0.0/0"]).unwrap();
        assert!(check_ip(ip("169.254.1.1"), &allow).is_ok());
        assert_eq!(check_ip(ip("169.254.169.254"), &allow), Err(Refusal::AddressNotAllowed(AddressClass::Metadata)));
    }
}
