//! apply_converge: random pairs of tables applied one after the other in the guest, each
//! checked against the table it should have reached.

#[allow(unused_imports)]
use crate::*;
/// Random pairs of tables for apply_converge (and a few made by hand after them).
pub(crate) const CONVERGE_PAIRS: u32 = 50;

/// One value of a strategy.
pub(crate) fn draw<S: Strategy>(runner: &mut TestRunner, strategy: S) -> S::Value {
    strategy.new_tree(runner).expect("a value").current()
}

/// A deterministic runner for pair `i`.
pub(crate) fn seeded(i: u32) -> TestRunner {
    let mut seed = [0xa7u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    )
}

/// A random table made fit for the guest: no twos scheduler (its 6.1 kernel lacks ip_vs_twos),
/// sync daemons on lo or eth0 (as tests/plan.rs's `tables()`), and only sysctls this kernel has,
/// with values it accepts (sync_ports a power of two, sync_threshold's first below its second).
pub(crate) fn for_guest(mut t: Table) -> Table {
    for s in t.services.values_mut() {
        if s.scheduler == Scheduler::Twos {
            s.scheduler = Scheduler::Wrr;
        }
    }
    for d in t.daemons.values_mut() {
        d.interface = if d.syncid % 2 == 0 { "lo" } else { "eth0" }.to_string();
    }
    t.sysctls
        .retain(|s, _| SYSCTL_DEFAULTS.iter().any(|(known, _)| known == s));
    if let Some(SysctlValue::Int(v)) = t.sysctls.get_mut(&Sysctl::SyncPorts) {
        *v = 1 << (*v % 3);
    }
    if let Some(SysctlValue::Pair(a, b)) = t.sysctls.get_mut(&Sysctl::SyncThreshold) {
        if *b != 0 && *a >= *b {
            *b = *a + 1;
        }
    }
    t
}

/// A table whose ipvsadm dump ipvsadm -R restores: ipvsadm -S prints a firewall mark with %d, a
/// negative number above 2^31 - 1, which ipvsadm -R refuses ("invalid fwmark value"); such marks
/// lose their top bit here.
pub(crate) fn restorable(mut t: Table) -> Table {
    t.services = std::mem::take(&mut t.services)
        .into_values()
        .map(|mut s| {
            if let ServiceKey::Fwmark { mark, .. } = &mut s.key {
                *mark = (*mark & 0x7fff_ffff).max(1);
            }
            (s.key, s)
        })
        .collect();
    t
}

/// `s` with some of its settings and servers changed, so that plans edit in place.
pub(crate) fn mutate(runner: &mut TestRunner, s: &Service) -> Service {
    let mut s = s.clone();
    let key = s.key;
    let what = draw(runner, 1u8..32);
    if what & 1 != 0 {
        let schedulers: Vec<Scheduler> = Scheduler::ALL
            .into_iter()
            .filter(|s| *s != Scheduler::Twos)
            .collect();
        s.scheduler = draw(runner, prop::sample::select(schedulers));
        if s.scheduler.has_hash_flags() {
            s.flags = SchedFlags(s.flags.0 & 3);
        }
    }
    if what & 2 != 0 && key.port() != Some(0) {
        if s.persistence.is_some() {
            s.persistence = None;
            s.netmask = Netmask::full(key.family());
            s.pe = None;
        } else {
            s.persistence = Some(draw(runner, 1u32..=MAX_TIMEOUT));
        }
    }
    if what & 4 != 0 && !matches!(key.protocol(), Some(Protocol::Tcp | Protocol::Sctp)) {
        s.one_packet = !s.one_packet;
    }
    if what & 8 != 0 {
        for server in s.servers.values_mut() {
            if draw(runner, any::<bool>()) {
                server.weight = draw(runner, 0u32..=MAX_WEIGHT);
                let (a, b) = draw(runner, (0u32..5000, 0u32..5000));
                (server.upper, server.lower) = if a == 0 { (0, 0) } else { (a.max(b), a.min(b)) };
            }
            let same_family = Family::of(&server.key.addr) == key.family();
            let port_ok = key.port().is_none_or(|p| p == server.key.port);
            if same_family && port_ok && draw(runner, any::<bool>()) {
                server.forward = draw(
                    runner,
                    prop::sample::select(vec![
                        Forward::Dr,
                        Forward::Nat,
                        Forward::Tunnel(Tunnel::Ipip),
                    ]),
                );
            }
        }
    }
    if what & 16 != 0 {
        let keep: Vec<bool> = draw(
            runner,
            prop::collection::vec(any::<bool>(), s.servers.len()),
        );
        let mut keep = keep.into_iter();
        s.servers.retain(|_, _| keep.next().unwrap_or(true));
        for server in draw(
            runner,
            prop::collection::vec(common::tables::server(key), 0..3),
        ) {
            s.servers.insert(server.key, server);
        }
    }
    s
}

