//! ipvsadm's option table (ipvsadm 1.31, popt) and the splitting of one line's words into
//! options, their values, and bare arguments.

use crate::check::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use std::borrow::Cow;

/// A word of a line and where it is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Word<'a> {
    pub text: &'a str,
    pub span: Span,
}

/// What an ipvsadm line does: its first option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmd {
    AddService,
    EditService,
    DeleteService,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DeleteServer,
    Set,
    StartDaemon,
    StopDaemon,
    Save,
    Restore,
    Help,
    Version,
}

impl Cmd {
    /// The commands a restore script can use, in the order help texts list them.
    pub const SCRIPT: [Cmd; 12] = [
        Cmd::AddService,
        Cmd::EditService,
        Cmd::DeleteService,
        Cmd::Clear,
        Cmd::AddServer,
        Cmd::EditServer,
        Cmd::DeleteServer,
        Cmd::Set,
        Cmd::StartDaemon,
        Cmd::StopDaemon,
        Cmd::Zero,
        Cmd::List,
    ];

    pub fn flag(self) -> &'static str {
        match self {
            Cmd::AddService => "-A",
            Cmd::EditService => "-E",
            Cmd::DeleteService => "-D",
            Cmd::Clear => "-C",
            Cmd::List => "-L",
            Cmd::Zero => "-Z",
            Cmd::AddServer => "-a",
            Cmd::EditServer => "-e",
            Cmd::DeleteServer => "-d",
            Cmd::Set => "--set",
            Cmd::StartDaemon => "--start-daemon",
            Cmd::StopDaemon => "--stop-daemon",
            Cmd::Save => "-S",
            Cmd::Restore => "-R",
            Cmd::Help => "-h",
            Cmd::Version => "-v",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cmd::AddService => "add-service",
            Cmd::EditService => "edit-service",
            Cmd::DeleteService => "delete-service",
            Cmd::Clear => "clear",
            Cmd::List => "list",
            Cmd::Zero => "zero",
            Cmd::AddServer => "add-server",
            Cmd::EditServer => "edit-server",
            Cmd::DeleteServer => "delete-server",
            Cmd::Set => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Save => "save",
            Cmd::Restore => "restore",
            Cmd::Help => "help",
            Cmd::Version => "version",
        }
    }

    pub fn needs_service(self) -> bool {
        matches!(
            self,
            Cmd::AddService
                | Cmd::EditService
                | Cmd::DeleteService
                | Cmd::AddServer
                | Cmd::EditServer
                | Cmd::DeleteServer
        )
    }

    pub fn needs_server(self) -> bool {
        matches!(self, Cmd::AddServer | Cmd::EditServer | Cmd::DeleteServer)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opt {
    Command(Cmd),
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Ipv6,
    Scheduler,
    Persistent,
    Netmask,
    Pe,
    Ops,
    SchedFlags,
    RealServer,
    Gatewaying,
    Ipip,
    Masquerading,
    Weight,
    UThreshold,
    LThreshold,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    McastInterface,
    Syncid,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    Numeric,
    Sort,
    Connection,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Exact,
    TunInfo,
}

impl Opt {
    pub fn is_service(self) -> bool {
        matches!(self, Opt::Tcp | Opt::Udp | Opt::Sctp | Opt::Fwmark)
    }

    pub fn is_forward(self) -> bool {
        matches!(self, Opt::Gatewaying | Opt::Ipip | Opt::Masquerading)
    }

    /// ipvsadm's name for the option in its "given twice" check; options that share a name
    /// (the four service selectors, the three forwarding methods) exclude each other. `None`:
    /// ipvsadm accepts the option more than once.
    pub fn slot(self) -> Option<&'static str> {
        if self.is_service() {
            return Some("service-address");
        }
        if self.is_forward() {
            return Some("forwarding-method");
        }
        match self {
            Opt::Command(_) | Opt::Ipv6 | Opt::Sort => None,
            _ => Some(def(self).long),
        }
    }

    /// Whether ipvsadm accepts the option with `cmd` (its commands_v_options table). `-n` only
    /// with `-L` and `-S` (**seen**: `-a ... -n` is refused, "Illegal 'numeric' option with the
    /// 'add-server' command"); `--sort` is a no-op ipvsadm accepts everywhere.
    pub fn allowed_with(self, cmd: Cmd) -> bool {
        use Cmd::*;
        match self {
            Opt::Command(_) => false,
            Opt::Numeric => matches!(cmd, List | Save),
            Opt::Sort => true,
            Opt::Tcp | Opt::Udp | Opt::Sctp | Opt::Fwmark | Opt::Ipv6 => matches!(
                cmd,
                AddService
                    | EditService
                    | DeleteService
                    | AddServer
                    | EditServer
                    | DeleteServer
                    | Zero
                    | List
            ),
            Opt::Scheduler
            | Opt::Persistent
            | Opt::Netmask
            | Opt::Pe
            | Opt::Ops
            | Opt::SchedFlags => matches!(cmd, AddService | EditService),
            Opt::RealServer => matches!(cmd, AddServer | EditServer | DeleteServer),
            Opt::Gatewaying
            | Opt::Ipip
            | Opt::Masquerading
            | Opt::Weight
            | Opt::UThreshold
            | Opt::LThreshold
            | Opt::TunType
            | Opt::TunPort
            | Opt::TunNocsum
            | Opt::TunCsum
            | Opt::TunRemcsum => matches!(cmd, AddServer | EditServer),
            Opt::McastInterface
            | Opt::McastGroup
            | Opt::McastPort
            | Opt::McastTtl
            | Opt::SyncMaxlen => cmd == StartDaemon,
            Opt::Syncid => matches!(cmd, StartDaemon | StopDaemon | List),
            Opt::Connection
            | Opt::Timeout
            | Opt::Daemon
            | Opt::Stats
            | Opt::Rate
            | Opt::Thresholds
            | Opt::PersistentConn
            | Opt::NoSort
            | Opt::Exact
            | Opt::TunInfo => cmd == List,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arg {
    None,
    Required,
    /// `-p [TIMEOUT]`
    Optional,
}

pub(super) struct OptDef {
    pub opt: Opt,
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: Arg,
    /// What the value is, in words, for "needs …" messages.
    pub value: &'static str,
    /// The option written with a value, for help lines.
    pub example: &'static str,
}

const fn o(
    opt: Opt,
    long: &'static str,
    short: Option<char>,
    arg: Arg,
    value: &'static str,
    example: &'static str,
) -> OptDef {
    OptDef {
        opt,
        long,
        short,
        arg,
        value,
        example,
    }
}

use Arg::{None as Flag, Optional, Required};

/// The options of ipvsadm 1.31 (`parse_options` in ipvsadm.c), long name first.
#[rustfmt::skip]
pub(super) const OPTIONS: &[OptDef] = &[
    //                                  long               short      argument  the value, for "needs ..."          an example, for help
    o(Opt::Command(Cmd::AddService),    "add-service",     Some('A'), Flag,     "",                                 "-A"),
    o(Opt::Command(Cmd::EditService),   "edit-service",    Some('E'), Flag,     "",                                 "-E"),
    o(Opt::Command(Cmd::DeleteService), "delete-service",  Some('D'), Flag,     "",                                 "-D"),
    o(Opt::Command(Cmd::Clear),         "clear",           Some('C'), Flag,     "",                                 "-C"),
    o(Opt::Command(Cmd::List),          "list",            Some('L'), Flag,     "",                                 "-L"),
    o(Opt::Command(Cmd::List),          "list",            Some('l'), Flag,     "",                                 "-l"),
    o(Opt::Command(Cmd::Zero),          "zero",            Some('Z'), Flag,     "",                                 "-Z"),
    o(Opt::Command(Cmd::AddServer),     "add-server",      Some('a'), Flag,     "",                                 "-a"),
    o(Opt::Command(Cmd::EditServer),    "edit-server",     Some('e'), Flag,     "",                                 "-e"),
    o(Opt::Command(Cmd::DeleteServer),  "delete-server",   Some('d'), Flag,     "",                                 "-d"),
    o(Opt::Command(Cmd::Set),           "set",             None,      Flag,     "",                                 "--set 900 120 300"),
    o(Opt::Command(Cmd::Help),          "help",            Some('h'), Flag,     "",                                 "-h"),
    o(Opt::Command(Cmd::Version),       "version",         Some('v'), Flag,     "",                                 "-v"),
    o(Opt::Command(Cmd::Restore),       "restore",         Some('R'), Flag,     "",                                 "-R"),
    o(Opt::Command(Cmd::Save),          "save",            Some('S'), Flag,     "",                                 "-S"),
    o(Opt::Command(Cmd::StartDaemon),   "start-daemon",    None,      Required, "a daemon state, master or backup", "--start-daemon master"),
    o(Opt::Command(Cmd::StopDaemon),    "stop-daemon",     None,      Required, "a daemon state, master or backup", "--stop-daemon master"),
    o(Opt::Tcp,                         "tcp-service",     Some('t'), Required, "an address and port",              "-t 10.0.0.1:80"),
    o(Opt::Udp,                         "udp-service",     Some('u'), Required, "an address and port",              "-u 10.0.0.1:53"),
    o(Opt::Sctp,                        "sctp-service",    None,      Required, "an address and port",              "--sctp-service 10.0.0.1:5060"),
    o(Opt::Fwmark,                      "fwmark-service",  Some('f'), Required, "a firewall mark",                  "-f 1"),
    o(Opt::Scheduler,                   "scheduler",       Some('s'), Required, "a scheduler name",                 "-s wlc"),
    o(Opt::Persistent,                  "persistent",      Some('p'), Optional, "a timeout in seconds",             "-p 300"),
    o(Opt::Netmask,                     "netmask",         Some('M'), Required, "a netmask",                        "-M 255.255.255.0"),
    o(Opt::RealServer,                  "real-server",     Some('r'), Required, "an address and optional port",     "-r 192.168.1.10:80"),
    o(Opt::Masquerading,                "masquerading",    Some('m'), Flag,     "",                                 "-m"),
    o(Opt::Ipip,                        "ipip",            Some('i'), Flag,     "",                                 "-i"),
    o(Opt::Gatewaying,                  "gatewaying",      Some('g'), Flag,     "",                                 "-g"),
    o(Opt::Weight,                      "weight",          Some('w'), Required, "a weight",                         "-w 1"),
    o(Opt::UThreshold,                  "u-threshold",     Some('x'), Required, "a connection count",               "-x 1000"),
    o(Opt::LThreshold,                  "l-threshold",     Some('y'), Required, "a connection count",               "-y 800"),
    o(Opt::Numeric,                     "numeric",         Some('n'), Flag,     "",                                 "-n"),
    o(Opt::Connection,                  "connection",      Some('c'), Flag,     "",                                 "-c"),
    o(Opt::McastInterface,              "mcast-interface", None,      Required, "an interface name",                "--mcast-interface eth0"),
    o(Opt::Syncid,                      "syncid",          None,      Required, "a sync id",                        "--syncid 1"),
    o(Opt::Timeout,                     "timeout",         None,      Flag,     "",                                 "--timeout"),
    o(Opt::Daemon,                      "daemon",          None,      Flag,     "",                                 "--daemon"),
    o(Opt::Stats,                       "stats",           None,      Flag,     "",                                 "--stats"),
    o(Opt::Rate,                        "rate",            None,      Flag,     "",                                 "--rate"),
    o(Opt::Thresholds,                  "thresholds",      None,      Flag,     "",                                 "--thresholds"),
    o(Opt::PersistentConn,              "persistent-conn", None,      Flag,     "",                                 "--persistent-conn"),
    o(Opt::NoSort,                      "nosort",          None,      Flag,     "",                                 "--nosort"),
    o(Opt::Sort,                        "sort",            None,      Flag,     "",                                 "--sort"),
    o(Opt::Exact,                       "exact",           Some('X'), Flag,     "",                                 "-X"),
    o(Opt::Ipv6,                        "ipv6",            Some('6'), Flag,     "",                                 "-6"),
    o(Opt::Ops,                         "ops",             Some('o'), Flag,     "",                                 "-o"),
    o(Opt::Pe,                          "pe",              None,      Required, "a persistence engine name",        "--pe sip"),
    o(Opt::SchedFlags,                  "sched-flags",     Some('b'), Required, "a list of scheduler flags",        "-b sh-fallback,sh-port"),
    o(Opt::McastGroup,                  "mcast-group",     None,      Required, "a multicast address",              "--mcast-group 224.0.0.81"),
    o(Opt::McastPort,                   "mcast-port",      None,      Required, "a UDP port",                       "--mcast-port 8848"),
    o(Opt::McastTtl,                    "mcast-ttl",       None,      Required, "a TTL",                            "--mcast-ttl 1"),
    o(Opt::SyncMaxlen,                  "sync-maxlen",     None,      Required, "a message length",                 "--sync-maxlen 1472"),
    o(Opt::TunInfo,                     "tun-info",        None,      Flag,     "",                                 "--tun-info"),
    o(Opt::TunType,                     "tun-type",        None,      Required, "a tunnel type, ipip, gue or gre",  "--tun-type gue"),
    o(Opt::TunPort,                     "tun-port",        None,      Required, "a UDP port",                       "--tun-port 6080"),
    o(Opt::TunNocsum,                   "tun-nocsum",      None,      Flag,     "",                                 "--tun-nocsum"),
    o(Opt::TunCsum,                     "tun-csum",        None,      Flag,     "",                                 "--tun-csum"),
    o(Opt::TunRemcsum,                  "tun-remcsum",     None,      Flag,     "",                                 "--tun-remcsum"),
];

pub(super) fn def(opt: Opt) -> &'static OptDef {
    OPTIONS
        .iter()
        .find(|d| d.opt == opt)
        .expect("every option is in the table")
}

/// An option as written on a line, with its value.
#[derive(Clone, Debug)]
pub(super) struct Occ<'a> {
    pub opt: Opt,
    /// `-t` or `--tcp-service`, as the user wrote it: a slice of the line, except for an
    /// option inside a cluster (the `t` of `-At`), spelled out.
    pub written: Cow<'a, str>,
    pub name: Span,
    pub value: Option<Word<'a>>,
    /// Position among the line's options, for ipvsadm's order rules.
    pub index: usize,
}

impl Occ<'_> {
    /// The option and its value.
    pub fn span(&self) -> Span {
        self.value.map_or(self.name, |v| self.name.to(v.span))
    }
}

