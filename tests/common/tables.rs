//! Strategies for random valid tables (what a file could declare and the kernel accept).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvsc::model::*;
use proptest::prelude::*;

pub fn addr(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Ipv4 => (1u8..=223, any::<u8>(), any::<u8>(), 1u8..=254)
            .prop_filter("not loopback", |(a, ..)| *a != 127)
            .prop_map(|(a, b, c, d)| IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
            .boxed(),
        Family::Ipv6 => (0x2001u16..0x2fff, any::<u16>(), any::<u16>(), 1u16..)
            .prop_map(|(a, b, c, d)| IpAddr::V6(Ipv6Addr::new(a, 0xdb8, b, c, 0, 0, 0, d)))
            .boxed(),
    }
}

pub fn family() -> impl Strategy<Value = Family> {
    prop_oneof![3 => Just(Family::Ipv4), 1 => Just(Family::Ipv6)]
}

pub fn key() -> impl Strategy<Value = ServiceKey> {
    family().prop_flat_map(|f| {
        prop_oneof![
            (
                prop::sample::select(Protocol::ALL.to_vec()),
                addr(f),
                1u16..
            )
                .prop_map(|(protocol, addr, port)| ServiceKey::Inet {
                    protocol,
                    addr,
                    port
                }),
            (1u32..).prop_map(move |mark| ServiceKey::Fwmark { family: f, mark }),
        ]
    })
}

pub fn checksum() -> impl Strategy<Value = Checksum> {
    prop::sample::select(vec![Checksum::NoCsum, Checksum::Csum, Checksum::RemCsum])
}

pub fn forward(tunnel_only: bool) -> BoxedStrategy<Forward> {
    let tunnel = prop_oneof![
        Just(Tunnel::Ipip),
        (1u16.., checksum()).prop_map(|(port, checksum)| Tunnel::Gue { port, checksum }),
        prop::sample::select(vec![Checksum::NoCsum, Checksum::Csum])
            .prop_map(|checksum| Tunnel::Gre { checksum }),
    ]
    .prop_map(Forward::Tunnel);
    if tunnel_only {
        tunnel.boxed()
    } else {
        prop_oneof![Just(Forward::Dr), Just(Forward::Nat), tunnel].boxed()
    }
}

pub fn server(service: ServiceKey) -> BoxedStrategy<Server> {
    let same = service.family();
    (family(), any::<bool>())
        .prop_flat_map(move |(f, keep)| {
            let f = if keep { same } else { f };
            let mixed = f != same;
            (
                addr(f),
                any::<u16>(),
                forward(mixed),
                0u32..=MAX_WEIGHT,
                0u32..5000,
                0u32..5000,
            )
        })
        .prop_map(move |(addr, port, forward, weight, a, b)| {
            let port = match (service.port(), forward) {
                (Some(vport), f) if f.keeps_virtual_port() => vport,
                _ => port,
            };
            let (upper, lower) = if a == 0 { (0, 0) } else { (a.max(b), a.min(b)) };
            Server {
                key: ServerKey { addr, port },
                forward,
                weight,
                upper,
                lower,
            }
        })
        .boxed()
}

