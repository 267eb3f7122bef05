//! Executes a plan as a transaction: operations go to the kernel in pipelined batches; the
//! first refusal (or SIGINT/SIGTERM) stops the run and every operation that succeeded is undone
//! in reverse, leaving the table as it was found. A journal written before the first change
//! lets `ipvsc recover` finish the job after a crash.

mod journal;

pub use journal::{Journal, JournalEntry, StateDir};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::diagnostic::{Code, Diagnostic};
use crate::kernel::{Kernel, KernelError, Op};
use crate::model::Table;
use crate::plan::{inverse, simulate, Change, Plan};

/// Operations handed to the kernel between two checks for a refusal or a signal.
pub const BATCH: usize = 256;

/// Set by SIGINT/SIGTERM while an apply runs.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM ask the running apply to stop and roll back.
pub fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether a signal asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Knobs for tests: make operation `fail_at` (0-based) fail as if the kernel refused it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub fail_at: Option<usize>,
}

/// Why a transaction did not complete.
#[derive(Debug)]
pub enum Stopped {
    /// The kernel refused operation `index` of the plan.
    Refused { index: usize, error: KernelError },
    /// A signal arrived after `done` operations.
    Interrupted { done: usize },
}

/// How the rollback went.
#[derive(Debug)]
pub struct Rollback {
    /// Operations performed to undo.
    pub ops: usize,
    /// Undo operations the kernel refused: the table is not as it was found.
    pub failures: Vec<KernelError>,
}

/// A transaction that stopped, and its rollback.
#[derive(Debug)]
pub struct Failed {
    pub stopped: Stopped,
    pub rollback: Rollback,
}

