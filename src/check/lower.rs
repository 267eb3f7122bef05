//! The language's syntax tree to builder specs: constants, includes, address ranges, per-service
//! defaults for servers, and the typing of every value.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use pest::Parser as _;

use super::builder::*;
use super::suggest;
use super::values;
use crate::diagnostic::{Code, Diagnostic, Label};
use crate::model::*;
use crate::source::{FileId, Sources, Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::words::{self, Kind};
use crate::syntax::{self, IpvsParser, Rule};

struct Define {
    text: String,
    origin: Origin,
    /// Given on the command line: overrides the file's definition, and warned about when unused.
    given: bool,
    /// For a command-line define, the file's own definition of the name, which it overrides.
    overridden: Option<Span>,
    used: bool,
}

/// Where a constant's value was written, to point a diagnostic about it there.
#[derive(Clone, Copy)]
struct Origin {
    /// The constant's name where it is defined.
    name: Span,
    /// A value given on the command line (directly or through other constants): its text there.
    given: Option<Span>,
}

/// A `--define NAME=VALUE` from the command line, with its spans in the `<command line>` source.
pub struct Given {
    pub name: Text,
    pub value: Text,
}

/// One part of an endpoint whose constants were replaced, and the note on where it came from.
struct Part {
    value: Value,
    /// Where the part is in the file.
    at: Span,
    note: Option<(Span, String)>,
}

/// Lowers one file (and what it includes) into `builder`.
pub struct Lowerer<'a> {
    sources: &'a mut Sources,
    builder: &'a mut Builder,
    defines: HashMap<String, Define>,
    /// Every constant name the files define or use, to suggest for a misspelled command-line one.
    referenced: BTreeSet<String>,
    given_uses: GivenUses,
    /// The files being read, outermost first: canonical path, and the name to show.
    stack: Vec<(PathBuf, String)>,
}

/// Where the file uses command-line values that typed well: the spans of their uses, and the
/// text on the command line with the constant's name.
pub type GivenUses = HashMap<Span, (Span, String)>;

/// Parses and lowers file `file` into `builder`, with the command-line defines `given` visible
/// from its first line and overriding its own.
pub fn lower(
    sources: &mut Sources,
    file: FileId,
    given: Vec<Given>,
    builder: &mut Builder,
) -> GivenUses {
    let mut lowerer = Lowerer {
        sources,
        builder,
        defines: HashMap::new(),
        referenced: BTreeSet::new(),
        given_uses: HashMap::new(),
        stack: Vec::new(),
    };
    let names: Vec<Text> = given.iter().map(|g| g.name.clone()).collect();
    for g in given {
        let define = Define {
            text: g.value.text,
            origin: Origin {
                name: g.name.span,
                given: Some(g.value.span),
            },
            given: true,
            overridden: None,
            used: false,
        };
        lowerer.defines.insert(g.name.text, define);
    }
    lowerer.file(file);
    for name in names {
        if lowerer
            .defines
            .get(&name.text)
            .is_some_and(|d| d.given && !d.used)
        {
            let known = lowerer.referenced.iter().map(String::as_str);
            let help = match suggest::did_you_mean(&name.text, known) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "the file neither defines nor uses a constant of this name".to_string(),
            };
            lowerer.builder.report(unused_define(&name, &help));
        }
    }
    lowerer.given_uses
}

/// A check made after typing (a range, a threshold) points at the file; when it is about a
/// command-line value, it also notes where that value was given.
pub fn note_given(diagnostics: &mut [Diagnostic], uses: &GivenUses) {
    for d in diagnostics {
        let spans = std::iter::once(&d.label).chain(&d.notes).map(|l| l.span);
        let mut found: Vec<(Span, String)> = spans
            .filter_map(|span| uses.get(&span))
            .filter(|(given, _)| {
                let given = *given;
                d.label.span != given && d.notes.iter().all(|n| n.span != given)
            })
            .cloned()
            .collect();
        found.dedup();
        for (given, name) in found {
            d.notes.push(Label {
                span: given,
                text: format!("`${name}` is given here"),
            });
        }
    }
}

/// The warning for a command-line define that nothing uses: most likely a misspelled name.
pub fn unused_define(name: &Text, help: &str) -> Diagnostic {
    Diagnostic::warning(
        Code::UnusedDefine,
        name.span,
        format!(
            "`{}` is defined on the command line but never used",
            name.text
        ),
    )
    .label("not used by the file")
    .help(help)
}

fn unknown(code: Code, word: &Text, what: &str, candidates: &[&str]) -> Diagnostic {
    Diagnostic::error(code, word.span, format!("unknown {what} `{}`", word.text))
        .label(format!("unknown {what}"))
        .help(suggest::help(&word.text, candidates))
}

