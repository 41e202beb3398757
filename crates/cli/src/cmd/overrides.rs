//! Settings of the plan that a deployment sets from outside it — a flag, an `MHD_*` variable, or
//! the variable the specification names (`RETENTION_DAYS`, `COLLECTION_INTERVAL`,
//! `PROMETHEUS_URL`) — in that order of precedence, over the plan, over the defaults.

use mhd_core::plan::{Plan, PromQuery, PrometheusCollector, RetentionSettings, Schedule};
use time::Duration;

use crate::ctx::usage;

/// The plan settings `serve` and `retention run` take from outside the plan.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlanOverrides {
    /// Keep operations this many days (the plan's [retention] operations; at least 30). Also
    /// RETENTION_DAYS.
    #[arg(long, value_name = "DAYS", env = "MHD_RETENTION_DAYS")]
    pub retention_days: Option<String>,
    /// Run every collector this often, such as 30s (the plan's collectors' interval). Also
    /// COLLECTION_INTERVAL.
    #[arg(long, value_name = "SPAN", env = "MHD_COLLECTION_INTERVAL")]
    pub collection_interval: Option<String>,
    /// The Prometheus server the plan's [[collectors.prometheus]] query (one with the
    /// specification's queries when the plan has none). Also PROMETHEUS_URL.
    #[arg(long, value_name = "URL", env = "MHD_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
}

/// A setting and what gave it, for messages.
struct Given {
    value: String,
    source: &'static str,
}

/// The flag's (or `MHD_*` variable's) value, else the specification's variable's.
fn given(value: Option<&String>, flag: &'static str, spec: &'static str) -> Option<Given> {
    if let Some(v) = value {
        return Some(Given {
            value: v.clone(),
            source: flag,
        });
    }
    std::env::var(spec)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|value| Given {
            value,
            source: spec,
        })
}

impl PlanOverrides {
    /// `--retention-days`, else `RETENTION_DAYS`.
    fn retention_days_given(&self) -> Option<Given> {
        given(
            self.retention_days.as_ref(),
            "--retention-days (or MHD_RETENTION_DAYS)",
            "RETENTION_DAYS",
        )
    }

    /// The retention of `plan` (the defaults without one) with `--retention-days` applied.
    pub fn retention(&self, plan: Option<&Plan>) -> anyhow::Result<RetentionSettings> {
        let mut settings = plan.map_or_else(RetentionSettings::default, |p| p.retention);
        if let Some(days) = self.retention_days_given() {
            let n: i64 = days.value.trim().parse().map_err(|_| {
                usage(format!(
                    "{} {:?}: not a whole number of days",
                    days.source, days.value
                ))
            })?;
            let kept = Duration::days(n);
            if kept < RetentionSettings::MIN_OPERATIONS {
                return Err(usage(format!(
                    "{} {n}: operations are kept at least {} days",
                    days.source,
                    RetentionSettings::MIN_OPERATIONS.whole_days()
                )));
            }
            settings.operations = kept;
        }
        Ok(settings)
    }

