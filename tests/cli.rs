//! The `ipvsc` binary as a user runs it: exit codes, output formats, standard input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ipvsc(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipvsc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ipvsc runs");
    // A command that fails before it reads its input closes the pipe: that is its answer.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_exit_codes() {
    let ok = ipvsc(&["check", "examples/web-farm-nat.ipvs"], "");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let bad = ipvsc(
        &["check", "--color", "never", "-"],
        "service tcp 10.0.0.1:80 { schedular rr }\n",
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("did you mean `scheduler`?"));
    assert!(text(&bad.stderr).contains("<stdin>:1:27"));
    let missing = ipvsc(&["check", "no/such/file.ipvs"], "");
    assert_eq!(missing.status.code(), Some(2));
    let usage = ipvsc(&["check", "--no-such-flag", "x"], "");
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn a_file_that_is_not_utf8_is_a_located_error() {
    for (file, at) in [
        ("tests/diagnostics/not-utf8.ipvsadm", ":2:6]"),
        ("tests/diagnostics/not-utf8.ipvs", ":2:24]"),
    ] {
        for command in ["check", "convert", "save"] {
            let out = ipvsc(&[command, "--color", "never", file], "");
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command} {file}: {err}");
            assert!(err.contains("ipvsc::not-utf8") && err.contains(at), "{err}");
        }
    }
    let fmt = ipvsc(
        &["fmt", "--color", "never", "tests/diagnostics/not-utf8.ipvs"],
        "",
    );
    assert_eq!(fmt.status.code(), Some(1));
    assert!(text(&fmt.stderr).contains("0xE9"));
}

