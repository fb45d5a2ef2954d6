//! CPU time and resident memory of a process, from `/proc/<pid>/stat` and
//! `/proc/<pid>/status` (Linux only). Both cover all threads of the process.

use anyhow::{Context as _, bail};

/// User plus system CPU time in clock ticks: fields 14 and 15 of
/// `/proc/<pid>/stat`.
///
/// The second field (the command name) is in parentheses and may itself
/// contain spaces and parentheses, so fields are counted from the last `)`.
///
/// # Errors
///
/// The text is not a stat line.
pub fn parse_stat_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        bail!("no command name in stat line");
    };
    // After the name: state is field 3, so utime (14) is the 12th and stime (15) the 13th.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |index: usize, name: &str| -> anyhow::Result<u64> {
        fields
            .get(index)
            .with_context(|| format!("stat line has no {name}"))?
            .parse()
            .with_context(|| format!("{name} is not a number"))
    };
    Ok(field(11, "utime")? + field(12, "stime")?)
}

/// Resident set size in KiB: the `VmRSS:` line of `/proc/<pid>/status`.
///
/// # Errors
///
/// The line is missing or malformed.
pub fn parse_status_rss_kib(status: &str) -> anyhow::Result<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:")).context("no VmRSS line")?;
    let kib = line.trim().strip_suffix("kB").context("VmRSS not in kB")?;
    kib.trim().parse().context("VmRSS is not a number")
}

/// One reading of a process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU time since the process started, in seconds.
    pub cpu_secs: f64,
    /// Resident memory now, in KiB.
    pub rss_kib: u64,
}

impl ProcessSample {
    /// Reads process `pid`.
    ///
    /// # Errors
    ///
    /// The process is gone or its files cannot be parsed.
    pub fn read(pid: u32) -> anyhow::Result<Self> {
        let stat =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("read /proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("read /proc/{pid}/status"))?;
        Ok(Self {
            cpu_secs: parse_stat_cpu_ticks(&stat)? as f64 / clock_ticks_per_second(),
            rss_kib: parse_status_rss_kib(&status)?,
        })
    }
}

/// `sysconf(_SC_CLK_TCK)`: the unit of the stat CPU times (100 on Linux).
pub fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant of the running kernel.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The CPU model (first `model name` of `/proc/cpuinfo`) and the number of
/// CPUs this process may run on.
pub fn machine() -> (String, usize) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    (model, std::thread::available_parallelism().map_or(1, usize::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_is_utime_plus_stime_even_with_a_strange_name() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 731 269 0 0 20 0 9 0 123 1000 200 18446744073709551615";
        assert_eq!(parse_stat_cpu_ticks(line).unwrap(), 1000);
        assert!(parse_stat_cpu_ticks("4242 no name here").is_err());
        assert!(parse_stat_cpu_ticks("1 (x) S 1 2").is_err());
    }

    #[test]
    fn status_rss_is_read_in_kib() {
        let status = "Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t   51234 kB\nThreads:\t11\n";
        assert_eq!(parse_status_rss_kib(status).unwrap(), 51_234);
        assert!(parse_status_rss_kib("Name:\tx\n").is_err());
        assert!(parse_status_rss_kib("VmRSS:\t12 MB\n").is_err());
    }

    #[test]
    fn reading_this_process_sees_its_own_work() {
        let before = ProcessSample::read(std::process::id()).unwrap();
        // A fixed amount of work (about 0.1 s optimised, more in debug), so
        // a loaded machine makes it slower but not smaller: ticks must move.
        let mut x = 0u64;
        for _ in 0..100_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let after = ProcessSample::read(std::process::id()).unwrap();
        let burnt = after.cpu_secs - before.cpu_secs;
        assert!((0.02..30.0).contains(&burnt), "{burnt} s of CPU");
        // A test binary is at least a few MiB resident and far below 4 GiB.
        assert!((1024..4 << 20).contains(&after.rss_kib), "{} KiB", after.rss_kib);
    }
}
