//! `ipvsc-floor DIR`: the floor of a load, for bench/scale.sh. It replays the IPVS write requests
//! of a capture of `ipvsc apply` (`IPVSC_CAPTURE=DIR`, see src/kernel/capture.rs) over one generic
//! netlink socket and reads their ACKs, and does nothing else: what it takes is the kernel's and
//! the socket's share of a load, without any of ipvsc's parsing, planning or reading back.
//!
//! The datagrams go out exactly as captured, in the capture's order, one `send()` each, as
//! ipvsc batched them (up to 512 requests or 64 KiB); the ACKs of a datagram are read 64 per
//! `recvmmsg` until each of its requests has one, then the next datagram goes. The socket asks
//! for the receive buffer ipvsc asks for (1 MiB, which the kernel doubles), extended ACKs and
//! capped ACKs, as ipvsc's does. The family lookup, the reads (GET commands) and the dumps of
//! the capture are left out. The IPVS family id in the captured requests holds only in the boot
//! the capture was made in: capture and replay in the same boot.
//!
//! `ipvsc-floor --with-reads DIR` also replays the reads the capture made after its first write
//! (an apply's read-back: the dump of the services, each service's dump of its servers, the
//! daemons and the timeouts), in the capture's order and on one thread, reading every reply
//! until the request's ACK or NLMSG_DONE without decoding any: the kernel's share of an apply
//! that confirms what it wrote. Each read goes as ipvsc's does: the dump of the services on a
//! socket of its own read 32 KiB at a time, every other read with the exact length of each
//! datagram (so that the kernel keeps its datagrams at one page).
//!
//! Prints on standard output the requests and datagrams written (and reads replayed) and the
//! seconds the socket took (from the first `send()` to the last reply). Exit status: 0 every request acknowledged, 1 the
//! kernel refused one (said on standard error), 2 the capture cannot be read or holds something
//! else, 3 the socket failed.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use rustix::io::retry_on_intr;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// The generic netlink controller's message type (`GENL_ID_CTRL`): the family lookup.
const GENL_ID_CTRL: u16 = 0x10;
/// Message types below this are netlink's own (`NLMSG_MIN_TYPE`).
const NLMSG_MIN_TYPE: u16 = 0x10;
const NLMSG_ERROR: u16 = 2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// From include/uapi/linux/netlink.h (the libc crate has them for Android only).
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
/// What ipvsc asks for (src/kernel/socket.rs); granted in full, doubled, to root.
const RECV_BUFFER: usize = 1 << 20;
/// Bytes per ACK slot and slots per `recvmmsg`, as ipvsc reads them (src/kernel/transport.rs).
const ACK_SLOT: usize = 2048;
const ACK_SLOTS: usize = 64;

/// The IPVS commands that change the kernel's table (include/uapi/linux/ip_vs.h).
const WRITES: [(u8, &str); 11] = [
    (1, "NEW_SERVICE"),
    (2, "SET_SERVICE"),
    (3, "DEL_SERVICE"),
    (5, "NEW_DEST"),
    (6, "SET_DEST"),
    (7, "DEL_DEST"),
    (9, "NEW_DAEMON"),
    (10, "DEL_DAEMON"),
    (12, "SET_CONFIG"),
    (16, "ZERO"),
    (17, "FLUSH"),
];
/// GET_SERVICE, GET_DEST, GET_DAEMON, GET_CONFIG, GET_INFO.
const READS: [u8; 5] = [4, 8, 11, 13, 15];
const GET_SERVICE: u8 = 4;
const NLMSG_DONE: u16 = 3;
/// What ipvsc reads the dump of the services with (src/kernel/socket.rs).
const BULK_READ: usize = 32 * 1024;

/// Why the replay stopped; each has its exit status.
#[derive(Debug)]
enum Failure {
    Refused(String),
    Capture(String),
    Socket(String),
}

impl Failure {
    fn exit(&self) -> (u8, &str) {
        match self {
            Failure::Refused(why) => (1, why),
            Failure::Capture(why) => (2, why),
            Failure::Socket(why) => (3, why),
        }
    }
}

/// One captured datagram of write requests.
#[derive(Debug)]
struct Batch {
    file: PathBuf,
    bytes: Vec<u8>,
    /// Each request's sequence number and command, in order.
    requests: Vec<(u32, u8)>,
}

