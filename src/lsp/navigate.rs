//! Hover text and go to definition.

use std::path::Path;

use lsp_types::{Location, Position, Range, Uri};

use super::context::{self, Block, Context};
use super::position::LineIndex;
use super::symbols;
use super::uri;
use super::words::{self, Word};
use crate::model::{Scheduler, Sysctl, SysctlKind};

/// The hover text (Markdown) for the word at byte `offset`, and the word's span.
pub fn hover(text: &str, offset: usize, path: Option<&Path>) -> Option<(usize, usize, String)> {
    let (start, end) = context::word_at(text, offset)?;
    let ctx = context::at(text, start);
    if ctx.in_text {
        return None;
    }
    let word = &text[start..end];
    let markdown = match word.strip_prefix('$') {
        Some(name) => constant(text, path, name)?,
        None => explain(word, &ctx)?,
    };
    Some((start, end, markdown))
}

fn constant(text: &str, path: Option<&Path>, name: &str) -> Option<String> {
    let define = symbols::defines(text, path)
        .into_iter()
        .find(|d| d.name == name)?;
    let origin = match &define.file {
        Some(file) => format!("\n\ndefined in {}", file.display()),
        None => String::new(),
    };
    Some(format!(
        "```ipvs\ndefine {} = {}\n```{origin}",
        define.name, define.value
    ))
}

fn keyword(w: &Word) -> String {
    format!(
        "**{}** ({})\n\n```ipvs\n{}\n```\n\n{}",
        w.word, w.kind, w.usage, w.doc
    )
}

fn scheduler(s: Scheduler) -> String {
    format!(
        "**{s}** (scheduler)\n\n{}\n\nkernel module `ip_vs_{s}`",
        s.describe()
    )
}

fn sysctl(s: Sysctl) -> String {
    format!(
        "**{s}** (sysctl)\n\n```ipvs\n{}\n```\n\n{}\n\n/proc/sys/net/ipv4/vs/{s}",
        words::sysctl_usage(s),
        s.describe()
    )
}

/// The word's meaning where it stands, or else its first meaning anywhere.
fn explain(word: &str, ctx: &Context) -> Option<String> {
    let ws = &ctx.words;
    let here: Vec<&[Word]> = match (ctx.block, ctx.first()) {
        (Block::Top, None) => vec![words::TOP_LEVEL],
        (Block::Top, Some("service")) => vec![words::SERVICE_KINDS, words::FAMILIES],
        (Block::Top, Some("sync")) => vec![words::SYNC_STATES],
        (Block::Service, Some("scheduler")) => vec![words::SCHEDULER_FLAGS],
        (Block::Service, Some("pe")) => vec![words::PERSISTENCE_ENGINES],
        (Block::Service, Some("forward" | "server")) => {
            let tunnel = ws.iter().any(|w| w == "tunnel");
            if tunnel && !words::is_server_option(word) {
                vec![words::TUNNEL_WORDS, words::FORWARD_METHODS]
            } else {
                vec![words::FORWARD_METHODS, words::SERVICE]
            }
        }
        (Block::Service, _) => vec![words::SERVICE],
        (Block::Timeouts, None) => vec![words::TIMEOUTS],
        (Block::Sync, None) => vec![words::SYNC_OPTIONS],
        (Block::Defense | Block::Sysctl, Some(name)) => {
            match name.parse::<Sysctl>().map(Sysctl::kind) {
                Ok(SysctlKind::Switch) => vec![words::SWITCHES],
                Ok(SysctlKind::Defense) => vec![words::DEFENSE_MODES],
                _ => vec![],
            }
        }
        _ => vec![],
    };
    let find = |lists: &[&[Word]]| {
        lists
            .iter()
            .flat_map(|l| l.iter())
            .find(|w| w.word == word)
            .map(keyword)
    };
    if let Some(text) = find(&here) {
        return Some(text);
    }
    if let Ok(s) = word.parse::<Scheduler>() {
        return Some(scheduler(s));
    }
    if let Ok(s) = word.parse::<Sysctl>() {
        return Some(sysctl(s));
    }
    find(words::LISTS)
}

/// Where the `$constant` at byte `offset` is defined, or the file the `include` there names.
pub fn definition(
    text: &str,
    offset: usize,
    path: Option<&Path>,
    doc_uri: &Uri,
) -> Option<Location> {
    if let Some((start, end)) = context::word_at(text, offset) {
        if let Some(name) = text[start..end].strip_prefix('$') {
            let define = symbols::defines(text, path)
                .into_iter()
                .find(|d| d.name == name)?;
            let uri = match &define.file {
                Some(file) => uri::from_path(file)?,
                None => doc_uri.clone(),
            };
            let index = LineIndex::new(&define.text);
            return Some(Location::new(uri, index.range(define.start, define.end)));
        }
    }
    let include = symbols::includes(text, path.and_then(Path::parent))
        .into_iter()
        .find(|i| i.start <= offset && offset <= i.end)?;
    if !include.path.is_file() {
        return None;
    }
    let start = Position::new(0, 0);
    Some(Location::new(
        uri::from_path(&include.path)?,
        Range::new(start, start),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hover_at(text: &str, word: &str) -> String {
        let at = text.find(word).expect("the word") + 1;
        hover(text, at, None).expect("a hover").2
    }

    #[test]
    fn explains_words_where_they_stand() {
        let text = "service tcp 10.0.0.1:80 { scheduler wlc; server 10.0.0.2 forward tunnel gue \
                    port 6080 }\ntimeouts { tcp 1m }\nsysctl { conntrack on }\n";
        assert!(hover_at(text, "wlc").contains("weighted least connection"));
        assert!(hover_at(text, "scheduler").contains("picks a real server"));
        assert!(hover_at(text, "port").contains("GUE"));
        assert!(hover_at(text, "tcp 1m").contains("established TCP connection"));
        assert!(hover_at(text, "tcp 10").contains("TCP virtual service"));
        assert!(hover_at(text, "conntrack").contains("/proc/sys/net/ipv4/vs/conntrack"));
        assert!(hover_at(text, "on }").contains("Switched on"));
        assert!(hover(text, 1000, None).is_none());
    }

    #[test]
    fn explains_every_keyword_of_the_grammar() {
        let grammar = include_str!("../../grammar/ipvs.pest");
        let keywords = grammar
            .lines()
            .filter(|l| l.starts_with("kw_"))
            .filter_map(|l| l.split('"').nth(1));
        let ctx = context::at("", 0);
        for kw in keywords {
            assert!(explain(kw, &ctx).is_some(), "no hover text for `{kw}`");
        }
    }

    #[test]
    fn finds_constants() {
        let uri: Uri = "file:///x.ipvs".parse().expect("uri");
        let text = "define vip = 10.0.0.1\nservice tcp $vip:80 {}";
        let at = text.find("$vip").expect("used") + 2;
        let location = definition(text, at, None, &uri).expect("found");
        assert_eq!(
            location.range,
            Range::new(Position::new(0, 7), Position::new(0, 10))
        );
        assert!(hover(text, at, None)
            .expect("hover")
            .2
            .contains("define vip = 10.0.0.1"));
    }
}
