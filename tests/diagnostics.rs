//! Golden tests: every input in tests/diagnostics/ and the exact diagnostics it renders
//! (no color, 100 columns). Every diagnostic code has at least one.

mod common;

use std::collections::BTreeSet;

use ipvsc::apply::{self, Options, Stopped};
use ipvsc::diagnostic::{self, Code, Style};
use ipvsc::kernel::{Kernel, MemoryKernel};
use ipvsc::plan::{plan, Scope};

#[test]
fn diagnostics_match_golden_files() {
    // Relative paths (tests run in the package's folder), so the output names files as a user
    // would see them, wherever the checkout is.
    let dir = std::path::Path::new("tests/diagnostics");
    let inputs = common::files_in(dir, &["ipvs", "ipvsadm"]);
    assert!(!inputs.is_empty());
    let mut failures = Vec::new();
    for input in inputs {
        let rendered = if is_apply_input(&input) {
            apply_diagnostics(&input).0
        } else {
            let (sources, compiled) = common::compile_path(&input);
            common::render_all(&sources, &compiled)
        };
        let golden = input.with_extension(format!(
            "{}.out",
            input.extension().unwrap().to_string_lossy()
        ));
        if let Err(e) = std::panic::catch_unwind(|| common::golden(&golden, &rendered)) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What `ipvsc apply` reports when the kernel refuses: files `*.apply.ipvs` are applied to the
/// in-memory kernel (which has the interfaces lo and eth0 only), from empty.
fn apply_diagnostics(input: &std::path::Path) -> (String, Vec<Code>) {
    let (sources, compiled) = common::compile_path(input);
    assert!(
        !compiled.has_errors(),
        "{}",
        common::render_all(&sources, &compiled)
    );
    let mut kernel = MemoryKernel::new();
    let before = kernel.read().unwrap();
    let p = plan(&compiled.table, &compiled.map, &before, Scope::All);
    let failed = apply::execute(&mut kernel, &before, &p, Options::default(), &mut |_, _| {})
        .expect_err("the kernel refuses something in this file");
    let Stopped::Refused { index, error } = failed.stopped else {
        panic!("not a refusal")
    };
    let d =
        apply::refusal(apply::change_of(&p, index).unwrap(), &error).expect("a located refusal");
    assert_eq!(
        kernel.read().unwrap(),
        before,
        "the rollback restored the table"
    );
    (diagnostic::render(&d, &sources, Style::PLAIN), vec![d.code])
}

fn is_apply_input(path: &std::path::Path) -> bool {
    path.to_string_lossy().ends_with(".apply.ipvs")
}

#[test]
fn every_code_has_a_golden_test() {
    let dir = common::root().join("tests/diagnostics");
    let mut seen = BTreeSet::new();
    for input in common::files_in(&dir, &["ipvs", "ipvsadm"]) {
        if is_apply_input(&input) {
            seen.extend(apply_diagnostics(&input).1.iter().map(|c| c.name()));
            continue;
        }
        let (_, compiled) = common::compile_path(&input);
        for d in compiled.diagnostics {
            seen.insert(d.code.name());
        }
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.name())
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a golden test: {missing:?}"
    );
}
