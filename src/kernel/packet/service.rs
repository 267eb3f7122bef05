//! The service nest (`IPVS_CMD_ATTR_SERVICE`): a virtual service, what `ipvsadm -A` sets.

use std::net::Ipv4Addr;

use netlink_packet_core::{
    emit_u16, emit_u16_be, emit_u32, parse_string, parse_u16, parse_u16_be, parse_u32, DecodeError,
    DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, Parseable,
};

use super::stats::{Stats, StatsAttr};
use super::{addr_bytes, addr_from_bytes, emit_string, parse_addr, parse_nested, string_len};
use crate::model::{Family, Netmask, Protocol, SchedFlags, Scheduler, Service, ServiceKey};

pub const IPVS_SVC_ATTR_UNSPEC: u16 = 0;
pub const IPVS_SVC_ATTR_AF: u16 = 1;
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

/// The flags ipvsc owns. Sent as the mask of `IPVS_SVC_ATTR_FLAGS`, so that an edit keeps the
/// bits the kernel manages (HASHED) or that a newer kernel may add. ipvsadm sends `~0`.
pub const MODEL_FLAGS_MASK: u32 = IP_VS_SVC_F_PERSISTENT
    | IP_VS_SVC_F_ONEPACKET
    | IP_VS_SVC_F_SCHED1
    | IP_VS_SVC_F_SCHED2
    | IP_VS_SVC_F_SCHED3;

/// `struct ip_vs_flags`: on NEW/SET the kernel stores `(old & !mask) | (flags & mask)`; dumps
/// send the service's flags with mask `~0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpvsFlags {
    pub flags: u32,
    pub mask: u32,
}

/// An attribute of the service nest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvcAttr {
    /// AF_INET or AF_INET6.
    Af(u16),
    /// IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP.
    Protocol(u16),
    /// `union nf_inet_addr`: IPv4 in the first 4 bytes.
    Addr([u8; 16]),
    /// Sent big-endian; held in host order.
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    Flags(IpvsFlags),
    /// Persistence timeout in seconds.
    Timeout(u32),
    /// IPv4: the mask's bytes in network order, read as a host u32; IPv6: the prefix length.
    Netmask(u32),
    Stats(Vec<StatsAttr>),
    PeName(String),
    Stats64(Vec<StatsAttr>),
    Other(DefaultNla),
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        use SvcAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            Addr(_) => 16,
            SchedName(s) | PeName(s) => string_len(s),
            Flags(_) => 8,
            Stats(attrs) | Stats64(attrs) => attrs.as_slice().buffer_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use SvcAttr::*;
        match self {
            Af(_) => IPVS_SVC_ATTR_AF,
            Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Addr(_) => IPVS_SVC_ATTR_ADDR,
            Port(_) => IPVS_SVC_ATTR_PORT,
            Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Flags(_) => IPVS_SVC_ATTR_FLAGS,
            Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Stats(_) => IPVS_SVC_ATTR_STATS,
            PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            Stats64(_) => IPVS_SVC_ATTR_STATS64,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        use SvcAttr::*;
        match self {
            Af(v) | Protocol(v) => emit_u16(buffer, *v).expect("sized"),
            Port(v) => emit_u16_be(buffer, *v).expect("sized"),
            Fwmark(v) | Timeout(v) | Netmask(v) => emit_u32(buffer, *v).expect("sized"),
            Addr(a) => buffer[..16].copy_from_slice(a),
            SchedName(s) | PeName(s) => emit_string(buffer, s),
            Flags(f) => {
                emit_u32(&mut buffer[..4], f.flags).expect("sized");
                emit_u32(&mut buffer[4..8], f.mask).expect("sized");
            }
            Stats(attrs) | Stats64(attrs) => attrs.as_slice().emit(buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for SvcAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        let ctx = |name: &str| format!("invalid IPVS_SVC_ATTR_{name}");
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF => SvcAttr::Af(parse_u16(payload).context(ctx("AF"))?),
            IPVS_SVC_ATTR_PROTOCOL => {
                SvcAttr::Protocol(parse_u16(payload).context(ctx("PROTOCOL"))?)
            }
            IPVS_SVC_ATTR_ADDR => SvcAttr::Addr(parse_addr(payload).context(ctx("ADDR"))?),
            IPVS_SVC_ATTR_PORT => SvcAttr::Port(parse_u16_be(payload).context(ctx("PORT"))?),
            IPVS_SVC_ATTR_FWMARK => SvcAttr::Fwmark(parse_u32(payload).context(ctx("FWMARK"))?),
            IPVS_SVC_ATTR_SCHED_NAME => {
                SvcAttr::SchedName(parse_string(payload).context(ctx("SCHED_NAME"))?)
            }
            IPVS_SVC_ATTR_FLAGS => {
                if payload.len() != 8 {
                    return Err(DecodeError::invalid_number(8, payload.len()).context(ctx("FLAGS")));
                }
                SvcAttr::Flags(IpvsFlags {
                    flags: parse_u32(&payload[..4])?,
                    mask: parse_u32(&payload[4..])?,
                })
            }
            IPVS_SVC_ATTR_TIMEOUT => SvcAttr::Timeout(parse_u32(payload).context(ctx("TIMEOUT"))?),
            IPVS_SVC_ATTR_NETMASK => SvcAttr::Netmask(parse_u32(payload).context(ctx("NETMASK"))?),
            IPVS_SVC_ATTR_STATS => SvcAttr::Stats(parse_nested(payload).context(ctx("STATS"))?),
            IPVS_SVC_ATTR_PE_NAME => {
                SvcAttr::PeName(parse_string(payload).context(ctx("PE_NAME"))?)
            }
            IPVS_SVC_ATTR_STATS64 => {
                SvcAttr::Stats64(parse_nested(payload).context(ctx("STATS64"))?)
            }
            _ => SvcAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The attributes that identify a service: AF plus FWMARK, or AF, PROTOCOL, ADDR and PORT.
/// Enough for DEL_SERVICE, ZERO and GET_DEST, and the start of every other service nest.
pub fn service_key_to_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    let mut attrs = vec![SvcAttr::Af(key.family().af())];
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            attrs.push(SvcAttr::Protocol(protocol.number()));
            attrs.push(SvcAttr::Addr(addr_bytes(addr)));
            attrs.push(SvcAttr::Port(*port));
        }
        ServiceKey::Fwmark { mark, .. } => attrs.push(SvcAttr::Fwmark(*mark)),
    }
    attrs
}

