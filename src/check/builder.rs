//! Builds a validated [`Table`] from the specs both front ends produce, enforcing every rule
//! that ipvsadm and the kernel enforce, so that what `check` accepts the kernel accepts.

use std::collections::btree_map::Entry;
use std::net::{IpAddr, Ipv4Addr};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{SourceMap, Span, Spanned};

use super::values::{in_range, is_unicast};

/// A scheduler flag as written, and the schedulers it is meant for (empty: any).
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    pub bit: u8,
    pub only_for: &'static [Scheduler],
}

/// `-M`: a dotted IPv4 mask or a prefix length.
#[derive(Clone, Copy, Debug)]
pub enum NetmaskSpec {
    Ipv4(Ipv4Addr),
    Prefix(u64),
}

/// A virtual service as written (`service ... { }` or `ipvsadm -A`).
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    pub span: Span,
    pub key: Spanned<ServiceKey>,
    pub scheduler: Option<Spanned<Scheduler>>,
    pub flags: Vec<Spanned<FlagSpec>>,
    pub persistence: Option<Spanned<u64>>,
    pub netmask: Option<Spanned<NetmaskSpec>>,
    pub pe: Option<Spanned<String>>,
    pub one_packet: Option<Span>,
}

impl ServiceSpec {
    pub fn new(span: Span, key: Spanned<ServiceKey>) -> ServiceSpec {
        ServiceSpec {
            span,
            key,
            scheduler: None,
            flags: Vec::new(),
            persistence: None,
            netmask: None,
            pe: None,
            one_packet: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Dr,
    Nat,
    Tunnel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

/// The forwarding method and tunnel options as written.
#[derive(Clone, Debug, Default)]
pub struct ForwardSpec {
    pub method: Option<Spanned<Method>>,
    pub tun_type: Option<Spanned<TunnelType>>,
    pub tun_port: Option<Spanned<u16>>,
    pub checksums: Vec<Spanned<Checksum>>,
}

/// A real server as written (`server ...` or `ipvsadm -a`).
#[derive(Clone, Debug)]
pub struct ServerSpec {
    pub span: Span,
    pub addr: Spanned<IpAddr>,
    pub port: Option<Spanned<u16>>,
    pub forward: ForwardSpec,
    pub weight: Option<Spanned<u64>>,
    pub upper: Option<Spanned<u64>>,
    pub lower: Option<Spanned<u64>>,
}

/// A sync daemon as written (`sync master { }` or `ipvsadm --start-daemon`).
#[derive(Clone, Debug)]
pub struct DaemonSpec {
    pub span: Span,
    pub state: DaemonState,
    pub interface: Option<Spanned<String>>,
    pub syncid: Option<Spanned<u64>>,
    pub maxlen: Option<Spanned<u64>>,
    pub group: Option<Spanned<IpAddr>>,
    pub port: Option<Spanned<u64>>,
    pub ttl: Option<Spanned<u64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutKind {
    Tcp,
    TcpFin,
    Udp,
}

impl TimeoutKind {
    pub fn name(self) -> &'static str {
        match self {
            TimeoutKind::Tcp => "tcp",
            TimeoutKind::TcpFin => "tcpfin",
            TimeoutKind::Udp => "udp",
        }
    }
}

/// Which front end a builder serves; its help texts name that front end's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// The ipvsc language: declarative, each setting once.
    Language,
    /// ipvsadm commands, run line by line: a later `--set` overrides an earlier one.
    Ipvsadm,
}

impl Dialect {
    /// The language's word or ipvsadm's, for a help text.
    fn word(self, language: &'static str, ipvsadm: &'static str) -> &'static str {
        match self {
            Dialect::Language => language,
            Dialect::Ipvsadm => ipvsadm,
        }
    }
}

/// Collects objects into a table, with a diagnostic for everything the kernel would refuse.
pub struct Builder {
    table: Table,
    policy: DrainPolicy,
    map: SourceMap,
    diagnostics: Vec<Diagnostic>,
    timeout_spans: [Option<Span>; 3],
    errors: usize,
    dialect: Dialect,
}

/// A compiled table, where each part came from, and what was said about it.
pub struct Built {
    pub table: Table,
    pub policy: DrainPolicy,
    pub map: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

fn dup(code: Code, span: Span, first: Span, what: String) -> Diagnostic {
    Diagnostic::error(code, span, format!("{what} is defined twice"))
        .label("defined again here")
        .note(first, "first defined here")
        .help("remove one of the two, or merge them")
}

impl Builder {
    pub fn new(dialect: Dialect) -> Builder {
        Builder {
            table: Table::default(),
            policy: DrainPolicy::default(),
            map: SourceMap::default(),
            diagnostics: Vec::new(),
            timeout_spans: [None; 3],
            errors: 0,
            dialect,
        }
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.errors += usize::from(diagnostic.is_error());
        self.diagnostics.push(diagnostic);
    }

