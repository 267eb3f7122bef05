//! Executes a plan as a transaction: operations go to the kernel in pipelined batches; the
//! first refusal (or SIGINT/SIGTERM) stops the run and every operation that succeeded is undone
//! in reverse, leaving the table as it was found. A journal written before the first change
//! lets `ipvsc recover` finish the job after a crash.

mod journal;

pub use journal::{Journal, JournalEntry, StateDir, DEFAULT_STATE_DIR};

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::diagnostic::{Code, Diagnostic};
use crate::kernel::{Kernel, KernelError, Op};
use crate::model::{ServiceKey, Table};
use crate::plan::{inverse, simulate, Change, Plan, Scope};
use crate::source::SourceMap;

/// Operations handed to the kernel between two checks for a refusal or a signal.
pub const BATCH: usize = 256;

/// A request to stop: a transaction that sees it stops between batches and rolls back. The
/// library installs no signal handler; the caller sets it (the CLI does on SIGINT and SIGTERM).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// The flag to set, for a signal handler.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How a transaction runs: what stops it, and for tests an operation `fail_at` (0-based)
/// that fails as if the kernel refused it.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub fail_at: Option<usize>,
    pub cancel: Cancel,
}

/// Why a transaction did not complete.
#[derive(Debug)]
pub enum Stopped {
    /// The kernel refused operation `index` of the plan.
    Refused { index: usize, error: KernelError },
    /// Whether operation `index` was done is not known (the socket failed, an answer was lost):
    /// it is neither counted as done nor as refused.
    Unknown { index: usize, error: KernelError },
    /// A signal arrived after `done` operations.
    Interrupted { done: usize },
    /// Every operation was acknowledged, but the table read back is not the one planned
    /// (someone else changed it meanwhile, or the kernel did not do what it acknowledged).
    Diverged { difference: Plan },
}

/// How the rollback went.
#[derive(Debug)]
pub struct Rollback {
    /// Operations performed to undo (the exact undo of what was done, then whatever the
    /// read-back showed was still different).
    pub ops: usize,
    /// Undo operations the kernel refused, or whose outcome is unknown, and reads that failed.
    pub failures: Vec<KernelError>,
    /// Whether the table read back after the rollback is the table found: only then is it
    /// "as it was found".
    pub restored: bool,
    /// What still differs from the table found, when not restored (from the last read-back
    /// that worked; `None` when no read worked).
    pub difference: Option<Plan>,
}

/// A transaction that stopped, and its rollback.
#[derive(Debug)]
pub struct Failed {
    pub stopped: Stopped,
    pub rollback: Rollback,
}

/// Read-backs (each followed by the operations that put back what differs) before a rollback
/// gives up.
pub const ROLLBACK_ROUNDS: usize = 3;

