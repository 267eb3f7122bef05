//! The planner against the in-memory kernel: plans converge, are minimal, are empty when
//! nothing differs, and every operation's inverse restores the table it changed.

mod common;

use common::tables::table;
use ipvsc::kernel::{Kernel, MemoryKernel, Op};
use ipvsc::model::*;
use ipvsc::plan::{inverse, plan, simulate, Scope};
use ipvsc::source::SourceMap;
use proptest::prelude::*;

/// Random tables whose sync daemons use interfaces the in-memory kernel has.
fn tables() -> impl Strategy<Value = Table> {
    table().prop_map(|mut t| {
        for d in t.daemons.values_mut() {
            d.interface = if d.syncid % 2 == 0 { "lo" } else { "eth0" }.to_string();
        }
        t
    })
}

/// A kernel holding `table` (its timeouts and daemons as the kernel reports them).
fn kernel_with(table: &Table) -> MemoryKernel {
    let mut k = MemoryKernel::new();
    let current = k.read().unwrap();
    for (op, _) in plan(table, &SourceMap::default(), &current, Scope::All).ops() {
        k.apply(op).unwrap_or_else(|e| panic!("{e}"));
    }
    k
}

/// The parts of a kernel's table a file declared: services exactly, timeouts and sysctls the
/// file set, daemons as declared (options left out are the kernel's).
fn assert_realizes(kernel: &Table, want: &Table) {
    assert_eq!(kernel.services, want.services);
    for (have, want) in [
        (kernel.timeouts.tcp, want.timeouts.tcp),
        (kernel.timeouts.tcpfin, want.timeouts.tcpfin),
        (kernel.timeouts.udp, want.timeouts.udp),
    ] {
        if want.is_some() {
            assert_eq!(have, want);
        }
    }
    assert_eq!(
        kernel.daemons.keys().collect::<Vec<_>>(),
        want.daemons.keys().collect::<Vec<_>>()
    );
    for (s, v) in &want.sysctls {
        assert_eq!(kernel.sysctls.get(s), Some(v));
    }
}

