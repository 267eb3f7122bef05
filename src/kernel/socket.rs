//! The generic netlink socket: opening it, sizing its receive buffer, and moving datagrams
//! through it. netlink-sys opens and binds it; the system calls are rustix's, except
//! `recvmmsg`, which rustix does not have (it has `sendmmsg` only): that one is the only
//! `unsafe` of the transport, in [`recv_many`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::retry_on_intr;
use rustix::net::{sockopt, RecvFlags, SendFlags};

use super::transport::{Acks, Transport, ACK_SLOT, ACK_SLOTS};

/// Receive buffer asked of the kernel: room for the ACKs of a whole batch window. Granted in
/// full with CAP_NET_ADMIN (which IPVS needs anyway), else capped by `net.core.rmem_max`.
const SOCKET_RCVBUF: usize = 1 << 20;
/// The initial capacity of the buffer datagrams are read into (it grows for a bigger one). Each
/// datagram is read with its own length, not the buffer's: see [`recv_datagram`].
pub(super) const RECV_BUF: usize = 64 * 1024;
/// The length of each read on the bulk socket: the kernel's largest dump datagram (32 KiB less
/// the skb's overhead) fits.
const BULK_READ: usize = 32 * 1024;
/// Socket memory counted for each ACK queued on the receive buffer: about 768 bytes on 6.1
/// (a 512-byte head plus the `sk_buff`), doubled for margin. A batch's ACKs must all fit the
/// receive buffer, or the kernel drops them (ENOBUFS) and the outcome of a write is unknown.
const ACK_MEMORY: usize = 2048;
/// How long a wait for ACKs lasts with nothing to read. The kernel performs the requests of a
/// `send()` before the call returns and queues their ACKs then, so an ACK not queued by then
/// is not coming: the kernel sends none for a request whose handler reports it interrupted
/// (EINTR; on 6.1, stopping a sync daemon whose thread had not started running, which a
/// rollback right after a start does). Waiting without limit hung `apply` there, lock held.
pub(super) const ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// The fewest and the most requests written by one `send()`; between them, as many as the
/// socket's receive buffer has room for the ACKs of.
pub(super) const WINDOW: std::ops::RangeInclusive<usize> = 16..=512;

/// Generic netlink sockets connected to the kernel: one for every request but the dump of the
/// services, and one for that dump ([`Channel::Bulk`](super::transport::Channel)), opened when
/// first used.
pub(super) struct NetlinkSocket {
    main: Socket,
    bulk: Option<Socket>,
}

impl NetlinkSocket {
    /// Opens, binds and connects the socket, asks for extended ACKs, and sizes its receive
    /// buffer. Returns it with the number of requests whose ACKs the buffer holds (the batch
    /// window, within [`WINDOW`]).
    pub(super) fn open() -> io::Result<(NetlinkSocket, usize)> {
        let main = connect()?;
        let window = size_receive_buffer(main.as_fd());
        Ok((NetlinkSocket { main, bulk: None }, window))
    }

    /// The bulk socket, opened the first time.
    fn bulk(&mut self) -> io::Result<BorrowedFd<'_>> {
        if self.bulk.is_none() {
            self.bulk = Some(connect()?);
        }
        Ok(self.bulk.as_ref().expect("just opened").as_fd())
    }
}

/// A generic netlink socket, bound and connected to the kernel, asking for extended ACKs.
fn connect() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_GENERIC)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    // Best effort: old kernels lack the options, and the defaults work.
    let _ = socket.set_ext_ack(true);
    let _ = socket.set_cap_ack(true);
    Ok(socket)
}

fn send(fd: BorrowedFd, datagram: &[u8]) -> io::Result<()> {
    retry_on_intr(|| rustix::net::send(fd, datagram, SendFlags::empty()))?;
    Ok(())
}