impl Lowerer<'_> {
    fn report(&mut self, d: Diagnostic) {
        self.builder.report(d);
    }

    fn file(&mut self, file: FileId) {
        if let Some(d) = self.sources.encoding_error(file) {
            return self.report(d);
        }
        let source = self.sources.get(file);
        if let Some(path) = &source.path {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            self.stack.push((canonical, source.name.clone()));
        }
        // Items are lowered as they are parsed, so memory stays proportional to one item.
        let text = self.sources.get(file).text.clone();
        syntax::parse_each(&text, file, |result| match result {
            Ok(item) => self.item(file, &item),
            Err(d) => self.report(d),
        });
        if self.sources.get(file).path.is_some() {
            self.stack.pop();
        }
    }

    fn item(&mut self, file: FileId, item: &Item) {
        match &item.kind {
            ItemKind::Define { name, value } => self.define(name, value),
            ItemKind::Include { path } => self.include(file, path),
            ItemKind::Drain(v) => {
                if let Some(drain) = self.drain(v) {
                    self.builder.set_drain(None, drain);
                }
            }
            ItemKind::Timeouts(block) => self.timeouts(block),
            ItemKind::Defense(block) => self.settings(block, true),
            ItemKind::Sysctl(block) => self.settings(block, false),
            ItemKind::Sync { state, block } => self.sync(item.span, state, block),
            ItemKind::Service(decl) => self.service(decl),
            ItemKind::Unknown { word } => {
                let names = words::names(words::TOP_LEVEL);
                let d = unknown(Code::UnknownKeyword, word, "statement", &names);
                self.report(d);
            }
        }
    }

    fn define(&mut self, name: &Text, value: &Text) {
        self.referenced.insert(name.text.clone());
        if let Some(first) = self.defines.get_mut(&name.text) {
            if first.given && first.overridden.is_none() {
                // The command line's value wins; the file's is the default it replaces.
                first.overridden = Some(name.span);
                first.used = true;
                return;
            }
            let d = Diagnostic::error(
                Code::DupDefine,
                name.span,
                format!("`{}` is defined twice", name.text),
            )
            .label("defined again here")
            .note(
                first.overridden.unwrap_or(first.origin.name),
                "first defined here",
            )
            .help("give the second constant another name");
            self.report(d);
            return;
        }
        let (text, given) = match value.text.strip_prefix('$') {
            Some(other) => {
                let v = Value {
                    text: other.to_string(),
                    variable: true,
                    span: value.span,
                };
                match self.resolve(&v) {
                    Some((text, origin)) => (text, origin.and_then(|o| o.given)),
                    None => return,
                }
            }
            None => (value.text.clone(), None),
        };
        self.defines.insert(
            name.text.clone(),
            Define {
                text,
                origin: Origin {
                    name: name.span,
                    given,
                },
                given: false,
                overridden: None,
                used: false,
            },
        );
    }

    fn include(&mut self, file: FileId, path: &Text) {
        let base = self
            .sources
            .get(file)
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let full = base.join(&path.text);
        let canonical = full.canonicalize().unwrap_or_else(|_| full.clone());
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == canonical) {
            let chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(_, name)| name.clone())
                .chain(std::iter::once(full.display().to_string()))
                .collect();
            let d = Diagnostic::error(
                Code::IncludeCycle,
                path.span,
                format!("`{}` includes itself", path.text),
            )
            .label("this include closes a cycle")
            .help(format!("the chain is {}", chain.join(" → ")));
            self.report(d);
            return;
        }
        let id = match self.sources.find_path(&full) {
            Some(id) => id,
            None => match self.sources.read(&full) {
                Ok(id) => id,
                Err(e) => {
                    let d = Diagnostic::error(
                        Code::Include,
                        path.span,
                        format!("cannot read `{}`: {e}", full.display()),
                    )
                    .label("cannot read this file")
                    .help("an include path is relative to the file that includes it");
                    self.report(d);
                    return;
                }
            },
        };
        self.file(id);
    }

    /// The text a value stands for, and where the constant it came from was written.
    fn resolve(&mut self, v: &Value) -> Option<(String, Option<Origin>)> {
        if !v.variable {
            return Some((v.text.clone(), None));
        }
        self.referenced.insert(v.text.clone());
        match self.defines.get_mut(&v.text) {
            Some(d) => {
                d.used = true;
                Some((d.text.clone(), Some(d.origin)))
            }
            None => {
                let names: Vec<&str> = self.defines.keys().map(String::as_str).collect();
                let mut d = Diagnostic::error(
                    Code::UndefinedVariable,
                    v.span,
                    format!("`${}` is not defined", v.text),
                )
                .label("undefined constant");
                d = match suggest::did_you_mean(&v.text, names.iter().copied()) {
                    Some(best) => d.help(format!("did you mean `${best}`?")),
                    None => d.help(format!(
                        "define it before its first use: define {} = ...",
                        v.text
                    )),
                };
                self.report(d);
                None
            }
        }
    }

    /// Resolves and types a value. An error in a file constant's text also points at the
    /// constant; one in a command-line value is labelled there, and points at its use.
    fn typed<T>(
        &mut self,
        v: &Value,
        parse: impl FnOnce(&str, Span) -> Result<T, Diagnostic>,
    ) -> Option<Spanned<T>> {
        let (text, origin) = self.resolve(v)?;
        let given = origin.and_then(|o| o.given);
        match parse(&text, given.unwrap_or(v.span)) {
            Ok(value) => {
                if let Some(given) = given {
                    self.given_uses.insert(v.span, (given, v.text.clone()));
                }
                Some(Spanned::new(value, v.span))
            }
            Err(mut d) => {
                d = match (origin, given) {
                    (_, Some(_)) => d.note(v.span, format!("`${}` is used here", v.text)),
                    (Some(o), None) => d.note(o.name, format!("`${}` is defined here", v.text)),
                    (None, None) => d,
                };
                self.report(d);
                None
            }
        }
    }

    fn number(&mut self, v: &Value, what: &str) -> Option<Spanned<u64>> {
        self.typed(v, |t, s| values::number(t, s, what))
    }

    fn duration(&mut self, v: &Value) -> Option<Spanned<u64>> {
        self.typed(v, values::duration)
    }

    /// `off`, or the longest wait: a duration from 1 second to 31 days.
    fn drain(&mut self, v: &Value) -> Option<Spanned<Drain>> {
        let (text, _) = self.resolve(v)?;
        if text == "off" {
            return Some(Spanned::new(Drain::Off, v.span));
        }
        let secs = self.duration(v)?;
        if secs.value == 0 {
            let d = Diagnostic::error(Code::OutOfRange, v.span, "a drain of 0 seconds")
                .label("0 is no deadline")
                .help(
                    "write `drain off` to delete removed servers at once, or a duration like 10m",
                );
            self.report(d);
            return None;
        }
        let secs = self.builder.report_result(values::in_range(
            secs,
            1,
            MAX_TIMEOUT.into(),
            "the drain",
        ))?;
        Some(Spanned::new(Drain::For(secs as u32), v.span))
    }

    fn timeouts(&mut self, block: &Block) {
        let names = words::names(words::TIMEOUTS);
        for setting in &block.settings {
            let kind = match setting.name.text.as_str() {
                "tcp" => TimeoutKind::Tcp,
                "tcpfin" => TimeoutKind::TcpFin,
                "udp" => TimeoutKind::Udp,
                _ => {
                    let d = unknown(Code::UnknownKeyword, &setting.name, "timeout", &names);
                    self.report(d);
                    continue;
                }
            };
            let Some(arg) = self.single_arg(setting, "a duration, like 15m") else {
                continue;
            };
            let Some(value) = self.duration(arg) else {
                continue;
            };
            if value.value == 0 {
                let d = Diagnostic::error(
                    Code::OutOfRange,
                    value.span,
                    format!("a {} timeout of 0", kind.name()),
                )
                .label("0 would leave the kernel's value unchanged")
                .help("remove the line to leave this timeout alone, or give at least 1s");
                self.report(d);
                continue;
            }
            self.builder.set_timeout(kind, value);
        }
    }

    fn single_arg<'s>(&mut self, setting: &'s Setting, what: &str) -> Option<&'s Value> {
        match setting.args.as_slice() {
            [one] => Some(one),
            [] => {
                let d = Diagnostic::error(
                    Code::MissingValue,
                    setting.name.span,
                    format!("`{}` needs a value", setting.name.text),
                )
                .label("no value")
                .help(format!("write {what} after `{}`", setting.name.text));
                self.report(d);
                None
            }
            [_, extra, ..] => {
                let d = Diagnostic::error(
                    Code::Syntax,
                    extra.span,
                    format!("`{}` takes one value", setting.name.text),
                )
                .label("unexpected value")
                .help("remove the extra value");
                self.report(d);
                None
            }
        }
    }

    fn settings(&mut self, block: &Block, defense: bool) {
        for setting in &block.settings {
            let Ok(sysctl) = setting.name.text.parse::<Sysctl>() else {
                let names: Vec<&str> = if defense {
                    Sysctl::ALL
                        .iter()
                        .filter(|s| is_defense(**s))
                        .map(|s| s.name())
                        .collect()
                } else {
                    Sysctl::ALL.iter().map(|s| s.name()).collect()
                };
                let what = if defense { "defense" } else { "sysctl" };
                let d = unknown(Code::UnknownSysctl, &setting.name, what, &names);
                self.report(d);
                continue;
            };
            if defense && !is_defense(sysctl) {
                let d = Diagnostic::error(
                    Code::UnknownSysctl,
                    setting.name.span,
                    format!("`{sysctl}` is not a DoS defense setting"),
                )
                .label("not a defense")
                .help(format!("put it in a `sysctl {{ {sysctl} ... }}` block"));
                self.report(d);
                continue;
            }
            if let Some(value) = self.sysctl_value(sysctl, setting) {
                if let Some(why) = sysctl.refusal(&value) {
                    let span = setting.args.first().map_or(setting.span, |a| {
                        a.span.to(setting.args.last().expect("not empty").span)
                    });
                    let d = Diagnostic::error(
                        Code::OutOfRange,
                        span,
                        format!("the kernel refuses `{sysctl} {}`", value.display(sysctl)),
                    )
                    .label("refused by the kernel")
                    .help(why.to_string());
                    self.report(d);
                    continue;
                }
                self.builder.set_sysctl(sysctl, value, setting.span);
            }
        }
    }

    fn sysctl_value(&mut self, sysctl: Sysctl, setting: &Setting) -> Option<SysctlValue> {
        use crate::model::SysctlKind;
        let kind = sysctl.kind();
        if kind == SysctlKind::Pair {
            let [a, b] = setting.args.as_slice() else {
                let d = Diagnostic::error(
                    Code::MissingValue,
                    setting.span,
                    format!("`{sysctl}` takes two numbers"),
                )
                .label("expected two numbers")
                .help(format!(
                    "write `{sysctl} 3 50`: sync after 3 packets, then every 50"
                ));
                self.report(d);
                return None;
            };
            let a = self.number(a, "a number")?;
            let b = self.number(b, "a number")?;
            let a = self.builder.report_result(values::in_range(
                a,
                0,
                i32::MAX as u64,
                "the first value",
            ))?;
            let b = self.builder.report_result(values::in_range(
                b,
                0,
                i32::MAX as u64,
                "the second value",
            ))?;
            return Some(SysctlValue::Pair(a as i64, b as i64));
        }
        let arg = self.single_arg(setting, "a value")?;
        let value = self.typed(arg, |text, span| match kind {
            SysctlKind::Defense => match text {
                "off" | "0" => Ok(SysctlValue::Defense(DefenseMode::Off)),
                "auto" | "1" | "2" => Ok(SysctlValue::Defense(DefenseMode::Auto)),
                "always" | "3" => Ok(SysctlValue::Defense(DefenseMode::Always)),
                _ => Err(Diagnostic::error(
                    Code::UnknownValue,
                    span,
                    format!("`{text}` is not a defense mode"),
                )
                .label("expected off, auto or always")
                .help("off: never; auto: when memory runs low (the kernel's 1 and 2); always: 3")),
            },
            SysctlKind::Switch => match text {
                "on" | "yes" | "true" | "1" => Ok(SysctlValue::Int(1)),
                "off" | "no" | "false" | "0" => Ok(SysctlValue::Int(0)),
                _ => Err(Diagnostic::error(
                    Code::UnknownValue,
                    span,
                    format!("`{sysctl}` is on or off, not `{text}`"),
                )
                .label("expected on or off")
                .help("write on or off")),
            },
            SysctlKind::Int { min, max } => {
                let n = values::number(text, span, "the value")?;
                let n =
                    values::in_range(Spanned::new(n, span), min as u64, max as u64, sysctl.name())?;
                Ok(SysctlValue::Int(n as i64))
            }
            SysctlKind::Pair => unreachable!("handled above"),
        })?;
        Some(value.value)
    }

    fn sync(&mut self, span: Span, state: &Value, block: &Block) {
        let state = self.typed(state, |text, span| match text {
            "master" => Ok(DaemonState::Master),
            "backup" => Ok(DaemonState::Backup),
            _ => {
                let word = Text {
                    text: text.to_string(),
                    span,
                };
                let states = &words::names(words::SYNC_STATES);
                Err(unknown(
                    Code::UnknownValue,
                    &word,
                    "sync daemon state",
                    states,
                ))
            }
        });
        let Some(Spanned { value: state, .. }) = state else {
            return;
        };
        let mut spec = DaemonSpec {
            span,
            state,
            interface: None,
            syncid: None,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        };
        let options = words::names(words::SYNC_OPTIONS);
        for setting in &block.settings {
            let name = setting.name.text.as_str();
            if !options.contains(&name) {
                let d = unknown(Code::UnknownKeyword, &setting.name, "sync option", &options);
                self.report(d);
                continue;
            }
            let Some(arg) = self.single_arg(setting, "a value") else {
                continue;
            };
            match name {
                "interface" => {
                    spec.interface = self.typed(arg, |t, _| Ok(t.to_string()));
                }
                "group" => spec.group = self.typed(arg, values::address),
                "syncid" => spec.syncid = self.number(arg, "the sync id"),
                "maxlen" => spec.maxlen = self.number(arg, "the message length"),
                "port" => spec.port = self.number(arg, "the port"),
                _ => spec.ttl = self.number(arg, "the TTL"),
            }
        }
        self.builder.add_daemon(&spec);
    }

    fn service_key(&mut self, decl: &ServiceDecl) -> Option<Spanned<ServiceKey>> {
        match &decl.key {
            ServiceKeyDecl::Fwmark { mark, family } => {
                let m = self.number(mark, "a firewall mark")?;
                let m = self.builder.report_result(values::in_range(
                    m,
                    1,
                    u32::MAX.into(),
                    "the firewall mark",
                ))?;
                let family = match family.as_ref().map(|f| f.text.as_str()) {
                    None | Some("ipv4") => Family::Ipv4,
                    Some("ipv6") => Family::Ipv6,
                    Some(_) => {
                        let f = family.as_ref().expect("matched Some");
                        let families = words::names(words::FAMILIES);
                        let d = unknown(Code::UnknownValue, f, "address family", &families);
                        self.report(d);
                        return None;
                    }
                };
                Some(Spanned::new(
                    ServiceKey::Fwmark {
                        family,
                        mark: m as u32,
                    },
                    decl.head,
                ))
            }
            ServiceKeyDecl::Inet { protocol, endpoint } => {
                let proto = Protocol::ALL
                    .into_iter()
                    .find(|p| p.name() == protocol.text);
                let Some(proto) = proto else {
                    let d = unknown(
                        Code::UnknownProtocol,
                        protocol,
                        "protocol",
                        &words::names(words::SERVICE_KINDS),
                    );
                    self.report(d);
                    return None;
                };
                let (addrs, port) = self.endpoint(endpoint)?;
                if addrs.len() != 1 {
                    let d = Diagnostic::error(
                        Code::AddressRange,
                        endpoint.span,
                        "a service has one address, not a range",
                    )
                    .label("a range")
                    .help("declare one service per address, or use a firewall-mark service");
                    self.report(d);
                    return None;
                }
                Some(Spanned::new(
                    ServiceKey::Inet {
                        protocol: proto,
                        addr: addrs[0],
                        port: port.map_or(0, |p| p.value),
                    },
                    decl.head,
                ))
            }
        }
    }

    /// The addresses (one, or a range's) and the port of an endpoint.
    fn endpoint(&mut self, e: &Endpoint) -> Option<(Vec<IpAddr>, Option<Spanned<u16>>)> {
        let uses_constant = e.host.variable
            || e.range_end.as_ref().is_some_and(|v| v.variable)
            || e.port.as_ref().is_some_and(|v| v.variable);
        let (host, end, port) = if uses_constant {
            self.substituted_endpoint(e)?
        } else {
            let part = |value: &Value| Part {
                value: value.clone(),
                at: value.span,
                note: None,
            };
            (
                part(&e.host),
                e.range_end.as_ref().map(part),
                e.port.as_ref().map(part),
            )
        };
        let noted = |d: Diagnostic, part: &Part| match &part.note {
            Some((span, text)) => d.note(*span, text),
            None => d,
        };
        let first = match values::address(&host.value.text, host.value.span) {
            Ok(a) => a,
            Err(d) => {
                self.report(noted(d, &host));
                return None;
            }
        };
        let addrs = match end {
            Some(end) => {
                let last = match values::address(&end.value.text, end.value.span) {
                    Ok(a) => a,
                    Err(d) => {
                        self.report(noted(d, &end));
                        return None;
                    }
                };
                match values::range(first, last, e.span) {
                    Ok(list) => list,
                    Err(d) => {
                        self.report(noted(d, &end));
                        return None;
                    }
                }
            }
            None => vec![first],
        };
        let port = match port {
            Some(p) => match values::port(&p.value.text, p.value.span) {
                Ok(v) => Some(Spanned::new(v, p.at)),
                Err(d) => {
                    self.report(noted(d, &p));
                    return None;
                }
            },
            None => None,
        };
        Some((addrs, port))
    }

    /// An endpoint with its constants replaced by their text and parsed again. A part that
    /// came from a command-line value is labelled there; otherwise it is the endpoint, with a
    /// note at the constant it came from.
    fn substituted_endpoint(&mut self, e: &Endpoint) -> Option<(Part, Option<Part>, Option<Part>)> {
        // Each constant's text in the substituted endpoint, and the constant.
        let mut pieces: Vec<(Range<usize>, &Value, Origin)> = Vec::new();
        let mut text = String::new();
        self.substitute(&mut text, &mut pieces, &e.host, true)?;
        if let Some(end) = &e.range_end {
            text.push('-');
            self.substitute(&mut text, &mut pieces, end, true)?;
        }
        if let Some(port) = &e.port {
            text.push(':');
            self.substitute(&mut text, &mut pieces, port, false)?;
        }
        let first_note = pieces
            .first()
            .map(|(_, _, o)| (o.name, "the constant is defined here".to_string()));
        let part = |pair: pest::iterators::Pair<Rule>| {
            let (range, str) = (pair.as_span().start()..pair.as_span().end(), pair.as_str());
            let piece = pieces
                .iter()
                .find(|(r, _, _)| r.start <= range.start && range.end <= r.end);
            let (span, note) = match piece {
                Some((r, v, Origin { given: Some(g), .. })) => (
                    Span::new(
                        g.file,
                        g.start + range.start - r.start..g.start + range.end - r.start,
                    ),
                    Some((v.span, format!("`${}` is used here", v.text))),
                ),
                Some((_, _, o)) => (
                    e.span,
                    Some((o.name, "the constant is defined here".to_string())),
                ),
                None => (e.span, first_note.clone()),
            };
            Part {
                value: Value {
                    text: str.to_string(),
                    variable: false,
                    span,
                },
                at: e.span,
                note,
            }
        };
        let Ok(mut pairs) = IpvsParser::parse(Rule::server_addr_only, &text) else {
            let mut d = Diagnostic::error(
                Code::BadAddress,
                e.span,
                format!("`{text}` is not an address"),
            )
            .label("not an address")
            .help("a constant used as an address holds an address, a range, or ADDRESS:PORT");
            for (_, v, origin) in &pieces {
                d = match origin.given {
                    Some(g) => d.note(g, format!("`${}` holds the value given here", v.text)),
                    None => d.note(origin.name, "the constant is defined here"),
                };
            }
            self.report(d);
            return None;
        };
        let addr = pairs
            .next()
            .and_then(|p| p.into_inner().next())
            .expect("server_addr_only holds a server_addr");
        let (mut host, mut end, mut port) = (None, None, None);
        for pair in addr.into_inner() {
            match pair.as_rule() {
                Rule::host => host = Some(part(innermost(pair))),
                Rule::range_end => {
                    let host = pair.into_inner().next().expect("a range end holds a host");
                    end = Some(part(innermost(host)));
                }
                _ => port = Some(part(innermost(pair))),
            }
        }
        Some((host.expect("a host"), end, port))
    }

    /// Appends the text of `v` to an endpoint's, noting where a constant's text lies in it.
    fn substitute<'v>(
        &mut self,
        text: &mut String,
        pieces: &mut Vec<(Range<usize>, &'v Value, Origin)>,
        v: &'v Value,
        bracket: bool,
    ) -> Option<()> {
        let (t, origin) = self.resolve(v)?;
        let written = if bracket { bracketed(&t, v) } else { t.clone() };
        let start = text.len() + (written.len() - t.len()) / 2;
        if let Some(origin) = origin {
            pieces.push((start..start + t.len(), v, origin));
        }
        text.push_str(&written);
        Some(())
    }

    fn service(&mut self, decl: &ServiceDecl) {
        let key = self.service_key(decl);
        let mut spec = key.map(|k| ServiceSpec::new(decl.head, k));
        let mut seen = Vec::new();
        let mut defaults = ServerDefaults::default();
        let mut servers = Vec::new();
        let mut drain = None;
        for stmt in &decl.stmts {
            let name = stmt_name(&stmt.kind);
            if let Some(name) = name.filter(|n| *n != "server") {
                if let Some(first) = seen_before(&mut seen, name, stmt.span) {
                    self.report(twice(name, stmt.span, first, "set", "in this service"));
                    continue;
                }
            }
            match &stmt.kind {
                StmtKind::Scheduler { name, flags } => {
                    let Ok(s) = name.text.parse::<Scheduler>() else {
                        let names: Vec<&str> = Scheduler::ALL.iter().map(|s| s.name()).collect();
                        let d = unknown(Code::UnknownScheduler, name, "scheduler", &names);
                        self.report(d);
                        continue;
                    };
                    let flag_specs: Vec<_> = flags.iter().filter_map(|f| self.flag(f)).collect();
                    if let Some(spec) = &mut spec {
                        spec.scheduler = Some(Spanned::new(s, name.span));
                        spec.flags = flag_specs;
                    }
                }
                StmtKind::Persistent { timeout, netmask } => {
                    let t = match timeout {
                        Some(t) => self.duration(t),
                        None => Some(Spanned::new(u64::from(DEFAULT_PERSISTENCE), stmt.span)),
                    };
                    let m = netmask.as_ref().and_then(|m| self.netmask(m));
                    if let Some(spec) = &mut spec {
                        spec.persistence = t;
                        if m.is_some() {
                            spec.netmask = m;
                        }
                    }
                }
                StmtKind::Netmask(m) => {
                    let m = self.netmask(m);
                    if let Some(spec) = &mut spec {
                        spec.netmask = m;
                    }
                }
                StmtKind::Pe(name) => {
                    if let Some(spec) = &mut spec {
                        spec.pe = Some(Spanned::new(name.text.clone(), name.span));
                    }
                }
                StmtKind::OnePacket => {
                    if let Some(spec) = &mut spec {
                        spec.one_packet = Some(stmt.span);
                    }
                }
                StmtKind::Drain(v) => drain = self.drain(v),
                StmtKind::Forward(_)
                | StmtKind::Weight(_)
                | StmtKind::Upper(_)
                | StmtKind::Lower(_) => self.server_option(&mut defaults, stmt),
                StmtKind::Server(server) => servers.push((stmt.span, server)),
                StmtKind::Unknown { word, .. } => {
                    let d = unknown(
                        Code::UnknownKeyword,
                        word,
                        "service statement",
                        &words::names(words::SERVICE),
                    );
                    self.report(d);
                }
            }
        }
        let mut server_specs = Vec::new();
        for (span, server) in servers {
            let mut own = ServerDefaults::default();
            let mut seen = Vec::new();
            for option in &server.options {
                if let Some(name) = stmt_name(&option.kind) {
                    if let Some(first) = seen_before(&mut seen, name, option.span) {
                        self.report(twice(name, option.span, first, "given", "for this server"));
                        continue;
                    }
                }
                self.server_option(&mut own, option);
            }
            let Some((addrs, port)) = self.endpoint(&server.addr) else {
                continue;
            };
            for addr in addrs {
                server_specs.push(ServerSpec {
                    span,
                    addr: Spanned::new(addr, server.addr.host.span.to(server.addr.span)),
                    port,
                    forward: own
                        .forward
                        .clone()
                        .unwrap_or_else(|| defaults.forward.clone().unwrap_or_default()),
                    weight: own.weight.or(defaults.weight),
                    upper: own.upper.or(defaults.upper),
                    lower: own.lower.or(defaults.lower),
                });
            }
        }
        let Some(spec) = spec else {
            return;
        };
        if self.builder.add_service(&spec) {
            for server in &server_specs {
                self.builder.add_server(spec.key, server);
            }
            if let Some(drain) = drain {
                self.builder.set_drain(Some(spec.key.value), drain);
            }
        }
    }

    fn flag(&mut self, word: &Text) -> Option<Spanned<FlagSpec>> {
        const HASH: &[Scheduler] = &[Scheduler::Sh, Scheduler::Mh];
        let (bit, only_for): (u8, &'static [Scheduler]) = match word.text.as_str() {
            "fallback" => (SchedFlags::FLAG1, HASH),
            "port" => (SchedFlags::FLAG2, HASH),
            "flag-1" => (SchedFlags::FLAG1, &[]),
            "flag-2" => (SchedFlags::FLAG2, &[]),
            "flag-3" => (SchedFlags::FLAG3, &[]),
            "sh-fallback" => (SchedFlags::FLAG1, &[Scheduler::Sh]),
            "sh-port" => (SchedFlags::FLAG2, &[Scheduler::Sh]),
            "mh-fallback" => (SchedFlags::FLAG1, &[Scheduler::Mh]),
            "mh-port" => (SchedFlags::FLAG2, &[Scheduler::Mh]),
            _ => {
                let d = unknown(
                    Code::UnknownValue,
                    word,
                    "scheduler flag",
                    &words::names(&words::SCHEDULER_FLAGS[..words::OFFERED_FLAGS]),
                );
                self.report(d);
                return None;
            }
        };
        Some(Spanned::new(FlagSpec { bit, only_for }, word.span))
    }

    fn netmask(&mut self, v: &Value) -> Option<Spanned<NetmaskSpec>> {
        self.typed(v, |text, span| {
            if let Some(prefix) = text.strip_prefix('/') {
                values::number(prefix, span, "a prefix length").map(NetmaskSpec::Prefix)
            } else if text.contains('.') {
                // A constant may hold an IPv6 address with a dotted tail (`::ffff:1.2.3.4`).
                match values::address(text, span)? {
                    IpAddr::V4(m) => Ok(NetmaskSpec::Ipv4(m)),
                    IpAddr::V6(_) => Err(Diagnostic::error(
                        Code::BadAddress,
                        span,
                        format!("`{text}` is not a netmask"),
                    )
                    .label("not a netmask")
                    .help(
                        "write a dotted IPv4 mask like 255.255.255.0, or a prefix length like /64",
                    )),
                }
            } else {
                values::number(text, span, "a prefix length").map(NetmaskSpec::Prefix)
            }
        })
    }

    fn server_option(&mut self, into: &mut ServerDefaults, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Forward(f) => into.forward = self.forward(f),
            StmtKind::Weight(v) => into.weight = self.number(v, "the weight"),
            StmtKind::Upper(v) => into.upper = self.number(v, "the upper threshold"),
            StmtKind::Lower(v) => into.lower = self.number(v, "the lower threshold"),
            StmtKind::Unknown { word, .. } => {
                let options = words::names_of(words::SERVICE, Kind::ServerOption);
                let d = unknown(Code::UnknownKeyword, word, "server option", &options);
                self.report(d);
            }
            _ => unreachable!("not a server option"),
        }
    }

    fn forward(&mut self, f: &ForwardDecl) -> Option<ForwardSpec> {
        let method = match f.method.text.as_str() {
            "dr" => Method::Dr,
            "nat" => Method::Nat,
            "tunnel" => Method::Tunnel,
            other => {
                let help = match other {
                    "direct" | "route" | "droute" | "gate" | "gatewaying" | "g" => {
                        "direct routing (ipvsadm -g) is written `forward dr`".to_string()
                    }
                    "masq" | "masquerade" | "masquerading" | "m" => {
                        "masquerading (ipvsadm -m) is written `forward nat`".to_string()
                    }
                    "ipip" | "tun" | "i" | "gue" | "gre" => {
                        format!(
                            "tunneling (ipvsadm -i) is written `forward tunnel {}`",
                            if other == "gue" || other == "gre" {
                                other
                            } else {
                                "ipip"
                            }
                        )
                    }
                    _ => suggest::help(other, &words::names(words::FORWARD_METHODS)),
                };
                let d = Diagnostic::error(
                    Code::UnknownValue,
                    f.method.span,
                    format!("unknown forwarding method `{other}`"),
                )
                .label("unknown forwarding method")
                .help(help);
                self.report(d);
                return None;
            }
        };
        let mut spec = ForwardSpec {
            method: Some(Spanned::new(method, f.method.span)),
            ..ForwardSpec::default()
        };
        for word in &f.tunnel {
            match word {
                TunnelWord::Port { port, keyword } => {
                    let p = self.typed(port, values::port)?;
                    spec.tun_port = Some(Spanned::new(p.value, keyword.to(p.span)));
                }
                TunnelWord::Word(w) => {
                    let span = w.span;
                    match w.text.as_str() {
                        "ipip" | "gue" | "gre" => {
                            let t = match w.text.as_str() {
                                "ipip" => TunnelType::Ipip,
                                "gue" => TunnelType::Gue,
                                _ => TunnelType::Gre,
                            };
                            if let Some(first) = spec.tun_type {
                                let d =
                                    Diagnostic::error(Code::TunnelOption, span, "two tunnel types")
                                        .label("second tunnel type")
                                        .note(first.span, "first tunnel type")
                                        .help("a tunnel is ipip, gue or gre: keep one");
                                self.report(d);
                                return None;
                            }
                            spec.tun_type = Some(Spanned::new(t, span));
                        }
                        "nocsum" => spec.checksums.push(Spanned::new(Checksum::NoCsum, span)),
                        "csum" => spec.checksums.push(Spanned::new(Checksum::Csum, span)),
                        "remcsum" => spec.checksums.push(Spanned::new(Checksum::RemCsum, span)),
                        _ => {
                            let d = unknown(
                                Code::UnknownValue,
                                w,
                                "tunnel option",
                                &words::names(words::TUNNEL_WORDS),
                            );
                            self.report(d);
                            return None;
                        }
                    }
                }
            }
        }
        Some(spec)
    }
}

