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

/// tests/legacy-corpus: real ipvsadm input (at least 20 files), and synthetic-*.ipvsadm
/// written for ipvsc (SOURCES.md lists both). Each file gives errors at exactly the lines its
/// `.expect` lists (the lines ipvsadm 1.31 and the 6.1 kernel refused in the VM's
/// legacy_corpus scenario); without errors, its conversion compiles back to the same table.
/// With errors, its table is that of the lines the kernel kept.
#[test]
fn legacy_corpus_is_read_as_ipvsadm_and_the_kernel_read_it() {
    let dir = common::root().join("tests/legacy-corpus");
    let inputs = common::files_in(&dir, &["ipvsadm"]);
    let real = inputs
        .iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("synthetic-")
        })
        .count();
    assert!(real >= 20, "the corpus has 20 real inputs, not {real}");
    let mut refused_total = 0;
    for input in inputs {
        let expect = std::fs::read_to_string(input.with_extension("expect"))
            .unwrap_or_else(|e| panic!("{}: no .expect: {e}", input.display()));
        let want: Vec<usize> = expect
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        refused_total += want.len();
        let (sources, compiled) = common::compile_path(&input);
        let file = sources.get(ipvsc::source::FileId(0));
        let mut got: Vec<usize> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| file.line_col(d.label.span.start).0)
            .collect();
        got.dedup();
        assert_eq!(
            got,
            want,
            "{}: lines with errors\n{}",
            input.display(),
            common::render_all(&sources, &compiled)
        );
        if want.is_empty() {
            let text = compiled.table.to_ipvs();
            let (_, again) = common::compile_text("converted.ipvs", &text);
            assert!(!again.has_errors(), "{}: {text}", input.display());
            assert_eq!(again.table, compiled.table, "{}", input.display());
        } else {
            let full = std::fs::read_to_string(&input).unwrap();
            let kept: String = full
                .split_inclusive('\n')
                .enumerate()
                .filter(|(i, _)| !want.contains(&(i + 1)))
                .map(|(_, l)| l)
                .collect();
            let (s, kept) = common::compile_text("kept.ipvsadm", &kept);
            assert!(!kept.has_errors(), "{}", common::render_all(&s, &kept));
            assert_eq!(kept.table, compiled.table, "{}", input.display());
        }
    }
    assert!(refused_total > 0, "the corpus has lines the kernel refuses");
}