/// The full service nest NEW_SERVICE and SET_SERVICE need (identity, SCHED_NAME, FLAGS,
/// TIMEOUT, NETMASK, and PE_NAME when set). The servers are not part of it.
pub fn service_to_attrs(service: &Service) -> Vec<SvcAttr> {
    let mut flags = service.flags.kernel_bits();
    if service.persistence.is_some() {
        flags |= IP_VS_SVC_F_PERSISTENT;
    }
    if service.one_packet {
        flags |= IP_VS_SVC_F_ONEPACKET;
    }
    let mut attrs = service_key_to_attrs(&service.key);
    attrs.push(SvcAttr::SchedName(service.scheduler.name().to_string()));
    if let Some(pe) = &service.pe {
        attrs.push(SvcAttr::PeName(pe.clone()));
    }
    attrs.push(SvcAttr::Flags(IpvsFlags {
        flags,
        mask: MODEL_FLAGS_MASK,
    }));
    attrs.push(SvcAttr::Timeout(service.persistence.unwrap_or(0)));
    attrs.push(SvcAttr::Netmask(service.netmask.kernel_value()));
    attrs
}

/// The service a service nest describes (without servers), as a dump reports it.
pub fn service_from_attrs(attrs: &[SvcAttr]) -> Result<Service, DecodeError> {
    let mut af = None;
    let mut protocol = None;
    let mut addr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut sched = None;
    let mut flags = None;
    let mut timeout = None;
    let mut netmask = None;
    let mut pe = None;
    for attr in attrs {
        match attr {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => protocol = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(v) => sched = Some(v.as_str()),
            SvcAttr::Flags(v) => flags = Some(v.flags & v.mask),
            SvcAttr::Timeout(v) => timeout = Some(*v),
            SvcAttr::Netmask(v) => netmask = Some(*v),
            SvcAttr::PeName(v) => pe = Some(v.clone()),
            SvcAttr::Stats(_) | SvcAttr::Stats64(_) | SvcAttr::Other(_) => {}
        }
    }
    let missing =
        |name: &str| DecodeError::from(format!("the service has no IPVS_SVC_ATTR_{name}"));
    let af = af.ok_or_else(|| missing("AF"))?;
    let family = Family::from_af(af)
        .ok_or_else(|| DecodeError::from(format!("unknown address family {af}")))?;
    let key = match fwmark.filter(|m| *m != 0) {
        Some(mark) => ServiceKey::Fwmark { family, mark },
        None => {
            let number = protocol.ok_or_else(|| missing("PROTOCOL"))?;
            let protocol = Protocol::from_number(number)
                .ok_or_else(|| DecodeError::from(format!("unknown IP protocol {number}")))?;
            ServiceKey::Inet {
                protocol,
                addr: addr_from_bytes(&addr.ok_or_else(|| missing("ADDR"))?, family),
                port: port.ok_or_else(|| missing("PORT"))?,
            }
        }
    };
    let sched = sched.ok_or_else(|| missing("SCHED_NAME"))?;
    let scheduler: Scheduler = sched.parse().map_err(|()| {
        DecodeError::from(format!(
            "service {key} uses the scheduler \"{sched}\", which ipvsc does not know"
        ))
    })?;
    let flags = flags.ok_or_else(|| missing("FLAGS"))?;
    let netmask = netmask_from_kernel(family, netmask.ok_or_else(|| missing("NETMASK"))?)
        .with_context(|| format!("service {key}"))?;
    Ok(Service {
        key,
        scheduler,
        flags: SchedFlags::from_kernel_bits(flags),
        persistence: (flags & IP_VS_SVC_F_PERSISTENT != 0)
            .then(|| timeout.ok_or_else(|| missing("TIMEOUT")))
            .transpose()?,
        netmask,
        pe: pe.filter(|p| !p.is_empty()),
        one_packet: flags & IP_VS_SVC_F_ONEPACKET != 0,
        servers: Default::default(),
    })
}

/// The service's counters: STATS64 when present, else STATS.
pub fn service_stats_from_attrs(attrs: &[SvcAttr]) -> Stats {
    let stats = attrs.iter().find_map(|a| match a {
        SvcAttr::Stats(s) => Some(s.as_slice()),
        _ => None,
    });
    let stats64 = attrs.iter().find_map(|a| match a {
        SvcAttr::Stats64(s) => Some(s.as_slice()),
        _ => None,
    });
    Stats::prefer_64(stats, stats64)
}

fn netmask_from_kernel(family: Family, value: u32) -> Result<Netmask, DecodeError> {
    match family {
        Family::Ipv4 => Ok(Netmask::Ipv4(Ipv4Addr::from(value.to_ne_bytes()))),
        Family::Ipv6 => u8::try_from(value)
            .ok()
            .filter(|p| *p <= 128)
            .map(Netmask::Ipv6)
            .ok_or_else(|| DecodeError::from(format!("IPv6 netmask /{value} is not 0..128"))),
    }
}
