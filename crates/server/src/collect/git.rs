//! The git collector: code migrations measured by what is left to change.
//!
//! For the repository `repo` and the revision `rev`, it walks the first-parent history since
//! the plan's migration start (`git rev-list --first-parent --reverse --since=START rev`) and,
//! at each commit not counted before, counts for every pattern the lines that match it
//! (`git grep -c -I -F|-E -e PATTERN COMMIT -- PATHS`). Each count is a sample
//! `code_matches_remaining` at the commit's time, for the pattern's component, with the labels
//! `commit` (the full id) and `pattern`. Commits and counts are kept in the store, so a restart
//! counts only new commits (and a pattern added to the plan is counted at the commits already
//! walked).
//!
//! Commit activity: a commit counts for a component when it changes a file under one of the
//! component's pattern `paths` (any file when a pattern has none), compared with its first
//! parent. Once a UTC day is over, each component's count of that day is written as a sample
//! `commits` at the day's midnight (days without commits are not written).
//!
//! [`burndown`] gives, per component, the sum of its patterns' counts at each commit, and
//! `mhd_web::charts::burndown_chart` draws it as an SVG line chart.
//!
//! `git` is run directly (never through a shell) with fixed arguments; the revision is passed
//! after `--end-of-options` and paths after `--`, so nothing from the plan is read as an
//! option. A run that times out kills the `git` it started.

use mhd_store::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use mhd_core::limits::MAX_NAME_BYTES;
use mhd_core::plan::{GitCollector, GitPattern, Plan};
use mhd_core::sample::Sample;
use mhd_store::Database;
use mhd_store::collect::{GitCommitRecord, GitCountRecord};
use mhd_web::charts::{BurndownSeries, truncate};
use time::{Date, OffsetDateTime};

use super::CollectError;
use super::Context;

/// The metric of the matches left at each commit.
pub const MATCHES_METRIC: &str = "code_matches_remaining";
/// The metric of commit activity per component and day.
pub const COMMITS_METRIC: &str = "commits";
/// The collector state key of the last day whose commit activity was written.
const DAYS_WRITTEN_KEY: &str = "commits_written_through";

/// Why the repository could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git: {0}")]
    Spawn(String),
    /// `git` failed.
    #[error("git {what} failed in {repo}: {message}")]
    Failed {
        /// The command (`rev-list`, `grep`, …).
        what: &'static str,
        /// The repository.
        repo: String,
        /// Its standard error, first lines.
        message: String,
    },
    /// `git` wrote something unexpected.
    #[error("git {what} in {repo} wrote something unexpected: {line:?}")]
    Unexpected {
        /// The command.
        what: &'static str,
        /// The repository.
        repo: String,
        /// The line.
        line: String,
    },
}

/// What identifies a pattern in the store: its component, kind, text and paths.
pub fn pattern_key(p: &GitPattern) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        p.component,
        if p.regex { "E" } else { "F" },
        p.pattern,
        p.paths.join("\u{1e}")
    )
}

/// A git collector.
pub struct GitRunner {
    config: GitCollector,
    repo: PathBuf,
    /// Commits walked (from the store on the first run).
    commits: Option<Vec<GitCommitRecord>>,
    /// Their positions in `commits`, by id.
    index: HashMap<String, usize>,
    /// (commit, pattern key) pairs counted.
    counted: HashSet<(String, String)>,
}

