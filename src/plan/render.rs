//! A plan as a reviewer reads it: `+` add, `~` change (old → new), `-` remove, `-/+` replace,
//! and a summary line.

use std::fmt::Write;

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
    let drain = match plan.drain_count() {
        0 => String::new(),
        n => format!(", {n} to drain"),
    };
    let ops = plan.op_count();
    format!(
        "Plan: {add} to add, {change} to change, {remove} to remove{drain} ({ops} kernel operation{}).",
        if ops == 1 { "" } else { "s" }
    )
}

/// `4m10s`, `15m`, `0s`: a duration as the language writes it.
pub fn duration(secs: u64) -> String {
    let secs = u32::try_from(secs).unwrap_or(u32::MAX);
    if secs == 0 {
        return "0s".to_string();
    }
    let (m, s) = (secs / 60, secs % 60);
    if m > 0 && s > 0 {
        format!("{m}m{s}s")
    } else {
        crate::model::language::duration(secs)
    }
}

/// The drains under way, one line each, and what an operator should know.
fn aside(plan: &Plan, out: &mut String) {
    if !plan.draining.is_empty() {
        let _ = writeln!(out, "Still draining (from an earlier apply):");
        for d in &plan.draining {
            let _ = writeln!(out, "    {d}");
        }
        out.push('\n');
    }
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if !plan.notes.is_empty() {
        out.push('\n');
    }
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
                    if f.old.is_empty() {
                        let _ = writeln!(out, "      {}: {}", f.name, f.new);
                    } else {
                        let _ = writeln!(out, "      {}: {} → {}", f.name, f.old, f.new);
                    }
                }
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    aside(plan, &mut out);
    out.push_str(&summary(plan));
    out.push('\n');
    out
}

/// The plan as JSON, for tools.
pub fn render_json(plan: &Plan, sources: &Sources) -> String {
    let doc = crate::wire::PlanDoc::new(plan, |c| location(c, sources));
    serde_json::to_string_pretty(&doc).expect("a plan serializes") + "\n"
}
