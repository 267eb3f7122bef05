//! Golden tests: every input in tests/diagnostics/ and the exact diagnostics it renders
//! (no color, 100 columns). Every diagnostic code has at least one.

mod common;

use std::collections::BTreeSet;

use ipvsc::diagnostic::Code;

#[test]
fn diagnostics_match_golden_files() {
    // Relative paths (tests run in the package's folder), so the output names files as a user
    // would see them, wherever the checkout is.
    let dir = std::path::Path::new("tests/diagnostics");
    let inputs = common::files_in(dir, &["ipvs", "ipvsadm"]);
    assert!(!inputs.is_empty());
    let mut failures = Vec::new();
    for input in inputs {
        let (sources, compiled) = common::compile_path(&input);
        let rendered = common::render_all(&sources, &compiled);
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

#[test]
fn every_code_has_a_golden_test() {
    let dir = common::root().join("tests/diagnostics");
    let mut seen = BTreeSet::new();
    for input in common::files_in(&dir, &["ipvs", "ipvsadm"]) {
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
