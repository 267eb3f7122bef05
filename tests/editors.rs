//! Every word of the language is highlighted by every editor: the words of the language's table
//! (`src/syntax/words.rs`: keywords, forwarding methods, protocols, ...) and the schedulers and
//! sysctls the model names appear in the word lists of the TextMate grammar (VS Code), the Vim
//! syntax file and the Emacs mode; and those lists hold no word the language lacks.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ipvsc::model::{Scheduler, Sysctl};
use ipvsc::syntax::words;

fn read(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The words of the language: the table's, and the names of the schedulers and sysctls.
fn language_words() -> BTreeSet<String> {
    let mut words: BTreeSet<String> = words::every().map(|w| w.word.to_string()).collect();
    words.extend(Scheduler::ALL.map(|s| s.name().to_string()));
    words.extend(Sysctl::ALL.iter().map(|s| s.name().to_string()));
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
