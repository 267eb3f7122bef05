//! The kernel tests: every scenario of tests/vm/scenarios runs against real IPVS in a QEMU guest
//! (tests/vm/vm.sh), all of them in one boot. This is the only test that boots a VM.
//!
//! It needs what `tests/vm/vm.sh prepare` installs (as root, on Debian): it fails, never skips,
//! when that cannot be had. The console log stays in target/tmp/vm-console.log.

mod common;

use std::collections::BTreeMap;

use ipvsc::kernel::memory::SYSCTL_DEFAULTS;
use ipvsc::kernel::{transcript, Kernel, MemoryKernel, Op};
use ipvsc::legacy::{ipvsadm_save, SaveExtras};
use ipvsc::model::*;
use ipvsc::plan::{plan, Scope};
use ipvsc::source::SourceMap;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// What the console log says about one scenario.
#[derive(Default)]
struct Scenario {
    output: String,
    rc: Option<i32>,
    secs: Option<String>,
}

/// The markers of a console log: the scenarios in the order they began, and whether the boot
/// reached `@@@ DONE`.
#[derive(Default)]
struct Log {
    scenarios: BTreeMap<String, Scenario>,
    order: Vec<String>,
    done: bool,
}

fn parse(text: &str) -> Log {
    let mut log = Log::default();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        // The firmware's escape sequences can precede the first marker on its line.
        let marker = line.find("@@@ ").map(|i| &line[i + 4..]);
        match marker.and_then(|m| m.split_once(' ').or(Some((m, "")))) {
            Some(("BEGIN", name)) => {
                let name = name.trim().to_string();
                log.order.push(name.clone());
                log.scenarios.insert(name.clone(), Scenario::default());
                current = Some(name);
            }
            Some(("END", rest)) => {
                let (name, rc) = rest.rsplit_once(" rc=").unwrap_or((rest, ""));
                if let Some(s) = log.scenarios.get_mut(name.trim()) {
                    s.rc = Some(rc.trim().parse().unwrap_or(-1));
                }
                current = None;
            }
            Some(("TIME", rest)) => {
                let (name, secs) = rest.rsplit_once(" secs=").unwrap_or((rest, ""));
                if let Some(s) = log.scenarios.get_mut(name.trim()) {
                    s.secs = Some(secs.trim().to_string());
                }
            }
            Some(("DONE", _)) => log.done = true,
            _ => {
                if let Some(s) = current.as_ref().and_then(|n| log.scenarios.get_mut(n)) {
                    s.output.push_str(line);
                    s.output.push('\n');
                }
            }
        }
    }
    log
}

