//! The operation streams of the VM's differential test exercise every kind of refusal, and
//! survive the JSON trip to the guest.

mod common;

use std::collections::BTreeSet;

use common::ops::stream;
use ipvsc::kernel::{Kernel, MemoryKernel, Op};

#[test]
fn streams_meet_every_refusal() {
    let mut seen = BTreeSet::new();
    for seed in 0..4 {
        let mut kernel = MemoryKernel::new();
        for op in stream(seed, 300) {
            seen.insert(kernel.apply(&op).err().map_or("ok", |e| e.errno_name()));
        }
    }
    for errno in ["ok", "EEXIST", "ESRCH", "ENOENT", "ERANGE", "EINVAL"] {
        assert!(seen.contains(errno), "no operation ended {errno}: {seen:?}");
    }
}

#[test]
fn streams_are_deterministic_and_round_trip_through_json() {
    let ops = stream(7, 200);
    assert_eq!(ops, stream(7, 200));
    let json = ipvsc::wire::ops_to_json(&ops);
    let back: Vec<Op> = ipvsc::wire::ops_from_json(&json).unwrap();
    assert_eq!(back, ops);
}
