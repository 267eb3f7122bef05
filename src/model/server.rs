use std::fmt;
use std::net::IpAddr;

/// What identifies a real server within its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        super::service::Endpoint(self.addr, self.port).fmt(f)
    }
}

/// The checksum mode of a GUE or GRE tunnel (`--tun-nocsum`, `--tun-csum`, `--tun-remcsum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Checksum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

impl Checksum {
    pub fn name(self) -> &'static str {
        match self {
            Checksum::NoCsum => "nocsum",
            Checksum::Csum => "csum",
            Checksum::RemCsum => "remcsum",
        }
    }

    /// IP_VS_TUNNEL_ENCAP_FLAG_*.
    pub fn kernel_value(self) -> u16 {
        match self {
            Checksum::NoCsum => 0,
            Checksum::Csum => 1,
            Checksum::RemCsum => 2,
        }
    }
}

/// The tunnel encapsulation of a tunneled server (`--tun-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tunnel {
    Ipip,
    Gue { port: u16, checksum: Checksum },
    Gre { checksum: Checksum },
}

impl Tunnel {
    pub fn name(self) -> &'static str {
        match self {
            Tunnel::Ipip => "ipip",
            Tunnel::Gue { .. } => "gue",
            Tunnel::Gre { .. } => "gre",
        }
    }
}

/// The packet-forwarding method (`-g`, `-m`, `-i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Forward {
    /// Direct routing, `-g` (gatewaying).
    Dr,
    /// Masquerading, `-m`.
    Nat,
    /// IP tunneling, `-i`.
    Tunnel(Tunnel),
}

impl Forward {
    pub fn name(self) -> &'static str {
        match self {
            Forward::Dr => "dr",
            Forward::Nat => "nat",
            Forward::Tunnel(_) => "tunnel",
        }
    }

    /// Whether the kernel forces the server's port to the service's port.
    pub fn keeps_virtual_port(self) -> bool {
        !matches!(self, Forward::Nat)
    }
}

/// A real server (`ipvsadm -a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Server {
    pub key: ServerKey,
    pub forward: Forward,
    pub weight: u32,
    /// Upper connection threshold (`-x`); 0 means none.
    pub upper: u32,
    /// Lower connection threshold (`-y`); 0 means none.
    pub lower: u32,
}

impl Server {
    /// What `ipvsadm -a` makes when given only the address: direct routing, weight 1.
    pub fn new(key: ServerKey) -> Server {
        Server {
            key,
            forward: Forward::Dr,
            weight: 1,
            upper: 0,
            lower: 0,
        }
    }
}