    pub fn report_result<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        result.map_err(|d| self.report(d)).ok()
    }

    pub fn has_service(&self, key: &ServiceKey) -> bool {
        self.table.services.contains_key(key)
    }

    /// `ipvsadm -A`: a new service. Returns whether it was added.
    pub fn add_service(&mut self, spec: &ServiceSpec) -> bool {
        let key = spec.key.value;
        if let Some(first) = self.map.services.get(&key) {
            let d = dup(
                Code::DupService,
                spec.key.span,
                *first,
                format!("service {key}"),
            );
            self.report(d);
            return false;
        }
        let Some(service) = self.service_settings(spec, Service::new(key)) else {
            return false;
        };
        self.table.services.insert(key, service);
        self.map.services.insert(key, spec.span);
        true
    }

    /// `ipvsadm -E`: new settings for an existing service; its servers stay.
    pub fn edit_service(&mut self, spec: &ServiceSpec) -> bool {
        let key = spec.key.value;
        let Some(old) = self.table.services.get(&key).cloned() else {
            self.no_such_service(spec.key);
            return false;
        };
        let mut fresh = Service::new(key);
        fresh.servers = old.servers;
        match self.service_settings(spec, fresh) {
            Some(service) => {
                self.table.services.insert(key, service);
                true
            }
            None => false,
        }
    }

    /// `ipvsadm -D`
    pub fn delete_service(&mut self, key: Spanned<ServiceKey>) -> bool {
        if self.table.services.remove(&key.value).is_none() {
            self.no_such_service(key);
            return false;
        }
        self.map.remove_service(&key.value);
        true
    }

    /// `ipvsadm -C`
    pub fn clear(&mut self) {
        self.table.services.clear();
        self.map.clear_services();
    }

