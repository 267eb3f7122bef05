//! [`NetlinkKernel`]: the [`Kernel`] trait over generic netlink to the running kernel's IPVS,
//! plus the sysctls under `/proc/sys/net/ipv4/vs/`.
//!
//! Unlike libipvs, which opens a socket and resolves the family for every request, one socket
//! serves every request and the family is resolved once per process. Requests carry sequence
//! numbers and replies are matched by them, so several requests can be in flight
//! ([`NetlinkKernel::send_batch`]); dumps of any size are read datagram by datagram until
//! `NLMSG_DONE`, and a dump the kernel marks `NLM_F_DUMP_INTR` is read again.
//!
//! Reading a large table is mostly the kernel's work, and what is left of ours is kept small:
//! each datagram is read with exactly its own length, which keeps the kernel's dump datagrams at
//! one page (see `recv_datagram`), and `save`'s replies are read straight from their bytes
//! without the counters (`read_service_reply`, `read_dest_reply`). BENCHMARKS.md has the
//! figures.
//!
//! With [`CAPTURE_ENV`] (`IPVSC_CAPTURE=DIR`) set, every datagram sent and received is also
//! written to DIR: how the fixtures of `packet/captures/` were made.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use netlink_packet_core::{
    parse_string, parse_u16, DecodeError, NetlinkBuffer, NetlinkMessage, NlasIterator,
    NLA_TYPE_MASK, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_ACK_TLVS,
    NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlMessage};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use super::packet::{
    self, DestAttr, IpvsFlags, IpvsInfo, IpvsMessage, ServerCounters, Stats, SvcAttr,
    IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_DEST_ATTR_ACTIVE_CONNS, IPVS_DEST_ATTR_ADDR,
    IPVS_DEST_ATTR_ADDR_FAMILY, IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_INACT_CONNS,
    IPVS_DEST_ATTR_L_THRESH, IPVS_DEST_ATTR_PERSIST_CONNS, IPVS_DEST_ATTR_PORT,
    IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64, IPVS_DEST_ATTR_TUN_FLAGS,
    IPVS_DEST_ATTR_TUN_PORT, IPVS_DEST_ATTR_TUN_TYPE, IPVS_DEST_ATTR_U_THRESH,
    IPVS_DEST_ATTR_WEIGHT, IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_OUTBPS, IPVS_SVC_ATTR_ADDR,
    IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_FWMARK, IPVS_SVC_ATTR_NETMASK,
    IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_SCHED_NAME,
    IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_TIMEOUT,
};
use super::{Kernel, KernelError, Load, Loads, Op};
use crate::model::{
    Daemon, DaemonState, DumpedService, Family, Forward, Server, ServerKey, Service, ServiceKey,
    Sysctl, SysctlValue, Table, Timeouts,
};

/// Where the IPVS sysctls live.
pub const SYSCTL_DIR: &str = "/proc/sys/net/ipv4/vs";

/// The errno of the [`KernelError`] [`NetlinkKernel::open`] returns when the kernel has no
/// IPVS family (the `ip_vs` module is not loaded). The controller itself answers ENOENT, which
/// IPVS also uses for missing servers and schedulers, so this one is translated to an errno no
/// IPVS operation returns. See [`Unavailable`].
pub const ERRNO_NO_IPVS: i32 = libc::EPROTONOSUPPORT;

/// Why IPVS cannot be used at all, as opposed to one refused operation: what the CLI reports
/// once instead of once per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// EPERM from netlink, or EACCES/EPERM from a sysctl file: every IPVS command, reads
    /// included, needs CAP_NET_ADMIN.
    NotPermitted,
    /// The kernel has no IPVS generic netlink family ([`ERRNO_NO_IPVS`]).
    NotLoaded,
}

impl Unavailable {
    /// Which of the two `err` is, if either.
    pub fn of(err: &KernelError) -> Option<Unavailable> {
        match err.errno {
            libc::EPERM | libc::EACCES => Some(Unavailable::NotPermitted),
            ERRNO_NO_IPVS => Some(Unavailable::NotLoaded),
            _ => None,
        }
    }

    /// What to tell the user.
    pub fn help(self) -> &'static str {
        match self {
            Unavailable::NotPermitted => "IPVS needs root / CAP_NET_ADMIN",
            Unavailable::NotLoaded => "the ip_vs module is not loaded: modprobe ip_vs",
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.help())
    }
}

/// A service with its counters and its servers' counters, in the kernel's dump order (what
/// `ipvsadm -L -n --stats` lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceStats {
    /// The service, its `servers` filled in.
    pub service: Service,
    pub stats: Stats,
    /// The servers in the order of the kernel's GET_DEST dump.
    pub servers: Vec<(Server, ServerCounters)>,
}

/// The services and their servers in the order of the kernel's dumps (GET_SERVICE, then
/// GET_DEST per service): the input of ipvsadm's sort.
pub type DumpOrder = Vec<(Service, Vec<Server>)>;

/// The IPVS family id, resolved by the first [`NetlinkKernel::open`] of the process.
static IPVS_FAMILY: OnceLock<u16> = OnceLock::new();

/// Receive buffer asked of the kernel: room for the ACKs of a whole batch window. Granted in
/// full with CAP_NET_ADMIN (which IPVS needs anyway), else capped by `net.core.rmem_max`.
const SOCKET_RCVBUF: libc::c_int = 1 << 20;
/// The initial capacity of the buffer datagrams are read into (it grows for a bigger one). Each
/// datagram is read with its own length, not the buffer's: see `recv_datagram`.
const RECV_BUF: usize = 64 * 1024;
/// Socket memory counted for each ACK queued on the receive buffer: about 768 bytes on 6.1
/// (a 512-byte head plus the `sk_buff`), doubled for margin. A batch's ACKs must all fit the
/// receive buffer, or the kernel drops them (ENOBUFS) and the outcome of a write is unknown.
const ACK_MEMORY: usize = 2048;
/// The fewest and the most requests written by one `send()`; between them, as many as the
/// socket's receive buffer has room for the ACKs of.
const WINDOW: std::ops::RangeInclusive<usize> = 16..=512;
/// Bytes written by one `send()` at most; the kernel refuses a datagram above its send buffer
/// (`wmem_default`, 208 KiB, unless lowered).
const SEND_CHUNK: usize = 64 * 1024;
/// ACKs are read many at a time (`recvmmsg`), each into a slot of this size: an ACK is 36 bytes,
/// an error with its extended-ack text a few hundred. A longer datagram is only ever a leftover
/// of an abandoned dump, and is skipped.
const ACK_SLOT: usize = 2048;
/// Slots per `recvmmsg`.
const ACK_SLOTS: usize = 64;
/// How often a dump is read again when the kernel marks it interrupted.
const DUMP_ATTEMPTS: usize = 4;
/// `NLMSGERR_ATTR_MSG`: the extended ack's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// How to move datagrams; a socket, or canned replies in the tests.
pub(super) trait Transport {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()>;
    /// Reads one whole datagram into `buf`, replacing its contents.
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()>;
    /// Reads at least one datagram, and then whatever else is queued, up to the slots of `acks`.
    /// For small replies: ACKs.
    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        let mut one = Vec::new();
        self.recv(&mut one)?;
        acks.clear();
        acks.push(&one);
        Ok(())
    }
}

/// Datagrams read by one [`Transport::recv_acks`], each in its own slot.
pub(super) struct Acks {
    bytes: Vec<u8>,
    /// Per slot read: the bytes in it, and whether the datagram was longer than the slot.
    got: Vec<(usize, bool)>,
}

impl Acks {
    fn new() -> Acks {
        Acks {
            bytes: vec![0; ACK_SLOT * ACK_SLOTS],
            got: Vec::with_capacity(ACK_SLOTS),
        }
    }

    pub(super) fn clear(&mut self) {
        self.got.clear();
    }

    /// Copies a datagram read elsewhere into the next slot.
    pub(super) fn push(&mut self, datagram: &[u8]) {
        let start = self.got.len() * ACK_SLOT;
        let n = datagram.len().min(ACK_SLOT);
        self.bytes[start..start + n].copy_from_slice(&datagram[..n]);
        self.got.push((n, datagram.len() > ACK_SLOT));
    }

    /// Each datagram read, and whether it was cut short.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], bool)> + '_ {
        self.got.iter().enumerate().map(|(i, &(n, truncated))| {
            let start = i * ACK_SLOT;
            (&self.bytes[start..start + n], truncated)
        })
    }

    /// `recvmmsg` into every slot: waits for one datagram, then takes what else is queued.
    fn receive(&mut self, fd: RawFd) -> io::Result<()> {
        self.got.clear();
        // SAFETY: all-zero iovec and mmsghdr values are valid (null pointers, zero lengths).
        let mut iovs: [libc::iovec; ACK_SLOTS] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; ACK_SLOTS] = unsafe { std::mem::zeroed() };
        for (i, (iov, msg)) in iovs.iter_mut().zip(msgs.iter_mut()).enumerate() {
            iov.iov_base = self.bytes[i * ACK_SLOT..].as_mut_ptr().cast();
            iov.iov_len = ACK_SLOT;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
        }
        loop {
            // SAFETY: each message points at its own iovec, which points at ACK_SLOT bytes of
            // `self.bytes`; both outlive the call.
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    msgs.as_mut_ptr(),
                    ACK_SLOTS as libc::c_uint,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                for msg in &msgs[..n as usize] {
                    let truncated = msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
                    self.got.push((msg.msg_len as usize, truncated));
                }
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

struct SocketTransport(Socket);

impl Transport for SocketTransport {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        loop {
            match self.0.send(datagram, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        recv_datagram(self.0.as_raw_fd(), buf)
    }

    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        acks.receive(self.0.as_raw_fd())
    }
}

/// The environment variable naming a directory where every datagram sent and received is
/// written, as `0001-send.bin`, `0002-recv.bin`, ... in the order they pass (the raw bytes:
/// netlink headers, genl headers, attributes). Read once by [`NetlinkKernel::open`]; unset, or
/// empty, nothing is written. Numbers restart at 1 in each process: use one directory per run.
pub const CAPTURE_ENV: &str = "IPVSC_CAPTURE";

/// Writes a copy of every datagram that passes through to a directory ([`CAPTURE_ENV`]).
struct CaptureTransport {
    inner: Box<dyn Transport>,
    dir: PathBuf,
    count: u32,
}

impl CaptureTransport {
    fn write(&mut self, what: &str, datagram: &[u8]) -> io::Result<()> {
        self.count += 1;
        let path = self.dir.join(format!("{:04}-{what}.bin", self.count));
        fs::write(&path, datagram).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write the capture file {}: {e}", path.display()),
            )
        })
    }
}

