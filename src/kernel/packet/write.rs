//! The requests a plan sends by the thousand (NEW_DEST, SET_DEST, DEL_DEST), written straight
//! into the datagram from the model: the same bytes as [`serialize_into`] of [`request_for`],
//! without building the attribute lists first (three allocations and a walk of each list per
//! request). Every other request goes the general way. Tested byte for byte against it.

use super::*;
use crate::kernel::Op;
use crate::model::{ServerKey, ServiceKey};

/// Appends the request that performs `op` to `out` and says whether there is one (not for
/// [`Op::SetSysctl`], a write to `/proc`).
pub fn serialize_op(out: &mut Vec<u8>, op: &Op, family_id: u16, flags: u16, seq: u32) -> bool {
    let (cmd, service, server, key) = match op {
        Op::AddServer(k, s) => (IPVS_CMD_NEW_DEST, k, Some(s), &s.key),
        Op::EditServer(k, s) => (IPVS_CMD_SET_DEST, k, Some(s), &s.key),
        Op::DeleteServer(k, key) => (IPVS_CMD_DEL_DEST, k, None, key),
        other => {
            return match request_for(other) {
                Some(msg) => {
                    serialize_into(out, msg, family_id, flags, seq);
                    true
                }
                None => false,
            }
        }
    };
    let start = begin_request(out, family_id, flags, seq, cmd);
    let nest = begin_nest(out);
    service_key(out, service);
    end_nest(out, nest, IPVS_CMD_ATTR_SERVICE);
    let nest = begin_nest(out);
    dest(out, key, server);
    end_nest(out, nest, IPVS_CMD_ATTR_DEST);
    end_request(out, start);
    true
}

/// What `service_key_to_attrs` holds.
fn service_key(out: &mut Vec<u8>, key: &ServiceKey) {
    attr(out, IPVS_SVC_ATTR_AF, &key.family().af().to_ne_bytes());
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            attr(
                out,
                IPVS_SVC_ATTR_PROTOCOL,
                &protocol.number().to_ne_bytes(),
            );
            attr(out, IPVS_SVC_ATTR_ADDR, &addr_bytes(addr));
            attr(out, IPVS_SVC_ATTR_PORT, &port.to_be_bytes());
        }
        ServiceKey::Fwmark { mark, .. } => attr(out, IPVS_SVC_ATTR_FWMARK, &mark.to_ne_bytes()),
    }
}

/// What `server_to_attrs` holds, or with no `server` what `server_key_to_attrs` holds.
fn dest(out: &mut Vec<u8>, key: &ServerKey, server: Option<&Server>) {
    attr(out, IPVS_DEST_ATTR_ADDR, &addr_bytes(&key.addr));
    attr(out, IPVS_DEST_ATTR_PORT, &key.port.to_be_bytes());
    let family = Family::of(&key.addr).af().to_ne_bytes();
    let Some(server) = server else {
        attr(out, IPVS_DEST_ATTR_ADDR_FAMILY, &family);
        return;
    };
    let (fwd, tunnel) = dest::forward_fields(server);
    attr(out, IPVS_DEST_ATTR_FWD_METHOD, &fwd.to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_WEIGHT, &server.weight.to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_U_THRESH, &server.upper.to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_L_THRESH, &server.lower.to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_ADDR_FAMILY, &family);
    if let Some((kind, port, flags)) = tunnel {
        attr(out, IPVS_DEST_ATTR_TUN_TYPE, &[kind]);
        attr(out, IPVS_DEST_ATTR_TUN_PORT, &port.to_be_bytes());
        attr(out, IPVS_DEST_ATTR_TUN_FLAGS, &flags.to_ne_bytes());
    }
}

/// One attribute: its header, `value`, and zeroes up to the next multiple of four.
fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(&[0; 3][..value.len().next_multiple_of(4) - value.len()]);
}
