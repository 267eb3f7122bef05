//! A kernel of canned replies for the unit tests of the transport, the session and the netlink
//! kernel: datagrams laid out as the kernel sends them (af_netlink.c's netlink_ack and
//! netlink_dump_done, genetlink's dumps), so that the dump walk, the sequence matching and the
//! error decoding are tested on synthetic bytes, without a kernel.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use netlink_packet_core::{
    Emitable, NetlinkBuffer, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED,
    NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST,
};
use netlink_packet_generic::GenlMessage;

use super::netlink::NetlinkKernel;
use super::packet::{self, *};
use super::session::NLMSGERR_ATTR_MSG;
use super::transport::{Acks, Channel, Transport, ACK_SLOTS};
use super::Op;
use crate::model::*;

pub const FAMILY: u16 = 0x1c;

/// A request as the fake kernel saw it.
#[derive(Clone, Debug)]
pub struct Req {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub header: [u8; 16],
    pub msg: Option<IpvsMessage>,
    /// The channel it came by; its replies go back the same way.
    pub channel: Channel,
    /// Which transport it came by: 0 the first, 1 and on its forks ([`Fake::forks`]).
    pub reader: usize,
}

type Responder = Box<dyn FnMut(&[Req]) -> Vec<Vec<u8>> + Send>;

/// What the fake kernel was sent: the requests of each `send()`.
pub type Sends = Arc<Mutex<Vec<Vec<Req>>>>;

/// Answers each `send()` with the datagrams its responder makes, queued on the channel the
/// request came by: reading the other channel finds nothing (EAGAIN), as with two sockets.
pub struct Fake {
    queue: VecDeque<Vec<u8>>,
    bulk_queue: VecDeque<Vec<u8>>,
    sends: Sends,
    respond: Arc<Mutex<Responder>>,
    pub recv_error: Option<i32>,
    /// Each read of this fake (not of its forks) waits this long first: a slow socket.
    pub recv_delay: Option<std::time::Duration>,
    /// When set, [`Transport::fork`] gives more fakes with the same responder and record of
    /// sends, each with queues of its own (a socket each); when not, it gives none.
    pub forks: bool,
    /// This fake's number: 0, and 1 and on for its forks.
    reader: usize,
    /// How many fakes this one's forks and it make.
    readers: Arc<AtomicUsize>,
}

impl Fake {
    pub fn new(respond: impl FnMut(&[Req]) -> Vec<Vec<u8>> + Send + 'static) -> (Fake, Sends) {
        let sends = Arc::new(Mutex::new(Vec::new()));
        let fake = Fake {
            queue: VecDeque::new(),
            bulk_queue: VecDeque::new(),
            sends: sends.clone(),
            respond: Arc::new(Mutex::new(Box::new(respond))),
            recv_error: None,
            recv_delay: None,
            forks: false,
            reader: 0,
            readers: Arc::new(AtomicUsize::new(1)),
        };
        (fake, sends)
    }
}

impl Fake {
    fn take(&mut self, channel: Channel, datagram: &[u8]) {
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
                msg: (buf.message_type() == FAMILY).then(|| packet::parse_genl(payload).unwrap()),
                channel,
                reader: self.reader,
            });
            offset += align4(len);
        }
        let replies = (self.respond.lock().unwrap())(&reqs);
        match channel {
            Channel::Main => self.queue.extend(replies),
            Channel::Bulk => self.bulk_queue.extend(replies),
        }
        self.sends.lock().unwrap().push(reqs);
    }

    fn give(&mut self, channel: Channel, buf: &mut Vec<u8>) -> io::Result<()> {
        if let Some(errno) = self.recv_error {
            return Err(io::Error::from_raw_os_error(errno));
        }
        if let Some(delay) = self.recv_delay {
            std::thread::sleep(delay);
        }
        let queue = match channel {
            Channel::Main => &mut self.queue,
            Channel::Bulk => &mut self.bulk_queue,
        };
        let datagram = queue
            .pop_front()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAGAIN))?;
        buf.clear();
        buf.extend_from_slice(&datagram);
        Ok(())
    }
}