impl GitRunner {
    /// A collector for `config`, a relative repository taken from `base`.
    pub fn new(config: GitCollector, base: &Path) -> GitRunner {
        let repo = super::resolve(base, &config.repo);
        GitRunner {
            config,
            repo,
            commits: None,
            index: HashMap::new(),
            counted: HashSet::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &GitCollector {
        &self.config
    }

    /// Walks the commits not counted yet, storing their counts as it goes (so a run cut short
    /// keeps what it did), and writes the commit activity of the days that are over.
    pub async fn run(&mut self, cx: &Context) -> Result<Vec<Sample>, CollectError> {
        let name = self.config.name.clone();
        if self.commits.is_none() {
            let commits = cx.store().git_commits(&name).await?;
            self.counted = cx
                .store()
                .git_counts(&name)
                .await?
                .into_iter()
                .map(|c| (c.commit, c.pattern_key))
                .collect();
            self.index = commits
                .iter()
                .enumerate()
                .map(|(i, c)| (c.commit.clone(), i))
                .collect();
            self.commits = Some(commits);
        }
        let since = cx
            .plan()
            .as_deref()
            .map(|p| p.migration.start.midnight().assume_utc());
        let walked = self.rev_list(since).await?;
        let patterns: Vec<(String, &GitPattern)> = self
            .config
            .patterns
            .iter()
            .map(|p| (pattern_key(p), p))
            .collect();
        let mut samples = Vec::new();
        for (sha, committed_at) in walked {
            let known = self.index.get(&sha).copied();
            let missing: Vec<&(String, &GitPattern)> = patterns
                .iter()
                .filter(|(key, _)| !self.counted.contains(&(sha.clone(), key.clone())))
                .collect();
            if known.is_some() && missing.is_empty() {
                continue;
            }
            let mut counts = Vec::new();
            for (key, p) in &missing {
                let matches = self.grep(&sha, p).await?;
                counts.push(GitCountRecord {
                    commit: sha.clone(),
                    pattern_key: key.clone(),
                    component: p.component.clone(),
                    matches,
                });
                let mut s = Sample::new(committed_at, MATCHES_METRIC, matches as f64);
                s.unit = Some("lines".into());
                s.component = Some(p.component.clone());
                s.labels.insert("commit".into(), sha.clone());
                s.labels.insert("pattern".into(), label_value(&p.pattern));
                samples.push(s);
            }
            let record = if known.is_some() {
                None
            } else {
                let changed = self.changed_files(&sha).await?;
                Some(GitCommitRecord {
                    commit: sha.clone(),
                    committed_at,
                    components: touched_components(&self.config.patterns, &changed),
                })
            };
            let stored = record.clone().unwrap_or_else(|| GitCommitRecord {
                commit: sha.clone(),
                committed_at,
                components: known
                    .and_then(|i| self.commits.as_ref()?.get(i))
                    .map(|k| k.components.clone())
                    .unwrap_or_default(),
            });
            cx.store()
                .insert_git_commit(&name, &stored, &counts)
                .await?;
            // Stored as it goes: samples of counted commits are written now, so a timeout
            // later in the run does not lose them.
            if !samples.is_empty() {
                cx.recorder().samples(&std::mem::take(&mut samples)).await?;
            }
            for c in counts {
                self.counted.insert((c.commit, c.pattern_key));
            }
            if let (Some(r), Some(all)) = (record, self.commits.as_mut()) {
                self.index.insert(r.commit.clone(), all.len());
                all.push(r);
            }
        }
        samples.extend(self.activity(cx).await?);
        Ok(samples)
    }

    /// The `commits` samples of the days that ended since the last ones written.
    async fn activity(&self, cx: &Context) -> Result<Vec<Sample>, CollectError> {
        let name = &self.config.name;
        let today = cx.now().date();
        let written: Option<Date> = cx
            .store()
            .collector_value(name, DAYS_WRITTEN_KEY)
            .await?
            .and_then(|v| {
                Date::parse(&v, &time::format_description::well_known::Iso8601::DATE).ok()
            });
        let mut per_day: BTreeMap<(Date, String), u64> = BTreeMap::new();
        for c in self.commits.iter().flatten() {
            let day = c.committed_at.date();
            if day >= today || written.is_some_and(|w| day <= w) {
                continue;
            }
            for component in &c.components {
                *per_day.entry((day, component.clone())).or_default() += 1;
            }
        }
        let samples: Vec<Sample> = per_day
            .into_iter()
            .map(|((day, component), n)| {
                let mut s = Sample::new(day.midnight().assume_utc(), COMMITS_METRIC, n as f64);
                s.unit = Some("commits".into());
                s.component = Some(component);
                s
            })
            .collect();
        if let Some(yesterday) = today.previous_day()
            && written.is_none_or(|w| w < yesterday)
        {
            // The samples are stored by the caller after this; a failure there writes the
            // days again on a later run at worst.
            let text = format!(
                "{:04}-{:02}-{:02}",
                yesterday.year(),
                u8::from(yesterday.month()),
                yesterday.day()
            );
            cx.store()
                .set_collector_value(name, DAYS_WRITTEN_KEY, &text)
                .await?;
        }
        Ok(samples)
    }

    /// The first-parent commits of `rev` since `since`, oldest first, with their commit times.
    async fn rev_list(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<(String, OffsetDateTime)>, GitError> {
        let mut args: Vec<String> = vec![
            "rev-list".into(),
            "--first-parent".into(),
            "--reverse".into(),
            "--timestamp".into(),
        ];
        if let Some(t) = since {
            args.push(format!("--since=@{}", t.unix_timestamp()));
        }
        args.push("--end-of-options".into());
        args.push(self.config.rev.clone());
        args.push("--".into());
        let out = self.git("rev-list", &args, &[0]).await?;
        let text = String::from_utf8_lossy(&out.1);
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let unexpected = || GitError::Unexpected {
                    what: "rev-list",
                    repo: self.repo.display().to_string(),
                    line: l.to_owned(),
                };
                let (ts, sha) = l.split_once(' ').ok_or_else(unexpected)?;
                let ts: i64 = ts.parse().map_err(|_| unexpected())?;
                let at = OffsetDateTime::from_unix_timestamp(ts).map_err(|_| unexpected())?;
                if !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(unexpected());
                }
                Ok((sha.to_owned(), at))
            })
            .collect()
    }

