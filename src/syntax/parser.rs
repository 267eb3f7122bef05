//! pest's parse tree to the syntax tree.

use pest::iterators::Pair;
use pest_derive::Parser;

use super::ast::*;
use crate::source::{FileId, Span};

#[derive(Parser)]
#[grammar = "../grammar/ipvs.pest"]
pub struct IpvsParser;

/// Builds syntax nodes from pairs of a text that starts at `offset` in file `file`.
pub(crate) struct Builder {
    pub file: FileId,
    pub offset: usize,
}

impl Builder {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start()..self.offset + s.end())
    }

    fn text(&self, pair: &Pair<Rule>) -> Text {
        Text {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn value(&self, pair: Pair<Rule>) -> Value {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::variable => Value {
                text: pair.as_str()[1..].to_string(),
                variable: true,
                span,
            },
            Rule::string => {
                let inner = pair.into_inner().next().expect("string text");
                Value {
                    text: inner.as_str().to_string(),
                    variable: false,
                    span,
                }
            }
            Rule::host | Rule::port | Rule::range_end => {
                let inner = pair.into_inner().next().expect("host has one part");
                self.value(inner)
            }
            _ => Value {
                text: pair.as_str().to_string(),
                variable: false,
                span,
            },
        }
    }

    fn is_one_line(&self, pair: &Pair<Rule>) -> bool {
        !pair.as_str().contains('\n')
    }

    pub fn item(&self, pair: Pair<Rule>) -> Item {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let one_line = self.is_one_line(&pair);
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::define => {
                inner.next();
                let name = self.text(&inner.next().expect("define name"));
                let value = self.text(&inner.next().expect("define value"));
                ItemKind::Define { name, value }
            }
            Rule::include => {
                inner.next();
                let string = inner.next().expect("include path");
                let text = string.into_inner().next().expect("string text");
                ItemKind::Include {
                    path: self.text(&text),
                }
            }
            Rule::drain => {
                inner.next();
                ItemKind::Drain(self.value(inner.next().expect("drain value")))
            }
            Rule::timeouts | Rule::defense | Rule::sysctl => {
                inner.next();
                let block = self.block(inner, span, one_line);
                match rule {
                    Rule::timeouts => ItemKind::Timeouts(block),
                    Rule::defense => ItemKind::Defense(block),
                    _ => ItemKind::Sysctl(block),
                }
            }
            Rule::sync => {
                inner.next();
                let state = self.value(inner.next().expect("sync state"));
                ItemKind::Sync {
                    state,
                    block: self.block(inner, span, one_line),
                }
            }
            Rule::service => ItemKind::Service(Box::new(self.service(inner, span, one_line))),
            Rule::unknown_item => ItemKind::Unknown {
                word: self.text(&inner.next().expect("unknown word")),
            },
            other => unreachable!("not an item: {other:?}"),
        };
        Item { kind, span }
    }

    fn close(&self, span: Span) -> Span {
        Span {
            start: span.end - 1,
            ..span
        }
    }

    fn block<'a>(
        &self,
        pairs: impl Iterator<Item = Pair<'a, Rule>>,
        span: Span,
        one_line: bool,
    ) -> Block {
        let settings = pairs
            .map(|p| {
                let span = self.span(&p);
                let mut inner = p.into_inner();
                let name = self.text(&inner.next().expect("setting name"));
                let args = inner.map(|a| self.value(a)).collect();
                Setting { name, args, span }
            })
            .collect();
        Block {
            settings,
            one_line,
            close: self.close(span),
        }
    }

    fn service<'a>(
        &self,
        mut inner: impl Iterator<Item = Pair<'a, Rule>>,
        span: Span,
        one_line: bool,
    ) -> ServiceDecl {
        inner.next();
        let key_pair = inner.next().expect("service key");
        let key_end = self.span(&key_pair).end;
        let mut key_inner = key_pair.clone().into_inner();
        let key = match key_pair.as_rule() {
            Rule::fwmark_key => {
                key_inner.next();
                let mark = self.value(key_inner.next().expect("fwmark"));
                let family = key_inner.next().map(|p| self.text(&p));
                ServiceKeyDecl::Fwmark { mark, family }
            }
            _ => {
                let protocol = self.text(&key_inner.next().expect("protocol"));
                let endpoint = self.endpoint(key_inner.next().expect("endpoint"));
                ServiceKeyDecl::Inet { protocol, endpoint }
            }
        };
        let head = Span {
            end: key_end,
            ..span
        };
        ServiceDecl {
            key,
            head,
            stmts: inner.map(|p| self.stmt(p)).collect(),
            one_line,
            close: self.close(span),
        }
    }

    fn endpoint(&self, pair: Pair<Rule>) -> Endpoint {
        let span = self.span(&pair);
        let mut host = None;
        let mut range_end = None;
        let mut port = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::host => host = Some(self.value(p)),
                Rule::range_end => range_end = Some(self.value(p)),
                Rule::port => port = Some(self.value(p)),
                other => unreachable!("not in an endpoint: {other:?}"),
            }
        }
        Endpoint {
            host: host.expect("endpoint host"),
            range_end,
            port,
            span,
        }
    }

    fn stmt(&self, pair: Pair<Rule>) -> Stmt {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::scheduler_stmt => {
                inner.next();
                let name = self.text(&inner.next().expect("scheduler name"));
                let flags = inner.map(|p| self.text(&p)).collect();
                StmtKind::Scheduler { name, flags }
            }
            Rule::persistent_stmt => {
                inner.next();
                let mut timeout = None;
                let mut netmask = None;
                for p in inner {
                    match p.as_rule() {
                        Rule::netmask_stmt => netmask = Some(self.netmask(p)),
                        _ => timeout = Some(self.value(p)),
                    }
                }
                StmtKind::Persistent { timeout, netmask }
            }
            Rule::netmask_stmt => StmtKind::Netmask(self.netmask_value(inner)),
            Rule::pe_stmt => {
                inner.next();
                StmtKind::Pe(self.text(&inner.next().expect("pe name")))
            }
            Rule::one_packet_stmt => StmtKind::OnePacket,
            Rule::drain => {
                inner.next();
                StmtKind::Drain(self.value(inner.next().expect("drain value")))
            }
            Rule::forward_stmt => {
                inner.next();
                let method = inner.next().expect("forward method");
                StmtKind::Forward(self.forward(method))
            }
            Rule::weight_stmt | Rule::upper_stmt | Rule::lower_stmt => {
                inner.next();
                let value = self.value(inner.next().expect("number"));
                match rule {
                    Rule::weight_stmt => StmtKind::Weight(value),
                    Rule::upper_stmt => StmtKind::Upper(value),
                    _ => StmtKind::Lower(value),
                }
            }
            Rule::server_stmt => {
                inner.next();
                let addr = self.endpoint(inner.next().expect("server address"));
                let options = inner.map(|p| self.stmt(p)).collect();
                StmtKind::Server(ServerDecl { addr, options })
            }
            Rule::unknown_stmt | Rule::unknown_option => {
                let word = self.text(&inner.next().expect("unknown word"));
                let args = inner.map(|p| self.text(&p)).collect();
                StmtKind::Unknown { word, args }
            }
            other => unreachable!("not a statement: {other:?}"),
        };
        Stmt { kind, span }
    }

    fn netmask(&self, pair: Pair<Rule>) -> Value {
        let mut inner = pair.into_inner();
        self.netmask_value(&mut inner)
    }

    fn netmask_value<'a>(&self, mut inner: impl Iterator<Item = Pair<'a, Rule>>) -> Value {
        inner.next();
        let mask = inner.next().expect("netmask value");
        let span = self.span(&mask);
        let text = mask.as_str().to_string();
        match mask.into_inner().next() {
            Some(v) if v.as_rule() == Rule::variable => Value {
                span,
                ..self.value(v)
            },
            _ => Value {
                text,
                variable: false,
                span,
            },
        }
    }

    fn forward(&self, pair: Pair<Rule>) -> ForwardDecl {
        match pair.as_rule() {
            Rule::tunnel_method => {
                let mut inner = pair.into_inner();
                let method = self.text(&inner.next().expect("tunnel keyword"));
                let tunnel = inner
                    .map(|p| match p.as_rule() {
                        Rule::tunnel_port => {
                            let mut parts = p.into_inner();
                            let keyword = self.span(&parts.next().expect("port keyword"));
                            let port = self.value(parts.next().expect("port"));
                            TunnelWord::Port { keyword, port }
                        }
                        _ => TunnelWord::Word(self.text(&p)),
                    })
                    .collect();
                ForwardDecl { method, tunnel }
            }
            _ => ForwardDecl {
                method: self.text(&pair),
                tunnel: Vec::new(),
            },
        }
    }
}

