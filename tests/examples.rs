//! Every bundled example compiles without errors, is in canonical layout, and survives a
//! round trip through `save --format ipvs` and `--format ipvsadm`.

mod common;

use ipvsc::legacy::{ipvsadm_save, SaveExtras};

#[test]
fn every_example_checks_clean() {
    let examples = common::files_in(&common::root().join("examples"), &["ipvs", "ipvsadm"]);
    assert!(examples.len() >= 5, "examples went missing");
    for path in examples {
        let (sources, compiled) = common::compile_path(&path);
        let rendered = common::render_all(&sources, &compiled);
        // The converted dump keeps the table of the dump, which cannot set the sysctl a
        // persistent service's drains need: its header says so, and check warns.
        let allowed = |d: &ipvsc::diagnostic::Diagnostic| {
            path.ends_with("legacy-converted.ipvs")
                && d.code == ipvsc::diagnostic::Code::DrainTemplate
        };
        assert!(
            compiled.diagnostics.iter().all(allowed),
            "{} has diagnostics:\n{rendered}",
            path.display()
        );
        assert!(
            !compiled.table.services.is_empty(),
            "{} is empty",
            path.display()
        );
    }
}

#[test]
fn every_example_is_formatted() {
    for path in common::files_in(&common::root().join("examples"), &["ipvs"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let (tree, diagnostics) = ipvsc::syntax::parse(&text, ipvsc::source::FileId(0));
        assert!(diagnostics.is_empty());
        let formatted = ipvsc::syntax::format::format(&text, &tree);
        assert_eq!(
            formatted,
            text,
            "{} is not in canonical layout",
            path.display()
        );
    }
}

#[test]
fn every_example_round_trips() {
    for path in common::files_in(&common::root().join("examples"), &["ipvs", "ipvsadm"]) {
        let (_, compiled) = common::compile_path(&path);
        let table = compiled.table;
        let (s, again) = common::compile_text("again.ipvs", &table.to_ipvs());
        assert!(!again.has_errors(), "{}", common::render_all(&s, &again));
        assert_eq!(again.table, table, "{} via .ipvs", path.display());
        let dump = ipvsadm_save(&table, SaveExtras::ALL);
        let (s, again) = common::compile_text("again.ipvsadm", &dump);
        assert!(
            !again.has_errors(),
            "{}\n{dump}",
            common::render_all(&s, &again)
        );
        // ipvsadm's format has no place for the sysctls.
        let mut expected = table.clone();
        expected.sysctls.clear();
        assert_eq!(
            again.table,
            expected,
            "{} via ipvsadm -S:\n{dump}",
            path.display()
        );
    }
}

#[test]
fn readme_snippets_check_clean() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let mut count = 0;
    for block in readme.split("```ipvs\n").skip(1) {
        let text = block.split("```").next().unwrap();
        if text.contains("include ") {
            continue;
        }
        let (sources, compiled) = common::compile_text("README.md", text);
        assert!(
            compiled.diagnostics.is_empty(),
            "README snippet:\n{text}\n{}",
            common::render_all(&sources, &compiled)
        );
        count += 1;
    }
    assert!(count >= 7, "README snippets went missing");
}

#[test]
fn converted_legacy_example_is_the_same_table() {
    let (_, dump) = common::compile_path(&common::root().join("examples/legacy.ipvsadm"));
    let (_, converted) =
        common::compile_path(&common::root().join("examples/legacy-converted.ipvs"));
    assert_eq!(converted.table, dump.table);
}
