//! The words of the language, grouped by where they may stand, each with a short explanation for
//! hover text and completion. The schedulers and sysctls come from the model, which explains them
//! itself ([`Scheduler::describe`], [`Sysctl::describe`]).

use crate::model::{is_defense, Scheduler, Sysctl, SysctlKind};

/// A word and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    pub word: &'static str,
    /// What kind of word it is, shown beside it in a completion list.
    pub kind: &'static str,
    /// One or two sentences; the first line of the hover text.
    pub doc: &'static str,
    /// How it is written, for the hover text.
    pub usage: &'static str,
}

const fn w(word: &'static str, kind: &'static str, usage: &'static str, doc: &'static str) -> Word {
    Word {
        word,
        kind,
        doc,
        usage,
    }
}

/// The statements of a file.
pub const TOP_LEVEL: &[Word] = &[
    w(
        "define",
        "statement",
        "define NAME = VALUE",
        "Names a value (an address, address and port, range, number, duration or word) so that \
         `$NAME` can stand for it anywhere after this line, and in files included after it.",
    ),
    w(
        "include",
        "statement",
        "include \"PATH\"",
        "Reads another file at this point, as if its text were written here. The path is \
         relative to this file; a file may not include itself, directly or through others.",
    ),
    w(
        "drain",
        "statement",
        "drain DURATION | off",
        "How a real server that leaves the file goes, for every service that does not say: its \
         weight becomes 0 at once and it is deleted when its connections are gone or after \
         DURATION, whichever comes first. `off` deletes it at once. Default: 15m for TCP, SCTP \
         and firewall marks, off for UDP.",
    ),
    w(
        "timeouts",
        "statement",
        "timeouts { tcp D; tcpfin D; udp D }",
        "The kernel's connection timeouts, as `ipvsadm --set` sets them. A timeout left out \
         keeps the kernel's value.",
    ),
    w(
        "defense",
        "statement",
        "defense { drop_entry auto; amemthresh 1024 }",
        "The kernel's defenses against connection floods (`drop_entry`, `drop_packet`, \
         `secure_tcp`) and the memory threshold they act on.",
    ),
    w(
        "sysctl",
        "statement",
        "sysctl { NAME VALUE; ... }",
        "Other IPVS settings of /proc/sys/net/ipv4/vs/: switches take on or off, the rest \
         numbers.",
    ),
    w(
        "sync",
        "statement",
        "sync master|backup { interface NAME; ... }",
        "A connection synchronisation daemon (`ipvsadm --start-daemon`), which copies \
         connection state to a standby director (master) or receives it (backup).",
    ),
    w(
        "service",
        "statement",
        "service tcp|udp|sctp ADDRESS:PORT { ... }  or  service fwmark MARK [ipv6] { ... }",
        "A virtual service (`ipvsadm -A`): the address clients connect to, or a firewall mark, \
         with its scheduler and its real servers inside the braces.",
    ),
];

