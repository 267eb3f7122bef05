//! Removals that keep connections: a server that leaves the file is set to weight 0 and
//! deleted only when its connections are gone or its deadline passes; drains recorded by an
//! earlier apply are finished, restored or dropped; operators' overrides are kept.

use std::collections::BTreeSet;

use super::state::{DrainRecord, State};
use super::{plan, Action, Change, Field, Fields, Plan, Scope, Subject};
use crate::kernel::{Load, Loads, Op};
use crate::model::*;
use crate::source::SourceMap;

/// What a plan needs besides the two tables.
pub struct Live<'a> {
    /// How the servers of each service leave.
    pub policy: &'a DrainPolicy,
    /// The load of the servers that may leave; `None` when it cannot be known (a plan against a
    /// dump): every such server then counts as busy.
    pub loads: Option<&'a Loads>,
    /// Drains and overrides recorded by earlier runs.
    pub state: &'a State,
    /// Seconds since the epoch.
    pub now: u64,
}

/// A drain still under way once the plan is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draining {
    pub service: ServiceKey,
    pub server: ServerKey,
    /// Connections left; `None` when not known.
    pub connections: Option<u32>,
    /// Seconds since the epoch when it is deleted whatever its connections.
    pub deadline: u64,
    pub seconds_left: u64,
}

/// `server 10.0.0.3:80 of service tcp 10.0.0.1:80: 1 connection left, 4m10s to its deadline`,
/// as `plan` and `ipvsc drain` show it.
impl std::fmt::Display for Draining {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let left = match self.connections {
            Some(n) => format!("{} left", connections(Some(n))),
            None => "connections unknown".to_string(),
        };
        write!(
            f,
            "server {} of service {}: {left}, {} to its deadline",
            self.server,
            self.service,
            super::render::duration(self.seconds_left)
        )
    }
}

fn server_of(table: &Table, key: &(ServiceKey, ServerKey)) -> Option<Server> {
    table.services.get(&key.0)?.servers.get(&key.1).copied()
}

/// `1 connection`, `3 connections`, `its connections` (when not known).
fn connections(left: Option<u32>) -> String {
    match left {
        None => "its connections".to_string(),
        Some(1) => "1 connection".to_string(),
        Some(n) => format!("{n} connections"),
    }
}

fn describe_load(left: Option<u32>) -> String {
    match left {
        None => "its connections are gone".to_string(),
        Some(n) => format!("its connections are gone ({n} now)"),
    }
}

/// The value of a switch after the plan: the file's, else the kernel's.
fn sysctl_after(desired: &Table, current: &Table, sysctl: Sysctl) -> Option<i64> {
    match desired
        .sysctls
        .get(&sysctl)
        .or(current.sysctls.get(&sysctl))
    {
        Some(SysctlValue::Int(v)) => Some(*v),
        _ => None,
    }
}

