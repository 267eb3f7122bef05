//! A table as documents hold it: the journal's `before`, `save --format json`'s `table`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::{invalid, Invalid, Ordered};
use crate::model::{
    Checksum, Daemon, DaemonState, DefenseMode, Family, Forward, Netmask, Protocol, SchedFlags,
    Scheduler, Server, ServerKey, Service, ServiceKey, Sysctl, SysctlKind, SysctlValue, Table,
    Timeouts, Tunnel,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDoc {
    pub services: Vec<ServiceDoc>,
    pub timeouts: TimeoutsDoc,
    /// By state: `master`, `backup`.
    pub daemons: Ordered<DaemonDoc>,
    /// By name under `/proc/sys/net/ipv4/vs/`.
    pub sysctls: Ordered<SysctlValueDoc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceKeyDoc {
    Inet {
        /// `tcp`, `udp`, `sctp`
        protocol: String,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        /// `ipv4`, `ipv6`
        family: String,
        mark: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDoc {
    pub key: ServiceKeyDoc,
    pub scheduler: String,
    /// IP_VS_SVC_F_SCHED1..3 as bits 0..2 (`flag-1` is 1).
    pub flags: u8,
    /// Seconds; `null` when not persistent.
    pub persistence: Option<u32>,
    pub netmask: NetmaskDoc,
    pub pe: Option<String>,
    pub one_packet: bool,
    pub servers: Vec<ServerDoc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetmaskDoc {
    Ipv4(Ipv4Addr),
    /// A prefix length.
    Ipv6(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerKeyDoc {
    pub addr: IpAddr,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDoc {
    pub key: ServerKeyDoc,
    pub forward: ForwardDoc,
    pub weight: u32,
    pub upper: u32,
    pub lower: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum ForwardDoc {
    Dr,
    Nat,
    Tunnel(TunnelDoc),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TunnelDoc {
    Ipip,
    /// `checksum`: `nocsum`, `csum`, `remcsum`.
    Gue {
        port: u16,
        checksum: String,
    },
    Gre {
        checksum: String,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutsDoc {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonDoc {
    /// `master` or `backup`.
    pub state: String,
    pub interface: String,
    pub syncid: u8,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// `"auto"` for a defense mode, a number, or `[a, b]` for `sync_threshold`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SysctlValueDoc {
    Mode(String),
    Int(i64),
    Pair(i64, i64),
}

// From the model.

impl From<&Table> for TableDoc {
    fn from(t: &Table) -> TableDoc {
        TableDoc {
            services: t.services.values().map(ServiceDoc::from).collect(),
            timeouts: t.timeouts.into(),
            daemons: Ordered(
                t.daemons
                    .iter()
                    .map(|(state, d)| (state.name().to_string(), d.into()))
                    .collect(),
            ),
            sysctls: Ordered(
                t.sysctls
                    .iter()
                    .map(|(s, v)| (s.name().to_string(), (*v).into()))
                    .collect(),
            ),
        }
    }
}

impl From<ServiceKey> for ServiceKeyDoc {
    fn from(k: ServiceKey) -> ServiceKeyDoc {
        match k {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => ServiceKeyDoc::Inet {
                protocol: protocol.name().to_string(),
                addr,
                port,
            },
            ServiceKey::Fwmark { family, mark } => ServiceKeyDoc::Fwmark {
                family: family.name().to_string(),
                mark,
            },
        }
    }
}

impl From<&Service> for ServiceDoc {
    fn from(s: &Service) -> ServiceDoc {
        ServiceDoc {
            key: s.key.into(),
            scheduler: s.scheduler.name().to_string(),
            flags: s.flags.0,
            persistence: s.persistence,
            netmask: match s.netmask {
                Netmask::Ipv4(m) => NetmaskDoc::Ipv4(m),
                Netmask::Ipv6(p) => NetmaskDoc::Ipv6(p),
            },
            pe: s.pe.clone(),
            one_packet: s.one_packet,
            servers: s.servers.values().map(ServerDoc::from).collect(),
        }
    }
}

impl From<ServerKey> for ServerKeyDoc {
    fn from(k: ServerKey) -> ServerKeyDoc {
        ServerKeyDoc {
            addr: k.addr,
            port: k.port,
        }
    }
}

impl From<&Server> for ServerDoc {
    fn from(s: &Server) -> ServerDoc {
        ServerDoc {
            key: s.key.into(),
            forward: match s.forward {
                Forward::Dr => ForwardDoc::Dr,
                Forward::Nat => ForwardDoc::Nat,
                Forward::Tunnel(Tunnel::Ipip) => ForwardDoc::Tunnel(TunnelDoc::Ipip),
                Forward::Tunnel(Tunnel::Gue { port, checksum }) => {
                    ForwardDoc::Tunnel(TunnelDoc::Gue {
                        port,
                        checksum: checksum.name().to_string(),
                    })
                }
                Forward::Tunnel(Tunnel::Gre { checksum }) => ForwardDoc::Tunnel(TunnelDoc::Gre {
                    checksum: checksum.name().to_string(),
                }),
            },
            weight: s.weight,
            upper: s.upper,
            lower: s.lower,
        }
    }
}

impl From<Timeouts> for TimeoutsDoc {
    fn from(t: Timeouts) -> TimeoutsDoc {
        TimeoutsDoc {
            tcp: t.tcp,
            tcpfin: t.tcpfin,
            udp: t.udp,
        }
    }
}

impl From<&Daemon> for DaemonDoc {
    fn from(d: &Daemon) -> DaemonDoc {
        DaemonDoc {
            state: d.state.name().to_string(),
            interface: d.interface.clone(),
            syncid: d.syncid,
            maxlen: d.maxlen,
            group: d.group,
            port: d.port,
            ttl: d.ttl,
        }
    }
}

impl From<SysctlValue> for SysctlValueDoc {
    fn from(v: SysctlValue) -> SysctlValueDoc {
        match v {
            SysctlValue::Defense(m) => SysctlValueDoc::Mode(m.name().to_string()),
            SysctlValue::Int(n) => SysctlValueDoc::Int(n),
            SysctlValue::Pair(a, b) => SysctlValueDoc::Pair(a, b),
        }
    }
}

// Back to the model: names must be known, keys unique; values are taken as they are (the
// kernel, not the document, judges them).

impl TryFrom<TableDoc> for Table {
    type Error = Invalid;

    fn try_from(doc: TableDoc) -> Result<Table, Invalid> {
        let mut services = BTreeMap::new();
        for s in doc.services {
            let service = Service::try_from(s)?;
            if let Some(old) = services.insert(service.key, service) {
                return Err(invalid(format!("service {} is listed twice", old.key)));
            }
        }
        let mut daemons = BTreeMap::new();
        for (state, d) in doc.daemons.0 {
            let daemon = Daemon::try_from(d)?;
            if daemon.state.name() != state {
                return Err(invalid(format!(
                    "the {} daemon is listed under `{state}`",
                    daemon.state
                )));
            }
            if daemons.insert(daemon.state, daemon).is_some() {
                return Err(invalid(format!("the {state} daemon is listed twice")));
            }
        }
        let mut sysctls = BTreeMap::new();
        for (name, value) in doc.sysctls.0 {
            let (sysctl, value) = sysctl_value(&name, value)?;
            if sysctls.insert(sysctl, value).is_some() {
                return Err(invalid(format!("sysctl {name} is listed twice")));
            }
        }
        Ok(Table {
            services,
            timeouts: doc.timeouts.into(),
            daemons,
            sysctls,
        })
    }
}

fn protocol(name: &str) -> Result<Protocol, Invalid> {
    Protocol::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| invalid(format!("unknown protocol `{name}`")))
}

fn family(name: &str) -> Result<Family, Invalid> {
    [Family::Ipv4, Family::Ipv6]
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| invalid(format!("unknown address family `{name}`")))
}

fn checksum(name: &str) -> Result<Checksum, Invalid> {
    [Checksum::NoCsum, Checksum::Csum, Checksum::RemCsum]
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| invalid(format!("unknown tunnel checksum `{name}`")))
}

pub(super) fn daemon_state(name: &str) -> Result<DaemonState, Invalid> {
    [DaemonState::Master, DaemonState::Backup]
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| invalid(format!("unknown daemon state `{name}`")))
}

impl TryFrom<ServiceKeyDoc> for ServiceKey {
    type Error = Invalid;

    fn try_from(doc: ServiceKeyDoc) -> Result<ServiceKey, Invalid> {
        Ok(match doc {
            ServiceKeyDoc::Inet {
                protocol: p,
                addr,
                port,
            } => ServiceKey::Inet {
                protocol: protocol(&p)?,
                addr,
                port,
            },
            ServiceKeyDoc::Fwmark { family: f, mark } => ServiceKey::Fwmark {
                family: family(&f)?,
                mark,
            },
        })
    }
}

impl TryFrom<ServiceDoc> for Service {
    type Error = Invalid;

    fn try_from(doc: ServiceDoc) -> Result<Service, Invalid> {
        let key = ServiceKey::try_from(doc.key)?;
        let scheduler: Scheduler = doc
            .scheduler
            .parse()
            .map_err(|()| invalid(format!("unknown scheduler `{}`", doc.scheduler)))?;
        let mut servers = crate::model::SmallMap::new();
        for s in doc.servers {
            let server = Server::try_from(s)?;
            if servers.insert(server.key, server).is_some() {
                return Err(invalid(format!(
                    "server {} of service {key} is listed twice",
                    server.key
                )));
            }
        }
        Ok(Service {
            key,
            scheduler,
            flags: SchedFlags(doc.flags),
            persistence: doc.persistence,
            netmask: match doc.netmask {
                NetmaskDoc::Ipv4(m) => Netmask::Ipv4(m),
                NetmaskDoc::Ipv6(p) => Netmask::Ipv6(p),
            },
            pe: doc.pe,
            one_packet: doc.one_packet,
            servers,
        })
    }
}

impl From<ServerKeyDoc> for ServerKey {
    fn from(doc: ServerKeyDoc) -> ServerKey {
        ServerKey {
            addr: doc.addr,
            port: doc.port,
        }
    }
}

impl TryFrom<ServerDoc> for Server {
    type Error = Invalid;

    fn try_from(doc: ServerDoc) -> Result<Server, Invalid> {
        Ok(Server {
            key: doc.key.into(),
            forward: match doc.forward {
                ForwardDoc::Dr => Forward::Dr,
                ForwardDoc::Nat => Forward::Nat,
                ForwardDoc::Tunnel(TunnelDoc::Ipip) => Forward::Tunnel(Tunnel::Ipip),
                ForwardDoc::Tunnel(TunnelDoc::Gue { port, checksum: c }) => {
                    Forward::Tunnel(Tunnel::Gue {
                        port,
                        checksum: checksum(&c)?,
                    })
                }
                ForwardDoc::Tunnel(TunnelDoc::Gre { checksum: c }) => {
                    Forward::Tunnel(Tunnel::Gre {
                        checksum: checksum(&c)?,
                    })
                }
            },
            weight: doc.weight,
            upper: doc.upper,
            lower: doc.lower,
        })
    }
}

impl From<TimeoutsDoc> for Timeouts {
    fn from(doc: TimeoutsDoc) -> Timeouts {
        Timeouts {
            tcp: doc.tcp,
            tcpfin: doc.tcpfin,
            udp: doc.udp,
        }
    }
}

impl TryFrom<DaemonDoc> for Daemon {
    type Error = Invalid;

    fn try_from(doc: DaemonDoc) -> Result<Daemon, Invalid> {
        Ok(Daemon {
            state: daemon_state(&doc.state)?,
            interface: doc.interface,
            syncid: doc.syncid,
            maxlen: doc.maxlen,
            group: doc.group,
            port: doc.port,
            ttl: doc.ttl,
        })
    }
}

/// A sysctl by its name and its value, which must have the sysctl's shape.
pub(super) fn sysctl_value(
    name: &str,
    value: SysctlValueDoc,
) -> Result<(Sysctl, SysctlValue), Invalid> {
    let sysctl: Sysctl = name
        .parse()
        .map_err(|()| invalid(format!("unknown sysctl `{name}`")))?;
    let value = match (sysctl.kind(), value) {
        (SysctlKind::Defense, SysctlValueDoc::Mode(m)) => SysctlValue::Defense(
            [DefenseMode::Off, DefenseMode::Auto, DefenseMode::Always]
                .into_iter()
                .find(|d| d.name() == m)
                .ok_or_else(|| invalid(format!("`{m}` is not a mode of {name}")))?,
        ),
        (SysctlKind::Pair, SysctlValueDoc::Pair(a, b)) => SysctlValue::Pair(a, b),
        (SysctlKind::Switch | SysctlKind::Int { .. }, SysctlValueDoc::Int(n)) => {
            SysctlValue::Int(n)
        }
        (_, other) => {
            return Err(invalid(format!(
                "{other:?} is not a value of sysctl {name}"
            )))
        }
    };
    Ok((sysctl, value))
}