/// The statements inside a `service { }` block.
pub const SERVICE: &[Word] = &[
    w(
        "scheduler",
        "service statement",
        "scheduler NAME [FLAG...]",
        "How the service picks a real server for a new connection (`ipvsadm -s`); `wlc` when \
         left out. Flags (`-b`): `fallback` and `port` for sh and mh, `flag-1` to `flag-3` for \
         any.",
    ),
    w(
        "persistent",
        "service statement",
        "persistent [DURATION] [netmask MASK]",
        "Sends a client back to the same real server for a while after its last connection \
         (`ipvsadm -p`); 6m when no duration is given.",
    ),
    w(
        "netmask",
        "service statement",
        "netmask 255.255.255.0 | /24",
        "How coarsely clients are grouped for persistence (`ipvsadm -M`): clients in the same \
         network go to the same server.",
    ),
    w(
        "pe",
        "service statement",
        "pe sip",
        "A persistence engine (`ipvsadm --pe`): `sip` keeps the calls of one SIP Call-ID on \
         one server. Needs `persistent`.",
    ),
    w(
        "one-packet",
        "service statement",
        "one-packet",
        "Schedules every UDP datagram on its own instead of keeping a connection \
         (`ipvsadm -o`); UDP and firewall-mark services only.",
    ),
    w(
        "forward",
        "server option",
        "forward dr | nat | tunnel [ipip | gue port N | gre] [nocsum | csum | remcsum]",
        "How packets reach the real server: direct routing (`-g`, the default), NAT (`-m`) or \
         an IP tunnel (`-i`). In a service, the default for every server.",
    ),
    w(
        "weight",
        "server option",
        "weight N",
        "The server's share of new connections, 0 to 65535 (`ipvsadm -w`, default 1); 0 \
         takes no new connections. In a service, the default for every server.",
    ),
    w(
        "upper",
        "server option",
        "upper N",
        "Takes no new connections while the server has more than N active ones \
         (`ipvsadm -x`); 0 means no limit.",
    ),
    w(
        "lower",
        "server option",
        "lower N",
        "Takes new connections again once the server is below N active ones (`ipvsadm -y`); \
         needs `upper`.",
    ),
    w(
        "drain",
        "service statement",
        "drain DURATION | off",
        "How this service's real servers leave when they are removed from the file: weight 0 \
         at once, deleted when their connections are gone or after DURATION. `off` deletes at \
         once.",
    ),
    w(
        "server",
        "service statement",
        "server ADDRESS[-ADDRESS][:PORT] [OPTIONS]",
        "A real server of the service (`ipvsadm -a`); a range adds one server per address. \
         Without a port the server takes the service's.",
    ),
];

/// The options written on a `server` line, after its address.
pub const SERVER_OPTIONS: &[&str] = &["forward", "weight", "upper", "lower"];

/// What follows `service`: a protocol, or `fwmark`.
pub const SERVICE_KINDS: &[Word] = &[
    w(
        "tcp",
        "protocol",
        "service tcp ADDRESS:PORT { ... }",
        "A TCP virtual service (`ipvsadm -t`).",
    ),
    w(
        "udp",
        "protocol",
        "service udp ADDRESS:PORT { ... }",
        "A UDP virtual service (`ipvsadm -u`).",
    ),
    w(
        "sctp",
        "protocol",
        "service sctp ADDRESS:PORT { ... }",
        "An SCTP virtual service (`ipvsadm --sctp-service`).",
    ),
    w(
        "fwmark",
        "service kind",
        "service fwmark MARK [ipv6] { ... }",
        "A service for every packet with this firewall mark (`ipvsadm -f`), 1 to 4294967295, \
         set by netfilter rules; add `ipv6` for IPv6 packets.",
    ),
];

/// The address families of a firewall-mark service.
pub const FAMILIES: &[Word] = &[
    w(
        "ipv4",
        "address family",
        "service fwmark MARK ipv4 { ... }",
        "The firewall-mark service takes IPv4 packets (the default).",
    ),
    w(
        "ipv6",
        "address family",
        "service fwmark MARK ipv6 { ... }",
        "The firewall-mark service takes IPv6 packets (`ipvsadm -6`).",
    ),
];

/// The forwarding methods.
pub const FORWARD_METHODS: &[Word] = &[
    w(
        "dr",
        "forwarding method",
        "forward dr",
        "Direct routing (`ipvsadm -g`, the default): the director only rewrites the MAC \
         address; the server must hold the virtual address and answers the client itself.",
    ),
    w(
        "nat",
        "forwarding method",
        "forward nat",
        "Masquerading (`ipvsadm -m`): the director rewrites addresses both ways, so replies \
         must route back through it. The only method that may change the port.",
    ),
    w(
        "tunnel",
        "forwarding method",
        "forward tunnel [ipip | gue port N | gre] [nocsum | csum | remcsum]",
        "IP tunneling (`ipvsadm -i`): packets are encapsulated to the server, which answers \
         the client itself; IPIP unless told otherwise.",
    ),
];

