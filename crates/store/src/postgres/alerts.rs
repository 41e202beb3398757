//! Alerts, acknowledgements and silences in PostgreSQL: the rules of [`crate::alerts`].
//!
//! The alert loop runs on one replica (the leader) and writes evaluations; acknowledgements and
//! silences may come from any replica: an acknowledgement locks its alert's row (`FOR UPDATE`)
//! so that it never lands on an alert resolved meanwhile.

use mhd_core::alerts::{
    Acknowledgement, Alert, AlertEvent, AlertState, DatasetEvent, Impact, Silence, Transition,
};
use mhd_core::operation::kind;
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use super::PgStore;
use crate::alerts::{
    Acknowledged, AlertEventRecord, AlertFilter, AlertStore, AlertStoreError, LatestVerification,
    NewSilence, SELECT_ALERT, SELECT_SILENCE, check_name, clean_comment, corrupt, event_name,
    mark_reacknowledgements, names, parse_resolution, parse_severity, parse_state, resolution_name,
    standing_failures,
};
use crate::sqlite::{from_us, to_us};
use crate::{Result, StoreError};

fn alert_from_row(r: &PgRow) -> Result<Alert> {
    let id: i64 = r.try_get("id")?;
    let severity: String = r.try_get("severity")?;
    let state: String = r.try_get("state")?;
    let resolution: Option<String> = r.try_get("resolution")?;
    let resolution = match resolution {
        Some(s) => Some(parse_resolution(&s).ok_or_else(|| corrupt("resolution", &s))?),
        None => None,
    };
    let ack_by: Option<String> = r.try_get("ack_by")?;
    let acknowledged = match ack_by {
        Some(by) => Some(Acknowledgement {
            alert_id: id,
            by,
            at: from_us(r.try_get("ack_at_us")?),
            comment: r.try_get("ack_comment")?,
        }),
        None => None,
    };
    let opt_time = |name: &str| -> Result<Option<OffsetDateTime>> {
        Ok(r.try_get::<Option<i64>, _>(name)?.map(from_us))
    };
    Ok(Alert {
        id,
        key: r.try_get("key")?,
        rule: r.try_get("rule")?,
        kind: r.try_get("kind")?,
        severity: parse_severity(&severity).ok_or_else(|| corrupt("severity", &severity))?,
        state: parse_state(&state).ok_or_else(|| corrupt("state", &state))?,
        title: r.try_get("title")?,
        message: r.try_get("message")?,
        component: r.try_get("component")?,
        value: r.try_get("value")?,
        started_at: from_us(r.try_get("started_at_us")?),
        fired_at: opt_time("fired_at_us")?,
        last_seen: from_us(r.try_get("last_seen_us")?),
        clear_since: opt_time("clear_since_us")?,
        resolved_at: opt_time("resolved_at_us")?,
        resolution,
        acknowledged,
        impact: Impact {
            affected_datasets: names(&r.try_get::<String, _>("impact_datasets")?),
            components: names(&r.try_get::<String, _>("impact_components")?),
            estimated_downtime_minutes: r.try_get("impact_downtime_minutes")?,
        },
        runbook: r.try_get("runbook")?,
        suppressed_by: r.try_get("suppressed_by")?,
        notified: r.try_get::<i64, _>("notified")? != 0,
    })
}

fn silence_from_row(r: &PgRow) -> Result<Silence> {
    Ok(Silence {
        id: r.try_get("id")?,
        rule: r.try_get("rule")?,
        component: r.try_get("component")?,
        starts_at: from_us(r.try_get("starts_at_us")?),
        until: from_us(r.try_get("until_us")?),
        by: r.try_get("by")?,
        comment: r.try_get("comment")?,
    })
}

