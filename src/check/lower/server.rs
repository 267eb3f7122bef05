//! A server's options, written on the server or as the service's defaults for its servers.

use super::{unknown, Lowerer};
use crate::check::spec::*;
use crate::check::{suggest, values};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::Spanned;
use crate::syntax::ast::*;
use crate::syntax::words::{self, Kind};

/// A server's options as written: on the server itself, or in its service for all its servers.
#[derive(Default)]
pub(super) struct ServerDefaults {
    pub(super) forward: Option<ForwardSpec>,
    pub(super) weight: Option<Spanned<u64>>,
    pub(super) upper: Option<Spanned<u64>>,
    pub(super) lower: Option<Spanned<u64>>,
}

impl Lowerer<'_> {
    pub(super) fn server_option(&mut self, into: &mut ServerDefaults, stmt: &Stmt) {
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

    pub(super) fn forward(&mut self, f: &ForwardDecl) -> Option<ForwardSpec> {
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
