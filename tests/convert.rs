//! Golden tests for `ipvsc convert`: each dump in tests/convert/ and the .ipvs it becomes. The
//! result must also compile back to the same table.

mod common;

#[test]
fn conversions_match_golden_files() {
    let dir = common::root().join("tests/convert");
    let inputs = common::files_in(&dir, &["ipvsadm"]);
    assert!(!inputs.is_empty());
    for input in inputs {
        let (sources, compiled) = common::compile_path(&input);
        assert!(
            compiled.diagnostics.is_empty(),
            "{}",
            common::render_all(&sources, &compiled)
        );
        let text = compiled.table.to_ipvs();
        common::golden(&input.with_extension("ipvs"), &text);
        let (s, again) = common::compile_text("converted.ipvs", &text);
        // A persistent service drains by default, which the kernel's defaults defeat: the
        // converted file says so, where the dump could not (the table is the same).
        let drain_template = ipvsc::diagnostic::Code::DrainTemplate;
        assert!(
            again.diagnostics.iter().all(|d| d.code == drain_template),
            "{}",
            common::render_all(&s, &again)
        );
        assert_eq!(again.table, compiled.table);
    }
}