/// Writes past the test harness's output capture, so that `cargo test` shows it even on success.
fn say(text: &str) {
    let _ = std::io::stderr().write_all(format!("{text}\n").as_bytes());
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what} exited with {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn scenario_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "sh" {
                return None;
            }
            Some(path.file_stem()?.to_str()?.to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn kernel_scenarios_in_one_vm_boot() {
    // Without the test hooks the scenarios cannot inject their failures: a failure that says
    // how to run them, never a silent skip.
    if !cfg!(feature = "test-hooks") {
        panic!(
            "the kernel scenarios inject failures through the test hooks: run \
             `cargo test --features test-hooks` (tests/run.sh does)"
        );
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/vm/vm.sh");
    let scenarios = root.join("tests/vm/scenarios");
    let expected = scenario_names(&scenarios);
    assert!(
        !expected.is_empty(),
        "no scenarios in {}",
        scenarios.display()
    );

    let prepare = Command::new("bash")
        .arg(&script)
        .arg("prepare")
        .current_dir(&root)
        .output()
        .expect("bash runs");
    assert!(
        prepare.status.success(),
        "{}",
        describe("tests/vm/vm.sh prepare", &prepare)
    );

    // The differential test's operation streams, and what the in-memory kernel makes of them.
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vm-data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let mut expected_transcripts = BTreeMap::new();
    for seed in 0..STREAMS {
        let ops = common::ops::stream(seed, OPS_PER_STREAM);
        let name = format!("ops-{seed}");
        std::fs::write(
            data.join(format!("{name}.json")),
            ipvsc::wire::ops_to_json(&ops),
        )
        .unwrap();
        expected_transcripts.insert(name, transcript(&mut guest_model(), &ops));
    }

    // apply_converge's pairs of tables.
    let pairs = converge_pairs();
    write_converge_pairs(&data.join("converge"), &pairs);

    let log_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vm-console.log");
    let _ = std::fs::remove_file(&log_path);
    let started = Instant::now();
    // The ipvsc that cargo just built for this test, unless IPVSC_VM_BIN names another build
    // of the same tree (tests/run.sh passes a release build with the test hooks: under the
    // emulator it runs the apply scenarios about twice as fast as the debug build).
    let bin = std::env::var_os("IPVSC_VM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ipvsc")));
    let mut run = Command::new("bash");
    run.arg(&script)
        .arg("run")
        .arg(&scenarios)
        .arg(&log_path)
        .env("IPVSC_BIN", &bin)
        .env("IPVSC_VM_DATA", &data)
        .current_dir(&root);
    // The apply scenarios take a few minutes of guest time under TCG with the debug build:
    // more than vm.sh's default 600 s for the whole boot leaves room on a slow host.
    if std::env::var_os("IPVSC_VM_TIMEOUT").is_none() {
        run.env("IPVSC_VM_TIMEOUT", "1800");
    }
    let run = run.output().expect("bash runs");
    let wall = started.elapsed();
    say(&format!(
        "vm: one boot with {} scenario(s) took {:.1} s of wall time (console log {})",
        expected.len(),
        wall.as_secs_f64(),
        log_path.display()
    ));

    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let log = parse(&text);
    for name in &log.order {
        let s = &log.scenarios[name];
        say(&format!(
            "vm: scenario {name}: rc={} in {} s of guest time",
            s.rc.map_or("none".to_string(), |rc| rc.to_string()),
            s.secs.as_deref().unwrap_or("?")
        ));
        for note in s.output.lines().filter(|l| l.starts_with("note:")) {
            say(&format!("vm: {name}: {note}"));
        }
    }

    let mut failures = Vec::new();
    for name in &expected {
        match log.scenarios.get(name) {
            None => failures.push(format!("scenario {name} never began")),
            Some(Scenario {
                rc: None, output, ..
            }) => failures.push(format!(
                "scenario {name} began but never ended; its output:\n{output}"
            )),
            Some(Scenario {
                rc: Some(rc),
                output,
                ..
            }) if *rc != 0 => failures.push(format!(
                "scenario {name} failed with rc={rc}; its output:\n{output}"
            )),
            Some(_) => {}
        }
    }
    if let Some(s) = log.scenarios.get("differential") {
        failures.extend(compare_transcripts(&s.output, &expected_transcripts));
    }
    if let Some(s) = log.scenarios.get("list_zero") {
        failures.extend(compare_listings(&s.output));
    }
    if let Some(s) = log.scenarios.get("list_conns") {
        failures.extend(compare_orders(&s.output));
    }
    if let Some(s) = log.scenarios.get("apply_converge") {
        let (summary, problems) = check_convergence(&s.output, &pairs);
        say(&format!("vm: apply_converge: {summary}"));
        failures.extend(problems);
    }
    if !log.done {
        failures.push(format!(
            "the boot did not reach @@@ DONE\n{}\n--- last 60 lines of {}\n{}",
            describe("tests/vm/vm.sh run", &run),
            log_path.display(),
            tail(&text, 60)
        ));
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) in the VM run (console log {}):\n\n{}",
        failures.len(),
        log_path.display(),
        failures.join("\n\n")
    );
    assert!(
        run.status.success(),
        "every scenario passed but {}",
        describe("tests/vm/vm.sh run", &run)
    );
}

/// The in-memory kernel set up as the guest is: Debian 12's 6.1 kernel has no ip_vs_twos
/// (Linux 6.2 added it), and the guest's interfaces are lo and eth0.
fn guest_model() -> MemoryKernel {
    let schedulers: Vec<Scheduler> = Scheduler::ALL
        .into_iter()
        .filter(|s| *s != Scheduler::Twos)
        .collect();
    MemoryKernel::new().with_schedulers(&schedulers)
}