/// The words after `forward tunnel`.
pub const TUNNEL_WORDS: &[Word] = &[
    w(
        "ipip",
        "tunnel type",
        "forward tunnel ipip",
        "IP-in-IP encapsulation (the default tunnel type).",
    ),
    w(
        "gue",
        "tunnel type",
        "forward tunnel gue port N",
        "Generic UDP Encapsulation (`--tun-type gue`); needs the UDP port the server listens \
         on.",
    ),
    w(
        "gre",
        "tunnel type",
        "forward tunnel gre [csum | nocsum]",
        "Generic Routing Encapsulation (`--tun-type gre`).",
    ),
    w(
        "port",
        "tunnel option",
        "forward tunnel gue port N",
        "The UDP port of a GUE tunnel (`--tun-port`).",
    ),
    w(
        "nocsum",
        "tunnel checksum",
        "forward tunnel gue port N nocsum",
        "No checksum in the tunnel header (`--tun-nocsum`, the default).",
    ),
    w(
        "csum",
        "tunnel checksum",
        "forward tunnel gre csum",
        "A checksum in the tunnel header (`--tun-csum`).",
    ),
    w(
        "remcsum",
        "tunnel checksum",
        "forward tunnel gue port N remcsum",
        "Remote checksum offload (`--tun-remcsum`), GUE only.",
    ),
];

/// The scheduler flags; the last four are ipvsadm's spellings, accepted but not offered.
pub const SCHEDULER_FLAGS: &[Word] = &[
    w(
        "fallback",
        "scheduler flag",
        "scheduler sh|mh fallback",
        "For sh and mh: when the hashed server is unavailable, pick another one instead of \
         dropping the connection (ipvsadm's sh-fallback, mh-fallback).",
    ),
    w(
        "port",
        "scheduler flag",
        "scheduler sh|mh port",
        "For sh and mh: hash the source port as well as the source address (ipvsadm's \
         sh-port, mh-port).",
    ),
    w(
        "flag-1",
        "scheduler flag",
        "scheduler NAME flag-1",
        "The scheduler's first flag bit (IP_VS_SVC_F_SCHED1), for any scheduler.",
    ),
    w(
        "flag-2",
        "scheduler flag",
        "scheduler NAME flag-2",
        "The scheduler's second flag bit (IP_VS_SVC_F_SCHED2), for any scheduler.",
    ),
    w(
        "flag-3",
        "scheduler flag",
        "scheduler NAME flag-3",
        "The scheduler's third flag bit (IP_VS_SVC_F_SCHED3), for any scheduler.",
    ),
    w(
        "sh-fallback",
        "scheduler flag",
        "scheduler sh sh-fallback",
        "ipvsadm's name for `fallback` with sh.",
    ),
    w(
        "sh-port",
        "scheduler flag",
        "scheduler sh sh-port",
        "ipvsadm's name for `port` with sh.",
    ),
    w(
        "mh-fallback",
        "scheduler flag",
        "scheduler mh mh-fallback",
        "ipvsadm's name for `fallback` with mh.",
    ),
    w(
        "mh-port",
        "scheduler flag",
        "scheduler mh mh-port",
        "ipvsadm's name for `port` with mh.",
    ),
];

/// How many of [`SCHEDULER_FLAGS`] completion offers.
pub const OFFERED_FLAGS: usize = 5;

/// The persistence engines.
pub const PERSISTENCE_ENGINES: &[Word] = &[w(
    "sip",
    "persistence engine",
    "pe sip",
    "The SIP persistence engine: connections with the same Call-ID go to the same server.",
)];

/// The settings of a `timeouts { }` block.
pub const TIMEOUTS: &[Word] = &[
    w(
        "tcp",
        "timeout",
        "tcp DURATION",
        "How long an established TCP connection may stay idle.",
    ),
    w(
        "tcpfin",
        "timeout",
        "tcpfin DURATION",
        "How long a TCP connection is kept after the first FIN.",
    ),
    w(
        "udp",
        "timeout",
        "udp DURATION",
        "How long a UDP flow may stay idle.",
    ),
];

