//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod ops;
pub mod tables;

use std::path::{Path, PathBuf};

use ipvsc::compiler::{self, Compiled, InputFormat, Options};
use ipvsc::diagnostic::{self, Style};
use ipvsc::source::Sources;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles a file from disk, with the command-line defines of a first line
/// `# args: --define NAME=VALUE ...`.
pub fn compile_path(path: &Path) -> (Sources, Compiled) {
    let mut sources = Sources::new();
    let id = sources.read(path).expect("readable test input");
    let options = options_of(&sources.get(id).text);
    let compiled = compiler::compile(&mut sources, id, &options);
    (sources, compiled)
}

/// The compile options a test input asks for in its first line, `# args: --define NAME=VALUE`.
pub fn options_of(text: &str) -> Options {
    let mut options = Options::from(InputFormat::Auto);
    let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("# args:")) else {
        return options;
    };
    let mut words = args.split_whitespace();
    while let Some(flag) = words.next() {
        assert_eq!(flag, "--define", "only --define goes in `# args:`");
        let define = words.next().expect("--define NAME=VALUE");
        options
            .defines
            .push(define.parse().expect("a well-formed --define"));
    }
    options
}

/// Compiles text given inline, named `name`.
pub fn compile_text(name: &str, text: &str) -> (Sources, Compiled) {
    let mut sources = Sources::new();
    let id = sources.add(ipvsc::source::SourceFile::new(name, None, text.to_string()));
    let compiled = compiler::compile(&mut sources, id, &InputFormat::Auto.into());
    (sources, compiled)
}

/// Every diagnostic rendered without color at a fixed width.
pub fn render_all(sources: &Sources, compiled: &Compiled) -> String {
    compiled
        .diagnostics
        .iter()
        .map(|d| diagnostic::render(d, sources, Style::PLAIN))
        .collect()
}

/// Compares `actual` with the golden file, or rewrites it when UPDATE_GOLDEN is set.
pub fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run `UPDATE_GOLDEN=1 cargo test` and review it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs from the output (UPDATE_GOLDEN=1 rewrites it after review):\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

/// The files in a folder with one of the given extensions, sorted.
pub fn files_in(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("test folder exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
        })
        .collect();
    list.sort();
    list
}

/// A table as the documents write it (`ipvsc::wire`).
pub fn table_json(table: &ipvsc::model::Table) -> String {
    serde_json::to_string(&ipvsc::wire::TableDoc::from(table)).expect("a table serializes")
}

/// A table from a document's JSON.
pub fn table_from_value(value: serde_json::Value) -> Result<ipvsc::model::Table, String> {
    let doc: ipvsc::wire::TableDoc = serde_json::from_value(value).map_err(|e| e.to_string())?;
    ipvsc::model::Table::try_from(doc).map_err(|e| e.to_string())
}

/// A table from a document's JSON text.
pub fn table_from_json(text: &str) -> Result<ipvsc::model::Table, String> {
    table_from_value(serde_json::from_str(text).map_err(|e| e.to_string())?)
}

/// One operation as plan JSON and `ops` write it.
pub fn op_json(op: &ipvsc::kernel::Op) -> String {
    serde_json::to_string(&ipvsc::wire::OpDoc::from(op)).expect("an operation serializes")
}

/// One operation from plan JSON.
pub fn op_from_value(value: serde_json::Value) -> Result<ipvsc::kernel::Op, String> {
    let doc: ipvsc::wire::OpDoc = serde_json::from_value(value).map_err(|e| e.to_string())?;
    ipvsc::kernel::Op::try_from(doc).map_err(|e| e.to_string())
}
