//! JUnit XML parsing throughput and memory (DESIGN §7: ≥ 100 MB/s, memory independent of
//! file size).
//!
//! Writes a ~100 MB and a ~10 MB report to a temporary folder (many cases with
//! `<system-out>`, some failures with CDATA stack traces, some skipped and errored cases), then
//! prints for each:
//! - the baseline: reading the same file to the end with `std::io::copy`, in MB/s;
//! - parsing it with `mhd_ingest::junit::parse`, in MB/s (best of the runs);
//! - how far the resident memory of a fresh process peaks (VmHWM) during one `parse`, beside
//!   the heap the returned cases take, and during one `parse_each` that only counts the cases:
//!   that one is the parser's own working memory, which must not grow with the file.
//!
//! Run: `cargo bench -p mhd-ingest --bench junit` (`MHD_BENCH_MB=200` for a bigger file,
//! `MHD_BENCH_RUNS=5` for more runs).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use mhd_core::testrun::TestCase;
use mhd_ingest::junit::{JunitReport, parse, parse_each};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure-memory") {
        return measure_memory_here(&args[i + 1], Path::new(&args[i + 2]));
    }
    let big_mb: u64 = env_or("MHD_BENCH_MB", 100);
    let runs: usize = env_or("MHD_BENCH_RUNS", 3);
    let dir = tempfile::tempdir().expect("temporary folder");

    println!(
        "JUnit XML parsing, best of {runs} runs; memory: peak growth of one parse in a fresh process"
    );
    println!(
        "{:>10} {:>8} {:>13} {:>10} {:>10} {:>16} {:>13} {:>14}",
        "file",
        "cases",
        "read (base)",
        "parse",
        "of base",
        "parse: peak",
        "cases' heap",
        "parse_each"
    );
    // Reports as CI writes them (every case with its captured output), and a dense one with
    // no output at all: nothing but tags and attributes, the parser's slowest kind of input.
    for (mb, with_output) in [(big_mb / 10, true), (big_mb, true), (big_mb, false)] {
        let path = dir.path().join(format!("report-{mb}mb-{with_output}.xml"));
        let size = write_report(&path, mb << 20, with_output);
        let (read_s, parse_s, report) = measure_speed(&path, runs);
        let totals = report.totals();
        assert_eq!(totals.total, report.cases.len() as u64);
        assert!(totals.failed > 0 && totals.skipped > 0 && totals.errors > 0);
        let cases_heap = heap_of(&report);
        drop(report);
        let all = memory_in_child("all", &path);
        let each = memory_in_child("each", &path);
        let mbytes = size as f64 / 1e6;
        println!(
            "{:>7.1}MB{} {:>8} {:>8.0} MB/s {:>5.0} MB/s {:>9.1}% {:>13.1} MB {:>10.1} MB {:>11.2} MB",
            mbytes,
            if with_output { ' ' } else { '*' },
            totals.total,
            mbytes / read_s,
            mbytes / parse_s,
            read_s / parse_s * 100.0,
            all / 1e6,
            cases_heap as f64 / 1e6,
            each / 1e6,
        );
    }
    println!("* no <system-out>: tags and attributes only");
    println!(
        "target: parse ≥ 100 MB/s; parse_each (the parser without the cases it returns) flat across sizes"
    );
}

/// Best time to read the file to the end, best time to parse it, and the parsed report.
fn measure_speed(path: &Path, runs: usize) -> (f64, f64, JunitReport) {
    let mut best_read = f64::MAX;
    let mut best_parse = f64::MAX;
    let mut report = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let mut f = File::open(path).unwrap();
        std::io::copy(&mut f, &mut std::io::sink()).unwrap();
        best_read = best_read.min(t.elapsed().as_secs_f64());

        drop(report.take());
        let t = Instant::now();
        let r = parse(BufReader::new(File::open(path).unwrap()), "bench.xml").unwrap();
        best_parse = best_parse.min(t.elapsed().as_secs_f64());
        report = Some(r);
    }
    (best_read, best_parse, report.unwrap())
}

/// Runs this program again to parse `path` once (`mode` "all": `parse`, "each": `parse_each`
/// counting the cases) and returns how far its resident memory peaked above where it was
/// before the parse, in bytes; NaN where /proc is missing.
fn memory_in_child(mode: &str, path: &Path) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--measure-memory", mode])
        .arg(path)
        .output()
        .expect("run the memory probe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN)
}

