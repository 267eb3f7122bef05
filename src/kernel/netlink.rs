//! [`NetlinkKernel`]: the [`Kernel`] trait over generic netlink to the running kernel's IPVS,
//! plus the sysctls under `/proc/sys/net/ipv4/vs/` (`sysctl.rs`).
//!
//! Unlike libipvs, which opens a socket and resolves the family for every request, one socket
//! serves every request but the dump of the services and the family is resolved once per
//! process. The requests and their
//! replies are the [`Session`]'s (`session.rs`), the socket is `socket.rs`, and the replies are
//! decoded by `packet/`.
//!
//! Reading a large table is mostly the kernel's work, and what is left of ours is kept small:
//! the dump of the services is read in large datagrams on a socket of its own, the servers'
//! dumps in one-page datagrams on the main socket (why: `socket::recv_datagram`), and `save`'s
//! replies are read straight from their bytes without the counters
//! ([`packet::read_service_reply`], [`packet::read_dest_reply`]). On a machine of more than
//! one CPU the servers' dumps of a table of many services are shared with a second thread on a
//! socket of its own ([`NetlinkKernel::dump_each`]). BENCHMARKS.md has the figures.
//!
//! With [`Options::capture`], every datagram sent and received is also written to a directory
//! (`capture.rs`): how the fixtures of `packet/captures/` were made.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::capture::CaptureTransport;
use super::packet::{self, IpvsInfo, ServerCounters, Stats};
use super::session::{Failure, Replies, Session};
use super::socket::NetlinkSocket;
use super::sysctl::{read_sysctls, write_sysctl, SYSCTL_DIR};
use super::transport::Transport;
use super::{Kernel, KernelError, Load, Loads, Op};
use crate::model::{
    Daemon, DaemonState, DumpedService, Server, Service, ServiceKey, Table, Timeouts,
};

/// A service with its counters and its servers' counters, in the kernel's dump order (what
/// `ipvsadm -L -n --stats` lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceStats {
    /// The service, its `servers` filled in.
    pub service: Service,
    pub stats: Stats,
    /// The servers in the order of the kernel's GET_DEST dump.
    pub servers: Vec<(Server, ServerCounters)>,
}

/// The services and their servers in the order of the kernel's dumps (GET_SERVICE, then
/// GET_DEST per service): the input of ipvsadm's sort.
pub type DumpOrder = Vec<(Service, Vec<Server>)>;

/// The IPVS family id, resolved by the first [`NetlinkKernel::open`] of the process. A global
/// on purpose: the id is the kernel's for as long as the `ip_vs` module stays loaded, and
/// resolving it costs a round trip that libipvs pays per request.
static IPVS_FAMILY: OnceLock<u16> = OnceLock::new();

/// Tables of fewer services have their servers' dumps read on one thread: a second thread and
/// socket would cost more than they could save.
const SHARED_READ_MIN: usize = 64;

/// How [`NetlinkKernel::open`] sets up; the defaults talk to the running kernel and nothing
/// else.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Write every datagram sent and received to this directory, as `0001-send.bin`,
    /// `0002-recv.bin`, ... (the raw bytes); it must exist.
    pub capture: Option<PathBuf>,
    /// Read and write the sysctls under this directory instead of [`SYSCTL_DIR`].
    pub sysctl_dir: Option<PathBuf>,
    /// A fault to inject at the transport (the kernel tests of the applier).
    #[cfg(feature = "test-hooks")]
    pub fault: Option<super::fault::Fault>,
    /// Threads that read the servers' dumps, each on a socket of its own, 1 or 2; by default
    /// 2 when the process may run on more than one CPU.
    pub readers: Option<usize>,
}

/// The running kernel's IPVS table, over generic netlink.
pub struct NetlinkKernel {
    session: Session,
    sysctl_dir: PathBuf,
    /// Threads that read the servers' dumps of a large table: 1 or 2.
    readers: usize,
    /// When set, the second reader waits for it ([`NetlinkKernel::second_reader_after`]).
    gate: Option<Arc<AtomicBool>>,
}

