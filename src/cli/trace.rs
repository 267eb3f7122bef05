//! `IPVSC_TRACE=1`: each stage of `apply` and `plan` says on standard error when it ended, how
//! much memory the process held then (resident, and its peak so far, from `/proc/self/status`),
//! and the CPU time of the thread that ran it, in user space and in the kernel
//! (`/proc/thread-self/stat`: the kernel read is mostly the kernel's). For the benchmarks
//! (BENCHMARKS.md): where the time and the memory of a large apply go, measured in the process
//! itself. Unset, it costs one environment lookup.

use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable that turns the trace on.
pub const TRACE_ENV: &str = "IPVSC_TRACE";

/// The stages of one command, timed from its start.
#[derive(Clone, Copy)]
pub struct Stages {
    start: Option<Instant>,
}

impl Stages {
    /// A trace, on when `IPVSC_TRACE` is set and not empty or `0`, timed from the first call
    /// in the process (a command's start): every stage of it, wherever it is marked, has one
    /// clock.
    pub fn from_env() -> Stages {
        static START: OnceLock<Option<Instant>> = OnceLock::new();
        let start = *START.get_or_init(|| {
            let on = std::env::var_os(TRACE_ENV).is_some_and(|v| !v.is_empty() && v != "0");
            on.then(Instant::now)
        });
        Stages { start }
    }

    /// Says that `stage` ended.
    pub fn mark(&self, stage: &str) {
        if let Some(start) = self.start {
            let (rss, peak) = memory().unwrap_or((0, 0));
            let (user, system) = thread_cpu().unwrap_or((0.0, 0.0));
            eprintln!(
                "trace: {stage}: {:.3} s, resident {:.1} MiB, peak {:.1} MiB; this thread's CPU: user {user:.2} s, system {system:.2} s",
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

/// The calling thread's CPU time so far, in user space and in the kernel (seconds, from
/// `/proc/thread-self/stat`, in clock ticks of 1/100 s): whether a stage's time is ipvsc's
/// own work or the kernel's.
fn thread_cpu() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold anything.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ');
    // utime and stime are fields 14 and 15; the state (field 3) is the first after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture ipvsc builds for.
    Some((utime as f64 / 100.0, stime as f64 / 100.0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process_s_memory() {
        let (rss, peak) = super::memory().expect("/proc/self/status has VmRSS and VmHWM");
        assert!(rss > 0 && peak >= rss, "{rss} {peak}");
    }

    #[test]
    fn reads_this_thread_s_cpu_time() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed().as_millis() < 60 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let (user, system) = super::thread_cpu().expect("/proc/thread-self/stat has the times");
        assert!(
            user + system >= 0.02,
            "{user} {system} after 60 ms of spinning"
        );
    }
}
