//! The capture: a [`Transport`] that writes a copy of every datagram sent and received to a
//! directory, as `0001-send.bin`, `0002-recv.bin`, ... in the order they pass (the raw bytes:
//! netlink headers, genl headers, attributes). How the fixtures of `packet/captures/` were
//! made. Numbers restart at 1 in each process: use one directory per run. The datagrams of a
//! second transport ([`Transport::fork`], the servers' dumps read on a second thread) share the
//! numbering and are named `0042-r2-send.bin`, `0043-r2-recv.bin`, ...

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::transport::{Acks, Transport};
use super::KernelError;

/// Writes a copy of every datagram that passes through `inner` to `dir`.
pub(super) struct CaptureTransport {
    inner: Box<dyn Transport>,
    dir: PathBuf,
    /// The last number given, shared with the forks.
    count: Arc<AtomicU32>,
    /// Between the number and `send`/`recv`: empty for the first transport, `r2-` for its
    /// forks.
    tag: &'static str,
}

impl CaptureTransport {
    /// Captures the traffic of `inner` into `dir`, which must be a directory.
    pub(super) fn new(
        inner: Box<dyn Transport>,
        dir: PathBuf,
    ) -> Result<CaptureTransport, KernelError> {
        if !dir.is_dir() {
            return Err(KernelError::Io {
                errno: Some(libc::ENOTDIR),
                doing: "capture the netlink traffic".into(),
                reason: format!("{} is not a directory", dir.display()),
            });
        }
        Ok(CaptureTransport {
            inner,
            dir,
            count: Arc::new(AtomicU32::new(0)),
            tag: "",
        })
    }

    fn write(&mut self, what: &str, datagram: &[u8]) -> io::Result<()> {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.dir.join(format!("{n:04}-{}{what}.bin", self.tag));
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

    fn send_bulk(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.write("send", datagram)?;
        self.inner.send_bulk(datagram)
    }

    fn recv_bulk(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.inner.recv_bulk(buf)?;
        self.write("recv", buf)
    }

    fn fork(&mut self) -> io::Result<Option<Box<dyn Transport>>> {
        Ok(self.inner.fork()?.map(|inner| {
            Box::new(CaptureTransport {
                inner,
                dir: self.dir.clone(),
                count: self.count.clone(),
                tag: "r2-",
            }) as Box<dyn Transport>
        }))
    }

    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        self.inner.recv_acks(acks)?;
        for (datagram, _) in acks.iter() {
            self.write("recv", datagram)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{NetlinkBuffer, NLM_F_DUMP, NLM_F_REQUEST};

    use super::*;
    use crate::kernel::fake::*;
    use crate::kernel::packet;
    use crate::model::*;

    #[test]
    fn writes_every_datagram_in_order() {
        let dir = temp_dir("capture");
        let s = Service::new(key("10.0.0.1", 80));
        let dump = vec![(s, vec![server("10.0.1.1", Forward::Nat)])];
        let (fake, _) = Fake::new(fake_ipvs(dump, Vec::new()));
        let capture = CaptureTransport::new(Box::new(fake), dir.clone()).unwrap();
        let mut k = kernel(capture, &no_sysctls());
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
            packet::read_dest_reply(payload, Family::Ipv4).unwrap(),
            ordered[0].1[0]
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_second_reader_shares_the_numbering() {
        let dir = temp_dir("capture-fork");
        let dump: Vec<_> = (0..100u8)
            .map(|i| {
                let s = Service::new(key(&format!("10.0.0.{i}"), 80));
                (s, vec![server(&format!("10.0.1.{i}"), Forward::Nat)])
            })
            .collect();
        let (mut fake, _) = Fake::new(fake_ipvs(dump, Vec::new()));
        fake.forks = true;
        fake.recv_delay = Some(std::time::Duration::from_millis(1));
        let capture = CaptureTransport::new(Box::new(fake), dir.clone()).unwrap();
        let mut k = kernel(capture, &no_sysctls());
        k.set_readers(2);
        assert_eq!(k.read_ordered().unwrap().len(), 100);

        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        // GET_SERVICE: a request, a reply datagram, NLMSG_DONE; each GET_DEST: a request, a
        // reply, NLMSG_DONE.
        assert_eq!(names.len(), 3 + 3 * 100);
        let mut numbers: Vec<u32> = names.iter().map(|n| n[..4].parse().unwrap()).collect();
        numbers.sort();
        assert_eq!(numbers, (1..=303).collect::<Vec<_>>(), "each number once");
        let second = names.iter().filter(|n| n.contains("-r2-")).count();
        assert!(second > 0, "the second reader's datagrams are tagged");
        assert!(names
            .iter()
            .all(|n| n.ends_with("-send.bin") || n.ends_with("-recv.bin")));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_capture_directory_must_be_one() {
        let dir = temp_dir("capture-dir");
        let (fake, _) = Fake::new(|_: &[Req]| Vec::new());
        assert!(CaptureTransport::new(Box::new(fake), dir.clone()).is_ok());
        let file = dir.join("file");
        fs::write(&file, "").unwrap();
        let (fake, _) = Fake::new(|_: &[Req]| Vec::new());
        let Err(e) = CaptureTransport::new(Box::new(fake), file.clone()) else {
            panic!("a file taken for a directory")
        };
        assert_eq!(e.errno(), Some(libc::ENOTDIR));
        assert_eq!(
            e.to_string(),
            format!(
                "cannot capture the netlink traffic: {} is not a directory",
                file.display()
            )
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
