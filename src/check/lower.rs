//! The language's syntax tree to builder specs: constants, includes, address ranges, per-service
//! defaults for servers, and the typing of every value.

mod daemon;
mod endpoint;
mod server;
mod service;
mod settings;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::builder::Builder;
use super::suggest;
use super::values;
use crate::diagnostic::{Code, Diagnostic, Label};
use crate::model::*;
use crate::source::{FileId, Sources, Span, Spanned};
use crate::syntax;
use crate::syntax::ast::*;
use crate::syntax::words;

struct Define {
    text: String,
    origin: Origin,
    /// Given on the command line: overrides the file's definition, and warned about when unused.
    given: bool,
    /// For a command-line define, the file's own definition of the name, which it overrides.
    overridden: Option<Span>,
    used: bool,
}

/// Where a constant's value was written, to point a diagnostic about it there.
#[derive(Clone, Copy)]
struct Origin {
    /// The constant's name where it is defined.
    name: Span,
    /// A value given on the command line (directly or through other constants): its text there.
    given: Option<Span>,
}

/// A `--define NAME=VALUE` from the command line, with its spans in the `<command line>` source.
pub struct Given {
    pub name: Text,
    pub value: Text,
}

/// Lowers one file (and what it includes) into `builder`.
pub struct Lowerer<'a> {
    sources: &'a mut Sources,
    builder: &'a mut Builder,
    defines: HashMap<String, Define>,
    /// Every constant name the files define or use, to suggest for a misspelled command-line one.
    referenced: BTreeSet<String>,
    given_uses: GivenUses,
    /// The files being read, outermost first: canonical path, and the name to show.
    stack: Vec<(PathBuf, String)>,
}

/// Where the file uses command-line values that typed well: the spans of their uses, and the
/// text on the command line with the constant's name.
pub type GivenUses = HashMap<Span, (Span, String)>;

/// Parses and lowers file `file` into `builder`, with the command-line defines `given` visible
/// from its first line and overriding its own.
pub fn lower(
    sources: &mut Sources,
    file: FileId,
    given: Vec<Given>,
    builder: &mut Builder,
) -> GivenUses {
    let mut lowerer = Lowerer {
        sources,
        builder,
        defines: HashMap::new(),
        referenced: BTreeSet::new(),
        given_uses: HashMap::new(),
        stack: Vec::new(),
    };
    let names: Vec<Text> = given.iter().map(|g| g.name.clone()).collect();
    for g in given {
        let define = Define {
            text: g.value.text,
            origin: Origin {
                name: g.name.span,
                given: Some(g.value.span),
            },
            given: true,
            overridden: None,
            used: false,
        };
        lowerer.defines.insert(g.name.text, define);
    }
    lowerer.file(file);
    for name in names {
        if lowerer
            .defines
            .get(&name.text)
            .is_some_and(|d| d.given && !d.used)
        {
            let known = lowerer.referenced.iter().map(String::as_str);
            let help = match suggest::did_you_mean(&name.text, known) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "the file neither defines nor uses a constant of this name".to_string(),
            };
            lowerer.builder.report(unused_define(&name, &help));
        }
    }
    lowerer.given_uses
}

/// A check made after typing (a range, a threshold) points at the file; when it is about a
/// command-line value, it also notes where that value was given.
pub fn note_given(diagnostics: &mut [Diagnostic], uses: &GivenUses) {
    for d in diagnostics {
        let spans = std::iter::once(&d.label).chain(&d.notes).map(|l| l.span);
        let mut found: Vec<(Span, String)> = spans
            .filter_map(|span| uses.get(&span))
            .filter(|(given, _)| {
                let given = *given;
                d.label.span != given && d.notes.iter().all(|n| n.span != given)
            })
            .cloned()
            .collect();
        found.dedup();
        for (given, name) in found {
            d.notes.push(Label {
                span: given,
                text: format!("`${name}` is given here"),
            });
        }
    }
}

/// The warning for a command-line define that nothing uses: most likely a misspelled name.
pub fn unused_define(name: &Text, help: &str) -> Diagnostic {
    Diagnostic::warning(
        Code::UnusedDefine,
        name.span,
        format!(
            "`{}` is defined on the command line but never used",
            name.text
        ),
    )
    .label("not used by the file")
    .help(help)
}

