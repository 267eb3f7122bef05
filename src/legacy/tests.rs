use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::check::builder::{Built, Dialect};
use crate::model::*;

const FILE: FileId = FileId(7);

fn run(text: &str) -> Built {
    let mut builder = Builder::new(Dialect::Ipvsadm);
    load(text, FILE, &mut builder);
    builder.finish()
}

fn ok(text: &str) -> Table {
    let built = run(text);
    let errors: Vec<&Diagnostic> = built.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    built.table
}

fn errors(text: &str) -> Vec<Diagnostic> {
    run(text)
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// The one error `text` gives, and the text its label is under.
fn one_error(text: &str) -> (Diagnostic, &str) {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error: {errors:#?}");
    let d = errors.into_iter().next().unwrap();
    assert_eq!(d.label.span.file, FILE);
    let under = &text[d.label.span.start..d.label.span.end];
    (d, under)
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet {
        protocol: Protocol::Tcp,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn udp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Inet {
        protocol: Protocol::Udp,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn server(addr: &str, port: u16) -> ServerKey {
    ServerKey {
        addr: addr.parse().unwrap(),
        port,
    }
}

const DUMP: &str = "\
-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0 --pe sip
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 3
-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -m -w 0
-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 192.168.1.20:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-a -u 10.0.0.1:53 -r 192.168.1.21:53 -i -w 1 --tun-type gre --tun-csum
-a -u 10.0.0.1:53 -r 192.168.1.22:53 -i -w 1 --tun-type ipip
-A --sctp-service 10.0.0.2:5060 -s mh -b mh-port
-A -t [2001:db8::1]:443 -s rr -p 60 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 2
-A -f 7 -s lc -b flag-1,flag-3
-A -f 1 -6 -s rr
-a -f 1 -6 -r [2001:db8::20]:0 -g -w 1
";

#[test]
fn a_dump_with_every_option_gives_its_table() {
    let table = ok(DUMP);
    assert_eq!(table.services.len(), 6);

    let web = &table.services[&tcp("10.0.0.1", 80)];
    assert_eq!(web.scheduler, Scheduler::Wrr);
    assert_eq!(web.persistence, Some(300));
    assert_eq!(web.netmask, Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(web.pe.as_deref(), Some("sip"));
    assert!(!web.one_packet);
    let dr = &web.servers[&server("192.168.1.10", 80)];
    assert_eq!(dr.forward, Forward::Dr);
    assert_eq!(dr.weight, 3);
    let nat = &web.servers[&server("192.168.1.11", 8080)];
    assert_eq!(nat.forward, Forward::Nat);
    assert_eq!(nat.weight, 0);

    let dns = &table.services[&udp("10.0.0.1", 53)];
    assert_eq!(dns.scheduler, Scheduler::Sh);
    assert!(dns.one_packet);
    assert_eq!(dns.flags, SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2));
    assert_eq!(dns.persistence, None);
    assert_eq!(
        dns.servers[&server("192.168.1.20", 53)].forward,
        Forward::Tunnel(Tunnel::Gue {
            port: 6080,
            checksum: Checksum::RemCsum
        })
    );
    assert_eq!(
        dns.servers[&server("192.168.1.21", 53)].forward,
        Forward::Tunnel(Tunnel::Gre {
            checksum: Checksum::Csum
        })
    );
    assert_eq!(
        dns.servers[&server("192.168.1.22", 53)].forward,
        Forward::Tunnel(Tunnel::Ipip)
    );

    let sip = ServiceKey::Inet {
        protocol: Protocol::Sctp,
        addr: "10.0.0.2".parse().unwrap(),
        port: 5060,
    };
    assert_eq!(table.services[&sip].scheduler, Scheduler::Mh);
    assert_eq!(table.services[&sip].flags, SchedFlags(SchedFlags::FLAG2));

    let v6 = &table.services[&tcp("2001:db8::1", 443)];
    assert_eq!(v6.netmask, Netmask::Ipv6(64));
    assert_eq!(v6.persistence, Some(60));
    assert_eq!(
        v6.servers[&server("2001:db8::10", 443)].forward,
        Forward::Nat
    );

    let mark = &table.services[&ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark: 7,
    }];
    assert_eq!(mark.scheduler, Scheduler::Lc);
    assert_eq!(
        mark.flags,
        SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG3)
    );

    let mark6 = &table.services[&ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 1,
    }];
    assert_eq!(mark6.netmask, Netmask::Ipv6(128));
    assert!(mark6.servers.contains_key(&server("2001:db8::20", 0)));
}

#[test]
fn the_word_ipvsadm_is_dropped_and_comments_ignored() {
    let table = ok("\
#!/bin/sh
# the web service
ipvsadm -A -t 10.0.0.1:80 -s rr   # round robin
   # indented comment

ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.10 -m -w 5	#after a tab
");
    let web = &table.services[&tcp("10.0.0.1", 80)];
    assert_eq!(web.scheduler, Scheduler::Rr);
    let s = &web.servers[&server("192.168.1.10", 80)];
    assert_eq!((s.forward, s.weight), (Forward::Nat, 5));
}

#[test]
fn a_hash_inside_a_word_is_not_a_comment() {
    // The shell passes `5#x` to ipvsadm whole, and ipvsadm refuses it as a weight; ipvsc read
    // it as 5 before.
    let (d, under) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 5#x\n");
    assert_eq!(d.code, Code::BadNumber);
    assert_eq!(under, "5#x");
}

#[test]
fn edits_and_deletes_apply_in_order() {
    let table = ok("\
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.2:80
-A -u 10.0.0.3:53
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 2
-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m
-a -t 10.0.0.1:80 -r 192.168.1.12:80
-E -t 10.0.0.1:80 -s wlc -p
-e -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 9 -x 100 -y 50
-d -t 10.0.0.1:80 -r 192.168.1.11:80
-d -t 10.0.0.1:80 -r 192.168.1.12
-D -t 10.0.0.2:80
-C
-A -t 10.0.0.9:80
-A -t 10.0.0.1:80 -s sed
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m
-e -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 4
");
    let keys: Vec<&ServiceKey> = table.services.keys().collect();
    assert_eq!(keys, [&tcp("10.0.0.1", 80), &tcp("10.0.0.9", 80)]);
    let web = &table.services[&tcp("10.0.0.1", 80)];
    assert_eq!(web.scheduler, Scheduler::Sed);
    assert_eq!(web.persistence, None);
    assert_eq!(web.servers.len(), 1);
    assert_eq!(web.servers[&server("192.168.1.10", 80)].weight, 4);
}

#[test]
fn edits_keep_servers_and_reset_unset_options() {
    let table = ok("\
-A -t 10.0.0.1:80 -s rr -p 100
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 2 -x 100 -y 50
-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m
-E -t 10.0.0.1:80 -s wlc -p
-e -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 9
-d -t 10.0.0.1:80 -r 192.168.1.11:80
");
    let web = &table.services[&tcp("10.0.0.1", 80)];
    assert_eq!(web.scheduler, Scheduler::Wlc);
    assert_eq!(web.persistence, Some(360));
    let s = &web.servers[&server("192.168.1.10", 80)];
    assert_eq!((s.weight, s.upper, s.lower), (9, 0, 0));
    assert_eq!(web.servers.len(), 1);
}

#[test]
fn persistent_alone_is_360_seconds() {
    let table = ok("\
-A -t 10.0.0.1:80 -p
-A -t 10.0.0.2:80 -p -s rr
-A -t 10.0.0.3:80 --persistent
-A -t 10.0.0.4:80 --persistent=20
-A -t 10.0.0.5:80 -p30
");
    let p = |a| table.services[&tcp(a, 80)].persistence;
    assert_eq!(p("10.0.0.1"), Some(DEFAULT_PERSISTENCE));
    assert_eq!(p("10.0.0.1"), Some(360));
    assert_eq!(p("10.0.0.2"), Some(360));
    assert_eq!(
        table.services[&tcp("10.0.0.2", 80)].scheduler,
        Scheduler::Rr
    );
    assert_eq!(p("10.0.0.3"), Some(360));
    assert_eq!(p("10.0.0.4"), Some(20));
    assert_eq!(p("10.0.0.5"), Some(30));
}

#[test]
fn long_options_with_and_without_equals_and_clusters() {
    let table = ok("\
--add-service --tcp-service=10.0.0.1:80 --scheduler=rr
--add-server --tcp-service 10.0.0.1:80 --real-server 192.168.1.10 --masquerading --weight=7
-At 10.0.0.2:80 -srr
-at 10.0.0.2:80 -r 192.168.1.10 -mw3
");
    let web = &table.services[&tcp("10.0.0.1", 80)];
    assert_eq!(web.scheduler, Scheduler::Rr);
    assert_eq!(web.servers[&server("192.168.1.10", 80)].weight, 7);
    let other = &table.services[&tcp("10.0.0.2", 80)];
    assert_eq!(other.scheduler, Scheduler::Rr);
    let s = &other.servers[&server("192.168.1.10", 80)];
    assert_eq!((s.forward, s.weight), (Forward::Nat, 3));
}

#[test]
fn ipv6_services_and_servers() {
    let table = ok("\
-A -t [2001:db8::1]:80 -s rr
-a -t [2001:db8::1]:80 -r [2001:db8::10]:8080 -m
-a -t [2001:db8::1]:80 -r 2001:db8::11 -g
-A -f 1 -6 -s rr
-A -f 1 -s wrr
-a -f 1 -6 -r 2001:db8::12 -g
");
    let web = &table.services[&tcp("2001:db8::1", 80)];
    assert!(web.servers.contains_key(&server("2001:db8::10", 8080)));
    assert!(web.servers.contains_key(&server("2001:db8::11", 80)));
    let v6 = &table.services[&ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 1,
    }];
    assert_eq!(v6.scheduler, Scheduler::Rr);
    assert!(v6.servers.contains_key(&server("2001:db8::12", 0)));
    let v4 = &table.services[&ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark: 1,
    }];
    assert_eq!(v4.scheduler, Scheduler::Wrr);
    assert!(v4.servers.is_empty());
}

#[test]
fn timeouts_and_daemons() {
    let built = run("\
--set 900 0 300
--set 0 60 0
--start-daemon master --mcast-interface eth1 --syncid 5 --mcast-group 224.0.0.81 --mcast-port 8848 --mcast-ttl 2 --sync-maxlen 1400
--start-daemon backup --mcast-interface eth1
--stop-daemon backup
");
    assert!(built.diagnostics.is_empty(), "{:#?}", built.diagnostics);
    let t = built.table;
    assert_eq!(t.timeouts.tcp, Some(900));
    assert_eq!(t.timeouts.tcpfin, Some(60));
    assert_eq!(t.timeouts.udp, Some(300));
    let master = &t.daemons[&DaemonState::Master];
    assert_eq!(master.interface, "eth1");
    assert_eq!(master.syncid, 5);
    assert_eq!(master.group, Some("224.0.0.81".parse::<IpAddr>().unwrap()));
    assert_eq!(
        (master.port, master.ttl, master.maxlen),
        (Some(8848), Some(2), Some(1400))
    );
    assert!(!t.daemons.contains_key(&DaemonState::Backup));
}

#[test]
fn a_daemon_without_interface_runs_on_eth0_with_a_warning() {
    let built = run("--start-daemon master\n");
    assert_eq!(built.table.daemons[&DaemonState::Master].interface, "eth0");
    assert_eq!(built.diagnostics.len(), 1);
    assert!(!built.diagnostics[0].is_error());
}

#[test]
fn zero_and_listing_change_nothing() {
    let table = ok("\
-A -t 10.0.0.1:80
-Z
-Z -t 10.0.0.1:80
-L -n
-S -n
-A -t 10.0.0.2:80 --sort
");
    assert_eq!(table.services.len(), 2);
}

#[test]
fn numeric_is_only_for_listing_and_saving() {
    // Seen with ipvsadm 1.31: "Illegal 'numeric' option with the 'add-server' command", and
    // the line is not run (HACK-WU/lvs_manager's lvs_nat.sh passes its mode `n` as `-n`).
    let text = "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -n\n";
    let (d, under) = one_error(text);
    assert_eq!(d.code, Code::LegacySyntax);
    assert_eq!(under, "-n");
    assert!(d.help.unwrap().contains("`ipvsadm -L`"));
    assert!(run(text).table.services[&tcp("10.0.0.1", 80)]
        .servers
        .is_empty());
    let (_, under) = one_error("-A -t 10.0.0.1:80 -n\n");
    assert_eq!(under, "-n");
    let (_, under) = one_error("-C -n\n");
    assert_eq!(under, "-n");
}

#[test]
fn a_duplicate_service_is_an_error_on_its_line() {
    let text = "-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80\n-A  -t 10.0.0.1:80 -s wrr\n";
    let (d, under) = one_error(text);
    assert_eq!(d.code, Code::DupService);
    assert_eq!(under, "-t 10.0.0.1:80");
    assert_eq!(d.label.span.start, text.rfind("-t 10.0.0.1:80").unwrap());
    assert_eq!(d.notes[0].span.start, 0, "the first definition is line 1");
    // ipvsadm -R goes on after a refused line; the first definition stays.
    let table = run(text).table;
    assert_eq!(table.services.len(), 2);
    assert_eq!(
        table.services[&tcp("10.0.0.1", 80)].scheduler,
        Scheduler::Rr
    );
}

#[test]
fn a_server_of_an_undefined_service_is_an_error() {
    let text = "-A -t 10.0.0.1:80\n-a -t 10.0.0.2:80 -r 192.168.1.10\n";
    let (d, under) = one_error(text);
    assert_eq!(d.code, Code::NoSuchService);
    assert_eq!(under, "-t 10.0.0.2:80");
}

#[test]
fn refused_edits_and_deletes() {
    let (d, _) = one_error("-E -t 10.0.0.1:80 -s rr\n");
    assert_eq!(d.code, Code::NoSuchService);
    let (d, _) = one_error("-A -t 10.0.0.1:80\n-e -t 10.0.0.1:80 -r 192.168.1.10\n");
    assert_eq!(d.code, Code::NoSuchServer);
    let (d, under) = one_error("-A -t 10.0.0.1:80\n-d -t 10.0.0.1:80 -r 192.168.1.10\n");
    assert_eq!(d.code, Code::NoSuchServer);
    assert_eq!(under, "192.168.1.10");
    let (d, _) = one_error("-A -t 10.0.0.1:80\n-C\n-D -t 10.0.0.1:80\n");
    assert_eq!(d.code, Code::NoSuchService);
    let (d, under) = one_error("-Z -u 10.0.0.1:53\n");
    assert_eq!(d.code, Code::NoSuchService);
    assert_eq!(under, "-u 10.0.0.1:53");
}

#[test]
fn unknown_options_suggest_the_right_one() {
    let text = "-A -t 10.0.0.1:80 --schedular rr\n";
    let (d, under) = one_error(text);
    assert_eq!(d.code, Code::LegacySyntax);
    assert_eq!(under, "--schedular");
    assert_eq!(d.help.as_deref(), Some("did you mean `--scheduler`?"));

    let (d, under) = one_error("-A --tcp-servce=10.0.0.1:80\n");
    assert_eq!(under, "--tcp-servce");
    assert_eq!(d.help.as_deref(), Some("did you mean `--tcp-service`?"));

    let (d, _) = one_error("-A --tcp 10.0.0.1:80\n");
    assert!(d.help.unwrap().contains("`--tcp-service`"));

    let (d, under) = one_error("-A -T 10.0.0.1:80\n");
    assert_eq!(under, "-T");
    assert!(d.help.unwrap().contains("did you mean `-t`?"));
}

#[test]
fn unknown_values_suggest_the_right_one() {
    let (d, under) = one_error("-A -t 10.0.0.1:80 -s wrrr\n");
    assert_eq!(d.code, Code::UnknownScheduler);
    assert_eq!(under, "wrrr");
    assert_eq!(d.help.as_deref(), Some("did you mean `wrr`?"));

    let (d, under) = one_error("-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-prot\n");
    assert_eq!(d.code, Code::UnknownValue);
    assert_eq!(under, "sh-prot");
    assert_eq!(d.help.as_deref(), Some("did you mean `sh-port`?"));

    let (d, under) = one_error(
        "-A -u 10.0.0.1:53\n-a -u 10.0.0.1:53 -r 192.168.1.1 -i --tun-type geu --tun-port 1\n",
    );
    assert_eq!(under, "geu");
    assert_eq!(d.help.as_deref(), Some("did you mean `gue`?"));

    let (d, under) = one_error("--start-daemon mastr --mcast-interface eth0\n");
    assert_eq!(under, "mastr");
    assert_eq!(d.help.as_deref(), Some("did you mean `master`?"));
}

#[test]
fn a_missing_value_points_at_the_option() {
    let (d, under) = one_error("-A -t 10.0.0.1:80 -s\n");
    assert_eq!(d.code, Code::LegacySyntax);
    assert_eq!(under, "-s");
    assert!(d.message.contains("needs a scheduler name"));
    let (_, under) = one_error("-A -t 10.0.0.1:80 -s -p 10\n");
    assert_eq!(under, "-s");
    let (_, under) = one_error("-A -t 10.0.0.1:80 --scheduler=\n");
    assert_eq!(under, "--scheduler");
}

#[test]
fn an_option_of_another_command_is_an_error() {
    let (d, under) = one_error("-A -t 10.0.0.1:80 -r 192.168.1.10\n");
    assert_eq!(d.code, Code::LegacySyntax);
    assert_eq!(under, "-r 192.168.1.10");
    assert!(d.help.unwrap().contains("-a, -e or -d"));

    let (_, under) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.10 -s rr\n");
    assert_eq!(under, "-s rr");
    let (_, under) = one_error("-C -t 10.0.0.1:80\n");
    assert_eq!(under, "-t 10.0.0.1:80");
    let (d, _) = one_error("-A -t 10.0.0.1:80 --stats\n");
    assert!(d.help.unwrap().contains("ipvsadm -L"));
}

#[test]
fn line_shape_errors() {
    let (d, under) = one_error("-t 10.0.0.1:80 -A\n");
    assert_eq!(under, "-A");
    assert!(d.message.contains("must come first"));
    let (d, under) = one_error("-A -t 10.0.0.1:80 -a\n");
    assert_eq!(under, "-a");
    assert!(d.message.contains("more than one command"));
    let (_, under) = one_error("-A -t 10.0.0.1:80 -u 10.0.0.1:53\n");
    assert_eq!(under, "-u 10.0.0.1:53");
    let (_, under) = one_error("-A -t 10.0.0.1:80 -s rr -s wrr\n");
    assert_eq!(under, "-s wrr");
    let (_, under) = one_error("-A -t 10.0.0.1:80 rr\n");
    assert_eq!(under, "rr");
    let (d, under) = one_error("-A\n");
    assert_eq!(under, "-A");
    assert!(d.message.contains("needs a service"));
    let (_, under) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -w 2\n");
    assert_eq!(under, "-a");
    let (_, under) = one_error("--set 1 2\n");
    assert_eq!(under, "--set 1 2");
    let (_, under) = one_error("--set 1 2 3 4\n");
    assert_eq!(under, "4");
    let (_, under) = one_error("-A -t 10.0.0.1:80 -6\n");
    assert_eq!(under, "-6");
    let (_, under) = one_error("-A -6 -f 1\n");
    assert_eq!(under, "-6");
    let (_, under) = one_error("-h\n");
    assert_eq!(under, "-h");
    let (d, _) = one_error("-A -t 10.0.0.1:80 --ops=1\n");
    assert!(d.message.contains("takes no value"));
}

#[test]
fn addresses_are_numeric() {
    let (d, under) = one_error("-A -t www.example.com:80\n");
    assert_eq!(d.code, Code::BadAddress);
    assert_eq!(under, "www.example.com");
    assert!(d.message.contains("numeric"));
    assert!(d.help.unwrap().contains("ipvsadm-save -n"));
    let (d, under) = one_error("-A -t 10.0.0.256:80\n");
    assert_eq!(d.code, Code::BadAddress);
    assert_eq!(under, "10.0.0.256");
    let (_, under) = one_error("-A -t [2001:db8::1]\n");
    assert_eq!(under, "[2001:db8::1]");
    let (_, under) = one_error("-A -t 10.0.08.1:80\n");
    assert_eq!(under, "10.0.08.1");
    let (_, under) = one_error("-A -t [10.0.0.1]:80\n");
    assert_eq!(under, "10.0.0.1");
    let (_, under) = one_error("-A -t 2001:db8::1:80:x\n");
    assert_eq!(under, "2001:db8::1:80:x");
    let (d, under) = one_error("-A -t 10.0.0.1:99999\n");
    assert_eq!(d.code, Code::OutOfRange);
    assert_eq!(under, "99999");
}

#[test]
fn builder_rules_apply_with_legacy_words() {
    let (d, under) = one_error("-A -t 10.0.0.1:0\n");
    assert_eq!(d.code, Code::PortZero);
    assert_eq!(under, "-t 10.0.0.1:0");
    let (d, under) = one_error("-A -t 10.0.0.1:80 -o\n");
    assert_eq!(d.code, Code::OnePacket);
    assert_eq!(under, "-o");
    assert!(d.help.unwrap().contains("`-o`"));
    let (d, under) = one_error("-A -t 10.0.0.1:80 -s rr -b sh-port\n");
    assert_eq!(d.code, Code::SchedFlag);
    assert_eq!(under, "sh-port");
    let (d, under) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 2001:db8::1 -m\n");
    assert_eq!(d.code, Code::FamilyMismatch);
    assert_eq!(under, "2001:db8::1");
    assert!(d.help.unwrap().contains("`-i`"));
    let (d, under) =
        one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1 -m --tun-csum\n");
    assert_eq!(d.code, Code::TunnelOption);
    assert_eq!(under, "--tun-csum");
    let (d, under) =
        one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1 -i --tun-type gue\n");
    assert_eq!(d.code, Code::TunnelOption);
    assert_eq!(under, "gue");
    let (d, _) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1 -y 10\n");
    assert_eq!(d.code, Code::Threshold);
    let (d, under) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1 -w 70000\n");
    assert_eq!(d.code, Code::OutOfRange);
    assert_eq!(under, "70000");
    let (d, _) = one_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1 -m -g\n");
    assert!(d.message.contains("forwarding method"));
    // Another family is fine when tunneled.
    ok("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 2001:db8::1 -i\n");
}

#[test]
fn an_ipv4_prefix_netmask_warns_that_ipvsadm_reads_it_otherwise() {
    let built = run("-A -t 10.0.0.1:80 -p -M 24\n");
    let service = &built.table.services[&tcp("10.0.0.1", 80)];
    assert_eq!(
        service.netmask,
        Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0))
    );
    // Besides the warning that a persistent service does not drain (check::drain).
    let d: Vec<_> = built
        .diagnostics
        .iter()
        .filter(|d| d.code != crate::diagnostic::Code::DrainTemplate)
        .collect();
    assert_eq!(d.len(), 1);
    assert!(!d[0].is_error());
    assert!(d[0].help.as_ref().unwrap().contains("255.255.255.0"));
}

#[test]
fn errors_do_not_stop_later_lines() {
    let built =
        run("-A -t 10.0.0.1:80 --bogus\n-A -t 10.0.0.2:80\n-A -t 10.0.0.2:80\n-A -t 10.0.0.3:80\n");
    assert_eq!(built.diagnostics.iter().filter(|d| d.is_error()).count(), 2);
    assert_eq!(built.table.services.len(), 2);
}

#[test]
fn spans_are_byte_offsets_into_the_whole_text() {
    let text = "# héllo wörld\n-A -t 10.0.0.1:80 -s rx\n";
    let (_, under) = one_error(text);
    assert_eq!(under, "rx");
}

#[test]
fn content_detection() {
    assert!(looks_legacy("-A -t 10.0.0.1:80 -s rr\n"));
    assert!(looks_legacy(
        "\n# saved by ipvsadm-save\n\n  -A -t 10.0.0.1:80\n"
    ));
    assert!(looks_legacy("ipvsadm -A -t 10.0.0.1:80\n"));
    assert!(looks_legacy("#!/bin/sh\nipvsadm -C\n"));
    assert!(looks_legacy("\u{feff}-C\n"));
    assert!(!looks_legacy(""));
    assert!(!looks_legacy("# only a comment\n\n"));
    assert!(!looks_legacy("service tcp 10.0.0.1:80 {\n}\n"));
    assert!(!looks_legacy(
        "# -A looks like an option but is a comment\ndefine web = 10.0.0.1\n"
    ));
    assert!(!looks_legacy("include \"x.ipvs\"\n-A -t 10.0.0.1:80\n"));
    assert!(!looks_legacy("ipvsadm\n"));
    assert!(!looks_legacy("timeouts { tcp 900 }\n"));
}

#[test]
fn a_negative_mark_from_ipvsadm_save_reads_as_the_mark_it_stands_for() {
    let built = run("-A -f -2141334884 -s rr\n-a -f -2141334884 -r 10.0.0.5 -g\n-A -f -1\n");
    let errors: Vec<&Diagnostic> = built.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let key = ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark: 2_153_632_412,
    };
    assert!(built.table.services[&key]
        .servers
        .contains_key(&server("10.0.0.5", 0)));
    assert!(built.table.services.contains_key(&ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark: u32::MAX,
    }));
    assert_eq!(built.diagnostics.len(), 3, "one warning per negative mark");
    let (d, under) = one_error("-A -f -2147483649\n");
    assert_eq!(d.code, Code::OutOfRange);
    assert_eq!(under, "-2147483649");
    let (d, _) = one_error("-A -f 0\n");
    assert_eq!(d.code, Code::OutOfRange);
}

#[test]
fn port_names_are_read_for_the_services_protocol() {
    let table = ok("\
-A -t 10.0.0.1:http -s rr
-a -t 10.0.0.1:www -r 10.0.0.2:https -m
-A -u 10.0.0.1:domain
-a -u 10.0.0.1:domain -r 10.0.0.3:syslog -m
-A --sctp-service 10.0.0.1:amqp
-A -f 1 -p
-a -f 1 -r 10.0.0.4:ssh -m
");
    let web = &table.services[&tcp("10.0.0.1", 80)];
    assert!(web.servers.contains_key(&server("10.0.0.2", 443)));
    let dns = &table.services[&udp("10.0.0.1", 53)];
    // syslog is a UDP name only (514/udp; 514/tcp is `shell`).
    assert!(dns.servers.contains_key(&server("10.0.0.3", 514)));
    let sctp = ServiceKey::Inet {
        protocol: Protocol::Sctp,
        addr: "10.0.0.1".parse().unwrap(),
        port: 5672,
    };
    assert!(table.services.contains_key(&sctp));
    // A firewall-mark line looks names up as TCP, as ipvsadm sets TCP for `-f`.
    let mark = &table.services[&ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark: 1,
    }];
    assert!(mark.servers.contains_key(&server("10.0.0.4", 22)));
}

#[test]
fn unknown_port_names_are_located_with_a_suggestion() {
    let (d, under) = one_error("-A -t 10.0.0.1:htpp\n");
    assert_eq!(d.code, Code::UnknownPortName);
    assert_eq!(under, "htpp");
    assert!(
        d.help.as_deref().unwrap().contains("`http` (port 80)"),
        "{d:?}"
    );
    // A TCP-only name is unknown for UDP.
    let (d, under) = one_error("-A -u 10.0.0.1:shell\n");
    assert_eq!(d.code, Code::UnknownPortName);
    assert_eq!(under, "shell");
    // Names are case-sensitive, as getservbyname's are.
    let (_, under) = one_error("-A -t 10.0.0.1:HTTP\n");
    assert_eq!(under, "HTTP");
    // Before the service option, ipvsadm has no protocol to look the name up with.
    let (d, under) = one_error("-A -t 10.0.0.1:80\n-a -r 10.0.0.2:http -t 10.0.0.1:80\n");
    assert_eq!(d.code, Code::UnknownPortName);
    assert_eq!(under, "http");
}

#[test]
fn inet_aton_forms_are_read_with_a_warning() {
    let built = run("\
-A -t 192.168.11.010:80
-a -t 192.168.11.8:80 -r 0x0a.0.0.2 -m
-a -t 192.168.11.8:80 -r 10.3:80 -m
-a -t 192.168.11.8:80 -r 10.0.0.4:80 -m
");
    let errors: Vec<_> = built.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let svc = &built.table.services[&tcp("192.168.11.8", 80)];
    let keys: Vec<_> = svc.servers.keys().copied().collect();
    assert_eq!(
        keys,
        [
            server("10.0.0.2", 80),
            server("10.0.0.3", 80),
            server("10.0.0.4", 80)
        ]
    );
    let warnings: Vec<&Diagnostic> = built.diagnostics.iter().collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(warnings.iter().all(|d| d.code == Code::AddressForm));
    assert_eq!(
        warnings[0].message,
        "192.168.11.010 is read as 192.168.11.8: a leading 0 makes a number octal: `010` is 8"
    );
    assert!(warnings[1].message.contains("hexadecimal"));
    assert!(warnings[2].message.starts_with("10.3 is read as 10.0.0.3"));
}

#[test]
fn stopping_a_daemon_that_is_not_running_is_refused() {
    let (d, under) =
        one_error("--start-daemon backup --mcast-interface eth1\n--stop-daemon master\n");
    assert_eq!(d.code, Code::NoSuchDaemon);
    assert_eq!(under, "--stop-daemon master");
    let (_, under) = one_error(
        "--start-daemon master --mcast-interface eth1\n--stop-daemon master\n--stop-daemon master\n",
    );
    assert_eq!(under, "--stop-daemon master");
}

#[test]
fn deleting_a_dr_server_needs_the_port_the_kernel_stored() {
    let text = "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g\n-d -t 10.0.0.1:80 -r 10.0.0.2:8080\n";
    let (d, under) = one_error(text);
    assert_eq!(d.code, Code::NoSuchServer);
    assert_eq!(under, "10.0.0.2");
    assert!(d.help.unwrap().contains("`-r 10.0.0.2:80`"));
    // With the service's port, or none, it is found.
    let table = ok(
        "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -i\n-d -t 10.0.0.1:80 -r 10.0.0.2\n",
    );
    assert!(table.services[&tcp("10.0.0.1", 80)].servers.is_empty());
    // `-e` forces the port like `-a` (the line's own method, DR by default).
    ok("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g\n-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -w 3\n");
}
