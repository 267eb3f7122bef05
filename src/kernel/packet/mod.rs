//! The messages of the IPVS generic netlink family, without I/O, in the style of the
//! rust-netlink crates: [`IpvsMessage`] is the payload of a
//! `netlink_packet_generic::GenlMessage`, the attribute enums name the constants of
//! `include/uapi/linux/ip_vs.h`, and each keeps what it does not know in `Other` so that it
//! emits it back unchanged.
//!
//! The kernel sends nests without `NLA_F_NESTED` and does not need it (`ip_vs_ctl.c` parses with
//! `nla_parse_nested_deprecated`), so nests are emitted without it; parsing masks the flag off.
//!
//! Beside the packets: pure conversions between the model ([`Service`], [`Server`],
//! [`Daemon`], [`Timeouts`]) and the attributes, the counters a `list` shows ([`Stats`],
//! [`ServerCounters`]), a request builder per operation (`request`), and the lean readers of the
//! replies `save` reads by the thousand, beside the full parser and tested against it (`lean`);
//! and the writer of the requests a plan sends by the thousand, beside the request builders and
//! tested against them (`write`).

mod daemon;
mod dest;
mod info;
mod lean;
mod request;
mod service;
mod stats;
#[cfg(test)]
mod tests;
mod write;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    emit_u32, parse_u32, DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer,
    NlasIterator, Parseable, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

pub use daemon::*;
pub use dest::*;
pub use info::*;
pub use lean::*;
pub use request::*;
pub use service::*;
pub use stats::*;
pub use write::*;

use crate::model::{Daemon, Family, Server, Service, Timeouts};

pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

pub const IPVS_CMD_UNSPEC: u8 = 0;
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
pub const IPVS_CMD_NEW_DEST: u8 = 5;
pub const IPVS_CMD_SET_DEST: u8 = 6;
pub const IPVS_CMD_DEL_DEST: u8 = 7;
pub const IPVS_CMD_GET_DEST: u8 = 8;
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
pub const IPVS_CMD_SET_INFO: u8 = 14;
pub const IPVS_CMD_GET_INFO: u8 = 15;
pub const IPVS_CMD_ZERO: u8 = 16;
pub const IPVS_CMD_FLUSH: u8 = 17;

pub const IPVS_CMD_ATTR_UNSPEC: u16 = 0;
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

/// The generic netlink command of an IPVS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    /// Only in replies to GET_INFO.
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        use IpvsCmd::*;
        match cmd {
            NewService => IPVS_CMD_NEW_SERVICE,
            SetService => IPVS_CMD_SET_SERVICE,
            DelService => IPVS_CMD_DEL_SERVICE,
            GetService => IPVS_CMD_GET_SERVICE,
            NewDest => IPVS_CMD_NEW_DEST,
            SetDest => IPVS_CMD_SET_DEST,
            DelDest => IPVS_CMD_DEL_DEST,
            GetDest => IPVS_CMD_GET_DEST,
            NewDaemon => IPVS_CMD_NEW_DAEMON,
            DelDaemon => IPVS_CMD_DEL_DAEMON,
            GetDaemon => IPVS_CMD_GET_DAEMON,
            SetConfig => IPVS_CMD_SET_CONFIG,
            GetConfig => IPVS_CMD_GET_CONFIG,
            SetInfo => IPVS_CMD_SET_INFO,
            GetInfo => IPVS_CMD_GET_INFO,
            Zero => IPVS_CMD_ZERO,
            Flush => IPVS_CMD_FLUSH,
            Other(n) => n,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(n: u8) -> IpvsCmd {
        use IpvsCmd::*;
        match n {
            IPVS_CMD_NEW_SERVICE => NewService,
            IPVS_CMD_SET_SERVICE => SetService,
            IPVS_CMD_DEL_SERVICE => DelService,
            IPVS_CMD_GET_SERVICE => GetService,
            IPVS_CMD_NEW_DEST => NewDest,
            IPVS_CMD_SET_DEST => SetDest,
            IPVS_CMD_DEL_DEST => DelDest,
            IPVS_CMD_GET_DEST => GetDest,
            IPVS_CMD_NEW_DAEMON => NewDaemon,
            IPVS_CMD_DEL_DAEMON => DelDaemon,
            IPVS_CMD_GET_DAEMON => GetDaemon,
            IPVS_CMD_SET_CONFIG => SetConfig,
            IPVS_CMD_GET_CONFIG => GetConfig,
            IPVS_CMD_SET_INFO => SetInfo,
            IPVS_CMD_GET_INFO => GetInfo,
            IPVS_CMD_ZERO => Zero,
            IPVS_CMD_FLUSH => Flush,
            n => Other(n),
        }
    }
}

