//! Property tests: a random valid table printed as `.ipvs` and compiled again is the same table;
//! printed as `ipvsadm -S` (with ipvsc's extras) and read as legacy input, the same again.

mod common;

use common::tables::{table, with_sysctls};
use ipvsc::legacy::{ipvsadm_save, SaveExtras};
use ipvsc::model::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ipvs_text_compiles_to_the_same_table(table in with_sysctls()) {
        let text = table.to_ipvs();
        let (sources, compiled) = common::compile_text("t.ipvs", &text);
        prop_assert!(!compiled.has_errors(), "{}\n{}", text, common::render_all(&sources, &compiled));
        prop_assert_eq!(&compiled.table, &table, "{}", text);
    }

    #[test]
    fn ipvsadm_dump_reads_back_as_the_same_table(table in table()) {
        let dump = ipvsadm_save(&table, SaveExtras::ALL);
        let (sources, compiled) = common::compile_text("t.ipvsadm", &dump);
        prop_assert!(!compiled.has_errors(), "{}\n{}", dump, common::render_all(&sources, &compiled));
        prop_assert_eq!(&compiled.table, &table, "{}", dump);
    }

    #[test]
    fn json_reads_back_as_the_same_table(table in with_sysctls()) {
        let json = common::table_json(&table);
        let back: Table = common::table_from_json(&json).unwrap();
        prop_assert_eq!(back, table);
    }

    #[test]
    fn formatting_is_idempotent_and_keeps_the_table(table in with_sysctls()) {
        let text = table.to_ipvs();
        let (tree, diagnostics) = ipvsc::syntax::parse(&text, ipvsc::source::FileId(0));
        prop_assert!(diagnostics.is_empty());
        let once = ipvsc::syntax::format::format(&text, &tree);
        let (tree2, _) = ipvsc::syntax::parse(&once, ipvsc::source::FileId(0));
        prop_assert_eq!(&ipvsc::syntax::format::format(&once, &tree2), &once);
        let (_, compiled) = common::compile_text("f.ipvs", &once);
        prop_assert_eq!(&compiled.table, &table);
    }
}