/// Operation streams in the differential test, and operations in each.
const STREAMS: u8 = 4;
const OPS_PER_STREAM: usize = 150;

/// The guest's transcripts (after `@@ transcript NAME` lines) against the in-memory kernel's:
/// every result the same, and the final tables the same.
fn compare_transcripts(output: &str, expected: &BTreeMap<String, String>) -> Vec<String> {
    let mut got: BTreeMap<&str, String> = BTreeMap::new();
    let mut current = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@ transcript ") {
            current = Some(name.trim());
            got.insert(name.trim(), String::new());
        } else if let Some(name) = current {
            let t = got.get_mut(name).unwrap();
            t.push_str(line);
            t.push('\n');
        }
    }
    let mut failures = Vec::new();
    for (name, want) in expected {
        let Some(have) = got.get(name.as_str()) else {
            failures.push(format!("differential: no transcript {name} from the guest"));
            continue;
        };
        let (want_results, want_table) = want.split_once("@@ table\n").unwrap();
        let Some((have_results, have_table)) = have.split_once("@@ table\n") else {
            failures.push(format!(
                "differential {name}: the guest's transcript is cut short:\n{have}"
            ));
            continue;
        };
        let ops: Vec<ipvsc::kernel::Op> = common::ops::stream(
            name.trim_start_matches("ops-").parse().unwrap(),
            OPS_PER_STREAM,
        );
        for (i, (w, h)) in want_results.lines().zip(have_results.lines()).enumerate() {
            if w != h {
                failures.push(format!(
                    "differential {name}: operation {i} ({}) gave {h} in the kernel, {w} in memory\n  {}",
                    ops[i],
                    common::op_json(&ops[i])
                ));
            }
        }
        if want_results.lines().count() != have_results.lines().count() {
            failures.push(format!(
                "differential {name}: the guest ran {} operations of {}",
                have_results.lines().count(),
                want_results.lines().count()
            ));
        }
        match (
            common::table_from_json(want_table.trim()),
            common::table_from_json(have_table.trim()),
        ) {
            (Ok(mut w), Ok(mut h)) => {
                // The in-memory kernel knows the defaults of the sysctls it models; compare those.
                h.sysctls.retain(|k, _| w.sysctls.contains_key(k));
                w.sysctls.retain(|k, _| h.sysctls.contains_key(k));
                if w != h {
                    failures.push(format!("differential {name}: the final tables differ\n--- memory\n{w:#?}\n--- kernel\n{h:#?}"));
                }
            }
            (_, Err(e)) => failures.push(format!(
                "differential {name}: the guest's table does not parse ({e}): {have_table}"
            )),
            (Err(e), _) => panic!("the in-memory table does not parse: {e}"),
        }
    }
    failures
}

/// Numbers per service and per server of one view, keyed by how ipvsadm names them:
/// ("TCP 10.9.9.9:80", None) for a service, (service, Some("127.0.0.1:80")) for a server.
type Numbers = BTreeMap<(String, Option<String>), Vec<u64>>;

/// The numbers of an `ipvsadm -L -n` view: every numeric word after the service or server.
fn ipvsadm_numbers(text: &str) -> Numbers {
    let mut out = Numbers::new();
    let mut service = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let numbers = |from: usize| {
            words[from..]
                .iter()
                .filter_map(|w| w.parse().ok())
                .collect()
        };
        match words.as_slice() {
            [proto @ ("TCP" | "UDP" | "SCTP" | "FWM"), id, ..] => {
                let name = format!("{proto} {id}");
                out.insert((name.clone(), None), numbers(2));
                service = Some(name);
            }
            ["->", "RemoteAddress:Port", ..] => {}
            ["->", addr, ..] => {
                let svc = service.clone().expect("a server line after a service line");
                out.insert((svc, Some(addr.to_string())), numbers(2));
            }
            _ => {}
        }
    }
    out
}

