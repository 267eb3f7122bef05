use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use super::trace::Stages;
use super::{Error, Exit, InputArgs, Outcome};
use crate::apply::{self, Failed, Journal, JournalEntry, Options, Stopped};
use crate::diagnostic::{self, Style};
use crate::kernel::netlink::NetlinkKernel;
use crate::kernel::Kernel;
use crate::model::{Drain, DrainPolicy, Table};
use crate::plan::state::{self, State};
use crate::plan::{self, Live, Plan, Scope};
use crate::source::{display_name, Sources};

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
    /// Return once the table is applied, without waiting for removed servers to drain; the
    /// drains are recorded and finished by `ipvsc drain` or the next apply.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    drain: DrainArg,
}

/// `--drain`, for commands that plan.
#[derive(clap::Args)]
pub struct DrainArg {
    /// How removed servers leave when the file does not say (an ipvsadm dump never does): a
    /// deadline like 10m, or `off` to delete them at once.
    #[arg(long, value_name = "DURATION|off", value_parser = parse_drain_arg)]
    drain: Option<Drain>,
}

impl DrainArg {
    /// The file's policy, with this default where the file has none.
    pub fn apply_to(&self, policy: &mut DrainPolicy) {
        if policy.default.is_none() {
            policy.default = self.drain;
        }
    }
}

/// `off` or a duration, as `--drain` takes it.
pub(crate) fn parse_drain_arg(text: &str) -> Result<Drain, String> {
    if text == "off" {
        return Ok(Drain::Off);
    }
    let span = crate::source::Span {
        file: crate::source::FileId(0),
        start: 0,
        end: 0,
    };
    match crate::check::values::duration(text, span) {
        Ok(0) => Err("0 is no deadline: write `off` to delete at once".to_string()),
        Ok(secs) if secs <= u64::from(crate::model::MAX_TIMEOUT) => Ok(Drain::For(secs as u32)),
        Ok(_) => Err("at most 31 days".to_string()),
        Err(d) => Err(format!(
            "{}{}",
            d.message,
            d.help.map(|h| format!(" ({h})")).unwrap_or_default()
        )),
    }
}

/// `IPVSC_TEST_FAIL_AT=K` makes operation K fail (for the rollback tests; only in builds with
/// the `test-hooks` feature).
#[cfg(feature = "test-hooks")]
fn test_options() -> Result<Options, Error> {
    match std::env::var("IPVSC_TEST_FAIL_AT") {
        Err(_) => Ok(Options::default()),
        Ok(v) => v
            .parse()
            .map(|k| Options {
                fail_at: Some(k),
                ..Options::default()
            })
            .map_err(|_| {
                Error::usage(format!("IPVSC_TEST_FAIL_AT={v} is not an operation number"))
            }),
    }
}

#[cfg(not(feature = "test-hooks"))]
fn test_options() -> Result<Options, Error> {
    Ok(Options::default())
}

/// The lock (waiting for another apply), and the interrupted apply its journal holds, if any.
pub(crate) fn lock() -> Result<(Journal, Option<JournalEntry>), Error> {
    let dir = super::state_dir();
    let journal = dir.lock().map_err(|e| {
        Error::usage(format!(
            "cannot take the lock in {}: {e}",
            dir.path().display()
        ))
    })?;
    let pending = journal
        .pending()
        .map_err(|e| Error::usage(format!("cannot read the journal: {e}")))?;
    Ok((journal, pending))
}