/// Performs `plan` on `kernel`, whose table was `start` when the plan was made, and reads the
/// table back to confirm it is the one planned. On a refusal, an unknown outcome, a signal or a
/// table that is not the one planned, puts the table found back: see [`roll_back`].
/// `progress` hears (done, total) after each batch.
pub fn execute(
    kernel: &mut dyn Kernel,
    start: &Table,
    plan: &Plan,
    options: Options,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<usize, Failed> {
    let touched = touched_by(plan);
    let found = part(start, touched.as_deref());
    execute_on(kernel, &found, touched.as_deref(), plan, options, progress)
}

/// [`execute`], given the services the plan touches (`touched`, from [`touched_by`]; `None`:
/// all of them) and `found`, the part of the table found that holds them ([`part`]): what a
/// caller that journaled them already has. Only those services are read back, and only they
/// are what the checks and the rollback need.
pub fn execute_on(
    kernel: &mut dyn Kernel,
    found: &Table,
    touched: Option<&[ServiceKey]>,
    plan: &Plan,
    options: Options,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<usize, Failed> {
    let ops: Vec<&Op> = plan.ops().map(|(op, _)| op).collect();
    let total = ops.len();
    let mut succeeded = vec![false; total];
    let mut stopped = write(kernel, &ops, options, &mut succeeded, progress);
    if stopped.is_none() {
        stopped = confirm(kernel, found, &ops, touched).err();
    }
    match stopped {
        None => Ok(total),
        Some(stopped) => Err(Failed {
            stopped,
            rollback: roll_back_part(kernel, found, touched, &ops, &succeeded),
        }),
    }
}

/// Writes `ops` in batches until one is refused or its outcome is unknown, or the
/// cancellation asks to stop, marking the ones that succeeded. Returns why it stopped early.
fn write(
    kernel: &mut dyn Kernel,
    ops: &[&Op],
    options: Options,
    succeeded: &mut [bool],
    progress: &mut dyn FnMut(usize, usize),
) -> Option<Stopped> {
    let total = ops.len();
    let mut stopped = None;
    let mut done = 0;
    while done < total && stopped.is_none() {
        if options.cancel.is_cancelled() {
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
                    let index = done + i;
                    stopped = Some(if error.outcome_unknown() {
                        Stopped::Unknown { index, error }
                    } else {
                        Stopped::Refused { index, error }
                    })
                }
                Err(_) => {}
            }
        }
        if let (Some(k), None) = (injected, &stopped) {
            stopped = Some(Stopped::Refused {
                index: k,
                error: KernelError::Refused {
                    errno: libc::EIO,
                    doing: ops[k].to_string(),
                    reason: "failure injected for a test".into(),
                },
            });
        }
        done = end;
        progress(done, total);
    }
    stopped
}

/// What the kernel acknowledged is not proof: reads the table back (the services `touched`,
/// and everything else but services) and compares it with the table `ops` make of `found`.
fn confirm(
    kernel: &mut dyn Kernel,
    found: &Table,
    ops: &[&Op],
    touched: Option<&[ServiceKey]>,
) -> Result<(), Stopped> {
    match read_part(kernel, touched) {
        Ok(after) => {
            let difference = difference(found, ops, after);
            if difference.is_empty() {
                Ok(())
            } else {
                Err(Stopped::Diverged { difference })
            }
        }
        Err(error) => Err(Stopped::Unknown {
            index: ops.len().saturating_sub(1),
            error: KernelError::OutcomeUnknown {
                errno: error.errno(),
                doing: "read the table back after the changes".into(),
                reason: error.reason().into(),
            },
        }),
    }
}

/// Servers (found and read back) compared at a time by [`difference`], in whole services.
const COMPARED_AT_ONCE: usize = 2048;

/// What differs between `after`, the table read back, and the table `ops` make of `found`: the
/// plan from the second to the first. Worked out a few services at a time (about
/// [`COMPARED_AT_ONCE`] servers), so that the table the operations make is never held whole
/// (at a load of 1,000,000 servers it was one more copy of the table, about 100 MiB, beside the
/// read-back). The plan of a service depends on nothing but that service, and everything else
/// is compared once.
fn difference(found: &Table, ops: &[&Op], mut after: Table) -> Plan {
    let compare = |want: &Table, have: &Table| {
        crate::plan::plan(want, &SourceMap::default(), have, Scope::All)
    };
    if ops.iter().any(|op| **op == Op::Flush) {
        // A flush changes every service: the whole table it makes is worked out.
        let mut expected = found.clone();
        for op in ops {
            simulate(&mut expected, op);
        }
        return compare(&expected, &after);
    }
    // Each service's operations in their order; the others make the rest of the table.
    let mut of_service: BTreeMap<ServiceKey, Vec<usize>> = BTreeMap::new();
    let mut rest = found.without_services();
    for (i, op) in ops.iter().enumerate() {
        match service_of(op) {
            Some(key) => of_service.entry(key).or_default().push(i),
            None => simulate(&mut rest, op),
        }
    }
    let mut read = std::mem::take(&mut after.services);
    let mut difference = compare(&rest, &after);
    drop(rest);
    let keys: BTreeSet<ServiceKey> = found
        .services
        .keys()
        .chain(read.keys())
        .chain(of_service.keys())
        .copied()
        .collect();
    let (mut want, mut have) = (Table::default(), Table::default());
    let mut servers = 0;
    let last = keys.last().copied();
    for key in keys {
        if let Some(service) = found.services.get(&key) {
            servers += service.servers.len();
            want.services.insert(key, service.clone());
        }
        for &i in of_service.get(&key).into_iter().flatten() {
            simulate(&mut want, ops[i]);
        }
        if let Some(service) = read.remove(&key) {
            servers += service.servers.len();
            have.services.insert(key, service);
        }
        if servers >= COMPARED_AT_ONCE || Some(key) == last {
            difference.changes.extend(compare(&want, &have).changes);
            (want.services, have.services, servers) = (BTreeMap::new(), BTreeMap::new(), 0);
        }
    }
    difference
}

