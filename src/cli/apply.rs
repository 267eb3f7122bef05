use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use super::{InputArgs, EXIT_OK, EXIT_USAGE};
use crate::apply::{self, Failed, Journal, JournalEntry, Options, StateDir, Stopped};
use crate::diagnostic::{self, Style};
use crate::kernel::netlink::NetlinkKernel;
use crate::kernel::Kernel;
use crate::model::Table;
use crate::plan::{self, Plan, Scope};
use crate::source::{display_name, Sources};

/// Exit status: the kernel refused an operation; everything done was undone.
pub const EXIT_REFUSED: i32 = 5;
/// Exit status: the rollback itself failed; the journal stays for `ipvsc recover`.
pub const EXIT_ROLLBACK_FAILED: i32 = 6;
/// Exit status: an earlier apply was interrupted; run `ipvsc recover` first.
pub const EXIT_PENDING: i32 = 7;
/// Exit status: stopped by SIGINT or SIGTERM; everything done was undone.
pub const EXIT_INTERRUPTED: i32 = 8;

#[derive(clap::Args)]
pub struct Args {
    /// The configuration to apply (`-` for standard input).
    file: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// What the file owns: the whole table, or only the services and daemons it declares.
    #[arg(long, value_enum, default_value_t = Scope::All)]
    scope: Scope,
    /// Print every change, not only the summary.
    #[arg(long, short)]
    verbose: bool,
}

/// `IPVSC_TEST_FAIL_AT=K` makes operation K fail (for the rollback tests).
fn test_options() -> Result<Options, i32> {
    match std::env::var("IPVSC_TEST_FAIL_AT") {
        Err(_) => Ok(Options::default()),
        Ok(v) => v
            .parse()
            .map(|k| Options { fail_at: Some(k) })
            .map_err(|_| {
                eprintln!("ipvsc: IPVSC_TEST_FAIL_AT={v} is not an operation number");
                EXIT_USAGE
            }),
    }
}

/// The lock (waiting for another apply), and the interrupted apply its journal holds, if any.
pub(crate) fn lock() -> Result<(Journal, Option<JournalEntry>), i32> {
    let dir = StateDir::new();
    let journal = dir.lock().map_err(|e| {
        eprintln!(
            "ipvsc: cannot take the lock in {}: {e}",
            dir.path().display()
        );
        EXIT_USAGE
    })?;
    let pending = journal.pending().map_err(|e| {
        eprintln!("ipvsc: cannot read the journal: {e}");
        EXIT_USAGE
    })?;
    Ok((journal, pending))
}

/// `ipvsc apply`: make the kernel's table what the file says, all or nothing.
pub fn run(args: Args, style: Style) -> i32 {
    let mut sources = Sources::new();
    let desired = match super::load_checked(&mut sources, &args.file, &args.input, style) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = match test_options() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut kernel = match super::open_netlink() {
        Ok(k) => k,
        Err(code) => return code,
    };
    let journal = match lock() {
        Ok((journal, None)) => journal,
        Ok((_, Some(entry))) => {
            eprintln!(
                "ipvsc: an apply of {} (pid {}) was interrupted and the kernel's table may be half changed; \
                 run `ipvsc recover` to put back the table it found",
                entry.source, entry.pid
            );
            return EXIT_PENDING;
        }
        Err(code) => return code,
    };
    let current = match kernel.read() {
        Ok(t) => t,
        Err(e) => return super::kernel_failure(&e),
    };
    let plan = plan::plan(&desired.table, &desired.map, &current, args.scope);
    if args.verbose {
        print!("{}", plan::render(&plan, &sources));
    } else {
        println!("{}", plan::summary(&plan));
    }
    if plan.is_empty() {
        return EXIT_OK;
    }
    let source = display_name(&args.file);
    transaction(
        &mut kernel,
        &journal,
        &source,
        &current,
        &plan,
        options,
        |failed| report_failure(failed, &plan, &sources, style),
    )
}

/// Runs `plan` under the journal; prints what was done, or hands the failure to `report`.
pub(crate) fn transaction(
    kernel: &mut NetlinkKernel,
    journal: &Journal,
    source: &str,
    current: &Table,
    plan: &Plan,
    options: Options,
    report: impl FnOnce(&Failed) -> i32,
) -> i32 {
    if let Err(e) = journal.begin(source, current) {
        eprintln!("ipvsc: cannot write the journal, so nothing was changed: {e}");
        return EXIT_USAGE;
    }
    apply::catch_signals();
    let started = Instant::now();
    let show_progress = std::io::stderr().is_terminal() && plan.op_count() > apply::BATCH;
    let mut progress = |done: usize, total: usize| {
        if show_progress {
            eprint!("\rapplying: {done}/{total} operations");
            if done == total {
                eprintln!();
            }
        }
    };
    match apply::execute(kernel, current, plan, options, &mut progress) {
        Ok(n) => {
            let _ = journal.end();
            let (add, change, remove) = plan.counts();
            println!(
                "Applied: {add} added, {change} changed, {remove} removed ({n} kernel operations in {:.2} s).",
                started.elapsed().as_secs_f64()
            );
            EXIT_OK
        }
        Err(failed) => {
            if show_progress {
                eprintln!();
            }
            if failed.rollback.failures.is_empty() {
                let _ = journal.end();
            }
            report(&failed)
        }
    }
}

/// Says what was refused (at its line in the file), and how the rollback went.
fn report_failure(failed: &Failed, plan: &Plan, sources: &Sources, style: Style) -> i32 {
    let code = match &failed.stopped {
        Stopped::Refused { index, error } => {
            let change = apply::change_of(plan, *index);
            match change.and_then(|c| apply::refusal(c, error)) {
                Some(d) => eprint!("{}", diagnostic::render(&d, sources, style)),
                None => eprintln!("ipvsc: {error}"),
            }
            EXIT_REFUSED
        }
        Stopped::Interrupted { done } => {
            eprintln!(
                "ipvsc: interrupted after {done} of {} operations",
                plan.op_count()
            );
            EXIT_INTERRUPTED
        }
    };
    rollback_outcome(failed, code)
}

/// Reports the rollback; the exit status is `code` when it succeeded.
pub(crate) fn rollback_outcome(failed: &Failed, code: i32) -> i32 {
    if failed.rollback.failures.is_empty() {
        eprintln!(
            "ipvsc: rolled back: {} operations undone; the kernel's table is as it was found",
            failed.rollback.ops
        );
        return code;
    }
    eprintln!(
        "ipvsc: the rollback failed ({} of {} undo operations refused); the journal stays, \
         run `ipvsc recover` to try again:",
        failed.rollback.failures.len(),
        failed.rollback.ops
    );
    for e in &failed.rollback.failures {
        eprintln!("  {e}");
    }
    EXIT_ROLLBACK_FAILED
}
