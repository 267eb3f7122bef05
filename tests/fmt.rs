//! Golden tests for `ipvsc fmt`: each file in tests/fmt/ and its canonical layout (`.fmt`),
//! which must itself be stable.

mod common;

#[test]
fn formatting_matches_golden_files() {
    let dir = common::root().join("tests/fmt");
    let inputs = common::files_in(&dir, &["ipvs"]);
    assert!(!inputs.is_empty());
    for input in inputs {
        let text = std::fs::read_to_string(&input).unwrap();
        let (tree, errors) = ipvsc::syntax::parse(&text, ipvsc::source::FileId(0));
        assert!(errors.is_empty(), "{}: {errors:?}", input.display());
        let formatted = ipvsc::syntax::format::format(&text, &tree);
        common::golden(&input.with_extension("ipvs.fmt"), &formatted);
        let (tree, _) = ipvsc::syntax::parse(&formatted, ipvsc::source::FileId(0));
        assert_eq!(ipvsc::syntax::format::format(&formatted, &tree), formatted);
    }
}
