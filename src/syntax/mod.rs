//! Text to syntax tree: the pest grammar in `grammar/ipvs.pest`, with recovery so that one run
//! reports every syntax error of a file, up to a cap.

pub mod ast;
mod fast;
pub mod format;
mod parser;
pub mod words;

use pest::error::{ErrorVariant, InputLocation};
use pest::Parser as _;

pub use parser::{describe, IpvsParser, Rule};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use ast::File;

/// The most syntax errors reported for one file.
pub const MAX_SYNTAX_ERRORS: usize = 20;

/// Parses a file. Parts after a syntax error are parsed again from the next top-level statement,
/// so the tree holds everything that parsed and the diagnostics every error.
pub fn parse(text: &str, file: FileId) -> (File, Vec<Diagnostic>) {
    let mut tree = File::default();
    let mut diagnostics = Vec::new();
    parse_each(text, file, |result| match result {
        Ok(item) => tree.items.push(item),
        Err(d) => diagnostics.push(d),
    });
    (tree, diagnostics)
}

/// Parses a file one top-level item at a time, handing each item, or each syntax error, to
/// `each` in file order. Memory stays proportional to one item, whatever the file's size.
/// Service blocks of the usual shape are read by a hand-written reader that builds the tree the
/// grammar would (see `fast.rs`); pest parses the rest.
pub fn parse_each(text: &str, file: FileId, mut each: impl FnMut(Result<ast::Item, Diagnostic>)) {
    let mut offset = 0;
    let mut errors = 0;
    while offset <= text.len() {
        if let Some((item, end)) = fast::chunk(text, offset, file) {
            each(Ok(item));
            offset = end;
            continue;
        }
        match pest_chunk(text, offset, file) {
            Ok(Some((item, end))) => {
                each(Ok(item));
                offset = end;
            }
            Ok(None) => break,
            Err(error) => {
                let at = offset
                    + match error.location {
                        InputLocation::Pos(p) => p,
                        InputLocation::Span((s, _)) => s,
                    };
                each(Err(syntax_error(text, file, at, &error.variant)));
                errors += 1;
                if errors >= MAX_SYNTAX_ERRORS {
                    break;
                }
                match resume_point(text, at) {
                    Some(next) => offset = next,
                    None => break,
                }
            }
        }
    }
}

/// The chunk at `offset` as pest parses it: its item and the offset after it, `None` at the end
/// of the text.
fn pest_chunk(
    text: &str,
    offset: usize,
    file: FileId,
) -> Result<Option<(ast::Item, usize)>, pest::error::Error<Rule>> {
    let mut pairs = IpvsParser::parse(Rule::chunk, &text[offset..])?;
    let chunk = pairs.next().expect("a chunk");
    let end = offset + chunk.as_span().end();
    let builder = parser::Builder { file, offset };
    Ok(chunk
        .into_inner()
        .find(|p| p.as_rule() != Rule::EOI)
        .map(|item| (builder.item(item), end)))
}

/// After a syntax error, parsing resumes at the next line that starts a top-level statement.
fn line_starts_top_level(line: &str) -> bool {
    let word: String = line
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    words::is_top_level(&word)
}

/// The start of the first line after `at` that begins a top-level statement.
fn resume_point(text: &str, at: usize) -> Option<usize> {
    let mut pos = text[at..].find('\n')? + at + 1;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        if line_starts_top_level(&text[pos..end]) {
            return Some(pos);
        }
        pos = end + 1;
    }
    None
}

/// What follows a keyword of a server line. Those rules are atomic (for speed), so pest reports
/// a bad argument as the whole statement failing at its keyword; the error is moved to the
/// argument.
fn keyword_argument(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "`weight`" | "`upper`" | "`lower`" => "a $constant or a number",
        "`port`" => "a port",
        "`forward`" => "a forwarding method (dr, nat or tunnel)",
        "`server`" => "a server address",
        _ => return None,
    })
}

fn syntax_error(text: &str, file: FileId, at: usize, variant: &ErrorVariant<Rule>) -> Diagnostic {
    let mut at = at;
    let mut found = found_at(text, at);
    let expected = match variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            let mut seen = Vec::new();
            words.retain(|w| {
                let new = !seen.contains(w);
                seen.push(*w);
                new
            });
            words
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let expected = match keyword_argument(&found) {
        Some(argument) => {
            at += found.len() - 2;
            at += text[at..].len() - text[at..].trim_start_matches([' ', '\t']).len();
            found = found_at(text, at);
            vec![argument]
        }
        _ => expected,
    };
    let len = if found.starts_with('`') {
        found.len() - 2
    } else {
        0
    };
    let span = Span::new(file, at..at + len);
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", one_of(&expected))
    };
    let label = if expected.is_empty() {
        "not understood here".to_string()
    } else {
        format!("expected {}", one_of(&expected))
    };
    let mut d = Diagnostic::error(Code::Syntax, span, message).label(label);
    if let Some(help) = syntax_help(text, at, &expected) {
        d = d.help(help);
    }
    d
}

