//! The kernel's IPVS table behind one trait, with two implementations: generic netlink to the
//! real kernel, and an in-memory model of the kernel's rules (proven faithful by the VM tests).

pub mod error;
pub mod memory;
pub mod op;

pub use error::KernelError;
pub use memory::MemoryKernel;
pub use op::Op;

use crate::model::Table;

/// An IPVS table that can be read whole and changed one operation at a time.
pub trait Kernel {
    /// The whole state: services with their servers, timeouts, sync daemons and the sysctls
    /// the language covers (`ipvsadm -S` plus what it loses).
    fn read(&mut self) -> Result<Table, KernelError>;

    /// One operation, as the kernel performs it: all or nothing.
    fn apply(&mut self, op: &Op) -> Result<(), KernelError>;
}
