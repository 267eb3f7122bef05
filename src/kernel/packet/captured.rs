//! Bytes captured from a real kernel (`captures/`, see its README.md for the table ipvsadm built
//! and the kernel): every datagram ipvsc sent and received during `ipvsc save` and
//! `ipvsc list --stats`, written by the `IPVSC_CAPTURE` hook of the netlink transport.
//!
//! Each datagram is walked message by message (the walk must end exactly at its end). Every IPVS
//! message is parsed with the crate's parser, its values are checked against what ipvsadm
//! configured, and it is emitted again: the bytes are the captured ones exactly, header,
//! attributes, padding and all. The requests are checked the same way, and against what the
//! request builders make. The readers `save` uses (`read_service_reply`,
//! `read_dest_reply`) must read every reply without falling back to the full parser, and read
//! what it reads.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use netlink_packet_core::{
    Emitable, NetlinkBuffer, NlasIterator, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CAPPED,
    NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST,
};
use netlink_packet_generic::GenlMessage;

use crate::kernel::packet::*;
use crate::model::*;

/// GENL_ID_CTRL, the generic netlink controller.
const GENL_ID_CTRL: u16 = 0x10;

/// One netlink message of a datagram.
struct Message {
    kind: u16,
    flags: u16,
    seq: u32,
    /// The whole message as captured: header, payload and the padding to the next one.
    bytes: Vec<u8>,
}

impl Message {
    fn payload(&self) -> &[u8] {
        let len = u32::from_ne_bytes(self.bytes[..4].try_into().unwrap()) as usize;
        &self.bytes[16..len]
    }
}

/// One captured datagram.
struct Datagram {
    name: String,
    sent: bool,
    messages: Vec<Message>,
}

fn captures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/kernel/packet/captures")
        .join(dir)
}

/// The datagrams of a capture directory in the order they passed, each split into messages.
fn load(dir: &str) -> Vec<Datagram> {
    let dir = captures(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "{} holds too few captures",
        dir.display()
    );
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            assert!(
                name.starts_with(&format!("{:04}-", i + 1)),
                "{name}: the files are numbered from 0001 without gaps"
            );
            let sent = name.ends_with("-send.bin");
            assert!(sent || name.ends_with("-recv.bin"), "{name}");
            let bytes = std::fs::read(path).unwrap();
            Datagram {
                messages: walk(&name, &bytes),
                name,
                sent,
            }
        })
        .collect()
}

/// The messages of a datagram, by their aligned lengths; the last one must end it exactly.
fn walk(name: &str, datagram: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < datagram.len() {
        let buf = NetlinkBuffer::new_checked(&datagram[offset..])
            .unwrap_or_else(|e| panic!("{name} at byte {offset}: {e}"));
        let len = buf.length() as usize;
        let end = (offset + len + 3) & !3;
        assert!(
            end <= datagram.len(),
            "{name}: message at {offset} runs past the end"
        );
        out.push(Message {
            kind: buf.message_type(),
            flags: buf.flags(),
            seq: buf.sequence_number(),
            bytes: datagram[offset..end].to_vec(),
        });
        offset = end;
    }
    assert_eq!(offset, datagram.len(), "{name}: trailing bytes");
    assert!(!out.is_empty(), "{name}: an empty datagram");
    out
}

/// The IPVS family id, from the controller's reply to the first request.
fn family_id(capture: &[Datagram]) -> u16 {
    const CTRL_ATTR_FAMILY_ID: u16 = 1;
    const CTRL_ATTR_FAMILY_NAME: u16 = 2;
    let reply = capture
        .iter()
        .filter(|d| !d.sent)
        .flat_map(|d| &d.messages)
        .find(|m| m.kind == GENL_ID_CTRL)
        .expect("the controller's reply comes first");
    let attrs: Vec<_> = NlasIterator::new(&reply.payload()[4..])
        .map(Result::unwrap)
        .collect();
    let name = attrs
        .iter()
        .find(|a| a.kind() == CTRL_ATTR_FAMILY_NAME)
        .unwrap();
    assert_eq!(name.value(), b"IPVS\0");
    let id = attrs
        .iter()
        .find(|a| a.kind() == CTRL_ATTR_FAMILY_ID)
        .unwrap();
    u16::from_ne_bytes(id.value().try_into().unwrap())
}

