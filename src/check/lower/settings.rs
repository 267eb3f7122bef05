//! `timeouts { }`, `defense { }` and `sysctl { }` blocks: the table's own settings.

use super::{unknown, Lowerer};
use crate::check::spec::TimeoutKind;
use crate::check::values;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::Spanned;
use crate::syntax::ast::*;
use crate::syntax::words;

impl Lowerer<'_> {
    pub(super) fn timeouts(&mut self, block: &Block) {
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

    pub(super) fn settings(&mut self, block: &Block, defense: bool) {
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

    pub(super) fn sysctl_value(
        &mut self,
        sysctl: Sysctl,
        setting: &Setting,
    ) -> Option<SysctlValue> {
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
}
