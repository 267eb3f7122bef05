use std::fmt;
use std::net::IpAddr;

/// Which side of connection synchronisation a daemon runs (`--start-daemon master|backup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

impl Daemon {
    /// The IP and UDP headers a sync message travels under: those of the group's family.
    fn headers(&self) -> u16 {
        match self.group {
            Some(IpAddr::V6(_)) => 40 + 8,
            _ => 20 + 8,
        }
    }

    /// The message length the kernel keeps when the daemon asks for `maxlen` (ip_vs_sync.c,
    /// `start_sync_thread`): at least 1024 for a backup (1 for a master), at most what one UDP
    /// datagram of the group's family holds.
    pub fn kernel_maxlen(&self, maxlen: u16) -> u16 {
        let min = match self.state {
            DaemonState::Backup => 1024,
            DaemonState::Master => 1,
        };
        maxlen.clamp(min, 65535 - self.headers())
    }

    /// The message length the kernel picks when none is asked, on an interface of MTU `mtu`:
    /// for a master 1500 less the headers, whatever the MTU; for a backup the MTU (taken as 1500
    /// to 65535) less the headers.
    pub fn default_maxlen(&self, mtu: u32) -> u16 {
        let mtu = match self.state {
            DaemonState::Backup => mtu.clamp(1500, 65535) as u16,
            DaemonState::Master => 1500,
        };
        mtu - self.headers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(state: DaemonState, group: Option<&str>) -> Daemon {
        Daemon {
            state,
            interface: "lo".into(),
            syncid: 0,
            maxlen: None,
            group: group.map(|g| g.parse().unwrap()),
            port: None,
            ttl: None,
        }
    }

    #[test]
    fn the_kernel_s_maxlen_defaults_and_clamps() {
        let master = daemon(DaemonState::Master, None);
        let backup = daemon(DaemonState::Backup, None);
        let master6 = daemon(DaemonState::Master, Some("ff02::81"));
        // A master: 1500 less the headers, whatever the MTU.
        assert_eq!(master.default_maxlen(65536), 1472);
        assert_eq!(master.default_maxlen(9000), 1472);
        assert_eq!(master6.default_maxlen(65536), 1452);
        // A backup: the MTU, between 1500 and 65535, less the headers.
        assert_eq!(backup.default_maxlen(65536), 65507);
        assert_eq!(backup.default_maxlen(1400), 1472);
        assert_eq!(backup.default_maxlen(9000), 8972);
        // Asked for: at least 1024 for a backup, at most one datagram.
        assert_eq!(backup.kernel_maxlen(100), 1024);
        assert_eq!(master.kernel_maxlen(100), 100);
        assert_eq!(master.kernel_maxlen(65535), 65507);
        assert_eq!(master6.kernel_maxlen(65535), 65487);
    }
}
