//! The validated IPVS table: what `ipvsadm -S` describes, plus what it loses (thresholds,
//! timeouts, sync daemons, sysctls). Both front ends (the language and legacy dumps) produce it;
//! the planner diffs two of them; the kernel layer reads it.

mod daemon;
mod drain;
pub mod language;
mod scheduler;
mod server;
mod service;
mod small_map;
mod sysctl;
mod table;

pub use daemon::{Daemon, DaemonState};
pub use drain::{Drain, DrainPolicy, DEFAULT_DRAIN};
pub use scheduler::{SchedFlags, Scheduler};
pub use server::{Checksum, Forward, Server, ServerKey, Tunnel};
pub use service::{Family, Netmask, Protocol, Service, ServiceKey};
pub use small_map::SmallMap;
pub use sysctl::{is_defense, DefenseMode, Sysctl, SysctlKind, SysctlValue};
pub use table::{DumpedService, Table, Timeouts};

/// The largest persistence timeout and `--set` timeout ipvsadm accepts (31 days, in seconds).
pub const MAX_TIMEOUT: u32 = 2_678_400;
/// The persistence timeout `ipvsadm -p` uses when given no value (seen on a real kernel).
pub const DEFAULT_PERSISTENCE: u32 = 360;
/// The largest weight ipvsadm accepts.
pub const MAX_WEIGHT: u32 = 65_535;
