use std::collections::BTreeMap;

use super::{Protocol, ServiceKey};

/// The deadline of a drain nobody configured: 15 minutes, the kernel's own idle timeout of an
/// established TCP connection.
pub const DEFAULT_DRAIN: u32 = 900;

/// How a real server leaves the table: `drain DURATION` (weight 0 at once, deleted when its
/// connections are gone or at the deadline) or `drain off` (deleted at once, like `ipvsadm -d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drain {
    Off,
    /// The longest wait, in seconds.
    For(u32),
}

impl Drain {
    /// What a service gets when neither it nor the file says: UDP servers are deleted at once,
    /// since steady UDP traffic never lets a server's entries reach zero (kube-proxy learned
    /// this, kubernetes#77802); TCP, SCTP and firewall marks drain for [`DEFAULT_DRAIN`].
    pub fn default_for(key: &ServiceKey) -> Drain {
        match key.protocol() {
            Some(Protocol::Udp) => Drain::Off,
            _ => Drain::For(DEFAULT_DRAIN),
        }
    }

    pub fn deadline(self) -> Option<u32> {
        match self {
            Drain::Off => None,
            Drain::For(secs) => Some(secs),
        }
    }
}

/// How the servers of each service leave: the file's `drain` statements (or a command-line
/// default), not part of the kernel's table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainPolicy {
    /// The file-wide `drain`, for services that do not say.
    pub default: Option<Drain>,
    /// A service's own `drain`.
    pub services: BTreeMap<ServiceKey, Drain>,
}

impl DrainPolicy {
    /// Every server leaves at once (`recover`, rollbacks, tests of the bare diff).
    pub fn off() -> DrainPolicy {
        DrainPolicy {
            default: Some(Drain::Off),
            services: BTreeMap::new(),
        }
    }

    /// How a server of `key` leaves.
    pub fn of(&self, key: &ServiceKey) -> Drain {
        self.services
            .get(key)
            .copied()
            .or(self.default)
            .unwrap_or_else(|| Drain::default_for(key))
    }
}
