//! Random streams of kernel operations for the differential test: small pools of services and
//! servers so that operations collide (EEXIST, ESRCH, ENOENT), and some settings the kernel
//! refuses (ERANGE, EINVAL, unknown schedulers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvsc::kernel::Op;
use ipvsc::model::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn service_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (0u8..3, 1u8..4).prop_map(|(p, last)| ServiceKey::Inet {
            protocol: Protocol::ALL[p as usize],
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port: 80,
        }),
        (1u8..3).prop_map(|last| ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(last))),
            port: 443,
        }),
        (1u32..3).prop_map(|mark| ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark
        }),
    ]
}

fn server_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        6 => (1u8..5).prop_map(|d| IpAddr::V4(Ipv4Addr::new(192, 168, 1, d))),
        2 => (1u16..3).prop_map(|d| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, d))),
        1 => Just(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 9))),
    ]
}

fn service(key: ServiceKey) -> impl Strategy<Value = Service> {
    (
        prop::sample::select(Scheduler::ALL.to_vec()),
        0u8..8,
        prop::option::of(1u32..100_000),
        any::<bool>(),
        prop::option::weighted(0.2, Just("sip".to_string())),
        prop_oneof![4 => Just(None), 1 => (0u8..=130).prop_map(Some)],
    )
        .prop_map(
            move |(scheduler, flags, persistence, one_packet, pe, prefix)| {
                let netmask = match (key.family(), prefix) {
                    (Family::Ipv6, Some(p)) => Netmask::Ipv6(p),
                    (Family::Ipv4, Some(p)) => {
                        Netmask::Ipv4(Ipv4Addr::from(u32::MAX << (32 - u32::from(p.clamp(1, 32)))))
                    }
                    (f, None) => Netmask::full(f),
                };
                Service {
                    key,
                    scheduler,
                    flags: SchedFlags(flags),
                    persistence,
                    netmask,
                    pe,
                    one_packet: one_packet && key.protocol() != Some(Protocol::Tcp),
                    servers: Default::default(),
                }
            },
        )
}

fn forward() -> impl Strategy<Value = Forward> {
    prop_oneof![
        3 => Just(Forward::Dr),
        3 => Just(Forward::Nat),
        1 => Just(Forward::Tunnel(Tunnel::Ipip)),
        1 => (prop_oneof![Just(0u16), 1u16..], 0u8..3).prop_map(|(port, c)| Forward::Tunnel(Tunnel::Gue {
            port,
            checksum: [Checksum::NoCsum, Checksum::Csum, Checksum::RemCsum][c as usize],
        })),
        1 => (0u8..2).prop_map(|c| Forward::Tunnel(Tunnel::Gre {
            checksum: [Checksum::NoCsum, Checksum::Csum][c as usize],
        })),
    ]
}

fn server(key: ServiceKey) -> impl Strategy<Value = Server> {
    (
        server_addr(),
        forward(),
        prop_oneof![8 => 0u32..=65535, 1 => Just(u32::MAX)],
        prop_oneof![3 => Just(0u32), 1 => 1u32..100],
        prop_oneof![3 => Just(0u32), 1 => 1u32..100],
    )
        .prop_map(move |(addr, forward, weight, upper, lower)| {
            let port = match key.port() {
                Some(p) if forward.keeps_virtual_port() => p,
                Some(p) => p + 8000,
                None => 0,
            };
            Server {
                key: ServerKey { addr, port },
                forward,
                weight,
                upper,
                lower,
            }
        })
}

fn daemon() -> impl Strategy<Value = Daemon> {
    (
        any::<bool>(),
        prop_oneof![3 => Just("lo"), 1 => Just("nosuch0")],
        any::<u8>(),
        prop::option::of(Just(IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1)))),
    )
        .prop_map(|(master, interface, syncid, group)| Daemon {
            state: if master {
                DaemonState::Master
            } else {
                DaemonState::Backup
            },
            interface: interface.to_string(),
            syncid,
            maxlen: None,
            group,
            port: None,
            ttl: None,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => service_key().prop_flat_map(service).prop_map(|s| Op::AddService(Box::new(s))),
        2 => service_key().prop_flat_map(service).prop_map(|s| Op::EditService(Box::new(s))),
        1 => service_key().prop_map(Op::DeleteService),
        10 => service_key().prop_flat_map(|k| server(k).prop_map(move |s| Op::AddServer(k, s))),
        3 => service_key().prop_flat_map(|k| server(k).prop_map(move |s| Op::EditServer(k, s))),
        2 => service_key().prop_flat_map(|k| server(k).prop_map(move |s| Op::DeleteServer(k, s.key))),
        1 => (prop::option::of(0u32..2000), prop::option::of(0u32..2000), prop::option::of(0u32..2000))
            .prop_map(|(tcp, tcpfin, udp)| Op::SetTimeouts(Timeouts { tcp, tcpfin, udp })),
        1 => daemon().prop_map(Op::StartDaemon),
        1 => any::<bool>().prop_map(|m| Op::StopDaemon(if m { DaemonState::Master } else { DaemonState::Backup })),
        1 => prop::option::of(service_key()).prop_map(Op::Zero),
    ]
}

/// `count` operations, the same for the same seed.
pub fn stream(seed: u8, count: usize) -> Vec<Op> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut ops: Vec<Op> = (0..count)
        .map(|_| op().new_tree(&mut runner).expect("a value").current())
        .collect();
    // A flush now and then, so later operations meet an empty table again.
    for i in (count / 3..count).step_by(count / 3 + 1) {
        ops[i] = Op::Flush;
    }
    ops
}
