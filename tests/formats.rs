//! Every document ipvsc writes for tools is pinned by a golden file: a change to one of them is
//! a new format version (src/wire/mod.rs lists the documents and their versions).

mod common;

use std::path::Path;
use std::process::Command;

fn ipvsc(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ipvsc"))
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("ipvsc runs");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn golden(name: &str, actual: &str) {
    common::golden(&common::root().join("tests/formats").join(name), actual);
}

#[test]
fn save_json_is_pinned() {
    for (golden_name, file) in [
        ("save-every-option.json", "tests/convert/every-option.ipvs"),
        ("save-web-farm.json", "examples/web-farm-nat.ipvs"),
        ("save-dr-fwmark.json", "examples/dr-fwmark.ipvs"),
    ] {
        golden(golden_name, &ipvsc(&["save", "--format", "json", file]));
    }
}

#[test]
fn plan_json_is_pinned() {
    golden(
        "plan-load.json",
        &ipvsc(&[
            "plan",
            "--from",
            "empty",
            "--format",
            "json",
            "tests/convert/every-option.ipvs",
        ]),
    );
    // From a dump of the file's own table, edited: changes, removals and a replace.
    golden(
        "plan-change.json",
        &ipvsc(&[
            "plan",
            "--from",
            "tests/formats/plan-from.ipvsadm",
            "--format",
            "json",
            "examples/web-farm-nat.ipvs",
        ]),
    );
}

#[test]
fn check_json_is_pinned() {
    golden(
        "check.json",
        &ipvsc(&[
            "check",
            "--format",
            "json",
            "tests/formats/check-errors.ipvs",
        ]),
    );
}

#[test]
fn golden_inputs_exist() {
    assert!(Path::new(&common::root().join("tests/formats/plan-from.ipvsadm")).exists());
}
