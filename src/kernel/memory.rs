//! An in-memory IPVS table that enforces the kernel's rules and answers with the kernel's errno,
//! so that plans and appliers can be tested fast, without a VM. The VM's differential test
//! keeps it honest against the real kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::{Kernel, KernelError, Load, Loads, Op};
use crate::model::*;

/// The sysctl values of a fresh network namespace (Debian's 6.1 kernel).
pub const SYSCTL_DEFAULTS: &[(Sysctl, SysctlValue)] = &[
    (Sysctl::DropEntry, SysctlValue::Defense(DefenseMode::Off)),
    (Sysctl::DropPacket, SysctlValue::Defense(DefenseMode::Off)),
    (Sysctl::SecureTcp, SysctlValue::Defense(DefenseMode::Off)),
    (Sysctl::Amemthresh, SysctlValue::Int(1024)),
    (Sysctl::AmDroprate, SysctlValue::Int(10)),
    (Sysctl::ExpireNodestConn, SysctlValue::Int(0)),
    (Sysctl::ExpireQuiescentTemplate, SysctlValue::Int(0)),
    (Sysctl::ConnReuseMode, SysctlValue::Int(1)),
    (Sysctl::SloppyTcp, SysctlValue::Int(0)),
    (Sysctl::SloppySctp, SysctlValue::Int(0)),
    (Sysctl::ScheduleIcmp, SysctlValue::Int(0)),
    (Sysctl::IgnoreTunneled, SysctlValue::Int(0)),
    (Sysctl::Conntrack, SysctlValue::Int(0)),
    (Sysctl::SnatReroute, SysctlValue::Int(1)),
    (Sysctl::CacheBypass, SysctlValue::Int(0)),
    (Sysctl::NatIcmpSend, SysctlValue::Int(0)),
    (Sysctl::PmtuDisc, SysctlValue::Int(1)),
    (Sysctl::BackupOnly, SysctlValue::Int(0)),
    (Sysctl::SyncVersion, SysctlValue::Int(1)),
    (Sysctl::SyncThreshold, SysctlValue::Pair(3, 50)),
    (Sysctl::SyncRefreshPeriod, SysctlValue::Int(0)),
    (Sysctl::SyncRetries, SysctlValue::Int(0)),
    (Sysctl::SyncPersistMode, SysctlValue::Int(0)),
    (Sysctl::SyncSockSize, SysctlValue::Int(0)),
    (Sysctl::SyncPorts, SysctlValue::Int(1)),
    (Sysctl::RunEstimation, SysctlValue::Int(1)),
];

/// The kernel's table, in memory.
#[derive(Clone, Debug)]
pub struct MemoryKernel {
    table: Table,
    /// Schedulers whose modules the kernel can load.
    schedulers: BTreeSet<Scheduler>,
    /// Network interfaces a sync daemon can use, with their MTU.
    interfaces: BTreeMap<String, u32>,
    /// Connections held by servers, as tests set them; a server not listed has none.
    loads: Loads,
}

impl Default for MemoryKernel {
    fn default() -> MemoryKernel {
        MemoryKernel::new()
    }
}

impl MemoryKernel {
    /// A fresh namespace: no services, the default timeouts and sysctls, every scheduler, and
    /// the interfaces `lo` and `eth0`.
    pub fn new() -> MemoryKernel {
        MemoryKernel {
            table: Table {
                timeouts: Timeouts::KERNEL_DEFAULT,
                sysctls: SYSCTL_DEFAULTS.iter().copied().collect(),
                ..Table::default()
            },
            schedulers: Scheduler::ALL.into_iter().collect(),
            interfaces: [("lo".to_string(), 65536), ("eth0".to_string(), 1500)].into(),
            loads: Loads::new(),
        }
    }

    /// Server `server` of `service` now holds these connections (a test's clients).
    pub fn set_load(&mut self, service: ServiceKey, server: ServerKey, load: Load) {
        self.loads.insert((service, server), load);
    }

