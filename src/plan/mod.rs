//! The diff of a desired table against the current one: an ordered list of kernel operations
//! that the kernel accepts one after the other and that leaves exactly the desired table, with
//! nothing done for what already matches.

mod drain;
pub mod render;
mod simulate;
pub mod state;

pub use drain::{finish_drains, leaving, plan_live, Draining, Live};
pub use render::{render, render_json, summary, write, write_json};
pub use simulate::{inverse, simulate};

use crate::kernel::Op;
use crate::model::*;
use crate::source::{SourceMap, Span};

/// Which part of the kernel's table the file owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// The table becomes exactly the file: services it does not declare are removed, and so
    /// are sync daemons it does not declare.
    #[default]
    All,
    /// Only what the file declares is touched; other services and daemons stay as they are.
    Declared,
}

/// What a change does to its object, as a reviewer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `+`
    Add,
    /// `~`
    Change,
    /// `-`
    Remove,
    /// `-/+`: cannot be changed in place.
    Replace,
    /// `~-`: weight 0 now, removed once its connections are gone or at its deadline.
    Drain,
}

impl Action {
    /// `add`, `change`, `remove`, `replace`, `drain`: the word tools read.
    pub fn name(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Change => "change",
            Action::Remove => "remove",
            Action::Replace => "replace",
            Action::Drain => "drain",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Action::Add => "+",
            Action::Change => "~",
            Action::Remove => "-",
            Action::Replace => "-/+",
            Action::Drain => "~-",
        }
    }
}

/// One setting of a changed object: its name, the value now and the value wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub old: String,
    pub new: String,
}

/// What a change is to; shown as `service tcp 10.0.0.1:80`,
/// `server 10.0.0.2:80 of service tcp 10.0.0.1:80`, `sync daemon master`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Service(ServiceKey),
    Server(ServiceKey, ServerKey),
    Timeouts,
    Sysctl(Sysctl),
    Daemon(DaemonState),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Subject::Service(key) => write!(f, "service {key}"),
            Subject::Server(service, server) => write!(f, "server {server} of service {service}"),
            Subject::Timeouts => f.write_str("timeouts"),
            Subject::Sysctl(sysctl) => write!(f, "sysctl {sysctl}"),
            Subject::Daemon(state) => write!(f, "sync daemon {state}"),
        }
    }
}

/// The settings a change shows. A table loaded into an empty kernel is mostly new servers, so
/// theirs are worked out only when shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fields {
    Listed(Vec<Field>),
    NewServer(Server),
    /// A server's settings changed: the server as it was, listed against the one the change's
    /// `EditServer` operation sets when shown (a change of every weight at 1,000,000 servers
    /// held 55 MB of them as text).
    EditedServer(Server),
    /// Every setting of the service the change's `AddService` operation adds, listed when
    /// shown: a load of 100,000 services held 38 MB of them as text.
    NewService,
}

/// One object's change and the operations that make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub subject: Subject,
    /// For a change: what differs. For an add: the settings it gets.
    pub fields: Fields,
    pub ops: Vec<Op>,
    /// Where the desired object was declared (none for removals).
    pub span: Option<Span>,
}

impl Change {
    /// For a change: what differs. For an add: the settings it gets.
    pub fn fields(&self) -> std::borrow::Cow<'_, [Field]> {
        match &self.fields {
            Fields::Listed(fields) => fields.as_slice().into(),
            Fields::NewServer(s) => new_fields(&server_fields(s)).into(),
            Fields::EditedServer(old) => match self.ops.first() {
                Some(Op::EditServer(_, new)) => {
                    diff_fields(&server_fields(old), &server_fields(new)).into()
                }
                _ => std::borrow::Cow::Borrowed(&[]),
            },
            Fields::NewService => match self.ops.first() {
                Some(Op::AddService(s)) => new_fields(&service_fields(s)).into(),
                _ => std::borrow::Cow::Borrowed(&[]),
            },
        }
    }

    /// A change that does nothing, to hold a place while its change is worked out.
    pub(crate) fn placeholder() -> Change {
        Change {
            action: Action::Change,
            subject: Subject::Timeouts,
            fields: Fields::Listed(Vec::new()),
            ops: Vec::new(),
            span: None,
        }
    }
}

