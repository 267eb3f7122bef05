//! The lean readers against the full parser: on replies laid out as the kernel fills them, every
//! forwarding method and tunnel, both families, and on odd or broken replies, they read the
//! same server or service, or leave the message to the full parser, which gives the same error.

use netlink_packet_core::{DefaultNla, Emitable, NLA_F_NESTED};
use netlink_packet_generic::GenlMessage;

use super::*;
use crate::kernel::fake::{key, server, service_reply};
use crate::kernel::packet::*;
use crate::model::*;

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
    let full = parse_genl(payload)
        .and_then(|m| parse_dest_reply(&m, family))
        .map(|(s, _)| s)
        .map_err(|e| e.to_string());
    let read = read_dest_reply(payload, family).map_err(|e| e.to_string());
    assert_eq!(read, full, "{payload:02x?}");
    read
}

fn same_service(payload: &[u8]) -> Result<Service, String> {
    let full = parse_genl(payload)
        .and_then(|m| parse_service_reply(&m))
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
    let other = |kind: u16, value: &[u8]| DestAttr::Other(DefaultNla::new(kind, value.to_vec()));
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