/// A line's options, in order, and its bare arguments.
pub(super) struct Lexed<'a> {
    pub occs: Vec<Occ<'a>>,
    pub args: Vec<Word<'a>>,
}

fn sub(span: Span, from: usize, to: usize) -> Span {
    Span::new(span.file, span.start + from..span.start + to)
}

/// Whether a word would be read as an option rather than as the previous option's value.
fn is_option_like(text: &str) -> bool {
    text.len() > 1 && text.starts_with('-') && !text[1..].starts_with(|c: char| c.is_ascii_digit())
}

fn missing_value(def: &OptDef, written: &str, name: Span) -> Diagnostic {
    Diagnostic::error(
        Code::LegacySyntax,
        name,
        format!("`{written}` needs {}", def.value),
    )
    .label("no value after this option")
    .help(format!("write it like `{}`", def.example))
}

fn unknown_long(word: &str, span: Span) -> Diagnostic {
    let name = word.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    let longs: Vec<&str> = OPTIONS.iter().map(|d| d.long).collect();
    let prefixed: Vec<&&str> = longs.iter().filter(|l| l.starts_with(name)).collect();
    let help = match suggest::did_you_mean(name, longs.iter().copied()) {
        Some(best) => format!("did you mean `--{best}`?"),
        None if prefixed.len() == 1 && !name.is_empty() => format!(
            "did you mean `--{}`? ipvsadm does not accept shortened option names",
            prefixed[0]
        ),
        None => {
            "ipvsadm(8) lists the options; `ipvsadm -S -n` writes only -A, -a and their options"
                .to_string()
        }
    };
    Diagnostic::error(
        Code::LegacySyntax,
        span,
        format!("unknown option `--{name}`"),
    )
    .label("unknown option")
    .help(help)
}