/// The ordered changes from one table to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Drains still under way once the plan is done (from earlier runs).
    pub draining: Vec<Draining>,
    /// What an operator should know: overrides kept or dropped, drains dropped, settings that
    /// defeat a drain.
    pub notes: Vec<String>,
    /// The drains and overrides to record once the plan is done.
    pub state: state::State,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Every operation in execution order, with the change it belongs to.
    pub fn ops(&self) -> impl Iterator<Item = (&Op, &Change)> {
        self.changes
            .iter()
            .flat_map(|c| c.ops.iter().map(move |op| (op, c)))
    }

    pub fn op_count(&self) -> usize {
        self.changes.iter().map(|c| c.ops.len()).sum()
    }

    /// Servers (or services) that start to drain.
    pub fn drain_count(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Drain)
            .count()
    }

    /// (to add, to change, to remove); a replacement counts as one add and one remove. A
    /// replaced sync daemon is two changes, its stop and, later, its start: it counts once.
    /// Drains are counted by [`Plan::drain_count`].
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for c in &self.changes {
            match c.action {
                Action::Drain => {}
                Action::Add => counts.0 += 1,
                Action::Change => counts.1 += 1,
                Action::Remove => counts.2 += 1,
                Action::Replace if matches!(c.ops.as_slice(), [Op::StartDaemon(_)]) => {}
                Action::Replace => {
                    counts.0 += 1;
                    counts.2 += 1;
                }
            }
        }
        counts
    }
}

fn service_fields(s: &Service) -> Vec<(&'static str, String)> {
    let none = || "-".to_string();
    let flags = s.flags.names(s.scheduler).join(",");
    vec![
        ("scheduler", s.scheduler.to_string()),
        ("flags", if flags.is_empty() { none() } else { flags }),
        (
            "persistent",
            s.persistence.map_or_else(none, language::duration),
        ),
        ("netmask", s.netmask.to_string()),
        ("pe", s.pe.clone().unwrap_or_else(none)),
        (
            "one-packet",
            if s.one_packet { "yes" } else { "no" }.to_string(),
        ),
    ]
}

fn server_fields(s: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("forward", language::forward_in_full(s.forward)),
        ("weight", s.weight.to_string()),
        ("upper", s.upper.to_string()),
        ("lower", s.lower.to_string()),
    ]
}

fn daemon_fields(d: &Daemon) -> Vec<(&'static str, String)> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "default".to_string());
    vec![
        ("interface", d.interface.clone()),
        ("syncid", d.syncid.to_string()),
        ("maxlen", opt(d.maxlen.map(|v| v.to_string()))),
        ("group", opt(d.group.map(|v| v.to_string()))),
        ("port", opt(d.port.map(|v| v.to_string()))),
        ("ttl", opt(d.ttl.map(|v| v.to_string()))),
    ]
}

/// The fields whose values differ.
fn diff_fields(old: &[(&'static str, String)], new: &[(&'static str, String)]) -> Vec<Field> {
    old.iter()
        .zip(new)
        .filter(|(o, n)| o.1 != n.1)
        .map(|(o, n)| Field {
            name: o.0,
            old: o.1.clone(),
            new: n.1.clone(),
        })
        .collect()
}

