//! What the kernel says about a process: resident memory (now and peak) and
//! CPU time, read from `/proc/<pid>`.

use std::time::Duration;

use serde::Serialize;

/// Linux reports CPU times in `/proc/<pid>/stat` in USER_HZ ticks, which is
/// 100 on every Linux platform (the kernel converts for userspace).
const USER_HZ: u64 = 100;

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct ProcSample {
    /// Resident set size now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set size (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// User plus system CPU time so far.
    #[serde(serialize_with = "secs")]
    pub cpu: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Read a live process's memory and CPU; `None` once it is gone.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse(&status, &stat)
}

fn parse(status: &str, stat: &str) -> Option<ProcSample> {
    let kib = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    // The command name (field 2) may contain spaces and parentheses; the
    // fields after its closing parenthesis start with field 3 (`state`).
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime is field 14 and stime field 15: indexes 11 and 12 from field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcSample {
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
        cpu: Duration::from_millis((utime + stime) * 1000 / USER_HZ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_stat() {
        let status = "Name:\tagentiq\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        let stat = "4242 (agent iq) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 125 0 0 20 0 9 0";
        let s = parse(status, stat).unwrap();
        assert_eq!(s.peak_rss_kib, 51200);
        assert_eq!(s.rss_kib, 40960);
        assert_eq!(s.cpu, Duration::from_millis(3750));
    }

    #[test]
    fn this_process_can_be_read() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.peak_rss_kib >= s.rss_kib && s.rss_kib > 0);
    }
}