/// Rewrites a statement written with `?` placeholders into PostgreSQL's `$1, $2, …`.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// Writes an alert by its id: inserted, or brought to what it is now.
async fn upsert(tx: &mut sqlx::PgConnection, a: &Alert) -> Result<()> {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
    sqlx::query(
        "INSERT INTO alerts (id, key, rule, kind, severity, state, title, message, \
         component, value, started_at_us, fired_at_us, last_seen_us, \
         clear_since_us, resolved_at_us, resolution, impact_datasets, \
         impact_components, impact_downtime_minutes, runbook, suppressed_by, \
         notified) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,\
         $20,$21,$22) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, rule = excluded.rule, \
         kind = excluded.kind, severity = excluded.severity, \
         state = excluded.state, title = excluded.title, \
         message = excluded.message, component = excluded.component, \
         value = excluded.value, started_at_us = excluded.started_at_us, \
         fired_at_us = excluded.fired_at_us, last_seen_us = excluded.last_seen_us, \
         clear_since_us = excluded.clear_since_us, \
         resolved_at_us = excluded.resolved_at_us, \
         resolution = excluded.resolution, \
         impact_datasets = excluded.impact_datasets, \
         impact_components = excluded.impact_components, \
         impact_downtime_minutes = excluded.impact_downtime_minutes, \
         runbook = excluded.runbook, suppressed_by = excluded.suppressed_by, \
         notified = excluded.notified",
    )
    .bind(a.id)
    .bind(&a.key)
    .bind(&a.rule)
    .bind(&a.kind)
    .bind(a.severity.as_str())
    .bind(a.state.as_str())
    .bind(&a.title)
    .bind(&a.message)
    .bind(&a.component)
    .bind(a.value.filter(|v| v.is_finite()))
    .bind(to_us(a.started_at))
    .bind(a.fired_at.map(to_us))
    .bind(to_us(a.last_seen))
    .bind(a.clear_since.map(to_us))
    .bind(a.resolved_at.map(to_us))
    .bind(a.resolution.map(resolution_name))
    .bind(json(&a.impact.affected_datasets))
    .bind(json(&a.impact.components))
    .bind(
        a.impact
            .estimated_downtime_minutes
            .filter(|v| v.is_finite()),
    )
    .bind(&a.runbook)
    .bind(&a.suppressed_by)
    .bind(i64::from(a.notified))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl AlertStore for PgStore {
    async fn save_evaluation(
        &self,
        transitions: &[Transition],
        open: &[&Alert],
        at: OffsetDateTime,
    ) -> Result<()> {
        if transitions.is_empty() && open.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for t in transitions {
            let a = &t.alert;
            if t.event == AlertEvent::Cancelled {
                sqlx::query("DELETE FROM alerts WHERE id = $1")
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM alert_acks WHERE alert_id = $1")
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                upsert(&mut tx, a).await?;
            }
            sqlx::query(
                "INSERT INTO alert_events (alert_id, at_us, event, state, severity, value, \
                 message, notify) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.id)
            .bind(to_us(at))
            .bind(event_name(t.event))
            .bind(a.state.as_str())
            .bind(a.severity.as_str())
            .bind(a.value.filter(|v| v.is_finite()))
            .bind(&a.message)
            .bind(i64::from(t.notify))
            .execute(&mut *tx)
            .await?;
        }
        for a in open {
            upsert(&mut tx, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_alerts(&self) -> Result<Vec<Alert>> {
        self.alerts(&AlertFilter {
            states: vec![AlertState::Pending, AlertState::Firing],
            ..AlertFilter::default()
        })
        .await
    }

    async fn alerts(&self, f: &AlertFilter) -> Result<Vec<Alert>> {
        let mut sql = format!("{SELECT_ALERT} WHERE 1 = 1");
        if !f.states.is_empty() {
            sql.push_str(&format!(
                " AND a.state IN ({})",
                vec!["?"; f.states.len()].join(", ")
            ));
        }
        if f.severity.is_some() {
            sql.push_str(" AND a.severity = ?");
        }
        if f.component.is_some() {
            sql.push_str(" AND a.component = ?");
        }
        if f.since.is_some() {
            sql.push_str(" AND (a.resolved_at_us IS NULL OR a.resolved_at_us >= ?)");
        }
        if f.until.is_some() {
            sql.push_str(" AND a.started_at_us < ?");
        }
        sql.push_str(
            " ORDER BY a.state = 'resolved', \
             CASE WHEN a.state = 'resolved' THEN a.resolved_at_us ELSE a.started_at_us END DESC, \
             a.id DESC",
        );
        if f.limit > 0 {
            sql.push_str(" LIMIT ?");
        }
        let sql = numbered(&sql);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in &f.states {
            q = q.bind(s.as_str());
        }
        if let Some(s) = f.severity {
            q = q.bind(s.as_str());
        }
        if let Some(c) = &f.component {
            q = q.bind(c.clone());
        }
        if let Some(s) = f.since {
            q = q.bind(to_us(s));
        }
        if let Some(u) = f.until {
            q = q.bind(to_us(u));
        }
        if f.limit > 0 {
            q = q.bind(i64::from(f.limit));
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_ALERT} WHERE a.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn max_alert_id(&self) -> Result<i64> {
        let max: Option<i64> = sqlx::query_scalar(
            "SELECT GREATEST((SELECT MAX(id) FROM alerts), \
             (SELECT MAX(alert_id) FROM alert_events))",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(max.unwrap_or(0))
    }

    async fn acknowledge(
        &self,
        id: i64,
        by: &str,
        comment: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Acknowledged, AlertStoreError> {
        check_name("by", by)?;
        let by = by.trim().to_owned();
        let comment = clean_comment(comment)?;
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let row: Option<(String, String, String, Option<f64>)> = sqlx::query_as(
            "SELECT state, severity, title, value FROM alerts WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some((state, severity, title, value)) = row else {
            return Err(AlertStoreError::NoSuchAlert(id));
        };
        if state == AlertState::Resolved.as_str() {
            return Err(AlertStoreError::Resolved(id));
        }
        let earlier: Option<crate::alerts::StoredAck> =
            sqlx::query_as("SELECT by, at_us, comment FROM alert_acks WHERE alert_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        sqlx::query(
            "INSERT INTO alert_acks (alert_id, by, at_us, comment) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (alert_id) DO UPDATE SET by = excluded.by, at_us = excluded.at_us, \
             comment = excluded.comment",
        )
        .bind(id)
        .bind(&by)
        .bind(to_us(at))
        .bind(&comment)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        sqlx::query(
            "INSERT INTO alert_events (alert_id, at_us, event, state, severity, value, message, \
             notify, by, comment) VALUES ($1, $2, 'acknowledged', $3, $4, $5, $6, 0, $7, $8)",
        )
        .bind(id)
        .bind(to_us(at))
        .bind(&state)
        .bind(&severity)
        .bind(value)
        .bind(&title)
        .bind(&by)
        .bind(&comment)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Acknowledged::stored(id, by, at, comment, earlier))
    }

    async fn acknowledgements(&self) -> Result<Vec<Acknowledgement>> {
        let rows = sqlx::query(
            "SELECT k.alert_id, k.by, k.at_us, k.comment FROM alert_acks k \
             JOIN alerts a ON a.id = k.alert_id WHERE a.state <> 'resolved' ORDER BY k.alert_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Acknowledgement {
                    alert_id: r.try_get("alert_id")?,
                    by: r.try_get("by")?,
                    at: from_us(r.try_get("at_us")?),
                    comment: r.try_get("comment")?,
                })
            })
            .collect()
    }

    async fn add_silence(&self, s: &NewSilence) -> Result<Silence, AlertStoreError> {
        if s.rule.is_none() && s.component.is_none() {
            return Err(AlertStoreError::Invalid(
                "a silence names a rule, a component or both".into(),
            ));
        }
        if let Some(r) = &s.rule {
            check_name("rule", r)?;
        }
        if let Some(c) = &s.component {
            check_name("component", c)?;
        }
        check_name("by", &s.by)?;
        if s.until <= s.starts_at {
            return Err(AlertStoreError::Invalid(
                "duration: a silence must last longer than nothing".into(),
            ));
        }
        let comment = clean_comment(s.comment.as_deref())?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_silences (rule, component, starts_at_us, until_us, by, comment) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&s.rule)
        .bind(&s.component)
        .bind(to_us(s.starts_at))
        .bind(to_us(s.until))
        .bind(s.by.trim())
        .bind(&comment)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(Silence {
            id,
            rule: s.rule.clone(),
            component: s.component.clone(),
            starts_at: from_us(to_us(s.starts_at)),
            until: from_us(to_us(s.until)),
            by: s.by.trim().to_owned(),
            comment,
        })
    }

    async fn silences(&self, active_at: OffsetDateTime) -> Result<Vec<Silence>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_SILENCE} WHERE removed_at_us IS NULL AND until_us > $1 ORDER BY until_us, id"
        )))
        .bind(to_us(active_at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(silence_from_row).collect()
    }

    async fn remove_silence(
        &self,
        id: i64,
        at: OffsetDateTime,
    ) -> Result<Silence, AlertStoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let row = sqlx::query(
            "SELECT id, rule, component, starts_at_us, until_us, by, comment, removed_at_us \
             FROM alert_silences WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Err(AlertStoreError::NoSuchSilence(id));
        };
        if row
            .try_get::<Option<i64>, _>("removed_at_us")
            .map_err(StoreError::from)?
            .is_some()
        {
            return Err(AlertStoreError::SilenceRemoved(id));
        }
        let silence = silence_from_row(&row)?;
        sqlx::query("UPDATE alert_silences SET removed_at_us = $1 WHERE id = $2")
            .bind(to_us(at))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(silence)
    }

    async fn alert_events(&self, id: i64) -> Result<Vec<AlertEventRecord>> {
        let rows = sqlx::query(
            "SELECT id, alert_id, at_us, event, state, severity, value, message, notify, by, \
             comment FROM alert_events WHERE alert_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut history = rows
            .iter()
            .map(|r| {
                Ok(AlertEventRecord {
                    id: r.try_get("id")?,
                    alert_id: r.try_get("alert_id")?,
                    at: from_us(r.try_get("at_us")?),
                    event: r.try_get("event")?,
                    state: r.try_get("state")?,
                    severity: r.try_get("severity")?,
                    value: r.try_get("value")?,
                    message: r.try_get("message")?,
                    notify: r.try_get::<i64, _>("notify")? != 0,
                    by: r.try_get("by")?,
                    comment: r.try_get("comment")?,
                    replaced: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        mark_reacknowledgements(&mut history);
        Ok(history)
    }

    async fn integrity_failures(&self) -> Result<Vec<DatasetEvent>> {
        // The latest verification of each dataset on each system (none, old, new).
        let rows = sqlx::query(
            "SELECT DISTINCT ON (dataset_id, COALESCE(system, '')) dataset_name, component, \
             system, timestamp_us AS at_us, success, row_count, error_message FROM operations \
             WHERE metric_type = $1 AND dataset_id IS NOT NULL \
             ORDER BY dataset_id, COALESCE(system, ''), timestamp_us DESC, id DESC",
        )
        .bind(kind::VERIFICATION)
        .fetch_all(&self.pool)
        .await?;
        let mut latest = Vec::with_capacity(rows.len());
        for r in &rows {
            latest.push(LatestVerification {
                dataset: r.try_get("dataset_name")?,
                system: r.try_get("system")?,
                at: r.try_get("at_us")?,
                component: r.try_get("component")?,
                success: r.try_get::<i64, _>("success")? != 0,
                rows: r.try_get("row_count")?,
                error: r.try_get("error_message")?,
            });
        }
        Ok(standing_failures(latest))
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            numbered("SELECT '?' FROM t WHERE a = ? AND b IN (?, ?)"),
            "SELECT '?' FROM t WHERE a = $1 AND b IN ($2, $3)"
        );
    }
}