/// One captured read request to replay (`--with-reads`): a datagram of one IPVS read.
#[derive(Debug)]
struct Read {
    file: PathBuf,
    bytes: Vec<u8>,
    seq: u32,
    /// The dump of the services, read on a socket of its own in large datagrams.
    bulk: bool,
}

/// What the replay sends, in the capture's order.
#[derive(Debug)]
enum Step {
    Write(Batch),
    Read(Read),
}

/// A netlink message of a datagram: its header's type, flags and sequence number, and the bytes
/// after the header (cut short when the datagram was).
struct Message<'a> {
    kind: u16,
    flags: u16,
    seq: u32,
    payload: &'a [u8],
}

/// The messages of a datagram, by their aligned lengths; a message longer than what is left
/// (a datagram cut to its slot) is the last one, with what is left.
fn messages(datagram: &[u8]) -> Result<Vec<Message<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        if rest.len() < NLMSG_HDRLEN {
            return Err(format!("{} stray bytes after a message", rest.len()));
        }
        let u32_at = |at: usize| u32::from_ne_bytes(rest[at..at + 4].try_into().unwrap());
        let u16_at = |at: usize| u16::from_ne_bytes(rest[at..at + 2].try_into().unwrap());
        let len = u32_at(0) as usize;
        if len < NLMSG_HDRLEN {
            return Err(format!("a message of length {len}"));
        }
        let end = len.min(rest.len());
        out.push(Message {
            kind: u16_at(4),
            flags: u16_at(6),
            seq: u32_at(8),
            payload: &rest[NLMSG_HDRLEN..end],
        });
        rest = &rest[(len.next_multiple_of(4)).min(rest.len())..];
    }
    Ok(out)
}

fn write_name(cmd: u8) -> Option<&'static str> {
    WRITES
        .iter()
        .find(|(c, _)| *c == cmd)
        .map(|(_, name)| *name)
}

/// The write requests of a datagram: the IPVS family id they are sent to, and each one's
/// sequence number and command.
#[derive(Debug, PartialEq)]
struct Writes {
    family: u16,
    requests: Vec<(u32, u8)>,
}

/// The write requests of one sent datagram, or `None` for a datagram of none (the family
/// lookup, a read, a dump). A datagram mixing both cannot be sent as captured: an error.
fn write_requests(datagram: &[u8]) -> Result<Option<Writes>, String> {
    let mut family = None;
    let mut writes = Vec::new();
    let mut others = 0;
    for m in messages(datagram)? {
        if m.kind == GENL_ID_CTRL {
            others += 1;
            continue;
        }
        if m.kind < NLMSG_MIN_TYPE {
            return Err(format!("a netlink control message (type {})", m.kind));
        }
        let &cmd = m.payload.first().ok_or("a message without a genl header")?;
        if m.flags & NLM_F_DUMP == NLM_F_DUMP || READS.contains(&cmd) {
            others += 1;
            continue;
        }
        if write_name(cmd).is_none() {
            return Err(format!("unknown IPVS command {cmd}"));
        }
        if m.flags & NLM_F_ACK == 0 {
            return Err(format!("request {} asks for no ACK", m.seq));
        }
        if family.is_some_and(|f| f != m.kind) {
            return Err("requests of two families".into());
        }
        family = Some(m.kind);
        writes.push((m.seq, cmd));
    }
    match (family, others) {
        (None, _) => Ok(None),
        (Some(family), 0) => Ok(Some(Writes {
            family,
            requests: writes,
        })),
        (Some(_), _) => Err("write requests beside other messages in one datagram".into()),
    }
}

/// The sequence number of a datagram that is one IPVS read request of `family`, and whether it
/// is the dump of the services; `None` for the family lookup.
fn read_request(datagram: &[u8], family: u16) -> Result<Option<(u32, bool)>, String> {
    let messages = messages(datagram)?;
    let [m] = &messages[..] else {
        return Err(format!(
            "{} messages in a datagram of reads (ipvsc sends each read alone)",
            messages.len()
        ));
    };
    if m.kind == GENL_ID_CTRL {
        return Ok(None);
    }
    if m.kind != family {
        return Err(format!("a read of family {}, not {family}", m.kind));
    }
    let &cmd = m.payload.first().ok_or("a message without a genl header")?;
    if !READS.contains(&cmd) {
        return Err(format!("IPVS command {cmd} where a read was due"));
    }
    Ok(Some((m.seq, cmd == GET_SERVICE)))
}