fn syntax_help(text: &str, at: usize, expected: &[&str]) -> Option<String> {
    let found = &text[at..];
    if found.starts_with('{') && expected.contains(&"`{`") {
        return None;
    }
    if expected.iter().any(|e| e.contains("end of file")) && found.starts_with('}') {
        return Some("this `}` closes no block: remove it, or look for a missing `{` above".into());
    }
    if found.is_empty() || found.starts_with('\n') {
        let value = |e: &&str| {
            ["number", "$constant", "port", "address", "method"]
                .iter()
                .any(|v| e.contains(v))
        };
        if expected.iter().any(value) {
            return Some("give the value on the same line".into());
        }
        return None;
    }
    None
}

/// What stands at `at`, for "found ...": a token in backquotes, or "end of line"/"end of file".
fn found_at(text: &str, at: usize) -> String {
    let rest = &text[at..];
    if rest.is_empty() {
        return "end of file".into();
    }
    if rest.starts_with('\n') || rest.starts_with("\r\n") {
        return "end of line".into();
    }
    let first = rest.chars().next().expect("not empty");
    let token: String = if first.is_alphanumeric() || "$_-.:[]/".contains(first) {
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || "$_-.:[]/".contains(*c))
            .collect()
    } else {
        first.to_string()
    };
    format!("`{token}`")
}

fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The comments of a file, as byte ranges (from `#` to the end of the line).
pub fn comments(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut in_string = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\n' => in_string = false,
            b'#' if !in_string => {
                let end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                out.push(i..end);
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// A chunk's item and the offset after it; `None` on a syntax error or at the end.
#[doc(hidden)]
pub type ChunkRead = Option<(ast::Item, usize)>;

/// Parses the chunk at `offset` with pest alone and with the fast reader, for tests that compare
/// the two: pest's item (or `None` on a syntax error or at the end) and end offset, and the fast
/// reader's result.
#[doc(hidden)]
pub fn compare_chunk(text: &str, offset: usize) -> (ChunkRead, ChunkRead) {
    let file = FileId(0);
    let pest = pest_chunk(text, offset, file).ok().flatten();
    (pest, fast::chunk(text, offset, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> File {
        let (tree, diagnostics) = parse(text, FileId(0));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        tree
    }

    #[test]
    fn parses_every_statement() {
        let tree = parse_ok(
            "# farm\ndefine web = 207.175.44.110\ninclude \"x.ipvs\"\n\
             timeouts { tcp 15m; tcpfin 2m; udp 5m }\n\
             defense { drop_entry auto; secure_tcp auto; amemthresh 1024 }\n\
             sysctl { sync_threshold 3 50 }\n\
             sync master { interface eth0; syncid 1; group 224.0.0.81 }\n\
             service tcp $web:80 {\n  scheduler sh fallback port\n  persistent 5m netmask 255.255.255.0 # c\n\
               pe sip\n  one-packet\n  forward nat\n  weight 2\n  upper 10; lower 5\n\
               server 192.168.10.1:80 weight 3 forward tunnel gue port 6080 csum\n\
               server 192.168.10.2-192.168.10.5:80\n  netmask /64\n}\n\
             service fwmark 1 ipv6 { scheduler rr; server 2001:db8::1 forward dr }\n\
             service udp [2001:db8::1]:53 {}\n",
        );
        assert_eq!(tree.items.len(), 9);
        let ast::ItemKind::Service(svc) = &tree.items[6].kind else {
            panic!("not a service: {:?}", tree.items[6]);
        };
        assert_eq!(svc.stmts.len(), 11);
    }

    #[test]
    fn reports_errors_in_several_statements() {
        let (tree, diagnostics) = parse(
            "service tcp 10.0.0.1:80 {\n  weight\n}\nservice tcp 10.0.0.2:80 { server }\n\
             service tcp 10.0.0.3:80 { scheduler rr }\n",
            FileId(0),
        );
        assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
        assert_eq!(tree.items.len(), 1);
    }

    #[test]
    fn keeps_unknown_words_for_the_compiler() {
        let tree = parse_ok("service tcp 10.0.0.1:80 { schedular wlc; server 10.0.0.2 wieght 3 }");
        let ast::ItemKind::Service(svc) = &tree.items[0].kind else {
            panic!()
        };
        assert!(matches!(svc.stmts[0].kind, ast::StmtKind::Unknown { .. }));
    }

    #[test]
    fn finds_comments_outside_strings() {
        assert_eq!(comments("a # b\ninclude \"x#y\" # z"), vec![2..5, 20..23]);
    }
}
