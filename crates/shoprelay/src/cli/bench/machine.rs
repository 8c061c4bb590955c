//! What `/proc` says about the machine and this process: CPU model, memory, and CPU time per thread
//! group (load generator, server runtime, SQLite) so a run shows where the cores went. Linux only;
//! elsewhere the figures are simply absent.

use std::collections::BTreeMap;
use std::time::Instant;

/// Thread name of the load generator's runtime (Linux shows the first 15 bytes).
pub(crate) const LOAD_THREAD: &str = "bench-load";

/// Kernel clock ticks per second in `/proc/*/stat` (USER_HZ, 100 on every Linux architecture we run on).
const TICKS_PER_SEC: f64 = 100.0;

/// `nproc`, CPU model, memory and kernel, on one line.
pub(crate) fn describe() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| field_kb(&m, "MemTotal"))
        .map_or_else(String::new, |kb| format!(", {:.1} GB RAM", kb as f64 / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("nproc {nproc}, {model}{mem}, Linux {}", kernel.trim())
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`), in kB.
pub(crate) fn status_kb(name: &str) -> Option<u64> {
    field_kb(&std::fs::read_to_string("/proc/self/status").ok()?, name)
}

/// Bytes this process has sent toward storage so far (`write_bytes` of `/proc/self/io`: pages it dirtied
/// in files — the WAL, the database file — whenever they reach the disk; socket traffic not counted).
pub(crate) fn storage_written_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/io")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))?
        .trim()
        .parse()
        .ok()
}

fn field_kb(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// CPU time so far: per thread group of this process, and the whole machine's busy and total time.
pub(crate) struct CpuSample {
    at: Instant,
    groups: BTreeMap<&'static str, u64>,
    machine_busy: u64,
    machine_total: u64,
}

/// Which part of the bench a thread belongs to, by its name.
fn group_of(comm: &str) -> &'static str {
    if comm.starts_with(LOAD_THREAD) {
        "load generator"
    } else if comm.starts_with("tokio-r") {
        // tokio's default worker name ("tokio-rt-worker", formerly "tokio-runtime-worker").
        "server runtime"
    } else if comm.starts_with("sqlx-sqlite") {
        "SQLite threads"
    } else {
        "other threads"
    }
}

impl CpuSample {
    /// Reads `/proc/self/task/*/stat` and `/proc/stat`.
    pub(crate) fn now() -> Self {
        let mut groups = BTreeMap::new();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                    continue;
                };
                if let Some((comm, ticks)) = thread_ticks(&stat) {
                    *groups.entry(group_of(comm)).or_default() += ticks;
                }
            }
        }
        let (machine_busy, machine_total) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| machine_ticks(&s))
            .unwrap_or_default();
        Self {
            at: Instant::now(),
            groups,
            machine_busy,
            machine_total,
        }
    }

    /// Where the CPU went since `earlier`: cores used per thread group, and the machine's busy share.
    pub(crate) fn since(&self, earlier: &CpuSample) -> String {
        let wall = self.at.duration_since(earlier.at).as_secs_f64().max(1e-9);
        let mut parts: Vec<String> = self
            .groups
            .iter()
            .map(|(group, ticks)| {
                let before = earlier.groups.get(group).copied().unwrap_or(0);
                let cores = ticks.saturating_sub(before) as f64 / TICKS_PER_SEC / wall;
                format!("{group} {cores:.2}")
            })
            .collect();
        if let Some(busy) = self.machine_busy_since(earlier) {
            parts.push(format!("machine busy {:.0} %", busy * 100.0));
            // Busy time this process does not account for: other processes (PostgreSQL, a build).
            let ours: u64 = self
                .groups
                .values()
                .sum::<u64>()
                .saturating_sub(earlier.groups.values().sum());
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let others = (busy * cpus - ours as f64 / TICKS_PER_SEC / wall).max(0.0);
            parts.push(format!("other processes {others:.2} cores"));
        }
        format!("CPU (cores used): {}", parts.join(", "))
    }

    /// The share (0–1) of all CPUs' time that was busy since `earlier`, whoever used it.
    pub(crate) fn machine_busy_since(&self, earlier: &CpuSample) -> Option<f64> {
        let total = self.machine_total.saturating_sub(earlier.machine_total);
        (total > 0).then(|| self.machine_busy.saturating_sub(earlier.machine_busy) as f64 / total as f64)
    }
}

/// `(comm, utime + stime)` from a `/proc/…/stat` line; the name is in parentheses and may hold spaces.
fn thread_ticks(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    // After ")": state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// `(busy, total)` ticks of all CPUs from `/proc/stat`'s first line (idle and iowait count as not busy).
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_thread_ticks_with_spaces_in_the_name() {
        let stat = "42 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0";
        assert_eq!(thread_ticks(stat), Some(("tokio runtime", 175)));
    }

    #[test]
    fn reads_machine_ticks() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n";
        assert_eq!(machine_ticks(stat), Some((150, 1000)));
    }

    #[test]
    fn reads_kb_fields() {
        assert_eq!(field_kb("VmPeak:\t  100 kB\nVmRSS:\t   2048 kB\n", "VmRSS"), Some(2048));
        assert_eq!(field_kb("VmRSS:\t   2048 kB\n", "VmHWM"), None);
    }
}
