//! Every word of the language is highlighted by every editor: the keywords of the grammar
//! (`kw_*` in grammar/ipvs.pest) and the value words the compiler knows (schedulers, forwarding
//! methods, protocols, sysctls, ...) appear in the word lists of the TextMate grammar (VS Code),
//! the Vim syntax file and the Emacs mode; and those lists hold no word the language lacks.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ipvsc::check::spec::TimeoutKind;
use ipvsc::model::{
    Checksum, DaemonState, DefenseMode, Family, Forward, Protocol, Scheduler, Sysctl, Tunnel,
};

fn read(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The keywords of the grammar: `kw_define = @{ "define" ~ !ident_char }`.
fn grammar_keywords() -> BTreeSet<String> {
    let keywords: BTreeSet<String> = read("grammar/ipvs.pest")
        .lines()
        .filter(|l| l.starts_with("kw_"))
        .map(|l| {
            l.split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("no keyword in {l:?}"))
                .to_string()
        })
        .collect();
    assert!(keywords.len() >= 20, "{keywords:?}");
    keywords
}

/// The words of the language: the grammar's keywords and every fixed value.
fn language_words() -> BTreeSet<String> {
    let mut words = grammar_keywords();
    let mut add = |list: &[&str]| words.extend(list.iter().map(|w| w.to_string()));
    add(ipvsc::syntax::TOP_LEVEL);
    add(&Scheduler::ALL.map(Scheduler::name));
    add(&Sysctl::ALL.iter().map(|s| s.name()).collect::<Vec<_>>());
    add(&Protocol::ALL.map(Protocol::name));
    add(&["fwmark"]);
    add(&[Family::Ipv4, Family::Ipv6].map(Family::name));
    let tunnels = [
        Tunnel::Ipip,
        Tunnel::Gue {
            port: 1,
            checksum: Checksum::NoCsum,
        },
        Tunnel::Gre {
            checksum: Checksum::NoCsum,
        },
    ];
    add(&[Forward::Dr, Forward::Nat, Forward::Tunnel(Tunnel::Ipip)].map(Forward::name));
    add(&tunnels.map(Tunnel::name));
    add(&[Checksum::NoCsum, Checksum::Csum, Checksum::RemCsum].map(Checksum::name));
    add(&[DaemonState::Master, DaemonState::Backup].map(DaemonState::name));
    add(&[DefenseMode::Off, DefenseMode::Auto, DefenseMode::Always].map(DefenseMode::name));
    add(&[TimeoutKind::Tcp, TimeoutKind::TcpFin, TimeoutKind::Udp].map(TimeoutKind::name));
    // Words only src/check/lower/ knows: scheduler flags (and ipvsadm's spellings of them),
    // sync options, the values of switches, and the persistence engine.
    add(&[
        "fallback",
        "port",
        "flag-1",
        "flag-2",
        "flag-3",
        "sh-fallback",
        "sh-port",
        "mh-fallback",
        "mh-port",
    ]);
    add(&["interface", "syncid", "maxlen", "group", "port", "ttl"]);
    add(&["on", "off", "sip"]);
    // And what the language server completes and explains.
    add(&ipvsc::lsp::words::all());
    words
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The word lists of the TextMate grammar: every `(?:a|b|c)` group of words in a `match`.
fn textmate_words() -> BTreeSet<String> {
    let grammar: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/ipvs.tmLanguage.json"))
            .expect("the TextMate grammar is JSON");
    let mut regexes = Vec::new();
    collect_matches(&grammar, &mut regexes);
    let mut words = BTreeSet::new();
    for regex in regexes {
        for group in regex.split("(?:").skip(1) {
            let Some(end) = group.find(')') else { continue };
            let alternatives: Vec<&str> = group[..end].split('|').collect();
            if alternatives.iter().all(|w| is_word(w)) {
                words.extend(alternatives.iter().map(|w| w.to_string()));
            }
        }
    }
    words
}

fn collect_matches(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("match" | "begin", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_matches(v, out),
                }
            }
        }
        serde_json::Value::Array(list) => list.iter().for_each(|v| collect_matches(v, out)),
        _ => {}
    }
}

/// The words of Vim's `syn keyword` lines (but the to-do markers of comments).
fn vim_words() -> BTreeSet<String> {
    read("editors/vim/syntax/ipvs.vim")
        .lines()
        .filter_map(|l| l.strip_prefix("syn keyword "))
        .filter(|l| !l.starts_with("ipvsTodo"))
        .flat_map(|l| l.split_whitespace().skip(1))
        .map(str::to_string)
        .collect()
}

/// The strings of the Emacs mode's word lists: `(defconst ipvs-mode-NAME '("a" "b" ...)`.
fn emacs_words() -> BTreeSet<String> {
    let text = read("editors/emacs/ipvs-mode.el");
    let mut words = BTreeSet::new();
    for form in text.split("(defconst ipvs-mode-").skip(1) {
        let (_name, value) = form
            .split_once(char::is_whitespace)
            .expect("a defconst has a value");
        let Some(list) = value.trim_start().strip_prefix("'(") else {
            continue;
        };
        let end = list.find(')').expect("the list ends");
        words.extend(
            list[..end]
                .split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_string),
        );
    }
    words
}

fn check(editor: &str, found: BTreeSet<String>) {
    let language = language_words();
    let missing: Vec<_> = language.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "{editor} does not highlight {missing:?}: add them to its word lists"
    );
    let unknown: Vec<_> = found.difference(&language).collect();
    assert!(
        unknown.is_empty(),
        "{editor} highlights {unknown:?}, which the language does not have"
    );
}

#[test]
fn the_textmate_grammar_highlights_every_word() {
    check(
        "editors/vscode/syntaxes/ipvs.tmLanguage.json",
        textmate_words(),
    );
}

#[test]
fn the_vim_syntax_highlights_every_word() {
    check("editors/vim/syntax/ipvs.vim", vim_words());
}

#[test]
fn the_emacs_mode_highlights_every_word() {
    check("editors/emacs/ipvs-mode.el", emacs_words());
}

#[test]
fn the_language_server_knows_every_word() {
    let known: BTreeSet<String> = ipvsc::lsp::words::all()
        .into_iter()
        .map(str::to_string)
        .collect();
    let missing: Vec<_> = language_words().difference(&known).cloned().collect();
    assert!(missing.is_empty(), "src/lsp/words.rs lacks {missing:?}");
}
