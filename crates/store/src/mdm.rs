//! Reading MDM's monitoring database (`~/.mdm/metrics.db`) for `mhd import mdm`.
//!
//! The file is opened read-only and never created, and it is read in pages ordered by id, so
//! memory stays flat however large it is and MDM may keep writing meanwhile: each page is its own
//! short read, and the reader stops at the largest id present when it opened, so the import is a
//! well-defined snapshot.
//!
//! SQLite is dynamically typed, so every column is read leniently: numbers in text columns
//! become text, whole numbers in real columns become reals, whole reals in integer columns
//! become integers. A value that cannot be read as its column's type (text in `duration_ms`, say)
//! makes its row a [`BadRow`], never the whole import fail.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Connection, SqliteConnection};

/// Rows per page: large enough to amortise each query, small enough to keep memory flat.
pub const PAGE: u32 = 5000;

/// Columns MDM's table always had; a table without one of them is not MDM's.
const REQUIRED: &[&str] = &["id", "timestamp", "metric_type", "operation"];
/// The other columns of MDM's table, read as NULL when an older table lacks them.
const OPTIONAL: &[&str] = &[
    "duration_ms",
    "success",
    "dataset_name",
    "row_count",
    "error_message",
    "metadata",
];

/// What can go wrong reading an MDM database. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum MdmError {
    /// The file does not exist, is a folder, or cannot be opened.
    #[error("cannot open {path}: {reason}")]
    CannotOpen {
        /// The file's path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not an SQLite database, or one without MDM's `metrics` table.
    #[error("{path} is not an MDM metrics database: {reason}")]
    NotMdm {
        /// The file's path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Reading failed part-way (an I/O error, a corrupt page, a lock held too long).
    #[error("cannot read {path}: {source}")]
    Db {
        /// The file's path.
        path: String,
        /// The database's error.
        source: sqlx::Error,
    },
}

impl MdmError {
    /// Whether the file itself is at fault (bad input: nothing should be changed), rather than
    /// reading having failed while running.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, MdmError::CannotOpen { .. } | MdmError::NotMdm { .. })
    }
}

/// One row of MDM's `metrics` table, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MdmRow {
    /// The row's id (MDM's `INTEGER PRIMARY KEY AUTOINCREMENT`).
    pub id: i64,
    /// The time as written: usually a naive local time such as `2025-01-06 14:03:12.123456`.
    pub timestamp: Option<String>,
    /// MDM's metric type (`dataset_register`, `query_execution`, `error`, …).
    pub metric_type: Option<String>,
    /// The operation's name.
    pub operation: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: Option<f64>,
    /// 1 for success, 0 for failure; NULL when written without one.
    pub success: Option<i64>,
    /// The dataset it concerns.
    pub dataset_name: Option<String>,
    /// Rows processed.
    pub row_count: Option<i64>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// Python's `str(dict)` of the details, usually.
    pub metadata: Option<String>,
}

/// A row with a value that cannot be read as its column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The row's id.
    pub id: i64,
    /// What is wrong, naming the column.
    pub reason: String,
}

/// Reads an MDM database page by page; see the module's documentation.
#[derive(Debug)]
pub struct MdmReader {
    conn: SqliteConnection,
    path: String,
    select: String,
    /// The largest id when the reader opened: rows added later are left for the next import.
    max_id: i64,
    /// The id of the last row returned.
    after: i64,
}

/// Counts the rows of an MDM database, checking that it is one.
pub async fn count(path: &Path) -> Result<u64, MdmError> {
    let mut r = MdmReader::open(path).await?;
    let n = r.count().await;
    r.close().await;
    n
}

