//! How busy the rest of the machine was while something was measured.
//!
//! On a shared machine (CI runners, a phone running other apps, a software
//! GPU on two cores) a neighbour starting or stopping moves latency more than
//! most engine changes, so reports put the share of CPU time other processes
//! took next to their timings. Linux `/proc` only; `None` elsewhere.

/// Cumulative CPU time (clock ticks) of the whole machine and of this process.
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    busy: u64,
    total: u64,
    own: u64,
}

impl CpuTimes {
    /// Reads `/proc/stat` and `/proc/self/stat`; `None` where they do not exist.
    pub fn now() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        let total: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3)? + cpu.get(4).copied().unwrap_or(0);
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let after = own_stat.rsplit_once(')')?.1;
        let f: Vec<&str> = after.split_whitespace().collect();
        let own = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some(CpuTimes {
            busy: total - idle,
            total,
            own,
        })
    }

    /// Share of all CPUs' time that other processes used since `earlier`, %.
    pub fn others_pct_since(&self, earlier: &CpuTimes) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        let busy = self.busy.checked_sub(earlier.busy)?;
        let own = self.own.checked_sub(earlier.own)?;
        (total > 0).then(|| 100.0 * busy.saturating_sub(own) as f64 / total as f64)
    }
}

/// Share of all CPUs' time other processes used while `f` ran, %, with `f`'s result.
pub fn others_during<T>(f: impl FnOnce() -> T) -> (T, Option<f64>) {
    let before = CpuTimes::now();
    let out = f();
    let after = CpuTimes::now();
    let pct = match (before, after) {
        (Some(a), Some(b)) => b.others_pct_since(&a),
        _ => None,
    };
    (out, pct)
}
