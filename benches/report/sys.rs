//! What the kernel says about this process and its threads: resident memory from
//! /proc/self/status, CPU time from the `stat` files (clock ticks, `getconf CLK_TCK`), time
//! spent waiting for a CPU from `schedstat`. Linux only; no unsafe, no libc: a missing figure
//! reads as `None`.

use std::sync::OnceLock;
use std::time::Duration;

/// A `kB` line of /proc/self/status (`VmRSS`, `VmHWM`), in bytes.
pub(crate) fn status_bytes(field: &str) -> Option<u64> {
    proc_status_bytes("self", field)
}

/// A `kB` line of another process's status file (`pid`: a number or `self`), in bytes.
pub(crate) fn proc_status_bytes(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size now.
pub(crate) fn rss() -> Option<u64> {
    status_bytes("VmRSS")
}

/// The peak resident set size so far.
pub(crate) fn hwm() -> Option<u64> {
    status_bytes("VmHWM")
}

/// CPU time (user + system) of the calling thread so far.
pub(crate) fn thread_cpu() -> Option<Duration> {
    cpu_of("/proc/thread-self/stat")
}

/// CPU time of every thread of this process so far.
pub(crate) fn process_cpu() -> Option<Duration> {
    cpu_of("/proc/self/stat")
}

/// CPU time of this process's thread `tid` so far.
pub(crate) fn task_cpu(tid: u32) -> Option<Duration> {
    cpu_of(&format!("/proc/self/task/{tid}/stat"))
}

/// The calling thread's id, for [`task_cpu`] from another thread.
pub(crate) fn thread_id() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// utime + stime of a `stat` file.
fn cpu_of(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The name in parentheses may hold spaces; the fields after it start with the state (3rd).
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15, so 11 and 12 counted from the state.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// How long the calling thread has waited on a run queue for a CPU (`schedstat`, ns).
pub(crate) fn thread_run_wait() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The one-minute load average.
pub(crate) fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The soft limit on open files (`RLIMIT_NOFILE`, /proc/self/limits); `None` when unlimited
/// or unreadable.
pub(crate) fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Bytes available on the file system holding `path` (`df -Pk`; no libc here).
pub(crate) fn disk_available(path: &std::path::Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let kb: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Bytes the kernel could give without swapping (`MemAvailable` of /proc/meminfo).
pub(crate) fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when getconf is missing).
pub(crate) fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// `bytes` in MiB with one decimal.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `bytes` in KiB with one decimal.
pub(crate) fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}
