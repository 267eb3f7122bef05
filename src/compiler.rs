//! One input file, in either format, to a validated table and its diagnostics.

use std::fmt;
use std::str::FromStr;

use pest::Parser as _;

use crate::check::builder::{Builder, Dialect};
use crate::check::lower::{self, Given};
use crate::diagnostic::{Code, Diagnostic};
use crate::legacy;
use crate::model::{DrainPolicy, Table};
use crate::source::{FileId, SourceFile, SourceMap, Sources, Span};
use crate::syntax::ast::Text;
use crate::syntax::{IpvsParser, Rule};

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

/// A constant given on the command line (`--define NAME=VALUE`, like `nft -D`): it overrides the
/// file's `define` of the same name, and is typed where it is used, as the file's would be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    pub name: String,
    pub value: String,
}

impl FromStr for Define {
    type Err = String;

    fn from_str(s: &str) -> Result<Define, String> {
        let (name, value) = s
            .split_once('=')
            .ok_or("expected NAME=VALUE, like vip=10.0.0.1")?;
        if !whole(Rule::name, name) {
            return Err(format!(
                "`{name}` is not a constant name: a letter or `_`, then letters, digits or `_`"
            ));
        }
        if value.starts_with('$') || !whole(Rule::define_value, value) {
            return Err(format!(
                "`{value}` cannot be the value of `{name}`: one word without spaces, `;`, `#`, \
                 `{{`, `}}` or a leading `$`"
            ));
        }
        Ok(Define {
            name: name.to_string(),
            value: value.to_string(),
        })
    }
}

impl fmt::Display for Define {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "--define {}={}", self.name, self.value)
    }
}

/// Whether the grammar's `rule` matches all of `text`.
fn whole(rule: Rule, text: &str) -> bool {
    IpvsParser::parse(rule, text)
        .ok()
        .and_then(|mut pairs| pairs.next())
        .is_some_and(|pair| pair.as_str().len() == text.len())
}

/// How to compile a file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub format: InputFormat,
    /// Constants from the command line; an ipvsadm dump has none, so there they are all unused.
    pub defines: Vec<Define>,
    /// The largest file read, the named one and each it includes.
    pub max_input: u64,
}

impl From<InputFormat> for Options {
    fn from(format: InputFormat) -> Options {
        Options {
            format,
            defines: Vec::new(),
            max_input: crate::source::DEFAULT_MAX_INPUT,
        }
    }
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
pub fn compile(sources: &mut Sources, file: FileId, options: &Options) -> Compiled {
    let format = detect(&sources.get(file).text, options.format);
    if let Some(d) = sources.encoding_error(file) {
        return Compiled {
            table: Table::default(),
            policy: DrainPolicy::default(),
            map: SourceMap::default(),
            diagnostics: vec![d],
            format,
        };
    }
    let mut builder = Builder::new(match format {
        InputFormat::Ipvsadm => Dialect::Ipvsadm,
        _ => Dialect::Language,
    });
    let given = command_line(sources, &options.defines);
    let mut given_uses = lower::GivenUses::default();
    match format {
        InputFormat::Ipvsadm => {
            let text = sources.get(file).text.clone();
            legacy::load(&text, file, &mut builder);
            for define in &given {
                builder.report(lower::unused_define(
                    &define.name,
                    "an ipvsadm dump has no constants; use --define with a .ipvs file",
                ));
            }
        }
        _ => given_uses = lower::lower(sources, file, given, &mut builder),
    }
    let built = builder.finish();
    let mut diagnostics = built.diagnostics;
    lower::note_given(&mut diagnostics, &given_uses);
    cap(&mut diagnostics);
    Compiled {
        table: built.table,
        policy: built.policy,
        map: built.map,
        diagnostics,
        format,
    }
}

/// The command-line defines as a source of their own, `--define NAME=VALUE ...`, so that a
/// diagnostic about a value given there can point at it.
fn command_line(sources: &mut Sources, defines: &[Define]) -> Vec<Given> {
    if defines.is_empty() {
        return Vec::new();
    }
    let mut text = String::new();
    let mut spans = Vec::new();
    for define in defines {
        if !text.is_empty() {
            text.push(' ');
        }
        let name = text.len() + "--define ".len();
        let value = name + define.name.len() + 1;
        text.push_str(&define.to_string());
        spans.push((name..value - 1, value..text.len()));
    }
    let id = sources.add(SourceFile::new("<command line>", None, text));
    defines
        .iter()
        .zip(spans)
        .map(|(define, (name, value))| Given {
            name: Text {
                text: define.name.clone(),
                span: Span::new(id, name),
            },
            value: Text {
                text: define.value.clone(),
                span: Span::new(id, value),
            },
        })
        .collect()
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
    let c = compile(&mut sources, id, &Options::default());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.table
}
