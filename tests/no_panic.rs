//! No input makes ipvsc panic: random bytes, random token soups and mutations of valid files
//! go through both front ends, the formatter and the diagnostic renderers.

mod common;

use ipvsc::diagnostic::{self, Style};
use proptest::prelude::*;

fn exercise(name: &str, text: &str) {
    let (sources, compiled) = common::compile_text(name, text);
    for d in &compiled.diagnostics {
        let _ = diagnostic::render(d, &sources, Style::PLAIN);
        let _ = diagnostic::render_short(d, &sources);
    }
    let _ = diagnostic::render_json(&compiled.diagnostics, &sources);
    let (tree, errors) = ipvsc::syntax::parse(text, ipvsc::source::FileId(0));
    if errors.is_empty() {
        let _ = ipvsc::syntax::format::format(text, &tree);
    }
    if !compiled.has_errors() {
        let _ = compiled.table.to_ipvs();
        let _ = ipvsc::legacy::ipvsadm_save(&compiled.table, ipvsc::legacy::SaveExtras::ALL);
    }
}

const TOKENS: &[&str] = &[
    "service",
    "tcp",
    "udp",
    "sctp",
    "fwmark",
    "ipv6",
    "{",
    "}",
    ";",
    "\n",
    "scheduler",
    "sh",
    "mh",
    "fallback",
    "port",
    "persistent",
    "netmask",
    "/64",
    "255.255.255.0",
    "pe",
    "sip",
    "one-packet",
    "drain",
    "off",
    "0",
    "15m",
    "forward",
    "dr",
    "nat",
    "tunnel",
    "gue",
    "gre",
    "ipip",
    "csum",
    "remcsum",
    "weight",
    "upper",
    "lower",
    "server",
    "10.0.0.1",
    "10.0.0.1:80",
    "10.0.0.1-10.0.0.9",
    "[2001:db8::1]:80",
    "2001:db8::2",
    "$x",
    "define",
    "x",
    "=",
    "include",
    "\"x.ipvs\"",
    "timeouts",
    "defense",
    "sysctl",
    "sync",
    "master",
    "backup",
    "interface",
    "eth0",
    "15m",
    "0",
    "65536",
    "#c",
    "\\\n",
    "-A",
    "-a",
    "-t",
    "-u",
    "-f",
    "-r",
    "-s",
    "-p",
    "-M",
    "-g",
    "-m",
    "-i",
    "-w",
    "-x",
    "-y",
    "-6",
    "--tun-type",
    "--tun-port",
    "--set",
    "--start-daemon",
    "ipvsadm",
    "-E",
    "-D",
    "-e",
    "-d",
    "-C",
    "-b",
    "sh-fallback,sh-port",
    "\u{e9}",
    "\u{1F600}",
    " ",
    "\t",
    ":",
    "[",
    "]",
    "-",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..60).prop_map(|t| t.join(" "))
}

fn mutated() -> impl Strategy<Value = String> {
    let examples: Vec<String> =
        common::files_in(&common::root().join("examples"), &["ipvs", "ipvsadm"])
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
    (
        prop::sample::select(examples),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..8),
    )
        .prop_map(|(mut text, edits)| {
            for (at, op, c) in edits {
                let mut pos = at.index(text.len() + 1);
                while !text.is_char_boundary(pos) {
                    pos -= 1;
                }
                match op {
                    0 => text.insert(pos, c),
                    1 if pos < text.len() => {
                        text.remove(pos);
                    }
                    2 => text.truncate(pos),
                    _ => {
                        let line: String = text[pos..].lines().next().unwrap_or("").to_string();
                        text.insert_str(pos, &line);
                    }
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_text_does_not_panic(text in ".{0,400}") {
        exercise("r.ipvs", &text);
    }

    #[test]
    fn token_soup_does_not_panic(text in soup()) {
        exercise("s.ipvs", &text);
        exercise("s.ipvsadm", &format!("-A {text}"));
    }

    #[test]
    fn mutated_examples_do_not_panic(text in mutated()) {
        exercise("m.ipvs", &text);
    }
}
