//! How a command ends: an exit status, or an error that `main` prints (the one place errors
//! are printed) and maps to its status (the one mapping). The statuses are documented in the
//! README and the man page; this is their only definition.

use std::fmt;

use crate::kernel::{KernelError, Unavailable};

/// The exit statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: success.
    Ok,
    /// 1: the input has errors (or, for `fmt --check`, is not formatted); a kernel operation
    /// outside a transaction was refused.
    Errors,
    /// 2: bad usage, or a file that cannot be read or written.
    Usage,
    /// 2 with `plan --detailed-exitcode`: the plan is not empty (Terraform's convention).
    Changes,
    /// 3: the kernel has no IPVS (the ip_vs module is not loaded and cannot be).
    NoIpvs,
    /// 4: not allowed to use IPVS (needs root or CAP_NET_ADMIN).
    NotPermitted,
    /// 5: the kernel refused an operation; everything done was undone.
    Refused,
    /// 6: the rollback itself failed; the journal stays for `ipvsc recover`.
    RollbackFailed,
    /// 7: an earlier apply was interrupted; run `ipvsc recover` first.
    Pending,
    /// 8: stopped by SIGINT or SIGTERM; everything done was undone.
    Interrupted,
    /// 9: stopped by SIGINT or SIGTERM while waiting for drains; the table is applied and the
    /// drains stay recorded for `ipvsc drain` or the next apply.
    DrainInterrupted,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Errors => 1,
            Exit::Usage | Exit::Changes => 2,
            Exit::NoIpvs => 3,
            Exit::NotPermitted => 4,
            Exit::Refused => 5,
            Exit::RollbackFailed => 6,
            Exit::Pending => 7,
            Exit::Interrupted => 8,
            Exit::DrainInterrupted => 9,
        }
    }
}

/// Why a command could not do its job.
#[derive(Debug)]
pub enum Error {
    /// Bad usage, or a file or directory that cannot be read or written.
    Usage(String),
    /// Input that names what is not there (a service, a server).
    Input(String),
    /// The kernel refused, or could not be reached.
    Kernel(KernelError),
    /// IPVS cannot be used at all.
    Unavailable(Unavailable),
    /// An earlier apply was interrupted.
    Pending(String),
    /// Stopped by a signal while waiting for drains, the table applied.
    DrainInterrupted(String),
    /// Said in full where it happened (diagnostics, a transaction's report): only the status
    /// is left to give.
    Reported(Exit),
}

/// What a command gives `main`.
pub type Outcome = Result<Exit, Error>;

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Input(_) => Exit::Errors,
            Error::Kernel(e) => match Unavailable::of(e) {
                Some(why) => Error::Unavailable(why).exit(),
                None => Exit::Errors,
            },
            Error::Unavailable(Unavailable::NotLoaded) => Exit::NoIpvs,
            Error::Unavailable(Unavailable::NotPermitted) => Exit::NotPermitted,
            Error::Pending(_) => Exit::Pending,
            Error::DrainInterrupted(_) => Exit::DrainInterrupted,
            Error::Reported(exit) => *exit,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Input(m) | Error::Pending(m) | Error::DrainInterrupted(m) => {
                f.write_str(m)
            }
            Error::Kernel(e) => match Unavailable::of(e) {
                Some(why) => Error::Unavailable(why).fmt(f),
                None => e.fmt(f),
            },
            Error::Unavailable(why) => write!(f, "cannot use IPVS: {why}"),
            Error::Reported(_) => Ok(()),
        }
    }
}

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Error {
        Error::Kernel(e)
    }
}

/// Prints an error (nothing for one already reported) and gives its exit status.
pub fn report(e: &Error) -> Exit {
    if !matches!(e, Error::Reported(_)) {
        eprintln!("ipvsc: {e}");
    }
    e.exit()
}
