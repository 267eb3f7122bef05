use std::fmt;

/// What went wrong in the kernel layer, as data: each variant says what happened, and only
/// [`KernelError::Refused`] reads "the kernel refused to …".
///
/// Every variant carries `doing`, what was being done ("add server 10.0.0.2:80 to service tcp
/// 10.0.0.1:80", "list the virtual services", "read /proc/net/ip_vs_conn"), and `reason`, why
/// it failed, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// The kernel (or the in-memory model of it) answered with an errno: it did not do it.
    #[error("the kernel refused to {doing}: {reason}")]
    Refused {
        /// The positive errno (EEXIST, ESRCH, ...).
        errno: i32,
        doing: String,
        /// The meaning of the errno for IPVS, and the kernel's extended-ack text if it sent one.
        reason: String,
    },
    /// The request went out, but its answer was lost or unreadable (the socket failed part
    /// way, the replies overflowed the receive buffer): the kernel may have done it all the
    /// same, and only reading the table again tells.
    #[error("cannot tell whether the kernel did {doing}: {reason}")]
    OutcomeUnknown {
        errno: Option<i32>,
        doing: String,
        reason: String,
    },
    /// Talking to the kernel failed before anything could change: the netlink socket would
    /// not open, a read's send or receive failed, its reply could not be decoded, or a dump
    /// never came back consistent.
    #[error("cannot {doing}: {reason}")]
    Transport {
        errno: Option<i32>,
        doing: String,
        reason: String,
    },
    /// The kernel has no IPVS (the `ip_vs` module is not loaded and cannot be).
    #[error("cannot {doing}: {reason}")]
    Unsupported { doing: String, reason: String },
    /// Not allowed: EPERM from netlink, or EACCES/EPERM from a file under `/proc`. Every IPVS
    /// command, reads included, needs CAP_NET_ADMIN.
    #[error("not permitted to {doing}: {reason}")]
    NotPermitted {
        /// EPERM or EACCES.
        errno: i32,
        doing: String,
        reason: String,
    },
    /// A file could not be read or written: a file under `/proc`, the capture directory.
    #[error("cannot {doing}: {reason}")]
    Io {
        errno: Option<i32>,
        doing: String,
        reason: String,
    },
}

impl KernelError {
    /// The refusal of `op` with `errno`, explained the way ipvsadm users need it (EPERM and
    /// EACCES say the operation is not permitted).
    pub fn refused(op: &super::Op, errno: i32) -> KernelError {
        KernelError::refusal(errno, op.to_string(), explain(op, errno))
    }

    /// An answer of `errno` to `doing`: [`KernelError::NotPermitted`] for EPERM and EACCES,
    /// [`KernelError::Refused`] for any other.
    pub fn refusal(errno: i32, doing: impl Into<String>, reason: impl Into<String>) -> KernelError {
        let (doing, reason) = (doing.into(), reason.into());
        match errno {
            libc::EPERM | libc::EACCES => KernelError::NotPermitted {
                errno,
                doing,
                reason,
            },
            _ => KernelError::Refused {
                errno,
                doing,
                reason,
            },
        }
    }

    /// An I/O error of `doing`: [`KernelError::NotPermitted`] for a permission error,
    /// [`KernelError::Io`] for any other.
    pub fn io(doing: impl Into<String>, e: &std::io::Error) -> KernelError {
        match e.raw_os_error() {
            Some(errno @ (libc::EPERM | libc::EACCES)) => KernelError::NotPermitted {
                errno,
                doing: doing.into(),
                reason: e.to_string(),
            },
            errno => KernelError::Io {
                errno,
                doing: doing.into(),
                reason: e.to_string(),
            },
        }
    }

