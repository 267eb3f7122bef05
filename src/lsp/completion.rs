//! Completion: the words that may stand where the cursor is, and the constants where a value
//! goes.

use std::path::Path;

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, MarkupContent,
    MarkupKind, TextEdit,
};

use super::context::{self, Block, Context};
use super::position::LineIndex;
use super::symbols;
use super::words::{self, Word};
use crate::model::{Sysctl, SysctlKind};

/// One word to offer.
struct Offer {
    label: String,
    kind: CompletionItemKind,
    detail: String,
    doc: String,
}

impl Offer {
    fn word(w: &Word, kind: CompletionItemKind) -> Offer {
        Offer {
            label: w.word.to_string(),
            kind,
            detail: w.kind.to_string(),
            doc: format!("`{}`\n\n{}", w.usage, w.doc),
        }
    }
}

/// What may stand at a place: words, and whether a value (so a constant) may too.
#[derive(Default)]
struct Offers {
    words: Vec<Offer>,
    values: bool,
}

impl Offers {
    fn values() -> Offers {
        Offers {
            words: Vec::new(),
            values: true,
        }
    }

    fn list(list: &[Word], kind: CompletionItemKind) -> Offers {
        Offers {
            words: list.iter().map(|w| Offer::word(w, kind)).collect(),
            values: false,
        }
    }
}

const KEYWORD: CompletionItemKind = CompletionItemKind::KEYWORD;
const VALUE: CompletionItemKind = CompletionItemKind::ENUM_MEMBER;

/// The completion items at byte `offset` of a document.
pub fn complete(text: &str, offset: usize, path: Option<&Path>) -> Vec<CompletionItem> {
    let ctx = context::at(text, offset);
    if ctx.in_text {
        return Vec::new();
    }
    let index = LineIndex::new(text);
    let offset = ctx.prefix_start + ctx.prefix.len();
    let mut items = Vec::new();
    // A `$` in the word being typed: only constants, replacing from the `$`.
    let dollar = ctx.prefix.rfind('$').map(|i| ctx.prefix_start + i);
    let offers = if dollar.is_some() {
        Offers::values()
    } else {
        offers(&ctx)
    };
    let range = index.range(ctx.prefix_start, offset);
    for offer in offers.words {
        items.push(item(offer, range, items.len()));
    }
    if offers.values {
        let range = index.range(dollar.unwrap_or(ctx.prefix_start), offset);
        let mut seen = Vec::new();
        for define in symbols::defines(text, path) {
            if seen.contains(&define.name) {
                continue;
            }
            seen.push(define.name.clone());
            let origin = match &define.file {
                Some(file) => format!("\n\nfrom {}", file.display()),
                None => String::new(),
            };
            let offer = Offer {
                label: format!("${}", define.name),
                kind: CompletionItemKind::CONSTANT,
                detail: define.value.clone(),
                doc: format!(
                    "```ipvs\ndefine {} = {}\n```{origin}",
                    define.name, define.value
                ),
            };
            items.push(item(offer, range, items.len()));
        }
    }
    items
}

fn item(offer: Offer, range: lsp_types::Range, rank: usize) -> CompletionItem {
    CompletionItem {
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
            range,
            offer.label.clone(),
        ))),
        filter_text: Some(offer.label.clone()),
        sort_text: Some(format!("{rank:04}")),
        kind: Some(offer.kind),
        detail: Some(offer.detail),
        documentation: Some(Documentation::MarkupContent(MarkupContent {
            kind: MarkupKind::Markdown,
            value: offer.doc,
        })),
        label: offer.label,
        ..CompletionItem::default()
    }
}

fn offers(ctx: &Context) -> Offers {
    let ws = &ctx.words;
    let n = ws.len();
    match ctx.block {
        Block::Top => match ctx.first() {
            None => Offers::list(words::TOP_LEVEL, KEYWORD),
            Some("service") if n == 1 => Offers::list(words::SERVICE_KINDS, KEYWORD),
            Some("service") if n == 3 && ws[1] == "fwmark" => Offers::list(words::FAMILIES, VALUE),
            Some("service") if n == 2 => Offers::values(),
            Some("sync") if n == 1 => Offers::list(words::SYNC_STATES, VALUE),
            Some("define") if n >= 2 => Offers::values(),
            _ => Offers::default(),
        },
        Block::Service => service(ctx),
        Block::Timeouts => match n {
            0 => Offers::list(words::TIMEOUTS, KEYWORD),
            _ => Offers::values(),
        },
        Block::Defense | Block::Sysctl => {
            if n == 0 {
                let defense = ctx.block == Block::Defense;
                return Offers {
                    words: words::sysctls(defense).map(sysctl_offer).collect(),
                    values: false,
                };
            }
            let kind = ws[0].parse::<Sysctl>().ok().map(Sysctl::kind);
            match (n, kind) {
                (1, Some(SysctlKind::Switch)) => Offers::list(words::SWITCHES, VALUE),
                (1, Some(SysctlKind::Defense)) => Offers::list(words::DEFENSE_MODES, VALUE),
                _ => Offers::values(),
            }
        }
        Block::Sync => match n {
            0 => Offers::list(words::SYNC_OPTIONS, KEYWORD),
            _ => Offers::values(),
        },
        Block::Unknown => Offers::default(),
    }
}

