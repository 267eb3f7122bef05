//! The netlink kernel over the fake kernel of `fake.rs`: whole reads, dumps of many datagrams,
//! batches of writes, and what each failure is called.

use std::fs;
use std::net::IpAddr;

use netlink_packet_core::{
    NLMSG_ERROR, NLM_F_ACK, NLM_F_CAPPED, NLM_F_DUMP_INTR, NLM_F_MULTIPART, NLM_F_REQUEST,
};

use super::*;
use crate::kernel::fake::*;
use crate::kernel::packet::*;
use crate::kernel::transport::Channel;
use crate::kernel::Unavailable;
use crate::model::*;

#[test]
fn read_returns_the_whole_table_and_the_dump_order() {
    let web = Service {
        scheduler: Scheduler::Rr,
        ..Service::new(key("10.0.0.9", 443))
    };
    let mark = Service::new(ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 5,
    });
    let web_servers = vec![
        server("10.0.1.9", Forward::Nat),
        server("10.0.1.1", Forward::Dr),
    ];
    let mark_servers = vec![server("192.0.2.1", Forward::Tunnel(Tunnel::Ipip))];
    let daemon = Daemon {
        state: DaemonState::Backup,
        interface: "eth1".into(),
        syncid: 3,
        maxlen: Some(1472),
        group: Some("224.0.0.81".parse().unwrap()),
        port: Some(8848),
        ttl: Some(1),
    };
    let dump = vec![
        (mark.clone(), mark_servers.clone()),
        (web.clone(), web_servers.clone()),
    ];
    let (fake, _) = Fake::new(fake_ipvs(dump, vec![daemon.clone()]));
    let dir = temp_dir("read");
    fs::write(dir.join("drop_entry"), "2\n").unwrap();
    fs::write(dir.join("amemthresh"), "1024\n").unwrap();
    fs::write(dir.join("sync_threshold"), "3\t50\n").unwrap();
    let mut k = kernel(fake, &dir);

    let (table, ordered) = k.read_with_order().unwrap();
    let keys: Vec<_> = ordered.iter().map(|(s, _)| s.key).collect();
    assert_eq!(keys, [mark.key, web.key], "the kernel's order, not sorted");
    assert_eq!(
        ordered[1].1, web_servers,
        "the servers in the kernel's order"
    );
    assert_eq!(dumped_services(&ordered)[1].servers.len(), 2);

    let with = |s: &Service, servers: &[Server]| Service {
        servers: servers.iter().map(|x| (x.key, *x)).collect(),
        ..s.clone()
    };
    let expected = Table {
        services: [
            (mark.key, with(&mark, &mark_servers)),
            (web.key, with(&web, &web_servers)),
        ]
        .into_iter()
        .collect(),
        timeouts: Timeouts::KERNEL_DEFAULT,
        daemons: [(DaemonState::Backup, daemon)].into_iter().collect(),
        sysctls: [
            (Sysctl::DropEntry, SysctlValue::Defense(DefenseMode::Auto)),
            (Sysctl::Amemthresh, SysctlValue::Int(1024)),
            (Sysctl::SyncThreshold, SysctlValue::Pair(3, 50)),
        ]
        .into_iter()
        .collect(),
    };
    assert_eq!(table, expected);
    assert_eq!(k.read().unwrap(), expected);

    let stats = k.stats().unwrap();
    assert_eq!(stats[0].stats.conns, 11);
    assert_eq!(stats[1].servers[0].1.active_conns, 5);
    assert_eq!(k.info().unwrap().version_string(), "1.2.1");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reads_a_dump_of_many_datagrams() {
    let services: Vec<(Service, Vec<Server>)> = (0..3000u32)
        .map(|i| {
            let addr = IpAddr::from((0x0a00_0000 + i * 7919).to_be_bytes());
            (
                Service::new(ServiceKey::Inet {
                    protocol: Protocol::Udp,
                    addr,
                    port: 53,
                }),
                Vec::new(),
            )
        })
        .collect();
    let expected: Vec<_> = services.iter().map(|(s, _)| s.key).collect();
    let (fake, sends) = Fake::new(fake_ipvs(services, Vec::new()));
    let mut k = kernel(fake, &no_sysctls());
    let got = k.read_ordered().unwrap();
    assert_eq!(got.iter().map(|(s, _)| s.key).collect::<Vec<_>>(), expected);
    // One GET_SERVICE dump, over the bulk channel, then one GET_DEST dump per service over the
    // main one (the fake answers on the channel asked; reading the other would fail).
    let sends = sends.lock().unwrap();
    assert_eq!(sends.len(), 3001);
    let channels = |cmd| {
        let of = sends.iter().flatten();
        let of = of.filter(|r| r.msg.as_ref().is_some_and(|m| m.cmd == cmd));
        of.map(|r| r.channel).collect::<BTreeSet<_>>()
    };
    assert_eq!(channels(IpvsCmd::GetService), [Channel::Bulk].into());
    assert_eq!(channels(IpvsCmd::GetDest), [Channel::Main].into());
}