impl IpvsCmd {
    /// Whether the kernel answers the command only as a dump (GET_DEST, GET_DAEMON; GET_SERVICE
    /// is sent as a dump here too): the request needs `NLM_F_DUMP`.
    pub fn is_dump(self) -> bool {
        matches!(
            self,
            IpvsCmd::GetService | IpvsCmd::GetDest | IpvsCmd::GetDaemon
        )
    }

    /// Whether the message's top-level attributes are `IPVS_INFO_ATTR_*`.
    pub fn has_info_attrs(self) -> bool {
        matches!(self, IpvsCmd::SetInfo | IpvsCmd::GetInfo)
    }
}

/// A top-level attribute. Which enum a number means depends on the command: SET_INFO's
/// attributes are [`InfoAttr`]s, every other command's are `IPVS_CMD_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsAttr {
    Service(Vec<SvcAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    /// Seconds; 0 in SET_CONFIG leaves the timeout unchanged.
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    /// A top-level attribute of GET_INFO / SET_INFO.
    Info(InfoAttr),
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        use IpvsAttr::*;
        match self {
            Service(attrs) => attrs.as_slice().buffer_len(),
            Dest(attrs) => attrs.as_slice().buffer_len(),
            Daemon(attrs) => attrs.as_slice().buffer_len(),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) => 4,
            Info(attr) => attr.value_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use IpvsAttr::*;
        match self {
            Service(_) => IPVS_CMD_ATTR_SERVICE,
            Dest(_) => IPVS_CMD_ATTR_DEST,
            Daemon(_) => IPVS_CMD_ATTR_DAEMON,
            TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Info(attr) => attr.kind(),
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use IpvsAttr::*;
        match self {
            Service(attrs) => attrs.as_slice().emit(buffer),
            Dest(attrs) => attrs.as_slice().emit(buffer),
            Daemon(attrs) => attrs.as_slice().emit(buffer),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) => {
                emit_u32(buffer, *v).expect("sized")
            }
            Info(attr) => attr.emit_value(buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for IpvsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => {
                IpvsAttr::Service(parse_nested(payload).context("invalid IPVS_CMD_ATTR_SERVICE")?)
            }
            IPVS_CMD_ATTR_DEST => {
                IpvsAttr::Dest(parse_nested(payload).context("invalid IPVS_CMD_ATTR_DEST")?)
            }
            IPVS_CMD_ATTR_DAEMON => {
                IpvsAttr::Daemon(parse_nested(payload).context("invalid IPVS_CMD_ATTR_DAEMON")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP => IpvsAttr::TimeoutTcp(
                parse_u32(payload).context("invalid IPVS_CMD_ATTR_TIMEOUT_TCP")?,
            ),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => IpvsAttr::TimeoutTcpFin(
                parse_u32(payload).context("invalid IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?,
            ),
            IPVS_CMD_ATTR_TIMEOUT_UDP => IpvsAttr::TimeoutUdp(
                parse_u32(payload).context("invalid IPVS_CMD_ATTR_TIMEOUT_UDP")?,
            ),
            _ => IpvsAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The payload of an IPVS generic netlink message (the family has no header of its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> IpvsMessage {
        IpvsMessage { cmd, attrs }
    }

    /// The service nest, if the message has one.
    pub fn service(&self) -> Option<&[SvcAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Service(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The destination nest, if the message has one.
    pub fn dest(&self) -> Option<&[DestAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Dest(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The daemon nest, if the message has one.
    pub fn daemon(&self) -> Option<&[DaemonAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Daemon(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The attributes of a SET_INFO message.
    pub fn info(&self) -> Vec<InfoAttr> {
        self.attrs
            .iter()
            .filter_map(|a| match a {
                IpvsAttr::Info(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let attrs = NlasIterator::new(buf)
            .map(|nla| {
                let nla = nla?;
                if cmd.has_info_attrs() {
                    InfoAttr::parse(&nla).map(IpvsAttr::Info)
                } else {
                    IpvsAttr::parse(&nla)
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| {
                format!(
                    "failed to parse the attributes of IPVS command {}",
                    header.cmd
                )
            })?;
        Ok(IpvsMessage { cmd, attrs })
    }
}

/// A whole netlink message carrying `msg` to the family `family_id`, ready to send.
pub fn serialize(msg: IpvsMessage, family_id: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut buf = Vec::new();
    serialize_into(&mut buf, msg, family_id, flags, seq);
    buf
}

/// [`serialize`], appended to `out` (to pack many requests into one datagram without a copy).
///
/// Written in one pass, each nest's length filled in once its attributes are written: the
/// generic emitter of `netlink_packet_core` asks every nest for its length before writing it,
/// which walks each attribute two or three times (about a tenth of a 20,000-server load's CPU
/// in the test guest went there). The bytes are the same (`emits_as_the_generic_emitter`).
pub fn serialize_into(out: &mut Vec<u8>, msg: IpvsMessage, family_id: u16, flags: u16, seq: u32) {
    let start = begin_request(out, family_id, flags, seq, msg.cmd.into());
    for attr in &msg.attrs {
        match attr {
            IpvsAttr::Service(nest) => emit_nest(out, IPVS_CMD_ATTR_SERVICE, nest),
            IpvsAttr::Dest(nest) => emit_nest(out, IPVS_CMD_ATTR_DEST, nest),
            IpvsAttr::Daemon(nest) => emit_nest(out, IPVS_CMD_ATTR_DAEMON, nest),
            other => emit_nla(out, other),
        }
    }
    end_request(out, start);
}

/// Starts a request of command `cmd` at the end of `out`: its struct nlmsghdr, whose length
/// [`end_request`] fills in, then its struct genlmsghdr. Returns where the request starts.
fn begin_request(out: &mut Vec<u8>, family_id: u16, flags: u16, seq: u32, cmd: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&family_id.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&[cmd, IPVS_GENL_VERSION, 0, 0]);
    start
}

/// Ends the request [`begin_request`] started at `start`: its length is what was written since.
fn end_request(out: &mut [u8], start: usize) {
    let len = u32::try_from(out.len() - start).expect("a request fits in 4 GiB");
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// Starts a nest at the end of `out`; [`end_nest`] fills in its header. Returns where it starts.
fn begin_nest(out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&[0; 4]);
    out.len() - 4
}

/// Ends the nest [`begin_nest`] started at `at`, of type `kind` (without `NLA_F_NESTED`, see
/// the module's documentation).
fn end_nest(out: &mut [u8], at: usize, kind: u16) {
    let len = u16::try_from(out.len() - at).expect("a nest of a request fits in 64 KiB");
    out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    out[at + 2..at + 4].copy_from_slice(&kind.to_ne_bytes());
}

/// A nest of `attrs` under `kind`.
fn emit_nest<T: Nla>(out: &mut Vec<u8>, kind: u16, attrs: &[T]) {
    let at = begin_nest(out);
    for attr in attrs {
        emit_nla(out, attr);
    }
    end_nest(out, at, kind);
}

/// One attribute, its header and its padding.
fn emit_nla<T: Nla>(out: &mut Vec<u8>, attr: &T) {
    let at = out.len();
    out.resize(at + attr.buffer_len(), 0);
    attr.emit(&mut out[at..]);
}

/// Parses the payload of a netlink message of the IPVS family: the genl header, then the
/// attributes.
pub fn parse_genl(payload: &[u8]) -> Result<IpvsMessage, DecodeError> {
    let genl = GenlMessage::<IpvsMessage>::parse_with_param(payload, 0)?;
    Ok(genl.payload)
}

/// A NEW_SERVICE message of a GET_SERVICE dump: the service (no servers) and its counters.
pub fn parse_service_reply(msg: &IpvsMessage) -> Result<(Service, Stats), DecodeError> {
    let attrs = msg
        .service()
        .ok_or("the reply has no IPVS_CMD_ATTR_SERVICE")?;
    Ok((service_from_attrs(attrs)?, service_stats_from_attrs(attrs)))
}

/// A NEW_DEST message of a GET_DEST dump for a service of `service_family`.
pub fn parse_dest_reply(
    msg: &IpvsMessage,
    service_family: Family,
) -> Result<(Server, ServerCounters), DecodeError> {
    let attrs = msg.dest().ok_or("the reply has no IPVS_CMD_ATTR_DEST")?;
    Ok((
        server_from_attrs(attrs, service_family)?,
        server_counters_from_attrs(attrs),
    ))
}

/// A NEW_DAEMON message of a GET_DAEMON dump.
pub fn parse_daemon_reply(msg: &IpvsMessage) -> Result<Daemon, DecodeError> {
    daemon_from_attrs(
        msg.daemon()
            .ok_or("the reply has no IPVS_CMD_ATTR_DAEMON")?,
    )
}

/// The SET_CONFIG reply to GET_CONFIG. A kernel built without TCP or UDP support leaves out
/// those timeouts; they read as `None`.
pub fn parse_config_reply(msg: &IpvsMessage) -> Timeouts {
    timeouts_from_attrs(&msg.attrs)
}

/// The SET_INFO reply to GET_INFO.
pub fn parse_info_reply(msg: &IpvsMessage) -> Result<IpvsInfo, DecodeError> {
    IpvsInfo::from_attrs(&msg.info())
}

/// The TIMEOUT attributes of SET_CONFIG; `None` leaves the attribute out, which the kernel reads
/// as "unchanged" (as it does 0).
pub fn timeouts_to_attrs(t: &Timeouts) -> Vec<IpvsAttr> {
    let mut attrs = Vec::new();
    if let Some(v) = t.tcp {
        attrs.push(IpvsAttr::TimeoutTcp(v));
    }
    if let Some(v) = t.tcpfin {
        attrs.push(IpvsAttr::TimeoutTcpFin(v));
    }
    if let Some(v) = t.udp {
        attrs.push(IpvsAttr::TimeoutUdp(v));
    }
    attrs
}

pub fn timeouts_from_attrs(attrs: &[IpvsAttr]) -> Timeouts {
    let mut t = Timeouts::default();
    for attr in attrs {
        match attr {
            IpvsAttr::TimeoutTcp(v) => t.tcp = Some(*v),
            IpvsAttr::TimeoutTcpFin(v) => t.tcpfin = Some(*v),
            IpvsAttr::TimeoutUdp(v) => t.udp = Some(*v),
            _ => {}
        }
    }
    t
}

fn parse_nested<A>(payload: &[u8]) -> Result<Vec<A>, DecodeError>
where
    A: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(payload)
        .map(|nla| nla.and_then(|nla| A::parse(&nla)))
        .collect()
}

/// A `union nf_inet_addr`: the kernel copies at most 16 bytes and zero-fills the rest.
fn parse_addr(payload: &[u8]) -> Result<[u8; 16], DecodeError> {
    if payload.len() > 16 {
        return Err(DecodeError::invalid_ip_address(payload.len()));
    }
    let mut a = [0; 16];
    a[..payload.len()].copy_from_slice(payload);
    Ok(a)
}

fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    let mut a = [0; 16];
    match addr {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a = v6.octets(),
    }
    a
}

fn addr_from_bytes(a: &[u8; 16], family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::from(*a)),
    }
}

/// A NUL-terminated string, as `nla_put_string` sends it.
fn string_len(s: &str) -> usize {
    s.len() + 1
}

fn emit_string(buffer: &mut [u8], s: &str) {
    buffer[..s.len()].copy_from_slice(s.as_bytes());
    buffer[s.len()] = 0;
}