    /// Reports `key` as undefined, as the kernel's ESRCH.
    pub fn no_such_service(&mut self, key: Spanned<ServiceKey>) {
        self.report(no_such_service(key));
    }
}

/// The diagnostic for a command on a service that is not defined.
pub fn no_such_service(key: Spanned<ServiceKey>) -> Diagnostic {
    Diagnostic::error(
        Code::NoSuchService,
        key.span,
        format!("service {} is not defined", key.value),
    )
    .label("no such service")
    .help("define the service (-A) before this line")
}

impl Builder {
    fn service_settings(&mut self, spec: &ServiceSpec, mut service: Service) -> Option<Service> {
        let before = self.error_count();
        let key = spec.key.value;
        service.scheduler = spec.scheduler.map_or(Scheduler::Wlc, |s| s.value);
        if let Some(p) = spec.persistence {
            service.persistence = self.report_result(
                in_range(p, 1, MAX_TIMEOUT.into(), "the persistence timeout").map(|v| v as u32),
            );
        }
        if let ServiceKey::Inet { port: 0, .. } = key {
            if spec.persistence.is_none() {
                self.report(
                    Diagnostic::error(Code::PortZero, spec.key.span, format!("service {key} has port 0 but is not persistent"))
                        .label("port 0 means any port")
                        .help("give the service a port, or make it persistent (port 0 forwards every port and needs persistence)"),
                );
            }
        }
        if let Some(span) = spec.one_packet {
            service.one_packet = true;
            if matches!(key.protocol(), Some(Protocol::Tcp | Protocol::Sctp)) {
                self.report(
                    Diagnostic::error(
                        Code::OnePacket,
                        span,
                        "one-packet scheduling is only for UDP and firewall-mark services",
                    )
                    .label(format!(
                        "service is {}",
                        key.protocol().map_or("", Protocol::name)
                    ))
                    .help(format!(
                        "remove {}: TCP and SCTP connections are never one packet",
                        self.dialect.word("`one-packet`", "`-o`")
                    )),
                );
            }
        }
        for flag in &spec.flags {
            let allowed = flag.value.only_for;
            if !allowed.is_empty() && !allowed.contains(&service.scheduler) {
                let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
                self.report(
                    Diagnostic::error(
                        Code::SchedFlag,
                        flag.span,
                        format!(
                            "this flag is only for the {} scheduler",
                            names.join(" and ")
                        ),
                    )
                    .label(format!("scheduler is {}", service.scheduler))
                    .help(format!(
                        "remove the flag, or use scheduler {}",
                        names.join(" or ")
                    )),
                );
            }
            service.flags.0 |= flag.value.bit;
        }
        if let Some(mask) = spec.netmask {
            service.netmask = self
                .report_result(netmask(mask, key.family()))
                .unwrap_or(service.netmask);
            if spec.persistence.is_none() {
                self.report(
                    Diagnostic::warning(
                        Code::NetmaskWithoutPersistence,
                        mask.span,
                        "a netmask without persistence has no effect",
                    )
                    .label("ignored: the service is not persistent")
                    .help(format!(
                        "add {} to group clients by this netmask, or remove {}",
                        self.dialect.word("`persistent`", "`-p`"),
                        self.dialect.word("the netmask", "`-M`")
                    )),
                );
            }
        }
        if let Some(pe) = &spec.pe {
            if pe.value != "sip" {
                self.report(
                    Diagnostic::error(
                        Code::UnknownValue,
                        pe.span,
                        format!("unknown persistence engine `{}`", pe.value),
                    )
                    .label("unknown persistence engine")
                    .help("the kernel has one persistence engine: sip"),
                );
            } else if spec.persistence.is_none() {
                self.report(
                    Diagnostic::warning(
                        Code::PeWithoutPersistence,
                        pe.span,
                        "a persistence engine without persistence has no effect",
                    )
                    .label("ignored: the service is not persistent")
                    .help(format!(
                        "add {}, or remove {}",
                        self.dialect.word("`persistent`", "`-p`"),
                        self.dialect.word("`pe`", "`--pe`")
                    )),
                );
            }
            service.pe = Some(pe.value.clone());
        }
        (self.error_count() == before).then_some(service)
    }

    fn error_count(&self) -> usize {
        self.errors
    }

    /// `ipvsadm -a`: a new server of service `key`. Returns whether it was added.
    pub fn add_server(&mut self, key: Spanned<ServiceKey>, spec: &ServerSpec) -> bool {
        if !self.has_service(&key.value) {
            self.no_such_service(key);
            return false;
        }
        let Some(server) = self.server(key.value, spec) else {
            return false;
        };
        let servers = &mut self
            .table
            .services
            .get_mut(&key.value)
            .expect("checked above")
            .servers;
        if let Entry::Vacant(slot) = servers.entry(server.key) {
            slot.insert(server);
            self.map.insert_server(key.value, server.key, spec.span);
            return true;
        }
        let first = self
            .map
            .server(&key.value, &server.key)
            .expect("every server has a span");
        let d = dup(
            Code::DupServer,
            spec.span,
            first,
            format!("server {} of service {}", server.key, key.value),
        );
        self.report(d);
        false
    }

    /// `ipvsadm -e`
    pub fn edit_server(&mut self, key: Spanned<ServiceKey>, spec: &ServerSpec) -> bool {
        if !self.has_service(&key.value) {
            self.no_such_service(key);
            return false;
        }
        let Some(server) = self.server(key.value, spec) else {
            return false;
        };
        let service = self
            .table
            .services
            .get_mut(&key.value)
            .expect("checked above");
        if !service.servers.contains_key(&server.key) {
            self.no_such_server(key.value, server.key, spec.addr.span);
            return false;
        }
        service.servers.insert(server.key, server);
        true
    }