/// `n` TCP services, service i with i % 5 NAT servers.
fn many_services(n: u32) -> Vec<(Service, Vec<Server>)> {
    (0..n)
        .map(|i| {
            let addr = IpAddr::from((0x0a00_0000 + i * 7919).to_be_bytes());
            let servers = (0..i % 5)
                .map(|j| server(&format!("172.16.{}.{}", i % 250, j + 1), Forward::Nat))
                .collect();
            let service = Service::new(ServiceKey::Inet {
                protocol: Protocol::Tcp,
                addr,
                port: 80,
            });
            (service, servers)
        })
        .collect()
}

/// The services of each GET_DEST request the fake was sent, by the reader that sent it.
fn dest_requests(sends: &Sends) -> Vec<(usize, Vec<SvcAttr>)> {
    let sends = sends.lock().unwrap();
    let reqs = sends.iter().flatten();
    let reqs = reqs.filter(|r| r.msg.as_ref().is_some_and(|m| m.cmd == IpvsCmd::GetDest));
    reqs.map(|r| {
        (
            r.reader,
            r.msg.as_ref().unwrap().service().unwrap().to_vec(),
        )
    })
    .collect()
}

#[test]
fn two_readers_share_the_servers_dumps_and_keep_the_dump_order() {
    let dump = many_services(150);
    let (mut fake, sends) = Fake::new(fake_ipvs(dump.clone(), Vec::new()));
    fake.forks = true;
    // The first reader is slow, so that the second surely takes services too.
    fake.recv_delay = Some(std::time::Duration::from_millis(1));
    let mut k = kernel(fake, &no_sysctls());
    k.set_readers(2);
    let got = k.read_ordered().unwrap();
    let expected: DumpOrder = dump
        .iter()
        .map(|(s, servers)| {
            let mut s = s.clone();
            s.servers = servers.iter().map(|x| (x.key, *x)).collect();
            (s, servers.clone())
        })
        .collect();
    assert_eq!(
        got, expected,
        "every service and server, in the dump's order"
    );

    let requests = dest_requests(&sends);
    assert_eq!(requests.len(), 150, "one GET_DEST a service");
    let asked: BTreeSet<Vec<u8>> = requests
        .iter()
        .map(|(_, attrs)| format!("{attrs:?}").into_bytes())
        .collect();
    assert_eq!(asked.len(), 150, "no service asked twice");
    let by_second = requests.iter().filter(|(reader, _)| *reader == 1).count();
    assert!(
        by_second > 0 && by_second < 150,
        "both readers took services: {by_second} by the second"
    );

    // The table is the same as one reader's.
    let (fake, _) = Fake::new(fake_ipvs(dump, Vec::new()));
    let mut one = kernel(fake, &no_sysctls());
    assert_eq!(k.read().unwrap(), one.read().unwrap());
}

#[test]
fn the_second_reader_waits_for_its_gate() {
    // A gate that never opens: one reader, however many services.
    let (mut fake, sends) = Fake::new(fake_ipvs(many_services(150), Vec::new()));
    fake.forks = true;
    let mut k = kernel(fake, &no_sysctls());
    k.set_readers(2);
    k.second_reader_after(Arc::new(AtomicBool::new(false)));
    assert_eq!(k.read_ordered().unwrap().len(), 150);
    assert!(dest_requests(&sends).iter().all(|(reader, _)| *reader == 0));

    // A gate that opens after the 40th service's dump: the second reader only takes later ones.
    let gate = Arc::new(AtomicBool::new(false));
    let open = gate.clone();
    let mut answer = fake_ipvs(many_services(150), Vec::new());
    let mut dests = 0;
    let (mut fake, sends) = Fake::new(move |reqs: &[Req]| {
        if reqs[0]
            .msg
            .as_ref()
            .is_some_and(|m| m.cmd == IpvsCmd::GetDest)
        {
            dests += 1;
            if dests == 40 {
                open.store(true, Ordering::Release);
            }
        }
        answer(reqs)
    });
    fake.forks = true;
    fake.recv_delay = Some(std::time::Duration::from_millis(1));
    let mut k = kernel(fake, &no_sysctls());
    k.set_readers(2);
    k.second_reader_after(gate);
    let got = k.read_ordered().unwrap();
    let keys: Vec<_> = got.iter().map(|(s, _)| s.key).collect();
    let expected: Vec<_> = many_services(150).iter().map(|(s, _)| s.key).collect();
    assert_eq!(keys, expected);
    let requests = dest_requests(&sends);
    assert_eq!(requests.len(), 150);
    let first_of_second = requests.iter().position(|(reader, _)| *reader == 1);
    assert!(
        first_of_second.is_some_and(|i| i >= 40),
        "the second reader started after the gate: {first_of_second:?}"
    );
}

