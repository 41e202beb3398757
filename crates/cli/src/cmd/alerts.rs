//! `mhd alerts`: the alerts, their acknowledgements and silences, read and written in the store
//! directly. A running server sees acknowledgements and silences made here at its next
//! evaluation.
//!
//! - `mhd alerts [--json] [--state S] [--all]` lists the pending and firing alerts (with
//!   `--all`, the resolved history too) and the silences;
//! - `mhd alerts ack ID [--comment C] [--by NAME]` acknowledges one (`--by` defaults to
//!   `$USER`);
//! - `mhd alerts silence --rule R | --component C --for 2h [--comment C]` mutes a rule, a
//!   component or both;
//! - `mhd alerts unsilence ID` removes a silence.

use std::process::ExitCode;

use mhd_core::alerts::{Alert, AlertState, Severity, Silence};
use mhd_core::format::{relative, terminal_safe};
use mhd_store::alerts::{AlertFilter, AlertStore, AlertStoreError, NewSilence, parse_state};
use serde_json::json;
use time::Duration;

use crate::cmd::audit;
use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::{Align, Cell, Style, Table, paint, print_json, wrap};

/// Resolved alerts `--all` lists.
const HISTORY_ROWS: u32 = 100;
/// The longest silence.
const MAX_SILENCE: Duration = Duration::days(90);

/// `mhd alerts`' options and subcommands.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AlertsArgs {
    /// What to do; without one, list the alerts.
    #[command(subcommand)]
    pub action: Option<AlertsAction>,
    /// Print JSON: `{active, resolved, silences}`, as `GET /api/v1/alerts`.
    #[arg(long)]
    pub json: bool,
    /// Only alerts in this state: pending, firing, active (both) or resolved.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// List the resolved history too (the newest 100).
    #[arg(long)]
    pub all: bool,
}

/// `mhd alerts`' subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AlertsAction {
    /// Acknowledge a pending or firing alert.
    Ack(AckArgs),
    /// Mute the notifications of a rule, a component or both for a while.
    Silence(SilenceArgs),
    /// Remove a silence.
    Unsilence(UnsilenceArgs),
}

/// `mhd alerts ack`.
#[derive(Debug, clap::Args)]
pub struct AckArgs {
    /// The alert's id (`mhd alerts` lists them).
    pub id: i64,
    /// Why, or what is being done.
    #[arg(long, short)]
    pub comment: Option<String>,
    /// Who acknowledges [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
}

/// `mhd alerts silence`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).multiple(true).args(["rule", "component"])))]
pub struct SilenceArgs {
    /// Only this rule of the plan.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only this component of the plan.
    #[arg(long)]
    pub component: Option<String>,
    /// How long, such as 30m, 2h or 1d (at most 90 days).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,
    /// Why.
    #[arg(long, short)]
    pub comment: Option<String>,
    /// Who silences [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
}

/// `mhd alerts unsilence`.
#[derive(Debug, clap::Args)]
pub struct UnsilenceArgs {
    /// The silence's id (`mhd alerts` lists them).
    pub id: i64,
}

/// Runs `mhd alerts` and its subcommands.
pub async fn run(args: AlertsArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match args.action {
        None => list(args.json, args.state.as_deref(), args.all, ctx).await,
        Some(AlertsAction::Ack(a)) => ack(a, ctx).await,
        Some(AlertsAction::Silence(a)) => silence(a, ctx).await,
        Some(AlertsAction::Unsilence(a)) => unsilence(a, ctx).await,
    }
}