impl Transport for NetlinkSocket {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        send(self.main.as_fd(), datagram)
    }

    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        recv_datagram(self.main.as_fd(), buf, 0)
    }

    fn send_bulk(&mut self, datagram: &[u8]) -> io::Result<()> {
        send(self.bulk()?, datagram)
    }

    fn recv_bulk(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        recv_datagram(self.bulk()?, buf, BULK_READ)
    }

    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        recv_many(self.main.as_fd(), acks, ACK_WAIT)
    }

    /// A socket of its own, read like the main one (each datagram with its own length).
    fn fork(&mut self) -> io::Result<Option<Box<dyn Transport>>> {
        let main = connect()?;
        Ok(Some(Box::new(NetlinkSocket { main, bulk: None })))
    }
}

/// Asks for a receive buffer of [`SOCKET_RCVBUF`] and returns how many requests' ACKs the buffer
/// the kernel granted holds, within [`WINDOW`].
fn size_receive_buffer(fd: BorrowedFd) -> usize {
    // Best effort: without the privilege, or the options, the defaults work.
    if sockopt::set_socket_recv_buffer_size_force(fd, SOCKET_RCVBUF).is_err() {
        let _ = sockopt::set_socket_recv_buffer_size(fd, SOCKET_RCVBUF);
    }
    let bytes = sockopt::socket_recv_buffer_size(fd).unwrap_or(0);
    (bytes / ACK_MEMORY).clamp(*WINDOW.start(), *WINDOW.end())
}

/// Reads one datagram whole, however big: peeks at its length (MSG_PEEK | MSG_TRUNC into no
/// buffer at all report the full length and copy nothing), then reads it with a buffer of that
/// length, or of `at_least` bytes if more.
///
/// The buffer's length matters: the kernel sizes the datagrams of a dump by the longest read it
/// has seen on the socket (`max_recvmsg_len`, up to 32 KiB less the skb's overhead). On the main
/// socket every datagram is read with exactly its own length (`at_least` 0), which keeps dumps
/// at one page per datagram (`NLMSG_GOODSIZE`): that holds a service's GET_DEST reply of about
/// ten servers, where a larger datagram would be a high-order allocation for each, and one more
/// for its `NLMSG_DONE`. On the 6.1 test kernel that made reading 2,000 services of 10 servers
/// take 0.22 s of kernel time instead of 0.42 s (BENCHMARKS.md).
///
/// The dump of the services is the opposite case. IPVS fills each of its datagrams by walking
/// the service table from the start, skipping what earlier datagrams held, so the dump's cost
/// grows with the services times the datagrams: with pages, reading 100,000 services took about
/// a minute of kernel time in the test guest. It is read on its own socket with
/// [`BULK_READ`]-byte reads, so that its datagrams hold eight times as many services.
pub(super) fn recv_datagram(fd: BorrowedFd, buf: &mut Vec<u8>, at_least: usize) -> io::Result<()> {
    let peek = RecvFlags::PEEK | RecvFlags::TRUNC;
    let (_, len) = retry_on_intr(|| rustix::net::recv(fd, &mut [0u8; 0], peek))?;
    buf.clear();
    buf.reserve(len.max(RECV_BUF));
    // Zeroed rather than read into spare capacity: safe, and a page (or the few dozen bulk
    // reads of a large table) costs nothing beside the system call.
    buf.resize(len.max(at_least), 0);
    let (copied, got) = retry_on_intr(|| rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()))?;
    buf.truncate(copied);
    if got > copied {
        return Err(io::Error::other("a netlink datagram was truncated"));
    }
    Ok(())
}

