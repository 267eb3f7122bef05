//! `sync master|backup { }` blocks: connection sync daemons.

use super::{unknown, Lowerer};
use crate::check::spec::DaemonSpec;
use crate::check::values;
use crate::diagnostic::Code;
use crate::model::*;
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;
use crate::syntax::words;

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
                let states = &words::names(words::SYNC_STATES);
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
        let options = words::names(words::SYNC_OPTIONS);
        for setting in &block.settings {
            let name = setting.name.text.as_str();
            if !options.contains(&name) {
                let d = unknown(Code::UnknownKeyword, &setting.name, "sync option", &options);
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
