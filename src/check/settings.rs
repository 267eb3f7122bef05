//! The rules for the table's own settings: the connection timeouts (`ipvsadm --set`) and the
//! sysctls.

use super::builder::{dup, Builder, Dialect};
use super::spec::TimeoutKind;
use super::values::in_range;
use crate::diagnostic::Code;
use crate::model::*;
use crate::source::{Span, Spanned};

impl Builder {
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
}