    /// Whether the kernel may have done it all the same: the request's answer was lost or
    /// unreadable, so only reading the table again tells.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, KernelError::OutcomeUnknown { .. })
    }

    /// The errno, where there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            KernelError::Refused { errno, .. } | KernelError::NotPermitted { errno, .. } => {
                Some(*errno)
            }
            KernelError::OutcomeUnknown { errno, .. }
            | KernelError::Transport { errno, .. }
            | KernelError::Io { errno, .. } => *errno,
            KernelError::Unsupported { .. } => None,
        }
    }

    /// What was being done.
    pub fn doing(&self) -> &str {
        match self {
            KernelError::Refused { doing, .. }
            | KernelError::OutcomeUnknown { doing, .. }
            | KernelError::Transport { doing, .. }
            | KernelError::Unsupported { doing, .. }
            | KernelError::NotPermitted { doing, .. }
            | KernelError::Io { doing, .. } => doing,
        }
    }

    /// Why it failed, in words.
    pub fn reason(&self) -> &str {
        match self {
            KernelError::Refused { reason, .. }
            | KernelError::OutcomeUnknown { reason, .. }
            | KernelError::Transport { reason, .. }
            | KernelError::Unsupported { reason, .. }
            | KernelError::NotPermitted { reason, .. }
            | KernelError::Io { reason, .. } => reason,
        }
    }

    /// The errno's name, for messages and tests: "EEXIST" ("E?" without one).
    pub fn errno_name(&self) -> &'static str {
        self.errno().map_or("E?", errno_name)
    }
}

/// Why IPVS cannot be used at all, as opposed to one failed operation: what the CLI reports
/// once instead of once per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// [`KernelError::NotPermitted`]: every IPVS command, reads included, needs CAP_NET_ADMIN.
    NotPermitted,
    /// [`KernelError::Unsupported`]: the kernel has no IPVS generic netlink family.
    NotLoaded,
}

impl Unavailable {
    /// Which of the two `err` is, if either.
    pub fn of(err: &KernelError) -> Option<Unavailable> {
        match err {
            KernelError::NotPermitted { .. } => Some(Unavailable::NotPermitted),
            KernelError::Unsupported { .. } => Some(Unavailable::NotLoaded),
            _ => None,
        }
    }

    /// What to tell the user.
    pub fn help(self) -> &'static str {
        match self {
            Unavailable::NotPermitted => "IPVS needs root / CAP_NET_ADMIN",
            Unavailable::NotLoaded => "the ip_vs module is not loaded: modprobe ip_vs",
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.help())
    }
}

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
pub(super) fn explain(op: &super::Op, errno: i32) -> String {
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
        (libc::EPERM, _) => "changing IPVS needs root (CAP_NET_ADMIN)".into(),
        (libc::ENOMEM, _) => "the kernel is out of memory".into(),
        (e, _) => std::io::Error::from_raw_os_error(e).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Op;

    #[test]
    fn only_a_refusal_says_the_kernel_refused() {
        let refused = KernelError::refused(&Op::Flush, libc::ENOMEM);
        assert_eq!(
            refused.to_string(),
            "the kernel refused to delete every service: the kernel is out of memory"
        );
        assert_eq!(refused.errno_name(), "ENOMEM");
        assert_eq!(Unavailable::of(&refused), None);
        let denied = KernelError::refused(&Op::Flush, libc::EPERM);
        assert_eq!(
            denied.to_string(),
            "not permitted to delete every service: changing IPVS needs root (CAP_NET_ADMIN)"
        );
        assert_eq!(Unavailable::of(&denied), Some(Unavailable::NotPermitted));
        let io = KernelError::io(
            "read /proc/net/ip_vs_conn",
            &std::io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(Unavailable::of(&io), Some(Unavailable::NotPermitted));
        let io = KernelError::io("read x", &std::io::Error::from_raw_os_error(libc::EIO));
        assert!(io.to_string().starts_with("cannot read x: "), "{io}");
        assert_eq!(io.errno(), Some(libc::EIO));
        assert!(!io.outcome_unknown());
    }
}
