use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::apply::{lock_clean, save_state, transaction};
use super::{Error, Exit, Outcome};
use crate::apply::Options;
use crate::kernel::netlink::NetlinkKernel;
use crate::kernel::Kernel;
use crate::plan::render::duration;
use crate::plan::state::{self, State};
use crate::plan::{self, Draining};

/// How often a waiting run looks at the drains' connections.
const POLL: Duration = Duration::from_secs(2);

#[derive(clap::Args)]
pub struct Args {
    /// Wait until every drain is finished, instead of finishing those that are due and
    /// returning.
    #[arg(long)]
    wait: bool,
}

/// `ipvsc drain`: finish the drains whose servers have no connections left or whose deadline
/// passed, and list the others; `--wait` until all are finished.
pub fn run(args: Args) -> Outcome {
    let mut kernel = super::open_netlink()?;
    if args.wait {
        return wait(&mut kernel);
    }
    let left = finish(&mut kernel, true)?;
    if left.is_empty() {
        println!("Nothing is draining.");
    }
    for d in &left {
        println!("draining: {d}");
    }
    Ok(Exit::Ok)
}

/// Under the lock: deletes the drained servers that are due, records the rest, and gives the
/// drains still under way.
fn finish(kernel: &mut NetlinkKernel, verbose: bool) -> Result<Vec<Draining>, Error> {
    let journal = lock_clean()?;
    let recorded = journal
        .state()
        .map_err(|e| Error::usage(format!("cannot read the recorded drains: {e}")))?;
    if recorded.drains.is_empty() {
        return Ok(Vec::new());
    }
    // Only the services with drains are read: a wait polls every two seconds, and the rest of
    // a large table is none of its business.
    let services: Vec<_> = recorded
        .drains
        .iter()
        .map(|r| r.service)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let current = kernel.read_services(&services)?;
    let loads = kernel.loads(&services)?;
    let plan = plan::finish_drains(&current, &recorded, Some(&loads), state::now());
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    if plan.is_empty() {
        if plan.state != recorded {
            save_state(&journal, &plan.state)?;
        }
    } else {
        if verbose {
            print!("{}", plan::render(&plan, &crate::source::Sources::new()));
        }
        transaction(
            kernel,
            &journal,
            "ipvsc drain",
            &current,
            &plan,
            Options::default(),
            |failed| {
                let code = super::apply::say_stopped(&failed.stopped, plan.op_count());
                super::apply::rollback_outcome(failed, code)
            },
        )?;
        for change in &plan.changes {
            eprintln!("drained: {}", change.subject);
        }
    }
    Ok(plan.draining)
}

/// Waits until every recorded drain is finished, finishing each as it becomes due, with a
/// progress line. SIGINT/SIGTERM stops the wait and leaves the drains recorded.
pub fn wait(kernel: &mut NetlinkKernel) -> Outcome {
    let cancel = super::signals::cancel_on_signals();
    let terminal = std::io::stderr().is_terminal();
    let mut last_print = None::<(Instant, usize)>;
    loop {
        let left = finish(kernel, false)?;
        if left.is_empty() {
            if terminal {
                eprint!("\r\x1b[K");
            }
            println!("Drained: no server is draining any more.");
            return Ok(Exit::Ok);
        }
        let status = progress(&left);
        let due = last_print
            .is_none_or(|(at, n)| n != left.len() || at.elapsed() >= Duration::from_secs(30));
        if terminal {
            eprint!("\r\x1b[K{status}");
        } else if due {
            eprintln!("{status}");
            last_print = Some((Instant::now(), left.len()));
        }
        let until = Instant::now() + POLL;
        while Instant::now() < until {
            if cancel.is_cancelled() {
                if terminal {
                    eprintln!();
                }
                return Err(Error::DrainInterrupted(format!(
                    "interrupted while waiting; the table is applied and {} server{} stay{} at \
                     weight 0, recorded: run `ipvsc drain --wait` (or apply again) to finish, \
                     or `ipvsc drain` to see them",
                    left.len(),
                    if left.len() == 1 { "" } else { "s" },
                    if left.len() == 1 { "s" } else { "" },
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `draining: 2 servers, 5 connections left, 12m30s to the last deadline`
fn progress(left: &[Draining]) -> String {
    let conns: Option<u32> = left.iter().map(|d| d.connections).sum();
    let latest = left.iter().map(|d| d.seconds_left).max().unwrap_or(0);
    format!(
        "draining: {} server{}, {} connection{} left, {} to the last deadline",
        left.len(),
        if left.len() == 1 { "" } else { "s" },
        conns.map_or("?".to_string(), |n| n.to_string()),
        if conns == Some(1) { "" } else { "s" },
        duration(latest)
    )
}

/// The drains recorded, for `plan` and `overrides` (no lock: the file is replaced whole).
pub fn recorded() -> Result<State, Error> {
    super::state_dir().read_state().map_err(|e| {
        Error::usage(format!(
            "cannot read the recorded drains and overrides: {e}"
        ))
    })
}