fn unknown_short(c: char, span: Span) -> Diagnostic {
    let flipped: Vec<char> = if c.is_lowercase() {
        c.to_uppercase().collect()
    } else {
        c.to_lowercase().collect()
    };
    let known = |x: char| OPTIONS.iter().any(|d| d.short == Some(x));
    let help = match flipped.as_slice() {
        [other] if known(*other) => {
            format!("did you mean `-{other}`? ipvsadm's short options are case-sensitive")
        }
        _ => "ipvsadm's short options are -A -E -D -C -Z -a -e -d -t -u -f -6 -s -p -M -o -b \
              -r -g -i -m -w -x -y -n; long options start with `--`"
            .to_string(),
    };
    Diagnostic::error(Code::LegacySyntax, span, format!("unknown option `-{c}`"))
        .label("unknown option")
        .help(help)
}

/// Splits a line's words as popt does for ipvsadm: `--long`, `--long=value`, `--long value`,
/// short options alone or clustered (`-At`, `-srr`), `--` ending the options, and the rest as
/// bare arguments. Stops at the first error, as ipvsadm does.
pub(super) fn lex<'a>(words: &[Word<'a>]) -> Result<Lexed<'a>, Diagnostic> {
    let mut occs: Vec<Occ<'a>> = Vec::new();
    let mut args = Vec::new();
    let mut only_args = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        let text = word.text;
        if only_args || !text.starts_with('-') || text == "-" {
            args.push(word);
            continue;
        }
        if text == "--" {
            only_args = true;
            continue;
        }
        if let Some(body) = text.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let name_span = sub(word.span, 0, 2 + name.len());
            let Some(def) = OPTIONS.iter().find(|d| d.long == name) else {
                return Err(unknown_long(text, name_span));
            };
            let written = Cow::Borrowed(&text[..2 + name.len()]);
            let inline = inline.map(|v| Word {
                text: v,
                span: sub(word.span, 3 + name.len(), text.len()),
            });
            let value = match (def.arg, inline) {
                (Flag, Some(v)) => {
                    return Err(Diagnostic::error(
                        Code::LegacySyntax,
                        v.span,
                        format!("`{written}` takes no value"),
                    )
                    .label("unexpected value")
                    .help(format!("write `{written}` alone")));
                }
                (Flag, None) => None,
                (Required, Some(v)) if v.text.is_empty() => {
                    return Err(missing_value(def, &written, name_span));
                }
                (_, Some(v)) => Some(v),
                (Required, None) => match words.get(i) {
                    Some(next) if !is_option_like(next.text) => {
                        i += 1;
                        Some(*next)
                    }
                    _ => return Err(missing_value(def, &written, name_span)),
                },
                (Optional, None) => optional_value(words, &mut i),
            };
            occs.push(Occ {
                opt: def.opt,
                written,
                name: name_span,
                value,
                index: occs.len(),
            });
            continue;
        }
        // A cluster of short options; the first option that takes a value takes the rest of
        // the word, or the next word.
        let cluster = &text[1..];
        for (at, c) in cluster.char_indices() {
            let start = if at == 0 { 0 } else { 1 + at };
            let name_span = sub(word.span, start, 1 + at + c.len_utf8());
            let Some(def) = OPTIONS.iter().find(|d| d.short == Some(c)) else {
                return Err(unknown_short(c, name_span));
            };
            let written = if at == 0 {
                Cow::Borrowed(&text[..1 + c.len_utf8()])
            } else {
                Cow::Owned(format!("-{c}"))
            };
            let rest = &cluster[at + c.len_utf8()..];
            let value = match def.arg {
                Flag => None,
                _ if !rest.is_empty() => Some(Word {
                    text: rest,
                    span: sub(word.span, 1 + at + c.len_utf8(), text.len()),
                }),
                Required => match words.get(i) {
                    Some(next) if !is_option_like(next.text) => {
                        i += 1;
                        Some(*next)
                    }
                    _ => return Err(missing_value(def, &written, name_span)),
                },
                Optional => optional_value(words, &mut i),
            };
            occs.push(Occ {
                opt: def.opt,
                written,
                name: name_span,
                value,
                index: occs.len(),
            });
            if def.arg != Flag {
                break;
            }
        }
    }
    Ok(Lexed { occs, args })
}

/// `-p` takes the next word only when it is a number: `-p 300` but `-p -M …` or `-p` last.
fn optional_value<'a>(words: &[Word<'a>], i: &mut usize) -> Option<Word<'a>> {
    let next = words
        .get(*i)
        .filter(|w| w.text.starts_with(|c: char| c.is_ascii_digit()))?;
    *i += 1;
    Some(*next)
}
