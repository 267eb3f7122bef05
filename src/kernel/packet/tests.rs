//! Round trips of every request and every model variant, and what the kernel may report that
//! the model does not hold; hand-written byte vectors in `tests/vectors.rs`, captures of a real
//! kernel in `captured.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{Emitable, ParseableParametrized};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use super::*;
use crate::kernel::Op;
use crate::model::*;

/// Bytes captured from a real kernel (x86-64), parsed and emitted again.
#[cfg(target_endian = "little")]
#[path = "captured.rs"]
mod captured;
/// Messages laid out by hand from the uapi header, parsed and emitted again.
mod vectors;

/// The genl payload (genl header + attributes) of `msg`, as it goes on the wire.
fn genl_bytes(msg: &IpvsMessage) -> Vec<u8> {
    let genl = GenlMessage::from_payload(msg.clone());
    let mut buf = vec![0; genl.buffer_len()];
    genl.emit(&mut buf);
    buf
}

fn roundtrip(msg: &IpvsMessage) -> IpvsMessage {
    let bytes = genl_bytes(msg);
    assert_eq!(bytes.len() % 4, 0);
    parse_genl(&bytes).unwrap()
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
        port,
    }
}

// ---- every message kind and every model variant --------------------------------------------

fn services() -> Vec<Service> {
    let base = |key: ServiceKey| Service::new(key);
    vec![
        base(tcp("10.0.0.1", 80)),
        Service {
            scheduler: Scheduler::Wrr,
            persistence: Some(360),
            netmask: Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0)),
            ..base(ServiceKey::Inet {
                protocol: Protocol::Udp,
                addr: v4("192.0.2.9"),
                port: 53,
            })
        },
        Service {
            scheduler: Scheduler::Mh,
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2),
            ..base(ServiceKey::Inet {
                protocol: Protocol::Sctp,
                addr: v6("2001:db8::1"),
                port: 3868,
            })
        },
        Service {
            scheduler: Scheduler::Sh,
            flags: SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2 | SchedFlags::FLAG3),
            persistence: Some(2_678_400),
            netmask: Netmask::Ipv6(48),
            pe: Some("sip".into()),
            ..base(ServiceKey::Inet {
                protocol: Protocol::Udp,
                addr: v6("2001:db8::5060"),
                port: 5060,
            })
        },
        Service {
            one_packet: true,
            ..base(ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark: 1,
            })
        },
        Service {
            scheduler: Scheduler::Twos,
            persistence: Some(1),
            netmask: Netmask::Ipv6(1),
            ..base(ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: u32::MAX,
            })
        },
        Service {
            key: tcp("0.0.0.0", 0),
            persistence: Some(60),
            pe: Some("sip".into()),
            ..base(tcp("0.0.0.0", 0))
        },
    ]
}

