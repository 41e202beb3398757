//! Reports (`GET /api/v1/reports/generate`) over a real SQLite store in a temporary folder,
//! through the whole router. The PDF is checked with real tools: poppler's `pdftotext` reads
//! its text back and `qpdf --check` its structure (each skipped with a notice where it is not
//! installed, except under CI, where that fails).

use std::process::Command;

use axum::http::{StatusCode, header};
use common::http::get_bytes;
use common::{App, HOSTILE, SATURDAY, in_ci, saturday, shows_escaped};
use mhd_core::System;
use mhd_core::perf::BenchmarkSamples;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_store::{AlertStore, Store};
use serde_json::Value;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

mod common;

/// Dataset names in Greek, Cyrillic, Chinese, Japanese, Korean and with an emoji.
const NAMES: [&str; 5] = [
    "Πελάτες",
    "Заказы",
    "客户数据",
    "東京の在庫 서울",
    "launch 🚀 data",
];
/// The person who acknowledged the alert.
const PERSON: &str = "Σωκράτης Παπαδόπουλος";

/// An operation of `kind` on `dataset` at `at` taking 20 ms, failed ("row count mismatch")
/// when `failed` is true.
fn op(at: OffsetDateTime, kind: &str, dataset: &str, failed: bool) -> common::ops::Op {
    common::op(dataset)
        .at(at)
        .kind(kind)
        .duration(20.0)
        .failed_if(failed, "row count mismatch")
}

/// A store with a week of activity before `SATURDAY` (and some before the week), a test run and
/// benchmarks, under the specification's plan.
async fn server(with_plan: bool) -> App {
    let (dir, store) = common::store().await;
    let day = |d: i64| SATURDAY - Duration::days(d);
    let mut ops = vec![
        // Before the range: two datasets migrated.
        op(day(20), "migration", "early-1", false).build(),
        op(day(20), "migration", "early-2", false).build(),
        // In the range (2025-02-23 to 2025-03-01).
        op(day(5), "migration", "sales", false).build(),
        op(day(4), "migration", "orders", true).build(),
        op(day(4) + Duration::hours(1), "migration", "orders", false).build(),
        op(day(3), "migration", "stock", false).build(),
        op(day(2), "rollback", "early-1", false).build(),
        op(day(1), "verification", "sales", true).build(),
        op(day(1), "migration", HOSTILE, true).build(),
        op(
            day(1) + Duration::minutes(5),
            "dataset_read",
            HOSTILE,
            false,
        )
        .failed(HOSTILE)
        .build(),
    ];
    for i in 0..30 {
        ops.push(
            op(
                day(i % 7) - Duration::minutes(i),
                "dataset_read",
                "sales",
                i % 10 == 0,
            )
            .build(),
        );
    }
    // Names in every script the report's fonts cover, each its own error group.
    for (i, name) in NAMES.iter().enumerate() {
        ops.push(
            op(
                day(2) + Duration::minutes(i as i64),
                "dataset_read",
                name,
                false,
            )
            .failed(&format!("checksum differs for {name}"))
            .build(),
        );
    }
    store.insert_operations(&ops).await.unwrap();
    // A critical alert that fired two days ago, acknowledged by a person named in Greek after
    // 95 minutes.
    let fired_at = SATURDAY - Duration::days(2);
    let alert = common::alerts::firing(7, fired_at, SATURDAY);
    store
        .save_transitions(&[common::alerts::stored(alert)], fired_at)
        .await
        .unwrap();
    store
        .acknowledge(7, PERSON, None, fired_at + Duration::minutes(95))
        .await
        .unwrap();
    let case = |name: &str, status| TestCase {
        name: name.into(),
        classname: None,
        status,
        time: Some(0.1),
        message: (status == TestStatus::Failed).then(|| "assertion failed".into()),
    };
    let run = TestRun {
        suite: "unit".into(),
        phase: None,
        component: Some("storage".into()),
        run_at: SATURDAY - Duration::hours(30),
        duration: 0.2,
        cases: vec![case("a", TestStatus::Passed), case("b", TestStatus::Failed)],
    };
    store.insert_test_run(&run, None).await.unwrap();
    let bench = |system, ms: f64| BenchmarkSamples {
        operation: "load".into(),
        system,
        component: Some("storage".into()),
        values_ms: vec![ms; 6],
    };
    store
        .insert_benchmarks(
            &[bench(System::Old, 200.0), bench(System::New, 100.0)],
            None,
            SATURDAY,
        )
        .await
        .unwrap();
    App::over(dir, store, with_plan.then(common::default_plan), saturday)
}