/// The changes from `current` to `desired`, with removals drained as `live.policy` says,
/// drains of earlier runs finished where their servers are done, and overrides kept.
pub fn plan_live(
    desired: &Table,
    map: &SourceMap,
    current: &Table,
    scope: Scope,
    live: &Live,
) -> Plan {
    let mut notes = Vec::new();
    let mut state = State::default();
    let load = |key: &(ServiceKey, ServerKey)| -> Option<Load> {
        live.loads.map(|l| l.get(key).copied().unwrap_or_default())
    };

    // Overrides: the file's weight gives way to the operator's.
    let mut want = std::borrow::Cow::Borrowed(desired);
    for o in &live.state.overrides {
        let declared = desired.services.contains_key(&o.service);
        match want
            .to_mut()
            .services
            .get_mut(&o.service)
            .and_then(|s| s.servers.get_mut(&o.server))
        {
            Some(server) => {
                notes.push(format!(
                    "server {} of service {} stays {} (an override); the file says weight {}: \
                     `ipvsc enable` gives it back",
                    o.server,
                    o.service,
                    o.describe(),
                    server.weight
                ));
                let mut kept = o.clone();
                kept.file_weight = server.weight;
                server.weight = o.weight;
                state.overrides.push(kept);
            }
            None if scope == Scope::Declared && !declared => state.overrides.push(o.clone()),
            None => notes.push(format!(
                "the override of server {} of service {} ({}) is dropped: the file no longer has \
                 that server",
                o.server,
                o.service,
                o.describe()
            )),
        }
    }
    let want: &Table = &want;

    // Drains of earlier runs.
    let mut hidden: BTreeSet<(ServiceKey, ServerKey)> = BTreeSet::new();
    let mut finishing: Vec<(&DrainRecord, Option<u32>)> = Vec::new();
    let mut draining = Vec::new();
    for rec in &live.state.drains {
        let key = rec.key();
        let wanted = server_of(want, &key).is_some();
        match server_of(current, &key) {
            None => {
                notes.push(format!(
                    "the drain of server {} of service {} is over: someone else deleted it",
                    key.1, key.0
                ));
                continue;
            }
            Some(have) if have != rec.server => {
                notes.push(format!(
                    "the drain of server {} of service {} is dropped: someone else changed it \
                     (weight {}); it is left as it is",
                    key.1, key.0, have.weight
                ));
                if !wanted {
                    hidden.insert(key);
                }
                continue;
            }
            Some(_) => {}
        }
        if wanted {
            notes.push(format!(
                "server {} of service {} is back in the file while draining: its weight is \
                 restored, its connections and counters stay",
                key.1, key.0
            ));
            continue;
        }
        let left = load(&key).map(|l| l.left());
        // Whole seconds: the deadline has passed once a whole second beyond it has begun, so
        // that a drain never ends early by the fraction of a second it started at.
        if left == Some(0) || live.now > rec.deadline {
            finishing.push((rec, left));
        } else {
            hidden.insert(key);
            let mut rec = rec.clone();
            rec.remove_service &= !want.services.contains_key(&rec.service);
            draining.push(Draining {
                service: key.0,
                server: key.1,
                connections: left,
                deadline: rec.deadline,
                seconds_left: rec.deadline.saturating_sub(live.now),
            });
            state.drains.push(rec);
        }
    }

    // The kernel's table as the diff sees it: servers still draining are not touched, and a
    // service that leaves while some of its servers drain stays until they are gone. Servers
    // whose drain finishes now are deleted below, on their own.
    let leaving_later: BTreeSet<ServiceKey> = state
        .drains
        .iter()
        .filter(|r| r.remove_service)
        .map(|r| r.service)
        .collect();
    let mut view = std::borrow::Cow::Borrowed(current);
    if !hidden.is_empty() || !finishing.is_empty() {
        let view = view.to_mut();
        for key in &leaving_later {
            view.services.remove(key);
        }
        let finished = finishing.iter().map(|(r, _)| r.key());
        for (service, server) in hidden.iter().copied().chain(finished) {
            if let Some(s) = view.services.get_mut(&service) {
                s.servers.remove(&server);
            }
        }
    }
    let view: &Table = &view;

    let mut changes = Vec::new();
    // Finished drains go first: a server deleted is never in the way of what follows. A server
    // of a service the diff deletes anyway goes with it.
    for (rec, left) in &finishing {
        let (service, server) = rec.key();
        let deleted_with_service = scope == Scope::All
            && view.services.contains_key(&service)
            && !want.services.contains_key(&service);
        if deleted_with_service {
            continue;
        }
        let why = if *left != Some(0) && live.now > rec.deadline {
            format!("deadline passed, {} cut", connections(*left))
        } else {
            "no connections left".to_string()
        };
        changes.push(Change {
            action: Action::Remove,
            subject: Subject::Server(service, server),
            fields: Fields::Listed(vec![Field {
                name: "drained",
                old: String::new(),
                new: why,
            }]),
            ops: vec![Op::DeleteServer(service, server)],
            span: None,
        });
    }
    // A service whose last drained servers go now, and that has no other server, goes too.
    let finished_services: BTreeSet<ServiceKey> = finishing
        .iter()
        .filter(|(r, _)| r.remove_service && !want.services.contains_key(&r.service))
        .map(|(r, _)| r.service)
        .filter(|k| !leaving_later.contains(k))
        .filter(|k| view.services.get(k).is_none_or(|s| s.servers.is_empty()))
        .collect();
    for key in &finished_services {
        if view.services.contains_key(key) && scope == Scope::All {
            continue; // the diff removes it
        }
        changes.push(Change {
            action: Action::Remove,
            subject: Subject::Service(*key),
            fields: Fields::Listed(vec![Field {
                name: "drained",
                old: String::new(),
                new: "its last servers are gone".to_string(),
            }]),
            ops: vec![Op::DeleteService(*key)],
            span: None,
        });
    }

    let mut base = plan(want, map, view, scope);
    let mut removed_busy = 0;
    let mut drained_persistent = false;
    // Removals become drains where they must, in place: a large plan is not copied.
    for slot in base.changes.iter_mut() {
        if slot.action != Action::Remove {
            continue;
        }
        let change = std::mem::replace(slot, Change::placeholder());
        let drain = |key: &ServiceKey| live.policy.of(key).deadline();
        match (change.action, change.subject) {
            (Action::Remove, Subject::Server(service, server)) => {
                let have = view.services[&service].servers[&server];
                let left = load(&(service, server)).map(|l| l.left());
                match drain(&service) {
                    Some(secs) if left != Some(0) => {
                        drained_persistent |= view.services[&service].persistence.is_some();
                        *slot =
                            drain_server(service, have, left, secs, live.now, &mut state, false);
                    }
                    _ => {
                        removed_busy += usize::from(left != Some(0));
                        *slot = change;
                    }
                }
            }
            (Action::Remove, Subject::Service(service)) => {
                let have = &view.services[&service];
                let busy: Vec<(Server, Option<u32>)> = have
                    .servers
                    .values()
                    .map(|s| (*s, load(&(service, s.key)).map(|l| l.left())))
                    .filter(|(_, left)| *left != Some(0))
                    .collect();
                match drain(&service) {
                    Some(secs) if !busy.is_empty() => {
                        drained_persistent |= have.persistence.is_some();
                        let mut ops = Vec::new();
                        for s in have.servers.values() {
                            if !busy.iter().any(|(b, _)| b.key == s.key) {
                                ops.push(Op::DeleteServer(service, s.key));
                            }
                        }
                        let idle = have.servers.len() - busy.len();
                        let mut fields = vec![Field {
                            name: "servers",
                            old: String::new(),
                            new: match idle {
                                0 => format!("{} draining", busy.len()),
                                n => format!("{} draining, {n} removed now", busy.len()),
                            },
                        }];
                        for (server, left) in &busy {
                            let c = drain_server(
                                service, *server, *left, secs, live.now, &mut state, true,
                            );
                            ops.extend(c.ops);
                            fields.push(Field {
                                name: "drain",
                                old: String::new(),
                                new: format!(
                                    "{}: weight {} → 0, removed when {}, {} at the most",
                                    server.key,
                                    server.weight,
                                    describe_load(*left),
                                    language::duration(secs)
                                ),
                            });
                        }
                        *slot = Change {
                            action: Action::Drain,
                            subject: Subject::Service(service),
                            fields: Fields::Listed(fields),
                            ops,
                            span: None,
                        };
                    }
                    _ => {
                        removed_busy += busy.len();
                        *slot = change;
                    }
                }
            }
            _ => *slot = change,
        }
    }
    // The finished drains go first.
    base.changes.splice(0..0, changes);
    let changes = base.changes;

    if removed_busy > 0 && sysctl_after(want, current, Sysctl::ExpireNodestConn) == Some(0) {
        notes.push(format!(
            "{removed_busy} server{} removed without draining while expire_nodest_conn is off: \
             packets of their connections are dropped silently until the entries time out \
             (set `sysctl {{ expire_nodest_conn on }}` to reset them at once)",
            if removed_busy == 1 { " is" } else { "s are" }
        ));
    }
    let drains = state.drains.len() > draining.len();
    if drained_persistent && sysctl_after(want, current, Sysctl::ExpireQuiescentTemplate) == Some(0)
    {
        notes.push(
            "a persistent service drains while expire_quiescent_template is off: clients holding \
             a persistence template keep coming back to the weight-0 server until the template \
             expires (set `sysctl { expire_quiescent_template on }`)"
                .to_string(),
        );
    }
    if drains && sysctl_after(want, current, Sysctl::ConnReuseMode) == Some(0) {
        notes.push(
            "servers drain while conn_reuse_mode is 0: a client reusing a source port is sent to \
             its old server even at weight 0, so the drain may run to its deadline"
                .to_string(),
        );
    }
    Plan {
        changes,
        draining,
        notes,
        state,
    }
}

