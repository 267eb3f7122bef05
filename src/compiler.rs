//! One input file, in either format, to a validated table and its diagnostics.

use crate::check::builder::{Builder, Dialect};
use crate::check::lower;
use crate::diagnostic::{Code, Diagnostic};
use crate::legacy;
use crate::model::{DrainPolicy, Table};
use crate::source::{FileId, SourceMap, Sources};

/// The most errors reported for one input; more end in one "too many errors".
pub const MAX_ERRORS: usize = 50;

/// Which front end reads a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// Detect from the content: ipvsadm commands start with `-` or `ipvsadm`.
    #[default]
    Auto,
    /// The ipvsc language.
    Ipvs,
    /// An `ipvsadm -S` dump or `ipvsadm -R` script.
    Ipvsadm,
}

/// A compiled file: the table it describes, where each part came from, and what was wrong.
pub struct Compiled {
    pub table: Table,
    /// How the servers of each service leave: the file's `drain` statements.
    pub policy: DrainPolicy,
    pub map: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub format: InputFormat,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The format a file is read in.
pub fn detect(text: &str, format: InputFormat) -> InputFormat {
    match format {
        InputFormat::Auto if legacy::looks_legacy(text) => InputFormat::Ipvsadm,
        InputFormat::Auto => InputFormat::Ipvs,
        other => other,
    }
}

/// Compiles one file (and, for the language, what it includes).
pub fn compile(sources: &mut Sources, file: FileId, format: InputFormat) -> Compiled {
    let format = detect(&sources.get(file).text, format);
    let mut builder = Builder::new(match format {
        InputFormat::Ipvsadm => Dialect::Ipvsadm,
        _ => Dialect::Language,
    });
    match format {
        InputFormat::Ipvsadm => {
            let text = sources.get(file).text.clone();
            legacy::load(&text, file, &mut builder);
        }
        _ => lower::lower(sources, file, &mut builder),
    }
    let built = builder.finish();
    let mut diagnostics = built.diagnostics;
    cap(&mut diagnostics);
    Compiled {
        table: built.table,
        policy: built.policy,
        map: built.map,
        diagnostics,
        format,
    }
}

/// Keeps the first MAX_ERRORS errors (and the warnings among them), then says how many more.
fn cap(diagnostics: &mut Vec<Diagnostic>) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors <= MAX_ERRORS {
        return;
    }
    let mut seen = 0;
    let mut cut = diagnostics.len();
    for (i, d) in diagnostics.iter().enumerate() {
        if d.is_error() {
            seen += 1;
            if seen > MAX_ERRORS {
                cut = i;
                break;
            }
        }
    }
    let span = diagnostics[cut].label.span;
    diagnostics.truncate(cut);
    diagnostics.push(
        Diagnostic::error(
            Code::TooManyErrors,
            span,
            format!("too many errors: {} more not shown", errors - MAX_ERRORS),
        )
        .label("stopped reporting here")
        .help("fix the errors above and run again"),
    );
}

/// The table of a `.ipvs` text that must compile cleanly, for unit tests.
#[cfg(test)]
pub(crate) fn compile_clean(text: &str) -> Table {
    let mut sources = Sources::new();
    let id = sources.add(crate::source::SourceFile::new("t.ipvs", None, text.into()));
    let c = compile(&mut sources, id, InputFormat::default());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.table
}