/// The part of `table` a plan touching `keys` needs: those services (all when `None`), and
/// everything else but services; borrowed when that is all of `table` (a change of every
/// server would otherwise copy the whole table once more). `keys` are sorted (as
/// [`touched_by`] gives them).
pub fn part<'a>(table: &'a Table, keys: Option<&[ServiceKey]>) -> Cow<'a, Table> {
    let Some(keys) = keys else {
        return Cow::Borrowed(table);
    };
    if table.services.keys().all(|k| keys.binary_search(k).is_ok()) {
        return Cow::Borrowed(table);
    }
    Cow::Owned(Table {
        services: keys
            .iter()
            .filter_map(|k| table.services.get(k).map(|s| (*k, s.clone())))
            .collect(),
        ..table.without_services()
    })
}

/// The kernel's [`part`].
pub fn read_part(
    kernel: &mut dyn Kernel,
    keys: Option<&[ServiceKey]>,
) -> Result<Table, KernelError> {
    match keys {
        Some(keys) => kernel.read_services(keys),
        None => kernel.read(),
    }
}

/// The services `plan` changes, or `None` when it may change any (it deletes them all).
pub fn touched_by(plan: &Plan) -> Option<Vec<ServiceKey>> {
    touched(plan.ops().map(|(op, _)| op))
}

/// The services `ops` change, or `None` when one of them changes them all.
fn touched<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Option<Vec<ServiceKey>> {
    let mut keys = BTreeSet::new();
    for op in ops {
        if *op == Op::Flush {
            return None;
        }
        keys.extend(service_of(op));
    }
    Some(keys.into_iter().collect())
}

/// Puts back `start`, the table found. First the operations of `ops` marked succeeded are
/// undone, newest first (the kernel performed them in order, so replaying only those on
/// `start` gives the table each one met). Then the table is read back and whatever still
/// differs (an operation whose outcome was unknown, an undo that failed, someone else's
/// change) is planned away, up to [`ROLLBACK_ROUNDS`] times. Only a read-back equal to `start`
/// counts as restored.
pub fn roll_back(
    kernel: &mut dyn Kernel,
    start: &Table,
    ops: &[&Op],
    succeeded: &[bool],
) -> Rollback {
    let touched = touched(ops.iter().copied());
    roll_back_part(
        kernel,
        &part(start, touched.as_deref()),
        touched.as_deref(),
        ops,
        succeeded,
    )
}

