use super::{Error, Exit, Outcome};
use crate::apply::{self, Options};
use crate::plan::{self, Scope};
use crate::source::SourceMap;

/// `ipvsc recover`: after an apply was killed (SIGKILL, power loss), put back the table it
/// found, from its journal. The journal stays until that succeeds.
pub fn run() -> Outcome {
    let mut kernel = super::open_netlink()?;
    let (journal, entry) = match super::apply::lock()? {
        (journal, Some(entry)) => (journal, entry),
        (_, None) => {
            println!("Nothing to recover: no apply was interrupted.");
            return Ok(Exit::Ok);
        }
    };
    // A journal of some services restores those alone: the interrupted apply changed no other.
    let current = apply::read_part(&mut kernel, entry.services.as_deref())?;
    println!(
        "Recovering from an interrupted apply of {} (pid {}): restoring the table it found.",
        entry.source, entry.pid
    );
    let plan = plan::plan(&entry.before, &SourceMap::default(), &current, Scope::All);
    println!("{}", plan::summary(&plan));
    match apply::execute(
        &mut kernel,
        &current,
        &plan,
        Options {
            cancel: super::signals::cancel_on_signals(),
            ..Options::default()
        },
        &mut |_, _| {},
    ) {
        Ok(n) => {
            journal.end().map_err(|e| {
                Error::usage(format!("recovered, but cannot remove the journal: {e}"))
            })?;
            println!(
                "Recovered: {n} kernel operations; the table is as the interrupted apply found it."
            );
            Ok(Exit::Ok)
        }
        Err(failed) => {
            super::apply::say_stopped(&failed.stopped, plan.op_count());
            eprintln!(
                "ipvsc: recovery did not finish; the journal stays, run `ipvsc recover` again"
            );
            Err(Error::Reported(super::apply::rollback_outcome(
                &failed,
                Exit::Refused,
            )))
        }
    }
}
