//! `ipvsadm -S -n`, byte for byte: the legacy save format of a [`Table`], in the order
//! ipvsadm 1.31 (Debian 12, glibc 2.36) prints it, plus optional extra lines for what that
//! format loses (thresholds, `--set` timeouts, sync daemons) so that `ipvsadm -R` of the result
//! restores everything.
//!
//! What ipvsadm does, from its sources (`ipvsadm.c`: `list_all`, `print_service_entry`,
//! `print_tunnel_rule`, `print_sched_flags`, `addrport_to_anyname`; `libipvs/libipvs.c`:
//! `ipvs_cmp_services`, `ipvs_cmp_dests`, the netlink parse callbacks):
//!
//! - No header line in save mode (the version banner and column titles are for `-L` only).
//! - Service: `-A SVC -s SCHED`, then ` -p T` when persistent, ` -M MASK` when persistent and the
//!   mask is not /32 (dotted quad) or /128 (prefix number), ` --pe NAME` (even when not
//!   persistent), ` -o`, ` -b FLAGS`; no trailing space. SVC is `-t|-u|--sctp-service
//!   ADDR:PORT`, or `-f MARK` / `-f MARK -6` with the mark printed by `%d` (Debian 12's build
//!   predates the upstream fix to `%u`, so marks from 2^31 up print negative).
//! - Server: `-a SVC -r ADDR:PORT -g|-i|-m -w WEIGHT`, and for `-i` only ` --tun-type ipip`,
//!   ` --tun-type gue --tun-port P --tun-CSUM` or ` --tun-type gre --tun-CSUM`. The address is
//!   bracketed by the server's own family, the service part is the service's.
//! - Services are sorted with `ipvs_cmp_services`, each service's servers with
//!   `ipvs_cmp_dests` (see `order.rs`), by glibc 2.36's `qsort`, a top-down merge sort (see
//!   `msort.rs`) whose input is the kernel's dump order.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::inet_ntop::inet_ntop;
use super::order::{sort_servers, sort_services};
use crate::model::{
    Daemon, DumpedService, Family, Forward, Protocol, SchedFlags, Scheduler, Server, Service,
    ServiceKey, Table, Timeouts, Tunnel,
};

/// Which lines beyond what `ipvsadm -S` prints to add, so that nothing in the table is lost.
/// Every extra is valid `ipvsadm -R` input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SaveExtras {
    /// ` -x UPPER -y LOWER` at the end of a server line when either threshold is non-zero.
    pub thresholds: bool,
    /// A `--set TCP TCPFIN UDP` line after the table when any timeout is set (unset ones as 0,
    /// which ipvsadm and the kernel read as "leave unchanged").
    pub timeouts: bool,
    /// A `--start-daemon master|backup --mcast-interface IF --syncid N ...` line per daemon.
    pub daemons: bool,
}

impl SaveExtras {
    /// Exactly what `ipvsadm -S -n` prints.
    pub const NONE: SaveExtras = SaveExtras {
        thresholds: false,
        timeouts: false,
        daemons: false,
    };
    /// Everything the table holds except sysctls.
    pub const ALL: SaveExtras = SaveExtras {
        thresholds: true,
        timeouts: true,
        daemons: true,
    };
}

/// The table as `ipvsadm -S -n` prints it, taking the table's own iteration order as the
/// kernel's dump order, plus `extras`.
///
/// For a table read from a live kernel, where the output must match ipvsadm's for every address
/// set, use [`ipvsadm_save_ordered`] with the dump order.
pub fn ipvsadm_save(table: &Table, extras: SaveExtras) -> String {
    let dump: Vec<DumpedService> = table
        .services
        .values()
        .map(DumpedService::in_table_order)
        .collect();
    ipvsadm_save_ordered(&dump, &table.timeouts, table.daemons.values(), extras)
}

