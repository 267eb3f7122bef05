//! ipvsadm's text, both ways. Read: `ipvsadm -S` dumps and `ipvsadm -R` scripts, run line by
//! line as `ipvsadm -R` runs them on an empty table, into the same [`Builder`] the language
//! uses. Written: a table as `ipvsadm -S -n` prints it, in ipvsadm's order.

mod aton;
mod inet_ntop;
mod msort;
mod options;
mod order;
mod save;
mod services;
mod values;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use crate::check::builder::Builder;
use crate::check::spec::*;
use crate::check::values::{address, in_range, number};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Checksum, Family, Protocol, ServiceKey, DEFAULT_PERSISTENCE};
use crate::source::{FileId, Span, Spanned};

use options::{Cmd, Occ, Opt, Word};

pub use order::{sort_servers, sort_services};
pub use save::{ipvsadm_save, ipvsadm_save_ordered, SaveExtras};

/// Whether `text` is an ipvsadm script (what `ipvsadm -S` writes and `ipvsadm -R` reads)
/// rather than a .ipvs file: its first line that is neither blank nor a `#` comment starts
/// with an option, or with the word `ipvsadm` and then an option.
pub fn looks_legacy(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('-') {
            return true;
        }
        let mut words = line.split_whitespace();
        return words.next() == Some("ipvsadm") && words.next().is_some_and(|w| w.starts_with('-'));
    }
    false
}

/// `ipvsadm -R < text` on an empty table: each line is one ipvsadm command, applied to
/// `builder` in order. A line ipvsadm would refuse to parse is an error and is skipped; a line
/// the kernel would refuse is reported by the builder, and later lines still run, as with
/// `ipvsadm -R`.
pub fn load(text: &str, file: FileId, builder: &mut Builder) {
    let mut offset = 0;
    // One list for every line's words: a dump is thousands of lines of eight words or so.
    let mut words = Vec::new();
    for line in text.split_inclusive('\n') {
        split_words(line, offset, file, &mut words);
        offset += line.len();
        if let (Some(first), Some(last)) = (words.first(), words.last()) {
            run_line(&words, first.span.to(last.span), builder);
        }
    }
}