impl MdmReader {
    /// Opens an MDM database read-only and checks that it is one: an SQLite file with a
    /// `metrics` table holding at least `id` (its integer primary key), `timestamp`,
    /// `metric_type` and `operation`.
    pub async fn open(path: &Path) -> Result<MdmReader, MdmError> {
        let shown = path.display().to_string();
        let cannot_open = |reason: String| MdmError::CannotOpen {
            path: shown.clone(),
            reason,
        };
        let not_mdm = |reason: &str| MdmError::NotMdm {
            path: shown.clone(),
            reason: reason.into(),
        };
        // Checked first for messages clearer than SQLite's "unable to open database file".
        let meta = std::fs::File::open(path)
            .and_then(|f| f.metadata())
            .map_err(|e| {
                cannot_open(match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".into(),
                    _ => e.to_string(),
                })
            })?;
        if meta.is_dir() {
            return Err(cannot_open("it is a folder, not a file".into()));
        }
        if meta.len() == 0 {
            // SQLite would read an empty file as an empty database.
            return Err(not_mdm("the file is empty"));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| cannot_open(describe(&e)))?;
        let columns: Vec<(String, String, i64)> =
            match sqlx::query_as("SELECT name, type, pk FROM pragma_table_info('metrics')")
                .fetch_all(&mut conn)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    let _ = conn.close().await;
                    return Err(match &e {
                        sqlx::Error::Database(d) if d.message().contains("not a database") => {
                            not_mdm("not an SQLite database (file is not a database)")
                        }
                        sqlx::Error::Database(d) if d.message().contains("malformed") => {
                            cannot_open(format!("it is damaged ({})", d.message()))
                        }
                        _ => MdmError::Db {
                            path: shown,
                            source: e,
                        },
                    });
                }
            };
        let has = |name: &str| columns.iter().any(|(c, _, _)| c.eq_ignore_ascii_case(name));
        let problem = if columns.is_empty() {
            Some("no table `metrics`".to_owned())
        } else if let Some(missing) = REQUIRED.iter().find(|c| !has(c)) {
            Some(format!("table `metrics` is missing column `{missing}`"))
        } else if !columns.iter().any(|(c, ty, pk)| {
            c.eq_ignore_ascii_case("id") && ty.eq_ignore_ascii_case("INTEGER") && *pk == 1
        }) || columns.iter().filter(|(_, _, pk)| *pk > 0).count() != 1
        {
            // Paging by id and the rows' identity both rely on it.
            Some("column `id` of table `metrics` is not its INTEGER PRIMARY KEY".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            let _ = conn.close().await;
            return Err(not_mdm(&problem));
        }
        let mut select = String::from("SELECT ");
        select.push_str(&REQUIRED.join(", "));
        for c in OPTIONAL {
            if has(c) {
                select.push_str(&format!(", {c}"));
            } else {
                select.push_str(&format!(", NULL AS {c}"));
            }
        }
        select.push_str(" FROM metrics WHERE id > ? AND id <= ? ORDER BY id LIMIT ?");
        // The whole page as one value: each row its columns as SQL literals (`quote`, which
        // keeps each value's storage class and a real's every digit), rows a line each.
        // Handing rows over one at a time cost more than reading them. A finite real in the
        // column MDM declares REAL is written with 17 significant digits, which is every
        // digit a double has and always holds a `.`: `quote` writes 15, reads them back and,
        // short of the same number, writes it again with 21, which took a tenth of the time.
        let cells: Vec<String> = REQUIRED
            .iter()
            .chain(OPTIONAL)
            .map(|c| {
                if *c == "duration_ms" {
                    format!(
                        "CASE WHEN typeof({c}) = 'real' AND abs({c}) <= 1.7976931348623157e308 \
                         THEN printf('%!.17g', {c}) ELSE quote({c}) END"
                    )
                } else {
                    format!("quote({c})")
                }
            })
            .collect();
        let cells = cells.join(" || ',' || ");
        let select =
            format!("SELECT CAST(group_concat({cells}, char(10)) AS BLOB) FROM ({select})");
        let max_id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM metrics")
            .fetch_one(&mut conn)
            .await
            .map_err(|source| MdmError::Db {
                path: shown.clone(),
                source,
            })?;
        Ok(MdmReader {
            conn,
            path: shown,
            select,
            max_id: max_id.unwrap_or(0),
            after: i64::MIN,
        })
    }

    /// The file's path as shown in messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The rows the reader will return (those present when it opened).
    pub async fn count(&mut self) -> Result<u64, MdmError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metrics WHERE id <= ?")
            .bind(self.max_id)
            .fetch_one(&mut self.conn)
            .await
            .map_err(|e| self.db(e))?;
        Ok(n as u64)
    }

    /// The next rows in id order, at most `limit`; empty when all have been read.
    pub async fn next_page(&mut self, limit: u32) -> Result<Vec<Result<MdmRow, BadRow>>, MdmError> {
        self.next_page_during(limit, || ()).await.0
    }

    /// [`MdmReader::next_page`], running `meanwhile` on this thread while SQLite reads the page
    /// on its own: the work on the page before (converting its rows) overlaps reading the next.
    pub async fn next_page_during<T>(
        &mut self,
        limit: u32,
        meanwhile: impl FnOnce() -> T,
    ) -> (Result<Vec<Result<MdmRow, BadRow>>, MdmError>, T) {
        let read = sqlx::query_scalar::<_, Option<Vec<u8>>>(AssertSqlSafe(self.select.clone()))
            .bind(self.after)
            .bind(self.max_id)
            .bind(i64::from(limit.max(1)))
            .fetch_one(&mut self.conn);
        // The query is handed to SQLite's thread at its first poll, before `meanwhile` runs.
        let (page, done) = tokio::join!(read, async { meanwhile() });
        (self.parse_page(page), done)
    }

    fn parse_page(
        &mut self,
        page: Result<Option<Vec<u8>>, sqlx::Error>,
    ) -> Result<Vec<Result<MdmRow, BadRow>>, MdmError> {
        let page = page.map_err(|e| self.db(e))?;
        let bytes = page.as_deref().unwrap_or_default();
        // A row a line: sized once.
        let mut rows = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
        for row in literals(bytes) {
            let row = row.map_err(|reason| self.db(sqlx::Error::Decode(reason.into())))?;
            let Some(Cell::Int(id)) = row.first() else {
                return Err(self.db(sqlx::Error::Decode("a row without its id".into())));
            };
            let id = *id;
            self.after = self.after.max(id);
            rows.push(read_row(row, id).map_err(|reason| BadRow { id, reason }));
        }
        Ok(rows)
    }

    /// Starts again from the first row (of the same snapshot).
    pub fn rewind(&mut self) {
        self.after = i64::MIN;
    }

    /// Closes the file.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }

    fn db(&self, source: sqlx::Error) -> MdmError {
        MdmError::Db {
            path: self.path.clone(),
            source,
        }
    }
}