/// The same views made from `ipvsc list --format json`.
fn ipvsc_numbers(json: &str) -> BTreeMap<&'static str, Numbers> {
    let listing: serde_json::Value = serde_json::from_str(json).expect("ipvsc list --format json");
    let mut views: BTreeMap<&'static str, Numbers> = BTreeMap::new();
    let n =
        |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"));
    let stats = |v: &serde_json::Value| {
        ["conns", "inpkts", "outpkts", "inbytes", "outbytes"]
            .map(|k| n(v, k))
            .to_vec()
    };
    let rate = |v: &serde_json::Value| {
        ["cps", "inpps", "outpps", "inbps", "outbps"]
            .map(|k| n(v, k))
            .to_vec()
    };
    for entry in listing["services"].as_array().expect("services") {
        let service: ipvsc::model::Service =
            serde_json::from_value::<ipvsc::wire::ServiceDoc>(entry["service"].clone())
                .unwrap()
                .try_into()
                .unwrap();
        let name = match service.key {
            ipvsc::model::ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => format!(
                "{} {}",
                protocol.name().to_uppercase(),
                ipvsc::model::ServerKey { addr, port }
            ),
            ipvsc::model::ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        };
        views
            .entry("ipvsadm-stats")
            .or_default()
            .insert((name.clone(), None), stats(&entry["stats"]));
        views
            .entry("ipvsadm-rate")
            .or_default()
            .insert((name.clone(), None), rate(&entry["stats"]));
        // Each server is one object: its settings and its counters.
        for counters in entry["servers"].as_array().expect("servers") {
            let server: ipvsc::model::Server =
                serde_json::from_value::<ipvsc::wire::ServerDoc>(counters.clone())
                    .unwrap()
                    .try_into()
                    .unwrap();
            let key = (name.clone(), Some(server.key.to_string()));
            let (active, inactive, persist) = (
                n(counters, "active_conns"),
                n(counters, "inactive_conns"),
                n(counters, "persistent_conns"),
            );
            let weight = u64::from(server.weight);
            let view = |v: &'static str,
                        numbers: Vec<u64>,
                        views: &mut BTreeMap<&'static str, Numbers>| {
                views.entry(v).or_default().insert(key.clone(), numbers);
            };
            view("ipvsadm-list", vec![weight, active, inactive], &mut views);
            view(
                "ipvsadm-thresholds",
                vec![server.upper.into(), server.lower.into(), active, inactive],
                &mut views,
            );
            view(
                "ipvsadm-persistent",
                vec![weight, persist, active, inactive],
                &mut views,
            );
            view("ipvsadm-stats", stats(&counters["stats"]), &mut views);
            view("ipvsadm-rate", rate(&counters["stats"]), &mut views);
        }
    }
    views
}

/// A scenario's output cut at its `@@ NAME` lines: each section's text by name.
fn sections(output: &str) -> BTreeMap<&str, String> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@ ") {
            current = Some(name.trim());
            sections.entry(name.trim()).or_default();
        } else if let Some(name) = current {
            let s = sections.get_mut(name).unwrap();
            s.push_str(line);
            s.push('\n');
        }
    }
    sections
}

/// The services and servers of an `ipvsadm -L -n` listing in its order: `tcp A:P`,
/// `fwmark N`, `-> A:P`.
fn ipvsadm_sequence(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["TCP" | "UDP" | "SCTP", addr, ..] => {
                    Some(format!("{} {addr}", words[0].to_lowercase()))
                }
                ["FWM", mark, ..] => Some(format!("fwmark {mark}")),
                ["->", addr, ..]
                    if addr
                        .rsplit_once(':')
                        .is_some_and(|(_, p)| p.parse::<u16>().is_ok()) =>
                {
                    Some(format!("-> {addr}"))
                }
                _ => None,
            }
        })
        .collect()
}

/// The same sequence from `ipvsc list --format json`.
fn ipvsc_sequence(json: &str) -> Result<Vec<String>, String> {
    let listing: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in listing["services"].as_array().ok_or("no services array")? {
        let key: ServiceKey =
            serde_json::from_value::<ipvsc::wire::ServiceKeyDoc>(s["service"]["key"].clone())
                .map_err(|e| e.to_string())?
                .try_into()
                .map_err(|e: ipvsc::wire::Invalid| e.to_string())?;
        out.push(key.to_string());
        for server in s["servers"].as_array().ok_or("no servers array")? {
            let server: ServerKey =
                serde_json::from_value::<ipvsc::wire::ServerKeyDoc>(server["key"].clone())
                    .map_err(|e| e.to_string())?
                    .into();
            out.push(format!("-> {server}"));
        }
    }
    Ok(out)
}

