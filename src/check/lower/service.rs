//! `service { }` blocks: the service's key and settings, and its servers with the service's
//! defaults applied.

use std::net::IpAddr;

use super::server::ServerDefaults;
use super::{unknown, Lowerer};
use crate::check::spec::*;
use crate::check::values;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::words;

impl Lowerer<'_> {
    pub(super) fn service_key(&mut self, decl: &ServiceDecl) -> Option<Spanned<ServiceKey>> {
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

    pub(super) fn service(&mut self, decl: &ServiceDecl) {
        let key = self.service_key(decl);
        let mut spec = key.map(|k| ServiceSpec::new(decl.head, k));
        let mut seen = Vec::new();
        let mut defaults = ServerDefaults::default();
        let mut servers = Vec::with_capacity(decl.stmts.len());
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
        let mut server_specs = Vec::with_capacity(servers.len());
        // One list for every server of the block, emptied for each: most servers have an option.
        let mut seen = Vec::new();
        for (span, server) in servers {
            let mut own = ServerDefaults::default();
            seen.clear();
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
            self.builder.add_servers(spec.key, &server_specs);
            if let Some(drain) = drain {
                self.builder.set_drain(Some(spec.key.value), drain);
            }
        }
    }

    pub(super) fn flag(&mut self, word: &Text) -> Option<Spanned<FlagSpec>> {
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

    pub(super) fn netmask(&mut self, v: &Value) -> Option<Spanned<NetmaskSpec>> {
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