/// The `NNNN-send.bin` files of `dir`, in the order of their numbers (past 9999 they have more
/// digits, and their names no longer sort).
fn sent_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut numbered = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        // `NNNN-r2-send.bin`: a datagram of ipvsc's second reader, in the same numbering.
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_suffix("-send.bin"))
            .map(|n| n.strip_suffix("-r2").unwrap_or(n))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        numbered.push((n, dir.join(name)));
    }
    numbered.sort();
    Ok(numbered.into_iter().map(|(_, path)| path).collect())
}

/// Every datagram of write requests the capture in `dir` sent, in order; with `with_reads`,
/// also every read request sent after the first write.
fn load(dir: &Path, with_reads: bool) -> Result<Vec<Step>, Failure> {
    let capture = |e: String| Failure::Capture(e);
    let files =
        sent_files(dir).map_err(|e| capture(format!("cannot read {}: {e}", dir.display())))?;
    let mut family = None;
    let mut batches = Vec::new();
    for file in files {
        let bytes =
            fs::read(&file).map_err(|e| capture(format!("cannot read {}: {e}", file.display())))?;
        let kept =
            write_requests(&bytes).map_err(|e| capture(format!("{}: {e}", file.display())))?;
        let Some(Writes {
            family: kind,
            requests,
        }) = kept
        else {
            // Reads before the first write are the table read before the plan: not replayed.
            let Some(family) = family.filter(|_| with_reads) else {
                continue;
            };
            let read = read_request(&bytes, family)
                .map_err(|e| capture(format!("{}: {e}", file.display())))?;
            if let Some((seq, bulk)) = read {
                batches.push(Step::Read(Read {
                    file,
                    bytes,
                    seq,
                    bulk,
                }));
            }
            continue;
        };
        if family.is_some_and(|f| f != kind) {
            return Err(capture(format!(
                "{}: requests of another family than the ones before",
                file.display()
            )));
        }
        family = Some(kind);
        batches.push(Step::Write(Batch {
            file,
            bytes,
            requests,
        }));
    }
    if family.is_none() {
        return Err(capture(format!(
            "no IPVS write request in {} (an IPVSC_CAPTURE directory of `ipvsc apply`)",
            dir.display()
        )));
    }
    Ok(batches)
}

/// A generic netlink socket set up as ipvsc sets up its own.
fn open() -> io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::GENERIC),
    )?;
    let kernel = SocketAddrNetlink::new(0, 0);
    rustix::net::bind(&fd, &kernel)?;
    rustix::net::connect(&fd, &kernel)?;
    set_netlink_flag(fd.as_fd(), NETLINK_EXT_ACK)?;
    set_netlink_flag(fd.as_fd(), NETLINK_CAP_ACK)?;
    if sockopt::set_socket_recv_buffer_size_force(&fd, RECV_BUFFER).is_err() {
        sockopt::set_socket_recv_buffer_size(&fd, RECV_BUFFER)?;
    }
    Ok(fd)
}

