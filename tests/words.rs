//! The compiler takes every word of the language's table (`src/syntax/words.rs`) where the table
//! says it stands: none is reported as unknown there, where a made-up word is.

mod common;

use ipvsc::syntax::words::{self, Word};

/// Each list of the table, with a file that puts a word where its words stand.
fn places() -> [(&'static str, &'static [Word], &'static str); 13] {
    [
        ("statement", words::TOP_LEVEL, "WORD\n"),
        (
            "service statement",
            words::SERVICE,
            "service tcp 10.0.0.1:80 {\n    WORD\n}\n",
        ),
        (
            "protocol",
            words::SERVICE_KINDS,
            "service WORD 10.0.0.1:80 {}\n",
        ),
        (
            "address family",
            words::FAMILIES,
            "service fwmark 1 WORD {}\n",
        ),
        (
            "forwarding method",
            words::FORWARD_METHODS,
            "service tcp 10.0.0.1:80 { server 10.0.0.2 forward WORD }\n",
        ),
        (
            "tunnel option",
            words::TUNNEL_WORDS,
            "service tcp 10.0.0.1:80 { server 10.0.0.2 forward tunnel WORD }\n",
        ),
        (
            "scheduler flag",
            words::SCHEDULER_FLAGS,
            "service tcp 10.0.0.1:80 { scheduler sh WORD }\n",
        ),
        (
            "persistence engine",
            words::PERSISTENCE_ENGINES,
            "service udp 10.0.0.1:5060 { persistent; pe WORD }\n",
        ),
        ("timeout", words::TIMEOUTS, "timeouts { WORD 1m }\n"),
        (
            "sync daemon state",
            words::SYNC_STATES,
            "sync WORD { interface eth0 }\n",
        ),
        (
            "sync option",
            words::SYNC_OPTIONS,
            "sync master { WORD 1 }\n",
        ),
        (
            "defense mode",
            words::DEFENSE_MODES,
            "defense { drop_entry WORD }\n",
        ),
        ("switch", words::SWITCHES, "sysctl { conntrack WORD }\n"),
    ]
}

/// The messages of the diagnostics of `text` that call `word` unknown (`ipvsc::unknown-*`).
fn unknown(text: &str, word: &str) -> Vec<String> {
    let (_, compiled) = common::compile_text("words.ipvs", text);
    compiled
        .diagnostics
        .iter()
        .filter(|d| d.code.name().starts_with("unknown-"))
        .filter(|d| d.message.contains(&format!("`{word}`")))
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn the_compiler_knows_every_word_of_the_table_where_it_stands() {
    for (what, list, template) in places() {
        let made_up = template.replace("WORD", "zzyzx");
        assert!(
            !unknown(&made_up, "zzyzx").is_empty(),
            "{what}: a made-up word is not reported as unknown in {made_up:?}"
        );
        for word in list {
            let text = template.replace("WORD", word.word);
            let unknown = unknown(&text, word.word);
            assert!(unknown.is_empty(), "{what} {}: {unknown:?}", word.word);
        }
    }
}