/// Who does it: `--by`, else `$USER`, else `anonymous`.
fn who(by: Option<String>) -> String {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// A store refusal as the user reads it: unknown ids and bad values are bad input (exit 2).
fn refusal(e: AlertStoreError) -> anyhow::Error {
    match e {
        AlertStoreError::Store(e) => anyhow::Error::new(e),
        other => usage(other.to_string()),
    }
}

fn severity_style(s: Severity) -> (Style, &'static str) {
    match s {
        Severity::Info => (Style::Dim, "● info"),
        Severity::Warning => (Style::Yellow, "▲ warning"),
        Severity::Error => (Style::Red, "■ error"),
        Severity::Critical => (Style::Red, "◆ critical"),
    }
}

async fn list(json: bool, state: Option<&str>, all: bool, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let states = match state {
        None => None,
        Some("active") => Some(vec![AlertState::Pending, AlertState::Firing]),
        Some(s) => Some(vec![parse_state(s).ok_or_else(|| {
            usage(format!(
                "--state: {:?} is not one of pending, firing, active, resolved",
                terminal_safe(s)
            ))
        })?]),
    };
    let wanted = |s: AlertState| states.as_ref().is_none_or(|l| l.contains(&s));
    let store = open_store(ctx).await?;
    let open: Vec<AlertState> = [AlertState::Pending, AlertState::Firing]
        .into_iter()
        .filter(|s| wanted(*s))
        .collect();
    let mut active = if open.is_empty() {
        Vec::new()
    } else {
        store
            .alerts(&AlertFilter {
                states: open,
                ..AlertFilter::default()
            })
            .await?
    };
    // Firing before pending, the most severe first, then the newest.
    mhd_core::model::sort_alerts(&mut active);
    // The history comes with --all, or when it is what --state asks for.
    let with_history = all || state == Some("resolved");
    let resolved = if with_history && wanted(AlertState::Resolved) {
        store
            .alerts(&AlertFilter {
                states: vec![AlertState::Resolved],
                limit: HISTORY_ROWS,
                ..AlertFilter::default()
            })
            .await?
    } else {
        Vec::new()
    };
    let silences = store.silences(ctx.now).await?;
    store.release();
    if json {
        print_json(&json!({ "active": active, "resolved": resolved, "silences": silences }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = ctx.color;
    if wanted(AlertState::Pending) || wanted(AlertState::Firing) {
        println!(
            "{}",
            paint(c, Style::Bold, &format!("Active alerts ({})", active.len()))
        );
        if active.is_empty() {
            println!("  No alert is pending or firing.");
        } else {
            println!(
                "{}",
                alert_table(&active, ctx.now, false).render(c, ctx.width)
            );
        }
    }
    if with_history && wanted(AlertState::Resolved) {
        println!();
        println!(
            "{}",
            paint(
                c,
                Style::Bold,
                &format!("Resolved alerts ({})", resolved.len())
            )
        );
        if resolved.is_empty() {
            println!("  No alert has resolved yet.");
        } else {
            println!(
                "{}",
                alert_table(&resolved, ctx.now, true).render(c, ctx.width)
            );
        }
    }
    println!();
    println!(
        "{}",
        paint(c, Style::Bold, &format!("Silences ({})", silences.len()))
    );
    if silences.is_empty() {
        println!("  None: every alert notifies its channels.");
    }
    for s in &silences {
        for line in wrap(&silence_line(s, ctx), ctx.width, "  ", "    ") {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The alerts as a table: one row each, with what was seen and the acknowledgement beneath.
fn alert_table(alerts: &[Alert], now: time::OffsetDateTime, resolved: bool) -> Table {
    let mut t = Table::new(
        &[
            ("ID", Align::Right),
            ("SEVERITY", Align::Left),
            ("STATE", Align::Left),
            ("COMPONENT", Align::Left),
            ("ALERT", Align::Left),
            (if resolved { "RESOLVED" } else { "SINCE" }, Align::Left),
        ],
        60,
    );
    for a in alerts {
        let (style, word) = severity_style(a.severity);
        let when = if resolved {
            a.resolved_at
        } else {
            Some(a.fired_at.unwrap_or(a.started_at))
        };
        t.row(vec![
            Cell::from(a.id.to_string()),
            Cell::new(word, style),
            Cell::from(a.state.as_str()),
            Cell::from(a.component.as_deref().unwrap_or("—")),
            Cell::from(&a.title),
            Cell::from(when.map_or_else(|| "—".to_owned(), |t| relative(now, t))),
        ]);
        t.note(Cell::new(&a.message, Style::Dim));
        if let Some(k) = &a.acknowledged {
            let mut text = format!("acknowledged by {} {}", k.by, relative(now, k.at));
            if let Some(c) = &k.comment {
                text.push_str(": ");
                text.push_str(c);
            }
            t.note(Cell::new(text, Style::Green));
        }
        if let Some(r) = &a.runbook {
            t.note(Cell::new(format!("runbook: {r}"), Style::Dim));
        }
    }
    t
}

/// One silence on one line, made safe for the terminal.
fn silence_line(s: &Silence, ctx: &Ctx) -> String {
    let scope = match (&s.rule, &s.component) {
        (Some(r), Some(c)) => format!("rule {r} on component {c}"),
        (Some(r), None) => format!("rule {r}"),
        (None, Some(c)) => format!("component {c}"),
        (None, None) => "every alert".to_owned(),
    };
    let mut line = format!(
        "#{} {scope} until {} ({}), by {}",
        s.id,
        mhd_core::format::rfc3339(s.until),
        relative(ctx.now, s.until),
        s.by
    );
    if let Some(c) = &s.comment {
        line.push_str(": ");
        line.push_str(c);
    }
    terminal_safe(&line).into_owned()
}

/// Acknowledges an alert and records it in the audit log as the API does (actor: the local
/// user, client `cli`), done or refused.
async fn ack(args: AckArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let by = who(args.by);
    let store = open_store(ctx).await?;
    let answer = store
        .acknowledge(args.id, &by, args.comment.as_deref(), ctx.now)
        .await;
    let resource = format!("alert {}", args.id);
    let mut details = json!({ "by": by.trim(), "comment": args.comment });
    match &answer {
        Ok(done) => {
            if let Some(r) = &done.replaced {
                details["replaced"] = json!(r);
            }
            audit::record(&store, ctx, "alert.acknowledge", &resource, details).await;
        }
        Err(e) if !matches!(e, AlertStoreError::Store(_)) => {
            details["error"] = e.to_string().into();
            audit::record_refused(&store, ctx, "alert.acknowledge", &resource, details).await;
        }
        Err(_) => {}
    }
    store.release();
    let done = answer.map_err(refusal)?;
    let ack = &done.acknowledgement;
    match &done.replaced {
        Some(r) => println!(
            "Acknowledged alert {} as {}, replacing the acknowledgement by {} {}.",
            ack.alert_id,
            terminal_safe(&ack.by),
            terminal_safe(&r.by),
            relative(ctx.now, r.at)
        ),
        None => println!(
            "Acknowledged alert {} as {}.",
            ack.alert_id,
            terminal_safe(&ack.by)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn silence(args: SilenceArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let rule = blank(args.rule);
    let component = blank(args.component);
    if rule.is_none() && component.is_none() {
        return Err(usage("give --rule, --component or both"));
    }
    if let Some(plan) = load_plan(&ctx.plan_path())? {
        if let Some(r) = &rule
            && !plan.alerts.rules.iter().any(|x| &x.name == r)
        {
            let known: Vec<&str> = plan.alerts.rules.iter().map(|x| x.name.as_str()).collect();
            return Err(usage(format!(
                "--rule: the plan has no rule {:?} (its rules: {})",
                terminal_safe(r),
                known.join(", ")
            )));
        }
        if let Some(c) = &component
            && plan.component(c).is_none()
        {
            let known: Vec<&str> = plan.components.iter().map(|x| x.id.as_str()).collect();
            return Err(usage(format!(
                "--component: the plan has no component {:?} (its components: {})",
                terminal_safe(c),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let duration = mhd_core::time_parse::parse_duration(&args.duration)
        .map_err(|e| usage(format!("--for: {}", terminal_safe(&e))))?;
    if duration <= Duration::ZERO || duration > MAX_SILENCE {
        return Err(usage(format!(
            "--for: {:?} must be longer than nothing and at most 90 days",
            terminal_safe(&args.duration)
        )));
    }
    let store = open_store(ctx).await?;
    let s = store
        .add_silence(&NewSilence {
            rule,
            component,
            starts_at: ctx.now,
            until: ctx.now + duration,
            by: who(args.by),
            comment: args.comment,
        })
        .await
        .map_err(refusal)?;
    let details = json!({
        "rule": s.rule,
        "component": s.component,
        "duration": args.duration,
        "by": s.by,
        "comment": s.comment,
    });
    audit::record(
        &store,
        ctx,
        "silence.add",
        &format!("silence {}", s.id),
        details,
    )
    .await;
    store.release();
    println!("Added silence {}", silence_line(&s, ctx));
    Ok(ExitCode::SUCCESS)
}

async fn unsilence(args: UnsilenceArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let s = store
        .remove_silence(args.id, ctx.now)
        .await
        .map_err(refusal)?;
    let resource = format!("silence {}", args.id);
    audit::record(&store, ctx, "silence.remove", &resource, json!({})).await;
    store.release();
    println!("Removed silence {}", silence_line(&s, ctx));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::alerts::{Acknowledgement, Impact};
    use time::macros::datetime;

    fn alert(id: i64, component: &str, title: &str) -> Alert {
        let now = datetime!(2025-02-28 12:00 UTC);
        Alert {
            id,
            key: format!("high_error_rate/{component}"),
            rule: "high_error_rate".into(),
            kind: "threshold".into(),
            severity: Severity::Critical,
            state: AlertState::Firing,
            title: title.into(),
            message: "error_rate 0.12 > 0.05 over the last 15 minutes, on 1 234 operations of \
                      the new system"
                .into(),
            component: Some(component.into()),
            value: Some(0.12),
            started_at: now - Duration::minutes(30),
            fired_at: Some(now - Duration::minutes(20)),
            last_seen: now,
            clear_since: None,
            resolved_at: None,
            resolution: None,
            acknowledged: (id == 2).then(|| Acknowledgement {
                alert_id: id,
                by: "carol".into(),
                at: now - Duration::minutes(5),
                comment: Some("looking at the tablespace quota of the archive partition".into()),
            }),
            impact: Impact::default(),
            runbook: Some("https://wiki.example/runbooks/error-rate".into()),
            suppressed_by: None,
            notified: true,
        }
    }

    #[test]
    fn the_alert_table_fits_80_columns_with_long_and_unicode_names() {
        let alerts = [
            alert(
                1,
                "customer-ledger-reconciliation-archive-eu-west-partition-0042",
                "Error rate above 5 % on customer-ledger-reconciliation-archive",
            ),
            alert(2, "Δεδομένα-数据", "Error rate above 5 % on Δεδομένα-数据"),
        ];
        let text =
            alert_table(&alerts, datetime!(2025-02-28 12:00 UTC), false).render(false, Some(80));
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?} in\n{text}");
        }
        assert!(text.contains("Δεδομένα-数据"), "{text}");
        insta::assert_snapshot!(text);
    }
}