    /// Only these schedulers load (a kernel without, say, `ip_vs_twos`).
    pub fn with_schedulers(mut self, schedulers: &[Scheduler]) -> MemoryKernel {
        self.schedulers = schedulers.iter().copied().collect();
        self
    }

    /// Only these interfaces exist, with these MTUs.
    pub fn with_interfaces(mut self, interfaces: &[(&str, u32)]) -> MemoryKernel {
        self.interfaces = interfaces
            .iter()
            .map(|(n, m)| (n.to_string(), *m))
            .collect();
        self
    }

    /// The table as it is now.
    pub fn table(&self) -> &Table {
        &self.table
    }

    fn check_service(&self, s: &Service) -> Result<(), i32> {
        if !self.schedulers.contains(&s.scheduler) {
            return Err(libc::ENOENT);
        }
        if s.pe.as_deref().is_some_and(|pe| pe != "sip") {
            return Err(libc::ENOENT);
        }
        match (s.key.family(), s.netmask) {
            (Family::Ipv6, Netmask::Ipv6(p)) if !(1..=128).contains(&p) => Err(libc::EINVAL),
            (Family::Ipv4, Netmask::Ipv6(_)) | (Family::Ipv6, Netmask::Ipv4(_)) => {
                Err(libc::EINVAL)
            }
            _ => Ok(()),
        }
    }

    /// The kernel's checks of a server, in the kernel's order: the address family when the
    /// request is parsed, then ip_vs_add_dest's ranges, then the address and tunnel.
    fn check_server(&self, service: &Service, server: &Server) -> Result<(), i32> {
        let tunneled = matches!(server.forward, Forward::Tunnel(_));
        let mixed = Family::of(&server.key.addr) != service.key.family();
        if mixed && (!tunneled || !self.table.daemons.is_empty()) {
            return Err(libc::EINVAL);
        }
        if server.weight > i32::MAX as u32 || server.lower > server.upper {
            return Err(libc::ERANGE);
        }
        if !unicast(&server.key.addr) {
            return Err(libc::EINVAL);
        }
        if let Forward::Tunnel(Tunnel::Gue { port: 0, .. }) = server.forward {
            return Err(libc::EINVAL);
        }
        Ok(())
    }

    fn apply_op(&mut self, op: &Op) -> Result<(), i32> {
        match op {
            Op::AddService(s) => {
                if self.table.services.contains_key(&s.key) {
                    return Err(libc::EEXIST);
                }
                self.check_service(s)?;
                let mut s = s.clone();
                s.servers.clear();
                self.table.services.insert(s.key, *s);
            }
            Op::EditService(s) => {
                if !self.table.services.contains_key(&s.key) {
                    return Err(libc::ESRCH);
                }
                self.check_service(s)?;
                let old = self.table.services.get_mut(&s.key).expect("checked");
                let servers = std::mem::take(&mut old.servers);
                *old = Service {
                    servers,
                    ..s.as_ref().clone()
                };
            }
            Op::DeleteService(k) => {
                self.table.services.remove(k).ok_or(libc::ESRCH)?;
            }
            Op::AddServer(k, server) | Op::EditServer(k, server) => {
                let service = self.table.services.get(k).ok_or(libc::ESRCH)?;
                self.check_server(service, server)?;
                let exists = service.servers.contains_key(&server.key);
                match (op, exists) {
                    (Op::AddServer(..), true) => return Err(libc::EEXIST),
                    (Op::EditServer(..), false) => return Err(libc::ENOENT),
                    _ => {}
                }
                let service = self.table.services.get_mut(k).expect("checked");
                service.servers.insert(server.key, *server);
            }
            Op::DeleteServer(k, key) => {
                let service = self.table.services.get_mut(k).ok_or(libc::ESRCH)?;
                service.servers.remove(key).ok_or(libc::ENOENT)?;
            }
            Op::SetTimeouts(t) => self.table.timeouts.set(*t),
            Op::StartDaemon(d) => {
                if self.table.daemons.contains_key(&d.state) {
                    return Err(libc::EEXIST);
                }
                if d.group.is_some_and(|g| !g.is_multicast()) {
                    return Err(libc::EINVAL);
                }
                let Some(mtu) = self.interfaces.get(&d.interface) else {
                    return Err(libc::ENODEV);
                };
                let mixed = self.table.services.values().any(|s| {
                    s.servers
                        .keys()
                        .any(|k| Family::of(&k.addr) != s.key.family())
                });
                if mixed {
                    return Err(libc::EINVAL);
                }
                // What the kernel fills in for options left out (ip_vs_sync.c).
                let daemon = Daemon {
                    maxlen: Some(
                        d.maxlen
                            .map_or(d.default_maxlen(*mtu), |v| d.kernel_maxlen(v)),
                    ),
                    group: d.group.or(Some(IpAddr::V4(DEFAULT_GROUP))),
                    port: d.port.or(Some(8848)),
                    ttl: d.ttl.or(Some(1)),
                    ..d.clone()
                };
                self.table.daemons.insert(d.state, daemon);
            }
            Op::StopDaemon(state) => {
                self.table.daemons.remove(state).ok_or(libc::ESRCH)?;
            }
            Op::SetSysctl(sysctl, value) => {
                if !valid_sysctl(*sysctl, value) {
                    return Err(libc::EINVAL);
                }
                self.table.sysctls.insert(*sysctl, *value);
            }
            Op::Zero(Some(k)) => {
                self.table.services.get(k).ok_or(libc::ESRCH)?;
            }
            Op::Zero(None) => {}
            Op::Flush => self.table.services.clear(),
        }
        Ok(())
    }
}