    /// `ipvsadm -d`
    pub fn delete_server(
        &mut self,
        key: Spanned<ServiceKey>,
        addr: Spanned<IpAddr>,
        port: Option<u16>,
    ) -> bool {
        let Some(service) = self.table.services.get_mut(&key.value) else {
            self.no_such_service(key);
            return false;
        };
        let server = ServerKey {
            addr: addr.value,
            port: port.or(key.value.port()).unwrap_or(0),
        };
        // ipvsadm forces the port of DR and tunnel servers to the service's on `-a` and `-e`,
        // but not on `-d`: the kernel looks the server up by the port written, and refuses.
        if service.servers.remove(&server).is_some() {
            self.map.remove_server(&key.value, &server);
            return true;
        }
        let stored = service
            .servers
            .values()
            .find(|s| s.key.addr == addr.value && s.forward.keeps_virtual_port())
            .map(|s| (s.key, s.forward.name()));
        self.no_such_server(key.value, server, addr.span);
        if let (Some((stored, method)), Some(last)) = (stored, self.diagnostics.last_mut()) {
            last.help = Some(format!(
                "the kernel keeps this {method} server as {stored}, under the service's port: \
                 write `-r {stored}`"
            ));
        }
        false
    }

    fn no_such_server(&mut self, service: ServiceKey, server: ServerKey, span: Span) {
        self.report(
            Diagnostic::error(
                Code::NoSuchServer,
                span,
                format!("service {service} has no server {server}"),
            )
            .label("no such server")
            .help("add the server (-a) before this line"),
        );
    }

    fn server(&mut self, svc_key: ServiceKey, spec: &ServerSpec) -> Option<Server> {
        let before = self.error_count();
        let addr = spec.addr.value;
        if !is_unicast(&addr) {
            self.report(
                Diagnostic::error(Code::NotUnicast, spec.addr.span, format!("{addr} cannot be a real server"))
                    .label("not a unicast address")
                    .help("a real server needs a unicast address, not an unspecified, broadcast or multicast one"),
            );
        }
        let forward = self.forward(&spec.forward);
        if Family::of(&addr) != svc_key.family() && !matches!(forward, Some(Forward::Tunnel(_))) {
            self.report(
                Diagnostic::error(
                    Code::FamilyMismatch,
                    spec.addr.span,
                    format!(
                        "{} server for an {} service",
                        article_family(Family::of(&addr)),
                        svc_key.family().label()
                    ),
                )
                .label(format!("{} address", Family::of(&addr).label()))
                .help(format!(
                    "a server of another address family than its service must be tunneled: add {}",
                    self.dialect.word("`forward tunnel`", "`-i`")
                )),
            );
        }
        let forward = forward?;
        let vport = svc_key.port();
        let mut port = spec.port.map(|p| p.value).or(vport).unwrap_or(0);
        if let (Some(vport), true) = (vport, forward.keeps_virtual_port()) {
            if let Some(given) = spec.port.filter(|p| p.value != vport) {
                self.report(
                    Diagnostic::warning(
                        Code::DrPort,
                        given.span,
                        format!("the kernel ignores port {} of a {} server and uses the service's port {vport}", given.value, forward.name()),
                    )
                    .label(format!("becomes {vport}"))
                    .help(format!("write port {vport}, or leave the port out; only NAT servers can use another port")),
                );
            }
            port = vport;
        }
        let weight = spec.weight.map_or(Some(1), |w| {
            self.report_result(in_range(w, 0, MAX_WEIGHT.into(), "the weight"))
        });
        let int_max = i32::MAX as u64;
        let upper = spec.upper.map_or(Some(0), |u| {
            self.report_result(in_range(u, 0, int_max, "the upper threshold"))
        });
        let lower = spec.lower.map_or(Some(0), |l| {
            self.report_result(in_range(l, 0, int_max, "the lower threshold"))
        });
        if let (Some(u), Some(l), Some(lspan)) = (upper, lower, spec.lower) {
            if l > u {
                let mut d = Diagnostic::error(
                    Code::Threshold,
                    lspan.span,
                    format!("the lower threshold {l} is above the upper threshold {u}"),
                )
                .label("lower threshold");
                d = match spec.upper {
                    Some(us) => d
                        .note(us.span, "upper threshold")
                        .help("the lower threshold must not exceed the upper one"),
                    None => d.help(format!(
                        "a lower threshold needs an upper threshold at least as large: add {}",
                        self.dialect.word("`upper N`", "`-x N`")
                    )),
                };
                self.report(d);
            }
        }
        if self.error_count() != before {
            return None;
        }
        Some(Server {
            key: ServerKey { addr, port },
            forward,
            weight: weight? as u32,
            upper: upper? as u32,
            lower: lower? as u32,
        })
    }

