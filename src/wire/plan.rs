//! `plan --format json`.

use serde::Serialize;

use super::{OpDoc, ServerKeyDoc, ServiceKeyDoc, PLAN_VERSION};
use crate::plan::{Draining, Plan};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanDoc {
    pub format_version: u32,
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub drain: usize,
    pub operations: usize,
    pub changes: Vec<ChangeDoc>,
    pub draining: Vec<DrainingDoc>,
    pub notes: Vec<String>,
}

/// One object's change, as the text plan shows it, and its kernel operations in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeDoc {
    /// `add`, `change`, `remove`, `replace`, `drain`.
    pub action: &'static str,
    /// `service tcp 10.0.0.1:80`, `server 10.0.0.2:80 of service tcp 10.0.0.1:80`, ...
    pub subject: String,
    pub fields: Vec<FieldDoc>,
    pub ops: Vec<OpDoc>,
    /// `file:line` of the declaration; none for a removal.
    pub location: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldDoc {
    pub name: &'static str,
    pub old: String,
    pub new: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrainingDoc {
    pub service: ServiceKeyDoc,
    pub server: ServerKeyDoc,
    /// `null` when not known.
    pub connections: Option<u32>,
    pub deadline: u64,
    pub seconds_left: u64,
}

impl From<&Draining> for DrainingDoc {
    fn from(d: &Draining) -> DrainingDoc {
        DrainingDoc {
            service: d.service.into(),
            server: d.server.into(),
            connections: d.connections,
            deadline: d.deadline,
            seconds_left: d.seconds_left,
        }
    }
}

impl PlanDoc {
    /// The plan, with each change's `file:line` from `location`.
    pub fn new(plan: &Plan, location: impl Fn(&crate::plan::Change) -> Option<String>) -> PlanDoc {
        let (add, change, remove) = plan.counts();
        PlanDoc {
            format_version: PLAN_VERSION,
            add,
            change,
            remove,
            drain: plan.drain_count(),
            operations: plan.op_count(),
            changes: plan
                .changes
                .iter()
                .map(|c| ChangeDoc {
                    action: c.action.name(),
                    subject: c.subject.to_string(),
                    fields: c
                        .fields
                        .list()
                        .iter()
                        .map(|f| FieldDoc {
                            name: f.name,
                            old: f.old.clone(),
                            new: f.new.clone(),
                        })
                        .collect(),
                    ops: c.ops.iter().map(OpDoc::from).collect(),
                    location: location(c),
                })
                .collect(),
            draining: plan.draining.iter().map(DrainingDoc::from).collect(),
            notes: plan.notes.clone(),
        }
    }
}
