//! Requests in flight and their replies: a [`Session`] numbers each request it writes to a
//! [`Transport`], walks the datagrams that come back message by message, and hands each
//! message to the request with its sequence number, until an ACK, an error or `NLMSG_DONE`
//! ends it. Several requests can be in flight at once ([`Session::send_window`]); dumps of
//! any size are read datagram by datagram, and a dump the kernel marks `NLM_F_DUMP_INTR` is
//! read again. What a failed request means for the caller is a [`Failure`], put in the words
//! of a [`KernelError`] by `failure.rs`.

mod failure;
#[cfg(test)]
mod tests;

use netlink_packet_core::{
    parse_string, parse_u16, NetlinkBuffer, NetlinkMessage, NlasIterator, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlMessage};

pub(super) use failure::Failure;

use super::packet::{self, IpvsCmd, IpvsMessage};
use super::socket::RECV_BUF;
use super::transport::{Acks, Channel, Transport};
use super::{KernelError, Op};

/// How often a dump is read again when the kernel marks it interrupted.
pub(super) const DUMP_ATTEMPTS: usize = 4;
/// Bytes written by one `send()` at most; the kernel refuses a datagram above its send buffer
/// (`wmem_default`, 208 KiB, unless lowered).
const SEND_CHUNK: usize = 64 * 1024;
/// `NLMSGERR_ATTR_MSG`: the extended ack's text.
pub(super) const NLMSGERR_ATTR_MSG: u16 = 1;

/// The genl payloads of a request's replies, in order, back to back in one buffer: a dump of
/// thousands of messages costs a few allocations, not one per message.
#[derive(Debug, Default)]
pub(super) struct Replies {
    bytes: Vec<u8>,
    /// Where each payload ends in `bytes`.
    ends: Vec<usize>,
}

impl Replies {
    fn push(&mut self, payload: &[u8]) {
        self.bytes.extend_from_slice(payload);
        self.ends.push(self.bytes.len());
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }

    /// Every payload parsed as an IPVS message.
    pub(super) fn parse(&self) -> Result<Vec<IpvsMessage>, Failure> {
        self.iter()
            .map(|r| packet::parse_genl(r).map_err(Failure::decode))
            .collect()
    }
}

/// One request in flight and what has come back for it.
#[derive(Debug)]
struct Pending {
    seq: u32,
    /// The genl payloads of the replies, in order.
    replies: Replies,
    /// A reply carried NLM_F_DUMP_INTR: the dump may be inconsistent.
    interrupted: bool,
    /// Set by the ACK, the error or NLMSG_DONE that ends the request.
    done: Option<Result<(), Failure>>,
}

impl Pending {
    fn new(seq: u32) -> Pending {
        Pending::with_buffer(seq, Replies::default())
    }

    /// Collects the replies into `replies`, emptied first (to reuse its allocations).
    fn with_buffer(seq: u32, mut replies: Replies) -> Pending {
        replies.bytes.clear();
        replies.ends.clear();
        Pending {
            seq,
            replies,
            interrupted: false,
            done: None,
        }
    }

    fn take(&mut self, kind: u16, flags: u16, payload: &[u8]) -> Result<(), String> {
        if flags & NLM_F_DUMP_INTR != 0 {
            self.interrupted = true;
        }
        match kind {
            NLMSG_NOOP => {}
            NLMSG_ERROR => {
                let code = read_i32(payload).ok_or("an error message without its code")?;
                self.done = Some(if code == 0 {
                    Ok(())
                } else {
                    Err(Failure::Refused {
                        errno: code.saturating_neg(),
                        ext_ack: error_ext_ack(flags, &payload[4..]),
                    })
                });
            }
            NLMSG_DONE => {
                // The kernel may send a bare NLMSG_DONE; a negative code is a failed dump.
                let code = read_i32(payload).unwrap_or(0);
                self.done = Some(if code >= 0 {
                    Ok(())
                } else {
                    let tlvs = if flags & NLM_F_ACK_TLVS != 0 {
                        &payload[4..]
                    } else {
                        &[][..]
                    };
                    Err(Failure::Refused {
                        errno: code.saturating_neg(),
                        ext_ack: ext_ack_text(tlvs),
                    })
                });
            }
            NLMSG_OVERRUN => {
                self.done = Some(Err(Failure::Decode(
                    "the kernel reported an overrun".into(),
                )))
            }
            _ => self.replies.push(payload),
        }
        Ok(())
    }
}

