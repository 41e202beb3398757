//! The test reports collector (`[[collectors.tests]]`): watches a folder for new JUnit XML
//! reports and stores each one as a test run.
//!
//! - A report is a file of the folder (not its subfolders) whose name ends in `.xml`.
//! - It is new when its name, size and modification time are not among those already read;
//!   the ones read are kept in the store, so a restart reads none of them again. A file that
//!   changes (another size or time) is read again as a new run.
//! - A file is read once it has kept the same size and time over two polls, so one still
//!   being written waits.
//! - It is read by [`mhd_ingest::junit`] and stored as one run of `suite` (default: the file's
//!   name without `.xml`), with the plan's `phase` and `component`, at the report's own
//!   timestamp or else the file's modification time; live clients hear of it.
//! - A file that is not a valid report is recorded with its error and not read again until it
//!   changes; while it stays in the folder unchanged, every run fails with the error naming
//!   the file (so it shows on the dashboard until someone fixes or removes it), and the other
//!   files are read all the same.

use mhd_store::prelude::*;
use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use mhd_core::plan::TestReportsCollector;
use mhd_core::sample::Sample;
use mhd_core::testrun::TestRun;
use mhd_store::collect::SeenFileRecord;
use time::OffsetDateTime;

use super::CollectError;
use super::Context;

/// Why reports could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    /// The folder could not be listed.
    #[error("cannot list {path}: {reason}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// Some files were refused or could not be read.
    #[error("{} report(s) refused: {}", .0.len(), .0.join("; "))]
    Refused(Vec<String>),
}

/// A file as listed: its name, size and modification time (to the microsecond, as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    name: String,
    size: i64,
    modified: OffsetDateTime,
}

/// What reading one file gave.
enum Read {
    Run(Box<TestRun>),
    Refused(String),
    Unreadable(String),
}

/// A test reports collector.
pub struct ReportsRunner {
    config: TestReportsCollector,
    folder: PathBuf,
    /// What the previous poll saw, by name.
    previous: HashMap<String, Listed>,
}

impl ReportsRunner {
    /// A collector for `config`, a relative folder taken from `base`.
    pub fn new(config: TestReportsCollector, base: &Path) -> ReportsRunner {
        let folder = super::resolve(base, &config.path);
        ReportsRunner {
            config,
            folder,
            previous: HashMap::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &TestReportsCollector {
        &self.config
    }

    /// Polls the folder once, storing the new reports that are complete.
    pub async fn run(&mut self, cx: &Context) -> Result<Vec<Sample>, CollectError> {
        let name = self.config.name.clone();
        let folder = self.folder.clone();
        let listed = tokio::task::spawn_blocking(move || list(&folder))
            .await
            .map_err(|e| CollectError::Task(e.to_string()))??;
        let seen: HashMap<String, SeenFileRecord> = cx
            .store()
            .seen_files(&name)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        let is_seen = |f: &Listed| {
            seen.get(&f.name)
                .is_some_and(|s| s.size == f.size && s.modified == f.modified)
        };
        // Stable since the last poll and not read before.
        let mut ready: Vec<Listed> = listed
            .iter()
            .filter(|f| !is_seen(f) && self.previous.get(&f.name) == Some(*f))
            .cloned()
            .collect();
        ready.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.name.cmp(&b.name)));
        let mut problems: Vec<String> = Vec::new();
        for file in ready {
            let path = self.folder.join(&file.name);
            let suite = self.config.suite.clone().unwrap_or_else(|| {
                file.name
                    .strip_suffix(".xml")
                    .or_else(|| file.name.strip_suffix(".XML"))
                    .unwrap_or(&file.name)
                    .to_owned()
            });
            let (phase, component) = (self.config.phase.clone(), self.config.component.clone());
            let modified = file.modified;
            let read = tokio::task::spawn_blocking(move || {
                read_report(&path, suite, phase, component, modified)
            })
            .await
            .map_err(|e| CollectError::Task(e.to_string()))?;
            let error = match read {
                Read::Run(run) => {
                    cx.recorder().test_run(&run, Some(&file.name)).await?;
                    None
                }
                Read::Refused(e) => Some(e),
                Read::Unreadable(e) => {
                    // Not recorded: a file that cannot be opened now may be readable later.
                    problems.push(e);
                    continue;
                }
            };
            cx.store()
                .record_seen_file(
                    &name,
                    &SeenFileRecord {
                        name: file.name.clone(),
                        size: file.size,
                        modified: file.modified,
                        error: error.clone(),
                    },
                    cx.now(),
                )
                .await?;
        }
        // Refused files still in the folder unchanged keep the collector's error standing.
        let refused_now: HashMap<String, SeenFileRecord> = cx
            .store()
            .seen_files(&name)
            .await?
            .into_iter()
            .filter(|s| s.error.is_some())
            .map(|s| (s.name.clone(), s))
            .collect();
        for f in &listed {
            if let Some(s) = refused_now.get(&f.name)
                && s.size == f.size
                && s.modified == f.modified
                && let Some(e) = &s.error
            {
                problems.push(e.clone());
            }
        }
        self.previous = listed.into_iter().map(|f| (f.name.clone(), f)).collect();
        if problems.is_empty() {
            Ok(Vec::new())
        } else {
            Err(ReportsError::Refused(problems).into())
        }
    }
}

/// The `.xml` files of `folder`.
fn list(folder: &Path) -> Result<Vec<Listed>, ReportsError> {
    let fail = |e: std::io::Error| ReportsError::Folder {
        path: folder.display().to_string(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(fail)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.to_ascii_lowercase().ends_with(".xml") {
            continue;
        }
        // Follows symbolic links, as reading the file does.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .map(OffsetDateTime::from)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        // To the microsecond, as the store keeps times.
        let micros = modified.unix_timestamp_nanos() / 1000 * 1000;
        out.push(Listed {
            name,
            size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
            modified: OffsetDateTime::from_unix_timestamp_nanos(micros)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        });
    }
    Ok(out)
}

fn read_report(
    path: &Path,
    suite: String,
    phase: Option<String>,
    component: Option<String>,
    modified: OffsetDateTime,
) -> Read {
    let shown = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Read::Unreadable(format!("cannot read {shown}: {e}")),
    };
    match mhd_ingest::junit::parse(BufReader::new(file), &shown) {
        Ok(report) => {
            let at = report.timestamp.unwrap_or(modified);
            Read::Run(Box::new(report.into_test_run(suite, phase, component, at)))
        }
        Err(e) => Read::Refused(e.to_string()),
    }
}
