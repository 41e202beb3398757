//! The host collector: this machine's CPU, memory, disk and network use and its top processes,
//! read from Linux's `/proc` (nothing is read elsewhere; on another system the run fails and
//! says so).
//!
//! | metric                         | from                     | how                                        |
//! |--------------------------------|--------------------------|--------------------------------------------|
//! | `cpu_percent`                  | `/proc/stat`             | busy share of all CPUs since the last run  |
//! | `cpu_cores_used`               | `/proc/stat`             | that share × the number of CPUs            |
//! | `memory_used_bytes`            | `/proc/meminfo`          | `MemTotal − MemAvailable`                  |
//! | `memory_available_bytes`       | `/proc/meminfo`          | `MemAvailable`                             |
//! | `memory_percent`               | `/proc/meminfo`          | used / total × 100                         |
//! | `disk_read_bytes_per_second`   | `/proc/diskstats`        | sectors read × 512, whole disks only       |
//! | `disk_write_bytes_per_second`  | `/proc/diskstats`        | sectors written × 512, whole disks only    |
//! | `network_in_bytes_per_second`  | `/proc/net/dev`          | bytes received, every interface but `lo`   |
//! | `network_out_bytes_per_second` | `/proc/net/dev`          | bytes sent, every interface but `lo`       |
//! | `process_cpu_percent`          | `/proc/<pid>/stat`       | the process's share of all CPUs            |
//! | `process_memory_bytes`         | `/proc/<pid>/status`     | its resident memory (`VmRSS`)              |
//!
//! Rates are the change of a counter since the previous run divided by the time between the
//! two, so the first run records only what needs no previous reading (memory, and the top
//! processes by memory). A counter that went backwards (a reset) gives no rate that run.
//!
//! Whole disks are the block devices of `/sys/block` that are not virtual (no loop, RAM,
//! device-mapper or zram devices), so no byte is counted twice through a partition or a volume.
//!
//! The top `top` processes by CPU and by memory carry the label `process = "name (pid)"`;
//! CPU percentages are shares of the whole machine (100 % is every CPU busy), like
//! `cpu_percent`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mhd_core::plan::HostCollector;
use mhd_core::sample::Sample;
use time::OffsetDateTime;

use super::CollectError;

/// The metrics the host collector writes.
pub const METRICS: &[&str] = &[
    "cpu_percent",
    "cpu_cores_used",
    "memory_used_bytes",
    "memory_available_bytes",
    "memory_percent",
    "disk_read_bytes_per_second",
    "disk_write_bytes_per_second",
    "network_in_bytes_per_second",
    "network_out_bytes_per_second",
    "process_cpu_percent",
    "process_memory_bytes",
];

/// Bytes in one sector of `/proc/diskstats` (always 512, whatever the disk's own sector size).
const SECTOR_BYTES: u64 = 512;

/// Why the host's figures could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file every Linux has could not be read.
    #[error("cannot read {path}: {reason} (the host collector reads Linux's /proc)")]
    Unreadable {
        /// The file.
        path: &'static str,
        /// Why.
        reason: String,
    },
    /// A file could be read but is not in the format Linux writes.
    #[error("cannot understand {0}: it is not in the format Linux writes")]
    Unexpected(&'static str),
}

/// The CPU time counters of `/proc/stat`'s first line, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// All time.
    pub total: u64,
    /// Idle and I/O wait time.
    pub idle: u64,
    /// How many CPUs (`cpuN` lines).
    pub cpus: u32,
}

/// Reads `/proc/stat`.
pub fn parse_cpu(stat: &str) -> Option<CpuTimes> {
    let mut lines = stat.lines();
    let first = lines.next()?;
    let mut fields = first.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest and guest_nice are already part of
    // user and nice, so they are not added again).
    let values: Vec<u64> = fields.take(8).map_while(|v| v.parse().ok()).collect();
    if values.len() < 4 {
        return None;
    }
    let cpus = stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count() as u32;
    Some(CpuTimes {
        total: values.iter().sum(),
        idle: values[3] + values.get(4).copied().unwrap_or(0),
        cpus: cpus.max(1),
    })
}

/// The busy share of all CPUs between two readings, in percent.
pub fn cpu_percent(before: CpuTimes, after: CpuTimes) -> Option<f64> {
    let total = after.total.checked_sub(before.total)?;
    let idle = after.idle.checked_sub(before.idle)?;
    if total == 0 {
        return None;
    }
    Some(total.saturating_sub(idle) as f64 / total as f64 * 100.0)
}

