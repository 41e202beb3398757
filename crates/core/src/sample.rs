//! Samples — points of time series that collectors write and anyone may push (DESIGN §2) — and
//! the resource utilization view built from them (DESIGN §3.8, the specification's
//! `ResourceMetrics`).
//!
//! # Metric names
//!
//! [`resource_metrics`] reads the newest sample of each series and maps these metric names (the
//! names the host and database collectors write) onto the view's figures:
//!
//! | metric                         | unit    | figure                                  |
//! |--------------------------------|---------|-----------------------------------------|
//! | `cpu_percent`                  | %       | `cpu.usage_percent`                     |
//! | `cpu_cores_used`               | cores   | `cpu.cores_used`                        |
//! | `memory_used_bytes`            | bytes   | `memory.used_gb`                        |
//! | `memory_available_bytes`       | bytes   | `memory.available_gb`                   |
//! | `memory_percent`               | %       | `memory.percent`                        |
//! | `disk_read_bytes_per_second`   | bytes/s | `disk.read_mb_s`                        |
//! | `disk_write_bytes_per_second`  | bytes/s | `disk.write_mb_s`                       |
//! | `disk_used_bytes`              | bytes   | `disk.used_gb`                          |
//! | `disk_free_bytes`              | bytes   | `disk.free_gb`                          |
//! | `network_in_bytes_per_second`  | bytes/s | `network.in_mb_s`                       |
//! | `network_out_bytes_per_second` | bytes/s | `network.out_mb_s`                      |
//! | `db_connections_active`        | count   | `database.connections_active`           |
//! | `db_connections_idle`          | count   | `database.connections_idle`             |
//! | `db_pool_size`                 | count   | `database.pool_size`                    |
//! | `db_queries_per_second`        | 1/s     | `database.queries_per_sec`              |
//! | `process_cpu_percent`          | %       | `top_consumers[].cpu_percent`           |
//! | `process_memory_bytes`         | bytes   | `top_consumers[].memory_mb`             |
//!
//! Rules:
//! - a figure with no sample is absent (`null`), never zero;
//! - several series of one metric (several hosts or databases, told apart by component or
//!   labels) are added up, except the percentages (`cpu_percent`, `memory_percent`), which are
//!   averaged;
//! - GB is 2^30 bytes and MB 2^20 bytes, as operating systems report memory;
//! - `memory.percent` without a `memory_percent` sample is used / (used + available) × 100
//!   when both are known;
//! - `database.pool_usage` is active / pool size (a fraction, 0–1), absent without both or
//!   with a pool of 0;
//! - `top_consumers` are the processes named by the `process` label of `process_cpu_percent`
//!   and `process_memory_bytes` samples (samples without that label are ignored), by CPU then
//!   memory, highest first, at most [`TOP_CONSUMERS`];
//! - `components` repeats the figures for each component that samples name, from those
//!   samples alone (the totals above take every series, with or without a component).
//!
//! [`history`] draws a metric over time for the charts by the same rules: the span is cut into
//! equal buckets; each bucket holds each series' latest sample in it, and the series are added
//! up (percentages averaged); a bucket without a sample is a gap, never zero.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::OperationError;

/// Most labels one sample may carry.
pub const MAX_LABELS: usize = 32;
/// Longest metric, unit, component, label key or value of a sample, in characters.
pub const MAX_NAME_LEN: usize = 200;
/// Processes listed in [`ResourceMetrics::top_consumers`].
pub const TOP_CONSUMERS: usize = 10;

/// Bytes in a GB as shown (2^30).
const GB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Bytes in an MB as shown (2^20).
const MB: f64 = 1024.0 * 1024.0;

