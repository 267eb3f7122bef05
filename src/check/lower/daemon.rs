//! `sync master|backup { }` blocks: connection sync daemons.

use super::{unknown, Lowerer};
use crate::check::spec::DaemonSpec;
use crate::check::values;
use crate::diagnostic::Code;
use crate::model::*;
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;

const SYNC_OPTIONS: &[&str] = &["interface", "syncid", "maxlen", "group", "port", "ttl"];

impl Lowerer<'_> {
    pub(super) fn sync(&mut self, span: Span, state: &Value, block: &Block) {
        let state = self.typed(state, |text, span| match text {
            "master" => Ok(DaemonState::Master),
            "backup" => Ok(DaemonState::Backup),
            _ => {
                let word = Text {
                    text: text.to_string(),
                    span,
                };
                let states = &["master", "backup"];
                Err(unknown(
                    Code::UnknownValue,
                    &word,
                    "sync daemon state",
                    states,
                ))
            }
        });
        let Some(Spanned { value: state, .. }) = state else {
            return;
        };
        let mut spec = DaemonSpec {
            span,
            state,
            interface: None,
            syncid: None,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        };
        for setting in &block.settings {
            let name = setting.name.text.as_str();
            if !SYNC_OPTIONS.contains(&name) {
                let d = unknown(
                    Code::UnknownKeyword,
                    &setting.name,
                    "sync option",
                    SYNC_OPTIONS,
                );
                self.report(d);
                continue;
            }
            let Some(arg) = self.single_arg(setting, "a value") else {
                continue;
            };
            match name {
                "interface" => {
                    spec.interface = self.typed(arg, |t, _| Ok(t.to_string()));
                }
                "group" => spec.group = self.typed(arg, values::address),
                "syncid" => spec.syncid = self.number(arg, "the sync id"),
                "maxlen" => spec.maxlen = self.number(arg, "the message length"),
                "port" => spec.port = self.number(arg, "the port"),
                _ => spec.ttl = self.number(arg, "the TTL"),
            }
        }
        self.builder.add_daemon(&spec);
    }
}