/// Memory from `/proc/meminfo`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `MemTotal`.
    pub total: u64,
    /// `MemAvailable`.
    pub available: u64,
}

/// Reads `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some(Memory {
        total: field("MemTotal")?,
        available: field("MemAvailable")?,
    })
}

/// One device's totals from `/proc/diskstats`, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskIo {
    /// The device's name, such as `sda`.
    pub name: String,
    /// Bytes read since boot.
    pub read: u64,
    /// Bytes written since boot.
    pub written: u64,
}

/// Reads `/proc/diskstats`, keeping the devices `is_whole_disk` accepts.
pub fn parse_diskstats(text: &str, is_whole_disk: impl Fn(&str) -> bool) -> Vec<DiskIo> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // major minor name reads merged sectors_read ms writes merged sectors_written …
            if f.len() < 10 || !is_whole_disk(f[2]) {
                return None;
            }
            Some(DiskIo {
                name: f[2].to_owned(),
                read: f[5].parse::<u64>().ok()? * SECTOR_BYTES,
                written: f[9].parse::<u64>().ok()? * SECTOR_BYTES,
            })
        })
        .collect()
}

/// Whether a device name looks like a whole physical disk, for when `/sys/block` cannot be
/// read: not a partition (`sda1`, `nvme0n1p1`, `mmcblk0p1`) and not virtual.
pub fn looks_like_whole_disk(name: &str) -> bool {
    const VIRTUAL: [&str; 6] = ["loop", "ram", "dm-", "zram", "md", "sr"];
    if VIRTUAL.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    if name.starts_with("nvme") || name.starts_with("mmcblk") {
        // nvme0n1 and mmcblk0 are disks; nvme0n1p1 and mmcblk0p1 are partitions.
        return !name.rsplit_once('p').is_some_and(|(head, tail)| {
            !tail.is_empty()
                && tail.chars().all(|c| c.is_ascii_digit())
                && head.ends_with(|c: char| c.is_ascii_digit())
        });
    }
    !name.ends_with(|c: char| c.is_ascii_digit())
}

/// One interface's totals from `/proc/net/dev`, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetIo {
    /// The interface.
    pub name: String,
    /// Bytes received since boot.
    pub received: u64,
    /// Bytes sent since boot.
    pub sent: u64,
}

/// Reads `/proc/net/dev`, leaving out the loopback interface `lo`.
pub fn parse_net_dev(text: &str) -> Vec<NetIo> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name == "lo" || name.is_empty() {
                return None;
            }
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() < 9 {
                return None;
            }
            Some(NetIo {
                name: name.to_owned(),
                received: f[0].parse().ok()?,
                sent: f[8].parse().ok()?,
            })
        })
        .collect()
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStat {
    /// Its id.
    pub pid: u32,
    /// Its command name (up to 15 characters, as the kernel keeps it).
    pub name: String,
    /// User and system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// When it started, in clock ticks after boot (tells a reused pid apart).
    pub start: u64,
    /// Resident pages.
    pub rss_pages: u64,
}

/// Reads `/proc/<pid>/stat`. The name sits in parentheses and may itself hold spaces and
/// parentheses, so the fields are counted from the last `)`.
pub fn parse_process_stat(text: &str) -> Option<ProcessStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let name = text[open + 1..close].to_owned();
    // After the name: state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    // utime(14) stime(15) cutime cstime priority nice threads itrealvalue starttime(22) vsize
    // rss(24); here counted from field 3 at index 0.
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let at = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(ProcessStat {
        pid,
        name,
        cpu_ticks: at(14)? + at(15)?,
        start: at(22)?,
        rss_pages: at(24)?,
    })
}

