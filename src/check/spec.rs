//! What both front ends hand the builder: each object as written, values typed but not yet
//! checked, each with the span it came from.

use std::net::{IpAddr, Ipv4Addr};

use crate::model::{Checksum, DaemonState, Scheduler, ServiceKey};
use crate::source::{Span, Spanned};

/// A scheduler flag as written, and the schedulers it is meant for (empty: any).
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    pub bit: u8,
    pub only_for: &'static [Scheduler],
}

/// `-M`: a dotted IPv4 mask or a prefix length.
#[derive(Clone, Copy, Debug)]
pub enum NetmaskSpec {
    Ipv4(Ipv4Addr),
    Prefix(u64),
}

/// A virtual service as written (`service ... { }` or `ipvsadm -A`).
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    pub span: Span,
    pub key: Spanned<ServiceKey>,
    pub scheduler: Option<Spanned<Scheduler>>,
    pub flags: Vec<Spanned<FlagSpec>>,
    pub persistence: Option<Spanned<u64>>,
    pub netmask: Option<Spanned<NetmaskSpec>>,
    pub pe: Option<Spanned<String>>,
    pub one_packet: Option<Span>,
}

impl ServiceSpec {
    pub fn new(span: Span, key: Spanned<ServiceKey>) -> ServiceSpec {
        ServiceSpec {
            span,
            key,
            scheduler: None,
            flags: Vec::new(),
            persistence: None,
            netmask: None,
            pe: None,
            one_packet: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Dr,
    Nat,
    Tunnel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

/// The forwarding method and tunnel options as written.
#[derive(Clone, Debug, Default)]
pub struct ForwardSpec {
    pub method: Option<Spanned<Method>>,
    pub tun_type: Option<Spanned<TunnelType>>,
    pub tun_port: Option<Spanned<u16>>,
    pub checksums: Vec<Spanned<Checksum>>,
}

/// A real server as written (`server ...` or `ipvsadm -a`).
#[derive(Clone, Debug)]
pub struct ServerSpec {
    pub span: Span,
    pub addr: Spanned<IpAddr>,
    pub port: Option<Spanned<u16>>,
    pub forward: ForwardSpec,
    pub weight: Option<Spanned<u64>>,
    pub upper: Option<Spanned<u64>>,
    pub lower: Option<Spanned<u64>>,
}

/// A sync daemon as written (`sync master { }` or `ipvsadm --start-daemon`).
#[derive(Clone, Debug)]
pub struct DaemonSpec {
    pub span: Span,
    pub state: DaemonState,
    pub interface: Option<Spanned<String>>,
    pub syncid: Option<Spanned<u64>>,
    pub maxlen: Option<Spanned<u64>>,
    pub group: Option<Spanned<IpAddr>>,
    pub port: Option<Spanned<u64>>,
    pub ttl: Option<Spanned<u64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutKind {
    Tcp,
    TcpFin,
    Udp,
}

impl TimeoutKind {
    pub fn name(self) -> &'static str {
        match self {
            TimeoutKind::Tcp => "tcp",
            TimeoutKind::TcpFin => "tcpfin",
            TimeoutKind::Udp => "udp",
        }
    }
}