/// One point of one time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// When the value was measured (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The series' name, such as `cpu_percent` (see the module's table).
    pub metric: String,
    /// The value.
    pub value: f64,
    /// The value's unit, if given (informative: the metric's name fixes how it is read).
    #[serde(default)]
    pub unit: Option<String>,
    /// The component it concerns, if any.
    #[serde(default)]
    pub component: Option<String>,
    /// Further dimensions of the series, such as `host` or `process`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Sample {
    /// A sample of `metric` at `timestamp` with no unit, component or labels.
    pub fn new(timestamp: OffsetDateTime, metric: &str, value: f64) -> Self {
        Sample {
            timestamp,
            metric: metric.to_owned(),
            value,
            unit: None,
            component: None,
            labels: BTreeMap::new(),
        }
    }

    /// Checks the rules every stored sample obeys, naming the first field that breaks one.
    ///
    /// Rules: `metric` is a name (see [`crate::limits::check_name`]) of ASCII letters, digits,
    /// `_`, `.` and `:`; `value` is finite; `unit` and `component`, when given, are non-empty
    /// names; at most [`MAX_LABELS`] labels, each key a non-empty name and each value a name;
    /// every one of these at most [`MAX_NAME_LEN`] characters (a sample is one point of many:
    /// its names are short, and the API's document says so); the timestamp lies between years
    /// 1970 and 9999.
    pub fn validate(&self) -> Result<(), OperationError> {
        fn text(field: &'static str, v: &str, required: bool) -> Result<(), OperationError> {
            crate::limits::check_name(v, required).map_err(|m| OperationError::field(field, m))?;
            let n = v.chars().count();
            if n > MAX_NAME_LEN {
                return Err(OperationError::field(
                    field,
                    format!("is {n} characters long; the limit is {MAX_NAME_LEN}"),
                ));
            }
            Ok(())
        }
        text("metric", &self.metric, true)?;
        if let Some(c) = self
            .metric
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':')))
        {
            return Err(OperationError::field(
                "metric",
                format!("{c:?} is not allowed: use ASCII letters, digits, `_`, `.` and `:`"),
            ));
        }
        if !self.value.is_finite() {
            return Err(OperationError::field(
                "value",
                format!("must be a finite number, not {}", self.value),
            ));
        }
        if let Some(u) = &self.unit {
            text("unit", u, true)?;
        }
        if let Some(c) = &self.component {
            text("component", c, true)?;
        }
        if self.labels.len() > MAX_LABELS {
            return Err(OperationError::field(
                "labels",
                format!(
                    "has {} labels; the limit is {MAX_LABELS}",
                    self.labels.len()
                ),
            ));
        }
        for (k, v) in &self.labels {
            text("labels", k, true)
                .and_then(|()| text("labels", v, false))
                .map_err(|e| OperationError::field("labels", format!("{k:?}: {}", e.message)))?;
        }
        let year = self.timestamp.year();
        if !(1970..=9999).contains(&year) {
            return Err(OperationError::field(
                "timestamp",
                format!("year {year} is outside 1970–9999"),
            ));
        }
        Ok(())
    }
}

/// CPU figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cpu {
    /// Busy share of all cores, percent (`cpu_percent`).
    pub usage_percent: Option<f64>,
    /// Cores busy (`cpu_cores_used`).
    pub cores_used: Option<f64>,
}

/// Memory figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Memory {
    /// Used, GB (`memory_used_bytes`).
    pub used_gb: Option<f64>,
    /// Available, GB (`memory_available_bytes`).
    pub available_gb: Option<f64>,
    /// Used share, percent (`memory_percent`, else derived from used and available).
    pub percent: Option<f64>,
}

/// Disk figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Disk {
    /// Read rate, MB/s (`disk_read_bytes_per_second`).
    pub read_mb_s: Option<f64>,
    /// Write rate, MB/s (`disk_write_bytes_per_second`).
    pub write_mb_s: Option<f64>,
    /// Used space, GB (`disk_used_bytes`).
    pub used_gb: Option<f64>,
    /// Free space, GB (`disk_free_bytes`).
    pub free_gb: Option<f64>,
}

/// Network figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Network {
    /// Received, MB/s (`network_in_bytes_per_second`).
    pub in_mb_s: Option<f64>,
    /// Sent, MB/s (`network_out_bytes_per_second`).
    pub out_mb_s: Option<f64>,
}

/// Database figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Database {
    /// Connections running a query (`db_connections_active`).
    pub connections_active: Option<f64>,
    /// Open connections waiting (`db_connections_idle`).
    pub connections_idle: Option<f64>,
    /// Queries per second (`db_queries_per_second`).
    pub queries_per_sec: Option<f64>,
    /// The connection pool's size (`db_pool_size`).
    pub pool_size: Option<f64>,
    /// Active connections / pool size, a fraction 0–1.
    pub pool_usage: Option<f64>,
}