/// [`roll_back`], where `start` holds only the services `keys` (all when `None`) and nothing
/// else is read back: the operations change no other service.
fn roll_back_part(
    kernel: &mut dyn Kernel,
    start: &Table,
    keys: Option<&[ServiceKey]>,
    ops: &[&Op],
    succeeded: &[bool],
) -> Rollback {
    let undo = undo(start, ops, succeeded);
    let mut performed = undo.len();
    let mut failures = apply_in_batches(kernel, &undo);
    drop(undo);
    // What still differs from `start`, read back from the kernel.
    let left_to_do = |kernel: &mut dyn Kernel| {
        read_part(kernel, keys).map(|now| {
            crate::plan::plan(start, &SourceMap::default(), &now, crate::plan::Scope::All)
        })
    };
    let mut difference = None;
    // Up to ROLLBACK_ROUNDS rounds of read back and put right, then one last look to say what
    // is left.
    for round in 0..=ROLLBACK_ROUNDS {
        let left = match left_to_do(kernel) {
            Ok(left) => left,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if left.is_empty() {
            return Rollback {
                ops: performed,
                failures,
                restored: true,
                difference: None,
            };
        }
        if round < ROLLBACK_ROUNDS {
            let fix: Vec<Op> = left.ops().map(|(op, _)| op.clone()).collect();
            performed += fix.len();
            failures.extend(apply_in_batches(kernel, &fix));
        }
        difference = Some(left);
    }
    Rollback {
        ops: performed,
        failures,
        restored: false,
        difference,
    }
}

/// The operations that undo those of `ops` marked succeeded, newest first. A service the
/// table found did not have and the operations added is deleted with its servers in one
/// operation: what was done to it before is not undone one by one (rolling back a load is one
/// delete per service).
fn undo(start: &Table, ops: &[&Op], succeeded: &[bool]) -> Vec<Op> {
    let done = || {
        ops.iter()
            .zip(succeeded)
            .filter(|(_, ok)| **ok)
            .map(|(op, _)| *op)
    };
    // Each inverse is worked out on the table its operation met. Of the services, that table
    // holds only those the operations are still changing: each is copied from `start` when
    // its first operation comes and let go after its last (a plan changes one service after
    // another), so that undoing a change of every server does not copy the whole table. A
    // flush changes every service at once: then the whole table is kept.
    let flush = done().any(|op| *op == Op::Flush);
    let mut state = if flush {
        start.clone()
    } else {
        start.without_services()
    };
    let mut last: HashMap<ServiceKey, usize> = HashMap::default();
    for (i, op) in done().enumerate() {
        if let Some(key) = service_of(op) {
            last.insert(key, i);
        }
    }
    let mut met: HashSet<ServiceKey> = HashSet::default();
    let mut added = BTreeSet::new();
    // Each operation's inverse, its own operations reversed, so that reversing the whole list
    // gives the inverses newest first, each in its order.
    let mut undo = Vec::with_capacity(done().count());
    for (i, op) in done().enumerate() {
        let service = service_of(op);
        if let Some(key) = service.filter(|_| !flush) {
            if met.insert(key) {
                if let Some(found) = start.services.get(&key) {
                    state.services.insert(key, found.clone());
                }
            }
        }
        if let Op::AddService(s) = op {
            if !start.services.contains_key(&s.key) {
                added.insert(s.key);
            }
        }
        undo.extend(inverse(&state, op).into_iter().rev());
        simulate(&mut state, op);
        if let Some(key) = service.filter(|k| !flush && last.get(k) == Some(&i)) {
            state.services.remove(&key);
        }
    }
    undo.retain(|op| match op {
        Op::DeleteService(_) => true,
        other => service_of(other).is_none_or(|k| !added.contains(&k)),
    });
    undo.reverse();
    undo
}

/// Hands `ops` to the kernel [`BATCH`] at a time and gives the errors: a result for each of a
/// million operations would be held at once otherwise.
fn apply_in_batches(kernel: &mut dyn Kernel, ops: &[Op]) -> Vec<KernelError> {
    ops.chunks(BATCH)
        .flat_map(|batch| kernel.apply_batch(batch))
        .filter_map(Result::err)
        .collect()
}

/// The service an operation changes, if it is one service's (`Flush` changes them all).
fn service_of(op: &Op) -> Option<ServiceKey> {
    match op {
        Op::AddService(s) | Op::EditService(s) => Some(s.key),
        Op::DeleteService(k)
        | Op::AddServer(k, _)
        | Op::EditServer(k, _)
        | Op::DeleteServer(k, _)
        | Op::Zero(Some(k)) => Some(*k),
        Op::SetTimeouts(_)
        | Op::StartDaemon(_)
        | Op::StopDaemon(_)
        | Op::SetSysctl(..)
        | Op::Zero(None)
        | Op::Flush => None,
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

    fn ops_of(text: &str, start: &Table) -> Vec<Op> {
        plan(&compile(text), &SourceMap::default(), start, Scope::All)
            .ops()
            .map(|(op, _)| op.clone())
            .collect()
    }

    #[test]
    fn undoing_a_load_deletes_each_service_once() {
        let ops = ops_of(
            "service tcp 10.0.0.1:80 { server 10.0.0.2; server 10.0.0.3 }\n\
             service udp 10.0.0.1:53 { server 10.0.0.5 }\n",
            &Table::default(),
        );
        let refs: Vec<&Op> = ops.iter().collect();
        let undo = undo(&Table::default(), &refs, &vec![true; ops.len()]);
        assert!(
            undo.iter().all(|op| matches!(op, Op::DeleteService(_))),
            "{undo:?}"
        );
        assert_eq!(undo.len(), 2);
    }

    #[test]
    fn a_service_deleted_and_added_again_is_put_back_in_full() {
        // Replacing a service the table had: its undo is not cut short like an added one's.
        let mut k = MemoryKernel::new();
        let text = "service tcp 10.0.0.1:80 { server 10.0.0.2 weight 3; server 10.0.0.3 }\n";
        for op in ops_of(text, &Table::default()) {
            k.apply(&op).unwrap();
        }
        let start = k.read().unwrap();
        let key = *start.services.keys().next().unwrap();
        let mut again = start.services[&key].clone();
        again.servers.clear();
        let new = crate::model::Server::new(crate::model::ServerKey {
            addr: "10.0.0.9".parse().unwrap(),
            port: 80,
        });
        let ops = [
            Op::DeleteService(key),
            Op::AddService(Box::new(again)),
            Op::AddServer(key, new),
        ];
        let refs: Vec<&Op> = ops.iter().collect();
        for op in &ops {
            k.apply(op).unwrap();
        }
        let back = undo(&start, &refs, &[true; 3]);
        for op in &back {
            k.apply(op).unwrap();
        }
        assert_eq!(k.read().unwrap(), start, "{back:?}");
    }

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
                    ..Options::default()
                },
                &mut |_, _| {},
            )
            .unwrap_err();
            assert!(failed.rollback.failures.is_empty(), "{failed:?}");
            assert!(failed.rollback.restored, "{failed:?}");
            assert_eq!(k2.read().unwrap(), before, "failure at {fail_at}");
        }
        let mut k3 = k.clone();
        execute(&mut k3, &before, &p, Options::default(), &mut |_, _| {}).unwrap();
        assert!(plan(&b, &SourceMap::default(), &k3.read().unwrap(), Scope::All).is_empty());
    }

    /// A kernel holding `text`'s table, and that table as read.
    fn kernel_of(text: &str) -> (MemoryKernel, Table) {
        let mut k = MemoryKernel::new();
        for op in ops_of(text, &Table::default()) {
            k.apply(&op).unwrap();
        }
        let table = k.read().unwrap();
        (k, table)
    }

    /// Undoes every prefix of `ops` on a kernel holding `start` with nothing but [`undo`]'s
    /// operations (no read-back to put right what it missed), and checks each gives `start`.
    fn assert_undo_restores(k: &MemoryKernel, start: &Table, ops: &[Op]) {
        let refs: Vec<&Op> = ops.iter().collect();
        for n in 0..=ops.len() {
            let mut k = k.clone();
            for op in &ops[..n] {
                k.apply(op).unwrap_or_else(|e| panic!("{op}: {e}"));
            }
            let back = undo(start, &refs[..n], &vec![true; n]);
            for op in &back {
                k.apply(op).unwrap_or_else(|e| panic!("undo {op}: {e}"));
            }
            assert_eq!(&k.read().unwrap(), start, "after {n} operations: {back:?}");
        }
    }

    const TWO_SERVICES: &str = "timeouts { tcp 10m }\n\
        service tcp 10.0.0.1:80 { server 10.0.0.2; server 10.0.0.3 weight 4 }\n\
        service udp 10.0.0.1:53 { scheduler rr; server 10.0.0.5; server 10.0.0.6 }\n";

    #[test]
    fn undo_follows_a_service_whose_operations_are_apart() {
        // The undo keeps only the services still being changed: a service changed, then
        // another, then the first again must still be undone from what each operation met.
        let (k, start) = kernel_of(TWO_SERVICES);
        let ops = ops_of(
            "timeouts { tcp 20m }\n\
             service tcp 10.0.0.1:80 { scheduler sh; server 10.0.0.2 weight 9; server 10.0.0.4 }\n\
             service udp 10.0.0.1:53 { server 10.0.0.5 weight 3 }\n",
            &start,
        );
        let (tcp, udp): (Vec<Op>, Vec<Op>) = ops
            .iter()
            .cloned()
            .partition(|op| matches!(service_of(op), Some(k) if k.to_string().starts_with("tcp")));
        assert!(tcp.len() >= 3 && udp.len() >= 2, "{tcp:?} {udp:?}");
        // tcp, udp, tcp, udp, ...: each service's own order kept.
        let mut interleaved = Vec::new();
        let (mut a, mut b) = (tcp.into_iter(), udp.into_iter());
        loop {
            match (a.next(), b.next()) {
                (None, None) => break,
                (x, y) => interleaved.extend(x.into_iter().chain(y)),
            }
        }
        assert_undo_restores(&k, &start, &interleaved);
        // The same server edited twice: the second undo puts back the first edit's value.
        let key = *start.services.keys().next().unwrap();
        let mut server = *start.services[&key].servers.values().next().unwrap();
        let mut twice = Vec::new();
        for weight in [7, 8] {
            server.weight = weight;
            twice.push(Op::EditServer(key, server));
        }
        assert_undo_restores(&k, &start, &twice);
    }

    #[test]
    fn undo_of_a_flush_puts_back_every_service() {
        let (k, start) = kernel_of(TWO_SERVICES);
        let key = *start.services.keys().next().unwrap();
        let mut server = *start.services[&key].servers.values().next().unwrap();
        server.weight = 11;
        let mut ops = vec![Op::EditServer(key, server), Op::Flush];
        ops.extend(ops_of(
            "service tcp 10.0.0.9:80 { server 10.0.0.2 }\n",
            &Table::default(),
        ));
        assert_undo_restores(&k, &start, &ops);
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
        assert_eq!(error.errno(), Some(libc::EINVAL));
        assert!(index < p.op_count() - 1, "the refused op is not the last");
        assert_eq!(k.read().unwrap(), before);
    }

    /// A kernel between the applier and the in-memory one, for faults the kernel cannot make.
    struct Faulty {
        inner: MemoryKernel,
        /// Operations performed so far (the index of the next one).
        count: usize,
        /// This operation is done, but its answer is lost.
        lose_ack_of: Option<usize>,
        /// This operation is acknowledged but not done.
        ignore: Option<usize>,
        /// Reads fail.
        unreadable: bool,
        /// Reads of the whole table, and of some services.
        reads: (usize, usize),
    }

    impl Faulty {
        fn new(inner: MemoryKernel) -> Faulty {
            Faulty {
                inner,
                count: 0,
                lose_ack_of: None,
                ignore: None,
                unreadable: false,
                reads: (0, 0),
            }
        }
    }

    impl Kernel for Faulty {
        fn read(&mut self) -> Result<Table, KernelError> {
            if self.unreadable {
                return Err(KernelError::Transport {
                    errno: Some(libc::EIO),
                    doing: "read the table".into(),
                    reason: "no".into(),
                });
            }
            self.reads.0 += 1;
            self.inner.read()
        }

        fn read_services(
            &mut self,
            keys: &[crate::model::ServiceKey],
        ) -> Result<Table, KernelError> {
            if self.unreadable {
                return Err(KernelError::Transport {
                    errno: Some(libc::EIO),
                    doing: "read the table".into(),
                    reason: "no".into(),
                });
            }
            self.reads.1 += 1;
            self.inner.read_services(keys)
        }

        fn apply(&mut self, op: &Op) -> Result<(), KernelError> {
            let n = self.count;
            self.count += 1;
            if self.ignore == Some(n) {
                return Ok(());
            }
            self.inner.apply(op)?;
            if self.lose_ack_of == Some(n) {
                return Err(KernelError::OutcomeUnknown {
                    errno: Some(libc::ENOBUFS),
                    doing: op.to_string(),
                    reason: "lost".into(),
                });
            }
            Ok(())
        }

        fn loads(
            &mut self,
            services: &[crate::model::ServiceKey],
        ) -> Result<crate::kernel::Loads, KernelError> {
            self.inner.loads(services)
        }
    }

    fn two_tables() -> (MemoryKernel, Table, Plan) {
        loaded(
            "service tcp 10.0.0.1:80 { server 10.0.0.2; server 10.0.0.3 weight 4 }\n",
            "timeouts { tcp 20m }\nservice tcp 10.0.0.1:80 { scheduler rr; server 10.0.0.2 weight 9 }\n\
             service tcp 10.0.0.9:80 { server 10.0.0.6-10.0.0.8 }\n",
        )
    }

    /// A kernel holding table `a`, that table, and the plan from it to `b`.
    fn loaded(a: &str, b: &str) -> (MemoryKernel, Table, Plan) {
        let (a, b) = (compile(a), compile(b));
        let mut k = MemoryKernel::new();
        let empty = k.read().unwrap();
        let load = plan(&a, &SourceMap::default(), &empty, Scope::All);
        execute(&mut k, &empty, &load, Options::default(), &mut |_, _| {}).unwrap();
        let before = k.read().unwrap();
        let p = plan(&b, &SourceMap::default(), &before, Scope::All);
        (k, before, p)
    }

    #[test]
    fn an_operation_done_but_unacknowledged_is_found_by_reading_back_and_undone() {
        let (k, before, p) = two_tables();
        for lost in 0..p.op_count() {
            let mut f = Faulty::new(k.clone());
            f.lose_ack_of = Some(lost);
            let failed =
                execute(&mut f, &before, &p, Options::default(), &mut |_, _| {}).unwrap_err();
            assert!(matches!(failed.stopped, Stopped::Unknown { index, .. } if index == lost));
            assert!(failed.rollback.restored, "{failed:?}");
            assert_eq!(
                f.inner.read().unwrap(),
                before,
                "ACK of operation {lost} lost"
            );
        }
    }

    #[test]
    fn the_read_back_is_compared_a_few_services_at_a_time_as_a_whole() {
        // 1,200 services of two servers (three rounds of comparison), and a table read back
        // that differs from the one planned in each way it can: the chunked difference is the
        // whole table's plan.
        let text = |weight: u32, extra: &str| {
            let mut t = String::from("timeouts { tcp 20m }\n");
            for i in 0..1200 {
                let w = if i % 7 == 0 { weight } else { 1 };
                t.push_str(&format!(
                    "service tcp 10.1.{}.{}:80 {{ server 10.2.{}.{} weight {w}; server 10.3.0.1 }}\n",
                    i / 250,
                    i % 250 + 1,
                    i / 250,
                    i % 250 + 1
                ));
            }
            t + extra
        };
        let (k, before, p) = loaded(
            &text(1, ""),
            &text(
                5,
                "service udp 10.9.0.1:53 { server 10.9.0.2 }\nsync backup { interface lo }\n",
            ),
        );
        let ops: Vec<&Op> = p.ops().map(|(op, _)| op).collect();
        let mut expected = before.clone();
        for op in &ops {
            simulate(&mut expected, op);
        }
        let whole = |after: &Table| {
            let d = crate::plan::plan(&expected, &SourceMap::default(), after, Scope::All);
            let mut subjects: Vec<String> =
                d.changes.iter().map(|c| c.subject.to_string()).collect();
            subjects.sort();
            (d.op_count(), subjects)
        };
        let chunked = |after: Table| {
            let d = difference(&before, &ops, after);
            let mut subjects: Vec<String> =
                d.changes.iter().map(|c| c.subject.to_string()).collect();
            subjects.sort();
            (d.op_count(), subjects)
        };
        let mut done = k.clone();
        for op in &ops {
            done.apply(op).unwrap();
        }
        let after = done.read().unwrap();
        assert_eq!(chunked(after.clone()), (0, Vec::new()));
        let mut wrong = after.clone();
        let keys: Vec<ServiceKey> = wrong.services.keys().copied().collect();
        // A server missing in the first round, a weight in the second, a service missing in
        // the last, one nobody asked for, the daemon gone and a timeout changed.
        let first = wrong.services.get_mut(&keys[3]).unwrap();
        let server = *first.servers.keys().next().unwrap();
        first.servers.remove(&server);
        let second = wrong.services.get_mut(&keys[600]).unwrap();
        second.servers.values_mut().next().unwrap().weight = 77;
        wrong.services.remove(&keys[1190]);
        let mut stray = after.services[&keys[0]].clone();
        stray.key = *compile("service tcp 10.200.0.1:80 { server 10.0.0.2 }\n")
            .services
            .keys()
            .next()
            .unwrap();
        wrong.services.insert(stray.key, stray);
        wrong.daemons.clear();
        wrong.timeouts.tcp = Some(60);
        let (n, subjects) = chunked(wrong.clone());
        assert!(n >= 6, "{subjects:?}");
        assert_eq!((n, subjects), whole(&wrong));
    }

    #[test]
    fn an_acknowledged_operation_not_done_is_caught_by_the_read_back() {
        let (k, before, p) = two_tables();
        let mut f = Faulty::new(k.clone());
        f.ignore = Some(p.op_count() - 1);
        let failed = execute(&mut f, &before, &p, Options::default(), &mut |_, _| {}).unwrap_err();
        let Stopped::Diverged { difference } = &failed.stopped else {
            panic!("{failed:?}")
        };
        assert_eq!(difference.op_count(), 1);
        assert!(failed.rollback.restored);
        assert_eq!(f.inner.read().unwrap(), before);
    }

    #[test]
    fn without_a_read_back_nothing_is_called_restored() {
        let (k, before, p) = two_tables();
        let mut f = Faulty::new(k.clone());
        f.lose_ack_of = Some(1);
        f.unreadable = true;
        let failed = execute(&mut f, &before, &p, Options::default(), &mut |_, _| {}).unwrap_err();
        assert!(!failed.rollback.restored);
        assert!(failed.rollback.difference.is_none());
        assert!(!failed.rollback.failures.is_empty());
    }

    #[test]
    fn a_success_is_confirmed_by_reading_back_only_what_changed() {
        let (k, before, p) = loaded(
            "service tcp 10.0.0.1:80 { server 10.0.0.2 }\nservice tcp 10.0.0.9:80 { server 10.0.0.3 }\n",
            "service tcp 10.0.0.1:80 { server 10.0.0.2 weight 7 }\nservice tcp 10.0.0.9:80 { server 10.0.0.3 }\n",
        );
        assert_eq!(p.op_count(), 1);
        let mut f = Faulty::new(k);
        execute(&mut f, &before, &p, Options::default(), &mut |_, _| {}).unwrap();
        assert_eq!(
            f.reads,
            (0, 1),
            "one read of the changed service, none of the whole table"
        );
    }
}