/// `ipvsadm -S -n` given the kernel's dump order of services and of each service's servers,
/// plus `extras` (the timeouts and daemons are only read for them).
pub fn ipvsadm_save_ordered<'d>(
    dump: &[DumpedService<'_>],
    timeouts: &Timeouts,
    daemons: impl IntoIterator<Item = &'d Daemon>,
    extras: SaveExtras,
) -> String {
    let mut services: Vec<&DumpedService> = dump.iter().collect();
    sort_services(&mut services, |d| d.service);

    let mut out = String::new();
    for dumped in services {
        let service = dumped.service;
        let svc = service_option(&service.key);
        write_service_line(&mut out, &svc, service);

        let mut servers = dumped.servers.clone();
        sort_servers(&mut servers, |s| *s);
        for server in servers {
            write_server_line(&mut out, &svc, server, extras.thresholds);
        }
    }

    if extras.timeouts && !timeouts.is_empty() {
        let _ = writeln!(
            out,
            "--set {} {} {}",
            timeouts.tcp.unwrap_or(0),
            timeouts.tcpfin.unwrap_or(0),
            timeouts.udp.unwrap_or(0)
        );
    }
    if extras.daemons {
        for daemon in daemons {
            write_daemon_line(&mut out, daemon);
        }
    }
    out
}
/// `-t 10.0.0.1:80`, `--sctp-service [2001:db8::1]:80`, `-f 1`, `-f 1 -6`.
fn service_option(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let option = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{option} {}", addr_port(&addr, port))
        }
        // ipvsadm 1.31 as built by Debian prints the mark with %d.
        ServiceKey::Fwmark { family, mark } => match family {
            Family::Ipv4 => format!("-f {}", mark as i32),
            Family::Ipv6 => format!("-f {} -6", mark as i32),
        },
    }
}

fn write_service_line(out: &mut String, svc: &str, service: &Service) {
    let _ = write!(out, "-A {svc} -s {}", service.scheduler.name());
    if let Some(timeout) = service.persistence {
        let _ = write!(out, " -p {timeout}");
        // ipvsadm reads the mask by the service's family, not the mask's.
        let mask = service.netmask.kernel_value();
        match service.key.family() {
            Family::Ipv4 => {
                if mask != 0xffff_ffff {
                    let _ = write!(out, " -M {}", Ipv4Addr::from(mask.to_ne_bytes()));
                }
            }
            Family::Ipv6 => {
                if mask != 128 {
                    let _ = write!(out, " -M {}", mask as i32);
                }
            }
        }
    }
    if let Some(pe) = service.pe.as_deref().filter(|pe| !pe.is_empty()) {
        let _ = write!(out, " --pe {pe}");
    }
    if service.one_packet {
        out.push_str(" -o");
    }
    if !service.flags.is_empty() {
        out.push_str(" -b ");
        out.push_str(&sched_flags(service.scheduler, service.flags));
    }
    out.push('\n');
}

/// `print_sched_flags`: sh and mh name only their two flags (a third flag set on them prints
/// nothing, leaving `-b ` with a trailing space); other schedulers print `flag-N`.
fn sched_flags(scheduler: Scheduler, flags: SchedFlags) -> String {
    let unnamed = scheduler.has_hash_flags().then_some(SchedFlags::FLAG3);
    let flags = SchedFlags(flags.0 & !unnamed.unwrap_or(0));
    flags.names(scheduler).join(",")
}

/// `-g`, `-m` or `-i`.
fn forward_option(forward: Forward) -> &'static str {
    match forward {
        Forward::Dr => "-g",
        Forward::Nat => "-m",
        Forward::Tunnel(_) => "-i",
    }
}

fn write_server_line(out: &mut String, svc: &str, server: &Server, thresholds: bool) {
    let forward = forward_option(server.forward);
    // The kernel's weight is an int, printed with %d.
    let _ = write!(
        out,
        "-a {svc} -r {} {forward} -w {}",
        addr_port(&server.key.addr, server.key.port),
        server.weight as i32
    );
    if let Forward::Tunnel(tunnel) = server.forward {
        let _ = write!(out, " --tun-type {}", tunnel.name());
        match tunnel {
            Tunnel::Ipip => {}
            Tunnel::Gue { port, checksum } => {
                let _ = write!(out, " --tun-port {port} --tun-{}", checksum.name());
            }
            Tunnel::Gre { checksum } => {
                let _ = write!(out, " --tun-{}", checksum.name());
            }
        }
    }
    if thresholds && (server.upper != 0 || server.lower != 0) {
        let _ = write!(out, " -x {} -y {}", server.upper, server.lower);
    }
    out.push('\n');
}