/// SQLite's own words for an error, without sqlx's prefix.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        other => other.to_string(),
    }
}

/// A value of one row, by its storage class.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// Text that is not UTF-8.
    NotUtf8,
    Blob(Vec<u8>),
}

/// The columns the reader reads: [`REQUIRED`], then [`OPTIONAL`].
const COLUMNS: usize = REQUIRED.len() + OPTIONAL.len();

/// One row of a page, its cells in the reader's column order.
type Row = [Cell; COLUMNS];

/// The rows of a page as SQLite's `quote` writes them, columns separated by `,`, rows by a
/// line feed: `NULL`, an integer, a real (always with a `.` or an exponent), `'text'` (a `'`
/// doubled inside) or `X'hex'`. An error says where the page is not such.
fn literals(page: &[u8]) -> Literals<'_> {
    Literals { page, at: 0 }
}

/// The rows of a page one at a time, each read when asked for (see [`literals`]); after an
/// error, none.
struct Literals<'a> {
    page: &'a [u8],
    /// Where the next row starts.
    at: usize,
}

impl Iterator for Literals<'_> {
    type Item = Result<Row, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let (page, start) = (self.page, self.at);
        if start >= page.len() {
            return None;
        }
        let row = Self::row(page, start);
        self.at = match &row {
            Ok((_, next)) => *next,
            Err(_) => page.len(),
        };
        Some(row.map(|(row, _)| row))
    }
}

impl Literals<'_> {
    /// The row starting at `start`, and where the next one starts.
    fn row(page: &[u8], start: usize) -> Result<(Row, usize), String> {
        let mut row: Row = std::array::from_fn(|_| Cell::Null);
        let mut column = 0;
        let mut i = start;
        loop {
            let (cell, next) = literal(page, i)?;
            let Some(slot) = row.get_mut(column) else {
                return Err(format!(
                    "the row at byte {start} holds more than {COLUMNS} values"
                ));
            };
            *slot = cell;
            column += 1;
            match page.get(next) {
                Some(b',') => i = next + 1,
                Some(b'\n') | None => {
                    if column != COLUMNS {
                        return Err(format!(
                            "the row at byte {start} holds {column} values, not {COLUMNS}"
                        ));
                    }
                    return Ok((row, next + 1));
                }
                Some(other) => {
                    return Err(format!(
                        "the page holds {:?} at byte {next}, not a separator",
                        char::from(*other)
                    ));
                }
            }
        }
    }
}

