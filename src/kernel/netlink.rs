//! [`NetlinkKernel`]: the [`Kernel`] trait over generic netlink to the running kernel's IPVS,
//! plus the sysctls under `/proc/sys/net/ipv4/vs/`.
//!
//! Unlike libipvs, which opens a socket and resolves the family for every request, one socket
//! serves every request and the family is resolved once per process. Requests carry sequence
//! numbers and replies are matched by them, so several requests can be in flight
//! ([`NetlinkKernel::send_batch`]); dumps of any size are read datagram by datagram until
//! `NLMSG_DONE`, and a dump the kernel marks `NLM_F_DUMP_INTR` is read again.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use netlink_packet_core::{
    parse_string, parse_u16, NetlinkBuffer, NetlinkMessage, NlasIterator, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlMessage};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use serde::Serialize;

use super::packet::{self, IpvsInfo, IpvsMessage, ServerCounters, Stats};
use super::{Kernel, KernelError, Op};
use crate::model::{
    Daemon, DaemonState, DumpedService, Server, Service, Sysctl, SysctlValue, Table, Timeouts,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// Receive buffer asked of the kernel (capped by `net.core.rmem_max`): room for the replies of
/// a whole batch window.
const SOCKET_RCVBUF: libc::c_int = 1 << 20;
/// The initial size of the buffer datagrams are read into. The kernel sizes dump datagrams by
/// the largest buffer it has seen us read with, up to 32 KiB.
const RECV_BUF: usize = 64 * 1024;
/// Requests written by one `send()` at most, and so replies queued at once: acks of ~1 KiB of
/// socket memory each must fit the receive buffer, or the kernel drops them (ENOBUFS).
const MAX_IN_FLIGHT: usize = 64;
/// Bytes written by one `send()` at most; the kernel refuses a datagram above its send buffer.
const SEND_CHUNK: usize = 32 * 1024;
/// How often a dump is read again when the kernel marks it interrupted.
const DUMP_ATTEMPTS: usize = 4;
/// `NLMSGERR_ATTR_MSG`: the extended ack's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// How to move datagrams; a socket, or canned replies in the tests.
trait Transport {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()>;
    /// Reads one whole datagram into `buf`, replacing its contents.
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()>;
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
}

/// Reads one datagram whole, however big: peeks at its length (MSG_PEEK | MSG_TRUNC report the
/// full length), grows the buffer if needed, then reads it.
fn recv_datagram(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<()> {
    let recv = |buf: &mut Vec<u8>, flags: libc::c_int| -> io::Result<usize> {
        buf.clear();
        loop {
            let spare = buf.spare_capacity_mut();
            // SAFETY: recv writes at most spare.len() bytes into the vector's spare capacity.
            let n = unsafe { libc::recv(fd, spare.as_mut_ptr().cast(), spare.len(), flags) };
            if n >= 0 {
                let n = n as usize;
                // SAFETY: the first min(n, capacity) bytes were written by recv.
                unsafe { buf.set_len(n.min(buf.capacity())) };
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    };
    if buf.capacity() < RECV_BUF {
        buf.reserve(RECV_BUF);
    }
    let len = recv(buf, libc::MSG_PEEK | libc::MSG_TRUNC)?;
    if len > buf.capacity() {
        buf.clear();
        buf.reserve(len);
    }
    let got = recv(buf, 0)?;
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
            Failure::Io { errno, text } if errno == libc::ENOBUFS => KernelError::new(
                errno,
                doing,
                format!(
                    "the kernel's replies overflowed the socket buffer ({text}), so whether \
                     this was done is unknown: read the table again"
                ),
            ),
            Failure::Io { errno, text } => KernelError::new(
                errno,
                doing,
                format!("the netlink socket failed ({text}), so whether this was done is unknown"),
            ),
            Failure::Decode(text) => {
                KernelError::new(0, doing, format!("the kernel's reply could not be read: {text}"))
            }
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

/// One request in flight and what has come back for it.
#[derive(Debug)]
struct Pending {
    seq: u32,
    /// The genl payloads of the replies, in order.
    replies: Vec<Vec<u8>>,
    /// A reply carried NLM_F_DUMP_INTR: the dump may be inconsistent.
    interrupted: bool,
    /// Set by the ACK, the error or NLMSG_DONE that ends the request.
    done: Option<Result<(), Failure>>,
}

impl Pending {
    fn new(seq: u32) -> Pending {
        Pending {
            seq,
            replies: Vec::new(),
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
            _ => self.replies.push(payload.to_vec()),
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

/// Walks the netlink messages of one datagram by their aligned lengths and hands each to the
/// pending request with its sequence number; messages of no pending request (leftovers of an
/// abandoned request) are skipped.
fn absorb(datagram: &[u8], pending: &mut [Pending]) -> Result<(), String> {
    let mut offset = 0;
    while datagram.len().saturating_sub(offset) >= 16 {
        let buf = NetlinkBuffer::new_checked(&datagram[offset..]).map_err(|e| e.to_string())?;
        let len = buf.length() as usize;
        let seq = buf.sequence_number();
        if let Some(p) = pending
            .iter_mut()
            .find(|p| p.seq == seq && p.done.is_none())
        {
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
        let _ = socket.set_rx_buf_sz(SOCKET_RCVBUF);
        let mut kernel = NetlinkKernel {
            transport: Box::new(SocketTransport(socket)),
            family: 0,
            seq: 0,
            rx: Vec::with_capacity(RECV_BUF),
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
        p.replies
            .iter()
            .find_map(|payload| family_id_of(payload))
            .ok_or_else(|| {
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

    /// A dump: every reply up to NLMSG_DONE, read again while the kernel marks it interrupted.
    fn dump(&mut self, request: &IpvsMessage) -> Result<Vec<IpvsMessage>, Failure> {
        for _ in 0..DUMP_ATTEMPTS {
            let seq = self.next_seq();
            let bytes = packet::serialize(
                request.clone(),
                self.family,
                NLM_F_REQUEST | NLM_F_DUMP,
                seq,
            );
            self.transport.send(&bytes).map_err(Failure::io)?;
            let mut pending = [Pending::new(seq)];
            self.wait(&mut pending)?;
            let [p] = pending;
            p.done.expect("waited")?;
            if !p.interrupted {
                return p
                    .replies
                    .iter()
                    .map(|r| packet::parse_genl(r).map_err(Failure::decode))
                    .collect();
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
            .first()
            .ok_or_else(|| Failure::decode("no reply"))?;
        packet::parse_genl(reply).map_err(Failure::decode)
    }

    /// Every service with its counters and its servers with theirs, in the kernel's dump order:
    /// GET_SERVICE, then GET_DEST per service (`ipvsadm -L -n --stats`).
    pub fn stats(&mut self) -> Result<Vec<ServiceStats>, KernelError> {
        const DOING: &str = "list the virtual services";
        let replies = self
            .dump(&packet::get_services())
            .map_err(|f| f.into_read_error(DOING))?;
        let mut out = Vec::with_capacity(replies.len());
        for reply in &replies {
            let (mut service, stats) = packet::parse_service_reply(reply)
                .map_err(|e| Failure::decode(e).into_read_error(DOING))?;
            let doing = format!("list the real servers of service {}", service.key);
            let dests = self
                .dump(&packet::get_dests(&service.key))
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
    pub fn read_ordered(&mut self) -> Result<DumpOrder, KernelError> {
        Ok(self
            .stats()?
            .into_iter()
            .map(|s| {
                (
                    s.service,
                    s.servers.into_iter().map(|(server, _)| server).collect(),
                )
            })
            .collect())
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
            .dump(&packet::get_daemons())
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
    /// written together (up to 64 requests or 32 KiB per `send()`), each asking for an ACK, and
    /// the ACKs are matched to the requests by sequence number. A sysctl write waits for the
    /// requests before it. Returns one result per op, in order.
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
            let mut datagram = Vec::new();
            let mut pending = Vec::new();
            while i < ops.len() && pending.len() < MAX_IN_FLIGHT {
                let Some(request) = packet::request_for(&ops[i]) else {
                    break;
                };
                let seq = self.next_seq();
                let bytes = packet::serialize(request, self.family, NLM_F_REQUEST | NLM_F_ACK, seq);
                if !pending.is_empty() && datagram.len() + bytes.len() > SEND_CHUNK {
                    break;
                }
                datagram.extend_from_slice(&bytes);
                pending.push(Pending::new(seq));
                i += 1;
            }
            let outcome = self
                .transport
                .send(&datagram)
                .map_err(Failure::io)
                .and_then(|()| self.wait(&mut pending));
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

    use netlink_packet_core::{Emitable, NLM_F_MULTIPART};
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
            assert!(e.reason.contains("unknown"), "{e}");
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
}
