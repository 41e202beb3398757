//! `[[reports]]`: reports the server makes on a schedule and sends through the plan's
//! notification channels.
//!
//! ```toml
//! [[reports]]
//! every = "monday 08:00"          # or "day 07:30" (every day); times are UTC
//! format = "pdf"                  # or "html" (default "pdf")
//! last = "7d"                     # the period: whole days up to the day it is made (default 7d)
//! channels = ["email-team", "slack-ops"]   # names of [[notify]] channels
//! ```

use serde::Serialize;
use time::{Duration, OffsetDateTime, Time, UtcOffset, Weekday};

/// One `[[reports]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledReport {
    /// When it is made.
    pub every: Every,
    /// `pdf` or `html`.
    pub format: String,
    /// The days it covers, up to and including the day it is made.
    pub last_days: u32,
    /// The `[[notify]]` channels it is sent to.
    pub channels: Vec<String>,
}

impl ScheduledReport {
    /// What names this schedule in the store: its fields, so an edited entry is a new schedule.
    pub fn key(&self) -> String {
        format!(
            "{} | {} | {}d | {}",
            self.every,
            self.format,
            self.last_days,
            self.channels.join(",")
        )
    }
}

/// When a scheduled report is made: each week on a day, or each day, at a UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Every {
    /// The day of the week, or `None` for every day.
    #[serde(serialize_with = "weekday_name")]
    pub weekday: Option<Weekday>,
    /// The hour, 0–23 (UTC).
    pub hour: u8,
    /// The minute, 0–59.
    pub minute: u8,
}

fn weekday_name<S: serde::Serializer>(w: &Option<Weekday>, s: S) -> Result<S::Ok, S::Error> {
    match w {
        Some(d) => s.serialize_str(&d.to_string().to_lowercase()),
        None => s.serialize_str("day"),
    }
}

impl std::fmt::Display for Every {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = self
            .weekday
            .map_or("day".to_owned(), |d| d.to_string().to_lowercase());
        write!(f, "{day} {:02}:{:02}", self.hour, self.minute)
    }
}

/// The days' names as written in `every` (`monday` or `mon`), with `day`/`daily` for every day.
const DAYS: [(&str, &str, Weekday); 7] = [
    ("monday", "mon", Weekday::Monday),
    ("tuesday", "tue", Weekday::Tuesday),
    ("wednesday", "wed", Weekday::Wednesday),
    ("thursday", "thu", Weekday::Thursday),
    ("friday", "fri", Weekday::Friday),
    ("saturday", "sat", Weekday::Saturday),
    ("sunday", "sun", Weekday::Sunday),
];

impl Every {
    /// Reads `"monday 08:00"`, `"mon 08:00"`, `"day 07:30"` or `"daily 07:30"` (UTC, 24-hour
    /// clock); the error says what is wrong and what to write.
    pub fn parse(s: &str) -> Result<Every, String> {
        let usage =
            "use a day and a time, such as \"monday 08:00\", or \"day 07:30\" for every day";
        let mut words = s.split_whitespace();
        let (Some(day), Some(clock), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("{s:?} is not a schedule: {usage}"));
        };
        let day = day.to_lowercase();
        let weekday = if day == "day" || day == "daily" {
            None
        } else {
            match DAYS
                .iter()
                .find(|(long, short, _)| day == *long || day == *short)
            {
                Some((_, _, d)) => Some(*d),
                None => return Err(format!("{s:?}: {day:?} is not a day of the week: {usage}")),
            }
        };
        let bad_time = || format!("{s:?}: {clock:?} is not a time of day HH:MM (00:00 to 23:59)");
        let (h, m) = clock.split_once(':').ok_or_else(bad_time)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad_time());
        }
        let hour: u8 = h.parse().map_err(|_| bad_time())?;
        let minute: u8 = m.parse().map_err(|_| bad_time())?;
        if hour > 23 || minute > 59 {
            return Err(bad_time());
        }
        Ok(Every {
            weekday,
            hour,
            minute,
        })
    }

    /// The latest moment at or before `now` when it was due (UTC).
    pub fn last_due(&self, now: OffsetDateTime) -> OffsetDateTime {
        let now = now.to_offset(UtcOffset::UTC);
        let time = Time::from_hms(self.hour, self.minute, 0).unwrap_or(Time::MIDNIGHT);
        let mut at = now.date().with_time(time).assume_utc();
        if at > now {
            at -= Duration::days(1);
        }
        if let Some(day) = self.weekday {
            while at.weekday() != day {
                at -= Duration::days(1);
            }
        }
        at
    }

    /// The first moment after `now` when it is due (UTC).
    pub fn next_due(&self, now: OffsetDateTime) -> OffsetDateTime {
        let step = if self.weekday.is_some() { 7 } else { 1 };
        self.last_due(now) + Duration::days(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn schedules_read_as_written() {
        let e = Every::parse("monday 08:00").unwrap();
        assert_eq!(e.weekday, Some(Weekday::Monday));
        assert_eq!((e.hour, e.minute), (8, 0));
        assert_eq!(e.to_string(), "monday 08:00");
        assert_eq!(
            Every::parse("Mon 8:05").unwrap().to_string(),
            "monday 08:05"
        );
        assert_eq!(Every::parse("day 07:30").unwrap().weekday, None);
        assert_eq!(
            Every::parse("daily 23:59").unwrap().to_string(),
            "day 23:59"
        );
        for bad in [
            "",
            "monday",
            "funday 08:00",
            "monday 24:00",
            "monday 8",
            "day 07:60",
            "monday 08:00 utc",
        ] {
            assert!(Every::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_last_due_moment_is_at_or_before_now() {
        // 2025-03-05 is a Wednesday.
        let now = datetime!(2025-03-05 09:00 UTC);
        let weekly = Every::parse("monday 08:00").unwrap();
        assert_eq!(weekly.last_due(now), datetime!(2025-03-03 08:00 UTC));
        assert_eq!(weekly.next_due(now), datetime!(2025-03-10 08:00 UTC));
        let daily = Every::parse("day 09:00").unwrap();
        assert_eq!(daily.last_due(now), now);
        assert_eq!(
            daily.last_due(now - Duration::seconds(1)),
            datetime!(2025-03-04 09:00 UTC)
        );
        let wed = Every::parse("wednesday 10:00").unwrap();
        assert_eq!(wed.last_due(now), datetime!(2025-02-26 10:00 UTC));
    }
}