impl fmt::Debug for NetlinkKernel {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("NetlinkKernel")
            .field("family", &self.session.family())
            .field("sysctl_dir", &self.sysctl_dir)
            .finish_non_exhaustive()
    }
}

impl NetlinkKernel {
    /// Opens the socket and resolves the IPVS family (once per process). Fails with
    /// [`KernelError::Unsupported`] when the kernel has no IPVS.
    pub fn open(options: Options) -> Result<NetlinkKernel, KernelError> {
        let (socket, window) = NetlinkSocket::open().map_err(|e| KernelError::Transport {
            errno: e.raw_os_error(),
            doing: "open a generic netlink socket".into(),
            reason: e.to_string(),
        })?;
        let mut transport: Box<dyn Transport> = Box::new(socket);
        if let Some(dir) = options.capture {
            transport = Box::new(CaptureTransport::new(transport, dir)?);
        }
        #[cfg(feature = "test-hooks")]
        if let Some(fault) = options.fault {
            transport = Box::new(super::fault::FaultTransport::new(transport, fault));
        }
        let sysctl_dir = options
            .sysctl_dir
            .unwrap_or_else(|| PathBuf::from(SYSCTL_DIR));
        let mut kernel = NetlinkKernel::over(transport, 0, window, sysctl_dir);
        kernel.readers = options.readers.unwrap_or_else(default_readers).clamp(1, 2);
        let family = match IPVS_FAMILY.get() {
            Some(id) => *id,
            None => {
                let id = kernel.session.resolve_family()?;
                *IPVS_FAMILY.get_or_init(|| id)
            }
        };
        kernel.session.set_family(family);
        Ok(kernel)
    }

    /// A kernel over `transport`, the IPVS family `family`, `window` requests in flight at
    /// most.
    pub(super) fn over(
        transport: Box<dyn Transport>,
        family: u16,
        window: usize,
        sysctl_dir: PathBuf,
    ) -> NetlinkKernel {
        NetlinkKernel {
            session: Session::new(transport, family, window),
            sysctl_dir,
            readers: 1,
            gate: None,
        }
    }

    /// The second reader of the servers' dumps starts only once `gate` is set, and only if
    /// enough services are left to read by then: for a read beside a compile of the file on
    /// another thread, which has a CPU of its own until it ends. Started earlier, the second
    /// reader would take that CPU from the compile, and spin in the kernel on the locks its
    /// twin holds (`mutex_spin_on_owner`, 12% of the samples of a two-reader `save` in the
    /// test guest).
    pub fn second_reader_after(&mut self, gate: Arc<AtomicBool>) {
        self.gate = Some(gate);
    }

    /// Sets how many threads read the servers' dumps of a large table (1 or 2).
    #[cfg(test)]
    pub(super) fn set_readers(&mut self, readers: usize) {
        self.readers = readers;
    }

    /// The IPVS family's id.
    pub fn family_id(&self) -> u16 {
        self.session.family()
    }