fn servers() -> Vec<Server> {
    let key = |addr: IpAddr, port| ServerKey { addr, port };
    let mut out = Vec::new();
    let tunnels = [
        Tunnel::Ipip,
        Tunnel::Gue {
            port: 6080,
            checksum: Checksum::NoCsum,
        },
        Tunnel::Gue {
            port: 1,
            checksum: Checksum::Csum,
        },
        Tunnel::Gue {
            port: 65535,
            checksum: Checksum::RemCsum,
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
        .chain(tunnels.into_iter().map(Forward::Tunnel));
    for (i, forward) in forwards.enumerate() {
        for addr in [v4("10.1.2.3"), v6("2001:db8::42")] {
            out.push(Server {
                key: key(addr, 8000 + i as u16),
                forward,
                weight: i as u32 * 1000,
                upper: 0,
                lower: 0,
            });
        }
    }
    out.push(Server {
        key: key(v4("10.9.9.9"), 0),
        forward: Forward::Dr,
        weight: 65535,
        upper: i32::MAX as u32,
        lower: 7,
    });
    out
}

fn daemons() -> Vec<Daemon> {
    vec![
        Daemon {
            state: DaemonState::Master,
            interface: "eth0".into(),
            syncid: 0,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        },
        Daemon {
            state: DaemonState::Backup,
            interface: "bond0.100".into(),
            syncid: 255,
            maxlen: Some(65507),
            group: Some(v4("239.1.2.3")),
            port: Some(1),
            ttl: Some(255),
        },
        Daemon {
            state: DaemonState::Master,
            interface: "lo".into(),
            syncid: 9,
            maxlen: Some(1024),
            group: Some(v6("ff02::1:2")),
            port: Some(65535),
            ttl: Some(1),
        },
    ]
}

fn timeouts() -> Vec<Timeouts> {
    vec![
        Timeouts::default(),
        Timeouts::KERNEL_DEFAULT,
        Timeouts {
            tcp: Some(1),
            tcpfin: None,
            udp: Some(2_678_400),
        },
        Timeouts {
            tcp: None,
            tcpfin: Some(0),
            udp: None,
        },
    ]
}

#[test]
fn services_round_trip() {
    for service in services() {
        let attrs = service_to_attrs(&service);
        assert_eq!(service_from_attrs(&attrs).unwrap(), service, "{attrs:?}");
        for msg in [new_service(&service), set_service(&service)] {
            let back = roundtrip(&msg);
            assert_eq!(back, msg);
            assert_eq!(parse_service_reply(&back).unwrap().0, service);
        }
        let key_only = service_key_to_attrs(&service.key);
        for msg in [
            del_service(&service.key),
            zero(Some(&service.key)),
            get_dests(&service.key),
        ] {
            let back = roundtrip(&msg);
            assert_eq!(back, msg);
            assert_eq!(back.service().unwrap(), key_only.as_slice());
        }
    }
}

#[test]
fn servers_round_trip() {
    let svc = tcp("10.0.0.1", 80);
    for server in servers() {
        let family = Family::of(&server.key.addr);
        // Without ADDR_FAMILY the service's family is meant: give the server's.
        let attrs = server_to_attrs(&server);
        assert_eq!(server_from_attrs(&attrs, family).unwrap(), server);
        // With it, the service's family does not matter.
        let other = match family {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        };
        assert_eq!(server_from_attrs(&attrs, other).unwrap(), server);
        for msg in [new_dest(&svc, &server), set_dest(&svc, &server)] {
            let back = roundtrip(&msg);
            assert_eq!(back, msg);
            assert_eq!(parse_dest_reply(&back, other).unwrap().0, server);
        }
        let del = del_dest(&svc, &server.key);
        assert_eq!(roundtrip(&del), del);
    }
}

#[test]
fn daemons_round_trip() {
    for daemon in daemons() {
        let msg = new_daemon(&daemon);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        assert_eq!(parse_daemon_reply(&back).unwrap(), daemon);
    }
}

#[test]
fn timeouts_round_trip() {
    for t in timeouts() {
        let msg = set_config(&t);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        assert_eq!(parse_config_reply(&back), t);
    }
}

#[test]
fn replies_round_trip() {
    let stats = Stats {
        conns: 1,
        inpkts: 2,
        outpkts: 3,
        inbytes: 4,
        outbytes: 5,
        cps: 6,
        inpps: 7,
        outpps: 8,
        inbps: 9,
        outbps: u64::from(u32::MAX) + 10,
    };
    for service in services() {
        let mut attrs = service_to_attrs(&service);
        attrs.push(SvcAttr::Stats(stats.to_attrs32()));
        attrs.push(SvcAttr::Stats64(stats.to_attrs64()));
        let msg = IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttr::Service(attrs)]);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        assert_eq!(parse_service_reply(&back).unwrap(), (service, stats));
    }
    for server in servers() {
        let mut attrs = server_to_attrs(&server);
        attrs.extend([
            DestAttr::ActiveConns(1),
            DestAttr::InactConns(2),
            DestAttr::PersistConns(3),
            DestAttr::Stats(stats.to_attrs32()),
        ]);
        let msg = IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttr::Dest(attrs)]);
        let back = roundtrip(&msg);
        assert_eq!(back, msg);
        let (s, c) = parse_dest_reply(&back, Family::Ipv4).unwrap();
        assert_eq!(s, server);
        assert_eq!(
            (c.active_conns, c.inactive_conns, c.persistent_conns),
            (1, 2, 3)
        );
        // Without STATS64, the 32-bit counters: outbps truncated as the kernel truncates it.
        assert_eq!(c.stats.outbps, 9);
    }
    let info = IpvsMessage::new(
        IpvsCmd::SetInfo,
        vec![
            IpvsAttr::Info(InfoAttr::Version(0x010201)),
            IpvsAttr::Info(InfoAttr::ConnTabSize(1 << 20)),
        ],
    );
    assert_eq!(roundtrip(&info), info);
}