    fn forward(&mut self, spec: &ForwardSpec) -> Option<Forward> {
        let method = spec.method.map_or(Method::Dr, |m| m.value);
        let dialect = self.dialect;
        let words = |language, ipvsadm| dialect.word(language, ipvsadm);
        let tunnel_option = |span: Span, msg: &str, help: String| {
            Diagnostic::error(Code::TunnelOption, span, msg.to_string())
                .label("tunnel option")
                .help(help)
        };
        if method != Method::Tunnel {
            let first = spec
                .tun_type
                .map(|t| t.span)
                .or(spec.tun_port.map(|p| p.span))
                .or(spec.checksums.first().map(|c| c.span));
            if let Some(span) = first {
                self.report(tunnel_option(
                    span,
                    "tunnel options are only for tunneled servers",
                    words(
                        "use `forward tunnel ...`, or remove the tunnel option",
                        "add `-i` to tunnel to this server, or remove the --tun-* options",
                    )
                    .to_string(),
                ));
                return None;
            }
            return Some(if method == Method::Dr {
                Forward::Dr
            } else {
                Forward::Nat
            });
        }
        let kind = spec.tun_type.map_or(TunnelType::Ipip, |t| t.value);
        if spec.checksums.len() > 1 {
            self.report(tunnel_option(
                spec.checksums[1].span,
                "more than one checksum mode",
                "choose one of nocsum, csum, remcsum".to_string(),
            ));
            return None;
        }
        let checksum = spec.checksums.first().copied();
        match kind {
            TunnelType::Ipip => {
                if let Some(span) = spec.tun_port.map(|p| p.span).or(checksum.map(|c| c.span)) {
                    self.report(tunnel_option(
                        span,
                        "an ipip tunnel takes no port or checksum",
                        "remove it, or use a gue or gre tunnel".to_string(),
                    ));
                    return None;
                }
                Some(Forward::Tunnel(Tunnel::Ipip))
            }
            TunnelType::Gue => match spec.tun_port {
                Some(p) if p.value != 0 => Some(Forward::Tunnel(Tunnel::Gue {
                    port: p.value,
                    checksum: checksum.map_or(Checksum::NoCsum, |c| c.value),
                })),
                _ => {
                    let span = spec
                        .tun_port
                        .map(|p| p.span)
                        .or(spec.tun_type.map(|t| t.span))
                        .or(spec.method.map(|m| m.span));
                    self.report(tunnel_option(
                        span?,
                        "a gue tunnel needs a port",
                        format!(
                            "add {} (1 to 65535), the UDP port the real server decapsulates on",
                            words("`port N`", "`--tun-port N`")
                        ),
                    ));
                    None
                }
            },
            TunnelType::Gre => {
                if let Some(p) = spec.tun_port {
                    self.report(tunnel_option(
                        p.span,
                        "a gre tunnel takes no port",
                        "remove the port, or use a gue tunnel".to_string(),
                    ));
                    return None;
                }
                if let Some(c) = checksum.filter(|c| c.value == Checksum::RemCsum) {
                    self.report(tunnel_option(
                        c.span,
                        "a gre tunnel cannot use remote checksum offload",
                        "use csum or nocsum".to_string(),
                    ));
                    return None;
                }
                Some(Forward::Tunnel(Tunnel::Gre {
                    checksum: checksum.map_or(Checksum::NoCsum, |c| c.value),
                }))
            }
        }
    }