/// One process among the top resource consumers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consumer {
    /// The process, from the samples' `process` label.
    pub name: String,
    /// Its CPU use, percent (`process_cpu_percent`).
    pub cpu_percent: Option<f64>,
    /// Its memory, MB (`process_memory_bytes`).
    pub memory_mb: Option<f64>,
}

/// The resource utilization view: the specification's `ResourceMetrics`, every figure absent
/// when no sample gives it, plus the pool's size and usage and the top consumers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceMetrics {
    /// When the view was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// CPU.
    pub cpu: Cpu,
    /// Memory.
    pub memory: Memory,
    /// Disk.
    pub disk: Disk,
    /// Network.
    pub network: Network,
    /// Database connections and queries.
    pub database: Database,
    /// The processes using the most CPU (then memory), highest first.
    pub top_consumers: Vec<Consumer>,
    /// The same figures per component, from the samples that name one, by component name.
    pub components: Vec<ComponentResources>,
}

/// The resource figures of one component, from the samples that name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentResources {
    /// The component, as the samples name it.
    pub component: String,
    /// CPU.
    pub cpu: Cpu,
    /// Memory.
    pub memory: Memory,
    /// Disk.
    pub disk: Disk,
    /// Network.
    pub network: Network,
    /// Database connections and queries.
    pub database: Database,
}