/// The states of a sync daemon.
pub const SYNC_STATES: &[Word] = &[
    w(
        "master",
        "sync daemon state",
        "sync master { interface NAME; ... }",
        "Sends this director's connection state to the backups.",
    ),
    w(
        "backup",
        "sync daemon state",
        "sync backup { interface NAME; ... }",
        "Receives connection state from a master, so that it can take over.",
    ),
];

/// The settings of a `sync` block.
pub const SYNC_OPTIONS: &[Word] = &[
    w(
        "interface",
        "sync option",
        "interface NAME",
        "The network interface the sync messages go out of or come in on (required).",
    ),
    w(
        "syncid",
        "sync option",
        "syncid N",
        "The id, 0 to 255, that tells apart the sync traffic of several director pairs.",
    ),
    w(
        "maxlen",
        "sync option",
        "maxlen N",
        "The largest sync message, in bytes.",
    ),
    w(
        "group",
        "sync option",
        "group ADDRESS",
        "The multicast group the messages are sent to.",
    ),
    w(
        "port",
        "sync option",
        "port N",
        "The UDP port of the sync messages.",
    ),
    w(
        "ttl",
        "sync option",
        "ttl N",
        "The multicast TTL of the sync messages.",
    ),
];

/// The values of `drop_entry`, `drop_packet` and `secure_tcp`.
pub const DEFENSE_MODES: &[Word] = &[
    w("off", "defense mode", "off", "Never on."),
    w(
        "auto",
        "defense mode",
        "auto",
        "Switched on by the kernel while free memory is below `amemthresh`.",
    ),
    w("always", "defense mode", "always", "Always on."),
];

/// The values of a switch.
pub const SWITCHES: &[Word] = &[
    w("on", "switch", "on", "Switched on (1)."),
    w("off", "switch", "off", "Switched off (0)."),
];

/// The names of every scheduler.
pub fn schedulers() -> impl Iterator<Item = (&'static str, &'static str)> {
    Scheduler::ALL.into_iter().map(|s| (s.name(), s.describe()))
}

/// The sysctls a `defense { }` block (`defense` true) or a `sysctl { }` block takes.
pub fn sysctls(defense: bool) -> impl Iterator<Item = Sysctl> {
    Sysctl::ALL
        .iter()
        .copied()
        .filter(move |s| !defense || is_defense(*s))
}

/// What a sysctl's value looks like, for its hover text.
pub fn sysctl_usage(sysctl: Sysctl) -> String {
    match sysctl.kind() {
        SysctlKind::Defense => format!("{sysctl} off | auto | always"),
        SysctlKind::Switch => format!("{sysctl} on | off"),
        SysctlKind::Int { min, max } if max == i64::from(i32::MAX) => {
            format!("{sysctl} N    ({min} or more)")
        }
        SysctlKind::Int { min, max } => format!("{sysctl} N    ({min} to {max})"),
        SysctlKind::Pair => format!("{sysctl} N M"),
    }
}

/// Every word in `list`.
pub fn names(list: &[Word]) -> impl Iterator<Item = &'static str> + '_ {
    list.iter().map(|w| w.word)
}

/// Every word of the language that an editor should highlight: keywords and the fixed values.
pub fn all() -> Vec<&'static str> {
    let lists: [&[Word]; 13] = [
        TOP_LEVEL,
        SERVICE,
        SERVICE_KINDS,
        FAMILIES,
        FORWARD_METHODS,
        TUNNEL_WORDS,
        SCHEDULER_FLAGS,
        PERSISTENCE_ENGINES,
        TIMEOUTS,
        SYNC_STATES,
        SYNC_OPTIONS,
        DEFENSE_MODES,
        SWITCHES,
    ];
    let mut out: Vec<&'static str> = lists.iter().flat_map(|l| names(l)).collect();
    out.extend(Scheduler::ALL.iter().map(|s| s.name()));
    out.extend(Sysctl::ALL.iter().map(|s| s.name()));
    out.sort_unstable();
    out.dedup();
    out
}