    /// `ipvsadm --set`: one of the three timeouts, in seconds (0 leaves it alone).
    pub fn set_timeout(&mut self, kind: TimeoutKind, value: Spanned<u64>) {
        let idx = kind as usize;
        let sequential = self.dialect == Dialect::Ipvsadm;
        if let (Some(first), false) = (self.timeout_spans[idx], sequential) {
            let d = dup(
                Code::DupSetting,
                value.span,
                first,
                format!("the {} timeout", kind.name()),
            );
            self.report(d);
            return;
        }
        let Some(v) = self.report_result(in_range(
            value,
            0,
            MAX_TIMEOUT.into(),
            &format!("the {} timeout", kind.name()),
        )) else {
            return;
        };
        self.timeout_spans[idx] = Some(value.span);
        self.map.timeouts = Some(self.map.timeouts.map_or(value.span, |s| s.to(value.span)));
        let slot = match kind {
            TimeoutKind::Tcp => &mut self.table.timeouts.tcp,
            TimeoutKind::TcpFin => &mut self.table.timeouts.tcpfin,
            TimeoutKind::Udp => &mut self.table.timeouts.udp,
        };
        *slot = (v != 0)
            .then_some(v as u32)
            .or(if sequential { *slot } else { None });
    }

    /// `ipvsadm --start-daemon`
    pub fn add_daemon(&mut self, spec: &DaemonSpec) {
        if let Some(first) = self.map.daemons.get(&spec.state) {
            let d = dup(
                Code::DupSetting,
                spec.span,
                *first,
                format!("the {} sync daemon", spec.state),
            );
            self.report(d);
            return;
        }
        let before = self.error_count();
        let Some(interface) = spec.interface.clone() else {
            self.report(
                Diagnostic::error(
                    Code::MissingValue,
                    spec.span,
                    format!("the {} sync daemon needs an interface", spec.state),
                )
                .label("no interface")
                .help("add `interface NAME`: the interface that sends or receives sync messages"),
            );
            return;
        };
        if interface.value.is_empty() || interface.value.len() > 15 {
            self.report(
                Diagnostic::error(
                    Code::OutOfRange,
                    interface.span,
                    "an interface name is 1 to 15 characters",
                )
                .label("not an interface name"),
            );
        }
        let mut num = |v: Option<Spanned<u64>>, min: u64, max: u64, what: &str| -> Option<u64> {
            v.and_then(|v| self.report_result(in_range(v, min, max, what)))
        };
        let syncid = num(spec.syncid, 0, 255, "the sync id").unwrap_or(0) as u8;
        let maxlen = num(spec.maxlen, 1, 65507, "the sync message length").map(|v| v as u16);
        let port = num(spec.port, 1, 65535, "the multicast port").map(|v| v as u16);
        let ttl = num(spec.ttl, 1, 255, "the multicast TTL").map(|v| v as u8);
        if let Some(group) = spec.group {
            if !group.value.is_multicast() {
                self.report(
                    Diagnostic::error(
                        Code::BadAddress,
                        group.span,
                        format!("{} is not a multicast group", group.value),
                    )
                    .label("not multicast")
                    .help("use a multicast address, like 224.0.0.81 (the default) or ff02::81"),
                );
            }
        }
        if self.error_count() != before {
            return;
        }
        self.map.daemons.insert(spec.state, spec.span);
        self.table.daemons.insert(
            spec.state,
            Daemon {
                state: spec.state,
                interface: interface.value,
                syncid,
                maxlen,
                group: spec.group.map(|g| g.value),
                port,
                ttl,
            },
        );
    }

    /// `ipvsadm --stop-daemon`
    pub fn stop_daemon(&mut self, state: DaemonState, span: Span) {
        if self.table.daemons.remove(&state).is_none() {
            self.report(
                Diagnostic::error(
                    Code::NoSuchDaemon,
                    span,
                    format!("no {state} sync daemon is running"),
                )
                .label("nothing to stop")
                .help(format!(
                    "the kernel refuses to stop a daemon that is not running (ipvsadm: \"No daemon is \
                     running\"); remove this line, or start the {state} daemon before it"
                )),
            );
        }
        self.map.daemons.remove(&state);
    }

