//! The rules for a real server (`ipvsadm -a`, `-e`, `-d`) and its forwarding method.

use std::net::IpAddr;

use super::builder::{dup, Builder};
use super::spec::{ForwardSpec, Method, ServerSpec, TunnelType};
use super::values::{in_range, is_unicast};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{Span, Spanned};

impl Builder {
    /// `ipvsadm -a`: a new server of service `key`. Returns whether it was added.
    pub fn add_server(&mut self, key: Spanned<ServiceKey>, spec: &ServerSpec) -> bool {
        if self.last_service != Some(key.value) {
            if !self.has_service(&key.value) {
                self.no_such_service(key);
                return false;
            }
            self.last_service = Some(key.value);
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
        if !servers.contains_key(&server.key) {
            servers.insert(server.key, server);
            self.map.insert_server(key.value, server.key, spec.span);
            return true;
        }
        let first = self
            .map
            .server(&key.value, &server.key)
            .expect("every server has a span");
        self.dup_server(key.value, &server.key, spec.span, first);
        false
    }

    /// "server X of service Y is defined twice", at `again` and `first`.
    fn dup_server(&mut self, service: ServiceKey, server: &ServerKey, again: Span, first: Span) {
        let what = format!("server {server} of service {service}");
        self.report(dup(Code::DupServer, again, first, what));
    }

    /// The servers of a service block, in order: each as [`Builder::add_server`] adds it, with
    /// the service and the spans of its servers looked up once for the block, not once a server.
    pub fn add_servers(&mut self, key: Spanned<ServiceKey>, specs: &[ServerSpec]) {
        let Some(service) = self.table.services.get_mut(&key.value) else {
            for spec in specs {
                self.add_server(key, spec);
            }
            return;
        };
        let mut servers = std::mem::take(&mut service.servers);
        let mut spans = self.map.take_servers(&key.value);
        // A new service (the usual case): room for all its servers at once, which is also the
        // size the finished table compacts them to.
        if servers.is_empty() && spans.is_empty() {
            servers = SmallMap::with_capacity(specs.len());
            spans = SmallMap::with_capacity(specs.len());
        }
        for spec in specs {
            let Some(server) = self.server(key.value, spec) else {
                continue;
            };
            if servers.contains_key(&server.key) {
                let first = *spans.get(&server.key).expect("every server has a span");
                self.dup_server(key.value, &server.key, spec.span, first);
                continue;
            }
            servers.insert(server.key, server);
            spans.insert(server.key, spec.span);
        }
        self.table
            .services
            .get_mut(&key.value)
            .expect("looked up above")
            .servers = servers;
        self.map.put_servers(key.value, spans);
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
}

fn article_family(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "an IPv4",
        Family::Ipv6 => "an IPv6",
    }
}
