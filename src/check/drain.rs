//! The rules for draining: a `drain` is set once per place, and the warnings where the kernel
//! defeats a drain, settings that make a removed server keep its clients or drop them silently
//! (warnings only; the table is valid either way).

use super::builder::{dup, Builder};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{SourceMap, Spanned};

/// Whether the file turns switch `sysctl` on (the kernel's default for these three is off, or
/// for `conn_reuse_mode` 1).
fn value(table: &Table, sysctl: Sysctl) -> Option<i64> {
    match table.sysctls.get(&sysctl) {
        Some(SysctlValue::Int(v)) => Some(*v),
        _ => None,
    }
}

/// The warnings about drains for a compiled table.
pub fn warnings(table: &Table, policy: &DrainPolicy, map: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let drains = |key: &ServiceKey| policy.of(key) != Drain::Off;

    if value(table, Sysctl::ExpireQuiescentTemplate) != Some(1) {
        let persistent: Vec<&ServiceKey> = table
            .services
            .values()
            .filter(|s| s.persistence.is_some() && drains(&s.key))
            .map(|s| &s.key)
            .collect();
        if let Some(span) = persistent.first().and_then(|k| map.services.get(k)) {
            let more = match persistent.len() - 1 {
                0 => String::new(),
                1 => " (and 1 more persistent service)".to_string(),
                n => format!(" (and {n} more persistent services)"),
            };
            out.push(
                Diagnostic::warning(
                    Code::DrainTemplate,
                    *span,
                    format!(
                        "a removed server of persistent service {} will not drain: clients holding a \
                         persistence template keep coming back to it at weight 0{more}",
                        persistent[0]
                    ),
                )
                .label("persistent, and drained on removal")
                .help(
                    "add `sysctl { expire_quiescent_template on }` so that the templates of a \
                     weight-0 server expire, or `drain off` in the service",
                ),
            );
        }
    }

    if value(table, Sysctl::ConnReuseMode) == Some(0) && table.services.keys().any(drains) {
        if let Some(span) = map.sysctls.get(&Sysctl::ConnReuseMode) {
            out.push(
                Diagnostic::warning(
                    Code::DrainConnReuse,
                    *span,
                    "with conn_reuse_mode 0 a client that reuses a source port is sent to its old \
                     server even at weight 0, so a drain may never finish",
                )
                .label("drains are defeated by this")
                .help("use conn_reuse_mode 1 (the kernel's default) on kernels 5.9 and later"),
            );
        }
    }

    if value(table, Sysctl::ExpireNodestConn) != Some(1) {
        let off = |d: Option<Drain>| d == Some(Drain::Off);
        let mut spans: Vec<_> = Vec::new();
        if off(policy.default) {
            spans.extend(map.drain);
        }
        for (key, drain) in &policy.services {
            if off(Some(*drain)) {
                spans.extend(map.drains.get(key).copied());
            }
        }
        spans.sort_by_key(|s| (s.file, s.start));
        for span in spans {
            out.push(
                Diagnostic::warning(
                    Code::DrainNodest,
                    span,
                    "a server removed without draining keeps its connections in the kernel: their \
                     packets are dropped silently until the entries time out",
                )
                .label("removed at once")
                .help(
                    "add `sysctl { expire_nodest_conn on }` so that clients of a removed server \
                     see a reset at their next packet and reconnect",
                ),
            );
        }
    }
    out
}

impl Builder {
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
}