impl Transport for Fake {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.take(Channel::Main, datagram);
        Ok(())
    }

    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.give(Channel::Main, buf)
    }

    /// As the socket reads ACKs: whatever is queued, up to the slots; none when nothing is
    /// (where the socket's wait ends with nothing to read: an answer the kernel never sent).
    fn recv_acks(&mut self, acks: &mut Acks) -> io::Result<()> {
        acks.clear();
        if let Some(errno) = self.recv_error {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let mut one = Vec::new();
        for _ in 0..ACK_SLOTS.min(self.queue.len()) {
            self.give(Channel::Main, &mut one)?;
            acks.push(&one);
        }
        Ok(())
    }

    fn send_bulk(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.take(Channel::Bulk, datagram);
        Ok(())
    }

    fn recv_bulk(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.give(Channel::Bulk, buf)
    }

    fn fork(&mut self) -> io::Result<Option<Box<dyn Transport>>> {
        if !self.forks {
            return Ok(None);
        }
        let reader = self.readers.fetch_add(1, Ordering::Relaxed);
        Ok(Some(Box::new(Fake {
            queue: VecDeque::new(),
            bulk_queue: VecDeque::new(),
            sends: self.sends.clone(),
            respond: self.respond.clone(),
            recv_error: self.recv_error,
            recv_delay: None,
            forks: true,
            reader,
            readers: self.readers.clone(),
        })))
    }
}

/// A netlink kernel over `transport`, with the family resolved and a window of 64.
pub fn kernel(transport: impl Transport + 'static, sysctl_dir: &Path) -> NetlinkKernel {
    NetlinkKernel::over(Box::new(transport), FAMILY, 64, sysctl_dir.to_path_buf())
}

pub fn no_sysctls() -> PathBuf {
    PathBuf::from("/nonexistent/ipvsc-test")
}

pub fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One netlink message: header, payload, padding.
pub fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
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

pub fn ipvs(seq: u32, flags: u16, msg: &IpvsMessage) -> Vec<u8> {
    let genl = GenlMessage::from_payload(msg.clone());
    let mut payload = vec![0; genl.buffer_len()];
    genl.emit(&mut payload);
    nlmsg(FAMILY, flags, seq, &payload)
}

/// An NLMSG_ERROR as a socket with NETLINK_CAP_ACK gets it: the code and the request's
/// header; with `ext` the NLMSGERR_ATTR_MSG TLV after it.
pub fn ack(req: &Req, errno: i32, ext: Option<&str>) -> Vec<u8> {
    let mut payload = (-errno).to_ne_bytes().to_vec();
    payload.extend_from_slice(&req.header);
    let mut flags = NLM_F_CAPPED;
    if let Some(text) = ext {
        flags |= NLM_F_ACK_TLVS;
        payload.extend_from_slice(&tlv(NLMSGERR_ATTR_MSG, text));
    }
    nlmsg(NLMSG_ERROR, flags, req.seq, &payload)
}

pub fn tlv(kind: u16, text: &str) -> Vec<u8> {
    let len = 4 + text.len() + 1;
    let mut out = Vec::new();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    out.resize(align4(len), 0);
    out
}

pub fn done(seq: u32, flags: u16) -> Vec<u8> {
    nlmsg(
        NLMSG_DONE,
        NLM_F_MULTIPART | flags,
        seq,
        &0i32.to_ne_bytes(),
    )
}

/// Datagrams of at most `max` bytes holding `messages` then NLMSG_DONE, as a dump sends
/// them.
pub fn dump_datagrams(seq: u32, messages: &[IpvsMessage], max: usize) -> Vec<Vec<u8>> {
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

pub fn key(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
        port,
    }
}

pub fn server(addr: &str, forward: Forward) -> Server {
    Server {
        forward,
        ..Server::new(ServerKey {
            addr: addr.parse().unwrap(),
            port: 80,
        })
    }
}

pub fn service_reply(s: &Service) -> IpvsMessage {
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

pub fn dest_reply(s: &Server) -> IpvsMessage {
    let mut attrs = server_to_attrs(s);
    attrs.push(DestAttr::ActiveConns(5));
    IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttr::Dest(attrs)])
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipvsc-netlink-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fake kernel's table: services in dump order, each with servers in dump order.
pub fn fake_ipvs(
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
                    let replies: Vec<_> = services.iter().map(|(s, _)| service_reply(s)).collect();
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

pub fn ops(n: usize) -> Vec<Op> {
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
