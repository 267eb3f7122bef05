use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::{SchedFlags, Scheduler, Server, ServerKey, SmallMap};

/// The transport protocol of a virtual service (`-t`, `-u`, `--sctp-service`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// The IP protocol number the kernel uses.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    pub fn from_number(n: u16) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.number() == n)
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An address family (`-6` selects IPv6 for firewall-mark services).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// The kernel's AF_INET / AF_INET6.
    pub fn af(self) -> u16 {
        match self {
            Family::Ipv4 => 2,
            Family::Ipv6 => 10,
        }
    }

    pub fn from_af(af: u16) -> Option<Family> {
        match af {
            2 => Some(Family::Ipv4),
            10 => Some(Family::Ipv6),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    /// "IPv4" or "IPv6", for messages.
    pub fn label(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        }
    }
}

/// What identifies a virtual service in the kernel; it cannot be edited, only replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// `-t|-u|--sctp-service ADDR:PORT`
    Inet {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// `-f MARK [-6]`
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Inet { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            ServiceKey::Inet { protocol, .. } => Some(*protocol),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self {
            ServiceKey::Inet { port, .. } => Some(*port),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    pub fn is_fwmark(&self) -> bool {
        matches!(self, ServiceKey::Fwmark { .. })
    }
}

/// `tcp 10.0.0.1:80`, `udp [2001:db8::1]:53`, `fwmark 1`, `fwmark 1 ipv6`: the language's spelling.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => write!(f, "{protocol} {}", Endpoint(*addr, *port)),
            ServiceKey::Fwmark { family, mark } => match family {
                Family::Ipv4 => write!(f, "fwmark {mark}"),
                Family::Ipv6 => write!(f, "fwmark {mark} ipv6"),
            },
        }
    }
}

/// An address and port, printed `10.0.0.1:80` or `[2001:db8::1]:80`.
pub struct Endpoint(pub IpAddr, pub u16);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

/// The persistence granularity (`-M`): an IPv4 netmask or an IPv6 prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Netmask {
    Ipv4(Ipv4Addr),
    Ipv6(u8),
}

impl Netmask {
    /// The mask the kernel stores when none is given: /32 or /128.
    pub fn full(family: Family) -> Netmask {
        match family {
            Family::Ipv4 => Netmask::Ipv4(Ipv4Addr::BROADCAST),
            Family::Ipv6 => Netmask::Ipv6(128),
        }
    }

    pub fn is_full(&self) -> bool {
        match self {
            Netmask::Ipv4(m) => *m == Ipv4Addr::BROADCAST,
            Netmask::Ipv6(p) => *p == 128,
        }
    }

    pub fn family(&self) -> Family {
        match self {
            Netmask::Ipv4(_) => Family::Ipv4,
            Netmask::Ipv6(_) => Family::Ipv6,
        }
    }

    /// The prefix length, if the mask is a contiguous run of ones.
    pub fn prefix_len(&self) -> Option<u8> {
        match self {
            Netmask::Ipv4(m) => {
                let bits = u32::from(*m);
                let ones = bits.leading_ones();
                (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
            }
            Netmask::Ipv6(p) => Some(*p),
        }
    }

    /// The kernel's 32-bit value: IPv4 mask bytes in network order, IPv6 prefix length.
    pub fn kernel_value(&self) -> u32 {
        match self {
            Netmask::Ipv4(m) => u32::from_ne_bytes(m.octets()),
            Netmask::Ipv6(p) => u32::from(*p),
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Netmask::Ipv4(m) => write!(f, "{m}"),
            Netmask::Ipv6(p) => write!(f, "/{p}"),
        }
    }
}

/// A virtual service (`ipvsadm -A`) and its real servers (`ipvsadm -a`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    pub flags: SchedFlags,
    /// Persistence timeout in seconds (`-p`); `None` when not persistent.
    pub persistence: Option<u32>,
    /// `-M`; the kernel keeps it even when the service is not persistent.
    pub netmask: Netmask,
    /// Persistence engine (`--pe`), e.g. `sip`.
    pub pe: Option<String>,
    /// One-packet scheduling (`-o`).
    pub one_packet: bool,
    pub servers: SmallMap<ServerKey, Server>,
}

impl Service {
    /// A service as `ipvsadm -A` makes it when given nothing but its identity.
    pub fn new(key: ServiceKey) -> Service {
        Service {
            key,
            scheduler: Scheduler::Wlc,
            flags: SchedFlags::default(),
            persistence: None,
            netmask: Netmask::full(key.family()),
            pe: None,
            one_packet: false,
            servers: SmallMap::new(),
        }
    }

    /// The service without its servers: what `ipvsadm -E` edits.
    pub fn same_settings(&self, other: &Service) -> bool {
        self.scheduler == other.scheduler
            && self.flags == other.flags
            && self.persistence == other.persistence
            && self.netmask == other.netmask
            && self.pe == other.pe
            && self.one_packet == other.one_packet
    }
}

/// Reads the language's spelling back: `tcp 10.0.0.1:80`, `udp [2001:db8::1]:53`,
/// `fwmark 1`, `fwmark 1 ipv6` (what `ipvsc zero` takes).
impl std::str::FromStr for ServiceKey {
    type Err = String;

    fn from_str(s: &str) -> Result<ServiceKey, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let usage = || {
            format!("`{s}` is not a service: write it like `tcp 10.0.0.1:80`, `udp [2001:db8::1]:53` or `fwmark 1 [ipv6]`")
        };
        match words.as_slice() {
            ["fwmark", mark, rest @ ..] => {
                let mark: u32 = mark.parse().ok().filter(|m| *m > 0).ok_or_else(usage)?;
                let family = match rest {
                    [] | ["ipv4"] => Family::Ipv4,
                    ["ipv6"] => Family::Ipv6,
                    _ => return Err(usage()),
                };
                Ok(ServiceKey::Fwmark { family, mark })
            }
            [protocol, endpoint] => {
                let protocol = Protocol::ALL
                    .into_iter()
                    .find(|p| p.name() == *protocol)
                    .ok_or_else(usage)?;
                let (addr, port) = match endpoint.strip_prefix('[') {
                    Some(rest) => {
                        let (a, p) = rest.split_once("]:").ok_or_else(usage)?;
                        (a.parse::<std::net::Ipv6Addr>().map(IpAddr::V6), p)
                    }
                    None => {
                        let (a, p) = endpoint.rsplit_once(':').ok_or_else(usage)?;
                        (a.parse::<Ipv4Addr>().map(IpAddr::V4), p)
                    }
                };
                Ok(ServiceKey::Inet {
                    protocol,
                    addr: addr.map_err(|_| usage())?,
                    port: port.parse().map_err(|_| usage())?,
                })
            }
            _ => Err(usage()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keys_read_back_as_printed() {
        for text in [
            "tcp 10.0.0.1:80",
            "udp [2001:db8::1]:53",
            "sctp 10.0.0.2:0",
            "fwmark 1",
            "fwmark 7 ipv6",
        ] {
            let key: ServiceKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        for bad in [
            "tcp 10.0.0.1",
            "fwmark 0",
            "icmp 10.0.0.1:1",
            "tcp 2001:db8::1:80",
            "",
        ] {
            assert!(bad.parse::<ServiceKey>().is_err(), "{bad}");
        }
    }
}
