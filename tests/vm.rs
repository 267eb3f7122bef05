//! The kernel tests: every scenario of tests/vm/scenarios runs against real IPVS in a QEMU guest
//! (tests/vm/vm.sh), all of them in one boot. This is the only test that boots a VM.
//!
//! It needs what `tests/vm/vm.sh prepare` installs (as root, on Debian): it fails, never skips,
//! when that cannot be had. The console log stays in target/tmp/vm-console.log.

mod common;
mod vm_checks;

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
use vm_checks::converge::{check_convergence, converge_pairs, write_converge_pairs};
use vm_checks::listings::{compare_listings, compare_orders};

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