/// `ipvsc apply`: make the kernel's table what the file says, all or nothing; then wait for the
/// servers it removed to drain.
pub fn run(args: Args, style: Style) -> Outcome {
    let trace = Stages::from_env();
    let options = test_options()?;
    let mut sources = Sources::new();
    // The file is compiled while the kernel's table is read, under the lock.
    let (mut desired, (mut kernel, journal, recorded, current)) = super::compile_while(
        &mut sources,
        &args.file,
        &args.input,
        style,
        move |compiled| {
            let mut kernel = super::open_netlink()?;
            kernel.second_reader_after(compiled);
            let journal = lock_clean()?;
            let recorded = journal.state().map_err(|e| {
                Error::usage(format!(
                    "cannot read the recorded drains and overrides: {e}"
                ))
            })?;
            let current = kernel.read()?;
            trace.mark("kernel read");
            Ok((kernel, journal, recorded, current))
        },
    )?;
    trace.mark("compiled");
    args.drain.apply_to(&mut desired.policy);
    let leaving = plan::leaving(&desired.table, &current, &recorded);
    let loads = kernel.loads(&leaving)?;
    let live = Live {
        policy: &desired.policy,
        loads: Some(&loads),
        state: &recorded,
        now: state::now(),
    };
    let plan = plan::plan_live(&desired.table, &desired.map, &current, args.scope, &live);
    // What is left to do needs the plan and the file's text, not the table it was made from.
    if plan.is_empty() {
        super::leave_to_exit(desired);
    } else {
        drop(desired);
    }
    trace.mark("planned");
    if args.verbose {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        plan::write(&plan, &sources, &mut out)
            .and_then(|()| std::io::Write::flush(&mut out))
            .map_err(|e| Error::usage(format!("cannot write the plan: {e}")))?;
    } else {
        for note in &plan.notes {
            eprintln!("note: {note}");
        }
        println!("{}", plan::summary(&plan));
    }
    if !plan.is_empty() {
        let source = display_name(&args.file);
        let started = Instant::now();
        let n = transaction(
            &mut kernel,
            &journal,
            &source,
            &current,
            &plan,
            options,
            |failed| report_failure(failed, &plan, &sources, style),
        )?;
        let (add, change, remove) = plan.counts();
        let drain = match plan.drain_count() {
            0 => String::new(),
            n => format!(", {n} draining"),
        };
        trace.mark("applied");
        println!(
            "Applied: {add} added, {change} changed, {remove} removed{drain} ({n} kernel operations in {:.2} s).",
            started.elapsed().as_secs_f64()
        );
    } else {
        save_state(&journal, &plan.state)?;
    }
    drop(journal);
    let draining = plan.state.drains.len();
    if draining > 0 && !args.no_wait {
        return super::drain::wait(&mut kernel);
    }
    if draining > 0 {
        println!(
            "{draining} server{} draining: `ipvsc drain --wait` (or the next apply) finishes {}.",
            if draining == 1 { "" } else { "s" },
            if draining == 1 { "it" } else { "them" },
        );
    }
    // The process ends now: the kernel takes its memory back at once.
    super::leave_to_exit((current, loads, sources, plan));
    Ok(Exit::Ok)
}

/// The lock, refusing to go on after an interrupted apply.
pub(crate) fn lock_clean() -> Result<Journal, Error> {
    match lock()? {
        (journal, None) => Ok(journal),
        (journal, Some(entry)) if entry.from_another_boot() => {
            eprintln!(
                "warning: an apply of {} (pid {}) was interrupted before the machine rebooted; \
                 the table it changed is gone with that boot, so its journal is set aside",
                entry.source, entry.pid
            );
            journal.end().map_err(|e| {
                Error::usage(format!(
                    "cannot remove the journal of the earlier boot: {e}"
                ))
            })?;
            Ok(journal)
        }
        (_, Some(entry)) => Err(Error::Pending(format!(
            "an apply of {} (pid {}) was interrupted and the kernel's table may be half changed; \
             run `ipvsc recover` to put back the table it found",
            entry.source, entry.pid
        ))),
    }
}

/// Records drains and overrides.
pub(crate) fn save_state(journal: &Journal, state: &State) -> Result<(), Error> {
    journal
        .save_state(state)
        .map_err(|e| Error::usage(format!("cannot record the drains and overrides: {e}")))
}