/// A line's words: split at white space, a comment dropped as the shell drops it (from a `#`
/// that starts a word; ipvsadm's config_stream.c documents comments, though its code does not
/// manage them), and the words `ipvsadm` dropped, so that a shell script of ipvsadm commands
/// reads as well as a dump. A `#` inside a word is part of it, for the shell and ipvsadm alike
/// (`-w 5#x` is a bad weight).
fn split_words<'a>(line: &'a str, offset: usize, file: FileId, words: &mut Vec<Word<'a>>) {
    let comment = line
        .char_indices()
        .find(|&(i, c)| {
            c == '#'
                && line[..i]
                    .chars()
                    .last()
                    .is_none_or(|p| p.is_ascii_whitespace())
        })
        .map(|(i, _)| i);
    let code = comment.map_or(line, |hash| &line[..hash]);
    words.clear();
    let mut start = None;
    for (i, c) in code.char_indices().chain([(code.len(), ' ')]) {
        match (c.is_ascii_whitespace(), start) {
            (true, Some(s)) => {
                words.push(Word {
                    text: &code[s..i],
                    span: Span::new(file, offset + s..offset + i),
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    words.retain(|w| w.text != "ipvsadm");
}

/// The diagnostics of one line, reported to the builder before the line runs.
#[derive(Default)]
struct Diags(Vec<Diagnostic>);

impl Diags {
    fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    fn take<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        result.map_err(|d| self.push(d)).ok()
    }

    fn failed(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Hands the diagnostics to the builder; true when the line may run.
    fn flush(&mut self, builder: &mut Builder) -> bool {
        let ok = !self.failed();
        for d in self.0.drain(..) {
            builder.report(d);
        }
        ok
    }
}

struct Line<'a> {
    span: Span,
    occs: Vec<Occ<'a>>,
    args: Vec<Word<'a>>,
}

fn run_line(words: &[Word], span: Span, builder: &mut Builder) {
    let lexed = match options::lex(words) {
        Ok(lexed) => lexed,
        Err(d) => return builder.report(d),
    };
    let line = Line {
        span,
        occs: lexed.occs,
        args: lexed.args,
    };
    let mut diags = Diags::default();
    let Some(cmd) = line.command(&mut diags) else {
        diags.flush(builder);
        return;
    };
    line.check_options(cmd, &mut diags);
    line.check_args(cmd, &mut diags);
    if diags.failed() {
        diags.flush(builder);
        return;
    }
    line.run(cmd, &mut diags, builder);
    diags.flush(builder);
}

fn command_list() -> String {
    let flags: Vec<&str> = Cmd::SCRIPT.iter().map(|c| c.flag()).collect();
    flags.join(", ")
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

impl<'a> Line<'a> {
    fn get(&self, opt: Opt) -> Option<&Occ<'a>> {
        self.occs.iter().find(|o| o.opt == opt)
    }

    fn value(&self, opt: Opt) -> Option<Word<'a>> {
        self.get(opt).and_then(|o| o.value)
    }

    /// The line's command, which ipvsadm wants as the first option.
    fn command(&self, diags: &mut Diags) -> Option<Cmd> {
        let commands: Vec<(&Occ, Cmd)> = self
            .occs
            .iter()
            .filter_map(|o| match o.opt {
                Opt::Command(c) => Some((o, c)),
                _ => None,
            })
            .collect();
        let Some(&(occ, cmd)) = commands.first() else {
            let span = self.occs.first().map_or(self.span, |o| o.name);
            diags.push(
                Diagnostic::error(Code::LegacySyntax, span, "this line has no command")
                    .label("expected a command here")
                    .help(format!("start the line with a command: {}", command_list())),
            );
            return None;
        };
        if occ.index != 0 {
            let first = &self.occs[0];
            diags.push(
                Diagnostic::error(
                    Code::LegacySyntax,
                    occ.name,
                    format!("the command `{}` must come first", occ.written),
                )
                .label("the command")
                .note(first.name, "ipvsadm expects the command here")
                .help(format!("move `{}` to the start of the line", occ.written)),
            );
            return None;
        }
        if let Some((second, _)) = commands.get(1) {
            diags.push(
                Diagnostic::error(
                    Code::LegacySyntax,
                    second.name,
                    "more than one command on one line",
                )
                .label("second command")
                .note(occ.name, "first command")
                .help("ipvsadm runs one command per line: put each on its own line"),
            );
            return None;
        }
        let refuse = |what: &str, help: &str| {
            Diagnostic::error(
                Code::LegacySyntax,
                occ.name,
                format!("`{}` {what}", occ.written),
            )
            .label("not a table command")
            .help(help.to_string())
        };
        match cmd {
            Cmd::Help => diags.push(refuse(
                "prints ipvsadm's help and exits",
                "remove this line: `ipvsadm -R` would stop reading here",
            )),
            Cmd::Version => diags.push(refuse(
                "prints ipvsadm's version and exits",
                "remove this line: `ipvsadm -R` would stop reading here",
            )),
            Cmd::Restore => diags.push(refuse(
                "cannot be used inside a restore script",
                "remove this line: ipvsadm refuses a nested restore and stops",
            )),
            _ => return Some(cmd),
        }
        None
    }

    /// ipvsadm's checks of which options a command takes, and of options given twice.
    fn check_options(&self, cmd: Cmd, diags: &mut Diags) {
        let mut seen: Vec<(&str, &Occ)> = Vec::new();
        for occ in &self.occs[1..] {
            if matches!(occ.opt, Opt::Command(_)) {
                continue;
            }
            if !occ.opt.allowed_with(cmd) {
                diags.push(not_allowed(occ, cmd));
                continue;
            }
            let Some(slot) = occ.opt.slot() else {
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == slot) {
                let (message, help) = match slot {
                    "service-address" => (
                        "more than one service on one line".to_string(),
                        "a line acts on one service: put each command on its own line",
                    ),
                    "forwarding-method" => (
                        "more than one forwarding method".to_string(),
                        "choose one of -g (direct routing), -i (tunneling) and -m (NAT)",
                    ),
                    _ => (
                        format!("`{}` is given twice", occ.written),
                        "remove one of them",
                    ),
                };
                diags.push(
                    Diagnostic::error(Code::LegacySyntax, occ.span(), message)
                        .label("given again here")
                        .note(first.span(), "first given here")
                        .help(help),
                );
                continue;
            }
            seen.push((slot, occ));
        }
        let fwmark = self.get(Opt::Fwmark);
        for v6 in self.occs.iter().filter(|o| o.opt == Opt::Ipv6) {
            if !v6.opt.allowed_with(cmd) {
                continue;
            }
            let message = match fwmark {
                Some(f) if f.index < v6.index => continue,
                Some(_) => "`-6` must come after `-f`",
                None => "`-6` is only for firewall-mark services",
            };
            diags.push(
                Diagnostic::error(Code::LegacySyntax, v6.name, message)
                    .label("no `-f MARK` before it")
                    .help(
                        "write `-f MARK -6` for an IPv6 firewall-mark service; an IPv6 address \
                         selects IPv6 by itself",
                    ),
            );
        }
        let cmd_occ = &self.occs[0];
        if cmd.needs_service() && !self.occs.iter().any(|o| o.opt.is_service()) {
            diags.push(
                Diagnostic::error(
                    Code::LegacySyntax,
                    cmd_occ.name,
                    format!("`{}` needs a service", cmd_occ.written),
                )
                .label("no service on this line")
                .help(
                    "add the service: `-t ADDR:PORT`, `-u ADDR:PORT`, `--sctp-service ADDR:PORT` \
                     or `-f MARK`",
                ),
            );
        }
        if cmd.needs_server() && self.get(Opt::RealServer).is_none() {
            diags.push(
                Diagnostic::error(
                    Code::LegacySyntax,
                    cmd_occ.name,
                    format!("`{}` needs a real server", cmd_occ.written),
                )
                .label("no real server on this line")
                .help("add `-r ADDR[:PORT]`, like `-r 192.168.1.10:80`"),
            );
        }
    }

    /// Bare words: the three timeouts of `--set`, and nothing anywhere else.
    fn check_args(&self, cmd: Cmd, diags: &mut Diags) {
        let expected = if cmd == Cmd::Set { 3 } else { 0 };
        if self.args.len() < expected {
            let cmd_occ = &self.occs[0];
            diags.push(
                Diagnostic::error(
                    Code::LegacySyntax,
                    cmd_occ.span().to(self.span),
                    format!(
                        "`{}` needs three timeouts: TCP, TCPFIN and UDP",
                        cmd_occ.written
                    ),
                )
                .label(format!("{} given", self.args.len()))
                .help(
                    "write it like `--set 900 120 300`, in seconds; 0 leaves a timeout unchanged",
                ),
            );
        }
        if let Some(extra) = self.args.get(expected) {
            diags.push(
                Diagnostic::error(
                    Code::LegacySyntax,
                    extra.span,
                    format!("unexpected word `{}`", extra.text),
                )
                .label("not an option or an option's value")
                .help("remove it, or put it right after the option it belongs to"),
            );
        }
    }

    fn run(&self, cmd: Cmd, diags: &mut Diags, builder: &mut Builder) {
        match cmd {
            Cmd::AddService | Cmd::EditService => {
                let spec = self.service_spec(diags);
                if let (true, Some(spec)) = (diags.flush(builder), spec) {
                    if cmd == Cmd::AddService {
                        builder.add_service(&spec);
                    } else {
                        builder.edit_service(&spec);
                    }
                }
            }
            Cmd::DeleteService => {
                let key = self.service_key(diags);
                if let (true, Some(key)) = (diags.flush(builder), key) {
                    builder.delete_service(key);
                }
            }
            Cmd::Clear => builder.clear(),
            Cmd::AddServer | Cmd::EditServer => {
                let key = self.service_key(diags);
                let spec = key.and_then(|_| self.server_spec(diags));
                if let (true, Some(key), Some(spec)) = (diags.flush(builder), key, spec) {
                    if cmd == Cmd::AddServer {
                        builder.add_server(key, &spec);
                    } else {
                        builder.edit_server(key, &spec);
                    }
                }
            }
            Cmd::DeleteServer => {
                let key = self.service_key(diags);
                let server = self.real_server(diags);
                if let (true, Some(key), Some((addr, port))) = (diags.flush(builder), key, server) {
                    builder.delete_server(key, addr, port.map(|p| p.value));
                }
            }
            Cmd::Set => {
                let kinds = [TimeoutKind::Tcp, TimeoutKind::TcpFin, TimeoutKind::Udp];
                let values: Vec<(TimeoutKind, Spanned<u64>)> = kinds
                    .into_iter()
                    .zip(&self.args)
                    .filter_map(|(kind, arg)| {
                        let what = format!("the {} timeout", kind.name());
                        let n = diags.take(number(arg.text, arg.span, &what))?;
                        Some((kind, Spanned::new(n, arg.span)))
                    })
                    .collect();
                if diags.flush(builder) {
                    for (kind, value) in values {
                        builder.set_timeout(kind, value);
                    }
                }
            }
            Cmd::StartDaemon => {
                let spec = self.daemon_spec(diags);
                if let (true, Some(spec)) = (diags.flush(builder), spec) {
                    builder.add_daemon(&spec);
                }
            }
            Cmd::StopDaemon => {
                let state = self.occs[0]
                    .value
                    .and_then(|v| diags.take(values::daemon_state(v.text, v.span)));
                if let (true, Some(state)) = (diags.flush(builder), state) {
                    builder.stop_daemon(state, self.span);
                }
            }
            // Listing and zeroing change nothing in the table, but the kernel still refuses
            // them for a service that does not exist.
            Cmd::Zero | Cmd::List => {
                if let Some(key) = self.service_key(diags) {
                    if !builder.has_service(&key.value) {
                        diags.push(crate::check::no_such_service(key));
                    }
                }
            }
            Cmd::Save | Cmd::Restore | Cmd::Help | Cmd::Version => {}
        }
    }

    /// `-t|-u|--sctp-service ADDR[:PORT]` or `-f MARK [-6]`; the span covers the option and
    /// its value (and `-6`).
    fn service_key(&self, diags: &mut Diags) -> Option<Spanned<ServiceKey>> {
        let occ = self.occs.iter().find(|o| o.opt.is_service())?;
        let value = occ.value?;
        let protocol = match occ.opt {
            Opt::Tcp => Protocol::Tcp,
            Opt::Udp => Protocol::Udp,
            Opt::Sctp => Protocol::Sctp,
            _ => {
                let mark = diags.take(values::fwmark(value.text, value.span))?;
                if value.text.starts_with('-') {
                    diags.push(
                        Diagnostic::warning(
                            Code::LegacySyntax,
                            value.span,
                            format!(
                                "firewall mark {mark} written as {}: `ipvsadm -R` refuses this line",
                                value.text
                            ),
                        )
                        .label(format!("read as mark {mark}"))
                        .help(format!(
                            "write `-f {mark}`: ipvsadm -S prints marks from 2147483648 up as \
                             negative numbers, but ipvsadm -R does not read them back"
                        )),
                    );
                }
                let v6 = self.get(Opt::Ipv6);
                let family = if v6.is_some() {
                    Family::Ipv6
                } else {
                    Family::Ipv4
                };
                let span = v6.map_or(occ.span(), |v| occ.span().to(v.name));
                return Some(Spanned::new(ServiceKey::Fwmark { family, mark }, span));
            }
        };
        let mut warnings = Vec::new();
        let endpoint = values::endpoint(value.text, value.span, Some(protocol), &mut warnings);
        warnings.into_iter().for_each(|w| diags.push(w));
        let (addr, port) = diags.take(endpoint)?;
        let key = ServiceKey::Inet {
            protocol,
            addr: addr.value,
            port: port.map_or(0, |p| p.value),
        };
        Some(Spanned::new(key, occ.span()))
    }

    /// `-r ADDR[:PORT]`. ipvsadm reads a port name for the protocol of the service option
    /// before `-r` (TCP for `-f`), and has none when the service comes after it.
    fn real_server(&self, diags: &mut Diags) -> Option<values::Endpoint> {
        let occ = self.get(Opt::RealServer)?;
        let value = occ.value?;
        let protocol = self
            .occs
            .iter()
            .find(|o| o.opt.is_service() && o.index < occ.index)
            .map(|o| match o.opt {
                Opt::Udp => Protocol::Udp,
                Opt::Sctp => Protocol::Sctp,
                _ => Protocol::Tcp,
            });
        let mut warnings = Vec::new();
        let endpoint = values::endpoint(value.text, value.span, protocol, &mut warnings);
        warnings.into_iter().for_each(|w| diags.push(w));
        diags.take(endpoint)
    }

    fn number_of(&self, opt: Opt, what: &str, diags: &mut Diags) -> Option<Spanned<u64>> {
        let v = self.value(opt)?;
        diags
            .take(number(v.text, v.span, what))
            .map(|n| Spanned::new(n, v.span))
    }

    /// `-A`/`-E`: the service and its settings.
    fn service_spec(&self, diags: &mut Diags) -> Option<ServiceSpec> {
        let key = self.service_key(diags);
        let scheduler = self.value(Opt::Scheduler).and_then(|v| {
            diags
                .take(values::scheduler(v.text, v.span))
                .map(|s| Spanned::new(s, v.span))
        });
        let persistence = self.get(Opt::Persistent).and_then(|o| match o.value {
            Some(v) => diags
                .take(number(v.text, v.span, "the persistence timeout"))
                .map(|n| Spanned::new(n, v.span)),
            None => Some(Spanned::new(u64::from(DEFAULT_PERSISTENCE), o.name)),
        });
        let netmask = self.value(Opt::Netmask).and_then(|v| {
            diags
                .take(values::netmask(v.text, v.span))
                .map(|m| Spanned::new(m, v.span))
        });
        let pe = self
            .value(Opt::Pe)
            .map(|v| Spanned::new(v.text.to_string(), v.span));
        let flags = self
            .value(Opt::SchedFlags)
            .and_then(|v| diags.take(values::sched_flags(v.text, v.span)))
            .unwrap_or_default();
        let one_packet = self.get(Opt::Ops);
        let key = key?;
        if let (Some(mask), Family::Ipv4) = (netmask, key.value.family()) {
            if let NetmaskSpec::Prefix(p @ 0..=32) = mask.value {
                let dotted = Ipv4Addr::from(u32::MAX.checked_shl(32 - p as u32).unwrap_or(0));
                diags.push(
                    Diagnostic::warning(
                        Code::LegacySyntax,
                        mask.span,
                        format!(
                            "ipvsadm reads `-M {p}` as the mask 0.0.0.{p}, not as a prefix length"
                        ),
                    )
                    .label(format!("ipvsc reads this as /{p}, {dotted}"))
                    .help(format!(
                        "write the dotted mask, `-M {dotted}`, so that ipvsadm and ipvsc agree"
                    )),
                );
            }
        }
        let mut spec = ServiceSpec::new(self.span, key);
        spec.scheduler = scheduler;
        spec.persistence = persistence;
        spec.netmask = netmask;
        spec.pe = pe;
        spec.flags = flags;
        spec.one_packet = one_packet.map(|o| o.name);
        Some(spec)
    }

    /// `-a`/`-e`: the real server, its forwarding method, weight and thresholds.
    fn server_spec(&self, diags: &mut Diags) -> Option<ServerSpec> {
        let endpoint = self.real_server(diags);
        let method = self.occs.iter().find(|o| o.opt.is_forward()).map(|o| {
            let method = match o.opt {
                Opt::Masquerading => Method::Nat,
                Opt::Ipip => Method::Tunnel,
                _ => Method::Dr,
            };
            Spanned::new(method, o.name)
        });
        let tun_type = self.value(Opt::TunType).and_then(|v| {
            diags
                .take(values::tunnel_type(v.text, v.span))
                .map(|t| Spanned::new(t, v.span))
        });
        let tun_port = self
            .number_of(Opt::TunPort, "the tunnel port", diags)
            .and_then(|p| {
                diags
                    .take(in_range(p, 1, 65535, "the tunnel port"))
                    .map(|n| Spanned::new(n as u16, p.span))
            });
        let checksums: Vec<Spanned<Checksum>> = self
            .occs
            .iter()
            .filter_map(|o| {
                let c = match o.opt {
                    Opt::TunNocsum => Checksum::NoCsum,
                    Opt::TunCsum => Checksum::Csum,
                    Opt::TunRemcsum => Checksum::RemCsum,
                    _ => return None,
                };
                Some(Spanned::new(c, o.name))
            })
            .collect();
        let weight = self.number_of(Opt::Weight, "the weight", diags);
        let upper = self.number_of(Opt::UThreshold, "the upper threshold", diags);
        let lower = self.number_of(Opt::LThreshold, "the lower threshold", diags);
        let (addr, port) = endpoint?;

        Some(ServerSpec {
            span: self.span,
            addr,
            port,
            forward: ForwardSpec {
                method,
                tun_type,
                tun_port,
                checksums,
            },
            weight,
            upper,
            lower,
        })
    }

    /// `--start-daemon master|backup` and its `--mcast-*`, `--syncid`, `--sync-maxlen`.
    fn daemon_spec(&self, diags: &mut Diags) -> Option<DaemonSpec> {
        let cmd = &self.occs[0];
        let state = cmd
            .value
            .and_then(|v| diags.take(values::daemon_state(v.text, v.span)));
        let interface = match self.value(Opt::McastInterface) {
            Some(v) => Spanned::new(v.text.to_string(), v.span),
            None => {
                diags.push(
                    Diagnostic::warning(
                        Code::MissingValue,
                        cmd.span(),
                        "no `--mcast-interface`: ipvsadm starts the daemon on eth0",
                    )
                    .label("sync daemon on eth0")
                    .help("add `--mcast-interface IFACE` to name the interface that carries sync traffic"),
                );
                Spanned::new("eth0".to_string(), cmd.span())
            }
        };
        let group = self.value(Opt::McastGroup).and_then(|v| {
            diags
                .take(address(v.text, v.span))
                .map(|a| Spanned::new(a, v.span))
        });
        let syncid = self.number_of(Opt::Syncid, "the sync id", diags);
        let maxlen = self.number_of(Opt::SyncMaxlen, "the sync message length", diags);
        let port = self.number_of(Opt::McastPort, "the multicast port", diags);
        let ttl = self.number_of(Opt::McastTtl, "the multicast TTL", diags);
        Some(DaemonSpec {
            span: self.span,
            state: state?,
            interface: Some(interface),
            syncid,
            maxlen,
            group,
            port,
            ttl,
        })
    }
}

fn not_allowed(occ: &Occ, cmd: Cmd) -> Diagnostic {
    let takers: Vec<&str> = Cmd::SCRIPT
        .iter()
        .filter(|c| occ.opt.allowed_with(**c))
        .map(|c| c.flag())
        .collect();
    let help = if takers.as_slice() == ["-L"] {
        format!(
            "`{}` only changes how `ipvsadm -L` lists the table: remove it",
            occ.written
        )
    } else {
        format!(
            "`{}` is for {} lines; remove it from this one",
            occ.written,
            or_list(&takers)
        )
    };
    Diagnostic::error(
        Code::LegacySyntax,
        occ.span(),
        format!(
            "`{}` does not belong on a `{}` ({}) line",
            occ.written,
            cmd.flag(),
            cmd.name()
        ),
    )
    .label(format!("not an option of {}", cmd.flag()))
    .help(help)
}