/// `ipvsc list --format json` (and with `--nosort`) orders services and servers as `ipvsadm
/// -L -n` (and with `--nosort`) does.
fn compare_orders(output: &str) -> Vec<String> {
    let sections = sections(output);
    let mut failures = Vec::new();
    for (theirs, ours) in [
        ("ipvsadm-order", "ipvsc-order-json"),
        ("ipvsadm-nosort", "ipvsc-nosort-json"),
    ] {
        let (Some(theirs_text), Some(ours_json)) = (sections.get(theirs), sections.get(ours))
        else {
            failures.push(format!(
                "list_conns printed no `@@ {theirs}` or `@@ {ours}`"
            ));
            continue;
        };
        let want = ipvsadm_sequence(theirs_text);
        match ipvsc_sequence(ours_json) {
            Ok(have) if have == want => {}
            Ok(have) => failures.push(format!(
                "list_conns: {ours} orders otherwise than {theirs}:\n{}\n---\n{}",
                have.join("\n"),
                want.join("\n")
            )),
            Err(e) => failures.push(format!(
                "list_conns: {ours} is not a listing: {e}\n{ours_json}"
            )),
        }
        if want.len() < 20 {
            failures.push(format!(
                "list_conns: {theirs} has too few entries to prove an order"
            ));
        }
    }
    failures
}

/// `ipvsc list` against `ipvsadm -L -n` in each view, on the same table with traffic.
fn compare_listings(output: &str) -> Vec<String> {
    let sections = sections(output);
    let Some(json) = sections.get("ipvsc-json") else {
        return vec![format!(
            "list_zero printed no `ipvsc list --format json`:\n{output}"
        )];
    };
    let ours = ipvsc_numbers(json);
    let mut failures = Vec::new();
    for (view, theirs_text) in &sections {
        if !view.starts_with("ipvsadm-") || *view == "ipvsadm-rate-after" {
            continue;
        }
        let theirs = ipvsadm_numbers(theirs_text);
        let ours = &ours[view];
        for (key, want) in &theirs {
            // A service line shows scheduler words, not numbers, outside --stats and --rate.
            if key.1.is_none() && !matches!(*view, "ipvsadm-stats" | "ipvsadm-rate") {
                continue;
            }
            let have = ours.get(key);
            let also = (*view == "ipvsadm-rate")
                .then(|| ipvsadm_numbers(&sections["ipvsadm-rate-after"]))
                .and_then(|after| after.get(key).cloned());
            if have != Some(want) && have.cloned() != also {
                failures.push(format!(
                    "list {view}: {key:?}: ipvsadm shows {want:?}, ipvsc {have:?}\n{theirs_text}"
                ));
            }
        }
        if theirs.keys().filter(|k| k.1.is_some()).count()
            != ours.keys().filter(|k| k.1.is_some()).count()
        {
            failures.push(format!(
                "list {view}: ipvsadm and ipvsc list different servers\n{theirs_text}"
            ));
        }
    }
    let stats = &ours["ipvsadm-stats"];
    if !stats.values().any(|v| v[0] > 0) {
        failures.push(
            "list: the traffic made no connections, so the counters compared prove little".into(),
        );
    }
    failures
}

#[test]
fn parse_reads_the_markers() {
    let log = parse(
        "\x1bc\x1b[2J@@@ KERNEL 6.1\r\n@@@ BEGIN a\r\nhello\r\n@@@ END a rc=0\r\n@@@ TIME a secs=0.50\r\n\
         @@@ BEGIN b c\nbad\n@@@ END b c rc=3\n@@@ BEGIN d\npartial\n@@@ DONE\n",
    );
    assert_eq!(log.order, ["a", "b c", "d"]);
    assert_eq!(log.scenarios["a"].output, "hello\n");
    assert_eq!(log.scenarios["a"].rc, Some(0));
    assert_eq!(log.scenarios["a"].secs.as_deref(), Some("0.50"));
    assert_eq!(log.scenarios["b c"].rc, Some(3));
    assert_eq!(log.scenarios["d"].rc, None);
    assert_eq!(log.scenarios["d"].output, "partial\n");
    assert!(log.done);
}

