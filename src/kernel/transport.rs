//! How datagrams move between ipvsc and the kernel: [`Transport`], implemented by the netlink
//! socket (`socket.rs`), the capture that copies every datagram to a directory (`capture.rs`),
//! the fault injection of the kernel tests (`fault.rs`), and canned replies in the unit tests.

use std::io;

/// ACKs are read many at a time (`recvmmsg`), each into a slot of this size: an ACK is 36 bytes,
/// an error with its extended-ack text a few hundred. A longer datagram is only ever a leftover
/// of an abandoned dump, and is skipped.
pub(super) const ACK_SLOT: usize = 2048;
/// Slots per `recvmmsg`.
pub(super) const ACK_SLOTS: usize = 64;

/// Which way a request and its replies go. The kernel sizes a dump's datagrams by the longest
/// read it has seen on the socket, and the two kinds of dump want opposite sizes (see
/// `socket.rs`): the many small dumps of the servers one page, the one dump of every service
/// as large as the kernel makes them. So the socket keeps a second one for the latter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Channel {
    /// Every request but the dump of the services.
    Main,
    /// The dump of the services, read in large datagrams.
    Bulk,
}

/// How to move datagrams; a socket, or canned replies in the tests. `Send`, so that a kernel
/// can be read on one thread while the file is compiled on another.
pub(super) trait Transport: Send {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()>;
    /// Reads one whole datagram into `buf`, replacing its contents.
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()>;
    /// [`Transport::send`] over [`Channel::Bulk`]; the same channel unless the transport has
    /// two.
    fn send_bulk(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.send(datagram)
    }
    /// [`Transport::recv`] over [`Channel::Bulk`].
    fn recv_bulk(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.recv(buf)
    }
    /// A second transport to the same kernel, independent of this one, for dumps read on
    /// another thread at the same time ([`Channel::Main`]'s kind of reads: one-page
    /// datagrams). `None` when the transport has no second: then every read stays on this one.
    fn fork(&mut self) -> io::Result<Option<Box<dyn Transport>>> {
        Ok(None)
    }
    /// Reads at least one datagram, and then whatever else is queued, up to the slots of `acks`.
    /// For small replies: ACKs. A transport may give up after a while with none read: `acks`
    /// then holds none, and what was waited for is not coming (see `Failure::NoAnswer`).
    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        let mut one = Vec::new();
        self.recv(&mut one)?;
        acks.clear();
        acks.push(&one);
        Ok(())
    }
}

/// Datagrams read by one [`Transport::recv_acks`], each in its own slot of [`ACK_SLOT`] bytes.
pub(super) struct Acks {
    /// [`ACK_SLOTS`] slots back to back.
    pub(super) bytes: Vec<u8>,
    /// Per slot read: the bytes in it, and whether the datagram was longer than the slot.
    pub(super) got: Vec<(usize, bool)>,
}

impl Acks {
    pub(super) fn new() -> Acks {
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
}