/// Resident memory (`VmRSS`) from `/proc/<pid>/status`, in bytes.
pub fn parse_status_rss(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// A process's label value: `name (pid)`, with control characters replaced.
pub fn process_label(name: &str, pid: u32) -> String {
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{name} ({pid})")
}

/// The counters of one reading, kept for the next one's rates.
#[derive(Debug, Clone)]
struct Reading {
    at: Instant,
    cpu: Option<CpuTimes>,
    disk: Option<(u64, u64)>,
    net: Option<(u64, u64)>,
    /// CPU ticks by (pid, start).
    processes: HashMap<(u32, u64), u64>,
}

/// Reads the host's figures from `/proc`, remembering the counters of the last reading.
#[derive(Debug, Default)]
pub struct HostSampler {
    previous: Option<Reading>,
}

impl HostSampler {
    /// A sampler with no previous reading.
    pub fn new() -> HostSampler {
        HostSampler::default()
    }

    /// Reads the figures once, as samples at `now` for `component`, with the `top` processes by
    /// CPU and by memory. Fails when `/proc/stat` or `/proc/meminfo` cannot be read; disks,
    /// network and processes are left out when theirs cannot.
    pub fn sample(
        &mut self,
        now: OffsetDateTime,
        top: usize,
        component: Option<&str>,
    ) -> Result<Vec<Sample>, HostError> {
        let read = |path: &'static str| {
            std::fs::read_to_string(path).map_err(|e| HostError::Unreadable {
                path,
                reason: e.to_string(),
            })
        };
        let at = Instant::now();
        let cpu = parse_cpu(&read("/proc/stat")?);
        let memory =
            parse_meminfo(&read("/proc/meminfo")?).ok_or(HostError::Unexpected("/proc/meminfo"))?;
        let disk = std::fs::read_to_string("/proc/diskstats").ok().map(|t| {
            let whole = whole_disks();
            parse_diskstats(&t, |name| match &whole {
                Some(list) => list.iter().any(|d| d == name),
                None => looks_like_whole_disk(name),
            })
            .iter()
            .fold((0u64, 0u64), |(r, w), d| (r + d.read, w + d.written))
        });
        let net = std::fs::read_to_string("/proc/net/dev").ok().map(|t| {
            parse_net_dev(&t)
                .iter()
                .fold((0u64, 0u64), |(i, o), n| (i + n.received, o + n.sent))
        });
        let processes = read_processes();

        let mut out = Vec::new();
        let mut push = |metric: &str, value: f64, unit: &str, process: Option<String>| {
            let mut s = Sample::new(now, metric, value);
            s.unit = Some(unit.to_owned());
            s.component = component.map(str::to_owned);
            if let Some(p) = process {
                s.labels.insert("process".into(), p);
            }
            out.push(s);
        };
        let used = memory.total.saturating_sub(memory.available);
        push("memory_used_bytes", used as f64, "bytes", None);
        push(
            "memory_available_bytes",
            memory.available as f64,
            "bytes",
            None,
        );
        if memory.total > 0 {
            push(
                "memory_percent",
                used as f64 / memory.total as f64 * 100.0,
                "percent",
                None,
            );
        }
        let previous = self.previous.take();
        let seconds = previous
            .as_ref()
            .map(|p| at.duration_since(p.at).as_secs_f64())
            .filter(|s| *s > 0.0);
        let mut cpu_delta = None;
        if let (Some(before), Some(cur)) = (previous.as_ref().and_then(|p| p.cpu), cpu)
            && let Some(busy) = cpu_percent(before, cur)
        {
            push("cpu_percent", busy, "percent", None);
            push(
                "cpu_cores_used",
                busy / 100.0 * f64::from(cur.cpus),
                "cores",
                None,
            );
            cpu_delta = cur.total.checked_sub(before.total).filter(|d| *d > 0);
        }
        if let (Some(prev), Some(secs)) = (&previous, seconds) {
            let rate = |before: u64, after: u64| after.checked_sub(before).map(|d| d as f64 / secs);
            if let (Some((r0, w0)), Some((r1, w1))) = (prev.disk, disk) {
                if let Some(v) = rate(r0, r1) {
                    push("disk_read_bytes_per_second", v, "bytes/s", None);
                }
                if let Some(v) = rate(w0, w1) {
                    push("disk_write_bytes_per_second", v, "bytes/s", None);
                }
            }
            if let (Some((i0, o0)), Some((i1, o1))) = (prev.net, net) {
                if let Some(v) = rate(i0, i1) {
                    push("network_in_bytes_per_second", v, "bytes/s", None);
                }
                if let Some(v) = rate(o0, o1) {
                    push("network_out_bytes_per_second", v, "bytes/s", None);
                }
            }
        }
        // Top processes by CPU: their ticks since the last reading over all CPUs' ticks.
        if let (Some(prev), Some(total)) = (&previous, cpu_delta) {
            let mut by_cpu: Vec<(&ProcessStat, u64)> = processes
                .iter()
                .filter_map(|p| {
                    let before = prev.processes.get(&(p.pid, p.start))?;
                    Some((p, p.cpu_ticks.checked_sub(*before)?))
                })
                .filter(|(_, d)| *d > 0)
                .collect();
            by_cpu.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.pid.cmp(&b.0.pid)));
            for (p, d) in by_cpu.into_iter().take(top) {
                push(
                    "process_cpu_percent",
                    (d as f64 / total as f64 * 100.0).min(100.0),
                    "percent",
                    Some(process_label(&p.name, p.pid)),
                );
            }
        }
        // Top processes by memory: ranked by resident pages, measured in bytes from `status`.
        let mut by_memory: Vec<&ProcessStat> =
            processes.iter().filter(|p| p.rss_pages > 0).collect();
        by_memory.sort_by(|a, b| b.rss_pages.cmp(&a.rss_pages).then(a.pid.cmp(&b.pid)));
        for p in by_memory.into_iter().take(top) {
            let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid));
            if let Some(bytes) = status.ok().as_deref().and_then(parse_status_rss) {
                push(
                    "process_memory_bytes",
                    bytes as f64,
                    "bytes",
                    Some(process_label(&p.name, p.pid)),
                );
            }
        }
        self.previous = Some(Reading {
            at,
            cpu,
            disk,
            net,
            processes: processes
                .iter()
                .map(|p| ((p.pid, p.start), p.cpu_ticks))
                .collect(),
        });
        Ok(out)
    }
}