/// The sync daemons' multicast group when none is given.
pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);

fn unicast(addr: &IpAddr) -> bool {
    crate::check::values::is_unicast(addr)
}

fn valid_sysctl(sysctl: Sysctl, value: &SysctlValue) -> bool {
    if sysctl.refusal(value).is_some() {
        return false;
    }
    match (sysctl.kind(), value) {
        (SysctlKind::Defense, SysctlValue::Defense(_)) => true,
        (SysctlKind::Switch, SysctlValue::Int(v)) => *v == 0 || *v == 1,
        (SysctlKind::Int { min, max }, SysctlValue::Int(v)) => (min..=max).contains(v),
        (SysctlKind::Pair, SysctlValue::Pair(a, b)) => *a >= 0 && *b >= 0,
        _ => false,
    }
}

impl Kernel for MemoryKernel {
    fn read(&mut self) -> Result<Table, KernelError> {
        Ok(self.table.clone())
    }

    fn apply(&mut self, op: &Op) -> Result<(), KernelError> {
        self.apply_op(op)
            .map_err(|errno| KernelError::refused(op, errno))?;
        // A deleted server's connections go with it (as far as its counters tell).
        let table = &self.table;
        self.loads.retain(|(service, server), _| {
            table
                .services
                .get(service)
                .is_some_and(|s| s.servers.contains_key(server))
        });
        Ok(())
    }