fn sysctl_offer(sysctl: Sysctl) -> Offer {
    Offer {
        label: sysctl.name().to_string(),
        kind: CompletionItemKind::PROPERTY,
        detail: sysctl.describe().to_string(),
        doc: format!(
            "`{}`\n\n{}\n\n/proc/sys/net/ipv4/vs/{sysctl}",
            words::sysctl_usage(sysctl),
            sysctl.describe()
        ),
    }
}

fn service(ctx: &Context) -> Offers {
    let ws = &ctx.words;
    match ctx.first() {
        None => Offers::list(words::SERVICE, KEYWORD),
        Some("scheduler") if ws.len() == 1 => Offers {
            words: words::schedulers()
                .map(|(name, doc)| Offer {
                    label: name.to_string(),
                    kind: VALUE,
                    detail: doc.to_string(),
                    doc: format!("`scheduler {name}`\n\n{doc}\n\nkernel module `ip_vs_{name}`"),
                })
                .collect(),
            values: false,
        },
        Some("scheduler") => Offers::list(&words::SCHEDULER_FLAGS[..words::OFFERED_FLAGS], VALUE),
        Some("pe") if ws.len() == 1 => Offers::list(words::PERSISTENCE_ENGINES, VALUE),
        Some("persistent") if ctx.last() == Some("netmask") => Offers::values(),
        Some("persistent") if !ws.iter().any(|w| w == "netmask") => Offers {
            words: words::SERVICE
                .iter()
                .filter(|w| w.word == "netmask")
                .map(|w| Offer::word(w, KEYWORD))
                .collect(),
            values: true,
        },
        Some("netmask" | "weight" | "upper" | "lower") if ws.len() == 1 => Offers::values(),
        Some("forward" | "server") => server_line(ctx),
        _ => Offers::default(),
    }
}

/// After `server ADDRESS` or `forward`: options, methods, tunnel words, or a value.
fn server_line(ctx: &Context) -> Offers {
    let ws = &ctx.words;
    let server = ctx.first() == Some("server");
    if ws.len() == 1 && server {
        return Offers::values();
    }
    let last = ctx.last().unwrap_or_default();
    if matches!(last, "weight" | "upper" | "lower") {
        return Offers::values();
    }
    if last == "forward" {
        return Offers::list(words::FORWARD_METHODS, VALUE);
    }
    let in_tunnel = ws.iter().rposition(|w| w == "forward").is_some_and(|f| {
        ws.get(f + 1).is_some_and(|m| m == "tunnel")
            && !ws[f + 1..].iter().any(|w| words::is_server_option(w))
    });
    if in_tunnel && last == "port" {
        return Offers::values();
    }
    let mut offers = Offers::default();
    if in_tunnel {
        offers.words.extend(
            words::TUNNEL_WORDS
                .iter()
                .filter(|w| !ws.iter().any(|u| u == w.word))
                .map(|w| Offer::word(w, VALUE)),
        );
    }
    if server {
        offers.words.extend(
            words::SERVICE
                .iter()
                .filter(|w| w.kind == words::Kind::ServerOption)
                .filter(|w| !ws.iter().any(|u| u == w.word))
                .map(|w| Offer::word(w, KEYWORD)),
        );
    }
    offers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(marked: &str) -> Vec<String> {
        let at = marked.find('|').expect("a cursor");
        let text = marked.replacen('|', "", 1);
        complete(&text, at, None)
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn offers_what_fits_the_place() {
        let top = labels("|");
        assert!(top.contains(&"service".to_string()) && !top.contains(&"scheduler".to_string()));
        let inside = labels("service tcp 10.0.0.1:80 {\n    sch|\n}");
        assert!(inside.contains(&"scheduler".to_string()));
        assert!(!inside.contains(&"service".to_string()));
        assert!(labels("service tcp 10.0.0.1:80 { scheduler |").contains(&"wlc".to_string()));
        assert_eq!(labels("service |"), ["tcp", "udp", "sctp", "fwmark"]);
        assert_eq!(
            labels("service fwmark 1 { server 10.0.0.1 forward |"),
            ["dr", "nat", "tunnel"]
        );
        let server = labels("service fwmark 1 { server 10.0.0.1 weight 2 |");
        assert_eq!(server, ["forward", "upper", "lower"]);
        let tunnel = labels("service fwmark 1 { server 10.0.0.1 forward tunnel gue |");
        assert!(tunnel.contains(&"remcsum".to_string()) && tunnel.contains(&"weight".to_string()));
        assert!(labels("sysctl { |").contains(&"sync_threshold".to_string()));
        assert!(!labels("defense { |").contains(&"sync_threshold".to_string()));
        assert_eq!(labels("defense { drop_entry |"), ["off", "auto", "always"]);
        assert_eq!(labels("sysctl { conntrack |"), ["on", "off"]);
        assert!(labels("service tcp 10.0.0.1:80 { # |").is_empty());
    }

    #[test]
    fn offers_constants_where_values_go() {
        let text = "define vip = 10.0.0.1\ndefine http = 80\nservice tcp $vip:$h";
        let items = complete(text, text.len(), None);
        let names: Vec<_> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(names, ["$vip", "$http"]);
        let Some(CompletionTextEdit::Edit(edit)) = &items[1].text_edit else {
            panic!("an edit");
        };
        assert_eq!(
            (edit.range.start.character, edit.range.end.character),
            (17, 19)
        );
        let weights = labels("define w = 3\nservice tcp 10.0.0.1:80 { weight |");
        assert_eq!(weights, ["$w"]);
    }
}