#[test]
fn every_op_has_its_request() {
    let svc = services().remove(0);
    let server = servers().remove(0);
    let daemon = daemons().remove(0);
    let cases = [
        (
            Op::AddService(Box::new(svc.clone())),
            Some(IpvsCmd::NewService),
        ),
        (
            Op::EditService(Box::new(svc.clone())),
            Some(IpvsCmd::SetService),
        ),
        (Op::DeleteService(svc.key), Some(IpvsCmd::DelService)),
        (Op::AddServer(svc.key, server), Some(IpvsCmd::NewDest)),
        (Op::EditServer(svc.key, server), Some(IpvsCmd::SetDest)),
        (
            Op::DeleteServer(svc.key, server.key),
            Some(IpvsCmd::DelDest),
        ),
        (
            Op::SetTimeouts(Timeouts::KERNEL_DEFAULT),
            Some(IpvsCmd::SetConfig),
        ),
        (Op::StartDaemon(daemon), Some(IpvsCmd::NewDaemon)),
        (
            Op::StopDaemon(DaemonState::Master),
            Some(IpvsCmd::DelDaemon),
        ),
        (
            Op::SetSysctl(Sysctl::Amemthresh, SysctlValue::Int(2048)),
            None,
        ),
        (Op::Zero(None), Some(IpvsCmd::Zero)),
        (Op::Zero(Some(svc.key)), Some(IpvsCmd::Zero)),
        (Op::Flush, Some(IpvsCmd::Flush)),
    ];
    for (op, cmd) in cases {
        let msg = request_for(&op);
        assert_eq!(msg.as_ref().map(|m| m.cmd), cmd, "{op}");
        if let Some(msg) = msg {
            assert!(!msg.cmd.is_dump());
            assert_eq!(roundtrip(&msg), msg);
        }
    }
    for dump in [get_services(), get_dests(&svc.key), get_daemons()] {
        assert!(dump.cmd.is_dump());
    }
    for cmd in 0..=20u8 {
        assert_eq!(u8::from(IpvsCmd::from(cmd)), cmd);
    }
}

/// A whole message as `netlink_packet_core`'s generic emitter writes it: what
/// [`serialize_into`] wrote before it wrote in one pass.
fn generic_bytes(msg: IpvsMessage, family_id: u16, flags: u16, seq: u32) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(family_id);
    let mut nl = netlink_packet_core::NetlinkMessage::from(genl);
    nl.header.flags = flags;
    nl.header.sequence_number = seq;
    nl.finalize();
    let mut bytes = vec![0; nl.buffer_len()];
    nl.serialize(&mut bytes);
    bytes
}