/// The physical disks of `/sys/block` (those not under `/sys/devices/virtual`), or `None` when
/// it cannot be read.
fn whole_disks() -> Option<Vec<String>> {
    let entries = std::fs::read_dir("/sys/block").ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                std::fs::read_link(e.path())
                    .map(|target| !target.to_string_lossy().contains("/virtual/"))
                    .unwrap_or(true)
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    )
}

/// Every process's `/proc/<pid>/stat` (processes that end while being read are skipped).
fn read_processes() -> Vec<ProcessStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|t| parse_process_stat(&t))
        .collect()
}

/// A host collector.
pub struct HostRunner {
    config: HostCollector,
    sampler: Arc<Mutex<HostSampler>>,
}

impl HostRunner {
    /// A collector for `config`.
    pub fn new(config: HostCollector) -> HostRunner {
        HostRunner {
            config,
            sampler: Arc::new(Mutex::new(HostSampler::new())),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &HostCollector {
        &self.config
    }

    /// Reads the host once (off the async threads: `/proc` is read with blocking calls).
    pub async fn run(&mut self, now: OffsetDateTime) -> Result<Vec<Sample>, CollectError> {
        let sampler = Arc::clone(&self.sampler);
        let top = self.config.top as usize;
        let component = self.config.component.clone();
        tokio::task::spawn_blocking(move || {
            sampler
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .sample(now, top, component.as_deref())
        })
        .await
        .map_err(|e| CollectError::Task(e.to_string()))?
        .map_err(CollectError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT_1: &str = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n\
                          cpu1 50 0 25 400 25 0 0 0 0 0\nintr 1 2 3\n";
    const STAT_2: &str = "cpu  160 0 90 900 50 0 0 0 0 0\ncpu0 80 0 45 450 25 0 0 0 0 0\n\
                          cpu1 80 0 45 450 25 0 0 0 0 0\n";

    #[test]
    fn cpu_use_is_the_busy_share_between_two_readings() {
        let a = parse_cpu(STAT_1).expect("read");
        assert_eq!(
            a,
            CpuTimes {
                total: 1000,
                idle: 850,
                cpus: 2
            }
        );
        let b = parse_cpu(STAT_2).expect("read");
        // 200 ticks passed, 100 of them idle.
        assert_eq!(cpu_percent(a, b), Some(50.0));
        assert_eq!(
            cpu_percent(b, a),
            None,
            "a counter going back gives no rate"
        );
        assert_eq!(cpu_percent(a, a), None);
        assert_eq!(parse_cpu("intr 1\n"), None);
    }

    #[test]
    fn memory_is_read_in_bytes() {
        let text = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n\
                    MemAvailable:    4000000 kB\nBuffers: 1 kB\n";
        assert_eq!(
            parse_meminfo(text),
            Some(Memory {
                total: 16_000_000 * 1024,
                available: 4_000_000 * 1024
            })
        );
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn disks_count_whole_disks_only() {
        let text = "\
   8       0 sda 100 0 2000 10 50 0 4000 5 0 0 0 0 0 0 0 0 0
   8       1 sda1 90 0 1800 10 40 0 3000 5 0 0 0 0 0 0 0 0 0
 259       0 nvme0n1 10 0 200 1 5 0 400 1 0 0 0 0 0 0 0 0 0
 259       1 nvme0n1p1 10 0 200 1 5 0 400 1 0 0 0 0 0 0 0 0 0
   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 253       0 dm-0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0
";
        let disks = parse_diskstats(text, looks_like_whole_disk);
        let names: Vec<&str> = disks.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["sda", "nvme0n1"]);
        assert_eq!(disks[0].read, 2000 * 512);
        assert_eq!(disks[0].written, 4000 * 512);
        let only_vda = parse_diskstats(text, |n| n == "sda1");
        assert_eq!(only_vda.len(), 1);
        assert!(looks_like_whole_disk("vda") && looks_like_whole_disk("mmcblk0"));
        assert!(!looks_like_whole_disk("mmcblk0p2") && !looks_like_whole_disk("xvda1"));
    }

    #[test]
    fn network_leaves_out_loopback() {
        let text = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9999 10 0 0 0 0 0 0 9999 10 0 0 0 0 0 0
  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
 wlan0:500 5 0 0 0 0 0 0 700 7 0 0 0 0 0 0
";
        let nets = parse_net_dev(text);
        assert_eq!(
            nets,
            vec![
                NetIo {
                    name: "eth0".into(),
                    received: 1000,
                    sent: 2000
                },
                NetIo {
                    name: "wlan0".into(),
                    received: 500,
                    sent: 700
                }
            ]
        );
    }

    #[test]
    fn process_names_may_hold_spaces_and_parentheses() {
        let text = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 \
                    120 30 0 0 20 0 4 0 98765 1000000 2500 18446744073709551615";
        let p = parse_process_stat(text).expect("read");
        assert_eq!(p.pid, 4242);
        assert_eq!(p.name, "my (odd) name");
        assert_eq!(p.cpu_ticks, 150);
        assert_eq!(p.start, 98765);
        assert_eq!(p.rss_pages, 2500);
        assert_eq!(parse_process_stat("12 (cut"), None);
        assert_eq!(process_label("a\u{7}b", 7), "a?b (7)");
        assert_eq!(
            parse_status_rss("Name: x\nVmRSS:\t  2048 kB\n"),
            Some(2048 * 1024)
        );
    }

    #[test]
    fn the_sampler_reads_proc_where_there_is_one() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut sampler = HostSampler::new();
        if !std::path::Path::new("/proc/meminfo").exists() {
            assert!(sampler.sample(now, 3, None).is_err());
            return;
        }
        let first = sampler.sample(now, 3, Some("host")).expect("first reading");
        let memory = first
            .iter()
            .find(|s| s.metric == "memory_percent")
            .expect("memory");
        assert!((0.0..=100.0).contains(&memory.value));
        assert!(first.iter().all(|s| s.validate().is_ok()));
        assert!(first.iter().all(|s| s.component.as_deref() == Some("host")));
        assert!(
            !first.iter().any(|s| s.metric == "cpu_percent"),
            "no rate yet"
        );
        let by_memory = first
            .iter()
            .filter(|s| s.metric == "process_memory_bytes")
            .count();
        assert!((1..=3).contains(&by_memory), "{by_memory}");
        // Some CPU work, so the second reading has ticks to share.
        let mut x = 0u64;
        let until = Instant::now() + std::time::Duration::from_millis(60);
        while Instant::now() < until {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        let second = sampler.sample(now, 3, None).expect("second reading");
        let busy = second
            .iter()
            .find(|s| s.metric == "cpu_percent")
            .expect("cpu after two readings");
        assert!((0.0..=100.0).contains(&busy.value), "{}", busy.value);
        assert!(
            second
                .iter()
                .any(|s| s.metric == "network_in_bytes_per_second")
        );
        assert!(second.iter().all(|s| s.validate().is_ok()));
        let me = second
            .iter()
            .filter(|s| s.metric == "process_cpu_percent")
            .count();
        assert!((1..=3).contains(&me), "{me}");
    }
}