impl Transport for CaptureTransport {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.write("send", datagram)?;
        self.inner.send(datagram)
    }

    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.inner.recv(buf)?;
        self.write("recv", buf)
    }

    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        self.inner.recv_acks(acks)?;
        for (datagram, _) in acks.iter() {
            self.write("recv", datagram)?;
        }
        Ok(())
    }
}

/// The directory [`CAPTURE_ENV`] names, if it is set and not empty; an error if it is not a
/// directory.
fn capture_dir(value: Option<std::ffi::OsString>) -> Result<Option<PathBuf>, KernelError> {
    let Some(dir) = value.filter(|v| !v.is_empty()).map(PathBuf::from) else {
        return Ok(None);
    };
    if !dir.is_dir() {
        return Err(KernelError::new(
            libc::ENOTDIR,
            "capture the netlink traffic",
            format!("{CAPTURE_ENV}={} is not a directory", dir.display()),
        ));
    }
    Ok(Some(dir))
}

/// Reads one datagram whole, however big: peeks at its length (MSG_PEEK | MSG_TRUNC into no
/// buffer at all report the full length and copy nothing), grows the buffer if needed, then
/// reads exactly that length.
///
/// Exactly: the kernel sizes the datagrams of a dump by the longest read it has seen on the
/// socket (`max_recvmsg_len`, up to 32 KiB), and a dump datagram above a page is a high-order
/// allocation, one per datagram and one more for `NLMSG_DONE`. Read with their own lengths, dumps
/// stay at one page per datagram (`NLMSG_GOODSIZE`), which holds a service's GET_DEST reply of
/// about ten servers. On the 6.1 test kernel that made reading 2,000 services of 10 servers take
/// 0.22 s of kernel time instead of 0.42 s (BENCHMARKS.md).
/// Asks for a receive buffer of [`SOCKET_RCVBUF`] and returns how many requests' ACKs the buffer
/// the kernel granted holds, within [`WINDOW`].
fn size_receive_buffer(fd: RawFd) -> usize {
    let int = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let set = |option| {
        // SAFETY: the option value is a c_int that lives across the call.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&SOCKET_RCVBUF as *const libc::c_int).cast(),
                int,
            )
        };
        r == 0
    };
    // Best effort: without the privilege, or the options, the defaults work.
    if !set(libc::SO_RCVBUFFORCE) {
        set(libc::SO_RCVBUF);
    }
    let mut granted: libc::c_int = 0;
    let mut len = int;
    // SAFETY: `granted` and `len` are valid for writes of their sizes.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut granted as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    let bytes = if r == 0 { granted.max(0) as usize } else { 0 };
    (bytes / ACK_MEMORY).clamp(*WINDOW.start(), *WINDOW.end())
}