/// The key of a sample's series: its metric, component and labels, so samples of one host or
/// one database replace each other and samples of different ones are combined.
pub fn series_key(s: &Sample) -> String {
    let mut key = String::with_capacity(s.metric.len() + 16);
    key.push_str(&s.metric);
    key.push('\u{1f}');
    key.push_str(s.component.as_deref().unwrap_or(""));
    for (k, v) in &s.labels {
        key.push('\u{1f}');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

/// Whether a metric's series are averaged (a share of something) rather than added up.
pub fn is_percentage(metric: &str) -> bool {
    matches!(metric, "cpu_percent" | "memory_percent")
}

/// `metric` over `(since, until]` in `buckets` equal buckets, oldest first, by the module's
/// rules: each bucket (start, end] holds each series' latest sample in it, the series added up
/// (percentages averaged); `None` for a bucket without a sample. Samples of other metrics or
/// outside the span, and values that are not finite, are ignored. No bucket without a span
/// that is positive or without buckets.
pub fn history(
    samples: &[Sample],
    metric: &str,
    since: OffsetDateTime,
    until: OffsetDateTime,
    buckets: usize,
) -> Vec<Option<f64>> {
    let span = (until - since).whole_nanoseconds();
    if span <= 0 || buckets == 0 {
        return Vec::new();
    }
    let n = buckets as i128;
    let mut latest: Vec<BTreeMap<String, (OffsetDateTime, f64)>> = vec![BTreeMap::new(); buckets];
    for s in samples {
        if s.metric != metric || !s.value.is_finite() || s.timestamp <= since || s.timestamp > until
        {
            continue;
        }
        // Offset from the start in (0, span]; bucket k holds (k·span/n, (k+1)·span/n].
        let offset = (s.timestamp - since).whole_nanoseconds();
        let k = ((offset * n + span - 1) / span - 1).clamp(0, n - 1) as usize;
        let slot = latest[k]
            .entry(series_key(s))
            .or_insert((s.timestamp, s.value));
        if s.timestamp >= slot.0 {
            *slot = (s.timestamp, s.value);
        }
    }
    let mean = is_percentage(metric);
    latest
        .iter()
        .map(|series| {
            if series.is_empty() {
                return None;
            }
            let sum: f64 = series.values().map(|(_, v)| v).sum();
            Some(if mean { sum / series.len() as f64 } else { sum })
        })
        .collect()
}

/// The resource utilization view from the newest sample of each series (see the module's
/// rules), as of `now`.
pub fn resource_metrics(latest: &[Sample], now: OffsetDateTime) -> ResourceMetrics {
    let all: Vec<&Sample> = latest.iter().collect();
    let (cpu, memory, disk, network, database) = figures(&all);
    let mut by_component: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in latest {
        if let Some(c) = &s.component {
            by_component.entry(c).or_default().push(s);
        }
    }
    ResourceMetrics {
        timestamp: now,
        cpu,
        memory,
        disk,
        network,
        database,
        top_consumers: top_consumers(latest),
        components: by_component
            .into_iter()
            .map(|(component, samples)| {
                let (cpu, memory, disk, network, database) = figures(&samples);
                ComponentResources {
                    component: component.to_owned(),
                    cpu,
                    memory,
                    disk,
                    network,
                    database,
                }
            })
            .collect(),
    }
}

/// The figures of one set of samples (see the module's rules).
fn figures(latest: &[&Sample]) -> (Cpu, Memory, Disk, Network, Database) {
    let sum = |metric: &str| {
        latest
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| s.value)
            .fold(None, |acc: Option<f64>, v| Some(acc.unwrap_or(0.0) + v))
    };
    let mean = |metric: &str| {
        let (n, total) = latest
            .iter()
            .filter(|s| s.metric == metric)
            .fold((0u32, 0.0), |(n, t), s| (n + 1, t + s.value));
        (n > 0).then(|| total / f64::from(n))
    };
    let scaled = |metric: &str, unit: f64| sum(metric).map(|v| v / unit);

    let used = sum("memory_used_bytes");
    let available = sum("memory_available_bytes");
    let percent = mean("memory_percent").or(match (used, available) {
        (Some(u), Some(a)) if u + a > 0.0 => Some(u / (u + a) * 100.0),
        _ => None,
    });
    let active = sum("db_connections_active");
    let pool_size = sum("db_pool_size");
    let pool_usage = match (active, pool_size) {
        (Some(a), Some(p)) if p > 0.0 => Some(a / p),
        _ => None,
    };

    (
        Cpu {
            usage_percent: mean("cpu_percent"),
            cores_used: sum("cpu_cores_used"),
        },
        Memory {
            used_gb: used.map(|v| v / GB),
            available_gb: available.map(|v| v / GB),
            percent,
        },
        Disk {
            read_mb_s: scaled("disk_read_bytes_per_second", MB),
            write_mb_s: scaled("disk_write_bytes_per_second", MB),
            used_gb: scaled("disk_used_bytes", GB),
            free_gb: scaled("disk_free_bytes", GB),
        },
        Network {
            in_mb_s: scaled("network_in_bytes_per_second", MB),
            out_mb_s: scaled("network_out_bytes_per_second", MB),
        },
        Database {
            connections_active: active,
            connections_idle: sum("db_connections_idle"),
            queries_per_sec: sum("db_queries_per_second"),
            pool_size,
            pool_usage,
        },
    )
}

/// The processes of `process_cpu_percent` and `process_memory_bytes` samples, by CPU then
/// memory, highest first (ties by name), at most [`TOP_CONSUMERS`].
fn top_consumers(latest: &[Sample]) -> Vec<Consumer> {
    let mut by_name: BTreeMap<&str, Consumer> = BTreeMap::new();
    for s in latest {
        let is_cpu = match s.metric.as_str() {
            "process_cpu_percent" => true,
            "process_memory_bytes" => false,
            _ => continue,
        };
        let Some(name) = s.labels.get("process") else {
            continue;
        };
        let c = by_name.entry(name).or_insert_with(|| Consumer {
            name: name.clone(),
            cpu_percent: None,
            memory_mb: None,
        });
        let (slot, v) = if is_cpu {
            (&mut c.cpu_percent, s.value)
        } else {
            (&mut c.memory_mb, s.value / MB)
        };
        *slot = Some(slot.unwrap_or(0.0) + v);
    }
    let mut out: Vec<Consumer> = by_name.into_values().collect();
    let key = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    out.sort_by(|a, b| {
        key(b.cpu_percent)
            .total_cmp(&key(a.cpu_percent))
            .then(key(b.memory_mb).total_cmp(&key(a.memory_mb)))
            .then_with(|| a.name.cmp(&b.name))
    });
    out.truncate(TOP_CONSUMERS);
    out
}

/// One series' figures over a span: what the aggregates keep of its samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampleStats {
    /// The series' metric.
    pub metric: String,
    /// Its component, if any.
    pub component: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean.
    pub mean: f64,
    /// How many values.
    pub count: u64,
    /// The 95th percentile by nearest rank: exact from raw samples, within 10 % from the
    /// aggregates' sketches (see [`crate::sketch::ValueSketch`]).
    pub p95: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_NAME_BYTES;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

    fn s(metric: &str, value: f64) -> Sample {
        Sample::new(NOW, metric, value)
    }

    fn labelled(metric: &str, value: f64, key: &str, label: &str) -> Sample {
        let mut x = s(metric, value);
        x.labels.insert(key.into(), label.into());
        x
    }

    #[test]
    fn a_plain_sample_is_valid() {
        assert_eq!(s("cpu_percent", 12.0).validate(), Ok(()));
        assert_eq!(s("host:cpu.user_1", -3.0).validate(), Ok(()));
    }

    #[test]
    fn each_rule_names_its_field() {
        type Breaker = fn(&mut Sample);
        let cases: Vec<(&str, Breaker)> = vec![
            ("metric", |x| x.metric = String::new()),
            ("metric", |x| x.metric = "cpu percent".into()),
            ("metric", |x| x.metric = "cpu-percent".into()),
            ("metric", |x| x.metric = "é".into()),
            ("metric", |x| x.metric = "m".repeat(MAX_NAME_BYTES + 1)),
            ("value", |x| x.value = f64::NAN),
            ("value", |x| x.value = f64::INFINITY),
            ("unit", |x| x.unit = Some(String::new())),
            ("component", |x| x.component = Some("a\nb".into())),
            ("labels", |x| {
                x.labels = (0..=MAX_LABELS)
                    .map(|i| (i.to_string(), "v".into()))
                    .collect()
            }),
            ("labels", |x| {
                x.labels.insert(String::new(), "v".into());
            }),
            ("labels", |x| {
                x.labels.insert("k".into(), "v".repeat(MAX_NAME_BYTES + 1));
            }),
            ("labels", |x| {
                x.labels.insert("k".repeat(MAX_NAME_BYTES + 1), "v".into());
            }),
            ("timestamp", |x| {
                x.timestamp = datetime!(1969-12-31 23:59 UTC)
            }),
        ];
        for (field, break_it) in cases {
            let mut x = s("cpu_percent", 1.0);
            break_it(&mut x);
            assert_eq!(x.validate().unwrap_err().field, field, "{x:?}");
        }
    }

    #[test]
    fn the_longest_names_and_most_labels_are_accepted() {
        let mut x = s(&"m".repeat(MAX_NAME_LEN), 1.0);
        x.labels = (0..MAX_LABELS)
            .map(|i| {
                (
                    format!("{i:03}{}", "k".repeat(MAX_NAME_LEN - 3)),
                    "ü".repeat(MAX_NAME_LEN),
                )
            })
            .collect();
        assert_eq!(x.validate(), Ok(()));
    }

    #[test]
    fn samples_round_trip_through_json_with_empty_labels_by_default() {
        let x: Sample = serde_json::from_str(
            r#"{"timestamp":"2025-03-01T13:00:00+01:00","metric":"cpu_percent","value":5}"#,
        )
        .unwrap();
        assert_eq!(x, s("cpu_percent", 5.0));
        let back: Sample = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
        assert_eq!(back, x);
    }

    #[test]
    fn no_samples_leave_every_figure_absent() {
        let r = resource_metrics(&[], NOW);
        let json = serde_json::to_value(&r).unwrap();
        for group in ["cpu", "memory", "disk", "network", "database"] {
            for (k, v) in json[group].as_object().unwrap() {
                assert!(v.is_null(), "{group}.{k} = {v}");
            }
        }
        assert_eq!(json["timestamp"], "2025-03-01T12:00:00Z");
        assert_eq!(json["top_consumers"], serde_json::json!([]));
    }

    #[test]
    fn each_metric_name_lands_on_its_figure_in_its_unit() {
        let latest = [
            s("cpu_percent", 78.0),
            s("cpu_cores_used", 12.5),
            s("memory_used_bytes", 10.0 * GB),
            s("memory_available_bytes", 6.0 * GB),
            s("memory_percent", 68.0),
            s("disk_read_bytes_per_second", 125.0 * MB),
            s("disk_write_bytes_per_second", 45.0 * MB),
            s("disk_used_bytes", 400.0 * GB),
            s("disk_free_bytes", 100.0 * GB),
            s("network_in_bytes_per_second", 12.0 * MB),
            s("network_out_bytes_per_second", 8.5 * MB),
            s("db_connections_active", 45.0),
            s("db_connections_idle", 23.0),
            s("db_pool_size", 200.0),
            s("db_queries_per_second", 1200.0),
            s("unrelated_metric", 1.0),
        ];
        let r = resource_metrics(&latest, NOW);
        assert_eq!(
            r.cpu,
            Cpu {
                usage_percent: Some(78.0),
                cores_used: Some(12.5)
            }
        );
        assert_eq!(
            r.memory,
            Memory {
                used_gb: Some(10.0),
                available_gb: Some(6.0),
                percent: Some(68.0)
            }
        );
        assert_eq!(
            r.disk,
            Disk {
                read_mb_s: Some(125.0),
                write_mb_s: Some(45.0),
                used_gb: Some(400.0),
                free_gb: Some(100.0)
            }
        );
        assert_eq!(
            r.network,
            Network {
                in_mb_s: Some(12.0),
                out_mb_s: Some(8.5)
            }
        );
        assert_eq!(
            r.database,
            Database {
                connections_active: Some(45.0),
                connections_idle: Some(23.0),
                queries_per_sec: Some(1200.0),
                pool_size: Some(200.0),
                pool_usage: Some(0.225),
            }
        );
        assert!(r.top_consumers.is_empty());
    }

    #[test]
    fn several_series_add_up_and_percentages_average() {
        let latest = [
            labelled("cpu_percent", 20.0, "host", "a"),
            labelled("cpu_percent", 60.0, "host", "b"),
            labelled("memory_used_bytes", 2.0 * GB, "host", "a"),
            labelled("memory_used_bytes", 4.0 * GB, "host", "b"),
            labelled("db_connections_active", 5.0, "db", "x"),
            labelled("db_connections_active", 7.0, "db", "y"),
        ];
        let r = resource_metrics(&latest, NOW);
        assert_eq!(r.cpu.usage_percent, Some(40.0));
        assert_eq!(r.memory.used_gb, Some(6.0));
        assert_eq!(r.database.connections_active, Some(12.0));
        // No pool size: no usage.
        assert_eq!(r.database.pool_usage, None);
    }

    #[test]
    fn memory_percent_falls_back_to_used_over_used_and_available() {
        let r = resource_metrics(
            &[
                s("memory_used_bytes", 3.0 * GB),
                s("memory_available_bytes", 1.0 * GB),
            ],
            NOW,
        );
        assert_eq!(r.memory.percent, Some(75.0));
        let r = resource_metrics(&[s("memory_used_bytes", 3.0 * GB)], NOW);
        assert_eq!(r.memory.percent, None);
    }

    #[test]
    fn a_pool_of_zero_has_no_usage() {
        let r = resource_metrics(
            &[s("db_connections_active", 3.0), s("db_pool_size", 0.0)],
            NOW,
        );
        assert_eq!(r.database.pool_usage, None);
    }

    #[test]
    fn top_consumers_are_processes_by_cpu_then_memory() {
        let mut latest = vec![
            labelled("process_cpu_percent", 85.0, "process", "worker-3"),
            labelled("process_memory_bytes", 2048.0 * MB, "process", "worker-3"),
            labelled("process_cpu_percent", 10.0, "process", "postgres"),
            labelled("process_memory_bytes", 512.0 * MB, "process", "validator"),
            labelled("process_memory_bytes", 900.0 * MB, "process", "exporter"),
            // Without a `process` label it names no process.
            s("process_cpu_percent", 99.0),
        ];
        for i in 0..TOP_CONSUMERS {
            latest.push(labelled(
                "process_memory_bytes",
                1.0,
                "process",
                &format!("tiny-{i:02}"),
            ));
        }
        let r = resource_metrics(&latest, NOW);
        let names: Vec<&str> = r.top_consumers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(r.top_consumers.len(), TOP_CONSUMERS);
        assert_eq!(
            &names[..5],
            ["worker-3", "postgres", "exporter", "validator", "tiny-00"]
        );
        assert_eq!(
            r.top_consumers[0],
            Consumer {
                name: "worker-3".into(),
                cpu_percent: Some(85.0),
                memory_mb: Some(2048.0),
            }
        );
        assert_eq!(r.top_consumers[1].memory_mb, None);
    }

    #[test]
    fn components_repeat_the_figures_from_their_own_samples() {
        let mut a = s("cpu_percent", 20.0);
        a.component = Some("storage".into());
        let mut b = s("memory_used_bytes", 2.0 * GB);
        b.component = Some("storage".into());
        let mut c = s("cpu_percent", 60.0);
        c.component = Some("config".into());
        let r = resource_metrics(&[a, b, c, s("cpu_percent", 100.0)], NOW);
        assert_eq!(
            r.cpu.usage_percent,
            Some(60.0),
            "the totals take every series"
        );
        let names: Vec<&str> = r.components.iter().map(|c| c.component.as_str()).collect();
        assert_eq!(names, ["config", "storage"]);
        assert_eq!(r.components[1].cpu.usage_percent, Some(20.0));
        assert_eq!(r.components[1].memory.used_gb, Some(2.0));
        assert_eq!(r.components[0].memory.used_gb, None);
        assert!(
            resource_metrics(&[s("cpu_percent", 1.0)], NOW)
                .components
                .is_empty()
        );
    }

    #[test]
    fn series_keys_tell_hosts_and_components_apart() {
        let a = labelled("cpu_percent", 1.0, "host", "a");
        let b = labelled("cpu_percent", 1.0, "host", "b");
        let mut c = s("cpu_percent", 1.0);
        c.component = Some("host=a".into());
        let keys = [
            series_key(&a),
            series_key(&b),
            series_key(&c),
            series_key(&s("cpu_percent", 2.0)),
        ];
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                assert_ne!(keys[i], keys[j], "{i} and {j}");
            }
        }
        assert_eq!(
            series_key(&a),
            series_key(&labelled("cpu_percent", 9.0, "host", "a"))
        );
    }

    #[test]
    fn history_buckets_hold_each_series_latest_sample() {
        let since = NOW - time::Duration::minutes(60);
        let at = |min: i64, metric: &str, v: f64, host: &str| {
            let mut x = labelled(metric, v, "host", host);
            x.timestamp = since + time::Duration::minutes(min);
            x
        };
        let samples = [
            at(1, "cpu_percent", 10.0, "a"),
            at(5, "cpu_percent", 20.0, "a"), // a's latest in bucket 0
            at(3, "cpu_percent", 40.0, "b"),
            at(6, "cpu_percent", 99.0, "a"), // a bucket's end belongs to it: bucket 0
            at(59, "cpu_percent", 30.0, "a"),
            at(60, "cpu_percent", 50.0, "a"), // now: the last bucket
            at(0, "cpu_percent", 77.0, "a"),  // the span's start is outside it
            at(61, "cpu_percent", 77.0, "a"), // after the span
            at(30, "memory_used_bytes", 1.0, "a"),
            at(31, "memory_used_bytes", 2.0, "b"),
        ];
        let h = history(&samples, "cpu_percent", since, NOW, 10);
        assert_eq!(h.len(), 10);
        assert_eq!(h[0], Some((99.0 + 40.0) / 2.0), "percentages are averaged");
        assert_eq!(h[1..9], [None; 8]);
        assert_eq!(h[9], Some(50.0));
        let m = history(&samples, "memory_used_bytes", since, NOW, 10);
        assert_eq!(m[4], Some(1.0));
        assert_eq!(m[5], Some(2.0));
        let both = history(&samples, "memory_used_bytes", since, NOW, 1);
        assert_eq!(both, [Some(3.0)], "amounts are added up");
        assert!(history(&samples, "cpu_percent", NOW, NOW, 10).is_empty());
        assert!(history(&samples, "cpu_percent", since, NOW, 0).is_empty());
    }
}