    /// The lines matching `p` at `commit`.
    async fn grep(&self, commit: &str, p: &GitPattern) -> Result<i64, GitError> {
        let mut args: Vec<String> = vec![
            "grep".into(),
            "--no-color".into(),
            "-c".into(),
            "-I".into(),
            if p.regex { "-E" } else { "-F" }.into(),
            "-e".into(),
            p.pattern.clone(),
            commit.to_owned(),
            "--".into(),
        ];
        args.extend(p.paths.iter().cloned());
        // git grep exits 1 when nothing matches.
        let (code, out) = self.git("grep", &args, &[0, 1]).await?;
        if code == 1 {
            return Ok(0);
        }
        let text = String::from_utf8_lossy(&out);
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.rsplit_once(':')
                    .and_then(|(_, n)| n.parse::<i64>().ok())
                    .ok_or_else(|| GitError::Unexpected {
                        what: "grep",
                        repo: self.repo.display().to_string(),
                        line: l.to_owned(),
                    })
            })
            .sum()
    }

    /// The files `commit` changed against its first parent (all of them for a root commit).
    async fn changed_files(&self, commit: &str) -> Result<Vec<String>, GitError> {
        let args: Vec<String> = [
            "diff-tree",
            "-r",
            "--root",
            "--no-commit-id",
            "--name-only",
            "-z",
            "--first-parent",
            commit,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let (_, out) = self.git("diff-tree", &args, &[0]).await?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// Runs `git -C repo ARGS`, accepting the exit codes `ok`; returns the code and stdout.
    async fn git(
        &self,
        what: &'static str,
        args: &[String],
        ok: &[i32],
    ) -> Result<(i32, Vec<u8>), GitError> {
        let output = tokio::process::Command::new("git")
            .arg("-C")
            .arg(&self.repo)
            .args(["-c", "core.fsmonitor=false", "-c", "core.quotePath=false"])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| GitError::Spawn(e.to_string()))?;
        let code = output.status.code().unwrap_or(-1);
        if !ok.contains(&code) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message: Vec<&str> = stderr.lines().take(3).collect();
            return Err(GitError::Failed {
                what,
                repo: self.repo.display().to_string(),
                message: if message.is_empty() {
                    format!("exit status {code}")
                } else {
                    message.join(" / ")
                },
            });
        }
        Ok((code, output.stdout))
    }
}

/// A pattern as a label value: control characters replaced, at most the samples' limit.
fn label_value(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // At most four bytes a character: within the name limit.
    truncate(&clean, MAX_NAME_BYTES / 4).into_owned()
}

