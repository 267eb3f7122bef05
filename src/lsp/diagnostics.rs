//! The compiler's diagnostics of a document, as LSP diagnostics: the same codes, spans, messages
//! and help as `ipvsc check`.

use std::path::Path;

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Uri,
};

use super::position::LineIndex;
use super::symbols;
use super::uri;
use crate::compiler::{self, InputFormat};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{FileId, SourceFile, Sources, Span};

/// Compiles a document's text (its includes are read from disk, relative to `path`) and gives
/// its diagnostics. A problem in an included file is shown on the `include` that brings it in,
/// with the exact place as related information.
pub fn check(doc_uri: &Uri, text: &str, path: Option<&Path>) -> Vec<lsp_types::Diagnostic> {
    let mut sources = Sources::new();
    let name = path.map_or_else(|| doc_uri.as_str().to_string(), |p| p.display().to_string());
    let doc = sources.add(SourceFile::new(
        name,
        path.map(Path::to_path_buf),
        text.to_string(),
    ));
    let compiled = compiler::compile(&mut sources, doc, &InputFormat::Auto.into());
    let index = LineIndex::new(text);
    let includes = include_owners(&sources, text, path);
    compiled
        .diagnostics
        .iter()
        .map(|d| convert(d, doc_uri, doc, &index, &sources, &includes))
        .collect()
}

/// The direct includes of the document, each with the first file id it brought in: the lowerer
/// reads includes depth first and numbers files as it reads them, so the files an include brings
/// in are numbered from its own file up to the next include's.
fn include_owners(sources: &Sources, text: &str, path: Option<&Path>) -> Vec<(FileId, Range)> {
    let index = LineIndex::new(text);
    let mut owners: Vec<(FileId, Range)> = Vec::new();
    for include in symbols::includes(text, path.and_then(Path::parent)) {
        let Some(id) = sources.find_path(&include.path) else {
            continue;
        };
        if owners.iter().all(|(other, _)| *other < id) {
            owners.push((id, index.range(include.start, include.end)));
        }
    }
    owners
}

fn location(sources: &Sources, doc_uri: &Uri, doc: FileId, span: Span) -> Option<Location> {
    let file = sources.get(span.file);
    let uri = if span.file == doc {
        doc_uri.clone()
    } else {
        uri::from_path(file.path.as_deref()?)?
    };
    let index = LineIndex::new(&file.text);
    Some(Location::new(uri, index.range(span.start, span.end)))
}

fn convert(
    d: &Diagnostic,
    doc_uri: &Uri,
    doc: FileId,
    index: &LineIndex,
    sources: &Sources,
    includes: &[(FileId, Range)],
) -> lsp_types::Diagnostic {
    let span = d.label.span;
    let mut message = d.message.clone();
    let mut related = Vec::new();
    let range = if span.file == doc {
        index.range(span.start, span.end)
    } else {
        // In an included file: on the include that brought that file in.
        let file = sources.get(span.file);
        let (line, col) = file.line_col(span.start);
        message = format!("{}:{line}:{col}: {message}", file.name);
        if let Some(at) = location(sources, doc_uri, doc, span) {
            let text = if d.label.text.is_empty() {
                d.message.clone()
            } else {
                d.label.text.clone()
            };
            related.push(DiagnosticRelatedInformation {
                location: at,
                message: text,
            });
        }
        includes
            .iter()
            .rev()
            .find(|(first, _)| *first <= span.file)
            .map_or_else(|| index.range(0, 0), |(_, range)| *range)
    };
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    for note in &d.notes {
        if let Some(at) = location(sources, doc_uri, doc, note.span) {
            related.push(DiagnosticRelatedInformation {
                location: at,
                message: note.text.clone(),
            });
        }
    }
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.name().to_string())),
        code_description: None,
        source: Some("ipvsc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}
