//! One builder per request ipvsc sends, each named after the ipvsadm command that sends the same.

use super::{
    daemon_to_attrs, server_key_to_attrs, server_to_attrs, service_key_to_attrs, service_to_attrs,
    timeouts_to_attrs, DaemonAttr, IpvsAttr, IpvsCmd, IpvsMessage,
};
use crate::kernel::Op;
use crate::model::{Daemon, DaemonState, Server, ServerKey, Service, ServiceKey, Timeouts};

/// The request that performs `op`; `None` for [`Op::SetSysctl`], which is a write to `/proc`.
pub fn request_for(op: &Op) -> Option<IpvsMessage> {
    Some(match op {
        Op::AddService(s) => new_service(s),
        Op::EditService(s) => set_service(s),
        Op::DeleteService(k) => del_service(k),
        Op::AddServer(k, s) => new_dest(k, s),
        Op::EditServer(k, s) => set_dest(k, s),
        Op::DeleteServer(k, s) => del_dest(k, s),
        Op::SetTimeouts(t) => set_config(t),
        Op::StartDaemon(d) => new_daemon(d),
        Op::StopDaemon(s) => del_daemon(*s),
        Op::SetSysctl(..) => return None,
        Op::Zero(k) => zero(k.as_ref()),
        Op::Flush => flush(),
    })
}

/// NEW_SERVICE, like `ipvsadm -A`. The service's servers are separate requests.
pub fn new_service(service: &Service) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::NewService,
        vec![IpvsAttr::Service(service_to_attrs(service))],
    )
}

/// SET_SERVICE, like `ipvsadm -E`.
pub fn set_service(service: &Service) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::SetService,
        vec![IpvsAttr::Service(service_to_attrs(service))],
    )
}

/// DEL_SERVICE, like `ipvsadm -D`; the kernel deletes the service's servers with it.
pub fn del_service(key: &ServiceKey) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::DelService,
        vec![IpvsAttr::Service(service_key_to_attrs(key))],
    )
}

/// NEW_DEST, like `ipvsadm -a`.
pub fn new_dest(service: &ServiceKey, server: &Server) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::NewDest,
        vec![
            IpvsAttr::Service(service_key_to_attrs(service)),
            IpvsAttr::Dest(server_to_attrs(server)),
        ],
    )
}

/// SET_DEST, like `ipvsadm -e`.
pub fn set_dest(service: &ServiceKey, server: &Server) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::SetDest,
        vec![
            IpvsAttr::Service(service_key_to_attrs(service)),
            IpvsAttr::Dest(server_to_attrs(server)),
        ],
    )
}

/// DEL_DEST, like `ipvsadm -d`.
pub fn del_dest(service: &ServiceKey, server: &ServerKey) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::DelDest,
        vec![
            IpvsAttr::Service(service_key_to_attrs(service)),
            IpvsAttr::Dest(server_key_to_attrs(server)),
        ],
    )
}

/// SET_CONFIG, like `ipvsadm --set TCP TCPFIN UDP`.
pub fn set_config(timeouts: &Timeouts) -> IpvsMessage {
    IpvsMessage::new(IpvsCmd::SetConfig, timeouts_to_attrs(timeouts))
}

/// NEW_DAEMON, like `ipvsadm --start-daemon STATE --mcast-interface IF --syncid N ...`.
pub fn new_daemon(daemon: &Daemon) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::NewDaemon,
        vec![IpvsAttr::Daemon(daemon_to_attrs(daemon))],
    )
}

/// DEL_DAEMON, like `ipvsadm --stop-daemon STATE`; the kernel needs only the state.
pub fn del_daemon(state: DaemonState) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::DelDaemon,
        vec![IpvsAttr::Daemon(vec![DaemonAttr::State(
            state.kernel_value(),
        )])],
    )
}

/// ZERO, like `ipvsadm -Z [-t|-u|-f SERVICE]`: the counters of one service, or of all.
pub fn zero(service: Option<&ServiceKey>) -> IpvsMessage {
    let attrs = service
        .map(|k| vec![IpvsAttr::Service(service_key_to_attrs(k))])
        .unwrap_or_default();
    IpvsMessage::new(IpvsCmd::Zero, attrs)
}

/// FLUSH, like `ipvsadm -C`.
pub fn flush() -> IpvsMessage {
    IpvsMessage::new(IpvsCmd::Flush, Vec::new())
}

/// GET_SERVICE as a dump, the services part of `ipvsadm -L -n` / `ipvsadm -S -n`.
pub fn get_services() -> IpvsMessage {
    IpvsMessage::new(IpvsCmd::GetService, Vec::new())
}

/// GET_DEST (a dump) for one service, the server lines of `ipvsadm -L -n -t|-u|-f SERVICE`.
/// An unknown service answers an empty dump, not an error.
pub fn get_dests(service: &ServiceKey) -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::GetDest,
        vec![IpvsAttr::Service(service_key_to_attrs(service))],
    )
}

/// GET_DAEMON (a dump), like `ipvsadm -L --daemon`.
pub fn get_daemons() -> IpvsMessage {
    IpvsMessage::new(IpvsCmd::GetDaemon, Vec::new())
}

/// GET_CONFIG, like `ipvsadm -L --timeout`; answered by SET_CONFIG.
pub fn get_config() -> IpvsMessage {
    IpvsMessage::new(IpvsCmd::GetConfig, Vec::new())
}

/// GET_INFO, the version line of `ipvsadm -L` ("IP Virtual Server version 1.2.1
/// (size=4096)"); answered by SET_INFO.
pub fn get_info() -> IpvsMessage {
    IpvsMessage::new(IpvsCmd::GetInfo, Vec::new())
}