    /// `drain`: the file-wide default (`service` None) or a service's own.
    pub fn set_drain(&mut self, service: Option<ServiceKey>, drain: Spanned<Drain>) {
        let first = match service {
            None => self.map.drain,
            Some(key) => self.map.drains.get(&key).copied(),
        };
        if let Some(first) = first {
            let what = match service {
                None => "the file's `drain`".to_string(),
                Some(key) => format!("the `drain` of service {key}"),
            };
            self.report(dup(Code::DupSetting, drain.span, first, what));
            return;
        }
        match service {
            None => {
                self.map.drain = Some(drain.span);
                self.policy.default = Some(drain.value);
            }
            Some(key) => {
                self.map.drains.insert(key, drain.span);
                self.policy.services.insert(key, drain.value);
            }
        }
    }

    /// A sysctl under `/proc/sys/net/ipv4/vs/`; the value is already of the sysctl's kind.
    pub fn set_sysctl(&mut self, sysctl: Sysctl, value: SysctlValue, span: Span) {
        if let Some(first) = self.map.sysctls.get(&sysctl) {
            let d = dup(Code::DupSetting, span, *first, format!("`{sysctl}`"));
            self.report(d);
            return;
        }
        self.map.sysctls.insert(sysctl, span);
        self.table.sysctls.insert(sysctl, value);
    }

    /// Rules across objects, then the result.
    pub fn finish(mut self) -> Built {
        if let Some((state, daemon_span)) = self.map.daemons.iter().next().map(|(s, sp)| (*s, *sp))
        {
            let mixed: Vec<(ServiceKey, ServerKey)> = self
                .table
                .services
                .values()
                .flat_map(|s| {
                    s.servers
                        .values()
                        .filter(|r| Family::of(&r.key.addr) != s.key.family())
                        .map(|r| (s.key, r.key))
                })
                .collect();
            for (svc, srv) in mixed {
                let span = self
                    .map
                    .server(&svc, &srv)
                    .expect("every server has a span");
                self.report(
                    Diagnostic::error(Code::DaemonFamily, span, format!("server {srv} of service {svc} mixes address families while a sync daemon runs"))
                        .label("other address family")
                        .note(daemon_span, format!("the {state} sync daemon"))
                        .help("the kernel refuses servers of another family than their service while connection sync runs"),
                );
            }
        }
        // A dump cannot say how its servers drain, nor set sysctls: `plan` warns for it,
        // from the kernel's settings.
        if self.dialect == Dialect::Language {
            let warnings = super::drain::warnings(&self.table, &self.policy, &self.map);
            self.diagnostics.extend(warnings);
        }
        Built {
            table: self.table,
            policy: self.policy,
            map: self.map,
            diagnostics: self.diagnostics,
        }
    }
}

fn article_family(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "an IPv4",
        Family::Ipv6 => "an IPv6",
    }
}

fn netmask(mask: Spanned<NetmaskSpec>, family: Family) -> Result<Netmask, Diagnostic> {
    match (mask.value, family) {
        (NetmaskSpec::Ipv4(m), Family::Ipv4) => Ok(Netmask::Ipv4(m)),
        (NetmaskSpec::Prefix(p), Family::Ipv4) => {
            let p = in_range(Spanned::new(p, mask.span), 0, 32, "an IPv4 prefix length")?;
            Ok(Netmask::Ipv4(Ipv4Addr::from(
                u32::MAX.checked_shl(32 - p as u32).unwrap_or(0),
            )))
        }
        (NetmaskSpec::Prefix(p), Family::Ipv6) => {
            in_range(Spanned::new(p, mask.span), 1, 128, "an IPv6 prefix length")
                .map(|p| Netmask::Ipv6(p as u8))
        }
        (NetmaskSpec::Ipv4(m), Family::Ipv6) => Err(Diagnostic::error(
            Code::FamilyMismatch,
            mask.span,
            format!("an IPv4 netmask {m} for an IPv6 service"),
        )
        .label("IPv4 netmask")
        .help("an IPv6 service takes a prefix length, like /64")),
    }
}