/// Runs `plan` under the journal and records its drains and overrides; gives the number of
/// operations done, or the exit status `report` gives once it said what failed.
pub(crate) fn transaction(
    kernel: &mut NetlinkKernel,
    journal: &Journal,
    source: &str,
    current: &Table,
    plan: &Plan,
    options: Options,
    report: impl FnOnce(&Failed) -> Exit,
) -> Result<usize, Error> {
    let trace = Stages::from_env();
    // The journal holds what the plan may change: at a large table, a small change writes a
    // small journal.
    let services = apply::touched_by(plan);
    let found = apply::part(current, services.as_deref());
    journal
        .begin(source, &found, services.as_deref())
        .map_err(|e| {
            Error::usage(format!(
                "cannot write the journal, so nothing was changed: {e}"
            ))
        })?;
    trace.mark("journal written");
    let options = Options {
        cancel: super::signals::cancel_on_signals(),
        ..options
    };
    let show_progress = std::io::stderr().is_terminal() && plan.op_count() > apply::BATCH;
    let mut progress = |done: usize, total: usize| {
        if done == total {
            trace.mark("acknowledged");
        }
        if show_progress {
            eprint!("\rapplying: {done}/{total} operations");
            if done == total {
                eprintln!();
            }
        }
    };
    match apply::execute_on(
        kernel,
        &found,
        services.as_deref(),
        plan,
        options,
        &mut progress,
    ) {
        Ok(n) => {
            // The state goes to disk before the journal goes: a crash in between leaves the
            // journal, and `recover` puts back the table the recorded state was made for.
            save_state(journal, &plan.state)?;
            let _ = journal.end();
            Ok(n)
        }
        Err(failed) => {
            if show_progress {
                eprintln!();
            }
            // Only a table read back equal to the one found ends the transaction.
            if failed.rollback.restored {
                let _ = journal.end();
            }
            Err(Error::Reported(report(&failed)))
        }
    }
}

/// Says what was refused (at its line in the file), and how the rollback went.
fn report_failure(failed: &Failed, plan: &Plan, sources: &Sources, style: Style) -> Exit {
    if let Stopped::Refused { index, error } = &failed.stopped {
        let change = apply::change_of(plan, *index);
        if let Some(d) = change.and_then(|c| apply::refusal(c, error)) {
            eprint!("{}", diagnostic::render(&d, sources, style));
            return rollback_outcome(failed, Exit::Refused);
        }
    }
    let code = say_stopped(&failed.stopped, plan.op_count());
    rollback_outcome(failed, code)
}

/// Says why a transaction stopped; gives the exit status it means once the table is restored.
pub(crate) fn say_stopped(stopped: &Stopped, total: usize) -> Exit {
    match stopped {
        Stopped::Refused { error, .. } => {
            eprintln!("ipvsc: {error}");
            Exit::Refused
        }
        Stopped::Unknown { index, error } => {
            eprintln!(
                "ipvsc: {error} (operation {} of {total}); the table is read back to tell",
                index + 1
            );
            Exit::Refused
        }
        Stopped::Interrupted { done } => {
            eprintln!("ipvsc: interrupted after {done} of {total} operations");
            Exit::Interrupted
        }
        Stopped::Diverged { difference } => {
            eprintln!(
                "ipvsc: every operation was acknowledged, but the table read back is not the one \
                 planned ({} operations away from it): someone else changed it meanwhile, or the \
                 kernel did not do what it said",
                difference.op_count()
            );
            Exit::Refused
        }
    }
}

/// Reports the rollback; the exit status is `code` when the table read back is the one found.
pub(crate) fn rollback_outcome(failed: &Failed, code: Exit) -> Exit {
    let rollback = &failed.rollback;
    if rollback.restored {
        eprintln!(
            "ipvsc: rolled back: {} operations; the table read back is as it was found",
            rollback.ops
        );
        return code;
    }
    eprintln!(
        "ipvsc: the rollback did not restore the table ({} operations, {} failed); the journal \
         stays, run `ipvsc recover` to try again",
        rollback.ops,
        rollback.failures.len()
    );
    for e in &rollback.failures {
        eprintln!("  {e}");
    }
    match &rollback.difference {
        Some(left) => {
            eprintln!("What still differs from the table found (what `ipvsc recover` would do):");
            eprint!("{}", plan::render(left, &Sources::new()));
        }
        None => eprintln!("The table could not be read back."),
    }
    Exit::RollbackFailed
}
