use std::fmt;
use std::str::FromStr;

/// A DoS defense mode of `drop_entry`, `drop_packet` and `secure_tcp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefenseMode {
    /// 0
    Off,
    /// 1 or 2: the kernel switches it on and off by free memory.
    Auto,
    /// 3
    Always,
}

impl DefenseMode {
    pub fn name(self) -> &'static str {
        match self {
            DefenseMode::Off => "off",
            DefenseMode::Auto => "auto",
            DefenseMode::Always => "always",
        }
    }

    /// The value to write; reading 2 (auto, currently active) also means `Auto`.
    pub fn kernel_value(self) -> i64 {
        match self {
            DefenseMode::Off => 0,
            DefenseMode::Auto => 1,
            DefenseMode::Always => 3,
        }
    }

    pub fn from_kernel_value(v: i64) -> Option<DefenseMode> {
        match v {
            0 => Some(DefenseMode::Off),
            1 | 2 => Some(DefenseMode::Auto),
            3 => Some(DefenseMode::Always),
            _ => None,
        }
    }
}

/// The shape of a sysctl's value, and the values the kernel accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysctlKind {
    /// off / auto / always
    Defense,
    /// 0 or 1, written `on`/`off` in the language
    Switch,
    /// An integer in `min..=max`
    Int { min: i64, max: i64 },
    /// Two integers, `sync_threshold`
    Pair,
}

macro_rules! sysctls {
    ($($variant:ident $name:literal $kind:expr, $doc:literal;)*) => {
        /// A setting under `/proc/sys/net/ipv4/vs/`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Sysctl { $($variant,)* }

        impl Sysctl {
            pub const ALL: &'static [Sysctl] = &[$(Sysctl::$variant,)*];

            /// The file name under `/proc/sys/net/ipv4/vs/`.
            pub fn name(self) -> &'static str {
                match self { $(Sysctl::$variant => $name,)* }
            }

            pub fn kind(self) -> SysctlKind {
                match self { $(Sysctl::$variant => $kind,)* }
            }

            /// One line on what the setting does.
            pub fn describe(self) -> &'static str {
                match self { $(Sysctl::$variant => $doc,)* }
            }
        }
    };
}

const INT_MAX: i64 = i32::MAX as i64;
const SWITCH: SysctlKind = SysctlKind::Switch;
const DEFENSE: SysctlKind = SysctlKind::Defense;
const fn int(min: i64, max: i64) -> SysctlKind {
    SysctlKind::Int { min, max }
}

