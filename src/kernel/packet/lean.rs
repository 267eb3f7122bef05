//! The replies `save` reads by the thousand, read straight from their bytes: the fast path
//! beside the full parser ([`parse_genl`] with [`parse_service_reply`] and
//! [`parse_dest_reply`]), tested against it in `lean/tests.rs`, by the captures of a real
//! kernel (`captured.rs`) and by the `netlink` fuzz target.
//!
//! A GET_DEST dump answers with one message per server, and the full parser builds an attribute
//! enum per attribute, counters included, with allocations along the way: for `save` of a table
//! of thousands of servers that costs more than the kernel's work. These readers walk the bytes
//! instead, build only the attributes the model needs and hand them to the same `*_from_attrs`
//! conversions. They read exactly what the full parser accepts: on anything else (another
//! command, a second top-level attribute, an attribute of the wrong size, a malformed counter)
//! they give up and the full parser reads the message, or says what is wrong with it.

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use netlink_packet_core::{parse_string, DecodeError, NLA_TYPE_MASK};

use super::{
    parse_dest_reply, parse_genl, parse_service_reply, server_from_attrs, service_from_attrs,
    DestAttr, IpvsFlags, SvcAttr, IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_CMD_NEW_DEST,
    IPVS_CMD_NEW_SERVICE, IPVS_DEST_ATTR_ACTIVE_CONNS, IPVS_DEST_ATTR_ADDR,
    IPVS_DEST_ATTR_ADDR_FAMILY, IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_INACT_CONNS,
    IPVS_DEST_ATTR_L_THRESH, IPVS_DEST_ATTR_PERSIST_CONNS, IPVS_DEST_ATTR_PORT,
    IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64, IPVS_DEST_ATTR_TUN_FLAGS,
    IPVS_DEST_ATTR_TUN_PORT, IPVS_DEST_ATTR_TUN_TYPE, IPVS_DEST_ATTR_U_THRESH,
    IPVS_DEST_ATTR_WEIGHT, IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_OUTBPS, IPVS_SVC_ATTR_ADDR,
    IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_FWMARK, IPVS_SVC_ATTR_NETMASK,
    IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_SCHED_NAME,
    IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_TIMEOUT, IP_VS_CONN_F_DROUTE,
    IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_MASQ,
};
use crate::model::{Family, Forward, Server, ServerKey, Service};

/// A service of a GET_SERVICE dump, without its counters: the service of
/// [`parse_service_reply`].
pub fn read_service_reply(payload: &[u8]) -> Result<Service, DecodeError> {
    if let Some(service) = lean_service(payload) {
        return Ok(service);
    }
    let msg = parse_genl(payload)?;
    parse_service_reply(&msg).map(|(service, _)| service)
}

/// A server of a GET_DEST dump for a service of `family`, without its counters: the server of
/// [`parse_dest_reply`].
pub fn read_dest_reply(payload: &[u8], family: Family) -> Result<Server, DecodeError> {
    if let Some(server) = lean_dest(payload, family) {
        return Ok(server);
    }
    let msg = parse_genl(payload)?;
    parse_dest_reply(&msg, family).map(|(server, _)| server)
}
/// The service of a NEW_SERVICE message whose bytes the full parser would accept, or `None`.
pub fn lean_service(payload: &[u8]) -> Option<Service> {
    let nest = only_nest(payload, IPVS_CMD_NEW_SERVICE, IPVS_CMD_ATTR_SERVICE)?;
    let mut attrs = Vec::with_capacity(10);
    for attr in Attrs(nest) {
        let (kind, v) = attr?;
        attrs.push(match kind {
            IPVS_SVC_ATTR_AF => SvcAttr::Af(ne16(v)?),
            IPVS_SVC_ATTR_PROTOCOL => SvcAttr::Protocol(ne16(v)?),
            IPVS_SVC_ATTR_ADDR => SvcAttr::Addr(inet_addr(v)?),
            IPVS_SVC_ATTR_PORT => SvcAttr::Port(be16(v)?),
            IPVS_SVC_ATTR_FWMARK => SvcAttr::Fwmark(ne32(v)?),
            IPVS_SVC_ATTR_SCHED_NAME => SvcAttr::SchedName(parse_string(v).ok()?),
            IPVS_SVC_ATTR_FLAGS if v.len() == 8 => SvcAttr::Flags(IpvsFlags {
                flags: ne32(&v[..4])?,
                mask: ne32(&v[4..])?,
            }),
            IPVS_SVC_ATTR_FLAGS => return None,
            IPVS_SVC_ATTR_TIMEOUT => SvcAttr::Timeout(ne32(v)?),
            IPVS_SVC_ATTR_NETMASK => SvcAttr::Netmask(ne32(v)?),
            IPVS_SVC_ATTR_PE_NAME => SvcAttr::PeName(parse_string(v).ok()?),
            IPVS_SVC_ATTR_STATS | IPVS_SVC_ATTR_STATS64 => {
                counters_ok(v)?;
                continue;
            }
            _ => continue,
        });
    }
    service_from_attrs(&attrs).ok()
}