const WEEK: &str = "/api/v1/reports/generate?start_date=2025-02-23&end_date=2025-03-01";

/// Whether `tool` can be run; a notice (or a failure in CI) when not.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("-v").output().is_ok();
    if !ok {
        assert!(
            !in_ci(),
            "{tool} is not installed and CI is set: install Debian's poppler-utils and qpdf"
        );
        eprintln!("reports: {tool} not found, skipping its check");
    }
    ok
}

#[tokio::test]
async fn the_html_report_is_one_self_contained_document() {
    let s = server(true).await;
    let (status, headers, body) = get_bytes(&s.router, &format!("{WEEK}&format=html")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        r#"attachment; filename="mhd-report-2025-02-23-2025-03-01.html""#
    );
    let html = String::from_utf8(body).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: no script, nothing loaded from anywhere.
    let bare = html.replace("http://www.w3.org/2000/svg", "");
    for needle in [
        "<script", "http://", "https://", "src=\"", "<img", "<link", "@import", "url(http",
        "url(//",
    ] {
        assert!(!bare.contains(needle), "the report contains {needle}");
    }
    assert!(html.contains("<style>"));
    // Every part, in order.
    let mut at = 0;
    for part in [
        "Migration report — MDM refactoring, 2025-02-23 to 2025-03-01",
        "2025-02-23 to 2025-03-01 (7 days, UTC)",
        r#"<section id="brief""#,
        "Status: Critical",
        "Progress against the plan",
        "When it will finish",
        "Top risks",
        "What is needed",
        r#"<section id="progress""#,
        "Operations per day",
        r#"<section id="timeline""#,
        r#"<section id="components""#,
        r#"<section id="alerts""#,
        r#"<section id="tests""#,
        r#"<section id="performance""#,
        r#"<section id="resources""#,
        r#"<section id="top-errors""#,
    ] {
        let i = html[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} missing or out of order"));
        at += i;
    }
    // The figures of the range: three migrated, one rolled back (net +2); one failed attempt
    // besides the hostile one; one integrity issue.
    let progress = &html[html.find(r#"<section id="progress""#).unwrap()..];
    let card = |label: &str| {
        let i = progress.find(&format!("<dt>{label}</dt><dd>")).unwrap() + label.len() + 13;
        progress[i..].split('<').next().unwrap().to_owned()
    };
    assert_eq!(card("Datasets migrated"), "+2");
    assert_eq!(card("Migrated at the end"), "4");
    assert_eq!(card("Successful migrations"), "3");
    assert_eq!(card("Failed attempts"), "2");
    assert_eq!(card("Rollbacks"), "1");
    assert_eq!(card("Integrity issues"), "1");
    // One row a day in the table, each day of the range.
    for d in 23..=28 {
        assert!(progress.contains(&format!(r#"<th scope="row">2025-02-{d}</th>"#)));
    }
    assert!(progress.contains(r#"<th scope="row">2025-03-01</th>"#));
    assert!(!progress.contains("2025-02-22"));
    // The top errors: grouped by type and message, the hostile one as text.
    let errors = &html[html.find(r#"<section id="top-errors""#).unwrap()..];
    assert!(errors.contains("row count mismatch"));
    assert!(shows_escaped(errors));
    assert!(!html.contains(HOSTILE), "a stored string became markup");
    assert!(html.contains("assertion failed"), "the failing test");
    // The alert of the period with its time to acknowledge, and who did.
    let alerts = &html[html.find(r#"<section id="alerts""#).unwrap()..];
    assert!(alerts.contains("Error rate above 5 % on storage"));
    assert!(
        alerts.contains(&format!("1 h 35 min by {PERSON}")),
        "{alerts}"
    );
    assert!(alerts.contains("still open"));
    // Page 1 asks for an owner of nothing: the critical alert is acknowledged.
    assert!(!html.contains("An owner for the critical alert"));
}

#[tokio::test]
async fn the_pdf_report_reads_back_with_pdftotext() {
    let s = server(true).await;
    let (status, headers, body) = get_bytes(&s.router, WEEK).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/pdf",
        "PDF by default"
    );
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        r#"attachment; filename="mhd-report-2025-02-23-2025-03-01.pdf""#
    );
    assert!(body.starts_with(b"%PDF-"));
    assert!(body.trim_ascii_end().ends_with(b"%%EOF"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &body).unwrap();
    if have("qpdf") {
        let out = Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "qpdf --check: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if !have("pdftotext") {
        return;
    }
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = String::from_utf8(out.stdout).unwrap();
    // Lines joined: a wrapped line breaks at a space.
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "Migration report — MDM refactoring, 2025-02-23 to 2025-03-01",
        "Status: Critical",
        "Progress in the period",
        "Successful migrations",
        "Operations per day",
        "Timeline",
        "Component health matrix",
        "Alerts of the period",
        "Error rate above 5 % on storage",
        "Test results",
        "Performance comparison: old vs new system",
        "Resources",
        "Top errors of the period",
        "row count mismatch",
        "Page 1 of",
        // Every name as written, and the person who acknowledged the alert.
        "Πελάτες",
        "Заказы",
        "客户数据",
        "東京の在庫 서울",
        "launch 🚀 data",
        // The person's name, in a table cell that may wrap between the two words.
        "Σωκράτης",
        "Παπαδόπουλος",
    ] {
        assert!(
            text.contains(want),
            "{want:?} is not in the PDF's text:\n{raw}"
        );
    }
    // The hostile string is shown literally, as text.
    assert!(text.contains(HOSTILE), "the hostile name as text:\n{raw}");
    let pages = raw.matches('\u{c}').count();
    assert!(
        text.contains(&format!("Page {pages} of {pages}")),
        "{pages} pages numbered"
    );
}

#[tokio::test]
async fn a_report_without_a_plan_says_what_needs_one() {
    let s = server(false).await;
    let (status, _, body) = get_bytes(&s.router, &format!("{WEEK}&format=html")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("Migration report, 2025-02-23 to 2025-03-01"));
    assert!(html.contains("No migration plan"));
    assert!(html.contains(r#"<section id="progress""#));
    let (status, _, pdf) = get_bytes(&s.router, WEEK).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn an_earlier_range_is_told_as_of_its_end() {
    let s = server(true).await;
    let (status, _, body) = get_bytes(
        &s.router,
        "/api/v1/reports/generate?start_date=2025-02-01&end_date=2025-02-24&format=html",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("as of 2025-02-24 23:59:59 UTC"));
    // By the end of the 24th: the two early datasets and "sales".
    assert!(html.contains("3 of 412 datasets migrated"), "{html}");
    // The test run of the 28th came after the range.
    assert!(html.contains("No test run up to the end of the period."));
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let s = server(true).await;
    let cases = [
        ("?end_date=2025-03-01", "start_date"),
        ("?start_date=2025-03-01", "end_date"),
        ("?start_date=2025-13-01&end_date=2025-03-01", "start_date"),
        ("?start_date=2025-02-01&end_date=yesterday", "end_date"),
        ("?start_date=2025-03-02&end_date=2025-03-01", "start_date"),
        ("?start_date=2024-01-01&end_date=2025-03-01", "end_date"),
        (
            "?start_date=2025-02-01&end_date=2025-03-01&format=docx",
            "format",
        ),
        ("?start_date=2025-02-01&end_date=2025-03-01&fmt=pdf", "fmt"),
        (
            "?start_date=2025-02-01&start_date=2025-02-02&end_date=2025-03-01",
            "start_date",
        ),
        ("?last=14x", "last"),
        ("?last=36h", "last"),
        ("?last=0d", "last"),
        ("?last=400d", "last"),
        ("?last=7d&start_date=2025-02-01", "last"),
    ];
    for (query, param) in cases {
        let uri = format!("/api/v1/reports/generate{query}");
        let (status, headers, body) = get_bytes(&s.router, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "bad_request", "{uri}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{param}`")),
            "{uri}: {message:?} does not name {param}"
        );
    }
    // 366 days is the longest range.
    let (status, _, _) = get_bytes(
        &s.router,
        "/api/v1/reports/generate?start_date=2024-03-01&end_date=2025-03-01&format=html",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "2024-03-01 to 2025-03-01 is 366 days"
    );
}

/// The earliest and latest times a store holds: 1970 to the end of 9999.
const FIRST_US: i64 = 0;
const LAST_US: i64 = 253_402_300_799_999_999;

/// A store holding operations at `at` (a migration, a failed one, a rollback of the same
/// dataset), a test run and benchmarks then; renders everything that reads stored times: the
/// dashboard's data and its static file in two far-apart time zones, the overview page, the
/// plan's views through the API, and reports of the week up to `at` and of the week up to now.
async fn renders_with_an_operation_at(at: OffsetDateTime, with_plan: bool) {
    use mhd_web::views::render_static_dashboard;
    let (_dir, store) = common::store().await;
    store
        .insert_operations(&[
            op(at, "migration", "sales", false).build(),
            op(at, "migration", "orders", true).build(),
            op(at, "rollback", "sales", false).build(),
            op(SATURDAY, "migration", "stock", false).build(),
        ])
        .await
        .unwrap();
    let run = TestRun {
        suite: "unit".into(),
        phase: None,
        component: Some("storage".into()),
        run_at: at,
        duration: 0.1,
        cases: vec![TestCase {
            name: "a".into(),
            classname: None,
            status: TestStatus::Failed,
            time: Some(0.1),
            message: None,
        }],
    };
    store.insert_test_run(&run, None).await.unwrap();
    store
        .insert_benchmarks(
            &[BenchmarkSamples {
                operation: "load".into(),
                system: System::New,
                component: None,
                values_ms: vec![1.0, 2.0],
            }],
            None,
            at,
        )
        .await
        .unwrap();
    let plan = with_plan.then(common::default_plan);
    let data = mhd_store::view_data::dashboard(&store, plan.as_ref(), SATURDAY)
        .await
        .unwrap();
    assert_eq!(data.summary.overall.total_operations, 4);
    for offset in [time::macros::offset!(+14), time::macros::offset!(-12)] {
        let html = render_static_dashboard(&data, offset).unwrap();
        assert!(html.contains("</html>"), "{at}: the file is whole");
    }
    let router = mhd_server::app(common::state_at(store, plan, saturday));
    let mut uris = vec![
        "/".to_owned(),
        "/api/v1/health/summary".to_owned(),
        "/api/v1/migration/timeline".to_owned(),
        "/api/v1/components/health".to_owned(),
        "/api/v1/metrics/live".to_owned(),
        "/api/v1/operations".to_owned(),
        "/api/v1/tests".to_owned(),
        "/api/v1/reports/generate?start_date=2025-02-23&end_date=2025-03-01&format=html".to_owned(),
    ];
    let end = at.date();
    let start = end
        .checked_sub(Duration::days(6))
        .unwrap_or(date!(1970 - 01 - 01))
        .max(date!(1970 - 01 - 01));
    for format in ["html", "pdf"] {
        uris.push(format!(
            "/api/v1/reports/generate?start_date={start}&end_date={end}&format={format}"
        ));
    }
    for uri in uris {
        let (status, _, body) = get_bytes(&router, &uri).await;
        let plan_view =
            uri.contains("summary") || uri.contains("timeline") || uri.contains("components");
        let want = if plan_view && router_has_no_plan(&body) {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        assert_eq!(
            status,
            want,
            "{at}: {uri}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        assert!(!body.is_empty(), "{at}: {uri} answered nothing");
    }
}

fn router_has_no_plan(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v["error"]["code"] == "no_plan")
}

/// The edges of the stored range, and times around now, each with and without a plan.
#[tokio::test]
async fn the_views_and_reports_render_operations_at_the_edges_of_time() {
    let edges = [
        datetime!(1970-01-01 0:00 UTC),
        datetime!(1970-01-01 0:00:00.000_001 UTC),
        SATURDAY - Duration::microseconds(1),
        SATURDAY + Duration::days(1),
        datetime!(9999-12-30 23:59:59 UTC),
        datetime!(9999-12-31 23:59:59 UTC),
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(LAST_US) * 1000).unwrap(),
    ];
    for at in edges {
        for with_plan in [false, true] {
            renders_with_an_operation_at(at, with_plan).await;
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]

    /// Any time a store may hold, from 1970 to the end of 9999.
    #[test]
    fn the_views_and_reports_render_an_operation_at_any_stored_time(
        us in FIRST_US..=LAST_US,
        with_plan in proptest::bool::ANY,
    ) {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(renders_with_an_operation_at(at, with_plan));
    }
}

#[tokio::test]
async fn last_is_the_days_up_to_today() {
    let s = server(true).await;
    let (status, headers, body) =
        get_bytes(&s.router, "/api/v1/reports/generate?last=7d&format=html").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        r#"attachment; filename="mhd-report-2025-02-23-2025-03-01.html""#,
        "the seven days ending today (2025-03-01)"
    );
    let (_, headers, _) = get_bytes(&s.router, "/api/v1/reports/generate?last=2w").await;
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        r#"attachment; filename="mhd-report-2025-02-16-2025-03-01.pdf""#
    );
}

/// The text of the PDF's pages `first` to `last`, words joined by single spaces.
fn pdf_text(pdf: &[u8], first: u32, last: u32) -> Option<String> {
    if !have("pdftotext") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-f", &first.to_string(), "-l", &last.to_string()])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let raw = String::from_utf8(out.stdout).unwrap();
    Some(raw.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[tokio::test]
async fn page_one_tells_a_reader_the_status_the_date_the_risks_and_the_needs() {
    let s = server(true).await;
    let (status, _, pdf) = get_bytes(&s.router, WEEK).await;
    assert_eq!(status, StatusCode::OK);
    let Some(page) = pdf_text(&pdf, 1, 1) else {
        return;
    };
    let mut at = 0;
    for part in [
        "Status: Critical",
        // Why, in words.
        "Error rate above 5 % on storage",
        "datasets migrated",
        "Progress against the plan",
        // The burn-up chart's own labels, drawn as text from the pages' SVG.
        "forecast P50–P95",
        "When it will finish",
        "Top risks",
        "1.",
        "What is needed",
    ] {
        let i = page[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part:?} missing or out of order on page 1:\n{page}"));
        at += i;
    }
    // The completion sentence: a date with its confidence, or why there is none.
    assert!(
        page.contains("(85 % likely)") || page.contains("No completion date can be forecast"),
        "{page}"
    );
    // The top risk is the critical alert, with how long it has fired.
    let risks = &page[page.find("Top risks").unwrap()..page.find("What is needed").unwrap()];
    assert!(
        risks.contains("The critical alert “Error rate above 5 % on storage” has been firing"),
        "{risks}"
    );
    assert!(risks.matches(". ").count() >= 1);
    // Plain words: no rule expression on page 1.
    assert!(!page.contains("> 0.05"), "{page}");
    assert!(!page.contains("error_rate"), "{page}");
    // The rest follows on later pages.
    let rest = pdf_text(&pdf, 2, 99).unwrap();
    for part in ["Progress in the period", "Timeline", "Alerts of the period"] {
        assert!(rest.contains(part), "{part} after page 1");
    }
}

#[tokio::test]
async fn a_report_missed_while_no_server_ran_is_made_once_at_the_next_start() {
    use mhd_core::plan::{Every, ScheduledReport};
    use mhd_store::reports::NewReport;
    let (_dir, store) = common::store().await;
    let mut plan = common::default_plan();
    let entry = ScheduledReport {
        every: Every::parse("monday 08:00").unwrap(),
        format: "html".into(),
        last_days: 7,
        channels: Vec::new(),
    };
    plan.reports = vec![entry.clone()];
    // The last report made was due four Mondays before now (Saturday 2025-03-01): three were
    // missed while no server ran.
    store
        .insert_report(
            &NewReport {
                schedule: &entry.key(),
                due_at: datetime!(2025-02-03 08:00 UTC),
                start: date!(2025 - 01 - 28),
                end: date!(2025 - 02 - 03),
                format: "html",
                body: b"<!DOCTYPE html>",
            },
            datetime!(2025-02-03 08:00 UTC),
        )
        .await
        .unwrap();
    let state = common::state_at(store, Some(plan), saturday);
    let made = mhd_server::scheduled::run_due(&state).await.unwrap();
    assert_eq!(made.len(), 1, "one report, not one per missed week");
    assert_eq!(made[0].range.start, date!(2025 - 02 - 18));
    assert_eq!(
        made[0].range.end,
        date!(2025 - 02 - 24),
        "the latest due Monday"
    );
    let stored = state
        .store()
        .stored_report(made[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.due_at, datetime!(2025-02-24 08:00 UTC));
    assert!(
        String::from_utf8(stored.body)
            .unwrap()
            .contains("2025-02-18 to 2025-02-24")
    );
    assert!(
        mhd_server::scheduled::run_due(&state)
            .await
            .unwrap()
            .is_empty(),
        "made once"
    );
}
