//! An endpoint: an address or a range of them, and a port, with constants replaced by their
//! text and parsed again.

use std::net::IpAddr;
use std::ops::Range;

use pest::Parser as _;

use super::{Lowerer, Origin};
use crate::check::values;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::{IpvsParser, Rule};

/// One part of an endpoint whose constants were replaced, and the note on where it came from.
struct Part {
    value: Value,
    /// Where the part is in the file.
    at: Span,
    note: Option<(Span, String)>,
}

impl Lowerer<'_> {
    /// The addresses (one, or a range's) and the port of an endpoint.
    pub(super) fn endpoint(&mut self, e: &Endpoint) -> Option<(Vec<IpAddr>, Option<Spanned<u16>>)> {
        let uses_constant = e.host.variable
            || e.range_end.as_ref().is_some_and(|v| v.variable)
            || e.port.as_ref().is_some_and(|v| v.variable);
        let (host, end, port) = if uses_constant {
            self.substituted_endpoint(e)?
        } else {
            let part = |value: &Value| Part {
                value: value.clone(),
                at: value.span,
                note: None,
            };
            (
                part(&e.host),
                e.range_end.as_ref().map(part),
                e.port.as_ref().map(part),
            )
        };
        let noted = |d: Diagnostic, part: &Part| match &part.note {
            Some((span, text)) => d.note(*span, text),
            None => d,
        };
        let first = match values::address(&host.value.text, host.value.span) {
            Ok(a) => a,
            Err(d) => {
                self.report(noted(d, &host));
                return None;
            }
        };
        let addrs = match end {
            Some(end) => {
                let last = match values::address(&end.value.text, end.value.span) {
                    Ok(a) => a,
                    Err(d) => {
                        self.report(noted(d, &end));
                        return None;
                    }
                };
                match values::range(first, last, e.span) {
                    Ok(list) => list,
                    Err(d) => {
                        self.report(noted(d, &end));
                        return None;
                    }
                }
            }
            None => vec![first],
        };
        let port = match port {
            Some(p) => match values::port(&p.value.text, p.value.span) {
                Ok(v) => Some(Spanned::new(v, p.at)),
                Err(d) => {
                    self.report(noted(d, &p));
                    return None;
                }
            },
            None => None,
        };
        Some((addrs, port))
    }

    /// An endpoint with its constants replaced by their text and parsed again. A part that
    /// came from a command-line value is labelled there; otherwise it is the endpoint, with a
    /// note at the constant it came from.
    fn substituted_endpoint(&mut self, e: &Endpoint) -> Option<(Part, Option<Part>, Option<Part>)> {
        // Each constant's text in the substituted endpoint, and the constant.
        let mut pieces: Vec<(Range<usize>, &Value, Origin)> = Vec::new();
        let mut text = String::new();
        self.substitute(&mut text, &mut pieces, &e.host, true)?;
        if let Some(end) = &e.range_end {
            text.push('-');
            self.substitute(&mut text, &mut pieces, end, true)?;
        }
        if let Some(port) = &e.port {
            text.push(':');
            self.substitute(&mut text, &mut pieces, port, false)?;
        }
        let first_note = pieces
            .first()
            .map(|(_, _, o)| (o.name, "the constant is defined here".to_string()));
        let part = |pair: pest::iterators::Pair<Rule>| {
            let (range, str) = (pair.as_span().start()..pair.as_span().end(), pair.as_str());
            let piece = pieces
                .iter()
                .find(|(r, _, _)| r.start <= range.start && range.end <= r.end);
            let (span, note) = match piece {
                Some((r, v, Origin { given: Some(g), .. })) => (
                    Span::new(
                        g.file,
                        g.start + range.start - r.start..g.start + range.end - r.start,
                    ),
                    Some((v.span, format!("`${}` is used here", v.text))),
                ),
                Some((_, _, o)) => (
                    e.span,
                    Some((o.name, "the constant is defined here".to_string())),
                ),
                None => (e.span, first_note.clone()),
            };
            Part {
                value: Value {
                    text: str.to_string(),
                    variable: false,
                    span,
                },
                at: e.span,
                note,
            }
        };
        let Ok(mut pairs) = IpvsParser::parse(Rule::server_addr_only, &text) else {
            let mut d = Diagnostic::error(
                Code::BadAddress,
                e.span,
                format!("`{text}` is not an address"),
            )
            .label("not an address")
            .help("a constant used as an address holds an address, a range, or ADDRESS:PORT");
            for (_, v, origin) in &pieces {
                d = match origin.given {
                    Some(g) => d.note(g, format!("`${}` holds the value given here", v.text)),
                    None => d.note(origin.name, "the constant is defined here"),
                };
            }
            self.report(d);
            return None;
        };
        let addr = pairs
            .next()
            .and_then(|p| p.into_inner().next())
            .expect("server_addr_only holds a server_addr");
        let (mut host, mut end, mut port) = (None, None, None);
        for pair in addr.into_inner() {
            match pair.as_rule() {
                Rule::host => host = Some(part(innermost(pair))),
                Rule::range_end => {
                    let host = pair.into_inner().next().expect("a range end holds a host");
                    end = Some(part(innermost(host)));
                }
                _ => port = Some(part(innermost(pair))),
            }
        }
        Some((host.expect("a host"), end, port))
    }

    /// Appends the text of `v` to an endpoint's, noting where a constant's text lies in it.
    fn substitute<'v>(
        &mut self,
        text: &mut String,
        pieces: &mut Vec<(Range<usize>, &'v Value, Origin)>,
        v: &'v Value,
        bracket: bool,
    ) -> Option<()> {
        let (t, origin) = self.resolve(v)?;
        let written = if bracket { bracketed(&t, v) } else { t.clone() };
        let start = text.len() + (written.len() - t.len()) / 2;
        if let Some(origin) = origin {
            pieces.push((start..start + t.len(), v, origin));
        }
        text.push_str(&written);
        Some(())
    }
}

/// The address inside a host's brackets, or the number of a port.
fn innermost(pair: pest::iterators::Pair<Rule>) -> pest::iterators::Pair<Rule> {
    pair.clone().into_inner().next().unwrap_or(pair)
}

fn bracketed(text: &str, v: &Value) -> String {
    if v.variable && text.contains(':') && !text.contains('[') && !text.contains('.') {
        // A bare IPv6 constant before a port needs its brackets back.
        format!("[{text}]")
    } else if !v.variable && text.contains(':') {
        format!("[{text}]")
    } else {
        text.to_string()
    }
}
