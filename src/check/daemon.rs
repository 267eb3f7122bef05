//! The rules for a connection sync daemon (`ipvsadm --start-daemon`, `--stop-daemon`).

use super::builder::{dup, Builder};
use super::spec::DaemonSpec;
use super::values::in_range;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{Span, Spanned};

impl Builder {
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
}