/// The change that sets a leaving server to weight 0, and its record.
fn drain_server(
    service: ServiceKey,
    have: Server,
    left: Option<u32>,
    secs: u32,
    now: u64,
    state: &mut State,
    remove_service: bool,
) -> Change {
    let quiet = Server { weight: 0, ..have };
    state.drains.push(DrainRecord {
        service,
        server: quiet,
        weight: have.weight,
        started: now,
        deadline: now + u64::from(secs),
        remove_service,
    });
    Change {
        action: Action::Drain,
        subject: Subject::Server(service, have.key),
        fields: Fields::Listed(vec![
            Field {
                name: "weight",
                old: have.weight.to_string(),
                new: "0".to_string(),
            },
            Field {
                name: "then",
                old: String::new(),
                new: format!(
                    "removed when {}, {} at the most",
                    describe_load(left),
                    language::duration(secs)
                ),
            },
        ]),
        ops: if have.weight == 0 {
            Vec::new()
        } else {
            vec![Op::EditServer(service, quiet)]
        },
        span: None,
    }
}

/// The services whose servers' load a plan needs: those that lose servers, and those with
/// recorded drains.
pub fn leaving(desired: &Table, current: &Table, state: &State) -> Vec<ServiceKey> {
    let mut out: BTreeSet<ServiceKey> = state.drains.iter().map(|r| r.service).collect();
    for (key, have) in &current.services {
        match desired.services.get(key) {
            None => {
                out.insert(*key);
            }
            Some(want) if have.servers.keys().any(|k| !want.servers.contains_key(k)) => {
                out.insert(*key);
            }
            Some(_) => {}
        }
    }
    out.into_iter().collect()
}