fn unknown(code: Code, word: &Text, what: &str, candidates: &[&str]) -> Diagnostic {
    Diagnostic::error(code, word.span, format!("unknown {what} `{}`", word.text))
        .label(format!("unknown {what}"))
        .help(suggest::help(&word.text, candidates))
}

impl Lowerer<'_> {
    fn report(&mut self, d: Diagnostic) {
        self.builder.report(d);
    }

    fn file(&mut self, file: FileId) {
        if let Some(d) = self.sources.encoding_error(file) {
            return self.report(d);
        }
        let source = self.sources.get(file);
        if let Some(path) = &source.path {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            self.stack.push((canonical, source.name.clone()));
        }
        // Items are lowered as they are parsed, so memory stays proportional to one item.
        let text = self.sources.get(file).text.clone();
        syntax::parse_each(&text, file, |result| match result {
            Ok(item) => self.item(file, &item),
            Err(d) => self.report(d),
        });
        if self.sources.get(file).path.is_some() {
            self.stack.pop();
        }
    }

    fn item(&mut self, file: FileId, item: &Item) {
        match &item.kind {
            ItemKind::Define { name, value } => self.define(name, value),
            ItemKind::Include { path } => self.include(file, path),
            ItemKind::Drain(v) => {
                if let Some(drain) = self.drain(v) {
                    self.builder.set_drain(None, drain);
                }
            }
            ItemKind::Timeouts(block) => self.timeouts(block),
            ItemKind::Defense(block) => self.settings(block, true),
            ItemKind::Sysctl(block) => self.settings(block, false),
            ItemKind::Sync { state, block } => self.sync(item.span, state, block),
            ItemKind::Service(decl) => self.service(decl),
            ItemKind::Unknown { word } => {
                let names = words::names(words::TOP_LEVEL);
                let d = unknown(Code::UnknownKeyword, word, "statement", &names);
                self.report(d);
            }
        }
    }

    fn define(&mut self, name: &Text, value: &Text) {
        self.referenced.insert(name.text.clone());
        if let Some(first) = self.defines.get_mut(&name.text) {
            if first.given && first.overridden.is_none() {
                // The command line's value wins; the file's is the default it replaces.
                first.overridden = Some(name.span);
                first.used = true;
                return;
            }
            let d = Diagnostic::error(
                Code::DupDefine,
                name.span,
                format!("`{}` is defined twice", name.text),
            )
            .label("defined again here")
            .note(
                first.overridden.unwrap_or(first.origin.name),
                "first defined here",
            )
            .help("give the second constant another name");
            self.report(d);
            return;
        }
        let (text, given) = match value.text.strip_prefix('$') {
            Some(other) => {
                let v = Value {
                    text: other.to_string(),
                    variable: true,
                    span: value.span,
                };
                match self.resolve(&v) {
                    Some((text, origin)) => (text, origin.and_then(|o| o.given)),
                    None => return,
                }
            }
            None => (value.text.clone(), None),
        };
        self.defines.insert(
            name.text.clone(),
            Define {
                text,
                origin: Origin {
                    name: name.span,
                    given,
                },
                given: false,
                overridden: None,
                used: false,
            },
        );
    }

    fn include(&mut self, file: FileId, path: &Text) {
        let base = self
            .sources
            .get(file)
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let full = base.join(&path.text);
        let canonical = full.canonicalize().unwrap_or_else(|_| full.clone());
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == canonical) {
            let chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(_, name)| name.clone())
                .chain(std::iter::once(full.display().to_string()))
                .collect();
            let d = Diagnostic::error(
                Code::IncludeCycle,
                path.span,
                format!("`{}` includes itself", path.text),
            )
            .label("this include closes a cycle")
            .help(format!("the chain is {}", chain.join(" → ")));
            self.report(d);
            return;
        }
        let id = match self.sources.find_path(&full) {
            Some(id) => id,
            None => match self.sources.read(&full) {
                Ok(id) => id,
                Err(e) => {
                    let d = Diagnostic::error(
                        Code::Include,
                        path.span,
                        format!("cannot read `{}`: {e}", full.display()),
                    )
                    .label("cannot read this file")
                    .help("an include path is relative to the file that includes it");
                    self.report(d);
                    return;
                }
            },
        };
        self.file(id);
    }

    /// The text a value stands for, and where the constant it came from was written.
    fn resolve(&mut self, v: &Value) -> Option<(String, Option<Origin>)> {
        if !v.variable {
            return Some((v.text.clone(), None));
        }
        self.referenced.insert(v.text.clone());
        match self.defines.get_mut(&v.text) {
            Some(d) => {
                d.used = true;
                Some((d.text.clone(), Some(d.origin)))
            }
            None => {
                let names: Vec<&str> = self.defines.keys().map(String::as_str).collect();
                let mut d = Diagnostic::error(
                    Code::UndefinedVariable,
                    v.span,
                    format!("`${}` is not defined", v.text),
                )
                .label("undefined constant");
                d = match suggest::did_you_mean(&v.text, names.iter().copied()) {
                    Some(best) => d.help(format!("did you mean `${best}`?")),
                    None => d.help(format!(
                        "define it before its first use: define {} = ...",
                        v.text
                    )),
                };
                self.report(d);
                None
            }
        }
    }

    /// Resolves and types a value. An error in a file constant's text also points at the
    /// constant; one in a command-line value is labelled there, and points at its use.
    fn typed<T>(
        &mut self,
        v: &Value,
        parse: impl FnOnce(&str, Span) -> Result<T, Diagnostic>,
    ) -> Option<Spanned<T>> {
        let (text, origin) = self.resolve(v)?;
        let given = origin.and_then(|o| o.given);
        match parse(&text, given.unwrap_or(v.span)) {
            Ok(value) => {
                if let Some(given) = given {
                    self.given_uses.insert(v.span, (given, v.text.clone()));
                }
                Some(Spanned::new(value, v.span))
            }
            Err(mut d) => {
                d = match (origin, given) {
                    (_, Some(_)) => d.note(v.span, format!("`${}` is used here", v.text)),
                    (Some(o), None) => d.note(o.name, format!("`${}` is defined here", v.text)),
                    (None, None) => d,
                };
                self.report(d);
                None
            }
        }
    }

    fn number(&mut self, v: &Value, what: &str) -> Option<Spanned<u64>> {
        self.typed(v, |t, s| values::number(t, s, what))
    }

    fn duration(&mut self, v: &Value) -> Option<Spanned<u64>> {
        self.typed(v, values::duration)
    }

    /// `off`, or the longest wait: a duration from 1 second to 31 days.
    fn drain(&mut self, v: &Value) -> Option<Spanned<Drain>> {
        let (text, _) = self.resolve(v)?;
        if text == "off" {
            return Some(Spanned::new(Drain::Off, v.span));
        }
        let secs = self.duration(v)?;
        if secs.value == 0 {
            let d = Diagnostic::error(Code::OutOfRange, v.span, "a drain of 0 seconds")
                .label("0 is no deadline")
                .help(
                    "write `drain off` to delete removed servers at once, or a duration like 10m",
                );
            self.report(d);
            return None;
        }
        let secs = self.builder.report_result(values::in_range(
            secs,
            1,
            MAX_TIMEOUT.into(),
            "the drain",
        ))?;
        Some(Spanned::new(Drain::For(secs as u32), v.span))
    }

    fn single_arg<'s>(&mut self, setting: &'s Setting, what: &str) -> Option<&'s Value> {
        match setting.args.as_slice() {
            [one] => Some(one),
            [] => {
                let d = Diagnostic::error(
                    Code::MissingValue,
                    setting.name.span,
                    format!("`{}` needs a value", setting.name.text),
                )
                .label("no value")
                .help(format!("write {what} after `{}`", setting.name.text));
                self.report(d);
                None
            }
            [_, extra, ..] => {
                let d = Diagnostic::error(
                    Code::Syntax,
                    extra.span,
                    format!("`{}` takes one value", setting.name.text),
                )
                .label("unexpected value")
                .help("remove the extra value");
                self.report(d);
                None
            }
        }
    }
}