/// The literal starting at `at`, and where it ends.
fn literal(page: &[u8], at: usize) -> Result<(Cell, usize), String> {
    let bad = || format!("the page holds no value at byte {at}");
    match page.get(at) {
        Some(b'\'') => {
            // Copied a run at a time, up to each quote: a doubled one stands for itself.
            let mut text = Vec::new();
            let mut i = at + 1;
            loop {
                let run = page[i.min(page.len())..]
                    .iter()
                    .position(|b| *b == b'\'')
                    .ok_or_else(|| format!("the text at byte {at} does not end"))?;
                text.extend_from_slice(&page[i..i + run]);
                i += run;
                if page.get(i + 1) == Some(&b'\'') {
                    text.push(b'\'');
                    i += 2;
                } else {
                    break;
                }
            }
            let cell = String::from_utf8(text).map_or(Cell::NotUtf8, Cell::Text);
            Ok((cell, i + 1))
        }
        Some(b'X') if page.get(at + 1) == Some(&b'\'') => {
            let start = at + 2;
            let len = page[start..]
                .iter()
                .position(|b| *b == b'\'')
                .ok_or_else(|| format!("the blob at byte {at} does not end"))?;
            let hex = &page[start..start + len];
            let digit = |b: u8| char::from(b).to_digit(16).ok_or_else(bad);
            let mut blob = Vec::with_capacity(len / 2);
            for pair in hex.chunks(2) {
                let [hi, lo] = pair else { return Err(bad()) };
                blob.push((digit(*hi)? * 16 + digit(*lo)?) as u8);
            }
            Ok((Cell::Blob(blob), start + len + 1))
        }
        Some(_) => {
            let len = page[at..]
                .iter()
                .position(|b| *b == b',' || *b == b'\n')
                .unwrap_or(page.len() - at);
            let word = std::str::from_utf8(&page[at..at + len]).map_err(|_| bad())?;
            let cell = if word == "NULL" {
                Cell::Null
            } else if word.contains(['.', 'e', 'E']) {
                Cell::Real(word.parse().map_err(|_| bad())?)
            } else {
                Cell::Int(word.parse().map_err(|_| bad())?)
            };
            Ok((cell, at + len))
        }
        None => Err(bad()),
    }
}

fn text(cell: Cell, column: &str) -> Result<Option<String>, String> {
    Ok(match cell {
        Cell::Null => None,
        Cell::Int(n) => Some(n.to_string()),
        Cell::Real(f) => Some(f.to_string()),
        Cell::Text(s) => Some(s),
        Cell::NotUtf8 => return Err(format!("column `{column}` holds text that is not UTF-8")),
        Cell::Blob(b) => Some(
            String::from_utf8(b)
                .map_err(|_| format!("column `{column}` holds binary data, not text"))?,
        ),
    })
}

fn real(cell: Cell, column: &str) -> Result<Option<f64>, String> {
    match cell {
        Cell::Null => Ok(None),
        Cell::Int(n) => Ok(Some(n as f64)),
        Cell::Real(f) => Ok(Some(f)),
        Cell::Text(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("column `{column}` holds {s:?}, not a number")),
        Cell::NotUtf8 | Cell::Blob(_) => {
            Err(format!("column `{column}` holds binary data, not a number"))
        }
    }
}

fn integer(cell: Cell, column: &str) -> Result<Option<i64>, String> {
    match cell {
        Cell::Null => Ok(None),
        Cell::Int(n) => Ok(Some(n)),
        Cell::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        Cell::Real(f) => Err(format!("column `{column}` holds {f}, not a whole number")),
        Cell::Text(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("column `{column}` holds {s:?}, not a whole number")),
        Cell::NotUtf8 | Cell::Blob(_) => {
            Err(format!("column `{column}` holds binary data, not a number"))
        }
    }
}

