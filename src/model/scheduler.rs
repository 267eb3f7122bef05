use std::fmt;
use std::str::FromStr;

/// A scheduling algorithm (`-s`), each a kernel module `ip_vs_NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl Scheduler {
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }

    /// One line on what the scheduler does, for hover text and `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            Scheduler::Rr => "round robin: each server in turn, ignoring weights",
            Scheduler::Wrr => "weighted round robin: servers in turn, in proportion to weight",
            Scheduler::Lc => "least connection: the server with the fewest active connections",
            Scheduler::Wlc => {
                "weighted least connection: fewest connections relative to weight (the default)"
            }
            Scheduler::Lblc => {
                "locality-based least connection: the same server per destination address unless it is overloaded"
            }
            Scheduler::Lblcr => {
                "locality-based least connection with replication: a set of servers per destination address"
            }
            Scheduler::Dh => "destination hashing: a static hash of the destination address",
            Scheduler::Sh => "source hashing: a static hash of the source address",
            Scheduler::Sed => "shortest expected delay: (active connections + 1) / weight",
            Scheduler::Nq => "never queue: an idle server if there is one, else shortest expected delay",
            Scheduler::Fo => "weighted failover: the available server with the highest weight",
            Scheduler::Ovf => {
                "weighted overflow: the highest-weight server until its active connections exceed its weight"
            }
            Scheduler::Mh => "maglev hashing: consistent hashing of the source address",
            Scheduler::Twos => "weighted random twos choice: the better of two random servers",
        }
    }

    /// The names `-b` gives the scheduler's flags: `sh-fallback`, `mh-port`, or `flag-N`.
    pub fn flag_names(self) -> [&'static str; 3] {
        match self {
            Scheduler::Sh => ["sh-fallback", "sh-port", "flag-3"],
            Scheduler::Mh => ["mh-fallback", "mh-port", "flag-3"],
            _ => ["flag-1", "flag-2", "flag-3"],
        }
    }

    /// Whether the scheduler reads SCHED1 and SCHED2 as fallback and port.
    pub fn has_hash_flags(self) -> bool {
        matches!(self, Scheduler::Sh | Scheduler::Mh)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheduler {
    type Err = ();

    fn from_str(s: &str) -> Result<Scheduler, ()> {
        Scheduler::ALL.into_iter().find(|x| x.name() == s).ok_or(())
    }
}

/// The scheduler flags IP_VS_SVC_F_SCHED1..3 (`-b`), as bits 0..2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchedFlags(pub u8);

impl SchedFlags {
    pub const FLAG1: u8 = 1;
    pub const FLAG2: u8 = 2;
    pub const FLAG3: u8 = 4;

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The bits as the kernel's service flags (SCHED1 = 0x8 …).
    pub fn kernel_bits(self) -> u32 {
        u32::from(self.0 & 7) << 3
    }

    pub fn from_kernel_bits(flags: u32) -> SchedFlags {
        SchedFlags(((flags >> 3) & 7) as u8)
    }

    /// The names of the set flags for `scheduler`, in bit order.
    pub fn names(self, scheduler: Scheduler) -> Vec<&'static str> {
        let names = scheduler.flag_names();
        (0..3)
            .filter(|i| self.contains(1 << i))
            .map(|i| names[i])
            .collect()
    }
}