/// `msg` emitted again as a whole netlink message with the captured header fields.
fn emit_again(captured: &Message, msg: &IpvsMessage) -> Vec<u8> {
    let genl = GenlMessage::from_payload(msg.clone());
    let mut payload = vec![0; genl.buffer_len()];
    genl.emit(&mut payload);
    let len = 16 + payload.len();
    let mut out = Vec::with_capacity((len + 3) & !3);
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&captured.bytes[4..16]); // type, flags, seq, port id
    out.extend_from_slice(&payload);
    out.resize((len + 3) & !3, 0);
    out
}

/// The key a GET_DEST request names.
fn requested_key(msg: &IpvsMessage) -> ServiceKey {
    let attrs = msg.service().expect("GET_DEST names its service");
    let mut af = None;
    let (mut protocol, mut addr, mut port, mut mark) = (None, None, None, None);
    for attr in attrs {
        match attr {
            SvcAttr::Af(v) => af = Family::from_af(*v),
            SvcAttr::Protocol(v) => protocol = Protocol::from_number(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => mark = Some(*v),
            other => panic!("GET_DEST carries {other:?}"),
        }
    }
    let family = af.unwrap();
    match mark {
        Some(mark) => ServiceKey::Fwmark { family, mark },
        None => ServiceKey::Inet {
            protocol: protocol.unwrap(),
            addr: crate::kernel::packet::addr_from_bytes(&addr.unwrap(), family),
            port: port.unwrap(),
        },
    }
}

/// What a capture says, read with the crate's parsers while checking every message.
#[derive(Default)]
struct Read {
    /// The services of the GET_SERVICE dump, with their counters, in dump order.
    services: Vec<(Service, Stats)>,
    /// The servers of each GET_DEST dump, in dump order.
    servers: BTreeMap<ServiceKey, Vec<(Server, ServerCounters)>>,
    timeouts: Option<Timeouts>,
    daemons: Vec<Daemon>,
    info: Option<IpvsInfo>,
    /// The raw destination nests, for what the model does not keep.
    dest_nests: Vec<Vec<DestAttr>>,
    /// IPVS messages parsed and emitted again.
    round_trips: usize,
}

fn read(dir: &str) -> Read {
    let capture = load(dir);
    let family = family_id(&capture);
    let mut requests: BTreeMap<u32, (u16, Option<IpvsMessage>)> = BTreeMap::new();
    let mut out = Read::default();
    for datagram in &capture {
        let name = &datagram.name;
        for m in &datagram.messages {
            if datagram.sent {
                assert!(m.flags & NLM_F_REQUEST != 0, "{name}: not a request");
                let msg = (m.kind == family).then(|| {
                    let msg = parse_genl(m.payload()).unwrap_or_else(|e| panic!("{name}: {e}"));
                    // What ipvsc sent is what the request builders make.
                    assert_eq!(
                        serialize(msg.clone(), family, m.flags, m.seq),
                        m.bytes,
                        "{name}"
                    );
                    let dump = m.flags & NLM_F_DUMP == NLM_F_DUMP;
                    assert_eq!(dump, msg.cmd.is_dump(), "{name}: {:?}", msg.cmd);
                    assert_eq!(m.flags & NLM_F_ACK != 0, !dump, "{name}");
                    msg
                });
                assert!(
                    requests.insert(m.seq, (m.kind, msg)).is_none(),
                    "{name}: seq reused"
                );
                continue;
            }
            let (request_kind, request) = requests
                .get(&m.seq)
                .unwrap_or_else(|| panic!("{name}: a reply to no request (seq {})", m.seq));
            match m.kind {
                NLMSG_ERROR => {
                    // An ACK, capped: code 0 and the request's header.
                    assert_eq!(m.flags & NLM_F_CAPPED, NLM_F_CAPPED, "{name}");
                    assert_eq!(&m.payload()[..4], &0i32.to_ne_bytes(), "{name}: refused");
                    assert_eq!(m.payload().len(), 4 + 16, "{name}");
                    assert_eq!(
                        u16::from_ne_bytes(m.payload()[8..10].try_into().unwrap()),
                        *request_kind
                    );
                }
                NLMSG_DONE => {
                    assert_eq!(m.flags & NLM_F_MULTIPART, NLM_F_MULTIPART, "{name}");
                    assert_eq!(m.payload(), 0i32.to_ne_bytes(), "{name}");
                }
                GENL_ID_CTRL => assert_eq!(*request_kind, GENL_ID_CTRL, "{name}"),
                kind => {
                    assert_eq!(kind, family, "{name}: a message of another family");
                    let msg = parse_genl(m.payload()).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(emit_again(m, &msg), m.bytes, "{name}: {msg:?}");
                    out.round_trips += 1;
                    let request = request.as_ref().unwrap();
                    absorb(&mut out, name, request, &msg, m.payload());
                }
            }
        }
    }
    out
}

/// Files one reply under what it answers, after checking the readers of `save` against the
/// full parser.
fn absorb(out: &mut Read, name: &str, request: &IpvsMessage, msg: &IpvsMessage, payload: &[u8]) {
    match (request.cmd, msg.cmd) {
        (IpvsCmd::GetService, IpvsCmd::NewService) => {
            let (service, stats) = parse_service_reply(msg).unwrap();
            assert_eq!(lean_service(payload).as_ref(), Some(&service), "{name}");
            assert_eq!(read_service_reply(payload).unwrap(), service);
            out.services.push((service, stats));
        }
        (IpvsCmd::GetDest, IpvsCmd::NewDest) => {
            let key = requested_key(request);
            let (server, counters) = parse_dest_reply(msg, key.family()).unwrap();
            let lean = lean_dest(payload, key.family());
            assert_eq!(lean, Some(server), "{name}");
            assert_eq!(read_dest_reply(payload, key.family()).unwrap(), server);
            out.dest_nests.push(msg.dest().unwrap().to_vec());
            out.servers.entry(key).or_default().push((server, counters));
        }
        (IpvsCmd::GetConfig, IpvsCmd::SetConfig) => {
            out.timeouts = Some(parse_config_reply(msg));
        }
        (IpvsCmd::GetDaemon, IpvsCmd::NewDaemon) => {
            out.daemons.push(parse_daemon_reply(msg).unwrap());
        }
        (IpvsCmd::GetInfo, IpvsCmd::SetInfo) => {
            out.info = Some(parse_info_reply(msg).unwrap());
        }
        other => panic!("{name}: unexpected {other:?}"),
    }
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn inet(protocol: Protocol, addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet {
        protocol,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn service(key: ServiceKey, scheduler: Scheduler) -> Service {
    Service {
        scheduler,
        ..Service::new(key)
    }
}

fn server(addr: &str, port: u16, forward: Forward, weight: u32) -> Server {
    Server {
        forward,
        weight,
        ..Server::new(ServerKey {
            addr: addr.parse().unwrap(),
            port,
        })
    }
}

fn gue(port: u16, checksum: Checksum) -> Forward {
    Forward::Tunnel(Tunnel::Gue { port, checksum })
}

fn gre(checksum: Checksum) -> Forward {
    Forward::Tunnel(Tunnel::Gre { checksum })
}

const IPIP: Forward = Forward::Tunnel(Tunnel::Ipip);

/// The services ipvsadm made (README.md), in the order of the captured dump (the kernel's hash
/// order, which mixes in the network namespace: another boot may list them otherwise).
fn expected_services() -> Vec<Service> {
    use Protocol::*;
    vec![
        Service {
            persistence: Some(600),
            netmask: Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0)),
            ..service(inet(Tcp, "10.1.0.1", 80), Scheduler::Wrr)
        },
        Service {
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2), // mh-fallback,mh-port
            persistence: Some(3600),
            netmask: Netmask::Ipv6(64),
            ..service(inet(Tcp, "2001:db8::1", 443), Scheduler::Mh)
        },
        Service {
            one_packet: true,
            ..service(inet(Udp, "10.1.0.1", 53), Scheduler::Rr)
        },
        Service {
            persistence: Some(60),
            pe: Some("sip".into()),
            ..service(inet(Udp, "10.1.0.1", 5060), Scheduler::Rr)
        },
        service(inet(Sctp, "10.1.0.1", 3868), Scheduler::Lblc),
        Service {
            one_packet: true,
            ..service(inet(Udp, "2001:db8::2", 53), Scheduler::Lc)
        },
        Service {
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2), // sh-fallback,sh-port
            ..service(
                ServiceKey::Fwmark {
                    family: Family::Ipv4,
                    mark: 1,
                },
                Scheduler::Sh,
            )
        },
        Service {
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2 | SchedFlags::FLAG3),
            persistence: Some(120),
            netmask: Netmask::Ipv6(48),
            ..service(
                ServiceKey::Fwmark {
                    family: Family::Ipv6,
                    mark: 2,
                },
                Scheduler::Wlc,
            )
        },
    ]
}