/// The components whose pattern paths hold one of `changed` (every component with a pattern
/// without paths, when anything changed).
pub fn touched_components(patterns: &[GitPattern], changed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = patterns
        .iter()
        .filter(|p| {
            !changed.is_empty()
                && (p.paths.is_empty()
                    || changed.iter().any(|f| p.paths.iter().any(|d| under(f, d))))
        })
        .map(|p| p.component.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `file` is `dir` or lies under it (paths relative to the repository's root).
fn under(file: &str, dir: &str) -> bool {
    let dir = dir.trim_start_matches("./").trim_end_matches('/');
    dir.is_empty()
        || dir == "."
        || file == dir
        || file.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// The burndown of a git collector of the plan, per component (in name order): the sum of the
/// component's patterns (those of the plan now) at each commit counted for all of them.
pub async fn burndown(
    store: &Database,
    plan: Option<&Plan>,
    collector: &str,
) -> mhd_store::Result<Vec<BurndownSeries>> {
    let Some(config) = plan.and_then(|p| p.collectors.git.iter().find(|g| g.name == collector))
    else {
        return Ok(Vec::new());
    };
    let commits = store.git_commits(collector).await?;
    let counts = store.git_counts(collector).await?;
    Ok(burndown_of(&config.patterns, &commits, &counts))
}

/// [`burndown`] from stored commits and counts.
pub fn burndown_of(
    patterns: &[GitPattern],
    commits: &[GitCommitRecord],
    counts: &[GitCountRecord],
) -> Vec<BurndownSeries> {
    let mut keys_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in patterns {
        keys_of
            .entry(&p.component)
            .or_default()
            .push(pattern_key(p));
    }
    let by_pair: HashMap<(&str, &str), i64> = counts
        .iter()
        .map(|c| ((c.commit.as_str(), c.pattern_key.as_str()), c.matches))
        .collect();
    keys_of
        .into_iter()
        .map(|(component, keys)| BurndownSeries {
            component: component.to_owned(),
            points: commits
                .iter()
                .filter_map(|c| {
                    let total: Option<i64> = keys
                        .iter()
                        .map(|k| by_pair.get(&(c.commit.as_str(), k.as_str())).copied())
                        .sum();
                    total.map(|t| (c.committed_at, t as f64))
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(component: &str, text: &str, paths: &[&str]) -> GitPattern {
        GitPattern {
            component: component.into(),
            pattern: text.into(),
            regex: false,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn commits_count_for_the_components_whose_paths_they_touch() {
        let patterns = [
            pattern("storage", "old_read(", &["src/storage"]),
            pattern("config", "ini.load", &["src/config/"]),
            pattern("all", "TODO", &[]),
        ];
        let changed = vec!["src/storage/db.py".to_owned(), "README".to_owned()];
        assert_eq!(
            touched_components(&patterns, &changed),
            vec!["all", "storage"]
        );
        assert!(touched_components(&patterns, &[]).is_empty());
        assert!(!under("src/storage2/x", "src/storage"));
        assert!(under("src/storage", "src/storage"));
    }

    #[test]
    fn the_burndown_sums_a_components_patterns_per_commit() {
        let patterns = [
            pattern("storage", "a(", &[]),
            pattern("storage", "b(", &[]),
            pattern("config", "c(", &[]),
        ];
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let commits: Vec<GitCommitRecord> = (0..3)
            .map(|i| GitCommitRecord {
                commit: format!("c{i}"),
                committed_at: t0 + time::Duration::days(i),
                components: vec![],
            })
            .collect();
        let mut counts = Vec::new();
        for (i, c) in commits.iter().enumerate() {
            for p in &patterns {
                counts.push(GitCountRecord {
                    commit: c.commit.clone(),
                    pattern_key: pattern_key(p),
                    component: p.component.clone(),
                    matches: 10 - (i as i64) * 3 - i64::from(p.pattern == "b("),
                });
            }
        }
        // A pattern no longer in the plan is left out.
        counts.push(GitCountRecord {
            commit: "c0".into(),
            pattern_key: "gone".into(),
            component: "storage".into(),
            matches: 100,
        });
        let series = burndown_of(&patterns, &commits, &counts);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].component, "config");
        let storage: Vec<f64> = series[1].points.iter().map(|p| p.1).collect();
        assert_eq!(storage, vec![19.0, 13.0, 7.0]);
    }
}
