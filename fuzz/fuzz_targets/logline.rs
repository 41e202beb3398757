//! Log lines: every line of the input is kept in exactly one entry, in order, and reading the
//! file backwards groups it into the same entries as reading it forwards.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhd_ingest::logline::{self, Grouper, LogLine, ReverseGrouper};
use time::UtcOffset;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // The first byte picks the zone of naive times (-12:00 to +14:00 by quarter hours) and
    // how many plain lines may continue an entry.
    let quarters = i32::from(head % 105) - 48;
    let offset = UtcOffset::from_whole_seconds(quarters * 900).expect("offset in range");
    let max_continuation = usize::from(head >> 5);

    let all = logline::parse_entries(text, offset);
    for e in &all {
        if let Some(t) = e.time {
            assert_eq!(t.offset(), UtcOffset::UTC, "a time not in UTC: {}", e.raw);
        }
    }
    let kept: Vec<&str> = all.iter().map(|e| e.raw.as_str()).collect();
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    assert_eq!(
        kept.join("\n"),
        lines.join("\n"),
        "lines lost, added or reordered"
    );

    let mut forward = Grouper::new(offset).with_max_continuation(max_continuation);
    let mut fwd: Vec<LogLine> = text.lines().filter_map(|l| forward.push(l)).collect();
    fwd.extend(forward.finish());

    let mut backward = ReverseGrouper::new(offset).with_max_continuation(max_continuation);
    let mut back: Vec<LogLine> = text
        .lines()
        .rev()
        .filter_map(|l| backward.push(l))
        .collect();
    back.extend(backward.finish());
    back.reverse();
    assert_eq!(fwd, back, "backwards reading groups differently");
});