fn measure_memory_here(mode: &str, path: &Path) {
    let before = status_kb("VmRSS:");
    let file = BufReader::new(File::open(path).unwrap());
    let cases = if mode == "each" {
        let mut n = 0u64;
        parse_each(file, "bench.xml", |_| n += 1).unwrap();
        n
    } else {
        parse(file, "bench.xml").unwrap().cases.len() as u64
    };
    assert!(cases > 0);
    match (before, status_kb("VmHWM:")) {
        (Some(before), Some(peak)) => println!("{}", peak.saturating_sub(before) * 1024),
        _ => println!("NaN"),
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The heap the returned cases take: the vector and every string in it.
fn heap_of(r: &JunitReport) -> u64 {
    let strings: usize = r
        .cases
        .iter()
        .map(|c| {
            c.name.capacity()
                + c.classname.as_ref().map_or(0, String::capacity)
                + c.message.as_ref().map_or(0, String::capacity)
        })
        .sum();
    (r.cases.capacity() * std::mem::size_of::<TestCase>() + strings) as u64
}

/// Writes a report of about `target` bytes the way CI tools write big ones, each case with
/// its captured output or none; returns its size.
fn write_report(path: &Path, target: u64, with_output: bool) -> u64 {
    struct Counting {
        w: BufWriter<File>,
        written: u64,
    }
    fn put(c: &mut Counting, s: &str) {
        c.w.write_all(s.as_bytes()).unwrap();
        c.written += s.len() as u64;
    }
    let mut w = Counting {
        w: BufWriter::with_capacity(1 << 20, File::create(path).unwrap()),
        written: 0,
    };
    put(
        &mut w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bench\" time=\"1234.5\" \
         timestamp=\"2025-01-06T10:00:00Z\">\n",
    );
    let mut i = 0u64;
    let mut suite = 0u64;
    while w.written < target {
        put(
            &mut w,
            &format!(
                "  <testsuite name=\"pkg.module{suite}\" tests=\"1000\" time=\"12.5\">\n    \
                 <properties><property name=\"python\" value=\"3.11\"/>\
                 <property name=\"host\" value=\"ci-runner-7\"/></properties>\n"
            ),
        );
        for _ in 0..1000 {
            let mut case = format!(
                "    <testcase classname=\"pkg.module{suite}.TestClass{}\" \
                 name=\"test_case_{i}_checks_the_dataset_migration[param-{}-ünï]\" time=\"0.{:03}\">\n",
                i % 7,
                i % 13,
                i % 997
            );
            match i % 100 {
                0 => case.push_str(
                    "      <error message=\"RuntimeError: fixture could not connect to db:5432\" \
                     type=\"RuntimeError\">Traceback (most recent call last):\n  File \
                     &quot;conftest.py&quot;, line 12, in db\n    raise RuntimeError(&quot;could \
                     not connect&quot;)\nRuntimeError: fixture could not connect</error>\n",
                ),
                n if n % 20 == 5 => {
                    case.push_str(
                        "      <failure message=\"AssertionError: expected 1 &lt; 2 but got \
                         2 &gt;= 2\" type=\"AssertionError\"><![CDATA[Traceback (most recent \
                         call last):\n",
                    );
                    for f in 0..12 {
                        case.push_str(&format!(
                            "  File \"/src/pkg/module{suite}/deep/path/file_{f}.py\", line \
                             {}, in function_{f}\n    result = compute(<arg>, &ctx)\n",
                            f * 17 + 3
                        ));
                    }
                    case.push_str("AssertionError: expected 1 < 2]]></failure>\n");
                }
                n if n % 50 == 7 => {
                    case.push_str("      <skipped message=\"needs the production replica\"/>\n")
                }
                _ => {}
            }
            if with_output {
                case.push_str("      <system-out>");
                for l in 0..6 {
                    case.push_str(&format!(
                        "2025-01-06 10:00:{:02} INFO migrating dataset sales_{l} &lt;rows=1042&gt; \
                         &amp; verifying checksums… ok\n",
                        l * 7
                    ));
                }
                case.push_str("</system-out>\n      <system-err></system-err>\n");
            }
            case.push_str("    </testcase>\n");
            put(&mut w, &case);
            i += 1;
        }
        put(&mut w, "  </testsuite>\n");
        suite += 1;
    }
    put(&mut w, "</testsuites>\n");
    w.w.flush().unwrap();
    w.written
}
