//! The sync daemon nest (`IPVS_CMD_ATTR_DAEMON`): what `ipvsadm --start-daemon` starts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    emit_u16, emit_u32, parse_string, parse_u16, parse_u32, parse_u8, DecodeError, DefaultNla,
    ErrorContext, Nla, NlaBuffer, Parseable,
};

use super::{emit_string, string_len};
use crate::model::{Daemon, DaemonState};

pub const IPVS_DAEMON_ATTR_UNSPEC: u16 = 0;
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

pub const IP_VS_STATE_NONE: u32 = 0;
pub const IP_VS_STATE_MASTER: u32 = 1;
pub const IP_VS_STATE_BACKUP: u32 = 2;

/// An attribute of the daemon nest. Unlike the service's ports, MCAST_PORT is host order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAttr {
    /// IP_VS_STATE_MASTER or IP_VS_STATE_BACKUP.
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => string_len(s),
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => IPVS_DAEMON_ATTR_STATE,
            McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(v) | SyncId(v) => emit_u32(buffer, *v).expect("sized"),
            McastIfn(s) => emit_string(buffer, s),
            SyncMaxlen(v) | McastPort(v) => emit_u16(buffer, *v).expect("sized"),
            McastGroup(a) => buffer[..4].copy_from_slice(&a.octets()),
            McastGroup6(a) => buffer[..16].copy_from_slice(&a.octets()),
            McastTtl(v) => buffer[0] = *v,
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        let ctx = |name: &str| format!("invalid IPVS_DAEMON_ATTR_{name}");
        Ok(match buf.kind() {
            IPVS_DAEMON_ATTR_STATE => DaemonAttr::State(parse_u32(payload).context(ctx("STATE"))?),
            IPVS_DAEMON_ATTR_MCAST_IFN => {
                DaemonAttr::McastIfn(parse_string(payload).context(ctx("MCAST_IFN"))?)
            }
            IPVS_DAEMON_ATTR_SYNC_ID => {
                DaemonAttr::SyncId(parse_u32(payload).context(ctx("SYNC_ID"))?)
            }
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                DaemonAttr::SyncMaxlen(parse_u16(payload).context(ctx("SYNC_MAXLEN"))?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                let b: [u8; 4] = payload
                    .try_into()
                    .map_err(|_| DecodeError::invalid_ip_address(payload.len()))
                    .context(ctx("MCAST_GROUP"))?;
                DaemonAttr::McastGroup(Ipv4Addr::from(b))
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                let b: [u8; 16] = payload
                    .try_into()
                    .map_err(|_| DecodeError::invalid_ip_address(payload.len()))
                    .context(ctx("MCAST_GROUP6"))?;
                DaemonAttr::McastGroup6(Ipv6Addr::from(b))
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                DaemonAttr::McastPort(parse_u16(payload).context(ctx("MCAST_PORT"))?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => {
                DaemonAttr::McastTtl(parse_u8(payload).context(ctx("MCAST_TTL"))?)
            }
            _ => DaemonAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The daemon nest NEW_DAEMON needs (STATE, MCAST_IFN, SYNC_ID) plus the options that are set.
pub fn daemon_to_attrs(daemon: &Daemon) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(daemon.state.kernel_value()),
        DaemonAttr::McastIfn(daemon.interface.clone()),
        DaemonAttr::SyncId(u32::from(daemon.syncid)),
    ];
    if let Some(v) = daemon.maxlen {
        attrs.push(DaemonAttr::SyncMaxlen(v));
    }
    match daemon.group {
        Some(IpAddr::V4(a)) => attrs.push(DaemonAttr::McastGroup(a)),
        Some(IpAddr::V6(a)) => attrs.push(DaemonAttr::McastGroup6(a)),
        None => {}
    }
    if let Some(v) = daemon.port {
        attrs.push(DaemonAttr::McastPort(v));
    }
    if let Some(v) = daemon.ttl {
        attrs.push(DaemonAttr::McastTtl(v));
    }
    attrs
}

/// The daemon a dump reports. The kernel fills in its defaults when it starts a daemon (group
/// 224.0.0.81, port 8848, TTL 1, a maximum length from the interface's MTU), so a running
/// daemon reads back with every option set; a 0 is read as unset.
pub fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<Daemon, DecodeError> {
    let mut state = None;
    let mut interface = None;
    let mut syncid = None;
    let mut maxlen = None;
    let mut group = None;
    let mut port = None;
    let mut ttl = None;
    for attr in attrs {
        match attr {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(v) => interface = Some(v.clone()),
            DaemonAttr::SyncId(v) => syncid = Some(*v),
            DaemonAttr::SyncMaxlen(v) => maxlen = Some(*v).filter(|v| *v != 0),
            DaemonAttr::McastGroup(v) => group = Some(IpAddr::V4(*v)),
            DaemonAttr::McastGroup6(v) => group = Some(IpAddr::V6(*v)),
            DaemonAttr::McastPort(v) => port = Some(*v).filter(|v| *v != 0),
            DaemonAttr::McastTtl(v) => ttl = Some(*v).filter(|v| *v != 0),
            DaemonAttr::Other(_) => {}
        }
    }
    let missing =
        |name: &str| DecodeError::from(format!("the sync daemon has no IPVS_DAEMON_ATTR_{name}"));
    let state = match state.ok_or_else(|| missing("STATE"))? {
        IP_VS_STATE_MASTER => DaemonState::Master,
        IP_VS_STATE_BACKUP => DaemonState::Backup,
        other => return Err(format!("unknown sync daemon state {other}").into()),
    };
    let syncid = syncid.ok_or_else(|| missing("SYNC_ID"))?;
    Ok(Daemon {
        state,
        interface: interface.ok_or_else(|| missing("MCAST_IFN"))?,
        syncid: u8::try_from(syncid)
            .map_err(|_| DecodeError::from(format!("sync id {syncid} is not 0..255")))?,
        maxlen,
        group,
        port,
        ttl,
    })
}