/// Pair `i`: A random; B random, with some of A's services kept as they are, some changed in
/// place, the rest removed, and sometimes A's daemons or timeouts. Every tenth B is A itself.
pub(crate) fn converge_pair(i: u32) -> (Table, Table) {
    let mut runner = seeded(i);
    let a = restorable(for_guest(draw(&mut runner, common::tables::table())));
    if i % 10 == 9 {
        return (a.clone(), a);
    }
    let mut b = for_guest(draw(&mut runner, common::tables::with_sysctls()));
    for (key, service) in &a.services {
        match draw(&mut runner, 0u8..3) {
            0 => {}
            1 => {
                b.services.insert(*key, service.clone());
            }
            _ => {
                b.services.insert(*key, mutate(&mut runner, service));
            }
        }
    }
    if draw(&mut runner, 0u8..3) == 0 {
        b.daemons = a.daemons.clone();
    }
    if draw(&mut runner, 0u8..3) == 0 {
        b.timeouts = a.timeouts;
    }
    if !b.daemons.is_empty() {
        // The kernel refuses mixed families while a sync daemon runs.
        for s in b.services.values_mut() {
            let f = s.key.family();
            s.servers.retain(|k, _| Family::of(&k.addr) == f);
        }
    }
    (a, b)
}

/// Pairs written by hand: a maxlen the kernel clamps (a backup asked for less than 1024).
pub(crate) const EDGE_PAIRS: &[(&str, &str, &str)] = &[(
    "edge-maxlen",
    "service tcp 10.0.0.1:80 { server 10.0.0.2 }\nsync backup { interface lo; syncid 3; maxlen 5000 }\n",
    "service tcp 10.0.0.1:80 { server 10.0.0.2 }\n\
     sync backup { interface lo; syncid 3; maxlen 100 }\nsync master { interface eth0; maxlen 100 }\n",
)];

/// Every pair by name: random ones (`pair-NN`), then the ones made by hand.
pub(crate) fn converge_pairs() -> BTreeMap<String, (Table, Table)> {
    let mut pairs: BTreeMap<String, (Table, Table)> = (0..CONVERGE_PAIRS)
        .map(|i| (format!("pair-{i:02}"), converge_pair(i)))
        .collect();
    for (name, a, b) in EDGE_PAIRS {
        let compile = |text: &str| {
            let (sources, c) = common::compile_text("edge.ipvs", text);
            assert!(!c.has_errors(), "{}", common::render_all(&sources, &c));
            c.table
        };
        pairs.insert(name.to_string(), (compile(a), compile(b)));
    }
    pairs
}

/// NAME-a.ipvsadm (A as an ipvsadm dump with everything ipvsadm -R takes) and NAME-b.ipvs.
pub(crate) fn write_converge_pairs(dir: &Path, pairs: &BTreeMap<String, (Table, Table)>) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, (a, b)) in pairs {
        let text = b.to_ipvs();
        // What the guest compiles must be B itself.
        let (sources, compiled) = common::compile_text("b.ipvs", &text);
        assert!(
            !compiled.has_errors() && compiled.table == *b,
            "{name}: B does not read back as itself:\n{text}\n{}",
            common::render_all(&sources, &compiled)
        );
        std::fs::write(
            dir.join(format!("{name}-a.ipvsadm")),
            ipvsadm_save(a, SaveExtras::ALL),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{name}-b.ipvs")), text).unwrap();
    }
}

/// What the guest printed for one pair: each section's exit status and text.
#[derive(Default)]
pub(crate) struct PairRun {
    sections: BTreeMap<String, (i32, String)>,
    ended: bool,
}

pub(crate) fn parse_pairs(output: &str) -> BTreeMap<String, PairRun> {
    let mut runs: BTreeMap<String, PairRun> = BTreeMap::new();
    let mut pair: Option<String> = None;
    let mut section: Option<String> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@ pair ") {
            pair = Some(name.trim().to_string());
            runs.insert(name.trim().to_string(), PairRun::default());
            section = None;
        } else if line == "@@ end" {
            if let Some(run) = pair.as_ref().and_then(|p| runs.get_mut(p)) {
                run.ended = true;
            }
            section = None;
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            let (name, rc) = rest.split_once(" rc=").unwrap_or((rest, "-1"));
            if let Some(run) = pair.as_ref().and_then(|p| runs.get_mut(p)) {
                run.sections.insert(
                    name.to_string(),
                    (rc.trim().parse().unwrap_or(-1), String::new()),
                );
                section = Some(name.to_string());
            }
        } else if let (Some(p), Some(s)) = (&pair, &section) {
            let text = &mut runs.get_mut(p).unwrap().sections.get_mut(s).unwrap().1;
            text.push_str(line);
            text.push('\n');
        }
    }
    runs
}

