//! What a 90-day report costs, the PDF beside the HTML report of the same data in the same run
//! (the baseline: the same figures gathered, rendered as text with no fonts or layout).
//!
//! The store: the specification's plan started 90 days ago, ~200 operations a day over the 90
//! days (migrations, reads, verifications, some failed), 20 test runs and benchmarks. Each
//! format is made 10 times after 2 warm-ups; the figures are the median and the slowest, in
//! milliseconds, of:
//!
//! - gathering the data (`mhd_store::view_data::report`: the store's reads, shared by both
//!   formats);
//! - rendering the HTML from it (baseline);
//! - rendering the PDF from it (layout, fonts subset and embedded, charts drawn from SVG);
//! - the whole PDF report (both together, as `mhd report` makes it), the figure with a 1 s
//!   budget.
//!
//! Run with `cargo bench -p mhd-web --bench report`.

use std::time::{Duration, Instant};

use mhd_core::perf::BenchmarkSamples;
use mhd_core::report::{ReportFormat, ReportRange};
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_core::{NewOperation, System};
use mhd_store::Store;
use mhd_web::report;
use time::{OffsetDateTime, UtcOffset};

const RUNS: usize = 10;
const DAYS: i64 = 90;

fn stats(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort_unstable();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    (ms(d[d.len() / 2]), ms(d[d.len() - 1]))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = mhd_store::Database::open_file(&dir.path().join("mhd.db"), 4)
            .await
            .expect("store");
        let now = OffsetDateTime::now_utc();
        let start = (now - time::Duration::days(DAYS)).date();
        let plan =
            mhd_core::plan::parse(&mhd_core::plan::default_plan_toml(start), "migration.toml")
                .expect("plan");
        let mut ops = Vec::new();
        for d in 0..DAYS {
            for i in 0..200 {
                let at = now - time::Duration::days(d) - time::Duration::minutes(i * 7);
                let kind = ["migration", "dataset_read", "verification"][(i % 3) as usize];
                let mut o = NewOperation::new(at, kind, "migrate");
                o.dataset_name = Some(format!("ds-{}", (d * 3 + i) % 412));
                o.component = Some("storage".into());
                o.system = Some(System::New);
                o.duration_ms = Some(20.0 + (i % 13) as f64);
                o.success = i % 17 != 0;
                if !o.success {
                    o.error_message = Some(format!("error {}", i % 5));
                }
                ops.push(o);
            }
        }
        store.insert_operations(&ops).await.expect("operations");
        for r in 0..20 {
            let run = TestRun {
                suite: format!("suite-{}", r % 4),
                phase: None,
                component: Some("storage".into()),
                run_at: now - time::Duration::days(r * 4),
                duration: 12.0,
                cases: (0..50)
                    .map(|c| TestCase {
                        name: format!("case {c}"),
                        classname: None,
                        status: if c % 23 == 0 {
                            TestStatus::Failed
                        } else {
                            TestStatus::Passed
                        },
                        time: Some(0.2),
                        message: (c % 23 == 0).then(|| "assertion failed".into()),
                    })
                    .collect(),
            };
            store.insert_test_run(&run, None).await.expect("test run");
        }
        let bench = |op: &str, system, ms: f64| BenchmarkSamples {
            operation: op.into(),
            system,
            component: Some("storage".into()),
            values_ms: vec![ms; 20],
        };
        store
            .insert_benchmarks(
                &[
                    bench("load", System::Old, 200.0),
                    bench("load", System::New, 150.0),
                    bench("query", System::Old, 40.0),
                    bench("query", System::New, 55.0),
                ],
                None,
                now,
            )
            .await
            .expect("benchmarks");
        let range = ReportRange::last_days(now.date(), DAYS);
        let mut gather = Vec::new();
        let mut html = Vec::new();
        let mut pdf = Vec::new();
        let mut whole = Vec::new();
        let mut size = (0, 0);
        for i in 0..RUNS + 2 {
            let t = Instant::now();
            let data = mhd_store::view_data::report(&store, Some(&plan), range, now)
                .await
                .expect("gather");
            let g = t.elapsed();
            let t = Instant::now();
            let h = report::render_html(&data, UtcOffset::UTC).expect("html");
            let hd = t.elapsed();
            let t = Instant::now();
            let p = report::render_pdf(&data, UtcOffset::UTC);
            let pd = t.elapsed();
            let t = Instant::now();
            let whole_data = mhd_store::view_data::report(&store, Some(&plan), range, now)
                .await
                .expect("gather");
            let w = report::render(&whole_data, ReportFormat::Pdf, UtcOffset::UTC).expect("report");
            let wd = t.elapsed();
            size = (h.len(), w.len());
            assert!(p.starts_with(b"%PDF-"));
            if i >= 2 {
                gather.push(g);
                html.push(hd);
                pdf.push(pd);
                whole.push(wd);
            }
        }
        println!(
            "90-day report, {} operations; {RUNS} runs, median / slowest in ms",
            ops.len()
        );
        let row = |name: &str, (m, s): (f64, f64)| println!("{name:<44} {m:>8.1} {s:>9.1}");
        row("gather the data (both formats)", stats(gather));
        row("render HTML (baseline)", stats(html));
        row("render PDF", stats(pdf));
        row("whole PDF report (gather + render)", stats(whole));
        println!("sizes: HTML {} KB, PDF {} KB", size.0 / 1024, size.1 / 1024);
    });
}
