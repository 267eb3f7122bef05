//! The words of the language, in one table: grouped by where they may stand, each with its kind
//! and a short explanation for hover text and completion. The fast reader, the lowering, the
//! language server and the editors' test take their words from here; the pest grammar
//! (`grammar/ipvs.pest`) stays the definition of the syntax, and a test below holds the table's
//! keywords to its `kw_*` rules.
//!
//! The schedulers and sysctls are not listed here: their names come from the model's tables
//! ([`Scheduler::ALL`](crate::model::Scheduler::ALL), [`Sysctl::ALL`](crate::model::Sysctl::ALL)),
//! which explain them too.

use std::fmt;

/// A word and what it means where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    pub word: &'static str,
    /// What kind of word it is, shown beside it in a completion list.
    pub kind: Kind,
    /// Whether the grammar has a rule for the word (`kw_*`): it is parsed as itself, where other
    /// words are parsed as any `word` and typed by the compiler.
    pub keyword: bool,
    /// One or two sentences; the first line of the hover text.
    pub doc: &'static str,
    /// How it is written, for the hover text.
    pub usage: &'static str,
}

/// What kind of word a [`Word`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Statement,
    ServiceStatement,
    ServerOption,
    Protocol,
    ServiceKind,
    Family,
    ForwardMethod,
    TunnelType,
    TunnelOption,
    TunnelChecksum,
    SchedulerFlag,
    PersistenceEngine,
    Timeout,
    SyncState,
    SyncOption,
    DefenseMode,
    Switch,
}