/// The address inside a host's brackets, or the number of a port.
fn innermost(pair: pest::iterators::Pair<Rule>) -> pest::iterators::Pair<Rule> {
    pair.clone().into_inner().next().unwrap_or(pair)
}

fn bracketed(text: &str, v: &Value) -> String {
    if v.variable && text.contains(':') && !text.contains('[') && !text.contains('.') {
        // A bare IPv6 constant before a port needs its brackets back.
        format!("[{text}]")
    } else if !v.variable && text.contains(':') {
        format!("[{text}]")
    } else {
        text.to_string()
    }
}

#[derive(Default)]
struct ServerDefaults {
    forward: Option<ForwardSpec>,
    weight: Option<Spanned<u64>>,
    upper: Option<Spanned<u64>>,
    lower: Option<Spanned<u64>>,
}

/// Records `name` at `span`; where it was first seen, if it was.
fn seen_before(
    seen: &mut Vec<(&'static str, Span)>,
    name: &'static str,
    span: Span,
) -> Option<Span> {
    match seen.iter().find(|(n, _)| *n == name) {
        Some((_, first)) => Some(*first),
        None => {
            seen.push((name, span));
            None
        }
    }
}

/// A setting written twice in one place: "`weight` is given twice for this server".
fn twice(name: &str, span: Span, first: Span, verb: &str, place: &str) -> Diagnostic {
    Diagnostic::error(
        Code::DupSetting,
        span,
        format!("`{name}` is {verb} twice {place}"),
    )
    .label(format!("{verb} again here"))
    .note(first, format!("first {verb} here"))
    .help("remove one of them")
}

fn stmt_name(kind: &StmtKind) -> Option<&'static str> {
    Some(match kind {
        StmtKind::Scheduler { .. } => "scheduler",
        StmtKind::Persistent { .. } => "persistent",
        StmtKind::Netmask(_) => "netmask",
        StmtKind::Pe(_) => "pe",
        StmtKind::OnePacket => "one-packet",
        StmtKind::Forward(_) => "forward",
        StmtKind::Weight(_) => "weight",
        StmtKind::Upper(_) => "upper",
        StmtKind::Lower(_) => "lower",
        StmtKind::Server(_) => "server",
        StmtKind::Drain(_) => "drain",
        StmtKind::Unknown { .. } => return None,
    })
}