fn recv_datagram(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<()> {
    let recv = |buf: &mut Vec<u8>, len: usize, flags: libc::c_int| -> io::Result<usize> {
        buf.clear();
        loop {
            let spare = &mut buf.spare_capacity_mut()[..len];
            // SAFETY: recv writes at most spare.len() bytes into the vector's spare capacity.
            let n = unsafe { libc::recv(fd, spare.as_mut_ptr().cast(), spare.len(), flags) };
            if n >= 0 {
                let n = n as usize;
                // SAFETY: the first min(n, len) bytes were written by recv.
                unsafe { buf.set_len(n.min(len)) };
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    };
    let len = recv(buf, 0, libc::MSG_PEEK | libc::MSG_TRUNC)?;
    buf.reserve(len.max(RECV_BUF));
    let got = recv(buf, len, 0)?;
    if got > buf.len() {
        return Err(io::Error::other("a netlink datagram was truncated"));
    }
    Ok(())
}

/// Why a request failed, before it is put in the words of a [`KernelError`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failure {
    /// The kernel answered with an error: the positive errno and its extended-ack text.
    Refused { errno: i32, ext_ack: Option<String> },
    /// The socket failed; the outcome of what was in flight is unknown.
    Io { errno: i32, text: String },
    /// A reply made no sense.
    Decode(String),
    /// Every attempt at a dump was marked NLM_F_DUMP_INTR.
    Interrupted,
}

impl Failure {
    fn io(e: io::Error) -> Failure {
        Failure::Io {
            errno: e.raw_os_error().unwrap_or(0),
            text: e.to_string(),
        }
    }

    fn decode(e: impl fmt::Display) -> Failure {
        Failure::Decode(e.to_string())
    }

    /// The error of a read (`doing` is what was being read).
    fn into_read_error(self, doing: &str) -> KernelError {
        match self {
            Failure::Refused { errno, ext_ack } => {
                let reason = match errno {
                    libc::EPERM => {
                        format!("permission denied: {}", Unavailable::NotPermitted.help())
                    }
                    e => io::Error::from_raw_os_error(e).to_string(),
                };
                KernelError::new(errno, doing, with_ext_ack(reason, ext_ack))
            }
            Failure::Io { errno, text } => {
                KernelError::new(errno, doing, format!("the netlink socket failed: {text}"))
            }
            other => other.into_error(doing),
        }
    }

    /// The error of an operation.
    fn into_op_error(self, op: &Op) -> KernelError {
        match self {
            Failure::Refused { errno, ext_ack } => {
                let mut e = KernelError::refused(op, errno);
                e.reason = with_ext_ack(e.reason, ext_ack);
                e
            }
            other => other.into_error(&op.to_string()),
        }
    }

    fn into_error(self, doing: &str) -> KernelError {
        match self {
            Failure::Refused { errno, ext_ack } => KernelError::new(
                errno,
                doing,
                with_ext_ack(io::Error::from_raw_os_error(errno).to_string(), ext_ack),
            ),
            Failure::Io { errno, text } if errno == libc::ENOBUFS => KernelError::outcome_unknown(
                errno,
                doing,
                format!(
                    "the kernel's replies overflowed the socket buffer ({text}); read the table \
                     again"
                ),
            ),
            Failure::Io { errno, text } => KernelError::outcome_unknown(
                errno,
                doing,
                format!("the netlink socket failed ({text})"),
            ),
            Failure::Decode(text) => KernelError::outcome_unknown(
                0,
                doing,
                format!("the kernel's reply could not be read: {text}"),
            ),
            Failure::Interrupted => KernelError::new(
                libc::EINTR,
                doing,
                format!(
                    "the table changed during each of {DUMP_ATTEMPTS} attempts to read it; try again"
                ),
            ),
        }
    }
}

fn with_ext_ack(reason: String, ext_ack: Option<String>) -> String {
    match ext_ack {
        Some(text) => format!("{reason} (the kernel says: {text})"),
        None => reason,
    }
}

/// The genl payloads of a request's replies, in order, back to back in one buffer: a dump of
/// thousands of messages costs a few allocations, not one per message.
#[derive(Debug, Default)]
struct Replies {
    bytes: Vec<u8>,
    /// Where each payload ends in `bytes`.
    ends: Vec<usize>,
}

impl Replies {
    fn push(&mut self, payload: &[u8]) {
        self.bytes.extend_from_slice(payload);
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }

    /// Every payload parsed as an IPVS message.
    fn parse(&self) -> Result<Vec<IpvsMessage>, Failure> {
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

/// The running kernel's IPVS table, over one generic netlink socket.
pub struct NetlinkKernel {
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
    sysctl_dir: PathBuf,
}

impl fmt::Debug for NetlinkKernel {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("NetlinkKernel")
            .field("family", &self.family)
            .field("seq", &self.seq)
            .field("sysctl_dir", &self.sysctl_dir)
            .finish_non_exhaustive()
    }
}

impl NetlinkKernel {
    /// Opens the socket and resolves the IPVS family (once per process). Fails with
    /// [`ERRNO_NO_IPVS`] when the kernel has no IPVS; see [`Unavailable`].
    pub fn open() -> Result<NetlinkKernel, KernelError> {
        const DOING: &str = "open a generic netlink socket";
        let socket_error =
            |e: io::Error| KernelError::new(e.raw_os_error().unwrap_or(0), DOING, e.to_string());
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(socket_error)?;
        socket.bind_auto().map_err(socket_error)?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(socket_error)?;
        // Best effort: old kernels lack the options, and the defaults work.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        let window = size_receive_buffer(socket.as_raw_fd());
        let mut transport: Box<dyn Transport> = Box::new(SocketTransport(socket));
        if let Some(dir) = capture_dir(std::env::var_os(CAPTURE_ENV))? {
            transport = Box::new(CaptureTransport {
                inner: transport,
                dir,
                count: 0,
            });
        }
        #[cfg(feature = "test-hooks")]
        if let Some(fault) = super::fault::from_env()? {
            transport = Box::new(super::fault::FaultTransport::new(transport, fault));
        }
        let mut kernel = NetlinkKernel {
            transport,
            family: 0,
            seq: 0,
            rx: Vec::with_capacity(RECV_BUF),
            acks: Acks::new(),
            tx: Vec::new(),
            window,
            sysctl_dir: PathBuf::from(SYSCTL_DIR),
        };
        kernel.family = match IPVS_FAMILY.get() {
            Some(id) => *id,
            None => {
                let id = kernel.resolve_family()?;
                *IPVS_FAMILY.get_or_init(|| id)
            }
        };
        Ok(kernel)
    }

    /// Reads and writes the sysctls under `dir` instead of [`SYSCTL_DIR`].
    pub fn with_sysctl_dir(mut self, dir: impl Into<PathBuf>) -> NetlinkKernel {
        self.sysctl_dir = dir.into();
        self
    }

    /// The IPVS family's id.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// CTRL_CMD_GETFAMILY "IPVS", like `genl_ctrl_resolve` in libipvs.
    fn resolve_family(&mut self) -> Result<u16, KernelError> {
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
            .and_then(|()| self.wait(&mut pending));
        let [p] = pending;
        match outcome.and(p.done.unwrap_or(Err(Failure::decode("no reply")))) {
            Ok(()) => {}
            Err(Failure::Refused {
                errno: libc::ENOENT,
                ..
            }) => {
                return Err(KernelError::new(
                    ERRNO_NO_IPVS,
                    "use IPVS",
                    Unavailable::NotLoaded.help(),
                ))
            }
            Err(f) => return Err(f.into_error(DOING)),
        }
        let id = p.replies.iter().find_map(family_id_of);
        id.ok_or_else(|| {
            Failure::decode("the controller's reply has no family id").into_error(DOING)
        })
    }

    /// Reads datagrams until every request of `pending` is answered.
    fn wait(&mut self, pending: &mut [Pending]) -> Result<(), Failure> {
        while pending.iter().any(|p| p.done.is_none()) {
            self.transport.recv(&mut self.rx).map_err(Failure::io)?;
            absorb(&self.rx, pending).map_err(Failure::Decode)?;
        }
        Ok(())
    }

    /// [`NetlinkKernel::wait`] for requests answered by an ACK alone, many read at a time.
    fn wait_acks(&mut self, pending: &mut [Pending]) -> Result<(), Failure> {
        while pending.iter().any(|p| p.done.is_none()) {
            self.transport
                .recv_acks(&mut self.acks)
                .map_err(Failure::io)?;
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
    fn dump(&mut self, request: IpvsMessage) -> Result<Replies, Failure> {
        let mut replies = Replies::default();
        self.dump_into(request, &mut replies)?;
        Ok(replies)
    }

    /// [`NetlinkKernel::dump`] into `replies`, whose allocations are reused.
    fn dump_into(&mut self, request: IpvsMessage, replies: &mut Replies) -> Result<(), Failure> {
        let flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut bytes = packet::serialize(request, self.family, flags, 0);
        for _ in 0..DUMP_ATTEMPTS {
            let seq = self.next_seq();
            // nlmsg_seq, after nlmsg_len, nlmsg_type and nlmsg_flags.
            bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
            self.transport.send(&bytes).map_err(Failure::io)?;
            let mut pending = [Pending::with_buffer(seq, std::mem::take(replies))];
            let outcome = self.wait(&mut pending);
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
    fn query(&mut self, request: IpvsMessage) -> Result<IpvsMessage, Failure> {
        let seq = self.next_seq();
        let bytes = packet::serialize(request, self.family, NLM_F_REQUEST | NLM_F_ACK, seq);
        self.transport.send(&bytes).map_err(Failure::io)?;
        let mut pending = [Pending::new(seq)];
        self.wait(&mut pending)?;
        let [p] = pending;
        p.done.expect("waited")?;
        let reply = p
            .replies
            .iter()
            .next()
            .ok_or_else(|| Failure::decode("no reply"))?;
        packet::parse_genl(reply).map_err(Failure::decode)
    }

    /// Every service with its counters and its servers with theirs, in the kernel's dump order:
    /// GET_SERVICE, then GET_DEST per service (`ipvsadm -L -n --stats`).
    pub fn stats(&mut self) -> Result<Vec<ServiceStats>, KernelError> {
        const DOING: &str = "list the virtual services";
        let replies = self
            .dump(packet::get_services())
            .and_then(|r| r.parse())
            .map_err(|f| f.into_read_error(DOING))?;
        let mut out = Vec::with_capacity(replies.len());
        for reply in &replies {
            let (mut service, stats) = packet::parse_service_reply(reply)
                .map_err(|e| Failure::decode(e).into_read_error(DOING))?;
            let doing = format!("list the real servers of service {}", service.key);
            let dests = self
                .dump(packet::get_dests(&service.key))
                .and_then(|r| r.parse())
                .map_err(|f| f.into_read_error(&doing))?;
            let family = service.key.family();
            let servers = dests
                .iter()
                .map(|d| packet::parse_dest_reply(d, family))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::decode(e).into_read_error(&doing))?;
            service.servers = servers.iter().map(|(s, _)| (s.key, *s)).collect();
            out.push(ServiceStats {
                service,
                stats,
                servers,
            });
        }
        Ok(out)
    }

    /// The services and their servers in the order of the kernel's dumps, the input of
    /// ipvsadm's sort (see [`crate::model::ipvsadm_save_ordered`] and [`dumped_services`]).
    /// Each service's `servers` map is filled in too.
    ///
    /// The same dumps as [`NetlinkKernel::stats`], but the replies are read straight from their
    /// bytes, without the counters: what `save` reads, thousands of messages, without an
    /// allocation per attribute.
    pub fn read_ordered(&mut self) -> Result<DumpOrder, KernelError> {
        self.read_ordered_of(None)
    }

    /// [`NetlinkKernel::read_ordered`] of the services in `only` (all when `None`): one dump
    /// of the services, and one of the servers of each wanted.
    fn read_ordered_of(
        &mut self,
        only: Option<&std::collections::BTreeSet<ServiceKey>>,
    ) -> Result<DumpOrder, KernelError> {
        const DOING: &str = "list the virtual services";
        let replies = self
            .dump(packet::get_services())
            .map_err(|f| f.into_read_error(DOING))?;
        let mut out = Vec::with_capacity(replies.len());
        let mut dests = Replies::default();
        for reply in replies.iter() {
            let mut service =
                read_service_reply(reply).map_err(|e| Failure::decode(e).into_read_error(DOING))?;
            if only.is_some_and(|keys| !keys.contains(&service.key)) {
                continue;
            }
            let doing = || format!("list the real servers of service {}", service.key);
            self.dump_into(packet::get_dests(&service.key), &mut dests)
                .map_err(|f| f.into_read_error(&doing()))?;
            let family = service.key.family();
            let mut servers = Vec::with_capacity(dests.len());
            for dest in dests.iter() {
                let server = read_dest_reply(dest, family)
                    .map_err(|e| Failure::decode(e).into_read_error(&doing()))?;
                servers.push(server);
            }
            service.servers = BTreeMap::new();
            for server in &servers {
                service.servers.insert(server.key, *server);
            }
            out.push((service, servers));
        }
        Ok(out)
    }

    /// [`Kernel::read`] and [`NetlinkKernel::read_ordered`] from one set of dumps.
    pub fn read_with_order(&mut self) -> Result<(Table, DumpOrder), KernelError> {
        let ordered = self.read_ordered()?;
        let table = Table {
            services: ordered.iter().map(|(s, _)| (s.key, s.clone())).collect(),
            timeouts: self.timeouts()?,
            daemons: self.daemons()?,
            sysctls: read_sysctls(&self.sysctl_dir)?,
        };
        Ok((table, ordered))
    }

    /// The connection timeouts (GET_CONFIG, `ipvsadm -L --timeout`).
    pub fn timeouts(&mut self) -> Result<Timeouts, KernelError> {
        let reply = self
            .query(packet::get_config())
            .map_err(|f| f.into_read_error("read the connection timeouts"))?;
        Ok(packet::parse_config_reply(&reply))
    }

    /// The running sync daemons (GET_DAEMON, `ipvsadm -L --daemon`).
    pub fn daemons(&mut self) -> Result<BTreeMap<DaemonState, Daemon>, KernelError> {
        const DOING: &str = "list the sync daemons";
        let replies = self
            .dump(packet::get_daemons())
            .and_then(|r| r.parse())
            .map_err(|f| f.into_read_error(DOING))?;
        replies
            .iter()
            .map(|r| packet::parse_daemon_reply(r).map(|d| (d.state, d)))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::decode(e).into_read_error(DOING))
    }

    /// The IPVS version and connection table size (GET_INFO, the first line of `ipvsadm -L`).
    pub fn info(&mut self) -> Result<IpvsInfo, KernelError> {
        const DOING: &str = "read the IPVS version";
        let reply = self
            .query(packet::get_info())
            .map_err(|f| f.into_read_error(DOING))?;
        packet::parse_info_reply(&reply).map_err(|e| Failure::decode(e).into_read_error(DOING))
    }

    /// Performs `ops` in order with as few round trips as fit: consecutive netlink requests are
    /// written together (as many as the receive buffer has room for the ACKs of, up to 512, and
    /// 64 KiB per `send()`), each asking for an ACK; the ACKs are read many per system call and
    /// matched to the requests by sequence number. A sysctl write waits for the requests before
    /// it. Returns one result per op, in order.
    ///
    /// The kernel performs each request of a `send()` on its own: a refused request does not
    /// stop the ones after it. If the socket fails, the requests in flight get an error that
    /// says their outcome is unknown.
    pub fn send_batch(&mut self, ops: &[Op]) -> Vec<Result<(), KernelError>> {
        let mut results = Vec::with_capacity(ops.len());
        let mut i = 0;
        while i < ops.len() {
            if let Op::SetSysctl(sysctl, value) = &ops[i] {
                results.push(write_sysctl(&self.sysctl_dir, &ops[i], *sysctl, value));
                i += 1;
                continue;
            }
            let start = i;
            let mut datagram = std::mem::take(&mut self.tx);
            datagram.clear();
            let mut pending = Vec::with_capacity(self.window.min(ops.len() - i));
            while i < ops.len() && pending.len() < self.window {
                let Some(request) = packet::request_for(&ops[i]) else {
                    break;
                };
                let mark = datagram.len();
                let seq = self.next_seq();
                packet::serialize_into(
                    &mut datagram,
                    request,
                    self.family,
                    NLM_F_REQUEST | NLM_F_ACK,
                    seq,
                );
                if !pending.is_empty() && datagram.len() > SEND_CHUNK {
                    datagram.truncate(mark);
                    break;
                }
                pending.push(Pending::new(seq));
                i += 1;
            }
            let outcome = self
                .transport
                .send(&datagram)
                .map_err(Failure::io)
                .and_then(|()| self.wait_acks(&mut pending));
            self.tx = datagram;
            for (op, p) in ops[start..i].iter().zip(pending) {
                let done = p.done.unwrap_or_else(|| {
                    Err(outcome.clone().err().unwrap_or(Failure::decode("no reply")))
                });
                results.push(done.map_err(|f| f.into_op_error(op)));
            }
        }
        results
    }
}

impl Kernel for NetlinkKernel {
    fn read(&mut self) -> Result<Table, KernelError> {
        self.read_with_order().map(|(table, _)| table)
    }

    fn apply(&mut self, op: &Op) -> Result<(), KernelError> {
        self.send_batch(std::slice::from_ref(op))
            .pop()
            .expect("one result per op")
    }

    fn apply_batch(&mut self, ops: &[Op]) -> Vec<Result<(), KernelError>> {
        self.send_batch(ops)
    }

    fn read_services(&mut self, keys: &[ServiceKey]) -> Result<Table, KernelError> {
        let only: std::collections::BTreeSet<ServiceKey> = keys.iter().copied().collect();
        let ordered = self.read_ordered_of(Some(&only))?;
        Ok(Table {
            services: ordered.into_iter().map(|(s, _)| (s.key, s)).collect(),
            timeouts: self.timeouts()?,
            daemons: self.daemons()?,
            sysctls: read_sysctls(&self.sysctl_dir)?,
        })
    }

    fn loads(&mut self, services: &[ServiceKey]) -> Result<Loads, KernelError> {
        let mut out = Loads::new();
        for key in services {
            let doing = format!("list the real servers of service {key}");
            let dests = self
                .dump(packet::get_dests(key))
                .and_then(|r| r.parse())
                .map_err(|f| f.into_read_error(&doing))?;
            for dest in &dests {
                let (server, counters) = packet::parse_dest_reply(dest, key.family())
                    .map_err(|e| Failure::decode(e).into_read_error(&doing))?;
                let load = Load {
                    active: counters.active_conns,
                    inactive: counters.inactive_conns,
                    persistent: counters.persistent_conns,
                    closing: 0,
                };
                out.insert((*key, server.key), load);
            }
        }
        if out.values().any(|l| l.inactive > 0) {
            super::conns::count_closing(Path::new(super::conns::PROC_PATH), &mut out).map_err(
                |e| {
                    KernelError::new(
                        e.raw_os_error().unwrap_or(libc::EIO),
                        format!("read {}", super::conns::PROC_PATH),
                        e.to_string(),
                    )
                },
            )?;
        }
        Ok(out)
    }
}

/// The dump order [`NetlinkKernel::read_ordered`] returns, as
/// [`crate::model::ipvsadm_save_ordered`] takes it.
pub fn dumped_services(ordered: &[(Service, Vec<Server>)]) -> Vec<DumpedService<'_>> {
    ordered
        .iter()
        .map(|(service, servers)| DumpedService {
            service,
            servers: servers.iter().collect(),
        })
        .collect()
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

// ---- replies read straight from their bytes -----------------------------------------------
//
// A GET_DEST dump answers with one message per server, and the full parser
// (`packet::parse_genl`) builds an attribute enum per attribute, counters included, with
// allocations along the way: for `save` of a table of thousands of servers that costs more than
// the kernel's work. These readers walk the bytes instead, build only the attributes the model
// needs and hand them to the same `packet::*_from_attrs` conversions. They read exactly what the
// full parser accepts: on anything else (another command, a second top-level attribute, an
// attribute of the wrong size, a malformed counter) they give up and the full parser reads the
// message, or says what is wrong with it.

/// A service of a GET_SERVICE dump, without its counters: the service of
/// [`packet::parse_service_reply`].
pub(crate) fn read_service_reply(payload: &[u8]) -> Result<Service, DecodeError> {
    if let Some(service) = lean_service(payload) {
        return Ok(service);
    }
    let msg = packet::parse_genl(payload)?;
    packet::parse_service_reply(&msg).map(|(service, _)| service)
}

/// A server of a GET_DEST dump for a service of `family`, without its counters: the server of
/// [`packet::parse_dest_reply`].
pub(crate) fn read_dest_reply(payload: &[u8], family: Family) -> Result<Server, DecodeError> {
    if let Some(server) = lean_dest(payload, family) {
        return Ok(server);
    }
    let msg = packet::parse_genl(payload)?;
    packet::parse_dest_reply(&msg, family).map(|(server, _)| server)
}

/// The service of a NEW_SERVICE message whose bytes the full parser would accept, or `None`.
#[doc(hidden)]
pub fn lean_service(payload: &[u8]) -> Option<Service> {
    let nest = only_nest(payload, packet::IPVS_CMD_NEW_SERVICE, IPVS_CMD_ATTR_SERVICE)?;
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
    packet::service_from_attrs(&attrs).ok()
}

/// The server of a NEW_DEST message whose bytes the full parser would accept, or `None`.
#[doc(hidden)]
pub fn lean_dest(payload: &[u8], family: Family) -> Option<Server> {
    let nest = only_nest(payload, packet::IPVS_CMD_NEW_DEST, IPVS_CMD_ATTR_DEST)?;
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
    let method = fwd.map(|f| f & packet::IP_VS_CONN_F_FWD_MASK);
    if let (Some(a), Some(port), Some(weight)) = (addr, port, weight) {
        let forward = match method {
            Some(packet::IP_VS_CONN_F_MASQ) => Some(Forward::Nat),
            Some(packet::IP_VS_CONN_F_DROUTE | packet::IP_VS_CONN_F_LOCALNODE) => Some(Forward::Dr),
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
    packet::server_from_attrs(&attrs, family).ok()
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

/// The sysctls of [`Sysctl::ALL`] this kernel has under `dir`; files it lacks are skipped.
pub fn read_sysctls(dir: &Path) -> Result<BTreeMap<Sysctl, SysctlValue>, KernelError> {
    let mut out = BTreeMap::new();
    for &sysctl in Sysctl::ALL {
        let path = dir.join(sysctl.name());
        let doing = || format!("read {}", path.display());
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Failure::io(e).into_read_error(&doing())),
        };
        let value = SysctlValue::from_kernel_text(sysctl, &text).ok_or_else(|| {
            KernelError::new(
                0,
                doing(),
                format!("unexpected value {:?}", text.trim_end()),
            )
        })?;
        out.insert(sysctl, value);
    }
    Ok(out)
}

/// Writes a sysctl file, as `sysctl -w net.ipv4.vs.NAME=VALUE` does.
fn write_sysctl(
    dir: &Path,
    op: &Op,
    sysctl: Sysctl,
    value: &SysctlValue,
) -> Result<(), KernelError> {
    let path = dir.join(sysctl.name());
    let text = value.kernel_text();
    let Err(e) = fs::write(&path, format!("{text}\n")) else {
        return Ok(());
    };
    let errno = e.raw_os_error().unwrap_or(0);
    let reason = match e.kind() {
        io::ErrorKind::NotFound => format!(
            "this kernel has no {} (is the ip_vs module loaded?)",
            path.display()
        ),
        io::ErrorKind::PermissionDenied => format!(
            "permission denied: writing {} needs root / CAP_NET_ADMIN",
            path.display()
        ),
        _ if errno == libc::EINVAL => format!("the kernel does not accept {text} for {sysctl}"),
        _ => return Err(KernelError::refused(op, errno)),
    };
    Err(KernelError::new(errno, op.to_string(), reason))
}

#[cfg(test)]
mod tests {
    //! No kernel here: the transport replays datagrams laid out as the kernel sends them
    //! (af_netlink.c's netlink_ack and netlink_dump_done, genetlink's dumps), so the dump walk,
    //! the sequence matching and the error decoding are tested on synthetic bytes.

    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::net::IpAddr;
    use std::rc::Rc;

    use netlink_packet_core::{DefaultNla, Emitable, NLA_F_NESTED, NLM_F_MULTIPART};
    use netlink_packet_generic::GenlMessage;

    use super::*;
    use crate::kernel::packet::*;
    use crate::model::*;

    const FAMILY: u16 = 0x1c;

    /// A request as the fake kernel saw it.
    #[derive(Clone, Debug)]
    struct Req {
        kind: u16,
        flags: u16,
        seq: u32,
        header: [u8; 16],
        msg: Option<IpvsMessage>,
    }

    type Responder = Box<dyn FnMut(&[Req]) -> Vec<Vec<u8>>>;

    /// Answers each `send()` with the datagrams its responder makes.
    struct Fake {
        queue: VecDeque<Vec<u8>>,
        sends: Rc<RefCell<Vec<Vec<Req>>>>,
        respond: Responder,
        recv_error: Option<i32>,
    }

    impl Fake {
        fn new(
            respond: impl FnMut(&[Req]) -> Vec<Vec<u8>> + 'static,
        ) -> (Fake, Rc<RefCell<Vec<Vec<Req>>>>) {
            let sends = Rc::new(RefCell::new(Vec::new()));
            let fake = Fake {
                queue: VecDeque::new(),
                sends: sends.clone(),
                respond: Box::new(respond),
                recv_error: None,
            };
            (fake, sends)
        }
    }

    impl Transport for Fake {
        fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
            let mut reqs = Vec::new();
            let mut offset = 0;
            while offset < datagram.len() {
                let buf = NetlinkBuffer::new_checked(&datagram[offset..]).unwrap();
                let len = buf.length() as usize;
                let payload = &datagram[offset + 16..offset + len];
                reqs.push(Req {
                    kind: buf.message_type(),
                    flags: buf.flags(),
                    seq: buf.sequence_number(),
                    header: datagram[offset..offset + 16].try_into().unwrap(),
                    msg: (buf.message_type() == FAMILY)
                        .then(|| packet::parse_genl(payload).unwrap()),
                });
                offset += align4(len);
            }
            self.queue.extend((self.respond)(&reqs));
            self.sends.borrow_mut().push(reqs);
            Ok(())
        }

        fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
            if let Some(errno) = self.recv_error {
                return Err(io::Error::from_raw_os_error(errno));
            }
            let datagram = self
                .queue
                .pop_front()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EAGAIN))?;
            buf.clear();
            buf.extend_from_slice(&datagram);
            Ok(())
        }
    }

    fn kernel(fake: Fake, sysctl_dir: &Path) -> NetlinkKernel {
        NetlinkKernel {
            transport: Box::new(fake),
            family: FAMILY,
            seq: 0,
            rx: Vec::new(),
            acks: Acks::new(),
            tx: Vec::new(),
            window: 64,
            sysctl_dir: sysctl_dir.to_path_buf(),
        }
    }

    fn no_sysctls() -> PathBuf {
        PathBuf::from("/nonexistent/ipvsc-test")
    }

    /// One netlink message: header, payload, padding.
    fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut out = Vec::with_capacity(align4(len));
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&4242u32.to_ne_bytes());
        out.extend_from_slice(payload);
        out.resize(align4(len), 0);
        out
    }

    fn ipvs(seq: u32, flags: u16, msg: &IpvsMessage) -> Vec<u8> {
        let genl = GenlMessage::from_payload(msg.clone());
        let mut payload = vec![0; genl.buffer_len()];
        genl.emit(&mut payload);
        nlmsg(FAMILY, flags, seq, &payload)
    }

    /// An NLMSG_ERROR as a socket with NETLINK_CAP_ACK gets it: the code and the request's
    /// header; with `ext` the NLMSGERR_ATTR_MSG TLV after it.
    fn ack(req: &Req, errno: i32, ext: Option<&str>) -> Vec<u8> {
        let mut payload = (-errno).to_ne_bytes().to_vec();
        payload.extend_from_slice(&req.header);
        let mut flags = NLM_F_CAPPED;
        if let Some(text) = ext {
            flags |= NLM_F_ACK_TLVS;
            payload.extend_from_slice(&tlv(NLMSGERR_ATTR_MSG, text));
        }
        nlmsg(NLMSG_ERROR, flags, req.seq, &payload)
    }

    fn tlv(kind: u16, text: &str) -> Vec<u8> {
        let len = 4 + text.len() + 1;
        let mut out = Vec::new();
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(text.as_bytes());
        out.push(0);
        out.resize(align4(len), 0);
        out
    }

    fn done(seq: u32, flags: u16) -> Vec<u8> {
        nlmsg(
            NLMSG_DONE,
            NLM_F_MULTIPART | flags,
            seq,
            &0i32.to_ne_bytes(),
        )
    }

    /// Datagrams of at most `max` bytes holding `messages` then NLMSG_DONE, as a dump sends
    /// them.
    fn dump_datagrams(seq: u32, messages: &[IpvsMessage], max: usize) -> Vec<Vec<u8>> {
        let mut out = vec![Vec::new()];
        for m in messages {
            let bytes = ipvs(seq, NLM_F_MULTIPART, m);
            if out.last().unwrap().len() + bytes.len() > max {
                out.push(Vec::new());
            }
            out.last_mut().unwrap().extend_from_slice(&bytes);
        }
        out.push(done(seq, 0));
        out
    }

    fn key(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: addr.parse().unwrap(),
            port,
        }
    }

    fn server(addr: &str, forward: Forward) -> Server {
        Server {
            forward,
            ..Server::new(ServerKey {
                addr: addr.parse().unwrap(),
                port: 80,
            })
        }
    }

    fn service_reply(s: &Service) -> IpvsMessage {
        let mut attrs = service_to_attrs(s);
        attrs.push(SvcAttr::Stats64(
            Stats {
                conns: 11,
                ..Stats::default()
            }
            .to_attrs64(),
        ));
        IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttr::Service(attrs)])
    }

    fn dest_reply(s: &Server) -> IpvsMessage {
        let mut attrs = server_to_attrs(s);
        attrs.push(DestAttr::ActiveConns(5));
        IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttr::Dest(attrs)])
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ipvsc-netlink-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn walks_datagrams_by_aligned_lengths_and_sequence_numbers() {
        let a = service_reply(&Service::new(key("10.0.0.1", 80)));
        let b = service_reply(&Service::new(key("10.0.0.2", 80)));
        // Two replies and a leftover of an abandoned request (sequence 6) in one datagram,
        // then the last reply and NLMSG_DONE in another.
        let mut first = ipvs(7, NLM_F_MULTIPART, &a);
        first.extend(ipvs(6, NLM_F_MULTIPART, &b));
        first.extend(ipvs(7, NLM_F_MULTIPART, &b));
        let mut second = ipvs(7, NLM_F_MULTIPART, &a);
        second.extend(done(7, 0));
        let mut pending = [Pending::new(7)];
        absorb(&first, &mut pending).unwrap();
        assert_eq!(pending[0].replies.len(), 2);
        assert!(pending[0].done.is_none());
        absorb(&second, &mut pending).unwrap();
        assert_eq!(pending[0].done, Some(Ok(())));
        let got: Vec<IpvsMessage> = pending[0]
            .replies
            .iter()
            .map(|r| packet::parse_genl(r).unwrap())
            .collect();
        assert_eq!(got, [a.clone(), b.clone(), a]);
        // A length that runs past the datagram is an error, not a panic.
        let mut bad = ipvs(7, 0, &b);
        bad.truncate(bad.len() - 8);
        assert!(absorb(&bad, &mut [Pending::new(7)]).is_err());
    }

    #[test]
    fn decodes_errors_and_their_extended_ack() {
        let req = Req {
            kind: FAMILY,
            flags: NLM_F_REQUEST | NLM_F_ACK,
            seq: 3,
            header: [0; 16],
            msg: None,
        };
        let mut p = [Pending::new(3)];
        absorb(&ack(&req, libc::EINVAL, Some("Invalid attribute")), &mut p).unwrap();
        assert_eq!(
            p[0].done,
            Some(Err(Failure::Refused {
                errno: libc::EINVAL,
                ext_ack: Some("Invalid attribute".into())
            }))
        );
        // Without NETLINK_CAP_ACK the whole request comes back before the TLVs.
        let request = packet::serialize(packet::flush(), FAMILY, NLM_F_REQUEST | NLM_F_ACK, 4);
        let mut payload = (-libc::ENOENT).to_ne_bytes().to_vec();
        payload.extend_from_slice(&request);
        payload.extend(tlv(NLMSGERR_ATTR_MSG, "no such thing"));
        payload.extend(tlv(2, "offset"));
        let mut p = [Pending::new(4)];
        absorb(&nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, 4, &payload), &mut p).unwrap();
        assert_eq!(
            p[0].done,
            Some(Err(Failure::Refused {
                errno: libc::ENOENT,
                ext_ack: Some("no such thing".into())
            }))
        );
        // A plain ACK.
        let mut p = [Pending::new(3)];
        absorb(&ack(&req, 0, None), &mut p).unwrap();
        assert_eq!(p[0].done, Some(Ok(())));
        // A dump that fails after it started: NLMSG_DONE with a negative code.
        let mut p = [Pending::new(5)];
        absorb(
            &nlmsg(
                NLMSG_DONE,
                NLM_F_MULTIPART,
                5,
                &(-libc::EMSGSIZE).to_ne_bytes(),
            ),
            &mut p,
        )
        .unwrap();
        assert!(
            matches!(&p[0].done, Some(Err(Failure::Refused { errno, .. })) if *errno == libc::EMSGSIZE)
        );
        // An op's refusal keeps error.rs's explanation and adds the kernel's words.
        let op = Op::AddService(Service::new(key("10.0.0.1", 80)));
        let e = Failure::Refused {
            errno: libc::EEXIST,
            ext_ack: Some("exists".into()),
        }
        .into_op_error(&op);
        assert_eq!(e.errno, libc::EEXIST);
        assert_eq!(
            e.reason,
            "the service already exists (the kernel says: exists)"
        );
    }

    /// The fake kernel's table: services in dump order, each with servers in dump order.
    fn fake_ipvs(
        services: Vec<(Service, Vec<Server>)>,
        daemons: Vec<Daemon>,
    ) -> impl FnMut(&[Req]) -> Vec<Vec<u8>> {
        move |reqs: &[Req]| {
            let mut out = Vec::new();
            for r in reqs {
                let msg = r.msg.as_ref().expect("an IPVS request");
                match msg.cmd {
                    IpvsCmd::GetService => {
                        assert_eq!(r.flags, NLM_F_REQUEST | NLM_F_DUMP);
                        let replies: Vec<_> =
                            services.iter().map(|(s, _)| service_reply(s)).collect();
                        out.extend(dump_datagrams(r.seq, &replies, 32 * 1024));
                    }
                    IpvsCmd::GetDest => {
                        // GET_DEST carries the service's identity only; an unknown service
                        // answers an empty dump.
                        let attrs = msg.service().unwrap();
                        let servers = services
                            .iter()
                            .find(|(s, _)| service_key_to_attrs(&s.key) == attrs)
                            .map(|(_, v)| v.iter().map(dest_reply).collect::<Vec<_>>())
                            .unwrap_or_default();
                        out.extend(dump_datagrams(r.seq, &servers, 32 * 1024));
                    }
                    IpvsCmd::GetConfig => {
                        assert_eq!(r.flags, NLM_F_REQUEST | NLM_F_ACK);
                        let reply = IpvsMessage::new(
                            IpvsCmd::SetConfig,
                            timeouts_to_attrs(&Timeouts::KERNEL_DEFAULT),
                        );
                        out.push(ipvs(r.seq, 0, &reply));
                        out.push(ack(r, 0, None));
                    }
                    IpvsCmd::GetDaemon => {
                        let replies: Vec<_> = daemons
                            .iter()
                            .map(|d| {
                                IpvsMessage::new(
                                    IpvsCmd::NewDaemon,
                                    vec![IpvsAttr::Daemon(daemon_to_attrs(d))],
                                )
                            })
                            .collect();
                        out.extend(dump_datagrams(r.seq, &replies, 32 * 1024));
                    }
                    IpvsCmd::GetInfo => {
                        let reply = IpvsMessage::new(
                            IpvsCmd::SetInfo,
                            vec![
                                IpvsAttr::Info(InfoAttr::Version(0x010201)),
                                IpvsAttr::Info(InfoAttr::ConnTabSize(4096)),
                            ],
                        );
                        out.push(ipvs(r.seq, 0, &reply));
                        out.push(ack(r, 0, None));
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            out
        }
    }

    #[test]
    fn read_returns_the_whole_table_and_the_dump_order() {
        let web = Service {
            scheduler: Scheduler::Rr,
            ..Service::new(key("10.0.0.9", 443))
        };
        let mark = Service::new(ServiceKey::Fwmark {
            family: Family::Ipv6,
            mark: 5,
        });
        let web_servers = vec![
            server("10.0.1.9", Forward::Nat),
            server("10.0.1.1", Forward::Dr),
        ];
        let mark_servers = vec![server("192.0.2.1", Forward::Tunnel(Tunnel::Ipip))];
        let daemon = Daemon {
            state: DaemonState::Backup,
            interface: "eth1".into(),
            syncid: 3,
            maxlen: Some(1472),
            group: Some("224.0.0.81".parse().unwrap()),
            port: Some(8848),
            ttl: Some(1),
        };
        let dump = vec![
            (mark.clone(), mark_servers.clone()),
            (web.clone(), web_servers.clone()),
        ];
        let (fake, _) = Fake::new(fake_ipvs(dump, vec![daemon.clone()]));
        let dir = temp_dir("read");
        fs::write(dir.join("drop_entry"), "2\n").unwrap();
        fs::write(dir.join("amemthresh"), "1024\n").unwrap();
        fs::write(dir.join("sync_threshold"), "3\t50\n").unwrap();
        let mut k = kernel(fake, &dir);

        let (table, ordered) = k.read_with_order().unwrap();
        let keys: Vec<_> = ordered.iter().map(|(s, _)| s.key).collect();
        assert_eq!(keys, [mark.key, web.key], "the kernel's order, not sorted");
        assert_eq!(
            ordered[1].1, web_servers,
            "the servers in the kernel's order"
        );
        assert_eq!(dumped_services(&ordered)[1].servers.len(), 2);

        let with = |s: &Service, servers: &[Server]| Service {
            servers: servers.iter().map(|x| (x.key, *x)).collect(),
            ..s.clone()
        };
        let expected = Table {
            services: [
                (mark.key, with(&mark, &mark_servers)),
                (web.key, with(&web, &web_servers)),
            ]
            .into_iter()
            .collect(),
            timeouts: Timeouts::KERNEL_DEFAULT,
            daemons: [(DaemonState::Backup, daemon)].into_iter().collect(),
            sysctls: [
                (Sysctl::DropEntry, SysctlValue::Defense(DefenseMode::Auto)),
                (Sysctl::Amemthresh, SysctlValue::Int(1024)),
                (Sysctl::SyncThreshold, SysctlValue::Pair(3, 50)),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(table, expected);
        assert_eq!(k.read().unwrap(), expected);

        let stats = k.stats().unwrap();
        assert_eq!(stats[0].stats.conns, 11);
        assert_eq!(stats[1].servers[0].1.active_conns, 5);
        assert_eq!(k.info().unwrap().version_string(), "1.2.1");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reads_a_dump_of_many_datagrams() {
        let services: Vec<(Service, Vec<Server>)> = (0..3000u32)
            .map(|i| {
                let addr = IpAddr::from((0x0a00_0000 + i * 7919).to_be_bytes());
                (
                    Service::new(ServiceKey::Inet {
                        protocol: Protocol::Udp,
                        addr,
                        port: 53,
                    }),
                    Vec::new(),
                )
            })
            .collect();
        let expected: Vec<_> = services.iter().map(|(s, _)| s.key).collect();
        let (fake, sends) = Fake::new(fake_ipvs(services, Vec::new()));
        let mut k = kernel(fake, &no_sysctls());
        let got = k.read_ordered().unwrap();
        assert_eq!(got.iter().map(|(s, _)| s.key).collect::<Vec<_>>(), expected);
        // One GET_SERVICE dump, then one GET_DEST dump per service.
        assert_eq!(sends.borrow().len(), 3001);
    }

    #[test]
    fn an_interrupted_dump_is_read_again() {
        let s = Service::new(key("10.0.0.1", 80));
        let mut attempt = 0;
        let (fake, sends) = Fake::new(move |reqs: &[Req]| {
            let r = &reqs[0];
            match r.msg.as_ref().unwrap().cmd {
                IpvsCmd::GetService => {
                    attempt += 1;
                    let mut out = vec![ipvs(r.seq, NLM_F_MULTIPART, &service_reply(&s))];
                    if attempt == 1 {
                        // The table changed mid-dump: the kernel flags the rest.
                        out.push(ipvs(
                            r.seq,
                            NLM_F_MULTIPART | NLM_F_DUMP_INTR,
                            &service_reply(&s),
                        ));
                        out.push(done(r.seq, NLM_F_DUMP_INTR));
                    } else {
                        out.push(done(r.seq, 0));
                    }
                    out
                }
                _ => vec![done(r.seq, 0)],
            }
        });
        let mut k = kernel(fake, &no_sysctls());
        let got = k.read_ordered().unwrap();
        assert_eq!(got.len(), 1, "the second, consistent dump");
        let sends = sends.borrow();
        let cmds: Vec<_> = sends
            .iter()
            .map(|r| r[0].msg.as_ref().unwrap().cmd)
            .collect();
        assert_eq!(
            cmds,
            [IpvsCmd::GetService, IpvsCmd::GetService, IpvsCmd::GetDest]
        );
        assert_ne!(sends[0][0].seq, sends[1][0].seq);

        // Interrupted every time: an error that says to try again.
        let (fake, _) = Fake::new(|reqs: &[Req]| vec![done(reqs[0].seq, NLM_F_DUMP_INTR)]);
        let e = kernel(fake, &no_sysctls()).read_ordered().unwrap_err();
        assert_eq!(e.errno, libc::EINTR);
        assert!(e.reason.contains("try again"), "{e}");
    }

    fn ops(n: usize) -> Vec<Op> {
        (0..n)
            .map(|i| {
                Op::AddServer(
                    key("10.0.0.1", 80),
                    Server::new(ServerKey {
                        addr: IpAddr::from([10, 1, (i >> 8) as u8, i as u8]),
                        port: 80,
                    }),
                )
            })
            .collect()
    }

    #[test]
    fn a_batch_matches_acks_by_sequence_number() {
        let dir = temp_dir("batch");
        let mut batch = ops(3);
        batch.push(Op::SetSysctl(Sysctl::Amemthresh, SysctlValue::Int(2048)));
        batch.extend(ops(2));
        // The kernel refuses the second server; the acks come back in reverse order, with a
        // stray ack of an unknown sequence number among them.
        let (fake, sends) = Fake::new(|reqs: &[Req]| {
            let mut out: Vec<Vec<u8>> = reqs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ack(
                        r,
                        if i == 1 { libc::EEXIST } else { 0 },
                        (i == 1).then_some("dup"),
                    )
                })
                .collect();
            out.reverse();
            out.insert(1, nlmsg(NLMSG_ERROR, NLM_F_CAPPED, 9999, &[0; 20]));
            out
        });
        let mut k = kernel(fake, &dir);
        let results = k.send_batch(&batch);
        assert_eq!(results.len(), 6);
        let errnos: Vec<i32> = results
            .iter()
            .map(|r| r.as_ref().err().map_or(0, |e| e.errno))
            .collect();
        assert_eq!(errnos, [0, libc::EEXIST, 0, 0, 0, libc::EEXIST]);
        let e = results[1].as_ref().unwrap_err();
        assert_eq!(e.doing, batch[1].to_string());
        assert!(e.reason.ends_with("(the kernel says: dup)"), "{e}");
        assert_eq!(
            fs::read_to_string(dir.join("amemthresh")).unwrap(),
            "2048\n"
        );
        // The three requests before the sysctl in one send(), the two after it in another.
        let sends = sends.borrow();
        assert_eq!(sends.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
        assert!(sends[0]
            .iter()
            .all(|r| r.flags == NLM_F_REQUEST | NLM_F_ACK));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_long_leftover_among_the_acks_is_skipped_but_a_long_answer_is_an_error() {
        // A dump datagram of an abandoned request (a page long, another sequence number) comes
        // before the acks: skipped.
        let (fake, _) = Fake::new(|reqs: &[Req]| {
            let mut out = vec![nlmsg(FAMILY, NLM_F_MULTIPART, 7777, &[0; 4000])];
            out.extend(reqs.iter().map(|r| ack(r, 0, None)));
            out
        });
        let mut k = kernel(fake, &no_sysctls());
        assert!(k.send_batch(&ops(3)).iter().all(Result::is_ok));
        // A reply that long to one of the requests: its outcome cannot be read.
        let (fake, _) = Fake::new(|reqs: &[Req]| {
            let mut out = vec![nlmsg(NLMSG_ERROR, 0, reqs[1].seq, &[0; 4000])];
            out.extend(reqs.iter().map(|r| ack(r, 0, None)));
            out
        });
        let results = kernel(fake, &no_sysctls()).send_batch(&ops(3));
        assert!(results.iter().all(Result::is_err), "{results:?}");
        assert!(results[1].as_ref().unwrap_err().reason.contains("too long"));
    }

    #[test]
    fn the_window_is_what_the_receive_buffer_holds() {
        let socket = Socket::new(NETLINK_GENERIC).unwrap();
        let window = size_receive_buffer(socket.as_raw_fd());
        assert!(WINDOW.contains(&window), "{window}");
        let mut granted: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid pointers to a c_int and its length.
        unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut granted as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert!(window == *WINDOW.start() || window * ACK_MEMORY <= granted as usize);
    }

    #[test]
    fn a_big_batch_is_sent_in_windows() {
        let (fake, sends) =
            Fake::new(|reqs: &[Req]| reqs.iter().map(|r| ack(r, 0, None)).collect());
        let mut k = kernel(fake, &no_sysctls());
        let results = k.send_batch(&ops(150));
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(
            sends.borrow().iter().map(Vec::len).collect::<Vec<_>>(),
            [64, 64, 22]
        );
        // apply is a batch of one.
        assert!(k.apply(&Op::Flush).is_ok());
    }

    #[test]
    fn a_socket_failure_leaves_the_outcome_unknown() {
        let (mut fake, _) = Fake::new(|_: &[Req]| Vec::new());
        fake.recv_error = Some(libc::ENOBUFS);
        let mut k = kernel(fake, &no_sysctls());
        let results = k.send_batch(&ops(2));
        for r in results {
            let e = r.unwrap_err();
            assert_eq!(e.errno, libc::ENOBUFS);
            assert!(e.unknown);
            assert!(e.to_string().starts_with("cannot tell whether"), "{e}");
        }
    }

    #[test]
    fn no_privilege_and_no_module_are_told_apart() {
        // Every IPVS command needs CAP_NET_ADMIN: the dump request is refused at once.
        let (fake, _) = Fake::new(|reqs: &[Req]| vec![ack(&reqs[0], libc::EPERM, None)]);
        let e = kernel(fake, &no_sysctls()).read().unwrap_err();
        assert_eq!(Unavailable::of(&e), Some(Unavailable::NotPermitted));
        assert!(e.reason.contains("root / CAP_NET_ADMIN"), "{e}");
        let (fake, _) = Fake::new(|reqs: &[Req]| vec![ack(&reqs[0], libc::EPERM, None)]);
        let e = kernel(fake, &no_sysctls()).apply(&Op::Flush).unwrap_err();
        assert_eq!(Unavailable::of(&e), Some(Unavailable::NotPermitted));

        // The controller does not know the family.
        let (fake, sends) = Fake::new(|reqs: &[Req]| vec![ack(&reqs[0], libc::ENOENT, None)]);
        let e = kernel(fake, &no_sysctls()).resolve_family().unwrap_err();
        assert_eq!(e.errno, ERRNO_NO_IPVS);
        assert_eq!(Unavailable::of(&e), Some(Unavailable::NotLoaded));
        assert_eq!(
            e.to_string(),
            "the kernel refused to use IPVS: the ip_vs module is not loaded: modprobe ip_vs"
        );
        let req = sends.borrow()[0][0].clone();
        assert_eq!(req.kind, 0x10, "GENL_ID_CTRL");

        // Other refusals are neither.
        let e = KernelError::refused(&Op::Flush, libc::ENOENT);
        assert_eq!(Unavailable::of(&e), None);
    }

    #[test]
    fn resolves_the_family_from_the_controller_reply() {
        let (fake, _) = Fake::new(|reqs: &[Req]| {
            let r = &reqs[0];
            // CTRL_CMD_NEWFAMILY: FAMILY_NAME "IPVS", FAMILY_ID 0x23, and an attribute the
            // controller crate would refuse.
            let mut payload = vec![1, 2, 0, 0];
            payload.extend(tlv(2, "IPVS"));
            payload.extend_from_slice(&[6, 0, 1, 0, 0x23, 0, 0, 0]);
            payload.extend_from_slice(&[8, 0, 99, 0, 1, 2, 3, 4]);
            vec![nlmsg(0x10, 0, r.seq, &payload), ack(r, 0, None)]
        });
        let mut k = kernel(fake, &no_sysctls());
        assert_eq!(k.resolve_family().unwrap(), 0x23);
    }

    #[test]
    fn sysctl_files() {
        let dir = temp_dir("sysctl");
        fs::write(dir.join("secure_tcp"), "7\n").unwrap();
        let e = read_sysctls(&dir).unwrap_err();
        assert!(e.reason.contains("\"7\""), "{e}");
        fs::remove_file(dir.join("secure_tcp")).unwrap();
        assert!(read_sysctls(&dir).unwrap().is_empty());

        let op = Op::SetSysctl(Sysctl::SecureTcp, SysctlValue::Defense(DefenseMode::Always));
        let missing = dir.join("missing");
        let e = write_sysctl(
            &missing,
            &op,
            Sysctl::SecureTcp,
            &SysctlValue::Defense(DefenseMode::Always),
        )
        .unwrap_err();
        assert_eq!(e.errno, libc::ENOENT);
        assert!(e.reason.contains("this kernel has no"), "{e}");
        write_sysctl(
            &dir,
            &op,
            Sysctl::SecureTcp,
            &SysctlValue::Defense(DefenseMode::Always),
        )
        .unwrap();
        assert_eq!(
            read_sysctls(&dir).unwrap()[&Sysctl::SecureTcp],
            SysctlValue::Defense(DefenseMode::Always)
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reads_datagrams_bigger_than_the_buffer() {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0);
        let big: Vec<u8> = (0..150_000u32).map(|i| i as u8).collect();
        for datagram in [&big[..], b"small"] {
            // SAFETY: sends from a live slice on a descriptor we own.
            let n = unsafe { libc::send(fds[1], datagram.as_ptr().cast(), datagram.len(), 0) };
            assert_eq!(n as usize, datagram.len());
        }
        let mut buf = Vec::new();
        recv_datagram(fds[0], &mut buf).unwrap();
        assert_eq!(buf, big);
        recv_datagram(fds[0], &mut buf).unwrap();
        assert_eq!(buf, b"small");
        // SAFETY: closes the descriptors socketpair opened.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    // ---- the readers of `save` ------------------------------------------------------------

    fn genl(msg: &IpvsMessage) -> Vec<u8> {
        let genl = GenlMessage::from_payload(msg.clone());
        let mut payload = vec![0; genl.buffer_len()];
        genl.emit(&mut payload);
        payload
    }

    /// A NEW_DEST reply laid out as ip_vs_genl_fill_dest fills it: the tunnel attributes for
    /// every server, the connection counts, STATS and STATS64; `af` is ADDR_FAMILY, if sent.
    fn kernel_dest_reply(s: &Server, af: Option<u16>) -> IpvsMessage {
        let mut attrs: Vec<DestAttr> = server_to_attrs(s)
            .into_iter()
            .filter(|a| !matches!(a, DestAttr::AddrFamily(_)))
            .collect();
        if !matches!(s.forward, Forward::Tunnel(_)) {
            attrs.extend([
                DestAttr::TunType(0),
                DestAttr::TunPort(0),
                DestAttr::TunFlags(0),
            ]);
        }
        attrs.extend([
            DestAttr::ActiveConns(3),
            DestAttr::InactConns(2),
            DestAttr::PersistConns(1),
        ]);
        attrs.extend(af.map(DestAttr::AddrFamily));
        let stats = Stats {
            conns: 7,
            inbytes: 1 << 40,
            ..Stats::default()
        };
        attrs.push(DestAttr::Stats(stats.to_attrs32()));
        attrs.push(DestAttr::Stats64(stats.to_attrs64()));
        IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttr::Dest(attrs)])
    }

    fn variety_of_servers() -> Vec<Server> {
        let tunnels = [
            Tunnel::Ipip,
            Tunnel::Gue {
                port: 6080,
                checksum: Checksum::RemCsum,
            },
            Tunnel::Gue {
                port: 1,
                checksum: Checksum::Csum,
            },
            Tunnel::Gre {
                checksum: Checksum::NoCsum,
            },
            Tunnel::Gre {
                checksum: Checksum::Csum,
            },
        ];
        let forwards = [Forward::Dr, Forward::Nat]
            .into_iter()
            .chain(tunnels.map(Forward::Tunnel));
        let mut out = Vec::new();
        for (i, forward) in forwards.enumerate() {
            for addr in ["10.1.2.3", "2001:db8::42"] {
                out.push(Server {
                    weight: i as u32 * 1000,
                    upper: i as u32 * 7,
                    lower: i as u32,
                    ..server(addr, forward)
                });
            }
        }
        out
    }

    /// `read_dest_reply` against the full parser: the same server, or the same error.
    fn same_dest(payload: &[u8], family: Family) -> Result<Server, String> {
        let full = packet::parse_genl(payload)
            .and_then(|m| packet::parse_dest_reply(&m, family))
            .map(|(s, _)| s)
            .map_err(|e| e.to_string());
        let read = read_dest_reply(payload, family).map_err(|e| e.to_string());
        assert_eq!(read, full, "{payload:02x?}");
        read
    }

    fn same_service(payload: &[u8]) -> Result<Service, String> {
        let full = packet::parse_genl(payload)
            .and_then(|m| packet::parse_service_reply(&m))
            .map(|(s, _)| s)
            .map_err(|e| e.to_string());
        let read = read_service_reply(payload).map_err(|e| e.to_string());
        assert_eq!(read, full, "{payload:02x?}");
        read
    }

    #[test]
    fn the_readers_of_save_read_what_the_full_parser_reads() {
        for s in variety_of_servers() {
            let own = Family::of(&s.key.addr);
            for family in [Family::Ipv4, Family::Ipv6] {
                // ADDR_FAMILY as Linux 3.18+ sends it, absent (older kernels) or 0: the
                // service's family then.
                let afs: &[Option<u16>] = if family == own {
                    &[Some(own.af()), None, Some(0)]
                } else {
                    &[Some(own.af())]
                };
                for af in afs {
                    let payload = genl(&kernel_dest_reply(&s, *af));
                    assert_eq!(lean_dest(&payload, family), Some(s), "{s:?} {af:?}");
                    assert_eq!(same_dest(&payload, family), Ok(s));
                }
            }
        }
        // Kernels before 4.x stored LOCALNODE for local addresses: direct routing.
        let mut m = kernel_dest_reply(&server("10.0.0.1", Forward::Dr), Some(2));
        let IpvsAttr::Dest(attrs) = &mut m.attrs[0] else {
            unreachable!()
        };
        for a in attrs.iter_mut() {
            if let DestAttr::FwdMethod(f) = a {
                *f = IP_VS_CONN_F_LOCALNODE;
            }
        }
        // Attributes a newer kernel may add, and padding in the counters.
        attrs.push(DestAttr::Other(DefaultNla::new(99, vec![1, 2, 3])));
        attrs.push(DestAttr::Stats(vec![
            StatsAttr::Pad,
            StatsAttr::Conns(Counter::U64(1)),
        ]));
        let payload = genl(&m);
        assert!(lean_dest(&payload, Family::Ipv4).is_some());
        assert_eq!(
            same_dest(&payload, Family::Ipv4).unwrap().forward,
            Forward::Dr
        );

        let web = Service::new(key("10.0.0.9", 443));
        let services = [
            web.clone(),
            Service {
                scheduler: Scheduler::Mh,
                flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2),
                persistence: Some(3600),
                netmask: Netmask::Ipv6(64),
                ..Service::new(ServiceKey::Inet {
                    protocol: Protocol::Sctp,
                    addr: "2001:db8::1".parse().unwrap(),
                    port: 3868,
                })
            },
            Service {
                scheduler: Scheduler::Rr,
                persistence: Some(60),
                pe: Some("sip".into()),
                netmask: Netmask::Ipv4("255.255.255.0".parse().unwrap()),
                ..Service::new(ServiceKey::Inet {
                    protocol: Protocol::Udp,
                    addr: "10.0.0.9".parse().unwrap(),
                    port: 5060,
                })
            },
            Service {
                one_packet: true,
                flags: SchedFlags(SchedFlags::FLAG3),
                ..Service::new(ServiceKey::Fwmark {
                    family: Family::Ipv6,
                    mark: u32::MAX,
                })
            },
        ];
        for s in &services {
            let payload = genl(&service_reply(s));
            assert_eq!(lean_service(&payload).as_ref(), Some(s));
            assert_eq!(same_service(&payload).as_ref(), Ok(s));
        }
        // The kernel's flags carry HASHED, its mask ~0; a nest flagged NLA_F_NESTED.
        let mut payload = genl(&service_reply(&web));
        payload[6..8].copy_from_slice(&(IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED).to_ne_bytes());
        assert_eq!(lean_service(&payload), Some(web.clone()));
        assert_eq!(same_service(&payload), Ok(web));
    }

    #[test]
    fn the_readers_of_save_leave_odd_replies_to_the_full_parser() {
        let s = server("10.0.0.2", Forward::Nat);
        let with = |extra: DestAttr| {
            let mut m = kernel_dest_reply(&s, Some(2));
            let IpvsAttr::Dest(attrs) = &mut m.attrs[0] else {
                unreachable!()
            };
            attrs.push(extra);
            genl(&m)
        };
        let other =
            |kind: u16, value: &[u8]| DestAttr::Other(DefaultNla::new(kind, value.to_vec()));
        // The full parser reads these; the lean reader leaves them to it.
        let mut extra_top = kernel_dest_reply(&s, Some(2));
        extra_top
            .attrs
            .push(IpvsAttr::Other(DefaultNla::new(42, vec![0; 4])));
        let mut set_dest = kernel_dest_reply(&s, Some(2));
        set_dest.cmd = IpvsCmd::SetDest;
        for payload in [genl(&extra_top), genl(&set_dest)] {
            assert_eq!(lean_dest(&payload, Family::Ipv4), None);
            assert_eq!(same_dest(&payload, Family::Ipv4), Ok(s));
        }
        // What the full parser refuses, the lean reader does not read either: the same error.
        let bad = [
            with(other(IPVS_DEST_ATTR_WEIGHT, &[1, 0])),
            with(other(IPVS_DEST_ATTR_PORT, &[0, 80, 0])),
            with(other(IPVS_DEST_ATTR_ADDR, &[0; 17])),
            with(other(IPVS_DEST_ATTR_TUN_TYPE, &[0, 0])),
            with(other(IPVS_DEST_ATTR_ACTIVE_CONNS, &[0; 8])),
            with(other(IPVS_DEST_ATTR_ADDR_FAMILY, &[7, 0])),
            with(other(IPVS_DEST_ATTR_FWD_METHOD, &[4, 0, 0, 0])), // BYPASS
            with(DestAttr::Stats(vec![StatsAttr::Other(DefaultNla::new(
                1,
                vec![0; 6],
            ))])),
            with(other(IPVS_DEST_ATTR_STATS64, &[0xff, 0, 1, 0])), // a malformed nest
        ];
        for payload in &bad {
            assert_eq!(lean_dest(payload, Family::Ipv4), None, "{payload:02x?}");
            assert!(same_dest(payload, Family::Ipv4).is_err());
        }
        // A nest that runs past the message, a message cut inside its genl header.
        let mut cut = genl(&kernel_dest_reply(&s, Some(2)));
        cut.truncate(cut.len() - 8);
        for payload in [&cut[..], &cut[..3]] {
            assert_eq!(lean_dest(payload, Family::Ipv4), None);
            assert!(same_dest(payload, Family::Ipv4).is_err());
        }
        // A tunnel of a type ipvsc does not know; a server missing its weight.
        let edit = |s: &Server, f: fn(&mut DestAttr)| {
            let mut m = kernel_dest_reply(s, None);
            let IpvsAttr::Dest(attrs) = &mut m.attrs[0] else {
                unreachable!()
            };
            attrs.iter_mut().for_each(f);
            genl(&m)
        };
        let tunnel = server("10.0.0.3", Forward::Tunnel(Tunnel::Ipip));
        for payload in [
            edit(&tunnel, |a| {
                if let DestAttr::TunType(t) = a {
                    *t = 9;
                }
            }),
            edit(&s, |a| {
                if matches!(a, DestAttr::Weight(_)) {
                    *a = DestAttr::Other(DefaultNla::new(0x7f, Vec::new()));
                }
            }),
        ] {
            assert_eq!(lean_dest(&payload, Family::Ipv4), None);
            assert!(same_dest(&payload, Family::Ipv4).is_err());
        }

        // Services: an unknown scheduler, a FLAGS of the wrong size, an IPv6 netmask above 128.
        let mut sched = service_reply(&Service::new(key("10.0.0.1", 80)));
        let IpvsAttr::Service(attrs) = &mut sched.attrs[0] else {
            unreachable!()
        };
        for a in attrs.iter_mut() {
            if let SvcAttr::SchedName(n) = a {
                *n = "nope".into();
            }
        }
        let svc_with = |extra: SvcAttr| {
            let mut m = service_reply(&Service::new(ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: 3,
            }));
            let IpvsAttr::Service(attrs) = &mut m.attrs[0] else {
                unreachable!()
            };
            attrs.push(extra);
            genl(&m)
        };
        for payload in [
            genl(&sched),
            svc_with(SvcAttr::Other(DefaultNla::new(
                IPVS_SVC_ATTR_FLAGS,
                vec![0; 4],
            ))),
            svc_with(SvcAttr::Netmask(129)),
            svc_with(SvcAttr::Other(DefaultNla::new(
                IPVS_SVC_ATTR_SCHED_NAME,
                vec![0xff, 0],
            ))),
        ] {
            assert_eq!(lean_service(&payload), None);
            assert!(same_service(&payload).is_err());
        }
    }

    // ---- the capture hook -----------------------------------------------------------------

    #[test]
    fn the_capture_hook_writes_every_datagram_in_order() {
        let dir = temp_dir("capture");
        let s = Service::new(key("10.0.0.1", 80));
        let dump = vec![(s, vec![server("10.0.1.1", Forward::Nat)])];
        let (fake, _) = Fake::new(fake_ipvs(dump, Vec::new()));
        let mut k = kernel(fake, &no_sysctls());
        k.transport = Box::new(CaptureTransport {
            inner: k.transport,
            dir: dir.clone(),
            count: 0,
        });
        let ordered = k.read_ordered().unwrap();
        assert_eq!(ordered[0].1.len(), 1);

        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // GET_SERVICE: the request, the reply, NLMSG_DONE; GET_DEST the same.
        assert_eq!(
            names,
            [
                "0001-send.bin",
                "0002-recv.bin",
                "0003-recv.bin",
                "0004-send.bin",
                "0005-recv.bin",
                "0006-recv.bin"
            ]
        );
        let file = |n: &str| fs::read(dir.join(n)).unwrap();
        assert_eq!(
            file("0001-send.bin"),
            packet::serialize(
                packet::get_services(),
                FAMILY,
                NLM_F_REQUEST | NLM_F_DUMP,
                1
            )
        );
        assert_eq!(file("0003-recv.bin"), done(1, 0));
        let reply = file("0005-recv.bin");
        let payload = &reply[16..NetlinkBuffer::new(&reply[..]).length() as usize];
        assert_eq!(
            read_dest_reply(payload, Family::Ipv4).unwrap(),
            ordered[0].1[0]
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_capture_directory_comes_from_the_environment() {
        assert!(capture_dir(None).unwrap().is_none());
        assert!(capture_dir(Some("".into())).unwrap().is_none());
        let dir = temp_dir("capture-env");
        assert_eq!(
            capture_dir(Some(dir.clone().into())).unwrap(),
            Some(dir.clone())
        );
        let file = dir.join("file");
        fs::write(&file, "").unwrap();
        let e = capture_dir(Some(file.into())).unwrap_err();
        assert_eq!(e.errno, libc::ENOTDIR);
        assert!(e.reason.contains("IPVSC_CAPTURE="), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
