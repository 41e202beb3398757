//! Reads `[[reports]]` (see [`crate::plan::ScheduledReport`]).

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Reader, Value};
use crate::plan::{Channel, Every, ScheduledReport};

const REPORT_KEYS: &[&str] = &["every", "format", "last", "channels"];
const FORMATS: &[&str] = &["pdf", "html"];
/// The longest period a scheduled report covers, in days (as `mhd report`).
const MAX_DAYS: i64 = 366;

impl Reader<'_> {
    /// `[[reports]]`, its channels checked against the plan's `[[notify]]` channels (`None`
    /// when those did not read).
    pub(super) fn reports(
        &mut self,
        root: &DeTable<'_>,
        channels: Option<&[Channel]>,
    ) -> Vec<ScheduledReport> {
        let Some(value) = root.get("reports") else {
            return Vec::new();
        };
        let tables = self.tables(value, "`reports`", "an array of tables ([[reports]])");
        let names: Option<Vec<String>> =
            channels.map(|c| c.iter().map(|c| c.name.clone()).collect());
        let mut out = Vec::new();
        for (t, span) in tables {
            let place = "in [[reports]]";
            self.check_keys(t, place, REPORT_KEYS);
            let every = self
                .required(t, span.clone(), place, "every")
                .and_then(|v| self.every(v));
            let format = match t.get("format") {
                None => Some("pdf".to_owned()),
                Some(v) => self.report_format(v),
            };
            let last_days = match t.get("last") {
                None => Some(7),
                Some(v) => self.last_days(v),
            };
            let channels = self
                .required(t, span.clone(), place, "channels")
                .and_then(|v| self.report_channels(v, names.as_deref()));
            if let (Some(every), Some(format), Some(last_days), Some(channels)) =
                (every, format, last_days, channels)
            {
                out.push(ScheduledReport {
                    every,
                    format,
                    last_days,
                    channels,
                });
            }
        }
        out
    }

    fn every(&mut self, v: &Value<'_>) -> Option<Every> {
        let s = self.string(v, "`every` in [[reports]]")?;
        match Every::parse(&s) {
            Ok(e) => Some(e),
            Err(m) => {
                self.error(v.span(), format!("`every` in [[reports]]: {m}"));
                None
            }
        }
    }

    fn report_format(&mut self, v: &Value<'_>) -> Option<String> {
        let s = self.string(v, "`format` in [[reports]]")?;
        if FORMATS.contains(&s.as_str()) {
            return Some(s);
        }
        self.error(
            v.span(),
            format!("`format` in [[reports]] must be `pdf` or `html`, found {s:?}"),
        );
        None
    }

    fn last_days(&mut self, v: &Value<'_>) -> Option<u32> {
        let s = self.string(v, "`last` in [[reports]]")?;
        let bad = |r: &mut Self, why: String| {
            r.error(v.span(), format!("`last` in [[reports]]: {why}"));
            None
        };
        match crate::time_parse::parse_duration(&s) {
            Err(m) => bad(self, m),
            Ok(d) => {
                let days = d.whole_days();
                if d <= time::Duration::ZERO || d != time::Duration::days(days) {
                    bad(
                        self,
                        format!(
                            "{s:?} is not a whole number of days: use d or w, such as 7d or 2w"
                        ),
                    )
                } else if days > MAX_DAYS {
                    bad(self, format!("{s:?} is more than {MAX_DAYS} days"))
                } else {
                    u32::try_from(days).ok()
                }
            }
        }
    }

    fn report_channels(&mut self, v: &Value<'_>, known: Option<&[String]>) -> Option<Vec<String>> {
        let what = "`channels` in [[reports]]";
        if !matches!(v.get_ref(), DeValue::Array(_)) {
            self.wrong_type(v, what, "an array of [[notify]] channel names");
            return None;
        }
        let list: Vec<Spanned<String>> = self.strings(v, what);
        if list.is_empty() {
            self.error(v.span(), format!("{what} names no channel"));
            return None;
        }
        let before = self.errors.len();
        match known {
            Some([]) => {
                self.error(
                    v.span(),
                    format!("{what} names channels, but the plan has no [[notify]] channel"),
                );
            }
            _ => self.check_refs(&list, known, what, "[[notify]] channel"),
        }
        (self.errors.len() == before).then(|| list.into_iter().map(Spanned::into_inner).collect())
    }
}
