use std::collections::BTreeMap;

use super::{Daemon, DaemonState, Server, Service, ServiceKey, Sysctl, SysctlValue};

/// The connection timeouts (`ipvsadm --set TCP TCPFIN UDP`), in seconds; `None` leaves the
/// kernel's value alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

impl Timeouts {
    /// The kernel's defaults: 900, 120 and 300 seconds.
    pub const KERNEL_DEFAULT: Timeouts = Timeouts {
        tcp: Some(900),
        tcpfin: Some(120),
        udp: Some(300),
    };

    pub fn is_empty(&self) -> bool {
        self.tcp.is_none() && self.tcpfin.is_none() && self.udp.is_none()
    }

    /// The timeouts after the kernel takes `new` (`ipvsadm --set`): a value left out, or 0,
    /// keeps the one there.
    pub fn set(&mut self, new: Timeouts) {
        for (slot, new) in [
            (&mut self.tcp, new.tcp),
            (&mut self.tcpfin, new.tcpfin),
            (&mut self.udp, new.udp),
        ] {
            if let Some(v) = new.filter(|v| *v != 0) {
                *slot = Some(v);
            }
        }
    }
}

/// The whole IPVS state of a network namespace, or the part of it a file declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub services: BTreeMap<ServiceKey, Service>,
    pub timeouts: Timeouts,
    pub daemons: BTreeMap<DaemonState, Daemon>,
    pub sysctls: BTreeMap<Sysctl, SysctlValue>,
}

impl Table {
    pub fn server_count(&self) -> usize {
        self.services.values().map(|s| s.servers.len()).sum()
    }

    /// Everything but the services (timeouts, daemons, sysctls), copied.
    pub fn without_services(&self) -> Table {
        Table {
            services: BTreeMap::new(),
            timeouts: self.timeouts,
            daemons: self.daemons.clone(),
            sysctls: self.sysctls.clone(),
        }
    }
}

/// A service and its servers in the order the kernel's dumps listed them (GET_SERVICE, then
/// GET_DEST for the service). That order is the input of ipvsadm's sort, and with a comparator
/// that is not a total order (addresses spread over more than half the 32-bit space) the
/// output depends on it.
#[derive(Clone, Debug)]
pub struct DumpedService<'a> {
    pub service: &'a Service,
    pub servers: Vec<&'a Server>,
}

impl<'a> DumpedService<'a> {
    /// The service with its servers in the table's (address, port) order.
    pub fn in_table_order(service: &'a Service) -> DumpedService<'a> {
        DumpedService {
            service,
            servers: service.servers.values().collect(),
        }
    }
}