/// The servers ipvsadm made, per service, in the kernel's dump order (the newest first).
fn expected_servers() -> BTreeMap<ServiceKey, Vec<Server>> {
    use Checksum::*;
    use Protocol::*;
    let mut thresholds = server("192.168.1.2", 8080, Forward::Nat, 65535);
    (thresholds.upper, thresholds.lower) = (100, 10);
    let mut gue_csum = server("2001:db8::12", 443, gue(6081, Csum), 7);
    (gue_csum.upper, gue_csum.lower) = (50, 5);
    let fwmark = |family, mark| ServiceKey::Fwmark { family, mark };
    [
        (
            inet(Tcp, "2001:db8::1", 443),
            vec![
                server("2001:db8::13", 443, gue(6082, NoCsum), 1),
                gue_csum,
                server("2001:db8::11", 443, gre(Csum), 1),
                server("2001:db8::10", 443, gue(6080, RemCsum), 1),
            ],
        ),
        (
            inet(Udp, "10.1.0.1", 53),
            vec![server("192.168.1.11", 53, Forward::Dr, 1)],
        ),
        (
            inet(Tcp, "10.1.0.1", 80),
            vec![
                server("192.168.1.3", 80, Forward::Dr, 3),
                thresholds,
                server("192.168.1.1", 8080, Forward::Nat, 0),
            ],
        ),
        (
            inet(Sctp, "10.1.0.1", 3868),
            vec![server("192.168.1.21", 3868, gre(NoCsum), 1)],
        ),
        (
            inet(Udp, "2001:db8::2", 53),
            vec![server("2001:db8::30", 5353, Forward::Nat, 2)],
        ),
        (
            inet(Udp, "10.1.0.1", 5060),
            vec![server("192.168.1.31", 5060, IPIP, 1)],
        ),
        (
            fwmark(Family::Ipv4, 1),
            vec![server("192.168.1.41", 0, Forward::Dr, 1)],
        ),
        (
            fwmark(Family::Ipv6, 2),
            vec![server("2001:db8::20", 0, Forward::Dr, 5)],
        ),
    ]
    .into_iter()
    .collect()
}