fn read_i32(payload: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(payload.get(..4)?.try_into().ok()?))
}

/// The extended-ack text of an NLMSG_ERROR; `rest` follows the error code: the request's header
/// (and, unless NLM_F_CAPPED, the rest of the request), then the TLVs.
fn error_ext_ack(flags: u16, rest: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let request_len = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        u32::from_ne_bytes(rest.get(..4)?.try_into().ok()?) as usize
    };
    ext_ack_text(rest.get(align4(request_len)..)?)
}

fn ext_ack_text(tlvs: &[u8]) -> Option<String> {
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .and_then(|nla| parse_string(nla.value()).ok())
        .filter(|s| !s.is_empty())
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The unanswered request with sequence number `seq`. A batch's numbers are consecutive, so the
/// first guess is by difference.
fn pending_for(pending: &mut [Pending], seq: u32) -> Option<&mut Pending> {
    let guess = pending
        .first()
        .map(|first| seq.wrapping_sub(first.seq) as usize)
        .filter(|&i| i < pending.len() && pending[i].seq == seq);
    match guess {
        Some(i) => Some(&mut pending[i]).filter(|p| p.done.is_none()),
        None => pending
            .iter_mut()
            .find(|p| p.seq == seq && p.done.is_none()),
    }
}

/// Walks the netlink messages of one datagram by their aligned lengths and hands each to the
/// pending request with its sequence number; messages of no pending request (leftovers of an
/// abandoned request) are skipped.
fn absorb(datagram: &[u8], pending: &mut [Pending]) -> Result<(), String> {
    let mut offset = 0;
    while datagram.len().saturating_sub(offset) >= 16 {
        let buf = NetlinkBuffer::new_checked(&datagram[offset..]).map_err(|e| e.to_string())?;
        let len = buf.length() as usize;
        let seq = buf.sequence_number();
        if let Some(p) = pending_for(pending, seq) {
            p.take(
                buf.message_type(),
                buf.flags(),
                &datagram[offset + 16..offset + len],
            )?;
        }
        offset += align4(len);
    }
    Ok(())
}

/// Requests to the IPVS family over one [`Transport`], and their replies.
pub(super) struct Session {
    transport: Box<dyn Transport>,
    family: u16,
    seq: u32,
    rx: Vec<u8>,
    /// Where ACKs are read, many at a time.
    acks: Acks,
    /// The requests written together, reused from batch to batch.
    tx: Vec<u8>,
    /// Requests in flight at most: what the receive buffer holds the ACKs of.
    window: usize,
}

impl Session {
    /// A session over `transport` with the IPVS family `family` (0 until resolved), keeping at
    /// most `window` requests in flight.
    pub(super) fn new(transport: Box<dyn Transport>, family: u16, window: usize) -> Session {
        Session {
            transport,
            family,
            seq: 0,
            rx: Vec::with_capacity(RECV_BUF),
            acks: Acks::new(),
            tx: Vec::new(),
            window,
        }
    }

    /// The IPVS family's id.
    /// A session of its own over a second transport to the same kernel ([`Transport::fork`]),
    /// for dumps read on another thread; `None` when the transport has no second.
    pub(super) fn fork(&mut self) -> Result<Option<Session>, Failure> {
        let transport = self.transport.fork().map_err(Failure::io)?;
        Ok(transport.map(|t| Session::new(t, self.family, self.window)))
    }

    pub(super) fn family(&self) -> u16 {
        self.family
    }

    pub(super) fn set_family(&mut self, family: u16) {
        self.family = family;
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// CTRL_CMD_GETFAMILY "IPVS", like `genl_ctrl_resolve` in libipvs.
    /// [`KernelError::Unsupported`] when the controller does not know the family.
    pub(super) fn resolve_family(&mut self) -> Result<u16, KernelError> {
        const DOING: &str = "find the IPVS generic netlink family";
        let seq = self.next_seq();
        let mut genl = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(
                IpvsMessage::family_name().to_string(),
            )],
        });
        genl.finalize();
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        nl.header.sequence_number = seq;
        nl.finalize();
        let mut bytes = vec![0; nl.buffer_len()];
        nl.serialize(&mut bytes);
        let mut pending = [Pending::new(seq)];
        let outcome = self
            .transport
            .send(&bytes)
            .map_err(Failure::io)
            .and_then(|()| self.wait(Channel::Main, &mut pending));
        let [p] = pending;
        match outcome.and(p.done.unwrap_or(Err(Failure::decode("no reply")))) {
            Ok(()) => {}
            Err(Failure::Refused {
                errno: libc::ENOENT,
                ..
            }) => {
                return Err(KernelError::Unsupported {
                    doing: "use IPVS".into(),
                    reason: super::Unavailable::NotLoaded.help().into(),
                })
            }
            Err(f) => return Err(f.into_read_error(DOING)),
        }
        let id = p.replies.iter().find_map(family_id_of);
        id.ok_or_else(|| {
            Failure::decode("the controller's reply has no family id").into_read_error(DOING)
        })
    }

    /// Reads datagrams from `channel` until every request of `pending` is answered.
    fn wait(&mut self, channel: Channel, pending: &mut [Pending]) -> Result<(), Failure> {
        while pending.iter().any(|p| p.done.is_none()) {
            match channel {
                Channel::Main => self.transport.recv(&mut self.rx),
                Channel::Bulk => self.transport.recv_bulk(&mut self.rx),
            }
            .map_err(Failure::io)?;
            absorb(&self.rx, pending).map_err(Failure::Decode)?;
        }
        Ok(())
    }

    /// [`Session::wait`] for requests answered by an ACK alone, many read at a time.
    fn wait_acks(&mut self, pending: &mut [Pending]) -> Result<(), Failure> {
        while pending.iter().any(|p| p.done.is_none()) {
            self.transport
                .recv_acks(&mut self.acks)
                .map_err(Failure::io)?;
            if self.acks.iter().next().is_none() {
                return Err(Failure::NoAnswer);
            }
            for (datagram, truncated) in self.acks.iter() {
                if !truncated {
                    absorb(datagram, pending).map_err(Failure::Decode)?;
                    continue;
                }
                // Too long for an ACK: a leftover of an abandoned dump, unless it answers one
                // of these requests.
                let seq = datagram.get(8..12).and_then(|b| b.try_into().ok());
                if seq.is_some_and(|b| pending_for(pending, u32::from_ne_bytes(b)).is_some()) {
                    return Err(Failure::decode("a reply too long for an acknowledgement"));
                }
            }
        }
        Ok(())
    }

    /// A dump: every reply up to NLMSG_DONE, read again while the kernel marks it interrupted.
    /// The dump of the services goes over [`Channel::Bulk`], every other over the main one.
    pub(super) fn dump(&mut self, request: IpvsMessage) -> Result<Replies, Failure> {
        let mut replies = Replies::default();
        self.dump_into(request, &mut replies)?;
        Ok(replies)
    }

    /// [`Session::dump`] into `replies`, whose allocations are reused.
    pub(super) fn dump_into(
        &mut self,
        request: IpvsMessage,
        replies: &mut Replies,
    ) -> Result<(), Failure> {
        let channel = if request.cmd == IpvsCmd::GetService {
            Channel::Bulk
        } else {
            Channel::Main
        };
        let flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut bytes = packet::serialize(request, self.family, flags, 0);
        for _ in 0..DUMP_ATTEMPTS {
            let seq = self.next_seq();
            // nlmsg_seq, after nlmsg_len, nlmsg_type and nlmsg_flags.
            bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
            match channel {
                Channel::Main => self.transport.send(&bytes),
                Channel::Bulk => self.transport.send_bulk(&bytes),
            }
            .map_err(Failure::io)?;
            let mut pending = [Pending::with_buffer(seq, std::mem::take(replies))];
            let outcome = self.wait(channel, &mut pending);
            let [p] = pending;
            *replies = p.replies;
            outcome?;
            p.done.expect("waited")?;
            if !p.interrupted {
                return Ok(());
            }
        }
        Err(Failure::Interrupted)
    }

    /// A request answered by one message (GET_CONFIG, GET_INFO), then its ACK.
    pub(super) fn query(&mut self, request: IpvsMessage) -> Result<IpvsMessage, Failure> {
        let seq = self.next_seq();
        let bytes = packet::serialize(request, self.family, NLM_F_REQUEST | NLM_F_ACK, seq);
        self.transport.send(&bytes).map_err(Failure::io)?;
        let mut pending = [Pending::new(seq)];
        self.wait(Channel::Main, &mut pending)?;
        let [p] = pending;
        p.done.expect("waited")?;
        let reply = p
            .replies
            .iter()
            .next()
            .ok_or_else(|| Failure::decode("no reply"))?;
        packet::parse_genl(reply).map_err(Failure::decode)
    }

    /// Writes the requests of the leading operations of `ops` that are netlink requests
    /// together, as many as the window has room for and 64 KiB per `send()`, each asking for an
    /// ACK; reads the ACKs many per system call and matches them to the requests by sequence
    /// number. Returns one outcome per operation written, in order (none if `ops[0]` is not a
    /// netlink request).
    ///
    /// The kernel performs each request of a `send()` on its own: a refused request does not
    /// stop the ones after it. If the socket fails, the requests in flight get the failure.
    pub(super) fn send_window(&mut self, ops: &[Op]) -> Vec<Result<(), Failure>> {
        let mut datagram = std::mem::take(&mut self.tx);
        datagram.clear();
        let mut pending = Vec::with_capacity(self.window.min(ops.len()));
        for op in ops {
            if pending.len() == self.window {
                break;
            }
            let mark = datagram.len();
            let seq = self.seq.wrapping_add(1);
            let flags = NLM_F_REQUEST | NLM_F_ACK;
            if !packet::serialize_op(&mut datagram, op, self.family, flags, seq) {
                break;
            }
            self.seq = seq;
            if !pending.is_empty() && datagram.len() > SEND_CHUNK {
                datagram.truncate(mark);
                break;
            }
            pending.push(Pending::new(seq));
        }
        let outcome = self
            .transport
            .send(&datagram)
            .map_err(Failure::io)
            .and_then(|()| self.wait_acks(&mut pending));
        self.tx = datagram;
        pending
            .into_iter()
            .map(|p| {
                p.done.unwrap_or_else(|| {
                    Err(outcome.clone().err().unwrap_or(Failure::decode("no reply")))
                })
            })
            .collect()
    }
}

/// CTRL_ATTR_FAMILY_ID of a controller reply's genl payload. Parsed by hand: the controller
/// crate refuses attributes it does not know, which newer kernels may send.
fn family_id_of(payload: &[u8]) -> Option<u16> {
    const CTRL_ATTR_FAMILY_ID: u16 = 1;
    NlasIterator::new(payload.get(4..)?)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == CTRL_ATTR_FAMILY_ID)
        .and_then(|nla| parse_u16(nla.value()).ok())
}
