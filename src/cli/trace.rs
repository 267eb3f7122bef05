//! `IPVSC_TRACE=1`: each stage of `apply` and `plan` says on standard error when it ended and
//! how much memory the process held then (resident, and its peak so far, from
//! `/proc/self/status`). For the benchmarks (BENCHMARKS.md): where the time and the memory of
//! a large apply go, measured in the process itself. Unset, it costs one environment lookup.

use std::time::Instant;

/// The environment variable that turns the trace on.
pub const TRACE_ENV: &str = "IPVSC_TRACE";

/// The stages of one command, timed from its start.
#[derive(Clone, Copy)]
pub struct Stages {
    start: Option<Instant>,
}

impl Stages {
    /// A trace, on when `IPVSC_TRACE` is set and not empty or `0`.
    pub fn from_env() -> Stages {
        let on = std::env::var_os(TRACE_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        Stages {
            start: on.then(Instant::now),
        }
    }

    /// Says that `stage` ended.
    pub fn mark(&self, stage: &str) {
        if let Some(start) = self.start {
            let (rss, peak) = memory().unwrap_or((0, 0));
            eprintln!(
                "trace: {stage}: {:.3} s, resident {:.1} MiB, peak {:.1} MiB",
                start.elapsed().as_secs_f64(),
                rss as f64 / 1024.0,
                peak as f64 / 1024.0
            );
        }
    }
}

/// (VmRSS, VmHWM) in KiB.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process_s_memory() {
        let (rss, peak) = super::memory().expect("/proc/self/status has VmRSS and VmHWM");
        assert!(rss > 0 && peak >= rss, "{rss} {peak}");
    }
}
