//! A plan as a reviewer reads it: `+` add, `~` change (old → new), `-` remove, `-/+` replace,
//! and a summary line.

use std::io::{self, Write};

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
fn aside(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    if !plan.draining.is_empty() {
        writeln!(out, "Still draining (from an earlier apply):")?;
        for d in &plan.draining {
            writeln!(out, "    {d}")?;
        }
        writeln!(out)?;
    }
    for note in &plan.notes {
        writeln!(out, "note: {note}")?;
    }
    if !plan.notes.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// The plan as text.
pub fn render(plan: &Plan, sources: &Sources) -> String {
    let mut out = Vec::new();
    write(plan, sources, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("the plan is text")
}

/// [`render`], written to `out` as it is made.
pub fn write(plan: &Plan, sources: &Sources, out: &mut dyn Write) -> io::Result<()> {
    let mut empty = true;
    for change in &plan.changes {
        // A replaced sync daemon is stopped early and started last; the reader sees it once,
        // at its stop, with what changes.
        if change.action == Action::Replace
            && matches!(change.ops.as_slice(), [crate::kernel::Op::StartDaemon(_)])
        {
            continue;
        }
        empty = false;
        let head = format!("{:>3} {}", change.action.symbol(), change.subject);
        match location(change, sources) {
            Some(at) => writeln!(out, "{head}  ({at})")?,
            None => writeln!(out, "{head}")?,
        }
        let fields = change.fields();
        if fields.is_empty() {
            continue;
        }
        match change.action {
            Action::Add => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{} {}", f.name, f.new))
                    .collect();
                writeln!(out, "      {}", parts.join(", "))?;
            }
            _ => {
                for f in fields.iter() {
                    if f.old.is_empty() {
                        writeln!(out, "      {}: {}", f.name, f.new)?;
                    } else {
                        writeln!(out, "      {}: {} → {}", f.name, f.old, f.new)?;
                    }
                }
            }
        }
    }
    if !empty {
        writeln!(out)?;
    }
    aside(plan, out)?;
    writeln!(out, "{}", summary(plan))
}

/// The plan as JSON, for tools.
pub fn render_json(plan: &Plan, sources: &Sources) -> String {
    let mut out = Vec::new();
    write_json(plan, sources, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("JSON is text")
}

/// [`render_json`], written to `out` as it is made.
pub fn write_json(plan: &Plan, sources: &Sources, out: &mut dyn Write) -> io::Result<()> {
    let location = |c: &Change| location(c, sources);
    let doc = crate::wire::PlanDoc::new(plan, &location);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
