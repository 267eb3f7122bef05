use std::fmt;

use crate::model::{
    Daemon, DaemonState, Server, ServerKey, Service, ServiceKey, Sysctl, SysctlValue, Timeouts,
};

/// One change to the kernel's table; each is one netlink request (or one sysctl write).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `ipvsadm -A`; the service's servers are not part of it. Boxed, as `EditService`: a
    /// service is larger than the rest, and a plan holds an operation per server.
    AddService(Box<Service>),
    /// `ipvsadm -E`: new settings for an existing service.
    EditService(Box<Service>),
    /// `ipvsadm -D`: the service and its servers.
    DeleteService(ServiceKey),
    /// `ipvsadm -a`
    AddServer(ServiceKey, Server),
    /// `ipvsadm -e`
    EditServer(ServiceKey, Server),
    /// `ipvsadm -d`
    DeleteServer(ServiceKey, ServerKey),
    /// `ipvsadm --set`; `None` leaves a timeout as it is.
    SetTimeouts(Timeouts),
    /// `ipvsadm --start-daemon`
    StartDaemon(Daemon),
    /// `ipvsadm --stop-daemon`
    StopDaemon(DaemonState),
    /// A write to `/proc/sys/net/ipv4/vs/NAME`.
    SetSysctl(Sysctl, SysctlValue),
    /// `ipvsadm -Z [SERVICE]`: reset counters.
    Zero(Option<ServiceKey>),
    /// `ipvsadm -C`: delete every service.
    Flush,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Op::AddService(s) => write!(f, "add service {}", s.key),
            Op::EditService(s) => write!(f, "change service {}", s.key),
            Op::DeleteService(k) => write!(f, "delete service {k}"),
            Op::AddServer(k, s) => write!(f, "add server {} to service {k}", s.key),
            Op::EditServer(k, s) => write!(f, "change server {} of service {k}", s.key),
            Op::DeleteServer(k, s) => write!(f, "delete server {s} of service {k}"),
            Op::SetTimeouts(_) => write!(f, "set timeouts"),
            Op::StartDaemon(d) => write!(f, "start the {} sync daemon", d.state),
            Op::StopDaemon(s) => write!(f, "stop the {s} sync daemon"),
            Op::SetSysctl(s, v) => write!(f, "set {s} to {}", v.display(*s)),
            Op::Zero(Some(k)) => write!(f, "zero the counters of service {k}"),
            Op::Zero(None) => write!(f, "zero all counters"),
            Op::Flush => write!(f, "delete every service"),
        }
    }
}
