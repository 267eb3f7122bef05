//! Faults injected at the netlink transport, for the kernel tests of the applier: lost
//! acknowledgements, a `send()` that fails part way, requests the kernel performed whose
//! answers never come, a truncated answer. Only with the `test-hooks` feature: the CLI reads
//! `IPVSC_TEST_FAULT=KIND:N` ([`parse`]) and hands the fault to `NetlinkKernel::open`, where N
//! counts the write requests the process sends (0 is the first) and KIND is:
//!
//! - `drop-acks`: the kernel performs request N and everything after it, but their ACKs are
//!   lost; the next wait for them times out (ETIMEDOUT).
//! - `enobufs`: the `send()` carrying request N writes only the requests before it, then fails
//!   with ENOBUFS (the kernel performed those before N, none after).
//! - `exec-then-fail`: the whole datagram carrying request N is performed, then reading its
//!   answers fails (EIO) from request N on.
//! - `truncate`: the ACK of request N arrives cut in half.
//!
//! One fault per process: after it fires, the transport is transparent, so that the rollback
//! talks to the kernel as usual.

use std::io;

use super::transport::{Acks, Transport};

const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// IPVS commands that only read (GET_SERVICE, GET_DEST, GET_DAEMON, GET_CONFIG, GET_INFO).
const READS: [u8; 5] = [4, 8, 11, 13, 15];
/// The generic netlink controller's message type (the family look-up), not an IPVS request.
const GENL_ID_CTRL: u16 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    DropAcks,
    Enobufs,
    ExecThenFail,
    Truncate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: Kind,
    /// The write request it hits (0 is the first the process sends).
    pub at: usize,
}

/// The fault `text` names: `KIND:N`.
pub fn parse(text: &str) -> Result<Fault, String> {
    let (kind, at) = text
        .split_once(':')
        .ok_or("write KIND:N, like drop-acks:5")?;
    let kind = match kind {
        "drop-acks" => Kind::DropAcks,
        "enobufs" => Kind::Enobufs,
        "exec-then-fail" => Kind::ExecThenFail,
        "truncate" => Kind::Truncate,
        _ => return Err("the kinds are drop-acks, enobufs, exec-then-fail and truncate".into()),
    };
    let at = at
        .parse()
        .map_err(|_| format!("`{at}` is not a request number"))?;
    Ok(Fault { kind, at })
}

/// The netlink messages of a datagram: (offset, type, flags, sequence number, genl command).
fn messages(datagram: &[u8]) -> Vec<(usize, u16, u16, u32, Option<u8>)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= datagram.len() {
        let word = |at: usize| u32::from_ne_bytes(datagram[at..at + 4].try_into().unwrap());
        let len = word(off) as usize;
        let kind = u16::from_ne_bytes(datagram[off + 4..off + 6].try_into().unwrap());
        let flags = u16::from_ne_bytes(datagram[off + 6..off + 8].try_into().unwrap());
        let seq = word(off + 8);
        out.push((off, kind, flags, seq, datagram.get(off + 16).copied()));
        if len < 16 {
            break;
        }
        off += (len + 3) & !3;
    }
    out
}

/// Whether sequence number `seq` comes at or after `first` (numbers wrap).
fn at_or_after(seq: u32, first: u32) -> bool {
    seq.wrapping_sub(first) < 1 << 31
}

pub(super) struct FaultTransport {
    inner: Box<dyn Transport>,
    fault: Fault,
    /// Write requests sent so far.
    writes: usize,
    /// The sequence number of the request hit, once sent.
    hit: Option<u32>,
    /// The error the next read of ACKs gets.
    next_error: Option<i32>,
    /// The fault has fired.
    fired: bool,
}

impl FaultTransport {
    pub(super) fn new(inner: Box<dyn Transport>, fault: Fault) -> FaultTransport {
        FaultTransport {
            inner,
            fault,
            writes: 0,
            hit: None,
            next_error: None,
            fired: false,
        }
    }
}

impl Transport for FaultTransport {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        if self.fired || self.hit.is_some() {
            return self.inner.send(datagram);
        }
        let mut cut = None;
        for (off, kind, flags, seq, cmd) in messages(datagram) {
            let write = kind != GENL_ID_CTRL
                && flags & NLM_F_ACK != 0
                && flags & NLM_F_DUMP == 0
                && cmd.is_some_and(|c| !READS.contains(&c));
            if !write {
                continue;
            }
            if self.writes == self.fault.at {
                self.hit = Some(seq);
                cut = Some(off);
            }
            self.writes += 1;
        }
        match (self.fault.kind, cut) {
            (Kind::Enobufs, Some(off)) => {
                self.fired = true;
                if off > 0 {
                    self.inner.send(&datagram[..off])?;
                }
                Err(io::Error::from_raw_os_error(libc::ENOBUFS))
            }
            _ => self.inner.send(datagram),
        }
    }

    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.inner.recv(buf)
    }

    /// Only the dump of the services goes this way: a read, which no fault hits.
    fn send_bulk(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.inner.send_bulk(datagram)
    }

    fn recv_bulk(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.inner.recv_bulk(buf)
    }

    /// Only the dumps of the servers go over a second transport: reads, which no fault hits.
    fn fork(&mut self) -> io::Result<Option<Box<dyn Transport>>> {
        self.inner.fork()
    }

    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        if let Some(errno) = self.next_error.take() {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.inner.recv_acks(acks)?;
        let Some(hit) = self.hit.filter(|_| !self.fired) else {
            return Ok(());
        };
        let datagrams: Vec<Vec<u8>> = acks.iter().map(|(d, _)| d.to_vec()).collect();
        acks.clear();
        for d in datagrams {
            let seq = d
                .get(8..12)
                .map(|b| u32::from_ne_bytes(b.try_into().unwrap()));
            let hit_here = seq.is_some_and(|s| at_or_after(s, hit));
            match self.fault.kind {
                Kind::DropAcks if hit_here => {
                    self.next_error = Some(libc::ETIMEDOUT);
                    continue;
                }
                Kind::ExecThenFail if hit_here => {
                    self.next_error = Some(libc::EIO);
                    continue;
                }
                Kind::Truncate if seq == Some(hit) => {
                    self.fired = true;
                    acks.push(&d[..d.len() / 2]);
                    continue;
                }
                _ => {}
            }
            acks.push(&d);
        }
        if self.next_error.is_some() {
            self.fired = true;
            if acks.iter().next().is_none() {
                return Err(io::Error::from_raw_os_error(
                    self.next_error.take().unwrap(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(
            parse("drop-acks:5"),
            Ok(Fault {
                kind: Kind::DropAcks,
                at: 5
            })
        );
        assert!(parse("drop-acks").is_err());
        assert!(parse("nonsense:1").is_err());
        assert!(parse("truncate:x").is_err());
    }
}