#[test]
fn listings_that_differ_are_reported() {
    let ipvsadm = "@@ ipvsadm-list\nIP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.9.9.9:80 rr\n  -> 127.0.0.1:80                 Route   2      0          20\n@@ ipvsadm-stats\nTCP  10.9.9.9:80                        20      139      101     8808     9672\n  -> 127.0.0.1:80                       20      139      101     8808     9672\n";
    let json = |weight: u32| {
        format!(
            "@@ ipvsc-json\n{{\"services\": [{{\"service\": {{\"key\": {{\"kind\": \"inet\", \"protocol\": \"tcp\", \"addr\": \"10.9.9.9\", \"port\": 80}}, \"scheduler\": \"rr\", \"flags\": 0, \"persistence\": null, \"netmask\": {{\"ipv4\": \"255.255.255.255\"}}, \"pe\": null, \"one_packet\": false, \"servers\": []}}, \"stats\": {{\"conns\": 20, \"inpkts\": 139, \"outpkts\": 101, \"inbytes\": 8808, \"outbytes\": 9672, \"cps\": 0, \"inpps\": 0, \"outpps\": 0, \"inbps\": 0, \"outbps\": 0}}, \"servers\": [{{\"key\": {{\"addr\": \"127.0.0.1\", \"port\": 80}}, \"forward\": {{\"method\": \"dr\"}}, \"weight\": {weight}, \"upper\": 0, \"lower\": 0, \"active_conns\": 0, \"inactive_conns\": 20, \"persistent_conns\": 0, \"stats\": {{\"conns\": 20, \"inpkts\": 139, \"outpkts\": 101, \"inbytes\": 8808, \"outbytes\": 9672, \"cps\": 0, \"inpps\": 0, \"outpps\": 0, \"inbps\": 0, \"outbps\": 0}}}}]}}]}}\n"
        )
    };
    assert_eq!(
        compare_listings(&format!("{ipvsadm}{}", json(2))),
        Vec::<String>::new()
    );
    let failures = compare_listings(&format!("{ipvsadm}{}", json(3)));
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("ipvsadm shows [2, 0, 20], ipvsc Some([3, 0, 20])"),
        "{failures:?}"
    );
}

/// Random pairs of tables for apply_converge (and a few made by hand after them).
const CONVERGE_PAIRS: u32 = 50;

/// One value of a strategy.
fn draw<S: Strategy>(runner: &mut TestRunner, strategy: S) -> S::Value {
    strategy.new_tree(runner).expect("a value").current()
}

/// A deterministic runner for pair `i`.
fn seeded(i: u32) -> TestRunner {
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
fn for_guest(mut t: Table) -> Table {
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
fn restorable(mut t: Table) -> Table {
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
fn mutate(runner: &mut TestRunner, s: &Service) -> Service {
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
fn converge_pair(i: u32) -> (Table, Table) {
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
const EDGE_PAIRS: &[(&str, &str, &str)] = &[(
    "edge-maxlen",
    "service tcp 10.0.0.1:80 { server 10.0.0.2 }\nsync backup { interface lo; syncid 3; maxlen 5000 }\n",
    "service tcp 10.0.0.1:80 { server 10.0.0.2 }\n\
     sync backup { interface lo; syncid 3; maxlen 100 }\nsync master { interface eth0; maxlen 100 }\n",
)];

/// Every pair by name: random ones (`pair-NN`), then the ones made by hand.
fn converge_pairs() -> BTreeMap<String, (Table, Table)> {
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
fn write_converge_pairs(dir: &Path, pairs: &BTreeMap<String, (Table, Table)>) {
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
struct PairRun {
    sections: BTreeMap<String, (i32, String)>,
    ended: bool,
}

fn parse_pairs(output: &str) -> BTreeMap<String, PairRun> {
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
fn plan_ops(json: &str) -> Result<Vec<Op>, String> {
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
fn unrealized(kernel: &Table, want: &Table) -> Vec<String> {
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
fn check_convergence(
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
fn convergence_failures_are_reported() {
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
