//! The kernel's IPVS table behind one trait, with two implementations: generic netlink to the
//! real kernel, and an in-memory model of the kernel's rules (proven faithful by the VM tests).
//!
//! One idea per file: [`Kernel`] and [`Op`] (`op.rs`) are what the layers above use;
//! [`KernelError`] (`error.rs`) says what went wrong. The real kernel is [`netlink`], built on
//! `session.rs` (requests in flight and their replies), `transport.rs` (how datagrams move),
//! `socket.rs` (the netlink socket, and the transport's only `unsafe`), `capture.rs` (a copy of
//! every datagram to a directory) and, with the `test-hooks` feature, `fault.rs`; the messages
//! themselves, without I/O, are [`packet`]. Besides netlink: [`sysctl`] (`/proc/sys/net/ipv4/vs`),
//! [`conns`] (`/proc/net/ip_vs_conn`) and [`host_defaults`]. The in-memory kernel is [`memory`].

mod capture;
pub mod conns;
pub mod error;
#[cfg(test)]
mod fake;
#[cfg(feature = "test-hooks")]
pub mod fault;
pub mod host_defaults;
pub mod memory;
pub mod netlink;
pub mod op;
pub mod packet;
mod session;
mod socket;
pub mod sysctl;
mod transport;

pub use error::{KernelError, Unavailable};
pub use memory::MemoryKernel;
pub use op::Op;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ServerKey, ServiceKey, Table};

/// What still holds a real server: its connection entries as the kernel counts them
/// (`ipvsadm -L -n` and `--persistent-conn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Load {
    /// ActiveConn: established connections.
    pub active: u32,
    /// InActConn: entries in any other state, closed ones in TIME_WAIT included.
    pub inactive: u32,
    /// PersistConn: persistence templates that send their clients back to the server.
    pub persistent: u32,
    /// Of `inactive`, the entries of connections that are over (TIME_WAIT, CLOSE): the kernel
    /// keeps a closed TCP connection for two minutes, but it carries nothing any more.
    pub closing: u32,
}

impl Load {
    /// The connections a drain waits for.
    pub fn left(&self) -> u32 {
        self.active + self.persistent + self.inactive.saturating_sub(self.closing)
    }
}

/// The load of each real server, by service.
pub type Loads = BTreeMap<(ServiceKey, ServerKey), Load>;

/// An IPVS table that can be read whole and changed one operation at a time.
pub trait Kernel {
    /// The whole state: services with their servers, timeouts, sync daemons and the sysctls
    /// the language covers (`ipvsadm -S` plus what it loses).
    fn read(&mut self) -> Result<Table, KernelError>;

    /// One operation, as the kernel performs it: all or nothing.
    fn apply(&mut self, op: &Op) -> Result<(), KernelError>;

    /// [`Kernel::read`], of the services `keys` only (those the kernel has), with everything
    /// else the table holds besides services: what confirms a change without reading every
    /// service's servers.
    fn read_services(&mut self, keys: &[ServiceKey]) -> Result<Table, KernelError> {
        let mut table = self.read()?;
        table.services.retain(|k, _| keys.contains(k));
        Ok(table)
    }

    /// The load of every real server of `services` (a service the kernel does not have has
    /// none).
    fn loads(&mut self, services: &[ServiceKey]) -> Result<Loads, KernelError>;

    /// Several operations in order, each on its own (a refused one does not stop the rest);
    /// one result per operation. The netlink kernel keeps many requests in flight.
    fn apply_batch(&mut self, ops: &[Op]) -> Vec<Result<(), KernelError>> {
        ops.iter().map(|op| self.apply(op)).collect()
    }
}

/// Runs `ops` one by one and writes what happened: `ok` or the errno's name for each, then
/// `@@ table` and the final table as JSON. The differential test compares the transcripts of
/// the real kernel and the in-memory one.
pub fn transcript(kernel: &mut dyn Kernel, ops: &[Op]) -> String {
    let results: Vec<_> = ops.iter().map(|op| kernel.apply(op)).collect();
    transcript_of(kernel, results)
}

/// [`transcript`], with the operations handed to the kernel as one batch
/// ([`Kernel::apply_batch`]: over netlink, requests in flight together).
pub fn transcript_batch(kernel: &mut dyn Kernel, ops: &[Op]) -> String {
    let results = kernel.apply_batch(ops);
    transcript_of(kernel, results)
}

fn transcript_of(kernel: &mut dyn Kernel, results: Vec<Result<(), KernelError>>) -> String {
    let mut out = String::new();
    for result in results {
        match result {
            Ok(()) => out.push_str("ok\n"),
            Err(e) => {
                out.push_str(e.errno_name());
                out.push('\n');
            }
        }
    }
    out.push_str("@@ table\n");
    match kernel.read() {
        Ok(table) => out.push_str(
            &serde_json::to_string(&crate::wire::TableDoc::from(&table))
                .expect("a table serializes"),
        ),
        Err(e) => out.push_str(&format!("error: {e}")),
    }
    out.push('\n');
    out
}