#[test]
fn emits_as_the_generic_emitter() {
    let mut requests = Vec::new();
    for service in services() {
        requests.push(new_service(&service));
        requests.push(set_service(&service));
        requests.push(del_service(&service.key));
        requests.push(get_dests(&service.key));
        requests.push(zero(Some(&service.key)));
        for server in servers() {
            requests.push(new_dest(&service.key, &server));
            requests.push(set_dest(&service.key, &server));
            requests.push(del_dest(&service.key, &server.key));
        }
    }
    for daemon in daemons() {
        requests.push(new_daemon(&daemon));
        requests.push(del_daemon(daemon.state));
    }
    requests.extend(timeouts().iter().map(set_config));
    requests.extend([
        zero(None),
        flush(),
        get_services(),
        get_daemons(),
        get_config(),
        get_info(),
    ]);
    // A top-level attribute of no nest, and one the model does not know.
    requests.push(IpvsMessage::new(
        IpvsCmd::Other(99),
        vec![
            IpvsAttr::TimeoutUdp(7),
            IpvsAttr::Other(DefaultNla::new(42, vec![1, 2, 3])),
        ],
    ));
    assert!(requests.len() > 100);
    let mut datagram = vec![0xee; 3];
    let mut expected = datagram.clone();
    for (i, msg) in requests.into_iter().enumerate() {
        let (family, flags, seq) = (0x1d + i as u16 % 3, 0x5 + i as u16 % 2 * 0x300, i as u32);
        let alone = generic_bytes(msg.clone(), family, flags, seq);
        assert_eq!(serialize(msg.clone(), family, flags, seq), alone, "{msg:?}");
        serialize_into(&mut datagram, msg, family, flags, seq);
        expected.extend(alone);
    }
    // Appended after what the buffer held, request after request.
    assert_eq!(datagram, expected);
}

#[test]
fn writes_every_op_as_its_request() {
    let mut ops = Vec::new();
    for service in services() {
        ops.push(Op::AddService(Box::new(service.clone())));
        ops.push(Op::EditService(Box::new(service.clone())));
        ops.push(Op::DeleteService(service.key));
        ops.push(Op::Zero(Some(service.key)));
        for server in servers() {
            ops.push(Op::AddServer(service.key, server));
            ops.push(Op::EditServer(service.key, server));
            ops.push(Op::DeleteServer(service.key, server.key));
        }
    }
    ops.extend(daemons().into_iter().map(Op::StartDaemon));
    ops.push(Op::StopDaemon(DaemonState::Backup));
    ops.extend(timeouts().into_iter().map(Op::SetTimeouts));
    ops.extend([Op::Zero(None), Op::Flush]);
    let tunnels = servers()
        .iter()
        .filter(|s| matches!(s.forward, Forward::Tunnel(_)))
        .count();
    assert!(tunnels >= 3, "every kind of tunnel");
    let (mut written, mut expected) = (vec![7u8; 5], vec![7u8; 5]);
    for (i, op) in ops.iter().enumerate() {
        let (family, flags, seq) = (0x1d + i as u16 % 2, 0x5, 1000 + i as u32);
        assert!(serialize_op(&mut written, op, family, flags, seq), "{op}");
        serialize_into(&mut expected, request_for(op).unwrap(), family, flags, seq);
        assert_eq!(written, expected, "{op}");
    }
    let sysctl = Op::SetSysctl(Sysctl::Amemthresh, SysctlValue::Int(2048));
    assert!(!serialize_op(&mut written, &sysctl, 0x1d, 0x5, 1));
    assert_eq!(written, expected, "nothing written for a sysctl");
}

// ---- what the kernel may report that the model does not hold -------------------------------

fn service_nest(sched: &str) -> Vec<SvcAttr> {
    let mut attrs = service_to_attrs(&Service::new(tcp("10.0.0.1", 80)));
    for a in &mut attrs {
        if let SvcAttr::SchedName(s) = a {
            *s = sched.to_string();
        }
    }
    attrs
}

#[test]
fn unknown_scheduler_is_an_error() {
    let err = service_from_attrs(&service_nest("foo"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"foo\""), "{err}");
    // A service whose scheduler was unbound reports "none".
    assert!(service_from_attrs(&service_nest("none")).is_err());
    assert!(service_from_attrs(&service_nest("wlc")).is_ok());
}