#[test]
fn small_tables_and_one_reader_stay_on_one_socket() {
    for (n, readers) in [(SHARED_READ_MIN as u32 - 1, 2), (150, 1)] {
        let (mut fake, sends) = Fake::new(fake_ipvs(many_services(n), Vec::new()));
        fake.forks = true;
        let mut k = kernel(fake, &no_sysctls());
        k.set_readers(readers);
        assert_eq!(k.read_ordered().unwrap().len(), n as usize);
        let requests = dest_requests(&sends);
        assert!(
            requests.iter().all(|(reader, _)| *reader == 0),
            "{n} services, {readers} readers"
        );
    }
}

#[test]
fn a_failed_dump_on_the_second_reader_fails_the_read() {
    let dump = many_services(150);
    let bad = service_key_to_attrs(&dump[120].0.key);
    let mut answer = fake_ipvs(dump.clone(), Vec::new());
    let (mut fake, _) = Fake::new(move |reqs: &[Req]| {
        let msg = reqs[0].msg.as_ref().unwrap();
        if msg.cmd == IpvsCmd::GetDest && msg.service().unwrap() == bad {
            return vec![ack(&reqs[0], libc::ESRCH, None)];
        }
        answer(reqs)
    });
    fake.forks = true;
    fake.recv_delay = Some(std::time::Duration::from_millis(1));
    let mut k = kernel(fake, &no_sysctls());
    k.set_readers(2);
    let e = k.read().unwrap_err();
    assert!(
        e.to_string().contains(&dump[120].0.key.to_string()),
        "names the service: {e}"
    );
}