/// The operations of a plan printed by `ipvsc plan --format json`, in order.
pub(crate) fn plan_ops(json: &str) -> Result<Vec<Op>, String> {
    let plan: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let changes = plan["changes"].as_array().ok_or("no changes array")?;
    let mut ops = Vec::new();
    for change in changes {
        for op in change["ops"].as_array().ok_or("a change without ops")? {
            ops.push(common::op_from_value(op.clone()).map_err(|e| format!("{e}: {op}"))?);
        }
    }
    Ok(ops)
}

/// Where the kernel's table does not realize what B declares: services exactly; timeouts,
/// sysctls and daemon options as far as B sets them (a maxlen as the kernel clamps it).
pub(crate) fn unrealized(kernel: &Table, want: &Table) -> Vec<String> {
    let mut out = Vec::new();
    if kernel.services != want.services {
        for key in kernel.services.keys().chain(want.services.keys()) {
            let (k, w) = (kernel.services.get(key), want.services.get(key));
            if k != w {
                out.push(format!("service {key}: kernel {k:?}, B {w:?}"));
            }
        }
        out.dedup();
    }
    for (name, have, want) in [
        ("tcp", kernel.timeouts.tcp, want.timeouts.tcp),
        ("tcpfin", kernel.timeouts.tcpfin, want.timeouts.tcpfin),
        ("udp", kernel.timeouts.udp, want.timeouts.udp),
    ] {
        if want.is_some() && have != want {
            out.push(format!("timeout {name}: kernel {have:?}, B {want:?}"));
        }
    }
    for (s, v) in &want.sysctls {
        if kernel.sysctls.get(s) != Some(v) {
            out.push(format!(
                "sysctl {s}: kernel {:?}, B {v:?}",
                kernel.sysctls.get(s)
            ));
        }
    }
    if kernel.daemons.keys().ne(want.daemons.keys()) {
        out.push(format!(
            "daemons: kernel {:?}, B {:?}",
            kernel.daemons, want.daemons
        ));
    }
    for (state, w) in &want.daemons {
        let Some(k) = kernel.daemons.get(state) else {
            continue;
        };
        let ok = k.interface == w.interface
            && k.syncid == w.syncid
            && w.maxlen
                .is_none_or(|v| k.maxlen == Some(w.kernel_maxlen(v)))
            && w.group.is_none_or(|v| k.group == Some(v))
            && w.port.is_none_or(|v| k.port == Some(v))
            && w.ttl.is_none_or(|v| k.ttl == Some(v));
        if !ok {
            out.push(format!("{state} daemon: kernel {k:?}, B {w:?}"));
        }
    }
    out
}