#[test]
fn localnode_reads_as_direct_routing() {
    let server = Server::new(ServerKey {
        addr: v4("127.0.0.1"),
        port: 80,
    });
    let mut attrs = server_to_attrs(&server);
    for a in &mut attrs {
        if let DestAttr::FwdMethod(m) = a {
            *m = IP_VS_CONN_F_LOCALNODE;
        }
    }
    assert_eq!(server_from_attrs(&attrs, Family::Ipv4).unwrap(), server);
    for a in &mut attrs {
        if let DestAttr::FwdMethod(m) = a {
            *m = IP_VS_CONN_F_BYPASS;
        }
    }
    assert!(server_from_attrs(&attrs, Family::Ipv4).is_err());
}

#[test]
fn tunnel_attributes_are_read_only_for_tunnels() {
    // The kernel reports TUN_TYPE/PORT/FLAGS for every server; a NAT server's are zeros.
    let server = Server {
        forward: Forward::Nat,
        ..Server::new(ServerKey {
            addr: v4("10.0.0.2"),
            port: 80,
        })
    };
    let mut attrs = server_to_attrs(&server);
    attrs.extend([
        DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GRE),
        DestAttr::TunPort(0),
        DestAttr::TunFlags(3),
    ]);
    assert_eq!(server_from_attrs(&attrs, Family::Ipv4).unwrap(), server);
    // A tunnel without TUN_TYPE (kernels before 5.2) is IPIP.
    let ipip = Server {
        forward: Forward::Tunnel(Tunnel::Ipip),
        ..server
    };
    let attrs: Vec<DestAttr> = server_to_attrs(&ipip)
        .into_iter()
        .filter(|a| {
            !matches!(
                a,
                DestAttr::TunType(_) | DestAttr::TunPort(_) | DestAttr::TunFlags(_)
            )
        })
        .collect();
    assert_eq!(server_from_attrs(&attrs, Family::Ipv4).unwrap(), ipip);
}

#[test]
fn bad_replies_are_errors() {
    // IPv6 prefix beyond 128.
    let mut attrs = service_to_attrs(&Service::new(ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 3,
    }));
    for a in &mut attrs {
        if let SvcAttr::Netmask(m) = a {
            *m = 129;
        }
    }
    assert!(service_from_attrs(&attrs).is_err());
    // Missing identity.
    assert!(service_from_attrs(&[SvcAttr::Af(2)]).is_err());
    assert!(parse_service_reply(&flush()).is_err());
    assert!(parse_dest_reply(&flush(), Family::Ipv4).is_err());
    assert!(parse_daemon_reply(&flush()).is_err());
    // A truncated attribute.
    assert!(parse_genl(&[0x01, 0x01, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00]).is_err());
    // A wrongly sized port.
    assert!(parse_genl(&[
        0x01, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x08, 0x00, 0x04, 0x00, 0, 0, 0, 0
    ])
    .is_err());
    // A sync id the model cannot hold.
    let daemon = daemon_from_attrs(&[
        DaemonAttr::State(IP_VS_STATE_BACKUP),
        DaemonAttr::McastIfn("eth0".into()),
        DaemonAttr::SyncId(256),
    ]);
    assert!(daemon.is_err());
}

#[test]
fn genl_header_carries_family_and_version() {
    let msg = new_service(&services()[0]);
    assert_eq!(
        <IpvsMessage as netlink_packet_generic::GenlFamily>::family_name(),
        "IPVS"
    );
    let parsed = IpvsMessage::parse_with_param(
        &genl_bytes(&msg)[4..],
        GenlHeader {
            cmd: IPVS_CMD_NEW_SERVICE,
            version: IPVS_GENL_VERSION,
        },
    )
    .unwrap();
    assert_eq!(parsed, msg);
}