/// `setsockopt(fd, SOL_NETLINK, option, 1)`, which rustix does not have for these options.
fn set_netlink_flag(fd: BorrowedFd, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket borrowed for the call; the value points at a c_int that
    // lives through the call, and its size is given.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_NETLINK,
            option,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Where ACKs are read: [`ACK_SLOTS`] slots of [`ACK_SLOT`] bytes, and the length read into
/// each by the last `recvmmsg`.
struct Acks {
    bytes: Vec<u8>,
    lens: Vec<usize>,
}

impl Acks {
    fn new() -> Acks {
        Acks {
            bytes: vec![0; ACK_SLOT * ACK_SLOTS],
            lens: Vec::with_capacity(ACK_SLOTS),
        }
    }

    /// Waits for one datagram, then takes whatever else is queued, up to the slots.
    fn recv(&mut self, fd: BorrowedFd) -> io::Result<()> {
        self.lens.clear();
        // SAFETY: iovec and mmsghdr are C structs of integers and pointers, for which all zeroes
        // (zero lengths, null pointers) are valid values.
        let mut iovs: [libc::iovec; ACK_SLOTS] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; ACK_SLOTS] = unsafe { std::mem::zeroed() };
        for ((iov, msg), slot) in iovs
            .iter_mut()
            .zip(msgs.iter_mut())
            .zip(self.bytes.chunks_exact_mut(ACK_SLOT))
        {
            iov.iov_base = slot.as_mut_ptr().cast();
            iov.iov_len = ACK_SLOT;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
        }
        let n = loop {
            // SAFETY: `fd` is an open socket borrowed for the call; each of the ACK_SLOTS
            // messages points at its own iovec, which points at its own ACK_SLOT bytes of
            // `self.bytes`; all of them outlive the call and nothing else touches them during
            // it. A null timeout waits without limit.
            let n = unsafe {
                libc::recvmmsg(
                    fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    ACK_SLOTS as libc::c_uint,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                break n as usize;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        self.lens
            .extend(msgs[..n].iter().map(|m| (m.msg_len as usize).min(ACK_SLOT)));
        Ok(())
    }

    fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        self.lens
            .iter()
            .zip(self.bytes.chunks_exact(ACK_SLOT))
            .map(|(&len, slot)| &slot[..len])
    }
}

/// Sends `batch` and reads an ACK for each of its requests.
fn replay(fd: BorrowedFd, batch: &Batch, acks: &mut Acks) -> Result<(), Failure> {
    let socket = |doing: &str, e: io::Error| {
        Failure::Socket(format!("{doing} ({}): {e}", batch.file.display()))
    };
    let sent = retry_on_intr(|| rustix::net::send(fd, &batch.bytes, SendFlags::empty()))
        .map_err(|e| socket("send", e.into()))?;
    if sent != batch.bytes.len() {
        return Err(socket(
            "send",
            io::Error::other(format!("{sent} of {} bytes sent", batch.bytes.len())),
        ));
    }
    let first = batch.requests[0].0;
    let mut acked = vec![false; batch.requests.len()];
    let mut left = acked.len();
    while left > 0 {
        acks.recv(fd).map_err(|e| socket("recvmmsg", e))?;
        for datagram in acks.datagrams() {
            let messages =
                messages(datagram).map_err(|e| socket("reading an ACK", io::Error::other(e)))?;
            for m in messages {
                let at = m.seq.wrapping_sub(first) as usize;
                let i = if batch.requests.get(at).is_some_and(|r| r.0 == m.seq) {
                    at
                } else {
                    batch
                        .requests
                        .iter()
                        .position(|r| r.0 == m.seq)
                        .ok_or_else(|| {
                            socket(
                                "reading an ACK",
                                io::Error::other(format!(
                                    "a reply to no request of the datagram (sequence number {})",
                                    m.seq
                                )),
                            )
                        })?
                };
                let code = match m.payload.get(..4) {
                    Some(b) if m.kind == NLMSG_ERROR => i32::from_ne_bytes(b.try_into().unwrap()),
                    _ => {
                        return Err(socket(
                            "reading an ACK",
                            io::Error::other(format!(
                                "message type {} where an ACK was due",
                                m.kind
                            )),
                        ))
                    }
                };
                if code != 0 {
                    let cmd = batch.requests[i].1;
                    return Err(Failure::Refused(format!(
                        "the kernel refused request {} ({}) of {}: {}",
                        m.seq,
                        write_name(cmd).unwrap_or("?"),
                        batch.file.display(),
                        io::Error::from_raw_os_error(-code)
                    )));
                }
                if std::mem::replace(&mut acked[i], true) {
                    return Err(socket(
                        "reading an ACK",
                        io::Error::other(format!("a second ACK of request {}", m.seq)),
                    ));
                }
                left -= 1;
            }
        }
    }
    Ok(())
}

/// One datagram read as ipvsc reads: its length first (a peek), then the datagram into a
/// buffer of that length, or of `at_least` bytes when larger.
fn recv_datagram(fd: BorrowedFd, buf: &mut Vec<u8>, at_least: usize) -> io::Result<()> {
    let peek = RecvFlags::PEEK | RecvFlags::TRUNC;
    let (_, len) = retry_on_intr(|| rustix::net::recv(fd, &mut [0u8; 0], peek))?;
    buf.clear();
    buf.resize(len.max(at_least), 0);
    let (copied, got) = retry_on_intr(|| rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()))?;
    buf.truncate(copied);
    if got > copied {
        return Err(io::Error::other("a datagram was truncated"));
    }
    Ok(())
}

/// Sends `read` (on `bulk` when it is the dump of the services) and reads its replies until
/// its ACK or NLMSG_DONE, decoding nothing but the headers.
fn replay_read(
    main: BorrowedFd,
    bulk: BorrowedFd,
    read: &Read,
    buf: &mut Vec<u8>,
) -> Result<(), Failure> {
    let socket = |doing: &str, e: io::Error| {
        Failure::Socket(format!("{doing} ({}): {e}", read.file.display()))
    };
    let (fd, at_least) = if read.bulk {
        (bulk, BULK_READ)
    } else {
        (main, 0)
    };
    retry_on_intr(|| rustix::net::send(fd, &read.bytes, SendFlags::empty()))
        .map_err(|e| socket("send", e.into()))?;
    loop {
        recv_datagram(fd, buf, at_least).map_err(|e| socket("recv", e))?;
        let messages = messages(buf).map_err(|e| socket("reading a reply", io::Error::other(e)))?;
        for m in messages.iter().filter(|m| m.seq == read.seq) {
            if m.kind != NLMSG_ERROR && m.kind != NLMSG_DONE {
                continue;
            }
            let code = m
                .payload
                .get(..4)
                .map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap()));
            if code < 0 {
                return Err(Failure::Refused(format!(
                    "the kernel refused the read {} of {}: {}",
                    m.seq,
                    read.file.display(),
                    io::Error::from_raw_os_error(-code)
                )));
            }
            return Ok(());
        }
    }
}