/// The objects an operation touches.
fn touches(op: &Op) -> (Option<ServiceKey>, Option<ServerKey>) {
    match op {
        Op::AddService(s) | Op::EditService(s) => (Some(s.key), None),
        Op::DeleteService(k) => (Some(*k), None),
        Op::AddServer(k, s) | Op::EditServer(k, s) => (Some(*k), Some(s.key)),
        Op::DeleteServer(k, s) => (Some(*k), Some(*s)),
        _ => (None, None),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn plans_converge_and_are_minimal(a in tables(), b in tables()) {
        let mut k = kernel_with(&a);
        let current = k.read().unwrap();
        let p = plan(&b, &SourceMap::default(), &current, Scope::All);
        for (op, _) in p.ops() {
            // Nothing equal in A and B is touched.
            let (svc, srv) = touches(op);
            if let Some(svc) = svc {
                let same_service = a.services.get(&svc) == b.services.get(&svc);
                match srv {
                    None => prop_assert!(!same_service || matches!(op, Op::DeleteService(_)) && !b.services.contains_key(&svc), "{op} touches an unchanged service"),
                    Some(srv) => {
                        let old = a.services.get(&svc).and_then(|s| s.servers.get(&srv));
                        let new = b.services.get(&svc).and_then(|s| s.servers.get(&srv));
                        prop_assert!(old != new || old.is_none(), "{op} touches an unchanged server");
                    }
                }
            }
            k.apply(op).map_err(|e| TestCaseError::fail(format!("{e}\n{p:#?}")))?;
        }
        assert_realizes(&k.read().unwrap(), &b);
        // And again: nothing left to do.
        let again = plan(&b, &SourceMap::default(), &k.read().unwrap(), Scope::All);
        prop_assert!(again.is_empty(), "{again:#?}");
    }

    #[test]
    fn inverses_undo_every_prefix(a in tables(), b in tables()) {
        let mut k = kernel_with(&a);
        let start = k.read().unwrap();
        let p = plan(&b, &SourceMap::default(), &start, Scope::All);
        let ops: Vec<Op> = p.ops().map(|(op, _)| op.clone()).collect();
        // Apply a prefix, then undo it from the simulated states.
        let cut = ops.len() / 2;
        let mut state = start.clone();
        let mut undo = Vec::new();
        for op in &ops[..cut] {
            undo.push(inverse(&state, op));
            simulate(&mut state, op);
            k.apply(op).unwrap();
        }
        // The simulation knows what was asked; the kernel also fills in a started daemon's
        // options left out, so daemons compare by what was asked.
        let now = k.read().unwrap();
        prop_assert_eq!(&now.services, &state.services);
        prop_assert_eq!(now.timeouts, state.timeouts);
        prop_assert_eq!(&now.sysctls, &state.sysctls);
        prop_assert_eq!(now.daemons.keys().collect::<Vec<_>>(), state.daemons.keys().collect::<Vec<_>>());
        for ops in undo.iter().rev() {
            for op in ops {
                k.apply(op).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        prop_assert_eq!(k.read().unwrap(), start);
    }
}

#[test]
fn declared_scope_leaves_other_services_alone() {
    let (_, file) = common::compile_text("a.ipvs", "service tcp 10.0.0.1:80 { server 10.0.0.2 }\n");
    let (_, other) = common::compile_text(
        "b.ipvs",
        "service tcp 10.0.0.9:80 { server 10.0.0.3 }\nsync master { interface lo }\n",
    );
    let k = kernel_with(&other.table);
    let current = k.table().clone();
    let all = plan(&file.table, &file.map, &current, Scope::All);
    let declared = plan(&file.table, &file.map, &current, Scope::Declared);
    assert_eq!(all.counts(), (2, 0, 2));
    assert_eq!(declared.counts(), (2, 0, 0));
}

#[test]
fn changes_are_edits_in_place_and_show_old_and_new() {
    let (_, a) = common::compile_text(
        "a.ipvs",
        "service tcp 10.0.0.1:80 { scheduler rr; server 10.0.0.2 weight 1; server 10.0.0.3 }\n",
    );
    let (_, b) = common::compile_text("b.ipvs", "service tcp 10.0.0.1:80 { scheduler wrr; server 10.0.0.2 weight 5 upper 10 lower 2; server 10.0.0.4 }\n");
    let k = kernel_with(&a.table);
    let p = plan(&b.table, &b.map, k.table(), Scope::All);
    let ops: Vec<String> = p.ops().map(|(op, _)| op.to_string()).collect();
    assert_eq!(
        ops,
        [
            "delete server 10.0.0.3:80 of service tcp 10.0.0.1:80",
            "change service tcp 10.0.0.1:80",
            "change server 10.0.0.2:80 of service tcp 10.0.0.1:80",
            "add server 10.0.0.4:80 to service tcp 10.0.0.1:80",
        ]
    );
    let weight = p
        .changes
        .iter()
        .flat_map(|c| c.fields().into_owned())
        .find(|f| f.name == "weight")
        .unwrap();
    assert_eq!((weight.old.as_str(), weight.new.as_str()), ("1", "5"));
}

#[test]
fn a_sync_daemon_waits_for_mixed_family_servers_to_go() {
    let (_, a) = common::compile_text(
        "a.ipvs",
        "service tcp 10.0.0.1:80 { server 2001:db8::1 forward tunnel ipip }\n",
    );
    let (_, b) = common::compile_text(
        "b.ipvs",
        "service tcp 10.0.0.1:80 { server 10.0.0.2 }\nsync master { interface lo }\n",
    );
    let mut k = kernel_with(&a.table);
    let p = plan(&b.table, &b.map, k.table(), Scope::All);
    for (op, _) in p.ops() {
        k.apply(op).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_realizes(k.table(), &b.table);
}
