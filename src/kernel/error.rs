use std::fmt;

/// A refusal from the kernel (or the in-memory model of it), with the errno it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelError {
    /// The positive errno (EEXIST, ESRCH, ...), 0 where there is none.
    pub errno: i32,
    /// What was being done: "add server 10.0.0.2:80 to service tcp 10.0.0.1:80".
    pub doing: String,
    /// Why, in words: the meaning of the errno for IPVS, or the kernel's extended-ack text.
    pub reason: String,
    /// Whether the kernel may have done it all the same: the socket failed or the answer was
    /// lost or unreadable, so only reading the table again tells.
    pub unknown: bool,
}

impl KernelError {
    pub fn new(errno: i32, doing: impl Into<String>, reason: impl Into<String>) -> KernelError {
        KernelError {
            errno,
            doing: doing.into(),
            reason: reason.into(),
            unknown: false,
        }
    }

    /// A request whose outcome is not known (see [`KernelError::unknown`]).
    pub fn outcome_unknown(
        errno: i32,
        doing: impl Into<String>,
        reason: impl Into<String>,
    ) -> KernelError {
        KernelError {
            unknown: true,
            ..KernelError::new(errno, doing, reason)
        }
    }

    /// The refusal of `op` with `errno`, explained the way ipvsadm users need it.
    pub fn refused(op: &super::Op, errno: i32) -> KernelError {
        KernelError::new(errno, op.to_string(), explain(op, errno))
    }

    /// The errno's name, for messages and tests: "EEXIST".
    pub fn errno_name(&self) -> &'static str {
        errno_name(self.errno)
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.unknown {
            write!(
                f,
                "cannot tell whether the kernel did {}: {}",
                self.doing, self.reason
            )
        } else {
            write!(f, "the kernel refused to {}: {}", self.doing, self.reason)
        }
    }
}

impl std::error::Error for KernelError {}

pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::ENOMEM => "ENOMEM",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::ERANGE => "ERANGE",
        libc::EBUSY => "EBUSY",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENODEV => "ENODEV",
        libc::EIO => "EIO",
        libc::EACCES => "EACCES",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        _ => "E?",
    }
}

/// What an errno means for an IPVS operation (ip_vs_ctl.c's reasons, in words).
fn explain(op: &super::Op, errno: i32) -> String {
    use super::Op::*;
    match (errno, op) {
        (libc::EEXIST, AddService(_)) => "the service already exists".into(),
        (libc::EEXIST, AddServer(..)) => "the server already exists in this service".into(),
        (libc::EEXIST, StartDaemon(_)) => "that sync daemon is already running".into(),
        (libc::ESRCH, StopDaemon(_)) => "that sync daemon is not running".into(),
        (libc::ESRCH, _) => "no such service".into(),
        (libc::ENODEV, _) => "no such network interface".into(),
        (libc::ENOENT, EditServer(..) | DeleteServer(..)) => {
            "no such server in this service".into()
        }
        (libc::ENOENT, AddService(_) | EditService(_)) => {
            "the scheduler or persistence engine is not available (no kernel module for it)".into()
        }
        (libc::ERANGE, _) => {
            "a weight is negative or the lower threshold is above the upper threshold".into()
        }
        (libc::EINVAL, AddServer(..) | EditServer(..)) => "invalid server: the address is not \
            unicast or has no route on this host, another address family than the service \
            without tunneling (or while a sync daemon runs), or a GUE tunnel without a port"
            .into(),
        (libc::EINVAL, StartDaemon(_)) => "invalid sync daemon: no such interface, a multicast \
            group that is not multicast, or servers of mixed address families"
            .into(),
        (libc::EINVAL, _) => "invalid or missing settings".into(),
        (libc::EPERM, _) => "permission denied: changing IPVS needs root (CAP_NET_ADMIN)".into(),
        (libc::ENOMEM, _) => "the kernel is out of memory".into(),
        (e, _) => std::io::Error::from_raw_os_error(e).to_string(),
    }
}