/// The server of a NEW_DEST message whose bytes the full parser would accept, or `None`.
pub fn lean_dest(payload: &[u8], family: Family) -> Option<Server> {
    let nest = only_nest(payload, IPVS_CMD_NEW_DEST, IPVS_CMD_ATTR_DEST)?;
    // The last of each kind, as `server_from_attrs` takes them.
    let mut addr = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = None;
    let mut upper = None;
    let mut lower = None;
    let mut af = None;
    let mut tun_type = None;
    let mut tun_port = None;
    let mut tun_flags = None;
    for attr in Attrs(nest) {
        let (kind, v) = attr?;
        match kind {
            IPVS_DEST_ATTR_ADDR => addr = Some(inet_addr(v)?),
            IPVS_DEST_ATTR_PORT => port = Some(be16(v)?),
            IPVS_DEST_ATTR_FWD_METHOD => fwd = Some(ne32(v)?),
            IPVS_DEST_ATTR_WEIGHT => weight = Some(ne32(v)?),
            IPVS_DEST_ATTR_U_THRESH => upper = Some(ne32(v)?),
            IPVS_DEST_ATTR_L_THRESH => lower = Some(ne32(v)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => af = Some(ne16(v)?),
            IPVS_DEST_ATTR_TUN_TYPE => match v {
                [t] => tun_type = Some(*t),
                _ => return None,
            },
            IPVS_DEST_ATTR_TUN_PORT => tun_port = Some(be16(v)?),
            IPVS_DEST_ATTR_TUN_FLAGS => tun_flags = Some(ne16(v)?),
            IPVS_DEST_ATTR_ACTIVE_CONNS
            | IPVS_DEST_ATTR_INACT_CONNS
            | IPVS_DEST_ATTR_PERSIST_CONNS => {
                ne32(v)?;
            }
            IPVS_DEST_ATTR_STATS | IPVS_DEST_ATTR_STATS64 => counters_ok(v)?,
            _ => {}
        }
    }
    // NAT and direct routing, with nothing missing, are made here; tunnels and anything odd
    // by `server_from_attrs` (the address family as it reads it: the service's when absent).
    let family = match af.filter(|af| *af != 0) {
        None => family,
        Some(af) => Family::from_af(af)?,
    };
    let method = fwd.map(|f| f & IP_VS_CONN_F_FWD_MASK);
    if let (Some(a), Some(port), Some(weight)) = (addr, port, weight) {
        let forward = match method {
            Some(IP_VS_CONN_F_MASQ) => Some(Forward::Nat),
            Some(IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_LOCALNODE) => Some(Forward::Dr),
            _ => None,
        };
        if let Some(forward) = forward {
            let addr = match family {
                Family::Ipv4 => IpAddr::from([a[0], a[1], a[2], a[3]]),
                Family::Ipv6 => IpAddr::from(a),
            };
            return Some(Server {
                key: ServerKey { addr, port },
                forward,
                weight,
                upper: upper.unwrap_or(0),
                lower: lower.unwrap_or(0),
            });
        }
    }
    let attrs: Vec<DestAttr> = [
        addr.map(DestAttr::Addr),
        port.map(DestAttr::Port),
        fwd.map(DestAttr::FwdMethod),
        weight.map(DestAttr::Weight),
        upper.map(DestAttr::UThresh),
        lower.map(DestAttr::LThresh),
        Some(DestAttr::AddrFamily(family.af())),
        tun_type.map(DestAttr::TunType),
        tun_port.map(DestAttr::TunPort),
        tun_flags.map(DestAttr::TunFlags),
    ]
    .into_iter()
    .flatten()
    .collect();
    server_from_attrs(&attrs, family).ok()
}

/// The value of the one top-level attribute of a genl payload of command `cmd`, if it is of
/// `kind` and alone.
fn only_nest(payload: &[u8], cmd: u8, kind: u16) -> Option<&[u8]> {
    let (&[c, _, _, _], attrs) = payload.split_first_chunk::<4>()?;
    if c != cmd {
        return None;
    }
    let mut attrs = Attrs(attrs);
    match (attrs.next(), attrs.next()) {
        (Some(Some((k, nest))), None) if k == kind => Some(nest),
        _ => None,
    }
}

/// Whether a stats nest would parse: every attribute whole, every counter 4 or 8 bytes.
fn counters_ok(nest: &[u8]) -> Option<()> {
    for attr in Attrs(nest) {
        let (kind, v) = attr?;
        let counter = (IPVS_STATS_ATTR_CONNS..=IPVS_STATS_ATTR_OUTBPS).contains(&kind);
        if counter && !matches!(v.len(), 4 | 8) {
            return None;
        }
    }
    Some(())
}

/// The attributes of a buffer as (kind without the NESTED and NET_BYTEORDER flags, value),
/// checked as netlink-packet-core's `NlasIterator` checks them: a malformed attribute is a
/// `Some(None)`, and nothing follows it.
struct Attrs<'a>(&'a [u8]);

impl<'a> Iterator for Attrs<'a> {
    type Item = Option<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let buf = std::mem::take(&mut self.0);
        let &[l0, l1, t0, t1, ..] = buf else {
            return (!buf.is_empty()).then_some(None);
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        if !(4..=buf.len()).contains(&len) {
            return Some(None);
        }
        self.0 = buf.get(align4(len)..).unwrap_or_default();
        let kind = u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK;
        Some(Some((kind, &buf[4..len])))
    }
}

fn ne16(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.try_into().ok()?))
}

fn be16(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.try_into().ok()?))
}

fn ne32(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.try_into().ok()?))
}

/// A `union nf_inet_addr` as the full parser reads it: at most 16 bytes, zero-filled.
fn inet_addr(v: &[u8]) -> Option<[u8; 16]> {
    let mut a = [0; 16];
    a.get_mut(..v.len())?.copy_from_slice(v);
    Some(a)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}