    /// Every service with its counters and its servers with theirs, in the kernel's dump order:
    /// GET_SERVICE, then GET_DEST per service (`ipvsadm -L -n --stats`).
    pub fn stats(&mut self) -> Result<Vec<ServiceStats>, KernelError> {
        const DOING: &str = "list the virtual services";
        let replies = self
            .session
            .dump(packet::get_services())
            .and_then(|r| r.parse())
            .map_err(|f| f.into_read_error(DOING))?;
        let mut out = Vec::with_capacity(replies.len());
        for reply in &replies {
            let (mut service, stats) = packet::parse_service_reply(reply)
                .map_err(|e| Failure::decode(e).into_read_error(DOING))?;
            let doing = format!("list the real servers of service {}", service.key);
            let dests = self
                .session
                .dump(packet::get_dests(&service.key))
                .and_then(|r| r.parse())
                .map_err(|f| f.into_read_error(&doing))?;
            let family = service.key.family();
            let servers = dests
                .iter()
                .map(|d| packet::parse_dest_reply(d, family))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::decode(e).into_read_error(&doing))?;
            service.servers = servers.iter().map(|(s, _)| (s.key, *s)).collect();
            out.push(ServiceStats {
                service,
                stats,
                servers,
            });
        }
        Ok(out)
    }

    /// The services and their servers in the order of the kernel's dumps, the input of
    /// ipvsadm's sort (see [`crate::legacy::ipvsadm_save_ordered`] and [`dumped_services`]).
    /// Each service's `servers` map is filled in too.
    ///
    /// The same dumps as [`NetlinkKernel::stats`], but the replies are read straight from their
    /// bytes, without the counters: what `save` reads, thousands of messages, without an
    /// allocation per attribute.
    pub fn read_ordered(&mut self) -> Result<DumpOrder, KernelError> {
        self.dump_each(None, |mut service, servers| {
            service.servers = servers.iter().map(|s| (s.key, *s)).collect();
            (service, servers.to_vec())
        })
    }

    /// The services in `only` (all when `None`), each with its servers, as a table's map: built
    /// as they come, with no copy of the dump kept.
    fn services_of(
        &mut self,
        only: Option<&BTreeSet<ServiceKey>>,
    ) -> Result<BTreeMap<ServiceKey, Service>, KernelError> {
        let services = self.dump_each(only, |mut service, servers| {
            // Collected from a list, a map is built in one pass with full nodes.
            service.servers = servers.iter().map(|s| (s.key, *s)).collect();
            (service.key, service)
        })?;
        Ok(services.into_iter().collect())
    }

    /// One dump of the services, then one of the servers of each in `only` (all when `None`):
    /// `build` makes what the caller keeps of each service (its `servers` empty) and its
    /// servers in the kernel's order; returned in the order of the services' dump.
    ///
    /// The servers' dumps are most of a large table's read, and most of that is the kernel's
    /// work, under locks that let two readers gain about 1.4 times the throughput of one
    /// (BENCHMARKS.md). So with [`Options::readers`] at 2 and at least [`SHARED_READ_MIN`]
    /// services, a second thread on a socket of its own ([`Session::fork`]) takes services
    /// from the same list as this one, each the next not yet taken, and the results are put
    /// back in order.
    fn dump_each<T: Send>(
        &mut self,
        only: Option<&BTreeSet<ServiceKey>>,
        build: impl Fn(Service, &[Server]) -> T + Sync,
    ) -> Result<Vec<T>, KernelError> {
        const DOING: &str = "list the virtual services";
        let replies = self
            .session
            .dump(packet::get_services())
            .map_err(|f| f.into_read_error(DOING))?;
        let mut services = Vec::new();
        for reply in replies.iter() {
            let service = packet::read_service_reply(reply)
                .map_err(|e| Failure::decode(e).into_read_error(DOING))?;
            if only.is_none_or(|keys| keys.contains(&service.key)) {
                services.push(Mutex::new(Some(service)));
            }
        }
        drop(replies);
        let next = AtomicUsize::new(0);
        let session = &mut self.session;
        if self.readers < 2 || services.len() < SHARED_READ_MIN {
            let mut mine = Vec::with_capacity(services.len());
            read_servers(session, &services, &next, &build, &|| false, &mut mine)?;
            return Ok(mine.into_iter().map(|(_, t)| t).collect());
        }
        let gate = self.gate.as_deref();
        let (mine, theirs) = std::thread::scope(|scope| {
            let mut mine = Vec::with_capacity(services.len());
            if let Some(gate) = gate {
                let open = || gate.load(Ordering::Acquire);
                read_servers(session, &services, &next, &build, &open, &mut mine)?;
            }
            // A second socket is only a gain: without one (no descriptor left, say), the read
            // goes on alone.
            let left = services.len().saturating_sub(next.load(Ordering::Relaxed));
            let second = if left >= SHARED_READ_MIN / 2 {
                session.fork().ok().flatten()
            } else {
                None
            };
            let helper = second.map(|mut second| {
                let (services, next, build) = (&services, &next, &build);
                scope.spawn(move || {
                    let mut theirs = Vec::new();
                    read_servers(&mut second, services, next, build, &|| false, &mut theirs)
                        .map(|()| theirs)
                })
            });
            let read = read_servers(session, &services, &next, &build, &|| false, &mut mine);
            let theirs = match helper {
                Some(h) => h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => Ok(Vec::new()),
            };
            read.and_then(|()| theirs.map(|theirs| (mine, theirs)))
        })?;
        // Each list is in the order its thread took the services: merged by the index.
        let mut out = Vec::with_capacity(mine.len() + theirs.len());
        let (mut a, mut b) = (mine.into_iter().peekable(), theirs.into_iter().peekable());
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some((i, _)), Some((j, _))) => i < j,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (_, t) = if take_a { a.next() } else { b.next() }.expect("peeked");
            out.push(t);
        }
        Ok(out)
    }

    /// [`Kernel::read`] and [`NetlinkKernel::read_ordered`] from one set of dumps.
    pub fn read_with_order(&mut self) -> Result<(Table, DumpOrder), KernelError> {
        let ordered = self.read_ordered()?;
        let table = Table {
            services: ordered.iter().map(|(s, _)| (s.key, s.clone())).collect(),
            ..self.read_rest()?
        };
        Ok((table, ordered))
    }

    /// A table of everything but services: timeouts, daemons, sysctls.
    fn read_rest(&mut self) -> Result<Table, KernelError> {
        Ok(Table {
            services: BTreeMap::new(),
            timeouts: self.timeouts()?,
            daemons: self.daemons()?,
            sysctls: read_sysctls(&self.sysctl_dir)?,
        })
    }

    /// The connection timeouts (GET_CONFIG, `ipvsadm -L --timeout`).
    pub fn timeouts(&mut self) -> Result<Timeouts, KernelError> {
        let reply = self
            .session
            .query(packet::get_config())
            .map_err(|f| f.into_read_error("read the connection timeouts"))?;
        Ok(packet::parse_config_reply(&reply))
    }

    /// The running sync daemons (GET_DAEMON, `ipvsadm -L --daemon`).
    pub fn daemons(&mut self) -> Result<BTreeMap<DaemonState, Daemon>, KernelError> {
        const DOING: &str = "list the sync daemons";
        let replies = self
            .session
            .dump(packet::get_daemons())
            .and_then(|r| r.parse())
            .map_err(|f| f.into_read_error(DOING))?;
        replies
            .iter()
            .map(|r| packet::parse_daemon_reply(r).map(|d| (d.state, d)))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::decode(e).into_read_error(DOING))
    }

    /// The IPVS version and connection table size (GET_INFO, the first line of `ipvsadm -L`).
    pub fn info(&mut self) -> Result<IpvsInfo, KernelError> {
        const DOING: &str = "read the IPVS version";
        let reply = self
            .session
            .query(packet::get_info())
            .map_err(|f| f.into_read_error(DOING))?;
        packet::parse_info_reply(&reply).map_err(|e| Failure::decode(e).into_read_error(DOING))
    }

    /// Performs `ops` in order with as few round trips as fit: consecutive netlink requests are
    /// written together (see [`Session::send_window`]); a sysctl write waits for the requests
    /// before it. Returns one result per op, in order.
    ///
    /// The kernel performs each request of a `send()` on its own: a refused request does not
    /// stop the ones after it. If the socket fails, the requests in flight get an error that
    /// says their outcome is unknown.
    pub fn send_batch(&mut self, ops: &[Op]) -> Vec<Result<(), KernelError>> {
        let mut results = Vec::with_capacity(ops.len());
        let mut i = 0;
        while i < ops.len() {
            if let Op::SetSysctl(sysctl, value) = &ops[i] {
                results.push(write_sysctl(&self.sysctl_dir, &ops[i], *sysctl, value));
                i += 1;
                continue;
            }
            let outcomes = self.session.send_window(&ops[i..]);
            assert!(!outcomes.is_empty(), "every op but a sysctl is a request");
            for (op, outcome) in ops[i..].iter().zip(outcomes) {
                results.push(outcome.map_err(|f| f.into_op_error(op)));
                i += 1;
            }
        }
        results
    }
}

