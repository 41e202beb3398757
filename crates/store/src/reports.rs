//! Reports made on a schedule (the plan's `[[reports]]`), stored as they were sent so that
//! `GET /api/v1/reports/{id}` answers the same bytes as the e-mail's attachment; one per
//! schedule and due moment; pruned after [`KEEP`].

use sqlx::Row as _;
use time::{Date, Duration, OffsetDateTime};

use crate::sqlite::{from_us, to_us};
use crate::{Database, Result};

/// How long a stored report is kept.
pub const KEEP: Duration = Duration::days(90);

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// Its id.
    pub id: i64,
    /// The schedule that made it (its key).
    pub schedule: String,
    /// The moment it was due.
    pub due_at: OffsetDateTime,
    /// The first day it covers.
    pub start: Date,
    /// The last day it covers.
    pub end: Date,
    /// `pdf` or `html`.
    pub format: String,
    /// The document.
    pub body: Vec<u8>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

/// A report to store.
#[derive(Debug, Clone, Copy)]
pub struct NewReport<'a> {
    /// The schedule's key.
    pub schedule: &'a str,
    /// The moment it was due.
    pub due_at: OffsetDateTime,
    /// The first day it covers.
    pub start: Date,
    /// The last day it covers.
    pub end: Date,
    /// `pdf` or `html`.
    pub format: &'a str,
    /// The document.
    pub body: &'a [u8],
}

fn date(s: &str) -> Date {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, f).unwrap_or(Date::MIN)
}

impl Database {
    /// Stores a report made at `now`; `None` when that schedule's report of that due moment is
    /// stored already (another leader made it).
    pub async fn insert_report(
        &self,
        r: &NewReport<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<i64>> {
        const SQL_LITE: &str = "INSERT INTO reports (schedule, due_at_us, start_date, end_date, \
             format, body, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (schedule, due_at_us) DO NOTHING RETURNING id";
        const SQL_PG: &str = "INSERT INTO reports (schedule, due_at_us, start_date, end_date, \
             format, body, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (schedule, due_at_us) DO NOTHING RETURNING id";
        let (start, end) = (r.start.to_string(), r.end.to_string());
        Ok(match self {
            Database::Sqlite(s) => {
                let mut tx = s.begin_write().await?;
                let id: Option<i64> = sqlx::query_scalar(SQL_LITE)
                    .bind(r.schedule)
                    .bind(to_us(r.due_at))
                    .bind(&start)
                    .bind(&end)
                    .bind(r.format)
                    .bind(r.body)
                    .bind(to_us(now))
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                id
            }
            Database::Postgres(p) => {
                sqlx::query_scalar(SQL_PG)
                    .bind(r.schedule)
                    .bind(to_us(r.due_at))
                    .bind(&start)
                    .bind(&end)
                    .bind(r.format)
                    .bind(r.body)
                    .bind(to_us(now))
                    .fetch_optional(&p.pool)
                    .await?
            }
        })
    }

    /// The latest due moment of a stored report of `schedule`.
    pub async fn last_report_due(&self, schedule: &str) -> Result<Option<OffsetDateTime>> {
        let us: Option<i64> = match self {
            Database::Sqlite(s) => {
                sqlx::query_scalar("SELECT MAX(due_at_us) FROM reports WHERE schedule = ?")
                    .bind(schedule)
                    .fetch_one(&s.pool)
                    .await?
            }
            Database::Postgres(p) => {
                sqlx::query_scalar("SELECT MAX(due_at_us) FROM reports WHERE schedule = $1")
                    .bind(schedule)
                    .fetch_one(&p.pool)
                    .await?
            }
        };
        Ok(us.map(from_us))
    }

    /// The stored report `id`.
    pub async fn stored_report(&self, id: i64) -> Result<Option<StoredReport>> {
        macro_rules! read {
            ($row:expr) => {{
                let r = $row;
                StoredReport {
                    id: r.try_get("id")?,
                    schedule: r.try_get("schedule")?,
                    due_at: from_us(r.try_get("due_at_us")?),
                    start: date(&r.try_get::<String, _>("start_date")?),
                    end: date(&r.try_get::<String, _>("end_date")?),
                    format: r.try_get("format")?,
                    body: r.try_get("body")?,
                    created_at: from_us(r.try_get("created_at_us")?),
                }
            }};
        }
        Ok(match self {
            Database::Sqlite(s) => {
                match sqlx::query(
                    "SELECT id, schedule, due_at_us, start_date, end_date, format, body, \
                     created_at_us FROM reports WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&s.pool)
                .await?
                {
                    Some(row) => Some(read!(row)),
                    None => None,
                }
            }
            Database::Postgres(p) => {
                match sqlx::query(
                    "SELECT id, schedule, due_at_us, start_date, end_date, format, body, \
                     created_at_us FROM reports WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&p.pool)
                .await?
                {
                    Some(row) => Some(read!(row)),
                    None => None,
                }
            }
        })
    }

    /// Deletes the reports made before `before`; how many.
    pub async fn prune_reports(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(match self {
            Database::Sqlite(s) => {
                let mut tx = s.begin_write().await?;
                let n = sqlx::query("DELETE FROM reports WHERE created_at_us < ?")
                    .bind(to_us(before))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                n
            }
            Database::Postgres(p) => sqlx::query("DELETE FROM reports WHERE created_at_us < $1")
                .bind(to_us(before))
                .execute(&p.pool)
                .await?
                .rows_affected(),
        })
    }
}
