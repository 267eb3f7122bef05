//! The hand-written reader of service blocks (`src/syntax/fast.rs`) against the pest grammar:
//! whatever it accepts, pest accepts with the same tree and the same end; and it does accept the
//! usual shapes, or it would be no faster.

use std::path::{Path, PathBuf};

use ipvsc::syntax::compare_chunk;

/// Walks `text` chunk by chunk as pest parses it, checking the fast reader at every chunk.
/// Returns (chunks the fast reader took, service chunks).
fn compare_file(name: &str, text: &str) -> (usize, usize) {
    let mut offset = 0;
    let (mut fast, mut services) = (0, 0);
    while offset <= text.len() {
        let (pest, quick) = compare_chunk(text, offset);
        if let Some(q) = &quick {
            assert_eq!(
                Some(q),
                pest.as_ref(),
                "{name} at byte {offset}: the fast reader differs from pest on\n{}",
                &text[offset..q.1]
            );
            fast += 1;
        }
        match pest {
            Some((item, end)) => {
                if matches!(item.kind, ipvsc::syntax::ast::ItemKind::Service(_)) {
                    services += 1;
                }
                offset = end;
            }
            None => break,
        }
    }
    (fast, services)
}

fn ipvs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            ipvs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "ipvs") {
            out.push(path);
        }
    }
}

#[test]
fn every_bundled_file_reads_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples", "tests"] {
        ipvs_files(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 30, "only {} .ipvs files found", files.len());
    let (mut fast, mut services) = (0, 0);
    for path in &files {
        // As the compiler reads it: a byte that is not UTF-8 (a golden has one) as U+FFFD.
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let (f, s) = compare_file(&path.display().to_string(), &text);
        fast += f;
        services += s;
    }
    // The examples use comments, constants, ranges, IPv6 and tunnels; most of their services
    // are still the fast reader's.
    assert!(
        fast * 10 >= services * 7,
        "the fast reader took {fast} of {services} services"
    );
}

/// A small deterministic generator (xorshift), so that a failure names its seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const BLANKS: &[&str] = &[" ", " ", " ", "  ", "\t", "\r", " \\\n  ", "\\\r\n"];
const SEPARATORS: &[&str] = &[
    "\n",
    "\n",
    ";",
    "; ",
    "\r\n",
    " # note\n",
    "\n\n",
    "#x;y\n",
    "# é – ü\n",
];
const HOSTS: &[&str] = &[
    "10.0.0.1",
    "fe80::1",
    "2001:db8::10.0.0.1",
    "192.168.100.254",
    "[2001:db8::1]",
    "[::ffff:1.2.3.4]",
    "$vip",
    "[$v6]",
    "$_a1",
];
const NUMBERS: &[&str] = &["0", "1", "80", "65535", "007", "$w", "$port_2"];
const WORDS: &[&str] = &[
    "wlc",
    "rr",
    "mh",
    "mh-port",
    "mh-fallback",
    "sh",
    "flag_1",
    "dr",
    "nat",
    "route",
    "x",
];

/// An IPv6 address without brackets takes every colon that follows it: no port after it.
fn bare_ipv6(host: &str) -> bool {
    host.contains(':') && !host.starts_with('[')
}

fn blank(g: &mut Gen) -> &'static str {
    g.pick(BLANKS)
}

/// A valid service block in random layout, as a list of tokens.
fn service(g: &mut Gen) -> Vec<String> {
    let mut t: Vec<String> = Vec::new();
    let b = |g: &mut Gen, t: &mut Vec<String>| t.push(blank(g).to_string());
    t.push("service".into());
    b(g, &mut t);
    if g.chance(20) {
        t.push("fwmark".into());
        b(g, &mut t);
        t.push(g.pick(&["1", "42", "$mark"]).into());
        if g.chance(50) {
            b(g, &mut t);
            t.push(g.pick(&["ipv6", "ipv4"]).into());
        }
    } else {
        t.push(g.pick(&["tcp", "udp", "sctp"]).into());
        b(g, &mut t);
        let host = g.pick(HOSTS);
        t.push(host.into());
        if !bare_ipv6(host) && g.chance(90) {
            t.push(":".into());
            t.push(g.pick(NUMBERS).into());
        }
    }
    if g.chance(70) {
        b(g, &mut t);
    }
    t.push("{".into());
    let statements = g.below(14);
    for i in 0..statements {
        if i > 0 || g.chance(80) {
            t.push(g.pick(SEPARATORS).into());
        }
        if g.chance(30) {
            t.push(blank(g).into());
        }
        statement(g, &mut t);
        if g.chance(20) {
            t.push(blank(g).into());
        }
    }
    if g.chance(70) {
        t.push(g.pick(SEPARATORS).into());
    } else if g.chance(50) {
        t.push(" ".into());
    }
    t.push("}".into());
    if g.chance(30) {
        t.push(g.pick(&[" ", " # end", "\t"]).into());
    }
    t.push(g.pick(&["\n", "\n", ";", "\n\n"]).into());
    t
}