/// `recvmmsg` into every slot of `acks`: waits up to `wait` for one datagram, then takes what
/// else is queued; none read when the wait ends with nothing to read ([`ACK_WAIT`]).
///
/// Hand-written on libc because rustix has no `recvmmsg`; one system call for up to
/// [`ACK_SLOTS`] ACKs is what makes a batch of hundreds of writes cheap to confirm.
fn recv_many(fd: BorrowedFd, acks: &mut Acks, wait: std::time::Duration) -> io::Result<()> {
    acks.got.clear();
    // recvmmsg's own timeout is checked only after a datagram arrives: poll first.
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let timeout = Timespec::try_from(wait).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    });
    if retry_on_intr(|| rustix::event::poll(&mut fds, Some(&timeout)))? == 0 {
        return Ok(());
    }
    // SAFETY: iovec and mmsghdr are plain C structs of integers and pointers, for which all
    // zeroes are valid values (null pointers, zero lengths).
    let mut iovs: [libc::iovec; ACK_SLOTS] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; ACK_SLOTS] = unsafe { std::mem::zeroed() };
    for (i, (iov, msg)) in iovs.iter_mut().zip(msgs.iter_mut()).enumerate() {
        iov.iov_base = acks.bytes[i * ACK_SLOT..].as_mut_ptr().cast();
        iov.iov_len = ACK_SLOT;
        msg.msg_hdr.msg_iov = iov;
        msg.msg_hdr.msg_iovlen = 1;
    }
    loop {
        // SAFETY: `fd` is an open socket borrowed for the call; each of the ACK_SLOTS messages
        // points at its own iovec, which points at its own ACK_SLOT bytes of `acks.bytes`
        // (ACK_SLOT * ACK_SLOTS long); `iovs`, `msgs` and `acks.bytes` outlive the call and are
        // not touched during it. A null timeout waits without limit.
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
            for msg in &msgs[..n as usize] {
                let truncated = msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
                acks.got.push((msg.msg_len as usize, truncated));
            }
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};

    use super::*;

    #[test]
    fn the_window_is_what_the_receive_buffer_holds() {
        let socket = Socket::new(NETLINK_GENERIC).unwrap();
        let window = size_receive_buffer(socket.as_fd());
        assert!(WINDOW.contains(&window), "{window}");
        let granted = sockopt::socket_recv_buffer_size(&socket).unwrap();
        assert!(window == *WINDOW.start() || window * ACK_MEMORY <= granted);
    }

    fn pair() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap()
    }

    #[test]
    fn reads_datagrams_bigger_than_the_buffer() {
        let (a, b) = pair();
        let big: Vec<u8> = (0..150_000u32).map(|i| i as u8).collect();
        for datagram in [&big[..], b"small"] {
            let n = rustix::net::send(&b, datagram, SendFlags::empty()).unwrap();
            assert_eq!(n, datagram.len());
        }
        let mut buf = Vec::new();
        recv_datagram(a.as_fd(), &mut buf, 0).unwrap();
        assert_eq!(buf, big);
        recv_datagram(a.as_fd(), &mut buf, BULK_READ).unwrap();
        assert_eq!(
            buf, b"small",
            "a larger read returns the datagram's own bytes"
        );
    }

    #[test]
    fn a_wait_for_acks_with_nothing_to_read_ends_with_none() {
        let (a, b) = pair();
        let mut acks = Acks::new();
        acks.push(b"stale");
        let started = std::time::Instant::now();
        recv_many(a.as_fd(), &mut acks, std::time::Duration::from_millis(50)).unwrap();
        assert!(started.elapsed() >= std::time::Duration::from_millis(50));
        assert_eq!(acks.iter().count(), 0, "none read");
        rustix::net::send(&b, b"ack", SendFlags::empty()).unwrap();
        recv_many(a.as_fd(), &mut acks, std::time::Duration::from_millis(50)).unwrap();
        let got: Vec<(&[u8], bool)> = acks.iter().collect();
        assert_eq!(got, [(&b"ack"[..], false)]);
    }

    #[test]
    fn reads_what_is_queued_into_slots_at_once() {
        let (a, b) = pair();
        let long = vec![7u8; ACK_SLOT + 10];
        for datagram in [&b"one"[..], &long[..], b"three"] {
            rustix::net::send(&b, datagram, SendFlags::empty()).unwrap();
        }
        let mut acks = Acks::new();
        recv_many(a.as_fd(), &mut acks, ACK_WAIT).unwrap();
        let got: Vec<(&[u8], bool)> = acks.iter().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (&b"one"[..], false));
        assert_eq!(got[1], (&long[..ACK_SLOT], true), "cut to the slot");
        assert_eq!(got[2], (&b"three"[..], false));
    }
}
