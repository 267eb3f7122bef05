use super::{EXIT_OK, EXIT_USAGE};
use crate::apply::{self, Options};
use crate::kernel::Kernel;
use crate::plan::{self, Scope};
use crate::source::SourceMap;

/// `ipvsc recover`: after an apply was killed (SIGKILL, power loss), put back the table it
/// found, from its journal. The journal stays until that succeeds.
pub fn run() -> i32 {
    let mut kernel = match super::open_netlink() {
        Ok(k) => k,
        Err(code) => return code,
    };
    let (journal, entry) = match super::apply::lock() {
        Ok((journal, Some(entry))) => (journal, entry),
        Ok((_, None)) => {
            println!("Nothing to recover: no apply was interrupted.");
            return EXIT_OK;
        }
        Err(code) => return code,
    };
    let current = match kernel.read() {
        Ok(t) => t,
        Err(e) => return super::kernel_failure(&e),
    };
    println!(
        "Recovering from an interrupted apply of {} (pid {}): restoring the table it found.",
        entry.source, entry.pid
    );
    let plan = plan::plan(&entry.before, &SourceMap::default(), &current, Scope::All);
    println!("{}", plan::summary(&plan));
    apply::catch_signals();
    match apply::execute(
        &mut kernel,
        &current,
        &plan,
        Options::default(),
        &mut |_, _| {},
    ) {
        Ok(n) => {
            if let Err(e) = journal.end() {
                eprintln!("ipvsc: recovered, but cannot remove the journal: {e}");
                return EXIT_USAGE;
            }
            println!(
                "Recovered: {n} kernel operations; the table is as the interrupted apply found it."
            );
            EXIT_OK
        }
        Err(failed) => {
            super::apply::say_stopped(&failed.stopped, plan.op_count());
            eprintln!(
                "ipvsc: recovery did not finish; the journal stays, run `ipvsc recover` again"
            );
            super::apply::rollback_outcome(&failed, super::apply::EXIT_REFUSED)
        }
    }
}