/// The plan that only finishes recorded drains: servers whose connections are gone or whose
/// deadline passed are deleted (and a leaving service after its last server); drains whose
/// server someone else changed or deleted are dropped. Nothing else is touched, and overrides
/// stay as they are (`ipvsc drain`, and `apply` while it waits).
pub fn finish_drains(current: &Table, state: &State, loads: Option<&Loads>, now: u64) -> Plan {
    let mut want = current.clone();
    for rec in &state.drains {
        if rec.remove_service {
            want.services.remove(&rec.service);
        } else if let Some(s) = want.services.get_mut(&rec.service) {
            s.servers.remove(&rec.server.key);
        }
    }
    let drains_only = State {
        overrides: Vec::new(),
        ..state.clone()
    };
    let live = Live {
        policy: &DrainPolicy::off(),
        loads,
        state: &drains_only,
        now,
    };
    let mut plan = plan_live(
        &want,
        &SourceMap::default(),
        current,
        Scope::Declared,
        &live,
    );
    plan.state.overrides = state.overrides.clone();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::compile_clean as compile;
    use crate::kernel::{Kernel, MemoryKernel};
    use crate::plan::state::Override;

    const T0: u64 = 1_000_000;

    fn svc(text: &str) -> ServiceKey {
        let (proto, ep) = text.split_once(' ').unwrap();
        let (addr, port) = ep.rsplit_once(':').unwrap();
        ServiceKey::Inet {
            protocol: match proto {
                "tcp" => Protocol::Tcp,
                _ => Protocol::Udp,
            },
            addr: addr.parse().unwrap(),
            port: port.parse().unwrap(),
        }
    }

    fn srv(text: &str) -> ServerKey {
        let (addr, port) = text.rsplit_once(':').unwrap();
        ServerKey {
            addr: addr.parse().unwrap(),
            port: port.parse().unwrap(),
        }
    }

    fn busy(n: u32) -> Load {
        Load {
            active: n,
            ..Load::default()
        }
    }

    /// A kernel holding `text`'s table.
    fn kernel(text: &str) -> MemoryKernel {
        let mut k = MemoryKernel::new();
        let empty = k.read().unwrap();
        let p = plan(&compile(text), &SourceMap::default(), &empty, Scope::All);
        for (op, _) in p.ops() {
            k.apply(op).unwrap();
        }
        k
    }

    /// Plans `text` against the kernel (its loads, `state`, at `now`), runs the plan, and
    /// gives it.
    fn apply(k: &mut MemoryKernel, text: &str, state: &State, now: u64) -> Plan {
        let compiled = {
            let mut sources = crate::source::Sources::new();
            let id = sources.add(crate::source::SourceFile::new("t.ipvs", None, text.into()));
            crate::compiler::compile(&mut sources, id, &Default::default())
        };
        let current = k.read().unwrap();
        let loads = k.loads(&leaving(&compiled.table, &current, state)).unwrap();
        let live = Live {
            policy: &compiled.policy,
            loads: Some(&loads),
            state,
            now,
        };
        let p = plan_live(&compiled.table, &compiled.map, &current, Scope::All, &live);
        for (op, _) in p.ops() {
            k.apply(op).unwrap();
        }
        p
    }

    fn weight(k: &mut MemoryKernel, service: &str, server: &str) -> Option<u32> {
        let t = k.read().unwrap();
        Some(
            t.services
                .get(&svc(service))?
                .servers
                .get(&srv(server))?
                .weight,
        )
    }

    const AB: &str =
        "service tcp 10.0.0.1:80 { server 10.0.0.2 weight 3; server 10.0.0.3 weight 2 }\n";
    const A: &str = "service tcp 10.0.0.1:80 { server 10.0.0.2 weight 3 }\n";

    #[test]
    fn a_busy_server_drains_and_goes_once_its_connections_are_gone() {
        let mut k = kernel(AB);
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(2));
        let p = apply(&mut k, A, &State::default(), T0);
        assert_eq!(p.drain_count(), 1);
        assert_eq!(p.counts(), (0, 0, 0));
        assert_eq!(weight(&mut k, "tcp 10.0.0.1:80", "10.0.0.3:80"), Some(0));
        let rec = &p.state.drains[0];
        assert_eq!(
            (rec.weight, rec.deadline),
            (2, T0 + u64::from(DEFAULT_DRAIN))
        );
        assert!(!rec.remove_service);

        // Still busy: nothing to do, and the drain is shown with what is left.
        let again = apply(&mut k, A, &p.state, T0 + 60);
        assert!(again.is_empty(), "{again:#?}");
        assert_eq!(again.draining.len(), 1);
        assert_eq!(again.draining[0].connections, Some(2));
        assert_eq!(
            again.draining[0].seconds_left,
            u64::from(DEFAULT_DRAIN) - 60
        );
        assert_eq!(again.state, p.state);

        // Closed connections in TIME_WAIT hold nothing.
        let closing = Load {
            inactive: 3,
            closing: 3,
            ..Load::default()
        };
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), closing);
        let done = apply(&mut k, A, &again.state, T0 + 120);
        assert_eq!(done.counts(), (0, 0, 1));
        assert!(done.state.drains.is_empty());
        assert_eq!(weight(&mut k, "tcp 10.0.0.1:80", "10.0.0.3:80"), None);
        assert!(apply(&mut k, A, &done.state, T0 + 180).is_empty());
    }

    #[test]
    fn the_deadline_ends_a_drain_whatever_its_connections() {
        let mut k = kernel(AB);
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(1));
        let file = format!("drain 90s\n{A}");
        let p = apply(&mut k, &file, &State::default(), T0);
        assert_eq!(p.state.drains[0].deadline, T0 + 90);
        assert!(apply(&mut k, &file, &p.state, T0 + 90).is_empty());
        let done = apply(&mut k, &file, &p.state, T0 + 91);
        assert_eq!(done.op_count(), 1);
        let text = crate::plan::render(&done, &crate::source::Sources::new());
        assert!(text.contains("deadline passed, 1 connection cut"), "{text}");
        assert_eq!(weight(&mut k, "tcp 10.0.0.1:80", "10.0.0.3:80"), None);
    }

    #[test]
    fn a_server_back_in_the_file_is_restored_by_an_edit() {
        let mut k = kernel(AB);
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(4));
        let p = apply(&mut k, A, &State::default(), T0);
        let back = apply(&mut k, AB, &p.state, T0 + 10);
        assert_eq!(back.counts(), (0, 1, 0));
        assert!(matches!(back.changes[0].ops[..], [Op::EditServer(_, s)] if s.weight == 2));
        assert!(back.state.drains.is_empty());
        assert!(back.notes.iter().any(|n| n.contains("back in the file")));
        assert_eq!(weight(&mut k, "tcp 10.0.0.1:80", "10.0.0.3:80"), Some(2));
    }

    #[test]
    fn idle_servers_and_udp_go_at_once() {
        let mut k = kernel(&format!(
            "{AB}service udp 10.0.0.1:53 {{ server 10.0.0.5; server 10.0.0.6 }}\n"
        ));
        k.set_load(svc("udp 10.0.0.1:53"), srv("10.0.0.6:53"), busy(9));
        let p = apply(
            &mut k,
            &format!("{A}service udp 10.0.0.1:53 {{ server 10.0.0.5 }}\n"),
            &State::default(),
            T0,
        );
        assert_eq!((p.counts(), p.drain_count()), ((0, 0, 2), 0));
        assert!(p.state.drains.is_empty());
    }

    #[test]
    fn a_leaving_service_drains_its_busy_servers_then_goes() {
        let two = "service tcp 10.0.0.9:80 { server 10.0.0.2; server 10.0.0.3 }\n";
        let mut k = kernel(&format!("{A}{two}"));
        k.set_load(svc("tcp 10.0.0.9:80"), srv("10.0.0.2:80"), busy(1));
        let p = apply(&mut k, A, &State::default(), T0);
        assert_eq!(p.drain_count(), 1);
        // The idle server went at once; the busy one waits at weight 0.
        assert_eq!(weight(&mut k, "tcp 10.0.0.9:80", "10.0.0.3:80"), None);
        assert_eq!(weight(&mut k, "tcp 10.0.0.9:80", "10.0.0.2:80"), Some(0));
        assert!(p.state.drains[0].remove_service);
        assert!(apply(&mut k, A, &p.state, T0 + 5).is_empty());
        k.set_load(svc("tcp 10.0.0.9:80"), srv("10.0.0.2:80"), busy(0));
        let done = apply(&mut k, A, &p.state, T0 + 10);
        assert_eq!(done.counts(), (0, 0, 1));
        assert!(!k
            .read()
            .unwrap()
            .services
            .contains_key(&svc("tcp 10.0.0.9:80")));
        assert!(done.state.drains.is_empty());
    }

    #[test]
    fn finishing_without_the_file_touches_nothing_else() {
        let mut k = kernel(AB);
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(1));
        let p = apply(&mut k, A, &State::default(), T0);
        // Someone adds a server by hand: `ipvsc drain` leaves it.
        let extra = Server::new(srv("10.0.0.4:80"));
        k.apply(&Op::AddServer(svc("tcp 10.0.0.1:80"), extra))
            .unwrap();
        let current = k.read().unwrap();
        let loads = k.loads(&[svc("tcp 10.0.0.1:80")]).unwrap();
        let waiting = finish_drains(&current, &p.state, Some(&loads), T0 + 1);
        assert!(waiting.is_empty(), "{waiting:#?}");
        assert_eq!(waiting.draining.len(), 1);
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(0));
        let loads = k.loads(&[svc("tcp 10.0.0.1:80")]).unwrap();
        let done = finish_drains(&current, &p.state, Some(&loads), T0 + 2);
        assert_eq!(
            done.ops().map(|(op, _)| op.clone()).collect::<Vec<_>>(),
            vec![Op::DeleteServer(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"))]
        );
    }

    #[test]
    fn finishing_needs_only_the_services_that_drain() {
        // `ipvsc drain` reads the services with drains alone: the plan is the same as with
        // the whole table, whether the service stays or goes.
        let other = "service udp 10.0.0.9:53 { server 10.0.0.8 }\n";
        for (now, then) in [(AB, A), (AB, "")] {
            let mut k = kernel(&format!("{now}{other}"));
            k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(1));
            k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.2:80"), busy(1));
            let p = apply(&mut k, &format!("{then}{other}"), &State::default(), T0);
            assert!(!p.state.drains.is_empty());
            let services = [svc("tcp 10.0.0.1:80")];
            for left in [busy(1), busy(0)] {
                k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), left);
                k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.2:80"), left);
                let loads = k.loads(&services).unwrap();
                let whole = finish_drains(&k.read().unwrap(), &p.state, Some(&loads), T0 + 1);
                let part = k.read_services(&services).unwrap();
                let some = finish_drains(&part, &p.state, Some(&loads), T0 + 1);
                assert_eq!(whole.changes, some.changes);
                assert_eq!(whole.state, some.state);
                assert_eq!(whole.draining, some.draining);
            }
        }
    }

    #[test]
    fn a_drain_someone_else_changed_is_dropped_not_forced() {
        let mut k = kernel(AB);
        k.set_load(svc("tcp 10.0.0.1:80"), srv("10.0.0.3:80"), busy(1));
        let p = apply(&mut k, A, &State::default(), T0);
        let mut changed = Server::new(srv("10.0.0.3:80"));
        changed.weight = 7;
        k.apply(&Op::EditServer(svc("tcp 10.0.0.1:80"), changed))
            .unwrap();
        let after = apply(&mut k, A, &p.state, T0 + 5);
        assert!(after.is_empty(), "{after:#?}");
        assert!(after.state.drains.is_empty());
        assert!(after
            .notes
            .iter()
            .any(|n| n.contains("someone else changed it")));
        assert_eq!(weight(&mut k, "tcp 10.0.0.1:80", "10.0.0.3:80"), Some(7));
    }

    #[test]
    fn overrides_are_kept_and_dropped_with_their_server() {
        let mut k = kernel(AB);
        let disabled = Override {
            service: svc("tcp 10.0.0.1:80"),
            server: srv("10.0.0.2:80"),
            weight: 0,
            file_weight: 3,
            since: T0,
        };
        let state = State {
            overrides: vec![disabled.clone()],
            ..State::default()
        };
        let changed_file = AB.replace("weight 3", "weight 5");
        let p = apply(&mut k, &changed_file, &state, T0);
        assert_eq!(weight(&mut k, "tcp 10.0.0.1:80", "10.0.0.2:80"), Some(0));
        assert_eq!(p.state.overrides[0].file_weight, 5);
        assert!(p.notes.iter().any(|n| n.contains("stays disabled")));
        let gone = apply(
            &mut k,
            "service tcp 10.0.0.1:80 { server 10.0.0.3 weight 2 }\n",
            &p.state,
            T0,
        );
        assert!(gone.state.overrides.is_empty());
        assert!(gone.notes.iter().any(|n| n.contains("is dropped")));
    }
}
