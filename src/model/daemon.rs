use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Which side of connection synchronisation a daemon runs (`--start-daemon master|backup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn name(self) -> &'static str {
        match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        }
    }

    /// IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP.
    pub fn kernel_value(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection synchronisation daemon (`ipvsadm --start-daemon`). Unset options take the
/// kernel's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daemon {
    pub state: DaemonState,
    /// `--mcast-interface`
    pub interface: String,
    /// `--syncid`, 0..255
    pub syncid: u8,
    /// `--sync-maxlen`
    pub maxlen: Option<u16>,
    /// `--mcast-group`
    pub group: Option<IpAddr>,
    /// `--mcast-port`
    pub port: Option<u16>,
    /// `--mcast-ttl`
    pub ttl: Option<u8>,
}
