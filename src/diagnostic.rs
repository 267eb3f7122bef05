//! Errors and warnings about input, with the text they point at, rendered with miette.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use crate::source::{Sources, Span};

macro_rules! codes {
    ($($variant:ident $code:literal,)*) => {
        /// A diagnostic's stable code, printed as `ipvsc::CODE`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }
        }
    };
}

codes! {
    Syntax "syntax",
    UnknownKeyword "unknown-keyword",
    UnknownScheduler "unknown-scheduler",
    UnknownProtocol "unknown-protocol",
    UnknownValue "unknown-value",
    UnknownSysctl "unknown-sysctl",
    UndefinedVariable "undefined-variable",
    DupDefine "dup-define",
    UnusedDefine "unused-define",
    Include "include",
    IncludeCycle "include-cycle",
    BadAddress "bad-address",
    BadNumber "bad-number",
    OutOfRange "out-of-range",
    BadDuration "bad-duration",
    AddressRange "address-range",
    FamilyMismatch "family-mismatch",
    DupService "dup-service",
    DupServer "dup-server",
    DupSetting "dup-setting",
    PortZero "port-zero",
    OnePacket "one-packet",
    SchedFlag "sched-flag",
    Threshold "threshold",
    TunnelOption "tunnel-option",
    NotUnicast "not-unicast",
    DaemonFamily "daemon-family",
    MissingValue "missing-value",
    NoSuchService "no-such-service",
    NoSuchServer "no-such-server",
    LegacySyntax "legacy-syntax",
    DrPort "dr-port",
    NetmaskWithoutPersistence "netmask-without-persistence",
    PeWithoutPersistence "pe-without-persistence",
    TooManyErrors "too-many-errors",
    Refused "refused",
    DrainTemplate "drain-template",
    DrainConnReuse "drain-conn-reuse",
    DrainNodest "drain-nodest",
    AddressForm "address-form",
    UnknownPortName "unknown-port-name",
    NoSuchDaemon "no-such-daemon",
    NotUtf8 "not-utf8",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ipvsc::{}", self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A span and what to say under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One error or warning about the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub label: Label,
    /// More places that explain it, such as the first definition of a duplicate.
    pub notes: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            label: Label {
                span,
                text: String::new(),
            },
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.label.text = text.into();
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.notes.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A diagnostic bound to its source text, in the form miette renders.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedSource<std::sync::Arc<str>>,
    labels: Vec<&'a Label>,
    related: Vec<Report<'a>>,
}

impl<'a> Report<'a> {
    fn new(diagnostic: &'a Diagnostic, sources: &Sources) -> Report<'a> {
        let file = diagnostic.label.span.file;
        let (here, elsewhere): (Vec<&Label>, Vec<&Label>) =
            diagnostic.notes.iter().partition(|n| n.span.file == file);
        let mut labels = vec![&diagnostic.label];
        labels.extend(here);
        let related = elsewhere
            .into_iter()
            .map(|note| Report {
                diagnostic,
                source: named(sources, note.span),
                labels: vec![note],
                related: Vec::new(),
            })
            .collect();
        Report {
            diagnostic,
            source: named(sources, diagnostic.label.span),
            labels,
            related,
        }
    }

    fn is_note(&self) -> bool {
        !std::ptr::eq(self.labels[0], &self.diagnostic.label)
    }
}

fn named(sources: &Sources, span: Span) -> NamedSource<std::sync::Arc<str>> {
    let file = sources.get(span.file);
    NamedSource::new(file.name.clone(), file.text.clone())
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.is_note() {
            f.write_str(&self.labels[0].text)
        } else {
            f.write_str(&self.diagnostic.message)
        }
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.is_note()).then(|| Box::new(self.diagnostic.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match (self.is_note(), self.diagnostic.severity) {
            (true, _) => miette::Severity::Advice,
            (false, Severity::Warning) => miette::Severity::Warning,
            (false, Severity::Error) => miette::Severity::Error,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.is_note() {
            return None;
        }
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().enumerate().map(|(i, l)| {
            let span = SourceSpan::from(l.span.start..l.span.end);
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        })))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Style {
    /// What tests compare: no color, 100 columns.
    pub const PLAIN: Style = Style {
        color: false,
        width: 100,
    };
}

/// Renders one diagnostic as miette draws it: `file:line:col`, the text, labels and help.
pub fn render(diagnostic: &Diagnostic, sources: &Sources, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let report = Report::new(diagnostic, sources);
    let mut out = String::new();
    handler
        .render_report(&mut out, &report)
        .expect("rendering into a String cannot fail");
    out
}

/// `FILE:LINE:COL: error[CODE]: MESSAGE`, one line each, for editors' error formats.
pub fn render_short(diagnostic: &Diagnostic, sources: &Sources) -> String {
    let span = diagnostic.label.span;
    let file = sources.get(span.file);
    let (line, col) = file.line_col(span.start);
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "{}:{line}:{col}: {severity}[{}]: {}",
        file.name,
        diagnostic.code.name(),
        diagnostic.message
    )
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    start: usize,
    end: usize,
    text: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: String,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    label: JsonLabel<'a>,
    help: Option<&'a str>,
    notes: Vec<JsonLabel<'a>>,
}

fn json_label<'a>(label: &'a Label, sources: &'a Sources) -> JsonLabel<'a> {
    let file = sources.get(label.span.file);
    let (line, column) = file.line_col(label.span.start);
    let (end_line, end_column) = file.line_col(label.span.end);
    JsonLabel {
        file: &file.name,
        line,
        column,
        end_line,
        end_column,
        start: label.span.start,
        end: label.span.end,
        text: &label.text,
    }
}

/// The diagnostics as a JSON array, for CI and editors.
/// `{"format_version": 1, "diagnostics": [...]}`: diagnostics for tools.
pub fn render_json(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let list: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| JsonDiagnostic {
            code: d.code.to_string(),
            severity: d.severity,
            message: &d.message,
            label: json_label(&d.label, sources),
            help: d.help.as_deref(),
            notes: d.notes.iter().map(|n| json_label(n, sources)).collect(),
        })
        .collect();
    #[derive(Serialize)]
    struct Document<'a> {
        format_version: u32,
        diagnostics: Vec<JsonDiagnostic<'a>>,
    }
    let doc = Document {
        format_version: crate::wire::DIAGNOSTICS_VERSION,
        diagnostics: list,
    };
    serde_json::to_string_pretty(&doc).expect("diagnostics serialize")
}
