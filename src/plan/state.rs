//! What ipvsc remembers about the kernel's table between runs, beyond the table itself: real
//! servers still draining after an apply removed them, and operators' runtime overrides. Kept
//! in the state directory as a versioned document, written only under the apply lock.

use crate::model::{Server, ServerKey, ServiceKey};

/// The state document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub drains: Vec<DrainRecord>,
    pub overrides: Vec<Override>,
}

/// A real server an apply removed from the file, left at weight 0 until its connections are
/// gone or its deadline passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrainRecord {
    pub service: ServiceKey,
    /// The server as the drain left it (weight 0): if the kernel's differs, someone else
    /// changed it, and the drain is dropped rather than forced.
    pub server: Server,
    /// The weight it had before the drain.
    pub weight: u32,
    /// Seconds since the epoch when the drain began.
    pub started: u64,
    /// Seconds since the epoch when it is deleted whatever its connections.
    pub deadline: u64,
    /// The service left the file too: it is deleted once its last server is.
    pub remove_service: bool,
}

impl DrainRecord {
    pub fn key(&self) -> (ServiceKey, ServerKey) {
        (self.service, self.server.key)
    }
}

/// What an operator set at runtime (`ipvsc disable`, `weight`), kept by every apply until
/// `ipvsc enable` clears it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub service: ServiceKey,
    pub server: ServerKey,
    /// The weight the server keeps; 0 for `disable`.
    pub weight: u32,
    /// The weight the file gives it (as of the last apply, or the kernel's when the override
    /// was set): what `enable` gives back.
    pub file_weight: u32,
    /// Seconds since the epoch when it was set.
    pub since: u64,
}

impl Override {
    pub fn key(&self) -> (ServiceKey, ServerKey) {
        (self.service, self.server)
    }

    /// `disabled` or `weight N`, as `ipvsc overrides` and `plan` show it.
    pub fn describe(&self) -> String {
        match self.weight {
            0 => "disabled (weight 0)".to_string(),
            w => format!("weight {w}"),
        }
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