impl Kernel for NetlinkKernel {
    fn read(&mut self) -> Result<Table, KernelError> {
        Ok(Table {
            services: self.services_of(None)?,
            ..self.read_rest()?
        })
    }

    fn apply(&mut self, op: &Op) -> Result<(), KernelError> {
        self.send_batch(std::slice::from_ref(op))
            .pop()
            .expect("one result per op")
    }

    fn apply_batch(&mut self, ops: &[Op]) -> Vec<Result<(), KernelError>> {
        self.send_batch(ops)
    }

    fn read_services(&mut self, keys: &[ServiceKey]) -> Result<Table, KernelError> {
        let only: BTreeSet<ServiceKey> = keys.iter().copied().collect();
        Ok(Table {
            services: self.services_of(Some(&only))?,
            ..self.read_rest()?
        })
    }

    fn loads(&mut self, services: &[ServiceKey]) -> Result<Loads, KernelError> {
        let mut out = Loads::new();
        for key in services {
            let doing = format!("list the real servers of service {key}");
            let dests = self
                .session
                .dump(packet::get_dests(key))
                .and_then(|r| r.parse())
                .map_err(|f| f.into_read_error(&doing))?;
            for dest in &dests {
                let (server, counters) = packet::parse_dest_reply(dest, key.family())
                    .map_err(|e| Failure::decode(e).into_read_error(&doing))?;
                let load = Load {
                    active: counters.active_conns,
                    inactive: counters.inactive_conns,
                    persistent: counters.persistent_conns,
                    closing: 0,
                };
                out.insert((*key, server.key), load);
            }
        }
        if out.values().any(|l| l.inactive > 0) {
            let path = super::conns::PROC_PATH;
            super::conns::count_closing(Path::new(path), &mut out)
                .map_err(|e| KernelError::io(format!("read {path}"), &e))?;
        }
        Ok(out)
    }
}