fn option(g: &mut Gen, t: &mut Vec<String>) {
    match g.below(4) {
        0 => {
            t.push("forward".into());
            t.push(blank(g).into());
            if g.chance(40) {
                t.push("tunnel".into());
                for _ in 0..g.below(4) {
                    t.push(blank(g).into());
                    if g.chance(40) {
                        t.push("port".into());
                        t.push(blank(g).into());
                        t.push(g.pick(NUMBERS).into());
                    } else {
                        t.push(g.pick(&["gue", "ipip", "gre", "remcsum", "nocsum"]).into());
                    }
                }
            } else {
                t.push(g.pick(WORDS).into());
            }
        }
        n => {
            t.push(["weight", "upper", "lower"][n - 1].into());
            t.push(blank(g).into());
            t.push(g.pick(NUMBERS).into());
        }
    }
}

fn statement(g: &mut Gen, t: &mut Vec<String>) {
    match g.below(10) {
        0..=4 => {
            t.push("server".into());
            t.push(blank(g).into());
            let mut host = g.pick(HOSTS);
            t.push(host.into());
            if g.chance(15) {
                t.push("-".into());
                host = g.pick(HOSTS);
                t.push(host.into());
            }
            if !bare_ipv6(host) && g.chance(85) {
                t.push(":".into());
                t.push(g.pick(NUMBERS).into());
            }
            for _ in 0..g.below(4) {
                t.push(blank(g).into());
                option(g, t);
            }
            if g.chance(15) {
                t.push(" # a comment\n".into());
            }
        }
        5 => {
            t.push("scheduler".into());
            t.push(blank(g).into());
            t.push(g.pick(WORDS).into());
            for _ in 0..g.below(3) {
                t.push(blank(g).into());
                t.push(g.pick(WORDS).into());
            }
            if g.chance(20) {
                t.push(g.pick(&[" ", " # why\n"]).into());
            }
        }
        6 => {
            t.push("persistent".into());
            if g.chance(70) {
                t.push(blank(g).into());
                t.push(g.pick(&["300", "5m", "1h", "$p"]).into());
            }
            if g.chance(40) {
                t.push(blank(g).into());
                t.push("netmask".into());
                t.push(blank(g).into());
                t.push(g.pick(&["255.255.255.0", "/24", "24", "/$m", "$m"]).into());
            }
            if g.chance(20) {
                t.push(" ".into());
            }
        }
        7 => {
            if g.chance(50) {
                t.push("netmask".into());
                t.push(blank(g).into());
                t.push(g.pick(&["255.255.0.0", "/64", "$m"]).into());
            } else if g.chance(50) {
                t.push("pe".into());
                t.push(blank(g).into());
                t.push("sip".into());
            } else {
                t.push("one-packet".into());
            }
        }
        _ => option(g, t),
    }
}

/// Tokens a mutation may insert: pieces of the language, and things it does not allow.
const NOISE: &[&str] = &[
    " ",
    "\n",
    ";",
    "{",
    "}",
    "[",
    "]",
    ":",
    "-",
    "/",
    ".",
    "$",
    "#",
    "\\",
    "\\\n",
    "server",
    "weight",
    "port",
    "tunnel",
    "forward",
    "scheduler",
    "netmask",
    "persistent",
    "pe",
    "5x",
    "servers",
    "weight-x",
    "1.2.3",
    "1.2.3.4.5",
    "::",
    "é",
    "service",
    "fwmark",
    "define",
    "$1",
    "0x10",
    "\t",
    "}}",
    "{{",
];

fn mutate(g: &mut Gen, tokens: &mut Vec<String>) {
    for _ in 0..1 + g.below(3) {
        let at = g.below(tokens.len() + 1);
        match g.below(3) {
            0 if at < tokens.len() => {
                tokens.remove(at);
            }
            1 if at < tokens.len() => tokens[at] = g.pick(NOISE).into(),
            _ => tokens.insert(at, g.pick(NOISE).into()),
        }
    }
}

#[test]
fn generated_services_read_the_same_and_the_fast_reader_takes_them() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for case in 0..20_000 {
        let mut text = String::new();
        if g.chance(30) {
            text.push_str(g.pick(&["\n", "# header\n", " ;\n", "\t# x\n\n"]));
        }
        text.push_str(&service(&mut g).concat());
        if g.chance(30) {
            text.push_str(&service(&mut g).concat());
        }
        if g.chance(20) {
            // The last item may end at the end of the file.
            text.truncate(text.trim_end_matches(['\n', ';']).len());
        }
        let (pest, quick) = compare_chunk(&text, 0);
        assert!(
            pest.is_some(),
            "case {case}: pest rejects a valid block:\n{text:?}"
        );
        assert!(
            quick.is_some(),
            "case {case}: the fast reader gives up on:\n{text}"
        );
        assert_eq!(quick, pest, "case {case}:\n{text}");
    }
}

#[test]
fn broken_services_are_never_read_differently() {
    let mut g = Gen(0x2545_f491_4f6c_dd1d);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..40_000 {
        let mut tokens = service(&mut g);
        mutate(&mut g, &mut tokens);
        let text = tokens.concat();
        let (pest, quick) = compare_chunk(&text, 0);
        if let Some(q) = &quick {
            assert_eq!(Some(q), pest.as_ref(), "case {case}:\n{text:?}");
            accepted += 1;
        }
        if pest.is_none() {
            rejected += 1;
        }
    }
    // Both kinds of case occur, or the test proves little.
    assert!(
        accepted > 2_000 && rejected > 5_000,
        "{accepted} accepted, {rejected} rejected by pest"
    );
}