#[test]
fn warnings_pass_unless_denied() {
    let input = "service tcp 10.0.0.1:80 { netmask 255.255.255.0; server 10.0.0.2 }\n";
    assert_eq!(ipvsc(&["check", "-"], input).status.code(), Some(0));
    assert_eq!(
        ipvsc(&["check", "--deny-warnings", "-"], input)
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn check_json_is_machine_readable() {
    let out = ipvsc(
        &["check", "--format", "json", "-"],
        "service tcp 10.0.0.1:80 { server 10.0.0.2 weight 70000 }\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(doc["format_version"], 1);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "ipvsc::out-of-range");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 1);
    assert_eq!(d["column"], 50);
    assert!(d["help"].as_str().unwrap().contains("65535"));
}

#[test]
fn check_short_format_is_one_line_each() {
    let out = ipvsc(
        &["check", "--format", "short", "-"],
        "service tpc 10.0.0.1:80 { }\nservise\n",
    );
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("<stdin>:1:9: error[unknown-protocol]: "),
        "{}",
        lines[0]
    );
}

#[test]
fn fmt_check_and_output() {
    let messy = "service tcp 10.0.0.1:80 {scheduler rr;   server 10.0.0.2}\n";
    assert_eq!(
        ipvsc(&["fmt", "--check", "-"], messy).status.code(),
        Some(1)
    );
    let out = ipvsc(&["fmt", "-"], messy);
    assert_eq!(
        text(&out.stdout),
        "service tcp 10.0.0.1:80 { scheduler rr; server 10.0.0.2 }\n"
    );
    assert_eq!(
        ipvsc(&["fmt", "--check", "-"], &text(&out.stdout))
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn save_strict_prints_only_what_ipvsadm_prints() {
    let input =
        "timeouts { tcp 10m }\nservice tcp 10.0.0.1:80 { server 10.0.0.2 upper 10 lower 5 }\n";
    let full = text(&ipvsc(&["save", "--format", "ipvsadm", "-"], input).stdout);
    assert_eq!(
        full,
        "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1 -x 10 -y 5\n--set 600 0 0\n"
    );
    let strict = text(&ipvsc(&["save", "--format", "ipvsadm", "--strict", "-"], input).stdout);
    assert_eq!(
        strict,
        "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1\n"
    );
}

#[test]
fn convert_reads_a_dump_from_stdin() {
    let out = ipvsc(
        &["convert", "-"],
        "-A -u 10.0.0.1:53 -s rr\n-a -u 10.0.0.1:53 -r 10.0.0.2:53 -m -w 2\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "service udp 10.0.0.1:53 {\n    scheduler rr\n    server 10.0.0.2 forward nat weight 2\n}\n"
    );
}

#[test]
fn completions_and_man_page() {
    let bash = ipvsc(&["completions", "bash"], "");
    assert!(text(&bash.stdout).contains("ipvsc"));
    let man = ipvsc(&["man"], "");
    assert!(text(&man.stdout).contains(".TH ipvsc"));
}

#[test]
fn plan_from_a_dump_reads_like_a_review() {
    let dir = std::env::temp_dir().join(format!("ipvsc-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("now.ipvsadm");
    std::fs::write(
        &dump,
        "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 1\n\
         -A -t 10.0.0.9:80 -s wlc\n",
    )
    .unwrap();
    let file = "service tcp 10.0.0.1:80 {\n    scheduler wrr\n    server 10.0.0.2 weight 5\n    server 10.0.0.4\n}\n";
    // A server that leaves drains by default (TCP: 15 minutes at the most); a dump has no
    // connection counts, so it is shown draining.
    let out = ipvsc(&["plan", "--from", dump.to_str().unwrap(), "-"], file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "  - service tcp 10.0.0.9:80\n\
         \x20~- server 10.0.0.3:80 of service tcp 10.0.0.1:80\n\
         \x20     weight: 1 → 0\n\
         \x20     then: removed when its connections are gone, 15m at the most\n\
         \x20 ~ service tcp 10.0.0.1:80  (<stdin>:1)\n\
         \x20     scheduler: rr → wrr\n\
         \x20 ~ server 10.0.0.2:80 of service tcp 10.0.0.1:80  (<stdin>:3)\n\
         \x20     weight: 1 → 5\n\
         \x20 + server 10.0.0.4:80 of service tcp 10.0.0.1:80  (<stdin>:4)\n\
         \x20     forward dr, weight 1, upper 0, lower 0\n\
         \n\
         Plan: 1 to add, 2 to change, 1 to remove, 1 to drain (5 kernel operations).\n"
    );
    // `--drain off` (or `drain off` in the file) removes at once.
    let out = ipvsc(
        &[
            "plan",
            "--drain",
            "off",
            "--from",
            dump.to_str().unwrap(),
            "-",
        ],
        file,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "  - service tcp 10.0.0.9:80\n\
         \x20 - server 10.0.0.3:80 of service tcp 10.0.0.1:80\n\
         \x20 ~ service tcp 10.0.0.1:80  (<stdin>:1)\n\
         \x20     scheduler: rr → wrr\n\
         \x20 ~ server 10.0.0.2:80 of service tcp 10.0.0.1:80  (<stdin>:3)\n\
         \x20     weight: 1 → 5\n\
         \x20 + server 10.0.0.4:80 of service tcp 10.0.0.1:80  (<stdin>:4)\n\
         \x20     forward dr, weight 1, upper 0, lower 0\n\
         \n\
         Plan: 1 to add, 2 to change, 2 to remove (5 kernel operations).\n"
    );
    let detailed = ipvsc(
        &[
            "plan",
            "--detailed-exitcode",
            "--from",
            dump.to_str().unwrap(),
            "-",
        ],
        file,
    );
    assert_eq!(detailed.status.code(), Some(2));
    let json = ipvsc(
        &[
            "plan",
            "--format",
            "json",
            "--from",
            dump.to_str().unwrap(),
            "-",
        ],
        file,
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["remove"], 1);
    assert_eq!(v["drain"], 1);
    assert_eq!(v["changes"][1]["action"], "drain");
    assert_eq!(v["changes"][2]["location"], "<stdin>:1");
    // The same table again: nothing to do, and the detailed exit code says so.
    let same = ipvsc(
        &[
            "plan",
            "--detailed-exitcode",
            "--from",
            dump.to_str().unwrap(),
            dump.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(
        text(&same.stdout),
        "No changes: the kernel's table already matches.\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_from_empty_needs_no_root() {
    let out = ipvsc(&["plan", "--from", "empty", "examples/dr-fwmark.ipvs"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("  + sync daemon master  (examples/dr-fwmark.ipvs:"));
    assert!(
        text(&out.stdout)
            .ends_with("Plan: 8 to add, 1 to change, 0 to remove (9 kernel operations).\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn plan_shows_a_replaced_sync_daemon_once() {
    let dir = std::env::temp_dir().join(format!("ipvsc-cli-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let before = dir.join("before.ipvs");
    std::fs::write(&before, "sync master { interface eth0; syncid 1 }\n").unwrap();
    let out = ipvsc(
        &["plan", "--from", before.to_str().unwrap(), "-"],
        "sync master { interface eth0; syncid 2; maxlen 1400 }\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "-/+ sync daemon master  (<stdin>:1)\n\
         \x20     syncid: 1 → 2\n\
         \x20     maxlen: default → 1400\n\
         \n\
         Plan: 1 to add, 0 to change, 1 to remove (2 kernel operations).\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A director's file with its own defaults, as `--define` overrides them.
const DIRECTOR: &str = "define vip = 10.0.0.1\n\
                        define role = master\n\
                        service tcp $vip:80 { server 192.168.1.1 }\n\
                        sync $role { interface lo }\n";

#[test]
fn define_on_the_command_line_wins_over_the_file() {
    let out = ipvsc(
        &[
            "save",
            "--format",
            "ipvsadm",
            "-",
            "--define",
            "vip=10.0.0.7",
            "-D",
            "role=backup",
        ],
        DIRECTOR,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved = text(&out.stdout);
    assert!(saved.contains("-A -t 10.0.0.7:80 -s wlc"), "{saved}");
    assert!(!saved.contains("10.0.0.1"), "{saved}");
    assert!(saved.contains("--start-daemon backup"), "{saved}");
    assert_eq!(text(&out.stderr), "", "no dup-define, no warning");
    let default = ipvsc(&["save", "--format", "ipvsadm", "-"], DIRECTOR);
    assert!(text(&default.stdout).contains("-A -t 10.0.0.1:80 -s wlc"));
}

#[test]
fn define_only_on_the_command_line_is_visible_from_the_first_line() {
    let file = "service tcp $vip:80 { server 192.168.1.1 }\n";
    let out = ipvsc(
        &[
            "save",
            "--format",
            "ipvsadm",
            "-",
            "--define",
            "vip=10.0.0.9",
        ],
        file,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("-A -t 10.0.0.9:80 -s wlc"));
    let plan = ipvsc(
        &["plan", "-", "--from", "empty", "--define", "vip=10.0.0.9"],
        file,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    assert!(text(&plan.stdout).contains("10.0.0.9:80"));
    let without = ipvsc(&["check", "-"], file);
    assert_eq!(without.status.code(), Some(1));
}

#[test]
fn bad_define_value_is_located_on_the_command_line() {
    let out = ipvsc(
        &[
            "check",
            "--color",
            "never",
            "-",
            "--define",
            "vip=10.0.0.999",
        ],
        DIRECTOR,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[<command line>:1:14]"), "{stderr}");
    assert!(stderr.contains("--define vip=10.0.0.999"), "{stderr}");
    assert!(stderr.contains("`999` is not"), "{stderr}");
    assert!(stderr.contains("[<stdin>:3:13]"), "{stderr}");
    assert!(stderr.contains("`$vip` is used here"), "{stderr}");
}

#[test]
fn unused_define_is_a_warning() {
    let args = ["check", "--color", "never", "-", "--define", "vpi=10.0.0.7"];
    let out = ipvsc(&args, DIRECTOR);
    assert_eq!(out.status.code(), Some(0), "a warning only");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ipvsc::unused-define"), "{stderr}");
    assert!(stderr.contains("did you mean `vip`?"), "{stderr}");
    let denied = ipvsc(&[&args[..], &["--deny-warnings"]].concat(), DIRECTOR);
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn malformed_define_is_a_usage_error() {
    for bad in [
        "vip",
        "=10.0.0.1",
        "1vip=10.0.0.1",
        "v-ip=1",
        "vip=",
        "vip=a b",
        "vip=$x",
    ] {
        let out = ipvsc(&["check", "-", "--define", bad], DIRECTOR);
        assert_eq!(out.status.code(), Some(2), "--define {bad}");
        assert!(text(&out.stderr).contains("--define"), "--define {bad}");
    }
}

#[test]
fn define_with_ipvsadm_input_is_refused() {
    let dump = "-A -t 10.0.0.1:80 -s wlc\n";
    for command in ["check", "save", "convert"] {
        let out = ipvsc(&[command, "-", "--define", "vip=10.0.0.7"], dump);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(
            text(&out.stderr).contains("ipvsadm input, which has none"),
            "{command}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{command}");
    }
}

#[test]
fn an_include_of_a_device_is_a_diagnostic_not_an_endless_read() {
    let dir = std::env::temp_dir().join(format!("ipvsc-devzero-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("zero.ipvs");
    std::fs::write(
        &file,
        "include \"/dev/zero\"\nservice tcp 10.0.0.1:80 { server 10.0.0.2 }\n",
    )
    .unwrap();
    // Under a 1 GiB address-space limit: reading /dev/zero would exhaust it.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1048576; exec {} check --format short {}",
            env!("CARGO_BIN_EXE_ipvsc"),
            file.display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(said.contains("zero.ipvs:1:10: error[include]"), "{said}");
    assert!(said.contains("not a regular file"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn input_above_the_limit_is_refused() {
    let big = "# padding\n".repeat(300);
    let out = ipvsc(&["check", "--max-input-size", "1K", "-"], &big);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("larger than 1 KiB (the input limit; --max-input-size raises it)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        ipvsc(&["check", "--max-input-size", "4K", "-"], &big)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        ipvsc(&["check", "--max-input-size", "lots", "-"], &big)
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_bad_file_is_reported_before_the_kernel_is_needed() {
    // `apply` and `plan` compile the file while another thread reads the kernel: the file's
    // errors come first, whether or not IPVS can be reached (this host's kernel may have none,
    // and the test may not run as root).
    let state = std::env::temp_dir().join(format!("ipvsc-cli-bad-{}", std::process::id()));
    for command in ["apply", "plan"] {
        let out = Command::new(env!("CARGO_BIN_EXE_ipvsc"))
            .args([command, "--color", "never", "-"])
            .env("IPVSC_STATE_DIR", &state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(b"service tcp 10.0.0.1:80 { server 10.0.0.300 }\n")?;
                child.wait_with_output()
            })
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        assert!(
            err.contains("`10.0.0.300` is not a valid IPv4 address"),
            "{command}: {err}"
        );
        assert!(!err.contains("cannot use IPVS"), "{command}: {err}");
    }
    let _ = std::fs::remove_dir_all(&state);
}
