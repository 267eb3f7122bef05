//! Builds a validated [`Table`] from the specs both front ends produce, enforcing every rule
//! that ipvsadm and the kernel enforce, so that what `check` accepts the kernel accepts. The
//! rules of each kind of object are beside this file: `service.rs`, `server.rs`, `daemon.rs`,
//! `settings.rs` (timeouts and sysctls) and `drain.rs`; here are those across objects.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{SourceMap, Span};

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
    pub(super) fn word(self, language: &'static str, ipvsadm: &'static str) -> &'static str {
        match self {
            Dialect::Language => language,
            Dialect::Ipvsadm => ipvsadm,
        }
    }
}

/// Collects objects into a table, with a diagnostic for everything the kernel would refuse.
pub struct Builder {
    pub(super) table: Table,
    pub(super) policy: DrainPolicy,
    pub(super) map: SourceMap,
    pub(super) diagnostics: Vec<Diagnostic>,
    pub(super) timeout_spans: [Option<Span>; 3],
    errors: usize,
    pub(super) dialect: Dialect,
    /// The service `ipvsadm -a` last found, known to be in the table until a service is
    /// deleted or the table cleared: a dump's servers come service by service, and each would
    /// look its service up again.
    pub(super) last_service: Option<ServiceKey>,
}

/// A compiled table, where each part came from, and what was said about it.
pub struct Built {
    pub table: Table,
    pub policy: DrainPolicy,
    pub map: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

pub(super) fn dup(code: Code, span: Span, first: Span, what: String) -> Diagnostic {
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
            last_service: None,
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

    pub(super) fn error_count(&self) -> usize {
        self.errors
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
        // Maps filled one insertion at a time keep spare room (vectors) or half-full nodes
        // (B-trees); built again from their sorted entries they have none: a third less memory
        // for the servers of a large table, which the plan keeps until the end.
        for service in self.table.services.values_mut() {
            service.servers = std::mem::take(&mut service.servers).compacted();
        }
        self.map.compact();
        Built {
            table: self.table,
            policy: self.policy,
            map: self.map,
            diagnostics: self.diagnostics,
        }
    }
}