/// The words a person reads for a grammar rule in "expected ..." messages.
pub fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::word | Rule::unknown_item | Rule::unknown_stmt | Rule::unknown_option => "a keyword",
        Rule::name => "a name",
        Rule::variable => "a $constant",
        Rule::number => "a number",
        Rule::duration => "a duration (like 90s, 15m, 1h)",
        Rule::string => "a quoted string",
        Rule::ipv4 => "an IPv4 address",
        Rule::ipv6 => "an IPv6 address",
        Rule::host => "an address",
        Rule::port => "a port",
        Rule::endpoint => "an address and port (like 10.0.0.1:80)",
        Rule::server_addr => "a server address",
        Rule::range_end => "the last address of the range",
        Rule::define_value => "a value",
        Rule::netmask => "a netmask (like 255.255.255.0 or /64)",
        Rule::kw_define => "`define`",
        Rule::kw_include => "`include`",
        Rule::kw_timeouts => "`timeouts`",
        Rule::kw_defense => "`defense`",
        Rule::kw_sysctl => "`sysctl`",
        Rule::kw_sync => "`sync`",
        Rule::kw_service => "`service`",
        Rule::kw_fwmark => "`fwmark`",
        Rule::kw_scheduler => "`scheduler`",
        Rule::kw_persistent => "`persistent`",
        Rule::kw_netmask | Rule::netmask_stmt => "`netmask`",
        Rule::kw_pe => "`pe`",
        Rule::kw_one_packet => "`one-packet`",
        Rule::kw_forward | Rule::forward_stmt => "`forward`",
        Rule::kw_weight | Rule::weight_stmt => "`weight`",
        Rule::kw_upper | Rule::upper_stmt => "`upper`",
        Rule::kw_lower | Rule::lower_stmt => "`lower`",
        Rule::kw_server => "`server`",
        Rule::kw_tunnel | Rule::tunnel_method => "`tunnel`",
        Rule::kw_port | Rule::tunnel_port => "`port`",
        Rule::fwmark_key => "`fwmark`",
        Rule::inet_key => "a protocol (tcp, udp, sctp)",
        Rule::service => "a service",
        Rule::unknown_block => "`{`",
        _ => return None,
    })
}