    /// Applies every override to `plan`: retention, the collectors' interval, Prometheus's
    /// address. Without a plan there is nothing to apply them to; one given then is a usage
    /// error, so that it is not silently ignored.
    pub fn apply(&self, plan: Option<&mut Plan>) -> anyhow::Result<()> {
        let interval = given(
            self.collection_interval.as_ref(),
            "--collection-interval (or MHD_COLLECTION_INTERVAL)",
            "COLLECTION_INTERVAL",
        );
        let prometheus = given(
            self.prometheus_url.as_ref(),
            "--prometheus-url (or MHD_PROMETHEUS_URL)",
            "PROMETHEUS_URL",
        );
        let Some(plan) = plan else {
            if let Some(g) = self.retention_days_given().or(interval).or(prometheus) {
                return Err(usage(format!(
                    "{} is given but there is no plan to apply it to: write one with `mhd init` \
                     or name it with --plan",
                    g.source
                )));
            }
            return Ok(());
        };
        plan.retention = self.retention(Some(plan))?;
        if let Some(g) = interval {
            let every = mhd_core::time_parse::parse_duration(&g.value)
                .ok()
                .filter(|d| d.is_positive())
                .ok_or_else(|| {
                    usage(format!(
                        "{} {:?}: not a span such as 15s or 1m",
                        g.source, g.value
                    ))
                })?;
            let c = &mut plan.collectors;
            for schedule in c
                .prometheus
                .iter_mut()
                .map(|x| &mut x.schedule)
                .chain(c.host.iter_mut().map(|x| &mut x.schedule))
                .chain(c.database.iter_mut().map(|x| &mut x.schedule))
                .chain(c.logs.iter_mut().map(|x| &mut x.schedule))
                .chain(c.git.iter_mut().map(|x| &mut x.schedule))
                .chain(c.tests.iter_mut().map(|x| &mut x.schedule))
            {
                schedule.interval = every;
            }
        }
        if let Some(g) = prometheus {
            let url = http_address(&g)?;
            if plan.collectors.prometheus.is_empty() {
                plan.collectors.prometheus.push(PrometheusCollector {
                    name: "prometheus".to_owned(),
                    url,
                    schedule: Schedule::default(),
                    queries: PromQuery::defaults(),
                    component: None,
                });
            } else {
                for c in &mut plan.collectors.prometheus {
                    c.url.clone_from(&url);
                }
            }
        }
        Ok(())
    }
}

/// An `http://` or `https://` address with a host, or a usage error naming where it came from.
fn http_address(g: &Given) -> anyhow::Result<String> {
    let v = g.value.trim();
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(v.trim_end_matches('/').to_owned()),
        _ => Err(usage(format!(
            "{} {:?}: not an http:// or https:// address",
            g.source, g.value
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(extra: &str) -> Plan {
        let source = format!(
            "[migration]\nname = \"M\"\nstart = \"2026-01-05\"\nweeks = 10\n\n[datasets]\ntotal = 3\n{extra}"
        );
        mhd_core::plan::parse(&source, "plan").unwrap()
    }

    #[test]
    fn prometheus_and_the_interval_are_set_on_every_collector() {
        let mut p = plan(
            "\n[[collectors.prometheus]]\nname = \"prod\"\nurl = \"http://old:9090\"\n\n\
             [[collectors.host]]\n",
        );
        let o = PlanOverrides {
            collection_interval: Some("45s".into()),
            prometheus_url: Some("http://prom.example:9090/".into()),
            ..Default::default()
        };
        o.apply(Some(&mut p)).unwrap();
        assert_eq!(p.collectors.prometheus.len(), 1);
        assert_eq!(p.collectors.prometheus[0].url, "http://prom.example:9090");
        assert_eq!(
            p.collectors.prometheus[0].schedule.interval,
            Duration::seconds(45)
        );
        assert_eq!(
            p.collectors.host[0].schedule.interval,
            Duration::seconds(45)
        );
    }

    #[test]
    fn a_prometheus_address_without_a_collector_adds_one_with_the_specifications_queries() {
        let mut p = plan("");
        let o = PlanOverrides {
            prometheus_url: Some("https://prom.example".into()),
            ..Default::default()
        };
        o.apply(Some(&mut p)).unwrap();
        let c = &p.collectors.prometheus[0];
        assert_eq!(
            (c.name.as_str(), c.url.as_str()),
            ("prometheus", "https://prom.example")
        );
        assert_eq!(c.queries, PromQuery::defaults());
    }

    #[test]
    fn bad_values_are_named_with_their_source() {
        for (o, says) in [
            (
                PlanOverrides {
                    prometheus_url: Some("prom:9090".into()),
                    ..Default::default()
                },
                "--prometheus-url (or MHD_PROMETHEUS_URL) \"prom:9090\"",
            ),
            (
                PlanOverrides {
                    collection_interval: Some("often".into()),
                    ..Default::default()
                },
                "--collection-interval (or MHD_COLLECTION_INTERVAL) \"often\"",
            ),
        ] {
            let e = o.apply(Some(&mut plan(""))).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            let e = o.apply(None).unwrap_err().to_string();
            assert!(e.contains("no plan"), "{e}");
        }
    }
}
