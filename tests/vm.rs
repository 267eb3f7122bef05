//! The kernel tests: every scenario of tests/vm/scenarios runs against real IPVS in a QEMU guest
//! (tests/vm/vm.sh), all of them in one boot. This is the only test that boots a VM.
//!
//! It needs what `tests/vm/vm.sh prepare` installs (as root, on Debian): it fails, never skips,
//! when that cannot be had. The console log stays in target/tmp/vm-console.log.

mod common;

use std::collections::BTreeMap;

use ipvsc::kernel::{transcript, MemoryKernel};
use ipvsc::model::{Scheduler, Table};
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
            serde_json::to_string(&ops).unwrap(),
        )
        .unwrap();
        expected_transcripts.insert(name, transcript(&mut guest_model(), &ops));
    }

    let log_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vm-console.log");
    let _ = std::fs::remove_file(&log_path);
    let started = Instant::now();
    // The ipvsc that cargo just built for this test, not a separate release build.
    let run = Command::new("bash")
        .arg(&script)
        .arg("run")
        .arg(&scenarios)
        .arg(&log_path)
        .env("IPVSC_BIN", env!("CARGO_BIN_EXE_ipvsc"))
        .env("IPVSC_VM_DATA", &data)
        .current_dir(&root)
        .output()
        .expect("bash runs");
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
                    serde_json::to_string(&ops[i]).unwrap()
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
            serde_json::from_str::<Table>(want_table.trim()),
            serde_json::from_str::<Table>(have_table.trim()),
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
            serde_json::from_value(entry["service"].clone()).unwrap();
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
        for pair in entry["servers"].as_array().expect("servers") {
            let (server, counters) = (&pair[0], &pair[1]);
            let server: ipvsc::model::Server = serde_json::from_value(server.clone()).unwrap();
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

/// `ipvsc list` against `ipvsadm -L -n` in each view, on the same table with traffic.
fn compare_listings(output: &str) -> Vec<String> {
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
            "@@ ipvsc-json\n{{\"services\": [{{\"service\": {{\"key\": {{\"kind\": \"inet\", \"protocol\": \"tcp\", \"addr\": \"10.9.9.9\", \"port\": 80}}, \"scheduler\": \"rr\", \"flags\": 0, \"persistence\": null, \"netmask\": {{\"ipv4\": \"255.255.255.255\"}}, \"pe\": null, \"one_packet\": false, \"servers\": []}}, \"stats\": {{\"conns\": 20, \"inpkts\": 139, \"outpkts\": 101, \"inbytes\": 8808, \"outbytes\": 9672, \"cps\": 0, \"inpps\": 0, \"outpps\": 0, \"inbps\": 0, \"outbps\": 0}}, \"servers\": [[{{\"key\": {{\"addr\": \"127.0.0.1\", \"port\": 80}}, \"forward\": {{\"method\": \"dr\"}}, \"weight\": {weight}, \"upper\": 0, \"lower\": 0}}, {{\"active_conns\": 0, \"inactive_conns\": 20, \"persistent_conns\": 0, \"stats\": {{\"conns\": 20, \"inpkts\": 139, \"outpkts\": 101, \"inbytes\": 8808, \"outbytes\": 9672, \"cps\": 0, \"inpps\": 0, \"outpps\": 0, \"inbps\": 0, \"outbps\": 0}}}}]]}}]}}\n"
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