impl Kind {
    /// The kind in words, as a completion list shows it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Statement => "statement",
            Kind::ServiceStatement => "service statement",
            Kind::ServerOption => "server option",
            Kind::Protocol => "protocol",
            Kind::ServiceKind => "service kind",
            Kind::Family => "address family",
            Kind::ForwardMethod => "forwarding method",
            Kind::TunnelType => "tunnel type",
            Kind::TunnelOption => "tunnel option",
            Kind::TunnelChecksum => "tunnel checksum",
            Kind::SchedulerFlag => "scheduler flag",
            Kind::PersistenceEngine => "persistence engine",
            Kind::Timeout => "timeout",
            Kind::SyncState => "sync daemon state",
            Kind::SyncOption => "sync option",
            Kind::DefenseMode => "defense mode",
            Kind::Switch => "switch",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A word the compiler types (a value, or a setting's name).
const fn w(word: &'static str, kind: Kind, usage: &'static str, doc: &'static str) -> Word {
    Word {
        word,
        kind,
        keyword: false,
        doc,
        usage,
    }
}

/// A word the grammar parses as itself.
const fn kw(word: &'static str, kind: Kind, usage: &'static str, doc: &'static str) -> Word {
    Word {
        keyword: true,
        ..w(word, kind, usage, doc)
    }
}

/// The statements of a file.
pub const TOP_LEVEL: &[Word] = &[
    kw(
        "define",
        Kind::Statement,
        "define NAME = VALUE",
        "Names a value (an address, address and port, range, number, duration or word) so that \
         `$NAME` can stand for it anywhere after this line, and in files included after it.",
    ),
    kw(
        "include",
        Kind::Statement,
        "include \"PATH\"",
        "Reads another file at this point, as if its text were written here. The path is \
         relative to this file; a file may not include itself, directly or through others.",
    ),
    kw(
        "drain",
        Kind::Statement,
        "drain DURATION | off",
        "How a real server that leaves the file goes, for every service that does not say: its \
         weight becomes 0 at once and it is deleted when its connections are gone or after \
         DURATION, whichever comes first. `off` deletes it at once. Default: 15m for TCP, SCTP \
         and firewall marks, off for UDP.",
    ),
    kw(
        "timeouts",
        Kind::Statement,
        "timeouts { tcp D; tcpfin D; udp D }",
        "The kernel's connection timeouts, as `ipvsadm --set` sets them. A timeout left out \
         keeps the kernel's value.",
    ),
    kw(
        "defense",
        Kind::Statement,
        "defense { drop_entry auto; amemthresh 1024 }",
        "The kernel's defenses against connection floods (`drop_entry`, `drop_packet`, \
         `secure_tcp`) and the memory threshold they act on.",
    ),
    kw(
        "sysctl",
        Kind::Statement,
        "sysctl { NAME VALUE; ... }",
        "Other IPVS settings of /proc/sys/net/ipv4/vs/: switches take on or off, the rest \
         numbers.",
    ),
    kw(
        "sync",
        Kind::Statement,
        "sync master|backup { interface NAME; ... }",
        "A connection synchronisation daemon (`ipvsadm --start-daemon`), which copies \
         connection state to a standby director (master) or receives it (backup).",
    ),
    kw(
        "service",
        Kind::Statement,
        "service tcp|udp|sctp ADDRESS:PORT { ... }  or  service fwmark MARK [ipv6] { ... }",
        "A virtual service (`ipvsadm -A`): the address clients connect to, or a firewall mark, \
         with its scheduler and its real servers inside the braces.",
    ),
];

/// The statements inside a `service { }` block, with the options of a `server` line (which a
/// service may set for all its servers).
pub const SERVICE: &[Word] = &[
    kw(
        "scheduler",
        Kind::ServiceStatement,
        "scheduler NAME [FLAG...]",
        "How the service picks a real server for a new connection (`ipvsadm -s`); `wlc` when \
         left out. Flags (`-b`): `fallback` and `port` for sh and mh, `flag-1` to `flag-3` for \
         any.",
    ),
    kw(
        "persistent",
        Kind::ServiceStatement,
        "persistent [DURATION] [netmask MASK]",
        "Sends a client back to the same real server for a while after its last connection \
         (`ipvsadm -p`); 6m when no duration is given.",
    ),
    kw(
        "netmask",
        Kind::ServiceStatement,
        "netmask 255.255.255.0 | /24",
        "How coarsely clients are grouped for persistence (`ipvsadm -M`): clients in the same \
         network go to the same server.",
    ),
    kw(
        "pe",
        Kind::ServiceStatement,
        "pe sip",
        "A persistence engine (`ipvsadm --pe`): `sip` keeps the calls of one SIP Call-ID on \
         one server. Needs `persistent`.",
    ),
    kw(
        "one-packet",
        Kind::ServiceStatement,
        "one-packet",
        "Schedules every UDP datagram on its own instead of keeping a connection \
         (`ipvsadm -o`); UDP and firewall-mark services only.",
    ),
    kw(
        "forward",
        Kind::ServerOption,
        "forward dr | nat | tunnel [ipip | gue port N | gre] [nocsum | csum | remcsum]",
        "How packets reach the real server: direct routing (`-g`, the default), NAT (`-m`) or \
         an IP tunnel (`-i`). In a service, the default for every server.",
    ),
    kw(
        "weight",
        Kind::ServerOption,
        "weight N",
        "The server's share of new connections, 0 to 65535 (`ipvsadm -w`, default 1); 0 \
         takes no new connections. In a service, the default for every server.",
    ),
    kw(
        "upper",
        Kind::ServerOption,
        "upper N",
        "Takes no new connections while the server has more than N active ones \
         (`ipvsadm -x`); 0 means no limit.",
    ),
    kw(
        "lower",
        Kind::ServerOption,
        "lower N",
        "Takes new connections again once the server is below N active ones (`ipvsadm -y`); \
         needs `upper`.",
    ),
    kw(
        "server",
        Kind::ServiceStatement,
        "server ADDRESS[-ADDRESS][:PORT] [OPTIONS]",
        "A real server of the service (`ipvsadm -a`); a range adds one server per address. \
         Without a port the server takes the service's.",
    ),
    kw(
        "drain",
        Kind::ServiceStatement,
        "drain DURATION | off",
        "How this service's real servers leave when they are removed from the file: weight 0 \
         at once, deleted when their connections are gone or after DURATION. `off` deletes at \
         once.",
    ),
];

/// What follows `service`: a protocol, or `fwmark`.
pub const SERVICE_KINDS: &[Word] = &[
    w(
        "tcp",
        Kind::Protocol,
        "service tcp ADDRESS:PORT { ... }",
        "A TCP virtual service (`ipvsadm -t`).",
    ),
    w(
        "udp",
        Kind::Protocol,
        "service udp ADDRESS:PORT { ... }",
        "A UDP virtual service (`ipvsadm -u`).",
    ),
    w(
        "sctp",
        Kind::Protocol,
        "service sctp ADDRESS:PORT { ... }",
        "An SCTP virtual service (`ipvsadm --sctp-service`).",
    ),
    kw(
        "fwmark",
        Kind::ServiceKind,
        "service fwmark MARK [ipv6] { ... }",
        "A service for every packet with this firewall mark (`ipvsadm -f`), 1 to 4294967295, \
         set by netfilter rules; add `ipv6` for IPv6 packets.",
    ),
];

/// The address families of a firewall-mark service.
pub const FAMILIES: &[Word] = &[
    w(
        "ipv4",
        Kind::Family,
        "service fwmark MARK ipv4 { ... }",
        "The firewall-mark service takes IPv4 packets (the default).",
    ),
    w(
        "ipv6",
        Kind::Family,
        "service fwmark MARK ipv6 { ... }",
        "The firewall-mark service takes IPv6 packets (`ipvsadm -6`).",
    ),
];

/// The forwarding methods.
pub const FORWARD_METHODS: &[Word] = &[
    w(
        "dr",
        Kind::ForwardMethod,
        "forward dr",
        "Direct routing (`ipvsadm -g`, the default): the director only rewrites the MAC \
         address; the server must hold the virtual address and answers the client itself.",
    ),
    w(
        "nat",
        Kind::ForwardMethod,
        "forward nat",
        "Masquerading (`ipvsadm -m`): the director rewrites addresses both ways, so replies \
         must route back through it. The only method that may change the port.",
    ),
    kw(
        "tunnel",
        Kind::ForwardMethod,
        "forward tunnel [ipip | gue port N | gre] [nocsum | csum | remcsum]",
        "IP tunneling (`ipvsadm -i`): packets are encapsulated to the server, which answers \
         the client itself; IPIP unless told otherwise.",
    ),
];

/// The words after `forward tunnel`.
pub const TUNNEL_WORDS: &[Word] = &[
    w(
        "ipip",
        Kind::TunnelType,
        "forward tunnel ipip",
        "IP-in-IP encapsulation (the default tunnel type).",
    ),
    w(
        "gue",
        Kind::TunnelType,
        "forward tunnel gue port N",
        "Generic UDP Encapsulation (`--tun-type gue`); needs the UDP port the server listens \
         on.",
    ),
    w(
        "gre",
        Kind::TunnelType,
        "forward tunnel gre [csum | nocsum]",
        "Generic Routing Encapsulation (`--tun-type gre`).",
    ),
    kw(
        "port",
        Kind::TunnelOption,
        "forward tunnel gue port N",
        "The UDP port of a GUE tunnel (`--tun-port`).",
    ),
    w(
        "nocsum",
        Kind::TunnelChecksum,
        "forward tunnel gue port N nocsum",
        "No checksum in the tunnel header (`--tun-nocsum`, the default).",
    ),
    w(
        "csum",
        Kind::TunnelChecksum,
        "forward tunnel gre csum",
        "A checksum in the tunnel header (`--tun-csum`).",
    ),
    w(
        "remcsum",
        Kind::TunnelChecksum,
        "forward tunnel gue port N remcsum",
        "Remote checksum offload (`--tun-remcsum`), GUE only.",
    ),
];

/// The scheduler flags; the last four are ipvsadm's spellings, accepted but not offered.
pub const SCHEDULER_FLAGS: &[Word] = &[
    w(
        "fallback",
        Kind::SchedulerFlag,
        "scheduler sh|mh fallback",
        "For sh and mh: when the hashed server is unavailable, pick another one instead of \
         dropping the connection (ipvsadm's sh-fallback, mh-fallback).",
    ),
    w(
        "port",
        Kind::SchedulerFlag,
        "scheduler sh|mh port",
        "For sh and mh: hash the source port as well as the source address (ipvsadm's \
         sh-port, mh-port).",
    ),
    w(
        "flag-1",
        Kind::SchedulerFlag,
        "scheduler NAME flag-1",
        "The scheduler's first flag bit (IP_VS_SVC_F_SCHED1), for any scheduler.",
    ),
    w(
        "flag-2",
        Kind::SchedulerFlag,
        "scheduler NAME flag-2",
        "The scheduler's second flag bit (IP_VS_SVC_F_SCHED2), for any scheduler.",
    ),
    w(
        "flag-3",
        Kind::SchedulerFlag,
        "scheduler NAME flag-3",
        "The scheduler's third flag bit (IP_VS_SVC_F_SCHED3), for any scheduler.",
    ),
    w(
        "sh-fallback",
        Kind::SchedulerFlag,
        "scheduler sh sh-fallback",
        "ipvsadm's name for `fallback` with sh.",
    ),
    w(
        "sh-port",
        Kind::SchedulerFlag,
        "scheduler sh sh-port",
        "ipvsadm's name for `port` with sh.",
    ),
    w(
        "mh-fallback",
        Kind::SchedulerFlag,
        "scheduler mh mh-fallback",
        "ipvsadm's name for `fallback` with mh.",
    ),
    w(
        "mh-port",
        Kind::SchedulerFlag,
        "scheduler mh mh-port",
        "ipvsadm's name for `port` with mh.",
    ),
];

/// How many of [`SCHEDULER_FLAGS`] completion offers, and a misspelled flag's help lists.
pub const OFFERED_FLAGS: usize = 5;

/// The persistence engines.
pub const PERSISTENCE_ENGINES: &[Word] = &[w(
    "sip",
    Kind::PersistenceEngine,
    "pe sip",
    "The SIP persistence engine: connections with the same Call-ID go to the same server.",
)];

/// The settings of a `timeouts { }` block.
pub const TIMEOUTS: &[Word] = &[
    w(
        "tcp",
        Kind::Timeout,
        "tcp DURATION",
        "How long an established TCP connection may stay idle.",
    ),
    w(
        "tcpfin",
        Kind::Timeout,
        "tcpfin DURATION",
        "How long a TCP connection is kept after the first FIN.",
    ),
    w(
        "udp",
        Kind::Timeout,
        "udp DURATION",
        "How long a UDP flow may stay idle.",
    ),
];

/// The states of a sync daemon.
pub const SYNC_STATES: &[Word] = &[
    w(
        "master",
        Kind::SyncState,
        "sync master { interface NAME; ... }",
        "Sends this director's connection state to the backups.",
    ),
    w(
        "backup",
        Kind::SyncState,
        "sync backup { interface NAME; ... }",
        "Receives connection state from a master, so that it can take over.",
    ),
];

/// The settings of a `sync` block.
pub const SYNC_OPTIONS: &[Word] = &[
    w(
        "interface",
        Kind::SyncOption,
        "interface NAME",
        "The network interface the sync messages go out of or come in on (required).",
    ),
    w(
        "syncid",
        Kind::SyncOption,
        "syncid N",
        "The id, 0 to 255, that tells apart the sync traffic of several director pairs.",
    ),
    w(
        "maxlen",
        Kind::SyncOption,
        "maxlen N",
        "The largest sync message, in bytes.",
    ),
    w(
        "group",
        Kind::SyncOption,
        "group ADDRESS",
        "The multicast group the messages are sent to.",
    ),
    w(
        "port",
        Kind::SyncOption,
        "port N",
        "The UDP port of the sync messages.",
    ),
    w(
        "ttl",
        Kind::SyncOption,
        "ttl N",
        "The multicast TTL of the sync messages.",
    ),
];

/// The values of `drop_entry`, `drop_packet` and `secure_tcp`.
pub const DEFENSE_MODES: &[Word] = &[
    w("off", Kind::DefenseMode, "off", "Never on."),
    w(
        "auto",
        Kind::DefenseMode,
        "auto",
        "Switched on by the kernel while free memory is below `amemthresh`.",
    ),
    w("always", Kind::DefenseMode, "always", "Always on."),
];

/// The values of a switch.
pub const SWITCHES: &[Word] = &[
    w("on", Kind::Switch, "on", "Switched on (1)."),
    w("off", Kind::Switch, "off", "Switched off (0)."),
];

/// Every list, in the order a word is looked up in when where it stands does not say.
pub const LISTS: &[&[Word]] = &[
    TOP_LEVEL,
    SERVICE,
    SERVICE_KINDS,
    FORWARD_METHODS,
    TUNNEL_WORDS,
    SCHEDULER_FLAGS,
    FAMILIES,
    PERSISTENCE_ENGINES,
    TIMEOUTS,
    SYNC_STATES,
    SYNC_OPTIONS,
    DEFENSE_MODES,
    SWITCHES,
];

/// Every word of the table, a word once per place it may stand.
pub fn every() -> impl Iterator<Item = &'static Word> {
    LISTS.iter().flat_map(|list| list.iter())
}

/// The words of `list`, as a "did you mean" help takes them.
pub fn names(list: &[Word]) -> Vec<&'static str> {
    list.iter().map(|w| w.word).collect()
}