fn read_row(row: Row, id: i64) -> Result<MdmRow, String> {
    // The columns in the reader's order: REQUIRED, then OPTIONAL.
    let [
        _,
        timestamp,
        metric_type,
        operation,
        duration_ms,
        success,
        dataset_name,
        row_count,
        error_message,
        metadata,
    ] = row;
    Ok(MdmRow {
        id,
        timestamp: text(timestamp, "timestamp")?,
        metric_type: text(metric_type, "metric_type")?,
        operation: text(operation, "operation")?,
        duration_ms: real(duration_ms, "duration_ms")?,
        success: integer(success, "success")?,
        dataset_name: text(dataset_name, "dataset_name")?,
        row_count: integer(row_count, "row_count")?,
        error_message: text(error_message, "error_message")?,
        metadata: text(metadata, "metadata")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Executor;
    use std::path::PathBuf;

    const MDM_SCHEMA: &str = "CREATE TABLE metrics (id INTEGER PRIMARY KEY AUTOINCREMENT, \
        timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, metric_type TEXT NOT NULL, \
        operation TEXT NOT NULL, duration_ms REAL, success INTEGER DEFAULT 1, dataset_name TEXT, \
        row_count INTEGER, error_message TEXT, metadata TEXT)";

    async fn make_db(path: &Path, sql: &[&str]) {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        for s in sql {
            conn.execute(AssertSqlSafe(*s)).await.unwrap();
        }
        conn.close().await.unwrap();
    }

    async fn read_all(r: &mut MdmReader, limit: u32) -> Vec<Result<MdmRow, BadRow>> {
        let mut all = Vec::new();
        loop {
            let page = r.next_page(limit).await.unwrap();
            if page.is_empty() {
                return all;
            }
            assert!(page.len() <= limit as usize);
            all.extend(page);
        }
    }

    fn temp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.db");
        (dir, path)
    }

    #[tokio::test]
    async fn values_come_through_a_page_exactly_whatever_they_hold() {
        let (_dir, path) = temp();
        make_db(
            &path,
            &[
                MDM_SCHEMA,
                // Quotes, separators and a line feed in text; a real needing 17 digits; the
                // extreme integers; text that is not UTF-8.
                "INSERT INTO metrics (timestamp, metric_type, operation, duration_ms, success, \
                 dataset_name, row_count, error_message, metadata) VALUES ('2025-01-06 10:00:00', \
                 'it''s', 'a,b', 0.30000000000000004, -9223372036854775808, 'line\nnext', \
                 9223372036854775807, '', 'NULL')",
                "INSERT INTO metrics (timestamp, metric_type, operation, duration_ms, \
                 dataset_name) VALUES ('2025-01-06 10:00:01', 'x', 'y', -1.5e300, \
                 CAST(x'ff' AS TEXT))",
                "INSERT INTO metrics (timestamp, metric_type, operation, metadata) VALUES \
                 ('2025-01-06 10:00:02', 'x', 'y', x'7b7d')",
                // Reals at the ends of their range, one a whole number, one with every digit.
                "INSERT INTO metrics (timestamp, metric_type, operation, duration_ms) VALUES \
                 ('2025-01-06 10:00:03', 'x', 'y', 4.9406564584124654e-324), \
                 ('2025-01-06 10:00:04', 'x', 'y', 1.7976931348623157e308), \
                 ('2025-01-06 10:00:05', 'x', 'y', 5.0), \
                 ('2025-01-06 10:00:06', 'x', 'y', 123.45678901234567), \
                 ('2025-01-06 10:00:07', 'x', 'y', 9e999)",
            ],
        )
        .await;
        let mut r = MdmReader::open(&path).await.unwrap();
        let rows = read_all(&mut r, PAGE).await;
        r.close().await;
        let first = rows[0].clone().unwrap();
        assert_eq!(first.metric_type.as_deref(), Some("it's"));
        assert_eq!(first.operation.as_deref(), Some("a,b"));
        assert_eq!(first.duration_ms, Some(0.1 + 0.2));
        assert_eq!(first.success, Some(i64::MIN));
        assert_eq!(first.dataset_name.as_deref(), Some("line\nnext"));
        assert_eq!(first.row_count, Some(i64::MAX));
        assert_eq!(first.error_message.as_deref(), Some(""));
        // The text "NULL" is not a NULL.
        assert_eq!(first.metadata.as_deref(), Some("NULL"));
        let second = rows[1].clone().unwrap_err();
        assert_eq!(second.id, 2);
        assert!(
            second
                .reason
                .contains("`dataset_name` holds text that is not UTF-8"),
            "{second:?}"
        );
        // Binary data that is UTF-8 reads as its text.
        assert_eq!(rows[2].clone().unwrap().metadata.as_deref(), Some("{}"));
        let reals: Vec<Option<f64>> = rows[3..]
            .iter()
            .map(|r| r.clone().unwrap().duration_ms)
            .collect();
        assert_eq!(
            reals,
            [
                Some(f64::from_bits(1)),
                Some(f64::MAX),
                Some(5.0),
                Some(123.456_789_012_345_67),
                Some(f64::INFINITY),
            ]
        );
    }

    #[test]
    fn a_page_that_is_not_literals_is_refused_saying_where() {
        let all = |page: &[u8]| literals(page).collect::<Result<Vec<Row>, String>>();
        assert_eq!(all(b"").unwrap(), Vec::<Row>::new());
        let row = |cells: &[Cell]| -> Row {
            std::array::from_fn(|i| cells.get(i).cloned().unwrap_or(Cell::Null))
        };
        assert_eq!(
            all(b"1,-2.5,'a''b',X'00ff',NULL,6,7,8,9,10\n2,NULL,3,4,5,6,7,8,9,10").unwrap(),
            vec![
                row(&[
                    Cell::Int(1),
                    Cell::Real(-2.5),
                    Cell::Text("a'b".into()),
                    Cell::Blob(vec![0, 255]),
                    Cell::Null,
                    Cell::Int(6),
                    Cell::Int(7),
                    Cell::Int(8),
                    Cell::Int(9),
                    Cell::Int(10),
                ]),
                row(&[
                    Cell::Int(2),
                    Cell::Null,
                    Cell::Int(3),
                    Cell::Int(4),
                    Cell::Int(5),
                    Cell::Int(6),
                    Cell::Int(7),
                    Cell::Int(8),
                    Cell::Int(9),
                    Cell::Int(10),
                ]),
            ]
        );
        for (page, says) in [
            (&b"'open"[..], "does not end"),
            (b"X'0g'", "no value at byte 0"),
            (b"1;2", "no value at byte 0"),
            (b"'a'b", "holds 'b' at byte 3"),
            (
                b"1,2,3,4,5,6,7,8,9,10\n1,2",
                "the row at byte 21 holds 2 values, not 10",
            ),
            (
                b"1,2,3,4,5,6,7,8,9,10,11",
                "the row at byte 0 holds more than 10 values",
            ),
        ] {
            let e = all(page).unwrap_err();
            assert!(e.contains(says), "{page:?}: {e}");
        }
    }

    #[tokio::test]
    async fn rows_are_read_in_pages_leniently_and_the_file_is_left_alone() {
        let (_dir, path) = temp();
        let mut sql = vec![MDM_SCHEMA.to_owned()];
        for i in 0..7 {
            sql.push(format!(
                "INSERT INTO metrics (timestamp, metric_type, operation, duration_ms, success, \
                 dataset_name, row_count, metadata) VALUES ('2025-01-06 10:00:0{i}', \
                 'dataset_read', 'read', {i}.5, 1, 'sales', {i}, \"{{'i': {i}}}\")"
            ));
        }
        // Odd but readable values, then unreadable ones.
        sql.push(
            "INSERT INTO metrics (metric_type, operation, duration_ms, success, row_count) \
             VALUES ('error', 'x', 12, NULL, 3.0)"
                .into(),
        );
        sql.push(
            "INSERT INTO metrics (metric_type, operation, duration_ms) VALUES ('e', 'y', 'slow')"
                .into(),
        );
        sql.push(
            "INSERT INTO metrics (metric_type, operation, row_count) VALUES ('e', 'z', 2.5)".into(),
        );
        sql.push(
            "INSERT INTO metrics (metric_type, operation, metadata) VALUES ('e', 'w', x'ff00')"
                .into(),
        );
        let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
        make_db(&path, &sql).await;
        let before = std::fs::read(&path).unwrap();

        assert_eq!(count(&path).await.unwrap(), 11);
        let mut r = MdmReader::open(&path).await.unwrap();
        let rows = read_all(&mut r, 3).await;
        assert_eq!(rows.len(), 11);
        let first = rows[0].clone().unwrap();
        assert_eq!(
            first,
            MdmRow {
                id: 1,
                timestamp: Some("2025-01-06 10:00:00".into()),
                metric_type: Some("dataset_read".into()),
                operation: Some("read".into()),
                duration_ms: Some(0.5),
                success: Some(1),
                dataset_name: Some("sales".into()),
                row_count: Some(0),
                error_message: None,
                metadata: Some("{'i': 0}".into()),
            }
        );
        let odd = rows[7].clone().unwrap();
        assert_eq!(
            (odd.duration_ms, odd.success, odd.row_count),
            (Some(12.0), None, Some(3))
        );
        // CURRENT_TIMESTAMP filled the time.
        assert_eq!(odd.timestamp.unwrap().len(), "2025-01-06 10:00:00".len());
        let bad: Vec<BadRow> = rows[8..].iter().map(|r| r.clone().unwrap_err()).collect();
        assert_eq!(bad[0].id, 9);
        assert!(
            bad[0].reason.contains("`duration_ms` holds \"slow\""),
            "{bad:?}"
        );
        assert!(bad[1].reason.contains("`row_count` holds 2.5"), "{bad:?}");
        assert!(
            bad[2].reason.contains("`metadata` holds binary data"),
            "{bad:?}"
        );

        r.rewind();
        assert_eq!(read_all(&mut r, PAGE).await.len(), 11);
        r.close().await;
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file must not change"
        );
    }

    #[tokio::test]
    async fn rows_added_after_opening_wait_for_the_next_import() {
        let (_dir, path) = temp();
        make_db(
            &path,
            &[
                MDM_SCHEMA,
                "INSERT INTO metrics (metric_type, operation) VALUES ('a', 'b')",
            ],
        )
        .await;
        let mut r = MdmReader::open(&path).await.unwrap();
        make_db(
            &path,
            &["INSERT INTO metrics (metric_type, operation) VALUES ('c', 'd')"],
        )
        .await;
        assert_eq!(r.count().await.unwrap(), 1);
        assert_eq!(read_all(&mut r, PAGE).await.len(), 1);
        r.close().await;
        assert_eq!(count(&path).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn an_older_table_without_optional_columns_reads_them_as_null() {
        let (_dir, path) = temp();
        make_db(
            &path,
            &[
                "CREATE TABLE metrics (id INTEGER PRIMARY KEY, timestamp TEXT, metric_type TEXT, \
                 operation TEXT)",
                "INSERT INTO metrics VALUES (5, '2025-01-06 10:00:00', 'a', 'b')",
            ],
        )
        .await;
        let mut r = MdmReader::open(&path).await.unwrap();
        let rows = read_all(&mut r, PAGE).await;
        let row = rows[0].clone().unwrap();
        assert_eq!((row.id, row.success, row.metadata), (5, None, None));
    }

    #[tokio::test]
    async fn files_that_are_not_mdm_databases_are_refused_by_name_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.db");
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "hello, this is not SQLite at all, just some text\n".repeat(20),
        )
        .unwrap();
        let users = dir.path().join("users.db");
        make_db(
            &users,
            &["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"],
        )
        .await;
        let no_op = dir.path().join("no_op.db");
        make_db(
            &no_op,
            &["CREATE TABLE metrics (id INTEGER PRIMARY KEY, timestamp TEXT, metric_type TEXT)"],
        )
        .await;
        let text_id = dir.path().join("text_id.db");
        make_db(
            &text_id,
            &["CREATE TABLE metrics (id TEXT PRIMARY KEY, timestamp TEXT, metric_type TEXT, operation TEXT)"],
        )
        .await;
        let cases: Vec<(&Path, &str)> = vec![
            (&missing, "cannot open {}: no such file"),
            (dir.path(), "cannot open {}: it is a folder, not a file"),
            (
                &empty,
                "{} is not an MDM metrics database: the file is empty",
            ),
            (
                &text,
                "{} is not an MDM metrics database: not an SQLite database (file is not a database)",
            ),
            (
                &users,
                "{} is not an MDM metrics database: no table `metrics`",
            ),
            (
                &no_op,
                "{} is not an MDM metrics database: table `metrics` is missing column `operation`",
            ),
            (
                &text_id,
                "{} is not an MDM metrics database: column `id` of table `metrics` is not its INTEGER PRIMARY KEY",
            ),
        ];
        for (path, want) in cases {
            let before = std::fs::read(path).ok();
            let err = MdmReader::open(path).await.unwrap_err();
            assert!(err.is_bad_input(), "{err}");
            assert_eq!(
                err.to_string(),
                want.replace("{}", &path.display().to_string())
            );
            assert_eq!(
                std::fs::read(path).ok(),
                before,
                "{} must not change",
                path.display()
            );
        }
        assert!(!missing.exists(), "a missing file must not be created");
    }
}