/// How many threads read the servers' dumps when [`Options::readers`] does not say: 2 when
/// the process may run on more than one CPU.
fn default_readers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

/// The servers of `services[i]` for each `i` taken from `next` until none is left or `stop`
/// says so, each service taken out of the list and given to `build` with its servers:
/// `(i, what build made)` onto `out`, in the order taken. On a failure, takes the rest of the
/// list so that other readers stop too.
fn read_servers<T>(
    session: &mut Session,
    services: &[Mutex<Option<Service>>],
    next: &AtomicUsize,
    build: &impl Fn(Service, &[Server]) -> T,
    stop: &dyn Fn() -> bool,
    out: &mut Vec<(usize, T)>,
) -> Result<(), KernelError> {
    let mut dests = Replies::default();
    let mut servers = Vec::new();
    while !stop() {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = services.get(i) else {
            break;
        };
        let service = slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .expect("each service is taken once");
        let read = read_servers_of(session, &service, &mut dests, &mut servers);
        if let Err(e) = read {
            next.store(services.len(), Ordering::Relaxed);
            return Err(e);
        }
        out.push((i, build(service, &servers)));
    }
    Ok(())
}

/// The servers of `service` into `servers`, in the kernel's order (`dests`: the replies'
/// buffer, reused).
fn read_servers_of(
    session: &mut Session,
    service: &Service,
    dests: &mut Replies,
    servers: &mut Vec<Server>,
) -> Result<(), KernelError> {
    let doing = || format!("list the real servers of service {}", service.key);
    session
        .dump_into(packet::get_dests(&service.key), dests)
        .map_err(|f| f.into_read_error(&doing()))?;
    let family = service.key.family();
    servers.clear();
    for dest in dests.iter() {
        let server = packet::read_dest_reply(dest, family)
            .map_err(|e| Failure::decode(e).into_read_error(&doing()))?;
        servers.push(server);
    }
    Ok(())
}

/// The dump order [`NetlinkKernel::read_ordered`] returns, as
/// [`crate::legacy::ipvsadm_save_ordered`] takes it.
pub fn dumped_services(ordered: &[(Service, Vec<Server>)]) -> Vec<DumpedService<'_>> {
    ordered
        .iter()
        .map(|(service, servers)| DumpedService {
            service,
            servers: servers.iter().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