    fn loads(&mut self, services: &[ServiceKey]) -> Result<Loads, KernelError> {
        let mut out = Loads::new();
        for key in services {
            if let Some(service) = self.table.services.get(key) {
                for server in service.servers.keys() {
                    let load = self.loads.get(&(*key, *server)).copied();
                    out.insert((*key, *server), load.unwrap_or_default());
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port,
        }
    }

    fn server(addr: &str) -> Server {
        Server::new(ServerKey {
            addr: addr.parse().unwrap(),
            port: 80,
        })
    }

    fn errno(k: &mut MemoryKernel, op: Op) -> i32 {
        k.apply(&op).err().map_or(0, |e| e.errno().unwrap_or(0))
    }

    #[test]
    fn refuses_what_the_kernel_refuses() {
        let mut k = MemoryKernel::new().with_schedulers(&[Scheduler::Wlc, Scheduler::Rr]);
        let svc = Service::new(key(80));
        assert_eq!(errno(&mut k, Op::AddService(Box::new(svc.clone()))), 0);
        assert_eq!(
            errno(&mut k, Op::AddService(Box::new(svc.clone()))),
            libc::EEXIST
        );
        let twos = Service {
            scheduler: Scheduler::Twos,
            ..svc.clone()
        };
        assert_eq!(errno(&mut k, Op::EditService(Box::new(twos))), libc::ENOENT);
        assert_eq!(errno(&mut k, Op::DeleteService(key(81))), libc::ESRCH);
        assert_eq!(
            errno(&mut k, Op::AddServer(key(81), server("10.0.0.2"))),
            libc::ESRCH
        );
        assert_eq!(errno(&mut k, Op::AddServer(key(80), server("10.0.0.2"))), 0);
        assert_eq!(
            errno(&mut k, Op::AddServer(key(80), server("10.0.0.2"))),
            libc::EEXIST
        );
        assert_eq!(
            errno(&mut k, Op::EditServer(key(80), server("10.0.0.3"))),
            libc::ENOENT
        );
        let lower = Server {
            lower: 5,
            ..server("10.0.0.2")
        };
        assert_eq!(errno(&mut k, Op::EditServer(key(80), lower)), libc::ERANGE);
        assert_eq!(
            errno(&mut k, Op::AddServer(key(80), server("2001:db8::1"))),
            libc::EINVAL
        );
        assert_eq!(
            errno(&mut k, Op::AddServer(key(80), server("224.0.0.1"))),
            libc::EINVAL
        );
        assert_eq!(
            errno(&mut k, Op::StopDaemon(DaemonState::Master)),
            libc::ESRCH
        );
        assert_eq!(k.table().server_count(), 1);
    }

    #[test]
    fn a_daemon_and_mixed_families_exclude_each_other() {
        let mut k = MemoryKernel::new();
        k.apply(&Op::AddService(Box::new(Service::new(key(80)))))
            .unwrap();
        let tunneled = Server {
            forward: Forward::Tunnel(Tunnel::Ipip),
            ..server("2001:db8::1")
        };
        k.apply(&Op::AddServer(key(80), tunneled)).unwrap();
        let daemon = Daemon {
            state: DaemonState::Master,
            interface: "lo".into(),
            syncid: 0,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        };
        assert_eq!(errno(&mut k, Op::StartDaemon(daemon.clone())), libc::EINVAL);
        k.apply(&Op::DeleteServer(key(80), tunneled.key)).unwrap();
        assert_eq!(errno(&mut k, Op::StartDaemon(daemon.clone())), 0);
        assert_eq!(
            errno(&mut k, Op::AddServer(key(80), tunneled)),
            libc::EINVAL
        );
    }

    #[test]
    fn refuses_the_sync_sysctls_the_kernel_refuses() {
        let mut k = MemoryKernel::new();
        let set = |s, v| Op::SetSysctl(s, v);
        let pair = |a, b| SysctlValue::Pair(a, b);
        assert_eq!(
            errno(&mut k, set(Sysctl::SyncThreshold, pair(50, 3))),
            libc::EINVAL
        );
        assert_eq!(
            errno(&mut k, set(Sysctl::SyncThreshold, pair(3, 3))),
            libc::EINVAL
        );
        assert_eq!(errno(&mut k, set(Sysctl::SyncThreshold, pair(3, 0))), 0);
        assert_eq!(errno(&mut k, set(Sysctl::SyncThreshold, pair(3, 50))), 0);
        assert_eq!(
            errno(&mut k, set(Sysctl::SyncPorts, SysctlValue::Int(3))),
            libc::EINVAL
        );
        assert_eq!(
            errno(&mut k, set(Sysctl::SyncPorts, SysctlValue::Int(4))),
            0
        );
    }

    #[test]
    fn zero_timeouts_leave_the_value() {
        let mut k = MemoryKernel::new();
        let t = Timeouts {
            tcp: Some(60),
            tcpfin: Some(0),
            udp: None,
        };
        k.apply(&Op::SetTimeouts(t)).unwrap();
        assert_eq!(
            k.table().timeouts,
            Timeouts {
                tcp: Some(60),
                ..Timeouts::KERNEL_DEFAULT
            }
        );
    }
}