pub fn service() -> impl Strategy<Value = Service> {
    key()
        .prop_flat_map(|key| {
            let f = key.family();
            (
                prop::sample::select(Scheduler::ALL.to_vec()),
                0u8..8,
                prop::option::of(1u32..=MAX_TIMEOUT),
                match f {
                    Family::Ipv4 => (0u32..=32)
                        .prop_map(|p| {
                            Netmask::Ipv4(Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0)))
                        })
                        .boxed(),
                    Family::Ipv6 => (1u8..=128).prop_map(Netmask::Ipv6).boxed(),
                },
                any::<bool>(),
                any::<bool>(),
                prop::collection::vec(server(key), 0..6),
            )
                .prop_map(
                    move |(scheduler, flags, persistence, netmask, pe, one_packet, servers)| {
                        // ipvsadm -S cannot name flag-3 of sh and mh (it prints `-b ` and nothing).
                        let flags = if scheduler.has_hash_flags() {
                            flags & 3
                        } else {
                            flags
                        };
                        let one_packet = one_packet
                            && !matches!(key.protocol(), Some(Protocol::Tcp | Protocol::Sctp));
                        Service {
                            key,
                            scheduler,
                            flags: SchedFlags(flags),
                            persistence,
                            // ipvsadm -S prints -M only for persistent services.
                            netmask: if persistence.is_some() {
                                netmask
                            } else {
                                Netmask::full(f)
                            },
                            pe: (pe && persistence.is_some()).then(|| "sip".to_string()),
                            one_packet,
                            servers: servers.into_iter().map(|s| (s.key, s)).collect(),
                        }
                    },
                )
        })
        .prop_filter("port 0 needs persistence", |s| {
            s.key.port() != Some(0) || s.persistence.is_some()
        })
}

pub fn daemon(state: DaemonState) -> impl Strategy<Value = Daemon> {
    (
        "[a-z][a-z0-9]{0,6}",
        any::<u8>(),
        prop::option::of(1u16..=65507),
        prop::option::of(
            (224u8..=239, any::<u8>()).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(a, 0, 0, b))),
        ),
        prop::option::of(1u16..),
        prop::option::of(1u8..),
    )
        .prop_map(
            move |(interface, syncid, maxlen, group, port, ttl)| Daemon {
                state,
                interface,
                syncid,
                maxlen,
                group,
                port,
                ttl,
            },
        )
}

pub fn table() -> impl Strategy<Value = Table> {
    (
        prop::collection::vec(service(), 0..8),
        prop::option::of(1u32..=MAX_TIMEOUT),
        prop::option::of(1u32..=MAX_TIMEOUT),
        prop::option::of(1u32..=MAX_TIMEOUT),
        prop::option::of(daemon(DaemonState::Master)),
        prop::option::of(daemon(DaemonState::Backup)),
    )
        .prop_map(|(services, tcp, tcpfin, udp, master, backup)| {
            let mut services: BTreeMap<ServiceKey, Service> =
                services.into_iter().map(|s| (s.key, s)).collect();
            let daemons: BTreeMap<DaemonState, Daemon> = master
                .into_iter()
                .chain(backup)
                .map(|d| (d.state, d))
                .collect();
            if !daemons.is_empty() {
                // The kernel refuses mixed families while a sync daemon runs.
                for s in services.values_mut() {
                    let f = s.key.family();
                    s.servers.retain(|k, _| Family::of(&k.addr) == f);
                }
            }
            Table {
                services,
                timeouts: Timeouts { tcp, tcpfin, udp },
                daemons,
                sysctls: BTreeMap::new(),
            }
        })
}

pub fn with_sysctls() -> impl Strategy<Value = Table> {
    (
        table(),
        prop::collection::vec(
            (
                prop::sample::select(Sysctl::ALL.to_vec()),
                0i64..4,
                0i64..100,
            ),
            0..6,
        ),
    )
        .prop_map(|(mut t, list)| {
            for (s, a, b) in list {
                let v = match s.kind() {
                    SysctlKind::Defense => {
                        SysctlValue::Defense(DefenseMode::from_kernel_value(a).unwrap())
                    }
                    SysctlKind::Switch => SysctlValue::Int(a % 2),
                    SysctlKind::Int { min, max } => SysctlValue::Int((a + b).clamp(min, max)),
                    SysctlKind::Pair => SysctlValue::Pair(a, b),
                };
                let v = match s {
                    Sysctl::SyncPorts => SysctlValue::Int(1 << a),
                    _ => v,
                };
                // Only what the kernel takes: a table is what a kernel can hold.
                if s.refusal(&v).is_none() {
                    t.sysctls.insert(s, v);
                }
            }
            t
        })
}