fn servers_of(read: &Read) -> BTreeMap<ServiceKey, Vec<Server>> {
    read.servers
        .iter()
        .map(|(k, v)| (*k, v.iter().map(|(s, _)| *s).collect()))
        .collect()
}

fn services_of(read: &Read) -> Vec<Service> {
    read.services.iter().map(|(s, _)| s.clone()).collect()
}

/// One TCP connection attempt to 10.1.0.1:80 before the capture: a SYN of 60 bytes, scheduled
/// to 192.168.1.3:80 with a persistence template.
fn check_counters(read: &Read) {
    let web = inet(Protocol::Tcp, "10.1.0.1", 80);
    for (service, stats) in &read.services {
        let conns = if service.key == web { 1 } else { 0 };
        assert_eq!(stats.conns, conns, "{}", service.key);
    }
    let (_, stats) = read.services.iter().find(|(s, _)| s.key == web).unwrap();
    assert_eq!((stats.inpkts, stats.inbytes, stats.outpkts), (1, 60, 0));
    let (server, counters) = &read.servers[&web][0];
    assert_eq!(server.key.addr, v4("192.168.1.3"));
    assert_eq!(counters.active_conns, 1);
    assert_eq!(counters.persistent_conns, 1);
    assert_eq!((counters.stats.conns, counters.stats.inbytes), (1, 60));
    for (key, servers) in &read.servers {
        for (server, counters) in servers {
            if server.key.addr != v4("192.168.1.3") {
                assert_eq!(*counters, ServerCounters::default(), "{key} {}", server.key);
            }
        }
    }
}

