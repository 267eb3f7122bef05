//! The words the language server offers and explains: the language's table
//! ([`crate::syntax::words`]), and the schedulers and sysctls, which come from the model and
//! explain themselves ([`Scheduler::describe`], [`Sysctl::describe`]).

use crate::model::{is_defense, Scheduler, Sysctl, SysctlKind};

pub use crate::syntax::words::*;

/// The names of every scheduler.
pub fn schedulers() -> impl Iterator<Item = (&'static str, &'static str)> {
    Scheduler::ALL.into_iter().map(|s| (s.name(), s.describe()))
}

/// The sysctls a `defense { }` block (`defense` true) or a `sysctl { }` block takes.
pub fn sysctls(defense: bool) -> impl Iterator<Item = Sysctl> {
    Sysctl::ALL
        .iter()
        .copied()
        .filter(move |s| !defense || is_defense(*s))
}

/// What a sysctl's value looks like, for its hover text.
pub fn sysctl_usage(sysctl: Sysctl) -> String {
    match sysctl.kind() {
        SysctlKind::Defense => format!("{sysctl} off | auto | always"),
        SysctlKind::Switch => format!("{sysctl} on | off"),
        SysctlKind::Int { min, max } if max == i64::from(i32::MAX) => {
            format!("{sysctl} N    ({min} or more)")
        }
        SysctlKind::Int { min, max } => format!("{sysctl} N    ({min} to {max})"),
        SysctlKind::Pair => format!("{sysctl} N M"),
    }
}