/// apply_converge's output against the host: for every pair, ipvsadm -R loaded A silently; the
/// plan the guest printed is, operation for operation, the plan computed here against the
/// in-memory kernel holding A (which tests/plan.rs proves minimal); apply exited 0; the final
/// table realizes B; and planning B against it again finds nothing to do.
pub(crate) fn check_convergence(
    output: &str,
    pairs: &BTreeMap<String, (Table, Table)>,
) -> (String, Vec<String>) {
    let runs = parse_pairs(output);
    let mut failures = Vec::new();
    let (mut ops_total, mut edits) = (0, 0);
    for (name, (a, b)) in pairs {
        let fail = |what: String| format!("apply_converge {name}: {what}");
        let Some(run) = runs.get(name) else {
            failures.push(fail("the guest printed nothing for this pair".into()));
            continue;
        };
        if !run.ended {
            failures.push(fail("the guest's output is cut short".into()));
            continue;
        }
        let section = |s: &str| run.sections.get(s).cloned().unwrap_or((-1, String::new()));
        let (load_rc, load) = section("load");
        if load_rc != 0 || !load.trim().is_empty() {
            failures.push(fail(format!("ipvsadm -R of A: rc={load_rc}: {load}")));
            continue;
        }

        let mut k = guest_model();
        let empty = k.read().unwrap();
        for (op, _) in plan(a, &SourceMap::default(), &empty, Scope::All).ops() {
            k.apply(op)
                .unwrap_or_else(|e| panic!("{name}: loading A in memory: {e}"));
        }
        let current = k.read().unwrap();
        let want: Vec<Op> = plan(b, &SourceMap::default(), &current, Scope::All)
            .ops()
            .map(|(op, _)| op.clone())
            .collect();
        let (plan_rc, plan_text) = section("plan");
        match plan_ops(plan_text.lines().next().unwrap_or("")) {
            _ if plan_rc != 0 => {
                failures.push(fail(format!("ipvsc plan: rc={plan_rc}: {plan_text}")))
            }
            Err(e) => failures.push(fail(format!("ipvsc plan's JSON: {e}: {plan_text}"))),
            Ok(have) if have != want => {
                let show = |ops: &[Op]| {
                    ops.iter()
                        .map(|op| format!("    {op}  {}", common::op_json(op)))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                failures.push(fail(format!(
                    "the kernel's plan ({} operations) is not the in-memory one ({}):\n  guest:\n{}\n  host:\n{}",
                    have.len(),
                    want.len(),
                    show(&have),
                    show(&want)
                )));
            }
            Ok(_) => {
                ops_total += want.len();
                edits += want
                    .iter()
                    .filter(|op| matches!(op, Op::EditService(_) | Op::EditServer(..)))
                    .count();
            }
        }
        let (apply_rc, apply_text) = section("apply");
        if apply_rc != 0 {
            failures.push(fail(format!("ipvsc apply B: rc={apply_rc}: {apply_text}")));
            continue;
        }
        let (table_rc, table_text) = section("table");
        // `save --format json`: {"format_version": 1, "table": ...}.
        let doc: Result<serde_json::Value, _> =
            serde_json::from_str(table_text.lines().next().unwrap_or(""));
        let kernel = doc
            .map_err(|e| e.to_string())
            .and_then(|d| common::table_from_value(d["table"].clone()));
        let kernel: Table = match kernel {
            Ok(t) if table_rc == 0 => t,
            Ok(_) | Err(_) => {
                failures.push(fail(format!(
                    "ipvsc save --format json: rc={table_rc}: {table_text}"
                )));
                continue;
            }
        };
        let problems = unrealized(&kernel, b);
        if !problems.is_empty() {
            failures.push(fail(format!(
                "the kernel's table after apply is not B:\n  {}",
                problems.join("\n  ")
            )));
        }
        let again = plan(b, &SourceMap::default(), &kernel, Scope::All);
        if !again.is_empty() {
            failures.push(fail(format!(
                "after apply, B still plans changes on the kernel's table:\n{}",
                again
                    .ops()
                    .map(|(op, _)| format!("    {op}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )));
        }
    }
    (
        format!(
            "{} pairs, {ops_total} operations planned alike on the kernel and in memory ({edits} edits in place)",
            pairs.len()
        ),
        failures,
    )
}

#[test]
pub(crate) fn convergence_failures_are_reported() {
    let pairs = converge_pairs();
    assert!(pairs.len() >= 50);
    // Plans edit in place, not only remove and add.
    let edits: usize = pairs
        .values()
        .map(|(a, b)| {
            plan(b, &SourceMap::default(), a, Scope::All)
                .ops()
                .filter(|(op, _)| matches!(op, Op::EditService(_) | Op::EditServer(..)))
                .count()
        })
        .sum();
    assert!(edits > 50, "{edits} edits");
    let (name, (a, b)) = pairs.iter().find(|(n, _)| *n == "pair-00").unwrap();
    let empty_plan = r#"{"changes": []}"#;
    let table = |t: &Table| {
        format!(
            "{{\"format_version\":1,\"table\":{}}}",
            common::table_json(t)
        )
    };
    let output = |plan: &str, kernel: &Table| {
        format!(
            "@@ pair {name}\n@@ load rc=0\n@@ plan rc=0\n{plan}\n@@ apply rc=0\nApplied\n@@ table rc=0\n{}\n@@ end\n",
            table(kernel)
        )
    };
    let mut k = guest_model();
    let empty = k.read().unwrap();
    for (op, _) in plan(a, &SourceMap::default(), &empty, Scope::All).ops() {
        k.apply(op).unwrap();
    }
    let current = k.read().unwrap();
    let p = plan(b, &SourceMap::default(), &current, Scope::All);
    let sources = ipvsc::source::Sources::new();
    let json = ipvsc::plan::render_json(&p, &sources).replace('\n', "");
    let mut done = current.clone();
    for (op, _) in p.ops() {
        ipvsc::plan::simulate(&mut done, op);
    }
    let only = |name: &String| {
        let mut one = BTreeMap::new();
        one.insert(name.clone(), pairs[name].clone());
        one
    };
    let (_, failures) = check_convergence(&output(&json, &done), &only(name));
    assert_eq!(failures, Vec::<String>::new());
    let (_, failures) = check_convergence(&output(empty_plan, &done), &only(name));
    assert_eq!(failures.len(), usize::from(!p.is_empty()), "{failures:?}");
    let (_, failures) = check_convergence(&output(&json, &current), &only(name));
    assert!(!failures.is_empty() || current == done);
}
