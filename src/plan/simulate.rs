//! Operations applied to a table in memory, with no checks, and their inverses: what the
//! applier needs to undo exactly what succeeded.

use crate::kernel::Op;
use crate::model::*;

use super::without_servers;

/// `table` after `op`, assuming the kernel accepted it.
pub fn simulate(table: &mut Table, op: &Op) {
    match op {
        Op::AddService(s) | Op::EditService(s) => {
            let servers = table
                .services
                .remove(&s.key)
                .map(|old| old.servers)
                .unwrap_or_default();
            table.services.insert(
                s.key,
                Service {
                    servers,
                    ..s.as_ref().clone()
                },
            );
        }
        Op::DeleteService(k) => {
            table.services.remove(k);
        }
        Op::AddServer(k, server) | Op::EditServer(k, server) => {
            if let Some(s) = table.services.get_mut(k) {
                s.servers.insert(server.key, *server);
            }
        }
        Op::DeleteServer(k, key) => {
            if let Some(s) = table.services.get_mut(k) {
                s.servers.remove(key);
            }
        }
        Op::SetTimeouts(t) => table.timeouts.set(*t),
        Op::StartDaemon(d) => {
            table.daemons.insert(d.state, d.clone());
        }
        Op::StopDaemon(state) => {
            table.daemons.remove(state);
        }
        Op::SetSysctl(s, v) => {
            table.sysctls.insert(*s, *v);
        }
        Op::Zero(_) => {}
        Op::Flush => table.services.clear(),
    }
}

/// The operations that undo `op` on `before`, the table as it was just before `op`.
pub fn inverse(before: &Table, op: &Op) -> Vec<Op> {
    match op {
        Op::AddService(s) => vec![Op::DeleteService(s.key)],
        Op::EditService(s) => before
            .services
            .get(&s.key)
            .map(|old| vec![Op::EditService(without_servers(old))])
            .unwrap_or_default(),
        Op::DeleteService(k) => restore_service(before, k),
        Op::AddServer(k, s) => vec![Op::DeleteServer(*k, s.key)],
        Op::EditServer(k, s) => old_server(before, k, &s.key)
            .map(|old| vec![Op::EditServer(*k, old)])
            .unwrap_or_default(),
        Op::DeleteServer(k, key) => old_server(before, k, key)
            .map(|old| vec![Op::AddServer(*k, old)])
            .unwrap_or_default(),
        Op::SetTimeouts(t) => {
            let old = before.timeouts;
            let back = |new: Option<u32>, old: Option<u32>| new.and(old);
            vec![Op::SetTimeouts(Timeouts {
                tcp: back(t.tcp, old.tcp),
                tcpfin: back(t.tcpfin, old.tcpfin),
                udp: back(t.udp, old.udp),
            })]
        }
        Op::StartDaemon(d) => vec![Op::StopDaemon(d.state)],
        Op::StopDaemon(state) => before
            .daemons
            .get(state)
            .map(|d| vec![Op::StartDaemon(d.clone())])
            .unwrap_or_default(),
        Op::SetSysctl(s, _) => before
            .sysctls
            .get(s)
            .map(|old| vec![Op::SetSysctl(*s, *old)])
            .unwrap_or_default(),
        Op::Zero(_) => Vec::new(),
        Op::Flush => before
            .services
            .keys()
            .flat_map(|k| restore_service(before, k))
            .collect(),
    }
}

fn old_server(before: &Table, service: &ServiceKey, key: &ServerKey) -> Option<Server> {
    before.services.get(service)?.servers.get(key).copied()
}

fn restore_service(before: &Table, key: &ServiceKey) -> Vec<Op> {
    let Some(old) = before.services.get(key) else {
        return Vec::new();
    };
    let mut ops = vec![Op::AddService(without_servers(old))];
    ops.extend(old.servers.values().map(|s| Op::AddServer(*key, *s)));
    ops
}