/// The settings of something new: every field, shown as a change from nothing.
fn new_fields(new: &[(&'static str, String)]) -> Vec<Field> {
    new.iter()
        .map(|(name, v)| Field {
            name,
            old: String::new(),
            new: v.clone(),
        })
        .collect()
}

/// The changes that add `want`, a service the kernel does not have, and its servers. A table
/// loaded into an empty kernel is mostly this: nothing is formatted until it is shown.
fn add_service(want: &Service, map: &SourceMap, span: Option<Span>, out: &mut Vec<Change>) {
    let key = want.key;
    out.push(Change {
        action: Action::Add,
        subject: Subject::Service(key),
        fields: Fields::NewService,
        ops: vec![Op::AddService(without_servers(want))],
        span,
    });
    for s in want.servers.values() {
        out.push(Change {
            action: Action::Add,
            subject: Subject::Server(key, s.key),
            fields: Fields::NewServer(*s),
            ops: vec![Op::AddServer(key, *s)],
            span: map.server(&key, &s.key),
        });
    }
}

/// Whether a running daemon is what the file asks: options the file leaves out are the kernel's
/// to choose, and a maxlen the kernel clamped counts as the one asked for.
fn daemon_matches(want: &Daemon, have: &Daemon) -> bool {
    want.interface == have.interface
        && want.syncid == have.syncid
        && want
            .maxlen
            .is_none_or(|v| have.maxlen == Some(v) || have.maxlen == Some(want.kernel_maxlen(v)))
        && want.group.is_none_or(|v| have.group == Some(v))
        && want.port.is_none_or(|v| have.port == Some(v))
        && want.ttl.is_none_or(|v| have.ttl == Some(v))
}

/// The changes that turn `current` into `desired`, in an order the kernel accepts:
/// settings, then daemons to stop, then removals, then changes and additions, then daemons to
/// start. `map` says where each desired object was declared.
pub fn plan(desired: &Table, map: &SourceMap, current: &Table, scope: Scope) -> Plan {
    let mut settings = Vec::new();
    let mut stops = Vec::new();
    let mut removals = Vec::new();
    // Room for the services to add and their servers, known before they are planned: a load
    // (nothing else, in an empty kernel) does not grow the vector by doubling.
    let adding: usize = desired
        .services
        .iter()
        .filter(|(key, _)| !current.services.contains_key(key))
        .map(|(_, s)| s.servers.len() + 1)
        .sum();
    let mut updates = Vec::with_capacity(adding);
    let mut starts = Vec::new();

    // Timeouts: only those the file sets, and only where they differ.
    let want = desired.timeouts;
    let have = current.timeouts;
    let differ = |w: Option<u32>, h: Option<u32>| w.filter(|w| Some(*w) != h);
    let set = Timeouts {
        tcp: differ(want.tcp, have.tcp),
        tcpfin: differ(want.tcpfin, have.tcpfin),
        udp: differ(want.udp, have.udp),
    };
    if !set.is_empty() {
        let show = |v: Option<u32>| v.map_or("-".to_string(), language::duration);
        let fields = [
            ("tcp", set.tcp, have.tcp),
            ("tcpfin", set.tcpfin, have.tcpfin),
            ("udp", set.udp, have.udp),
        ]
        .into_iter()
        .filter(|(_, s, _)| s.is_some())
        .map(|(name, s, h)| Field {
            name,
            old: show(h),
            new: show(s),
        })
        .collect();
        settings.push(Change {
            action: Action::Change,
            subject: Subject::Timeouts,
            fields: Fields::Listed(fields),
            ops: vec![Op::SetTimeouts(set)],
            span: map.timeouts,
        });
    }

    // Sysctls the file sets.
    for (sysctl, value) in &desired.sysctls {
        let old = current.sysctls.get(sysctl);
        if old == Some(value) {
            continue;
        }
        settings.push(Change {
            action: Action::Change,
            subject: Subject::Sysctl(*sysctl),
            fields: Fields::Listed(vec![Field {
                name: "value",
                old: old.map_or("-".to_string(), |v| v.display(*sysctl)),
                new: value.display(*sysctl),
            }]),
            ops: vec![Op::SetSysctl(*sysctl, *value)],
            span: map.sysctls.get(sysctl).copied(),
        });
    }

    // Sync daemons: they cannot be edited, only stopped and started again.
    for (state, have) in &current.daemons {
        match desired.daemons.get(state) {
            Some(want) if daemon_matches(want, have) => {}
            Some(want) => {
                stops.push(Change {
                    action: Action::Replace,
                    subject: Subject::Daemon(*state),
                    fields: Fields::Listed(diff_fields(&daemon_fields(have), &daemon_fields(want))),
                    ops: vec![Op::StopDaemon(*state)],
                    span: map.daemons.get(state).copied(),
                });
                starts.push(Change {
                    action: Action::Replace,
                    subject: Subject::Daemon(*state),
                    fields: Fields::Listed(Vec::new()),
                    ops: vec![Op::StartDaemon(want.clone())],
                    span: map.daemons.get(state).copied(),
                });
            }
            None if scope == Scope::All => stops.push(Change {
                action: Action::Remove,
                subject: Subject::Daemon(*state),
                fields: Fields::Listed(Vec::new()),
                ops: vec![Op::StopDaemon(*state)],
                span: None,
            }),
            None => {}
        }
    }
    for (state, want) in &desired.daemons {
        if !current.daemons.contains_key(state) {
            starts.push(Change {
                action: Action::Add,
                subject: Subject::Daemon(*state),
                fields: Fields::Listed(new_fields(&daemon_fields(want))),
                ops: vec![Op::StartDaemon(want.clone())],
                span: map.daemons.get(state).copied(),
            });
        }
    }

    // Services no longer wanted go with their servers.
    if scope == Scope::All {
        for (key, service) in &current.services {
            if !desired.services.contains_key(key) {
                let n = service.servers.len();
                removals.push(Change {
                    action: Action::Remove,
                    subject: Subject::Service(*key),
                    fields: Fields::Listed(if n == 0 {
                        Vec::new()
                    } else {
                        vec![Field {
                            name: "servers",
                            old: n.to_string(),
                            new: "0".into(),
                        }]
                    }),
                    ops: vec![Op::DeleteService(*key)],
                    span: None,
                });
            }
        }
    }

    for (key, want) in &desired.services {
        let span = map.services.get(key).copied();
        let Some(have) = current.services.get(key) else {
            add_service(want, map, span, &mut updates);
            continue;
        };
        if !want.same_settings(have) {
            updates.push(Change {
                action: Action::Change,
                subject: Subject::Service(*key),
                fields: Fields::Listed(diff_fields(&service_fields(have), &service_fields(want))),
                ops: vec![Op::EditService(without_servers(want))],
                span,
            });
        }
        for (skey, old) in &have.servers {
            if !want.servers.contains_key(skey) {
                removals.push(Change {
                    action: Action::Remove,
                    subject: Subject::Server(*key, *skey),
                    fields: Fields::Listed(Vec::new()),
                    ops: vec![Op::DeleteServer(*key, *skey)],
                    span: None,
                });
            } else if want.servers[skey] != *old {
                let new = &want.servers[skey];
                updates.push(Change {
                    action: Action::Change,
                    subject: Subject::Server(*key, *skey),
                    fields: Fields::EditedServer(*old),
                    ops: vec![Op::EditServer(*key, *new)],
                    span: map.server(key, skey),
                });
            }
        }
        for (skey, new) in &want.servers {
            if !have.servers.contains_key(skey) {
                updates.push(Change {
                    action: Action::Add,
                    subject: Subject::Server(*key, *skey),
                    fields: Fields::NewServer(*new),
                    ops: vec![Op::AddServer(*key, *new)],
                    span: map.server(key, skey),
                });
            }
        }
    }

    // The updates are most of a large plan (a load is nothing else): the rest goes around
    // them, so that they are not copied.
    let mut changes = updates;
    changes.splice(0..0, settings.into_iter().chain(stops).chain(removals));
    changes.extend(starts);
    // The vector grew by doubling: up to half of it would be room never used, for as long as
    // the plan is kept (shrinking a large allocation moves nothing).
    changes.shrink_to_fit();
    Plan {
        changes,
        ..Plan::default()
    }
}

/// A service's settings without its servers: what ADD/SET_SERVICE carry.
pub fn without_servers(s: &Service) -> Box<Service> {
    // Field by field: `..s.clone()` would copy every server first.
    Box::new(Service {
        key: s.key,
        scheduler: s.scheduler,
        flags: s.flags,
        persistence: s.persistence,
        netmask: s.netmask,
        pe: s.pe.clone(),
        one_packet: s.one_packet,
        servers: crate::model::SmallMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::compiler::compile_clean as compile;

    /// The kernel's table after it started the file's daemons with this maxlen.
    fn running(desired: &Table, state: DaemonState, maxlen: u16) -> Table {
        let mut current = desired.clone();
        let d = current.daemons.get_mut(&state).unwrap();
        d.maxlen = Some(maxlen);
        d.group = d.group.or(Some("224.0.0.81".parse().unwrap()));
        d.port = Some(8848);
        d.ttl = Some(1);
        current
    }

    #[test]
    fn a_replaced_daemon_counts_once() {
        let desired = compile("sync backup { interface lo; syncid 2 }\n");
        let current = running(
            &compile("sync backup { interface lo; syncid 1 }\n"),
            DaemonState::Backup,
            1472,
        );
        let p = plan(&desired, &SourceMap::default(), &current, Scope::All);
        assert_eq!(p.op_count(), 2);
        assert_eq!(p.counts(), (1, 0, 1));
    }

    #[test]
    fn a_maxlen_the_kernel_clamps_matches_what_it_runs_with() {
        // The 6.1 kernel runs a backup asked for maxlen 100 with 1024 (VM test apply_converge).
        let desired = compile("sync backup { interface lo; maxlen 100 }\n");
        let map = SourceMap::default();
        let clamped = running(&desired, DaemonState::Backup, 1024);
        assert!(plan(&desired, &map, &clamped, Scope::All).is_empty());
        let other = running(&desired, DaemonState::Backup, 2000);
        let p = plan(&desired, &map, &other, Scope::All);
        assert_eq!(p.op_count(), 2, "{p:#?}");

        let desired = compile("sync master { interface lo; maxlen 65507; group ff02::81 }\n");
        let clamped = running(&desired, DaemonState::Master, 65487);
        assert!(plan(&desired, &map, &clamped, Scope::All).is_empty());
        let desired = compile("sync master { interface lo; maxlen 100 }\n");
        let exact = running(&desired, DaemonState::Master, 100);
        assert!(plan(&desired, &map, &exact, Scope::All).is_empty());
    }
}
