//! A plan as a reviewer reads it: `+` add, `~` change (old → new), `-` remove, `-/+` replace,
//! and a summary line.

use std::fmt::Write;

use serde::Serialize;

use super::{Action, Change, Plan};
use crate::source::Sources;

fn location(change: &Change, sources: &Sources) -> Option<String> {
    let span = change.span?;
    let file = sources.get(span.file);
    let (line, _) = file.line_col(span.start);
    Some(format!("{}:{line}", file.name))
}

/// The summary line: "Plan: 2 to add, 1 to change, 0 to remove." or "No changes."
pub fn summary(plan: &Plan) -> String {
    if plan.is_empty() {
        return "No changes: the kernel's table already matches.".to_string();
    }
    let (add, change, remove) = plan.counts();
    let ops = plan.op_count();
    format!(
        "Plan: {add} to add, {change} to change, {remove} to remove ({ops} kernel operation{}).",
        if ops == 1 { "" } else { "s" }
    )
}

/// The plan as text.
pub fn render(plan: &Plan, sources: &Sources) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        // A replaced sync daemon is stopped early and started last; the reader sees it once,
        // at its stop, with what changes.
        if change.action == Action::Replace
            && matches!(change.ops.as_slice(), [crate::kernel::Op::StartDaemon(_)])
        {
            continue;
        }
        let head = format!("{:>3} {}", change.action.symbol(), change.subject);
        match location(change, sources) {
            Some(at) => {
                let _ = writeln!(out, "{head}  ({at})");
            }
            None => {
                let _ = writeln!(out, "{head}");
            }
        }
        let fields = change.fields.list();
        if fields.is_empty() {
            continue;
        }
        match change.action {
            Action::Add => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{} {}", f.name, f.new))
                    .collect();
                let _ = writeln!(out, "      {}", parts.join(", "));
            }
            _ => {
                for f in fields.iter() {
                    let _ = writeln!(out, "      {}: {} → {}", f.name, f.old, f.new);
                }
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary(plan));
    out.push('\n');
    out
}

#[derive(Serialize)]
struct JsonChange<'a> {
    #[serde(flatten)]
    change: &'a Change,
    location: Option<String>,
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    add: usize,
    change: usize,
    remove: usize,
    operations: usize,
    changes: Vec<JsonChange<'a>>,
}

/// The plan as JSON, for tools.
pub fn render_json(plan: &Plan, sources: &Sources) -> String {
    let (add, change, remove) = plan.counts();
    let json = JsonPlan {
        add,
        change,
        remove,
        operations: plan.op_count(),
        changes: plan
            .changes
            .iter()
            .map(|c| JsonChange {
                change: c,
                location: location(c, sources),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&json).expect("a plan serializes") + "\n"
}