/// The words of `list` of kind `kind`.
pub fn names_of(list: &[Word], kind: Kind) -> Vec<&'static str> {
    list.iter()
        .filter(|w| w.kind == kind)
        .map(|w| w.word)
        .collect()
}

/// Whether `word` is an option of a `server` line (`forward`, `weight`, `upper`, `lower`).
pub fn is_server_option(word: &str) -> bool {
    SERVICE
        .iter()
        .any(|w| w.kind == Kind::ServerOption && w.word == word)
}

/// Whether `word` starts a top-level statement.
pub fn is_top_level(word: &str) -> bool {
    TOP_LEVEL.iter().any(|w| w.word == word)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const GRAMMAR: &str = include_str!("../../grammar/ipvs.pest");

    /// The string literals of the grammar, outside its comments.
    fn literals() -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = GRAMMAR.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '/' if chars.peek() == Some(&'/') => {
                    chars.by_ref().take_while(|&c| c != '\n').for_each(drop);
                }
                '"' => {
                    let mut literal = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            // Kept escaped: `"\n"` is no word.
                            '\\' => {
                                literal.push(c);
                                literal.extend(chars.next());
                            }
                            '"' => break,
                            c => literal.push(c),
                        }
                    }
                    out.push(literal);
                }
                _ => {}
            }
        }
        out
    }

    /// The words among the grammar's literals: `"define"` but not `"{"` or `"$"`.
    fn grammar_words() -> BTreeSet<String> {
        let words: BTreeSet<String> = literals()
            .into_iter()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
            .collect();
        assert!(words.len() >= 20, "{words:?}");
        words
    }

    /// Every word literal of the grammar is a keyword of the table, and every keyword of the
    /// table a word literal of the grammar, each that of a `kw_` rule.
    #[test]
    fn the_table_s_keywords_are_the_grammar_s() {
        let grammar = grammar_words();
        let keywords: BTreeSet<String> = every()
            .filter(|w| w.keyword)
            .map(|w| w.word.to_string())
            .collect();
        let missing: Vec<_> = grammar.difference(&keywords).collect();
        assert!(
            missing.is_empty(),
            "the grammar has keywords the table lacks (or lists as not keywords): {missing:?}"
        );
        let extra: Vec<_> = keywords.difference(&grammar).collect();
        assert!(
            extra.is_empty(),
            "the table calls {extra:?} keywords, which the grammar has no rule for"
        );
        // `kw_one_packet = @{ "one-packet" ~ !ident_char }`
        let rules: BTreeSet<String> = GRAMMAR
            .lines()
            .filter(|l| l.starts_with("kw_"))
            .filter_map(|l| l.split('"').nth(1))
            .map(str::to_string)
            .collect();
        assert_eq!(rules, grammar, "a word of the grammar outside a kw_ rule");
    }

    #[test]
    fn a_word_is_a_keyword_wherever_it_stands() {
        for word in every() {
            let keyword = every().any(|w| w.word == word.word && w.keyword);
            // `port` is the grammar's keyword after `forward tunnel` only; in a `sync` block and
            // after `scheduler` it is a word like any other.
            if word.word != "port" {
                assert_eq!(word.keyword, keyword, "{word:?}");
            }
        }
    }

    #[test]
    fn no_word_is_listed_twice_in_one_place() {
        for list in LISTS {
            let names = names(list);
            let unique: BTreeSet<_> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{names:?}");
        }
    }

    #[test]
    fn the_table_names_what_the_model_names() {
        use crate::check::spec::TimeoutKind;
        use crate::model::*;
        let model: [(Kind, &[Word], Vec<&str>); 8] = [
            (
                Kind::Protocol,
                SERVICE_KINDS,
                Protocol::ALL.map(Protocol::name).to_vec(),
            ),
            (
                Kind::Family,
                FAMILIES,
                [Family::Ipv4, Family::Ipv6].map(Family::name).to_vec(),
            ),
            (
                Kind::ForwardMethod,
                FORWARD_METHODS,
                [Forward::Dr, Forward::Nat, Forward::Tunnel(Tunnel::Ipip)]
                    .map(Forward::name)
                    .to_vec(),
            ),
            (
                Kind::TunnelType,
                TUNNEL_WORDS,
                [
                    Tunnel::Ipip,
                    Tunnel::Gue {
                        port: 1,
                        checksum: Checksum::NoCsum,
                    },
                    Tunnel::Gre {
                        checksum: Checksum::NoCsum,
                    },
                ]
                .map(Tunnel::name)
                .to_vec(),
            ),
            (
                Kind::TunnelChecksum,
                TUNNEL_WORDS,
                [Checksum::NoCsum, Checksum::Csum, Checksum::RemCsum]
                    .map(Checksum::name)
                    .to_vec(),
            ),
            (
                Kind::SyncState,
                SYNC_STATES,
                [DaemonState::Master, DaemonState::Backup]
                    .map(DaemonState::name)
                    .to_vec(),
            ),
            (
                Kind::DefenseMode,
                DEFENSE_MODES,
                [DefenseMode::Off, DefenseMode::Auto, DefenseMode::Always]
                    .map(DefenseMode::name)
                    .to_vec(),
            ),
            (
                Kind::Timeout,
                TIMEOUTS,
                [TimeoutKind::Tcp, TimeoutKind::TcpFin, TimeoutKind::Udp]
                    .map(TimeoutKind::name)
                    .to_vec(),
            ),
        ];
        for (kind, list, names) in model {
            assert_eq!(names_of(list, kind), names, "{kind}");
        }
        // The flags of every scheduler, as the model names them, are scheduler flags here.
        let flags = names(SCHEDULER_FLAGS);
        for s in Scheduler::ALL {
            for flag in s.flag_names() {
                assert!(flags.contains(&flag), "{s}: {flag}");
            }
        }
    }
}
