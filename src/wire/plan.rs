//! `plan --format json`.

use serde::Serialize;

use super::{OpDoc, ServerKeyDoc, ServiceKeyDoc, PLAN_VERSION};
use crate::plan::{Change, Draining, Plan};

/// The document borrows the plan: its changes are serialized one [`ChangeDoc`] at a time, so
/// that a plan of a million changes is written without a copy of it in memory.
#[derive(Serialize)]
pub struct PlanDoc<'a> {
    pub format_version: u32,
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub drain: usize,
    pub operations: usize,
    pub changes: ChangesDoc<'a>,
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

/// A plan's changes, as a list of [`ChangeDoc`] made as it is written.
pub struct ChangesDoc<'a> {
    plan: &'a Plan,
    location: &'a dyn Fn(&Change) -> Option<String>,
}

impl Serialize for ChangesDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.plan
                .changes
                .iter()
                .map(|c| ChangeDoc::new(c, (self.location)(c))),
        )
    }
}

impl ChangeDoc {
    /// The change, declared at `location`.
    pub fn new(c: &Change, location: Option<String>) -> ChangeDoc {
        ChangeDoc {
            action: c.action.name(),
            subject: c.subject.to_string(),
            fields: c
                .fields()
                .iter()
                .map(|f| FieldDoc {
                    name: f.name,
                    old: f.old.clone(),
                    new: f.new.clone(),
                })
                .collect(),
            ops: c.ops.iter().map(OpDoc::from).collect(),
            location,
        }
    }
}

impl<'a> PlanDoc<'a> {
    /// The plan, with each change's `file:line` from `location`.
    pub fn new(plan: &'a Plan, location: &'a dyn Fn(&Change) -> Option<String>) -> PlanDoc<'a> {
        let (add, change, remove) = plan.counts();
        PlanDoc {
            format_version: PLAN_VERSION,
            add,
            change,
            remove,
            drain: plan.drain_count(),
            operations: plan.op_count(),
            changes: ChangesDoc { plan, location },
            draining: plan.draining.iter().map(DrainingDoc::from).collect(),
            notes: plan.notes.clone(),
        }
    }
}