sysctls! {
    DropEntry "drop_entry" DEFENSE, "randomly drop connection entries when memory is low (SYN-flood defense)";
    DropPacket "drop_packet" DEFENSE, "drop 1 of am_droprate packets when memory is low";
    SecureTcp "secure_tcp" DEFENSE, "use stricter TCP state timeouts when memory is low";
    Amemthresh "amemthresh" int(0, INT_MAX), "free memory, in pages, below which the defenses switch on";
    AmDroprate "am_droprate" int(0, INT_MAX), "drop rate of drop_packet in mode always (1 in N)";
    ExpireNodestConn "expire_nodest_conn" SWITCH, "expire connections at once when their server is removed";
    ExpireQuiescentTemplate "expire_quiescent_template" SWITCH, "expire persistence templates of servers with weight 0";
    ConnReuseMode "conn_reuse_mode" int(0, 3), "how a reused connection is rescheduled";
    SloppyTcp "sloppy_tcp" SWITCH, "create connection state for TCP packets other than SYN";
    SloppySctp "sloppy_sctp" SWITCH, "create connection state for SCTP packets other than INIT";
    ScheduleIcmp "schedule_icmp" SWITCH, "schedule ICMP packets that have no connection";
    IgnoreTunneled "ignore_tunneled" SWITCH, "leave IPIP/GRE packets to other handlers";
    Conntrack "conntrack" SWITCH, "keep netfilter connection tracking entries for IPVS connections";
    SnatReroute "snat_reroute" SWITCH, "reroute replies of NAT connections by their source address";
    CacheBypass "cache_bypass" SWITCH, "forward packets for unavailable services straight to their destination";
    NatIcmpSend "nat_icmp_send" SWITCH, "send ICMP errors for NAT packets that have no connection";
    PmtuDisc "pmtu_disc" SWITCH, "send ICMP fragmentation-needed for tunneled packets";
    BackupOnly "backup_only" SWITCH, "a backup daemon host that forwards no traffic";
    SyncVersion "sync_version" int(0, 1), "the sync protocol version the master sends";
    SyncThreshold "sync_threshold" SysctlKind::Pair, "sync a connection after N packets, then every M";
    SyncPeriod "sync_period" int(0, INT_MAX), "alias kept by old kernels: packets between syncs";
    SyncRefreshPeriod "sync_refresh_period" int(0, INT_MAX), "seconds between syncs of a connection";
    SyncRetries "sync_retries" int(0, 3), "how often a sync message is resent";
    SyncPersistMode "sync_persist_mode" SWITCH, "sync persistence templates only";
    SyncQlenMax "sync_qlen_max" int(1, INT_MAX), "the longest queue of sync messages";
    SyncSockSize "sync_sock_size" int(0, INT_MAX), "the send/receive buffer of the sync socket";
    SyncPorts "sync_ports" int(1, INT_MAX), "how many sync threads and ports";
    RunEstimation "run_estimation" SWITCH, "compute the rate estimates that `list --rate` shows";
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Sysctl {
    type Err = ();

    fn from_str(s: &str) -> Result<Sysctl, ()> {
        Sysctl::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or(())
    }
}

impl Sysctl {
    /// Why the kernel refuses `value` (EINVAL) although it is in range for the setting's kind:
    /// the checks of `proc_do_sync_threshold` and `proc_do_sync_ports`.
    pub fn refusal(self, value: &SysctlValue) -> Option<&'static str> {
        match (self, value) {
            (Sysctl::SyncThreshold, SysctlValue::Pair(a, b)) if *b != 0 && a >= b => {
                Some("the first value (packets before the first sync) must be below the second (the period), or the period 0")
            }
            (Sysctl::SyncPorts, SysctlValue::Int(n)) if !(*n > 0 && (*n as u64).is_power_of_two()) => {
                Some("the number of sync ports must be a power of two")
            }
            _ => None,
        }
    }
}

/// The value of a sysctl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysctlValue {
    Defense(DefenseMode),
    Int(i64),
    Pair(i64, i64),
}

impl SysctlValue {
    /// The text written to the sysctl's file.
    pub fn kernel_text(&self) -> String {
        match self {
            SysctlValue::Defense(m) => m.kernel_value().to_string(),
            SysctlValue::Int(v) => v.to_string(),
            SysctlValue::Pair(a, b) => format!("{a} {b}"),
        }
    }

    /// Parses the text read from the sysctl's file.
    pub fn from_kernel_text(sysctl: Sysctl, text: &str) -> Option<SysctlValue> {
        let mut nums = text.split_whitespace().map(|w| w.parse::<i64>().ok());
        match sysctl.kind() {
            SysctlKind::Defense => {
                DefenseMode::from_kernel_value(nums.next()??).map(SysctlValue::Defense)
            }
            SysctlKind::Pair => Some(SysctlValue::Pair(nums.next()??, nums.next()??)),
            _ => Some(SysctlValue::Int(nums.next()??)),
        }
    }

    /// The value in the language's spelling: `auto`, `on`, `1024`, `3 50`.
    pub fn display(&self, sysctl: Sysctl) -> String {
        match (self, sysctl.kind()) {
            (SysctlValue::Defense(m), _) => m.name().to_string(),
            (SysctlValue::Int(0), SysctlKind::Switch) => "off".to_string(),
            (SysctlValue::Int(1), SysctlKind::Switch) => "on".to_string(),
            (SysctlValue::Int(v), _) => v.to_string(),
            (SysctlValue::Pair(a, b), _) => format!("{a} {b}"),
        }
    }
}

/// Whether a sysctl belongs in the language's `defense { }` block.
pub fn is_defense(s: Sysctl) -> bool {
    matches!(
        s,
        Sysctl::DropEntry
            | Sysctl::DropPacket
            | Sysctl::SecureTcp
            | Sysctl::Amemthresh
            | Sysctl::AmDroprate
    )
}
