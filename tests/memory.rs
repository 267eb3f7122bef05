//! Memory at scale, counted by an allocator that adds up what is allocated: exact and the same
//! on every machine, unlike a resident set. One test only, so that nothing else allocates on
//! another thread while it counts.
//!
//! A change of every server's weight in a table of 20,000 servers: its plan must stay near the
//! size of the operations it holds, and rolling it back after the last operation is refused must
//! not copy the table found, nor its confirmation make the planned table whole (at 1,000,000
//! servers each copy is about 100 MiB).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use ipvsc::apply::{execute, Options};
use ipvsc::kernel::{Kernel, MemoryKernel};
use ipvsc::plan::{plan, Scope};
use ipvsc::source::SourceMap;

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = NOW.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        NOW.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, size);
        if !q.is_null() {
            if size > layout.size() {
                grew(size - layout.size());
            } else {
                NOW.fetch_sub(layout.size() - size, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes allocated now; the peak starts again from here.
fn reset() -> usize {
    let now = NOW.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// The table of a `.ipvs` text that compiles cleanly.
fn compile_clean(text: &str) -> ipvsc::model::Table {
    let (_, compiled) = common::compile_text("scale.ipvs", text);
    assert!(!compiled.has_errors());
    compiled.table
}

/// `services` services of `servers` servers each, every weight `weight`.
fn table_text(services: usize, servers: usize, weight: u32) -> String {
    let mut text = String::new();
    for i in 0..services {
        let _ = writeln!(
            text,
            "service tcp 10.{}.{}.{}:80 {{",
            1 + i / 62500,
            i / 250 % 250,
            i % 250 + 1
        );
        for j in 0..servers {
            let k = i * servers + j;
            let _ = writeln!(
                text,
                "    server 172.{}.{}.{}:8080 weight {weight}",
                16 + k / 62500,
                k / 250 % 250,
                k % 250 + 1
            );
        }
        text.push_str("}\n");
    }
    text
}

#[test]
fn a_change_of_every_weight_and_its_rollback_stay_lean() {
    // IPVSC_MEMORY_SERVICES=10000 measures the 1,000,000 servers (about 10 s in a
    // release build; the figures go to standard error: `-- --nocapture`).
    const SERVERS: usize = 100;
    let services: usize = std::env::var("IPVSC_MEMORY_SERVICES")
        .ok()
        .map_or(200, |v| {
            v.parse()
                .expect("IPVSC_MEMORY_SERVICES is a number of services")
        });
    let n = services * SERVERS;
    let mut kernel = MemoryKernel::new();
    let empty = kernel.read().unwrap();
    let first = compile_clean(&table_text(services, SERVERS, 1));
    let before = reset();
    let load = plan(&first, &SourceMap::default(), &empty, Scope::All);
    let held = NOW.load(Relaxed) - before;
    let peak = PEAK.load(Relaxed) - before;
    eprintln!(
        "the plan of a load of {n} servers: {:.1} MiB, {:.1} MiB at its peak",
        mib(held),
        mib(peak)
    );
    // Room for every change of a load is made once, before it is planned: no vector grown by
    // doubling, which held up to twice the plan while it grew (1.62 times here).
    assert!(
        peak < held + held / 20,
        "planning a load of {n} servers peaked at {peak} bytes for a plan of {held}"
    );
    drop(first);
    execute(
        &mut kernel,
        &empty,
        &load,
        Options::default(),
        &mut |_, _| {},
    )
    .unwrap();
    drop(load);
    let desired = compile_clean(&table_text(services, SERVERS, 2));

    let before = reset();
    let found = kernel.read().unwrap();
    let table = NOW.load(Relaxed) - before;
    assert!(table > n * 40, "a table of {n} servers in {table} bytes?");

    let before = reset();
    let p = plan(&desired, &SourceMap::default(), &found, Scope::All);
    let held = NOW.load(Relaxed) - before;
    assert_eq!(p.op_count(), n);
    // A change is 144 bytes in a vector without spare room, and its one operation 64 in an
    // allocation of its own; the settings that differ are worked out when shown. (The settings
    // as text and the room the vector grew by made it 557 bytes a change here.)
    assert!(
        held / n < 220,
        "the plan of {n} weight changes holds {held} bytes, {} a change",
        held / n
    );
    drop(desired);
    eprintln!(
        "{n} servers: the table read {:.1} MiB; the plan of every weight changed {:.1} MiB ({} \
         bytes a change)",
        mib(table),
        mib(held),
        held / n
    );

    // The last operation is refused: every other one is undone.
    let before = reset();
    let failed = execute(
        &mut kernel,
        &found,
        &p,
        Options {
            fail_at: Some(n - 1),
            ..Options::default()
        },
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(failed.rollback.restored, "{failed:?}");
    assert_eq!(failed.rollback.ops, n - 1);
    // The rollback reads back the services it changed, about one table, and holds little else
    // at once: 1.13 tables here. Copying the table found to work out the undo, and a result
    // kept for each operation undone, made it 1.74.
    let extra = PEAK.load(Relaxed) - before;
    eprintln!(
        "the rollback of all but the last: {:.1} MiB at its peak beyond what was held ({:.2} \
         tables)",
        mib(extra),
        extra as f64 / table as f64
    );
    assert!(
        extra < table * 13 / 10,
        "rolling back {n} weight changes took {extra} bytes beyond what was held, with a table \
         of {table} bytes"
    );
    assert_eq!(kernel.read().unwrap(), found);

    // The same plan, done: the table read back is compared with the one planned a few services
    // at a time: 1.29 tables here (the read-back, each service's operations listed, and one
    // round of services). The planned table made whole beside the read-back was 2.13.
    let before = reset();
    execute(&mut kernel, &found, &p, Options::default(), &mut |_, _| {}).unwrap();
    let extra = PEAK.load(Relaxed) - before;
    eprintln!(
        "the same plan done and confirmed: {:.1} MiB at its peak beyond what was held ({:.2} \
         tables)",
        mib(extra),
        extra as f64 / table as f64
    );
    assert!(
        extra < table * 3 / 2,
        "confirming {n} weight changes took {extra} bytes beyond what was held, with a table of \
         {table} bytes"
    );
}