/// Performs `plan` on `kernel`, whose table was `start` when the plan was made. On a refusal or
/// a signal, undoes exactly the operations that succeeded. `progress` hears (done, total)
/// after each batch.
pub fn execute(
    kernel: &mut dyn Kernel,
    start: &Table,
    plan: &Plan,
    options: Options,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<usize, Failed> {
    let ops: Vec<&Op> = plan.ops().map(|(op, _)| op).collect();
    let total = ops.len();
    let mut succeeded = vec![false; total];
    let mut stopped = None;
    let mut done = 0;
    while done < total && stopped.is_none() {
        if interrupted() {
            stopped = Some(Stopped::Interrupted { done });
            break;
        }
        let mut end = (done + BATCH).min(total);
        let injected = options.fail_at.filter(|k| (done..end).contains(k));
        if let Some(k) = injected {
            end = k;
        }
        let batch: Vec<Op> = ops[done..end].iter().map(|op| (*op).clone()).collect();
        for (i, result) in kernel.apply_batch(&batch).into_iter().enumerate() {
            match result {
                Ok(()) => succeeded[done + i] = true,
                Err(error) if stopped.is_none() => {
                    stopped = Some(Stopped::Refused {
                        index: done + i,
                        error,
                    })
                }
                Err(_) => {}
            }
        }
        if let (Some(k), None) = (injected, &stopped) {
            stopped = Some(Stopped::Refused {
                index: k,
                error: KernelError::new(
                    libc::EIO,
                    ops[k].to_string(),
                    "failure injected for a test (IPVSC_TEST_FAIL_AT)",
                ),
            });
        }
        done = end;
        progress(done, total);
    }
    match stopped {
        None => Ok(total),
        Some(stopped) => Err(Failed {
            stopped,
            rollback: roll_back(kernel, start, &ops, &succeeded),
        }),
    }
}

/// Undoes the operations of `ops` marked succeeded, newest first. The kernel performed them in
/// order, so replaying only those on `start` gives the table each one met.
fn roll_back(kernel: &mut dyn Kernel, start: &Table, ops: &[&Op], succeeded: &[bool]) -> Rollback {
    let mut state = start.clone();
    let mut undo: Vec<Vec<Op>> = Vec::new();
    for (op, ok) in ops.iter().zip(succeeded) {
        if *ok {
            undo.push(inverse(&state, op));
            simulate(&mut state, op);
        }
    }
    let undo: Vec<Op> = undo.into_iter().rev().flatten().collect();
    let failures = kernel
        .apply_batch(&undo)
        .into_iter()
        .filter_map(Result::err)
        .collect();
    Rollback {
        ops: undo.len(),
        failures,
    }
}

/// The change an operation of the plan belongs to (for error messages).
pub fn change_of(plan: &Plan, index: usize) -> Option<&Change> {
    plan.ops().nth(index).map(|(_, c)| c)
}

/// A refusal as a diagnostic at the line the refused object was declared on, like nft does.
pub fn refusal(change: &Change, error: &KernelError) -> Option<Diagnostic> {
    let span = change.span?;
    Some(
        Diagnostic::error(Code::Refused, span, error.to_string())
            .label(format!("the kernel said {} here", error.errno_name()))
            .help("nothing was changed: every operation done before this one was undone"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::MemoryKernel;
    use crate::plan::{plan, Scope};
    use crate::source::SourceMap;

    use crate::compiler::compile_clean as compile;

    #[test]
    fn a_failure_at_any_step_restores_the_table() {
        let a = compile(
            "timeouts { tcp 10m }\nservice tcp 10.0.0.1:80 { server 10.0.0.2; server 10.0.0.3 weight 4 }\n\
             service udp 10.0.0.1:53 { scheduler rr; server 10.0.0.5 }\nsync backup { interface lo }\n",
        );
        let b = compile(
            "timeouts { tcp 20m; udp 1m }\nsysctl { expire_nodest_conn on }\n\
             service tcp 10.0.0.1:80 { scheduler sh; server 10.0.0.2 weight 9; server 10.0.0.4 }\n\
             service tcp 10.0.0.9:80 { server 10.0.0.6-10.0.0.8 }\nsync master { interface eth0 }\n",
        );
        let mut k = MemoryKernel::new();
        let empty = k.read().unwrap();
        execute(
            &mut k,
            &empty,
            &plan(&a, &SourceMap::default(), &empty, Scope::All),
            Options::default(),
            &mut |_, _| {},
        )
        .unwrap();
        let before = k.read().unwrap();
        let p = plan(&b, &SourceMap::default(), &before, Scope::All);
        assert!(p.op_count() > 10);
        for fail_at in 0..p.op_count() {
            let mut k2 = k.clone();
            let failed = execute(
                &mut k2,
                &before,
                &p,
                Options {
                    fail_at: Some(fail_at),
                },
                &mut |_, _| {},
            )
            .unwrap_err();
            assert!(failed.rollback.failures.is_empty(), "{failed:?}");
            assert_eq!(k2.read().unwrap(), before, "failure at {fail_at}");
        }
        let mut k3 = k.clone();
        execute(&mut k3, &before, &p, Options::default(), &mut |_, _| {}).unwrap();
        assert!(plan(&b, &SourceMap::default(), &k3.read().unwrap(), Scope::All).is_empty());
    }

    #[test]
    fn a_real_refusal_rolls_back_what_came_before_and_after_it() {
        let before = MemoryKernel::new().read().unwrap();
        // The first server's address is refused by the kernel (unspecified is not unicast); in
        // a batch the kernel still performs the operations after it, and those are undone too.
        let mut desired = compile(
            "service tcp 10.0.0.1:80 { server 10.0.0.2; server 10.0.0.3; server 10.0.0.4 }\n",
        );
        let svc = desired.services.values_mut().next().unwrap();
        let mut bad = *svc.servers.values().next().unwrap();
        bad.key.addr = "10.0.0.3".parse().unwrap();
        svc.servers.remove(&bad.key);
        bad.key.addr = "0.0.0.0".parse().unwrap();
        svc.servers.insert(bad.key, bad);
        let mut k = MemoryKernel::new();
        let p = plan(&desired, &SourceMap::default(), &before, Scope::All);
        let failed = execute(&mut k, &before, &p, Options::default(), &mut |_, _| {}).unwrap_err();
        let Stopped::Refused { index, error } = failed.stopped else {
            panic!()
        };
        assert_eq!(error.errno, libc::EINVAL);
        assert!(index < p.op_count() - 1, "the refused op is not the last");
        assert_eq!(k.read().unwrap(), before);
    }
}