fn write_daemon_line(out: &mut String, daemon: &Daemon) {
    let _ = write!(
        out,
        "--start-daemon {} --mcast-interface {} --syncid {}",
        daemon.state.name(),
        daemon.interface,
        daemon.syncid
    );
    if let Some(maxlen) = daemon.maxlen {
        let _ = write!(out, " --sync-maxlen {maxlen}");
    }
    if let Some(group) = daemon.group {
        let _ = write!(out, " --mcast-group {}", inet_ntop(&group));
    }
    if let Some(port) = daemon.port {
        let _ = write!(out, " --mcast-port {port}");
    }
    if let Some(ttl) = daemon.ttl {
        let _ = write!(out, " --mcast-ttl {ttl}");
    }
    out.push('\n');
}

/// `addrport_to_anyname` with `-n`: `10.0.0.1:80`, `[2001:db8::1]:80`.
fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(_) => format!("{}:{port}", inet_ntop(addr)),
        IpAddr::V6(_) => format!("[{}]:{port}", inet_ntop(addr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Checksum, DaemonState, Netmask, ServerKey};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn inet(protocol: Protocol, addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Inet {
            protocol,
            addr: ip(addr),
            port,
        }
    }

    fn server(addr: &str, port: u16, forward: Forward, weight: u32) -> Server {
        Server {
            forward,
            weight,
            ..Server::new(ServerKey {
                addr: ip(addr),
                port,
            })
        }
    }

    fn add(table: &mut Table, service: Service, servers: Vec<Server>) {
        let mut service = service;
        for s in servers {
            service.servers.insert(s.key, s);
        }
        table.services.insert(service.key, service);
    }

    /// A table using every option the save format has, and the extras.
    fn full_table() -> Table {
        let mut t = Table::default();

        let mut web = Service::new(inet(Protocol::Tcp, "10.0.0.1", 80));
        web.scheduler = Scheduler::Wrr;
        web.persistence = Some(300);
        web.netmask = Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0));
        web.pe = Some("sip".into());
        web.flags = SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG3);
        let mut nat = server("192.168.1.2", 8080, Forward::Nat, 3);
        nat.upper = 100;
        nat.lower = 10;
        add(
            &mut t,
            web,
            vec![
                nat,
                server("192.168.1.1", 80, Forward::Dr, 1),
                server("192.168.1.3", 80, Forward::Tunnel(Tunnel::Ipip), 0),
                server(
                    "192.168.1.4",
                    80,
                    Forward::Tunnel(Tunnel::Gue {
                        port: 6080,
                        checksum: Checksum::RemCsum,
                    }),
                    2,
                ),
                server(
                    "192.168.1.5",
                    80,
                    Forward::Tunnel(Tunnel::Gre {
                        checksum: Checksum::Csum,
                    }),
                    65535,
                ),
            ],
        );

        let mut dns = Service::new(inet(Protocol::Udp, "10.0.0.1", 53));
        dns.scheduler = Scheduler::Sh;
        dns.one_packet = true;
        dns.flags = SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2);
        dns.persistence = Some(360); // full mask: no -M
        add(
            &mut t,
            dns,
            vec![server("192.168.2.1", 53, Forward::Nat, 1)],
        );

        let mut sctp = Service::new(inet(Protocol::Sctp, "10.0.0.2", 5060));
        sctp.scheduler = Scheduler::Mh;
        sctp.flags = SchedFlags(SchedFlags::FLAG2);
        add(&mut t, sctp, vec![]);

        let mut v6 = Service::new(inet(Protocol::Tcp, "2001:db8::1", 443));
        v6.scheduler = Scheduler::Rr;
        v6.persistence = Some(60);
        v6.netmask = Netmask::Ipv6(64);
        add(
            &mut t,
            v6,
            vec![
                server("2001:db8::20", 443, Forward::Nat, 1),
                // A server of the other family: tunneled, bracketed by its own family.
                server(
                    "192.168.3.1",
                    443,
                    Forward::Tunnel(Tunnel::Gue {
                        port: 5555,
                        checksum: Checksum::NoCsum,
                    }),
                    1,
                ),
            ],
        );

        let mut mark = Service::new(ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark: 1,
        });
        mark.scheduler = Scheduler::Lc;
        add(
            &mut t,
            mark,
            vec![
                server("192.168.4.1", 0, Forward::Dr, 1),
                // An IPv6 server of an IPv4 service.
                server(
                    "2001:db8::4",
                    0,
                    Forward::Tunnel(Tunnel::Gre {
                        checksum: Checksum::NoCsum,
                    }),
                    1,
                ),
            ],
        );

        let mark6 = Service::new(ServiceKey::Fwmark {
            family: Family::Ipv6,
            mark: 2,
        });
        add(
            &mut t,
            mark6,
            vec![server("2001:db8::5", 0, Forward::Dr, 1)],
        );

        t.timeouts = Timeouts {
            tcp: Some(900),
            tcpfin: None,
            udp: Some(300),
        };
        t.daemons.insert(
            DaemonState::Master,
            Daemon {
                state: DaemonState::Master,
                interface: "eth0".into(),
                syncid: 7,
                maxlen: Some(1472),
                group: Some(ip("224.0.0.81")),
                port: Some(8848),
                ttl: Some(2),
            },
        );
        t.daemons.insert(
            DaemonState::Backup,
            Daemon {
                state: DaemonState::Backup,
                interface: "eth1".into(),
                syncid: 0,
                maxlen: None,
                group: None,
                port: None,
                ttl: None,
            },
        );
        t
    }

    const FULL_RULES: &str = "\
-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0 --pe sip -b flag-1,flag-3
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -g -w 1
-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 3
-a -t 10.0.0.1:80 -r 192.168.1.3:80 -i -w 0 --tun-type ipip
-a -t 10.0.0.1:80 -r 192.168.1.4:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 10.0.0.1:80 -r 192.168.1.5:80 -i -w 65535 --tun-type gre --tun-csum
-A -u 10.0.0.1:53 -s sh -p 360 -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 192.168.2.1:53 -m -w 1
-A --sctp-service 10.0.0.2:5060 -s mh -b mh-port
-A -t [2001:db8::1]:443 -s rr -p 60 -M 64
-a -t [2001:db8::1]:443 -r 192.168.3.1:443 -i -w 1 --tun-type gue --tun-port 5555 --tun-nocsum
-a -t [2001:db8::1]:443 -r [2001:db8::20]:443 -m -w 1
-A -f 1 -s lc
-a -f 1 -r 192.168.4.1:0 -g -w 1
-a -f 1 -r [2001:db8::4]:0 -i -w 1 --tun-type gre --tun-nocsum
-A -f 2 -6 -s wlc
-a -f 2 -6 -r [2001:db8::5]:0 -g -w 1
";

    #[test]
    fn every_option_without_extras() {
        assert_eq!(ipvsadm_save(&full_table(), SaveExtras::NONE), FULL_RULES);
    }

    #[test]
    fn every_option_with_extras() {
        let expected = FULL_RULES.replace(
            "-r 192.168.1.2:8080 -m -w 3\n",
            "-r 192.168.1.2:8080 -m -w 3 -x 100 -y 10\n",
        ) + "--set 900 0 300\n\
             --start-daemon master --mcast-interface eth0 --syncid 7 --sync-maxlen 1472 \
             --mcast-group 224.0.0.81 --mcast-port 8848 --mcast-ttl 2\n\
             --start-daemon backup --mcast-interface eth1 --syncid 0\n";
        assert_eq!(ipvsadm_save(&full_table(), SaveExtras::ALL), expected);
    }

    #[test]
    fn extras_one_at_a_time() {
        let t = full_table();
        let only = |e: SaveExtras| ipvsadm_save(&t, e);
        let thresholds = only(SaveExtras {
            thresholds: true,
            ..SaveExtras::NONE
        });
        assert!(thresholds.contains(" -x 100 -y 10\n"));
        assert!(!thresholds.contains("--set") && !thresholds.contains("--start-daemon"));
        let timeouts = only(SaveExtras {
            timeouts: true,
            ..SaveExtras::NONE
        });
        assert!(timeouts.ends_with("-w 1\n--set 900 0 300\n"));
        assert!(!timeouts.contains(" -x "));
        let daemons = only(SaveExtras {
            daemons: true,
            ..SaveExtras::NONE
        });
        assert_eq!(daemons.matches("--start-daemon").count(), 2);
        assert!(!daemons.contains("--set"));

        // Nothing to add: no line.
        let mut empty = t.clone();
        empty.timeouts = Timeouts::default();
        empty.daemons.clear();
        let all = ipvsadm_save(&empty, SaveExtras::ALL);
        assert!(!all.contains("--set") && !all.contains("--start-daemon"));
        assert_eq!(ipvsadm_save(&Table::default(), SaveExtras::ALL), "");
    }

    #[test]
    fn address_order_is_the_wrapped_difference() {
        // Seen on a real kernel: 207.175.44.110 - 10.0.0.1 wraps negative.
        let mut t = Table::default();
        for a in ["10.0.0.1", "207.175.44.110"] {
            add(
                &mut t,
                Service::new(inet(Protocol::Tcp, a, 80)),
                vec![
                    server("10.0.0.1", 80, Forward::Dr, 1),
                    server("207.175.44.110", 80, Forward::Dr, 1),
                ],
            );
        }
        let out = ipvsadm_save(&t, SaveExtras::NONE);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "-A -t 207.175.44.110:80 -s wlc",
                "-a -t 207.175.44.110:80 -r 207.175.44.110:80 -g -w 1",
                "-a -t 207.175.44.110:80 -r 10.0.0.1:80 -g -w 1",
                "-A -t 10.0.0.1:80 -s wlc",
                "-a -t 10.0.0.1:80 -r 207.175.44.110:80 -g -w 1",
                "-a -t 10.0.0.1:80 -r 10.0.0.1:80 -g -w 1",
            ]
        );
    }

    #[test]
    fn family_protocol_and_mark_order() {
        // Family before protocol: IPv4 TCP, UDP, SCTP (protocol numbers), then IPv6; marks after
        // unmarked services (0 - mark is negative), IPv4 before IPv6 for the same mark.
        let mut t = Table::default();
        for key in [
            ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: 5,
            },
            ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark: 5,
            },
            inet(Protocol::Sctp, "1.1.1.1", 1),
            inet(Protocol::Udp, "1.1.1.1", 1),
            inet(Protocol::Tcp, "::1", 1),
            inet(Protocol::Tcp, "1.1.1.1", 2),
            inet(Protocol::Tcp, "1.1.1.1", 1),
        ] {
            add(&mut t, Service::new(key), vec![]);
        }
        assert_eq!(
            ipvsadm_save(&t, SaveExtras::NONE),
            "\
-A -t 1.1.1.1:1 -s wlc
-A -t 1.1.1.1:2 -s wlc
-A -u 1.1.1.1:1 -s wlc
-A --sctp-service 1.1.1.1:1 -s wlc
-A -t [::1]:1 -s wlc
-A -f 5 -s wlc
-A -f 5 -6 -s wlc
"
        );
    }

    #[test]
    fn a_mark_from_2_31_sorts_first() {
        // 0 - 0x80000001 wraps positive, 0x80000001 - 0 negative: the mark goes first, and
        // prints negative (%d).
        let mut t = Table::default();
        add(
            &mut t,
            Service::new(inet(Protocol::Tcp, "1.1.1.1", 1)),
            vec![],
        );
        let mark = ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark: 0x8000_0001,
        };
        add(&mut t, Service::new(mark), vec![]);
        assert_eq!(
            ipvsadm_save(&t, SaveExtras::NONE),
            "-A -f -2147483647 -s wlc\n-A -t 1.1.1.1:1 -s wlc\n"
        );
    }

    #[test]
    fn ipv6_order_is_by_first_differing_word() {
        let mut t = Table::default();
        add(
            &mut t,
            Service::new(inet(Protocol::Tcp, "2001:db8::1", 80)),
            vec![
                server("2001:db8::1", 80, Forward::Nat, 1),
                // Word 1: 0 - 0xc000_0000 wraps positive, so this one goes first.
                server("2001:db8:c000::1", 80, Forward::Nat, 1),
                server("2001:db8::1", 79, Forward::Nat, 1),
                // Word 0: 0x2001_0db8 - 0xc001_0000 wraps positive.
                server("c001::1", 80, Forward::Nat, 1),
            ],
        );
        assert_eq!(
            ipvsadm_save(&t, SaveExtras::NONE),
            "\
-A -t [2001:db8::1]:80 -s wlc
-a -t [2001:db8::1]:80 -r [c001::1]:80 -m -w 1
-a -t [2001:db8::1]:80 -r [2001:db8:c000::1]:80 -m -w 1
-a -t [2001:db8::1]:80 -r [2001:db8::1]:79 -m -w 1
-a -t [2001:db8::1]:80 -r [2001:db8::1]:80 -m -w 1
"
        );
    }

    #[test]
    fn dump_order_matters_for_cyclic_sets() {
        let services: Vec<Service> = ["10.0.0.1", "100.0.0.1", "200.0.0.1"]
            .iter()
            .map(|a| Service::new(inet(Protocol::Tcp, a, 80)))
            .collect();
        let dump = |order: [usize; 3]| -> Vec<DumpedService> {
            order
                .iter()
                .map(|&i| DumpedService::in_table_order(&services[i]))
                .collect()
        };
        let save = |order| {
            ipvsadm_save_ordered(
                &dump(order),
                &Timeouts::default(),
                std::iter::empty(),
                SaveExtras::NONE,
            )
        };
        assert_eq!(
            save([0, 1, 2]),
            "-A -t 10.0.0.1:80 -s wlc\n-A -t 100.0.0.1:80 -s wlc\n-A -t 200.0.0.1:80 -s wlc\n"
        );
        assert_eq!(
            save([2, 0, 1]),
            "-A -t 200.0.0.1:80 -s wlc\n-A -t 10.0.0.1:80 -s wlc\n-A -t 100.0.0.1:80 -s wlc\n"
        );
    }

    #[test]
    fn sched_flag_edge_cases() {
        let mut t = Table::default();
        let mut sh = Service::new(inet(Protocol::Tcp, "10.0.0.1", 1));
        sh.scheduler = Scheduler::Sh;
        sh.flags = SchedFlags(SchedFlags::FLAG3);
        add(&mut t, sh, vec![]);
        let mut mh = Service::new(inet(Protocol::Tcp, "10.0.0.1", 2));
        mh.scheduler = Scheduler::Mh;
        mh.flags = SchedFlags(7);
        add(&mut t, mh, vec![]);
        // Non-persistent: neither -p nor -M, even with a narrow mask; --pe still printed.
        let mut np = Service::new(inet(Protocol::Tcp, "10.0.0.1", 3));
        np.netmask = Netmask::Ipv4(Ipv4Addr::new(255, 0, 0, 0));
        np.pe = Some("sip".into());
        add(&mut t, np, vec![]);
        assert_eq!(
            ipvsadm_save(&t, SaveExtras::NONE),
            "\
-A -t 10.0.0.1:1 -s sh -b 
-A -t 10.0.0.1:2 -s mh -b mh-fallback,mh-port
-A -t 10.0.0.1:3 -s wlc --pe sip
"
        );
    }

    #[test]
    fn weight_and_mark_print_as_c_ints() {
        let mut t = Table::default();
        add(
            &mut t,
            Service::new(ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: u32::MAX,
            }),
            vec![server("::1", 0, Forward::Dr, 0x8000_0000)],
        );
        assert_eq!(
            ipvsadm_save(&t, SaveExtras::NONE),
            "-A -f -1 -6 -s wlc\n-a -f -1 -6 -r [::1]:0 -g -w -2147483648\n"
        );
    }

    #[test]
    fn table_order_input_is_btree_order() {
        // With a transitive address set the output does not depend on the input order.
        let mut t = Table::default();
        for a in ["10.0.0.3", "10.0.0.1", "10.0.0.2"] {
            add(&mut t, Service::new(inet(Protocol::Tcp, a, 80)), vec![]);
        }
        assert_eq!(
            ipvsadm_save(&t, SaveExtras::NONE),
            "-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.2:80 -s wlc\n-A -t 10.0.0.3:80 -s wlc\n"
        );
    }
}