#[test]
fn an_interrupted_dump_is_read_again() {
    let s = Service::new(key("10.0.0.1", 80));
    let mut attempt = 0;
    let (fake, sends) = Fake::new(move |reqs: &[Req]| {
        let r = &reqs[0];
        match r.msg.as_ref().unwrap().cmd {
            IpvsCmd::GetService => {
                attempt += 1;
                let mut out = vec![ipvs(r.seq, NLM_F_MULTIPART, &service_reply(&s))];
                if attempt == 1 {
                    // The table changed mid-dump: the kernel flags the rest.
                    out.push(ipvs(
                        r.seq,
                        NLM_F_MULTIPART | NLM_F_DUMP_INTR,
                        &service_reply(&s),
                    ));
                    out.push(done(r.seq, NLM_F_DUMP_INTR));
                } else {
                    out.push(done(r.seq, 0));
                }
                out
            }
            _ => vec![done(r.seq, 0)],
        }
    });
    let mut k = kernel(fake, &no_sysctls());
    let got = k.read_ordered().unwrap();
    assert_eq!(got.len(), 1, "the second, consistent dump");
    let sends = sends.lock().unwrap();
    let cmds: Vec<_> = sends
        .iter()
        .map(|r| r[0].msg.as_ref().unwrap().cmd)
        .collect();
    assert_eq!(
        cmds,
        [IpvsCmd::GetService, IpvsCmd::GetService, IpvsCmd::GetDest]
    );
    assert_ne!(sends[0][0].seq, sends[1][0].seq);

    // Interrupted every time: an error that says to try again.
    let (fake, _) = Fake::new(|reqs: &[Req]| vec![done(reqs[0].seq, NLM_F_DUMP_INTR)]);
    let e = kernel(fake, &no_sysctls()).read_ordered().unwrap_err();
    assert_eq!(e.errno(), Some(libc::EINTR));
    assert!(matches!(e, KernelError::Transport { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "cannot list the virtual services: the table changed during each of 4 attempts to read \
         it; try again"
    );
}

#[test]
fn a_batch_matches_acks_by_sequence_number() {
    let dir = temp_dir("batch");
    let mut batch = ops(3);
    batch.push(Op::SetSysctl(Sysctl::Amemthresh, SysctlValue::Int(2048)));
    batch.extend(ops(2));
    // The kernel refuses the second server; the acks come back in reverse order, with a
    // stray ack of an unknown sequence number among them.
    let (fake, sends) = Fake::new(|reqs: &[Req]| {
        let mut out: Vec<Vec<u8>> = reqs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                ack(
                    r,
                    if i == 1 { libc::EEXIST } else { 0 },
                    (i == 1).then_some("dup"),
                )
            })
            .collect();
        out.reverse();
        out.insert(1, nlmsg(NLMSG_ERROR, NLM_F_CAPPED, 9999, &[0; 20]));
        out
    });
    let mut k = kernel(fake, &dir);
    let results = k.send_batch(&batch);
    assert_eq!(results.len(), 6);
    let errnos: Vec<i32> = results
        .iter()
        .map(|r| r.as_ref().err().map_or(0, |e| e.errno().unwrap()))
        .collect();
    assert_eq!(errnos, [0, libc::EEXIST, 0, 0, 0, libc::EEXIST]);
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.doing(), batch[1].to_string());
    assert!(e.reason().ends_with("(the kernel says: dup)"), "{e}");
    assert!(
        e.to_string()
            .starts_with("the kernel refused to add server"),
        "{e}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("amemthresh")).unwrap(),
        "2048\n"
    );
    // The three requests before the sysctl in one send(), the two after it in another.
    let sends = sends.lock().unwrap();
    assert_eq!(sends.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
    assert!(sends[0]
        .iter()
        .all(|r| r.flags == NLM_F_REQUEST | NLM_F_ACK));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_big_batch_is_sent_in_windows() {
    let (fake, sends) = Fake::new(|reqs: &[Req]| reqs.iter().map(|r| ack(r, 0, None)).collect());
    let mut k = kernel(fake, &no_sysctls());
    let results = k.send_batch(&ops(150));
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        sends
            .lock()
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        [64, 64, 22]
    );
    // apply is a batch of one.
    assert!(k.apply(&Op::Flush).is_ok());
}

#[test]
fn a_socket_failure_leaves_the_outcome_unknown() {
    let (mut fake, _) = Fake::new(|_: &[Req]| Vec::new());
    fake.recv_error = Some(libc::ENOBUFS);
    let mut k = kernel(fake, &no_sysctls());
    let results = k.send_batch(&ops(2));
    for r in results {
        let e = r.unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOBUFS));
        assert!(e.outcome_unknown());
        assert!(e.to_string().starts_with("cannot tell whether"), "{e}");
    }
}

#[test]
fn no_privilege_and_no_module_are_told_apart() {
    // Every IPVS command needs CAP_NET_ADMIN: the dump request is refused at once.
    let (fake, _) = Fake::new(|reqs: &[Req]| vec![ack(&reqs[0], libc::EPERM, None)]);
    let e = kernel(fake, &no_sysctls()).read().unwrap_err();
    assert_eq!(Unavailable::of(&e), Some(Unavailable::NotPermitted));
    assert_eq!(
        e.to_string(),
        "not permitted to list the virtual services: IPVS needs root / CAP_NET_ADMIN"
    );
    let (fake, _) = Fake::new(|reqs: &[Req]| vec![ack(&reqs[0], libc::EPERM, None)]);
    let e = kernel(fake, &no_sysctls()).apply(&Op::Flush).unwrap_err();
    assert_eq!(Unavailable::of(&e), Some(Unavailable::NotPermitted));

    // The controller does not know the family.
    let (fake, sends) = Fake::new(|reqs: &[Req]| vec![ack(&reqs[0], libc::ENOENT, None)]);
    let e = kernel(fake, &no_sysctls())
        .session
        .resolve_family()
        .unwrap_err();
    assert!(matches!(e, KernelError::Unsupported { .. }), "{e:?}");
    assert_eq!(Unavailable::of(&e), Some(Unavailable::NotLoaded));
    assert_eq!(
        e.to_string(),
        "cannot use IPVS: the ip_vs module is not loaded: modprobe ip_vs"
    );
    let req = sends.lock().unwrap()[0][0].clone();
    assert_eq!(req.kind, 0x10, "GENL_ID_CTRL");

    // Other refusals are neither.
    let e = KernelError::refused(&Op::Flush, libc::ENOENT);
    assert_eq!(Unavailable::of(&e), None);
}
