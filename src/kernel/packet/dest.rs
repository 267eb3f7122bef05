//! The destination nest (`IPVS_CMD_ATTR_DEST`): a real server, what `ipvsadm -a` sets.

use netlink_packet_core::{
    emit_u16, emit_u16_be, emit_u32, parse_u16, parse_u16_be, parse_u32, parse_u8, DecodeError,
    DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, Parseable,
};

use super::stats::{ServerCounters, Stats, StatsAttr};
use super::{addr_bytes, addr_from_bytes, parse_addr, parse_nested};
use crate::model::{Checksum, Family, Forward, Server, ServerKey, Tunnel};

pub const IPVS_DEST_ATTR_UNSPEC: u16 = 0;
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;

pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1 << 0;
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 1 << 1;

/// An attribute of the destination nest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    /// `union nf_inet_addr`: IPv4 in the first 4 bytes.
    Addr([u8; 16]),
    /// Sent big-endian; held in host order.
    Port(u16),
    /// IP_VS_CONN_F_MASQ, _LOCALNODE, _TUNNEL, _DROUTE or _BYPASS.
    FwdMethod(u32),
    /// The kernel reads it as an `int`.
    Weight(u32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Vec<StatsAttr>),
    /// The server's own family; the service's when absent.
    AddrFamily(u16),
    Stats64(Vec<StatsAttr>),
    /// IP_VS_CONN_F_TUNNEL_TYPE_*.
    TunType(u8),
    /// Sent big-endian; held in host order.
    TunPort(u16),
    /// IP_VS_TUNNEL_ENCAP_FLAG_*.
    TunFlags(u16),
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(_) => 16,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            TunType(_) => 1,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_)
            | PersistConns(_) => 4,
            Stats(attrs) | Stats64(attrs) => attrs.as_slice().buffer_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => IPVS_DEST_ATTR_ADDR,
            Port(_) => IPVS_DEST_ATTR_PORT,
            FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            UThresh(_) => IPVS_DEST_ATTR_U_THRESH,
            LThresh(_) => IPVS_DEST_ATTR_L_THRESH,
            ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Stats(_) => IPVS_DEST_ATTR_STATS,
            AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Stats64(_) => IPVS_DEST_ATTR_STATS64,
            TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => buffer[..16].copy_from_slice(a),
            Port(v) | TunPort(v) => emit_u16_be(buffer, *v).expect("sized"),
            AddrFamily(v) | TunFlags(v) => emit_u16(buffer, *v).expect("sized"),
            TunType(v) => buffer[0] = *v,
            FwdMethod(v) | Weight(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v)
            | PersistConns(v) => emit_u32(buffer, *v).expect("sized"),
            Stats(attrs) | Stats64(attrs) => attrs.as_slice().emit(buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        let ctx = |name: &str| format!("invalid IPVS_DEST_ATTR_{name}");
        let u32_ = |name: &str| parse_u32(payload).context(ctx(name));
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR => DestAttr::Addr(parse_addr(payload).context(ctx("ADDR"))?),
            IPVS_DEST_ATTR_PORT => DestAttr::Port(parse_u16_be(payload).context(ctx("PORT"))?),
            IPVS_DEST_ATTR_FWD_METHOD => DestAttr::FwdMethod(u32_("FWD_METHOD")?),
            IPVS_DEST_ATTR_WEIGHT => DestAttr::Weight(u32_("WEIGHT")?),
            IPVS_DEST_ATTR_U_THRESH => DestAttr::UThresh(u32_("U_THRESH")?),
            IPVS_DEST_ATTR_L_THRESH => DestAttr::LThresh(u32_("L_THRESH")?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => DestAttr::ActiveConns(u32_("ACTIVE_CONNS")?),
            IPVS_DEST_ATTR_INACT_CONNS => DestAttr::InactConns(u32_("INACT_CONNS")?),
            IPVS_DEST_ATTR_PERSIST_CONNS => DestAttr::PersistConns(u32_("PERSIST_CONNS")?),
            IPVS_DEST_ATTR_STATS => DestAttr::Stats(parse_nested(payload).context(ctx("STATS"))?),
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                DestAttr::AddrFamily(parse_u16(payload).context(ctx("ADDR_FAMILY"))?)
            }
            IPVS_DEST_ATTR_STATS64 => {
                DestAttr::Stats64(parse_nested(payload).context(ctx("STATS64"))?)
            }
            IPVS_DEST_ATTR_TUN_TYPE => {
                DestAttr::TunType(parse_u8(payload).context(ctx("TUN_TYPE"))?)
            }
            IPVS_DEST_ATTR_TUN_PORT => {
                DestAttr::TunPort(parse_u16_be(payload).context(ctx("TUN_PORT"))?)
            }
            IPVS_DEST_ATTR_TUN_FLAGS => {
                DestAttr::TunFlags(parse_u16(payload).context(ctx("TUN_FLAGS"))?)
            }
            _ => DestAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The attributes that identify a destination within its service: ADDR, PORT and
/// ADDR_FAMILY. Enough for DEL_DEST.
pub fn server_key_to_attrs(key: &ServerKey) -> Vec<DestAttr> {
    vec![
        DestAttr::Addr(addr_bytes(&key.addr)),
        DestAttr::Port(key.port),
        DestAttr::AddrFamily(Family::of(&key.addr).af()),
    ]
}

/// The forwarding method of `server` as FWD_METHOD says it, and for a tunnel its TUN_TYPE,
/// TUN_PORT and TUN_FLAGS: what both emitters of the destination nest write.
pub(super) fn forward_fields(server: &Server) -> (u32, Option<(u8, u16, u16)>) {
    match server.forward {
        Forward::Nat => (IP_VS_CONN_F_MASQ, None),
        Forward::Dr => (IP_VS_CONN_F_DROUTE, None),
        Forward::Tunnel(tunnel) => {
            let (kind, port, checksum) = match tunnel {
                Tunnel::Ipip => (IP_VS_CONN_F_TUNNEL_TYPE_IPIP, 0, Checksum::NoCsum),
                Tunnel::Gue { port, checksum } => (IP_VS_CONN_F_TUNNEL_TYPE_GUE, port, checksum),
                Tunnel::Gre { checksum } => (IP_VS_CONN_F_TUNNEL_TYPE_GRE, 0, checksum),
            };
            (
                IP_VS_CONN_F_TUNNEL,
                Some((kind, port, checksum.kernel_value())),
            )
        }
    }
}

/// The full destination nest NEW_DEST and SET_DEST need: identity, FWD_METHOD, WEIGHT,
/// U_THRESH, L_THRESH, and for tunneled servers TUN_TYPE, TUN_PORT and TUN_FLAGS. (The writes
/// of a plan go out through `write.rs`, which emits the same bytes without building these.)
pub fn server_to_attrs(server: &Server) -> Vec<DestAttr> {
    let (fwd, tunnel) = forward_fields(server);
    let mut attrs = vec![
        DestAttr::Addr(addr_bytes(&server.key.addr)),
        DestAttr::Port(server.key.port),
        DestAttr::FwdMethod(fwd),
        DestAttr::Weight(server.weight),
        DestAttr::UThresh(server.upper),
        DestAttr::LThresh(server.lower),
        DestAttr::AddrFamily(Family::of(&server.key.addr).af()),
    ];
    if let Some((kind, port, flags)) = tunnel {
        attrs.push(DestAttr::TunType(kind));
        attrs.push(DestAttr::TunPort(port));
        attrs.push(DestAttr::TunFlags(flags));
    }
    attrs
}

/// The server a destination nest describes; `service_family` is the family of its service,
/// which the kernel means when ADDR_FAMILY is absent (before Linux 3.18) or 0.
pub fn server_from_attrs(
    attrs: &[DestAttr],
    service_family: Family,
) -> Result<Server, DecodeError> {
    let mut addr = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = None;
    let mut upper = 0;
    let mut lower = 0;
    let mut af = None;
    let mut tun_type = None;
    let mut tun_port = 0;
    let mut tun_flags = 0;
    for attr in attrs {
        match attr {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = Some(*v),
            DestAttr::UThresh(v) => upper = *v,
            DestAttr::LThresh(v) => lower = *v,
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::TunType(v) => tun_type = Some(*v),
            DestAttr::TunPort(v) => tun_port = *v,
            DestAttr::TunFlags(v) => tun_flags = *v,
            _ => {}
        }
    }
    let missing =
        |name: &str| DecodeError::from(format!("the destination has no IPVS_DEST_ATTR_{name}"));
    let family = match af.filter(|af| *af != 0) {
        None => service_family,
        Some(af) => Family::from_af(af)
            .ok_or_else(|| DecodeError::from(format!("unknown address family {af}")))?,
    };
    let key = ServerKey {
        addr: addr_from_bytes(&addr.ok_or_else(|| missing("ADDR"))?, family),
        port: port.ok_or_else(|| missing("PORT"))?,
    };
    let fwd = fwd.ok_or_else(|| missing("FWD_METHOD"))? & IP_VS_CONN_F_FWD_MASK;
    let forward = match fwd {
        IP_VS_CONN_F_MASQ => Forward::Nat,
        // Older kernels stored LOCALNODE instead of the method asked for when the server's
        // address is local to the director. ipvsadm prints it as -g, so it reads back as
        // direct routing.
        IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_LOCALNODE => Forward::Dr,
        IP_VS_CONN_F_TUNNEL => Forward::Tunnel(tunnel(tun_type, tun_port, tun_flags, &key)?),
        other => {
            return Err(DecodeError::from(format!(
                "server {key} has forwarding method {other}, which ipvsc does not know"
            )))
        }
    };
    Ok(Server {
        key,
        forward,
        weight: weight.ok_or_else(|| missing("WEIGHT"))?,
        upper,
        lower,
    })
}

fn tunnel(kind: Option<u8>, port: u16, flags: u16, key: &ServerKey) -> Result<Tunnel, DecodeError> {
    let checksum = || match flags {
        IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM => Ok(Checksum::NoCsum),
        IP_VS_TUNNEL_ENCAP_FLAG_CSUM => Ok(Checksum::Csum),
        IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM => Ok(Checksum::RemCsum),
        other => Err(DecodeError::from(format!(
            "server {key} has tunnel flags {other:#x}, which ipvsc does not know"
        ))),
    };
    // Kernels before 5.2 have no tunnel type: every tunnel is IPIP.
    match kind.unwrap_or(IP_VS_CONN_F_TUNNEL_TYPE_IPIP) {
        IP_VS_CONN_F_TUNNEL_TYPE_IPIP => Ok(Tunnel::Ipip),
        IP_VS_CONN_F_TUNNEL_TYPE_GUE => Ok(Tunnel::Gue {
            port,
            checksum: checksum()?,
        }),
        IP_VS_CONN_F_TUNNEL_TYPE_GRE => Ok(Tunnel::Gre {
            checksum: checksum()?,
        }),
        other => Err(DecodeError::from(format!(
            "server {key} has tunnel type {other}, which ipvsc does not know"
        ))),
    }
}

/// The destination's connection counts and counters (STATS64 when present).
pub fn server_counters_from_attrs(attrs: &[DestAttr]) -> ServerCounters {
    let mut c = ServerCounters::default();
    let mut stats = None;
    let mut stats64 = None;
    for attr in attrs {
        match attr {
            DestAttr::ActiveConns(v) => c.active_conns = *v,
            DestAttr::InactConns(v) => c.inactive_conns = *v,
            DestAttr::PersistConns(v) => c.persistent_conns = *v,
            DestAttr::Stats(s) => stats = Some(s.as_slice()),
            DestAttr::Stats64(s) => stats64 = Some(s.as_slice()),
            _ => {}
        }
    }
    c.stats = Stats::prefer_64(stats, stats64);
    c
}