#[test]
fn captured_save_parses_and_emits_byte_for_byte() {
    let read = read("save");
    assert!(read.round_trips >= 24, "{} messages", read.round_trips);
    assert_eq!(services_of(&read), expected_services());
    assert_eq!(servers_of(&read), expected_servers());
    check_counters(&read);
    assert_eq!(
        read.timeouts,
        Some(Timeouts {
            tcp: Some(100),
            tcpfin: Some(20),
            udp: Some(40),
        })
    );
    assert_eq!(
        read.daemons,
        [
            Daemon {
                state: DaemonState::Master,
                interface: "eth0".into(),
                syncid: 7,
                // The kernel's defaults: the interface's MTU less headers, 224.0.0.81:8848.
                maxlen: Some(1472),
                group: Some(v4("224.0.0.81")),
                port: Some(8848),
                ttl: Some(1),
            },
            Daemon {
                state: DaemonState::Backup,
                interface: "eth1".into(),
                syncid: 9,
                maxlen: Some(1400),
                group: Some(v4("239.1.2.3")),
                port: Some(9000),
                ttl: Some(2),
            },
        ]
    );
    assert_eq!(read.info, None);

    // Attributes the model does not keep: every destination tells its own family, and the
    // tunnel attributes come with every server, tunneled or not.
    for nest in &read.dest_nests {
        assert!(nest
            .iter()
            .any(|a| matches!(a, DestAttr::AddrFamily(2 | 10))));
        assert!(nest.iter().any(|a| matches!(a, DestAttr::TunType(_))));
        assert!(nest.iter().any(|a| matches!(a, DestAttr::Stats64(_))));
    }
}

#[test]
fn captured_list_parses_and_emits_byte_for_byte() {
    let read = read("list");
    assert_eq!(
        read.info,
        Some(IpvsInfo {
            version: 0x010201,
            conn_tab_size: 4096,
        })
    );
    assert_eq!(read.info.unwrap().version_string(), "1.2.1");
    assert_eq!(services_of(&read), expected_services());
    assert_eq!(servers_of(&read), expected_servers());
    check_counters(&read);
}

/// After the daemons stopped (they refuse services with servers of the other family), an IPv4
/// server tunneled from the IPv6 service.
#[test]
fn captured_mixed_family_parses_and_emits_byte_for_byte() {
    let read = read("mixed");
    assert_eq!(services_of(&read), expected_services());
    let mut expected = expected_servers();
    let v6 = inet(Protocol::Tcp, "2001:db8::1", 443);
    // The newest first.
    expected
        .get_mut(&v6)
        .unwrap()
        .insert(0, server("192.168.1.12", 443, IPIP, 1));
    assert_eq!(servers_of(&read), expected);
    assert!(read.daemons.is_empty());
    // Its nest says AF_INET where the service's says AF_INET6; the address is 4 bytes of 16.
    let nest = read
        .dest_nests
        .iter()
        .find(|n| n.contains(&DestAttr::AddrFamily(2)) && n.contains(&DestAttr::Port(443)))
        .unwrap();
    let mut addr = [0; 16];
    addr[..4].copy_from_slice(&[192, 168, 1, 12]);
    assert!(nest.contains(&DestAttr::Addr(addr)));
    // Read as the service's family, the address would be an IPv6 one.
    let (server, _) = &read.servers[&v6][0];
    assert_eq!(server.key.addr, v4("192.168.1.12"));
}