fn run(dir: &Path, with_reads: bool) -> Result<(), Failure> {
    let steps = load(dir, with_reads)?;
    let open_one = || {
        open().map_err(|e| Failure::Socket(format!("cannot open a generic netlink socket: {e}")))
    };
    let fd = open_one()?;
    let bulk = open_one()?;
    let mut acks = Acks::new();
    let mut buf = Vec::new();
    let (mut requests, mut datagrams, mut reads) = (0, 0, 0);
    let started = Instant::now();
    for step in &steps {
        match step {
            Step::Write(batch) => {
                replay(fd.as_fd(), batch, &mut acks)?;
                requests += batch.requests.len();
                datagrams += 1;
            }
            Step::Read(read) => {
                replay_read(fd.as_fd(), bulk.as_fd(), read, &mut buf)?;
                reads += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let reads = if with_reads {
        format!(" and {reads} reads")
    } else {
        String::new()
    };
    println!(
        "ipvsc-floor: {requests} requests in {datagrams} datagrams{reads}, acknowledged in {seconds:.3} s"
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let (with_reads, dir) = match &args[..] {
        [dir] => (false, dir),
        [flag, dir] if flag == "--with-reads" => (true, dir),
        _ => {
            eprintln!(
                "usage: ipvsc-floor [--with-reads] DIR   (DIR: the IPVSC_CAPTURE directory of an `ipvsc apply`)"
            );
            return ExitCode::from(2);
        }
    };
    match run(Path::new(dir), with_reads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let (code, why) = failure.exit();
            eprintln!("ipvsc-floor: {why}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPVS: u16 = 0x1d;

    fn message(kind: u16, flags: u16, seq: u32, cmd: u8, attrs: usize) -> Vec<u8> {
        let len = NLMSG_HDRLEN + 4 + attrs;
        let mut m = Vec::new();
        m.extend((len as u32).to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend(flags.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend([cmd, 1, 0, 0]);
        m.resize(len.next_multiple_of(4), 0xaa);
        m
    }

    const REQUEST_ACK: u16 = 0x1 | NLM_F_ACK;

    #[test]
    fn keeps_a_datagram_of_writes() {
        let mut d = message(IPVS, REQUEST_ACK, 7, 1, 10);
        d.extend(message(IPVS, REQUEST_ACK, 8, 5, 33));
        let writes = Writes {
            family: IPVS,
            requests: vec![(7, 1), (8, 5)],
        };
        assert_eq!(write_requests(&d), Ok(Some(writes)));
    }

    #[test]
    fn skips_the_family_lookup_reads_and_dumps() {
        assert_eq!(
            write_requests(&message(GENL_ID_CTRL, 0x5, 1, 3, 12)),
            Ok(None)
        );
        assert_eq!(
            write_requests(&message(IPVS, 0x1 | 0x300, 2, 4, 0)),
            Ok(None)
        );
        assert_eq!(
            write_requests(&message(IPVS, REQUEST_ACK, 3, 15, 0)),
            Ok(None)
        );
    }

    #[test]
    fn refuses_what_it_cannot_send_as_captured() {
        let mut mixed = message(IPVS, REQUEST_ACK, 1, 5, 8);
        mixed.extend(message(IPVS, 0x1 | 0x300, 2, 8, 8));
        assert!(write_requests(&mixed).is_err());
        assert!(
            write_requests(&message(IPVS, 0x1, 1, 5, 8)).is_err(),
            "no ACK asked"
        );
        assert!(write_requests(&message(IPVS, REQUEST_ACK, 1, 14, 8)).is_err());
        assert!(write_requests(&message(IPVS, REQUEST_ACK, 1, 5, 8)[..10]).is_err());
    }

    #[test]
    fn reads_a_message_cut_short() {
        let m = message(NLMSG_ERROR, 0, 9, 0, 200);
        let cut = messages(&m[..40]).unwrap();
        assert_eq!(cut.len(), 1);
        assert_eq!(
            (cut[0].kind, cut[0].seq, cut[0].payload.len()),
            (NLMSG_ERROR, 9, 24)
        );
    }

    #[test]
    fn keeps_a_read_alone_in_its_datagram() {
        let dump = 0x1 | 0x300;
        assert_eq!(
            read_request(&message(IPVS, dump, 4, GET_SERVICE, 0), IPVS),
            Ok(Some((4, true)))
        );
        assert_eq!(
            read_request(&message(IPVS, dump, 5, 8, 12), IPVS),
            Ok(Some((5, false)))
        );
        assert_eq!(
            read_request(&message(GENL_ID_CTRL, REQUEST_ACK, 1, 3, 12), IPVS),
            Ok(None)
        );
        let mut two = message(IPVS, dump, 6, 8, 12);
        two.extend(message(IPVS, dump, 7, 8, 12));
        assert!(
            read_request(&two, IPVS).is_err(),
            "two reads in one datagram"
        );
        assert!(read_request(&message(IPVS, REQUEST_ACK, 8, 5, 12), IPVS).is_err());
        assert!(read_request(&message(IPVS + 1, dump, 9, 8, 12), IPVS).is_err());
    }

    #[test]
    fn with_reads_keeps_the_reads_after_the_first_write() {
        let dir = std::env::temp_dir().join(format!("ipvsc-floor-reads-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let dump = 0x1 | 0x300;
        let files: [(&str, Vec<u8>); 5] = [
            ("0001-send.bin", message(IPVS, dump, 1, GET_SERVICE, 0)),
            ("0003-send.bin", message(IPVS, REQUEST_ACK, 2, 1, 20)),
            ("0005-send.bin", message(IPVS, dump, 3, GET_SERVICE, 0)),
            ("0006-r2-send.bin", message(IPVS, dump, 1, 8, 12)),
            ("0007-recv.bin", message(NLMSG_ERROR, 0, 2, 0, 20)),
        ];
        for (name, bytes) in &files {
            fs::write(dir.join(name), bytes).unwrap();
        }
        let kinds = |steps: Vec<Step>| -> Vec<String> {
            steps
                .iter()
                .map(|s| match s {
                    Step::Write(b) => format!("write {}", b.requests[0].0),
                    Step::Read(r) => format!("read {} bulk {}", r.seq, r.bulk),
                })
                .collect()
        };
        assert_eq!(kinds(load(&dir, false).unwrap()), ["write 2"]);
        assert_eq!(
            kinds(load(&dir, true).unwrap()),
            ["write 2", "read 3 bulk true", "read 1 bulk false"]
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn orders_files_by_number() {
        let dir = std::env::temp_dir().join(format!("ipvsc-floor-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for name in [
            "9999-send.bin",
            "10000-send.bin",
            "0002-send.bin",
            "0003-recv.bin",
            "0004-r2-send.bin",
        ] {
            fs::write(dir.join(name), "").unwrap();
        }
        let names: Vec<String> = sent_files(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "0002-send.bin",
                "0004-r2-send.bin",
                "9999-send.bin",
                "10000-send.bin"
            ]
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
