//! Golden tests of the JUnit XML parser over reports written by the real tools
//! (`tests/fixtures/junit/README.md` says which tool and version made each one), the malformed
//! inputs derived from them, and properties over arbitrary and mutated input.

use std::io::{BufReader, Read};
use std::path::PathBuf;

use mhd_core::testrun::{TestCase, TestStatus, Totals};
use mhd_ingest::junit::{JunitError, JunitReport, MAX_MESSAGE_BYTES, MAX_TAG_BYTES, parse};
use proptest::prelude::*;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/junit")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses a fixture through a small `BufReader`, as `mhd ingest junit` reads a file.
fn report(name: &str) -> JunitReport {
    let file = std::fs::File::open(fixture_path(name)).unwrap();
    parse(BufReader::with_capacity(4096, file), name).unwrap_or_else(|e| panic!("{e}"))
}

fn refused(name: &str) -> JunitError {
    match parse(&bytes(name)[..], name) {
        Ok(r) => panic!("{name} was accepted with {} cases", r.cases.len()),
        Err(e) => e,
    }
}

/// (total, passed, failed, errors, skipped), `failed` counting errors too.
fn counts(r: &JunitReport) -> (u64, u64, u64, u64, u64) {
    let Totals {
        total,
        passed,
        failed,
        errors,
        skipped,
    } = r.totals();
    (total, passed, failed, errors, skipped)
}

fn case<'a>(r: &'a JunitReport, name: &str) -> &'a TestCase {
    r.cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name:?}"))
}

fn status_and_message(r: &JunitReport, name: &str) -> (TestStatus, Option<String>) {
    let c = case(r, name);
    (c.status, c.message.clone())
}

use TestStatus::{Error, Failed, Passed, Skipped};

#[test]
fn pytest_report() {
    let r = report("pytest.xml");
    // test_sample.py: 4 pass, 2 fail, 2 error (fixture set-up, tear-down), 3 skipped
    // (skip mark, pytest.skip(), xfail).
    assert_eq!(counts(&r), (11, 4, 4, 2, 3));
    assert_eq!(r.name.as_deref(), Some("pytest tests"));
    assert!(r.timestamp.is_some(), "pytest writes the suite's timestamp");
    assert_eq!(
        status_and_message(&r, "test_fails"),
        (
            Failed,
            Some("AssertionError: one is not two\nassert 1 == 2".into())
        )
    );
    assert_eq!(
        status_and_message(&r, "test_error_in_fixture"),
        (
            Error,
            Some(r#"failed on setup with "RuntimeError: fixture could not connect""#.into())
        )
    );
    assert_eq!(
        status_and_message(&r, "test_error_in_teardown"),
        (
            Error,
            Some(r#"failed on teardown with "RuntimeError: teardown went wrong""#.into())
        )
    );
    assert_eq!(
        status_and_message(&r, "test_skipped"),
        (Skipped, Some("not on this platform".into()))
    );
    assert_eq!(
        status_and_message(&r, "test_expected_failure"),
        (Skipped, Some("known bug #12".into()))
    );
    assert_eq!(
        status_and_message(&r, "test_unexpected_pass"),
        (Passed, None)
    );
    let unicode = case(&r, "test_unicode_名前_ünïcödé");
    assert_eq!(unicode.status, Passed);
    assert_eq!(unicode.classname.as_deref(), Some("test_sample"));
    let (status, message) = status_and_message(&r, "test_special[<&>\"']");
    assert_eq!(status, Failed);
    assert!(
        message
            .unwrap()
            .starts_with("AssertionError: got <&> and \"quotes\"\nassert '<&>\"\\'' == 'plain'")
    );
    assert_eq!(
        r.cases[0].name, "test_passes",
        "cases keep the report's order"
    );
}

#[test]
fn nextest_report_with_retries() {
    let r = report("nextest.xml");
    // lib.rs: 6 tests run (the ignored one is not reported): 4 pass, one of them only on a
    // retry (<flakyFailure>); 2 fail on all 3 attempts (<failure> + 2 <rerunFailure>).
    assert_eq!(counts(&r), (6, 4, 2, 0, 0));
    assert_eq!(r.name.as_deref(), Some("nextest-run"));
    assert!(r.time.is_some() && r.timestamp.is_some());
    assert_eq!(
        status_and_message(&r, "tests::flaky_passes_on_retry"),
        (Passed, None)
    );
    let failing = case(&r, "tests::fails_every_time");
    assert_eq!(failing.status, Failed);
    assert_eq!(
        failing.classname.as_deref(),
        Some("mhd-junit-fixture-nextest")
    );
    let m = failing.message.as_deref().unwrap();
    assert!(
        m.starts_with("thread 'tests::fails_every_time' (")
            && m.ends_with(") panicked at src/lib.rs:29:9"),
        "{m}"
    );
    assert_eq!(
        case(&r, "tests::panics_with_unicode_ünïcödé_名前").status,
        Failed
    );
    assert_eq!(case(&r, "tests::nested::in_a_module").status, Passed);
}

#[test]
fn jest_junit_report() {
    let r = report("jest.xml");
    // sample.test.js: 8 cases (3 failures, 1 skipped; jest-junit writes the todo test as a
    // plain, passed case); broken.test.js: one <error> and one <failure> case. The report's
    // own summary says tests="7": the counts here come from the cases.
    assert_eq!(counts(&r), (10, 4, 5, 1, 1));
    assert_eq!(r.name.as_deref(), Some("jest fixture"));
    // jest-junit writes times without an offset: taken as UTC.
    assert!(r.timestamp.is_some());
    assert_eq!(
        status_and_message(&r, "arithmetic fails an expectation"),
        (
            Failed,
            Some("Error: expect(received).toBe(expected) // Object.is equality".into())
        )
    );
    assert_eq!(
        status_and_message(&r, "arithmetic throws an error"),
        (
            Failed,
            Some("TypeError: cannot read property <x> of undefined & more".into())
        )
    );
    assert_eq!(
        status_and_message(&r, "arithmetic is skipped"),
        (Skipped, None)
    );
    assert_eq!(
        status_and_message(&r, "arithmetic is still to do"),
        (Passed, None)
    );
    assert_eq!(
        case(&r, "arithmetic nested unicode ünïcödé 名前 😀").status,
        Passed
    );
    let special = case(&r, "arithmetic nested special <&>\"' characters");
    assert_eq!(special.status, Failed);
    assert_eq!(
        special.classname.as_deref(),
        Some("arithmetic nested special <&>\"' characters")
    );
    let broken: Vec<_> = r
        .cases
        .iter()
        .filter(|c| c.name == "broken.test.js")
        .map(|c| (c.status, c.message.as_deref()))
        .collect();
    assert_eq!(
        broken,
        vec![
            (Error, Some("● Test suite failed to run")),
            (Failed, Some("{}"))
        ]
    );
}

#[test]
fn gotestsum_report() {
    let r = report("gotestsum.xml");
    // calc: 8 cases (subtests are cases of their own), crash: 2 (the test that panics and
    // the one before it; the ones after never ran).
    assert_eq!(counts(&r), (10, 4, 4, 0, 2));
    assert_eq!(
        status_and_message(&r, "TestSubtests/fails_ünïcödé_名前"),
        (Failed, Some("Failed".into()))
    );
    assert_eq!(
        case(&r, "TestSubtests/fails_ünïcödé_名前")
            .classname
            .as_deref(),
        Some("example.com/mhdfixture/calc")
    );
    assert_eq!(case(&r, "TestPanics").status, Failed);
    assert_eq!(
        status_and_message(&r, "TestSkipped"),
        (
            Skipped,
            Some(
                "=== RUN   TestSkipped\n    calc_test.go:20: needs a database\n--- SKIP: TestSkipped (0.00s)"
                    .into()
            )
        )
    );
    assert_eq!(r.time, Some(0.244214));
}

#[test]
fn surefire_report_with_reruns() {
    let r = report("surefire.xml");
    // SampleTest.java: adds, printsOutput and flaky (fails once, passes on a rerun) pass;
    // failsAnAssertion fails and throwsAnException errors on all 3 runs; one @Ignore and one
    // failed assumption are skipped. Surefire's own summary counts reruns: tests="12".
    assert_eq!(counts(&r), (7, 3, 2, 1, 2));
    assert_eq!(r.name.as_deref(), Some("mhd.fixture.SampleTest"));
    assert_eq!(r.time, Some(0.025));
    assert_eq!(r.timestamp, None, "Surefire 2.22 writes no timestamp");
    assert_eq!(status_and_message(&r, "flaky"), (Passed, None));
    assert_eq!(
        status_and_message(&r, "failsAnAssertion"),
        (
            Failed,
            Some("values <&> differ expected:<2> but was:<3>".into())
        )
    );
    assert_eq!(
        status_and_message(&r, "throwsAnException"),
        (Error, Some("unexpected state ünïcödé 名前 😀".into()))
    );
    assert_eq!(
        status_and_message(&r, "ignored"),
        (Skipped, Some("needs a database".into()))
    );
    assert_eq!(
        status_and_message(&r, "assumptionFails"),
        (Skipped, Some("only on Windows".into()))
    );
}

#[test]
fn phpunit_report_with_nested_suites() {
    let r = report("phpunit.xml");
    // Suites four deep: "", "fixture", one per class, one per data provider.
    assert_eq!(counts(&r), (8, 3, 3, 1, 2));
    assert_eq!(r.name, None);
    // No time on <testsuites>: the sum of the suites directly under it.
    assert_eq!(r.time, Some(0.002279));
    assert_eq!(
        status_and_message(&r, "testWithData with data set \"different\""),
        (
            Failed,
            Some("SampleTest::testWithData with data set \"different\" (1, 2)".into())
        )
    );
    assert_eq!(
        status_and_message(&r, "testWithData with data set \"equal\""),
        (Passed, None)
    );
    assert_eq!(
        status_and_message(&r, "testErrors"),
        (Error, Some("SampleTest::testErrors".into()))
    );
    assert_eq!(status_and_message(&r, "testIncomplete"), (Skipped, None));
    assert_eq!(
        case(&r, "testPrints").classname.as_deref(),
        Some("OtherTest")
    );
}

#[test]
fn utf16_reports_parse_like_their_utf8_original() {
    let original = report("gotestsum.xml");
    for name in ["utf16le.xml", "utf16be.xml"] {
        assert_eq!(
            &bytes(name)[..2],
            if name == "utf16le.xml" {
                b"\xff\xfe"
            } else {
                b"\xfe\xff"
            }
        );
        assert_eq!(report(name), original, "{name}");
    }
}

#[test]
fn utf8_byte_order_mark_is_skipped() {
    assert_eq!(report("utf8-bom.xml"), report("jest.xml"));
}

#[test]
fn empty_runs_are_valid() {
    let r = report("empty.xml");
    assert_eq!(counts(&r), (0, 0, 0, 0, 0));
    assert_eq!(r.totals().pass_rate(), None);
    let r = report("pytest-empty.xml");
    assert_eq!(counts(&r), (0, 0, 0, 0, 0));
    assert_eq!(r.time, Some(0.018));
}

#[test]
fn into_test_run_keeps_the_cases_and_takes_the_larger_duration() {
    let r = report("surefire.xml");
    let run = r.clone().into_test_run(
        "unit".into(),
        Some("tests".into()),
        None,
        time::macros::datetime!(2025-01-06 10:00 UTC),
    );
    assert_eq!(run.cases, r.cases);
    assert_eq!(run.totals(), r.totals());
    // The case times add up to 0.001; the report says 0.025.
    assert_eq!(run.duration, 0.025);
    assert_eq!(run.pass_rate(), Some(3.0 / 5.0));
}

/// (line, column, message) of a refused fixture.
fn where_and_why(name: &str) -> (u64, u64, String) {
    let e = refused(name);
    assert!(
        e.to_string()
            .starts_with(&format!("{name}:{}:{}: ", e.line, e.column)),
        "{e}"
    );
    (e.line, e.column, e.message)
}

#[test]
fn truncated_report_names_the_unclosed_element() {
    assert_eq!(
        where_and_why("truncated.xml"),
        (
            15,
            1,
            "unexpected end of the input: <testcase> (opened at line 14, column 9) is not closed"
                .into()
        )
    );
}

#[test]
fn report_truncated_inside_a_tag() {
    let (line, column, message) = where_and_why("truncated-mid-tag.xml");
    assert_eq!((line, column), (59, 3));
    assert!(message.starts_with("not well-formed XML: "), "{message}");
}

#[test]
fn report_truncated_inside_cdata() {
    assert_eq!(
        where_and_why("truncated-in-cdata.xml"),
        (
            83,
            161,
            "unexpected end of the input: the CDATA section opened at line 83, column 121 is not closed"
                .into()
        )
    );
}

#[test]
fn dtds_are_refused_before_any_entity_is_expanded() {
    for name in ["bomb.xml", "xxe.xml"] {
        let (line, column, message) = where_and_why(name);
        assert_eq!((line, column), (2, 1), "{name}");
        assert!(
            message.contains("document type declaration (<!DOCTYPE"),
            "{message}"
        );
    }
}

#[test]
fn a_100_kb_test_name_is_refused() {
    assert_eq!(
        where_and_why("long-name.xml"),
        (
            1,
            219,
            "a <testcase> whose name is 100011 bytes long; the limit is 4096".into()
        )
    );
}

#[test]
fn text_that_is_not_xml_is_refused() {
    let (line, column, message) = where_and_why("not-xml.txt");
    assert_eq!((line, column), (1, 1));
    assert_eq!(
        message,
        "not XML: the input does not start with an element (`<`)"
    );
}

#[test]
fn xml_of_another_shape_is_refused() {
    assert_eq!(
        where_and_why("foreign.xml"),
        (
            4,
            1,
            "not a JUnit report: root element <project> (expected <testsuites> or <testsuite>)"
                .into()
        )
    );
}

fn parse_str(s: &str) -> Result<JunitReport, JunitError> {
    parse(s.as_bytes(), "in.xml")
}

#[test]
fn small_malformed_inputs_point_at_the_place() {
    let cases: &[(&str, (u64, u64), &str)] = &[
        ("", (1, 1), "not a JUnit report: the input is empty"),
        ("  \n\n", (3, 1), "not a JUnit report: the input is empty"),
        (
            "<?xml version=\"1.0\"?>\n<!-- only a comment -->\n",
            (3, 1),
            "not a JUnit report: the input has no XML element",
        ),
        (
            "<testsuite>\n <testcase name=\"a\">\n </testsuite>",
            (3, 2),
            "not well-formed XML: ",
        ),
        (
            "<testsuite/>\n<testsuite/>",
            (2, 1),
            "not a JUnit report: a second root element <testsuite>",
        ),
        (
            "<testsuite/>\nafter",
            (2, 1),
            "not a JUnit report: text after the end of the root element",
        ),
        (
            "<!DOCTYPE testsuite>\n<testsuite/>",
            (1, 1),
            "refused: the report has a document type declaration",
        ),
        (
            "<testsuite><testcase name=\"&undefined;\"/></testsuite>",
            (1, 12),
            "not well-formed XML: in attribute name: ",
        ),
        (
            "<testsuite>\n<testcase name=\"a\">\n<testcase name=\"b\"/></testcase></testsuite>",
            (3, 1),
            "a <testcase> inside the <testcase> opened at line 2, column 1",
        ),
        (
            "<testsuite>\n  <!-- never closed",
            (2, 20),
            "unexpected end of the input: the comment opened at line 2, column 3 is not closed",
        ),
        (
            "<testsuite>\n<testcase name=\"a\" name=\"b\"/></testsuite>",
            (2, 1),
            "not well-formed XML: ",
        ),
    ];
    for (input, (line, column), message) in cases {
        let e = parse_str(input).expect_err(input);
        assert_eq!((e.line, e.column), (*line, *column), "{input:?}: {e}");
        assert!(e.message.starts_with(message), "{input:?}: {e}");
    }
}

#[test]
fn invalid_utf8_in_a_name_is_refused() {
    let e = parse(
        &b"<testsuite>\n<testcase name=\"\xff\"/></testsuite>"[..],
        "in.xml",
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (2, 1), "{e}");
    assert!(e.message.contains("decode"), "{e}");
}

#[test]
fn encodings_named_in_the_declaration_are_decoded() {
    let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite><testcase name=\"caf\xe9\"/></testsuite>";
    let r = parse(&latin1[..], "in.xml").unwrap();
    assert_eq!(r.cases[0].name, "café");
    let e = parse(
        &b"<?xml version=\"1.0\" encoding=\"klingon\"?><testsuite/>"[..],
        "in.xml",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "in.xml:1:1: the XML declaration names encoding \"klingon\", which is not supported"
    );
}

#[test]
fn character_data_anywhere_is_read_or_skipped_correctly() {
    let r = parse_str(
        "<testsuites><!-- <testcase name=\"commented out\"/> -->\
         <testsuite name=\"s\"><properties><property name=\"k\" value=\"v\"/></properties>\
         <testcase name=\"a\"><system-out><![CDATA[<testcase name=\"in cdata\"/>]]>&lt;x&gt;</system-out>\
         <failure>\n\n  <![CDATA[first]]> line &amp; more\nsecond</failure></testcase>\
         <testcase name=\"b\"><skipped>  why &#x1F600; </skipped></testcase>\
         </testsuite></testsuites>",
    )
    .unwrap();
    let got: Vec<_> = r
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.status, c.message.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", Failed, Some("first line & more")),
            ("b", Skipped, Some("why 😀"))
        ]
    );
}

/// A reader that produces a report with one enormous `<system-out>` without holding it.
struct HugeOutput {
    head: &'static [u8],
    body_left: u64,
    tail: &'static [u8],
}

impl Read for HugeOutput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            return Ok(n);
        }
        if self.body_left > 0 {
            let n = (self.body_left as usize).min(buf.len());
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = if i % 80 == 79 { b'\n' } else { b'x' };
            }
            self.body_left -= n as u64;
            return Ok(n);
        }
        let n = self.tail.len().min(buf.len());
        buf[..n].copy_from_slice(&self.tail[..n]);
        self.tail = &self.tail[n..];
        Ok(n)
    }
}

#[test]
fn huge_output_and_failure_bodies_are_not_held() {
    let input = HugeOutput {
        head: b"<testsuite><testcase name=\"a\"><failure>",
        body_left: 32 << 20,
        tail: b"</failure><system-out>tail</system-out></testcase></testsuite>",
    };
    let r = parse(BufReader::new(input), "huge.xml").unwrap();
    assert_eq!(r.cases.len(), 1);
    assert_eq!(r.cases[0].status, Failed);
    // The first line of the body: 79 'x'.
    assert_eq!(r.cases[0].message.as_deref(), Some("x".repeat(79).as_str()));
    // The message limit also cuts one long line.
    let input = HugeOutput {
        head: b"<testsuite><testcase name=\"a\"><error><![CDATA[",
        body_left: 1 << 20,
        tail: b"]]></error></testcase></testsuite>",
    };
    let long_line = parse(BufReader::new(input), "huge.xml").unwrap();
    let m = long_line.cases[0].message.as_deref().unwrap();
    assert!(m.len() <= MAX_MESSAGE_BYTES);
}

#[test]
fn a_tag_longer_than_the_limit_is_refused_without_reading_it_all() {
    let input = HugeOutput {
        head: b"<testsuite>\n<testcase name=\"",
        body_left: MAX_TAG_BYTES * 4,
        tail: b"\"/></testsuite>",
    };
    let e = parse(BufReader::new(input), "big.xml").unwrap_err();
    assert_eq!((e.line, e.column), (2, 1));
    assert!(e.message.starts_with("a tag longer than"), "{e}");
}

/// A reader that hands out its bytes in small pieces of varying size.
struct Trickle<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    i: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.i % self.sizes.len()].max(1);
        self.i += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

const REAL_FIXTURES: &[&str] = &[
    "pytest.xml",
    "nextest.xml",
    "jest.xml",
    "gotestsum.xml",
    "surefire.xml",
    "phpunit.xml",
    "utf16le.xml",
    "truncated-in-cdata.xml",
    "truncated-mid-tag.xml",
];

fn outcome(r: Result<JunitReport, JunitError>) -> Result<JunitReport, (u64, u64, String)> {
    r.map_err(|e| (e.line, e.column, e.message))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&data[..], "any.xml");
    }

    #[test]
    fn never_panics_on_xml_like_noise(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<testsuites>"), Just("</testsuites>"), Just("<testsuite name=\"s\">"),
                Just("</testsuite>"), Just("<testcase name=\"t\" time=\"1\">"), Just("</testcase>"),
                Just("<failure message=\"m\">"), Just("</failure>"), Just("<skipped/>"),
                Just("<![CDATA["), Just("]]>"), Just("<!--"), Just("-->"), Just("&amp;"),
                Just("&#x1F600;"), Just("<!DOCTYPE x>"), Just("\n"), Just("text"), Just("<"),
                Just(">"), Just("\""), Just("<?xml version=\"1.0\"?>"), Just("\u{feff}"),
            ],
            0..40,
        )
    ) {
        let s: String = parts.concat();
        if let Ok(r) = parse(s.as_bytes(), "noise.xml") {
            let t = r.totals();
            prop_assert_eq!(t.total, t.passed + t.failed + t.skipped);
        }
    }

    #[test]
    fn never_panics_on_mutated_fixtures(
        which in 0..REAL_FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut data = bytes(REAL_FIXTURES[which]);
        for (at, byte, op) in edits {
            let i = at.index(data.len());
            match op {
                0 => data[i] = byte,
                1 => data.insert(i, byte),
                _ => { data.remove(i); }
            }
        }
        if truncate {
            data.truncate(cut.index(data.len() + 1));
        }
        let whole = outcome(parse(&data[..], "mutated.xml"));
        if let Err((line, column, _)) = &whole {
            prop_assert!(*line >= 1 && *column >= 1);
        }
        // Reading in small pieces gives the same result, errors and their places included
        // (but for bytes that another encoding cannot decode: its decoder reads ahead).
        let trickled = outcome(parse(
            BufReader::with_capacity(
                7,
                Trickle {
                    data: &data,
                    sizes: vec![1, 3, 64, 2, 4096],
                    i: 0,
                },
            ),
            "mutated.xml",
        ));
        // A byte the UTF-16 decoder cannot decode is met at a place that depends on how far
        // it read ahead, so another problem may be met first in the other reading: both must
        // still refuse the input.
        let undecodable = |r: &Result<JunitReport, (u64, u64, String)>| {
            matches!(r, Err((_, _, m)) if m.ends_with("(at or after this place)"))
        };
        if undecodable(&whole) || undecodable(&trickled) {
            prop_assert!(whole.is_err() && trickled.is_err(), "{:?} / {:?}", whole, trickled);
        } else {
            prop_assert_eq!(whole, trickled);
        }
    }

    #[test]
    fn fixtures_parse_the_same_in_any_chunking(
        which in 0..REAL_FIXTURES.len(),
        sizes in proptest::collection::vec(1..100usize, 1..10),
        capacity in 1..64usize,
    ) {
        let data = bytes(REAL_FIXTURES[which]);
        let whole = outcome(parse(&data[..], "f.xml"));
        let trickled = outcome(parse(
            BufReader::with_capacity(capacity, Trickle { data: &data, sizes, i: 0 }),
            "f.xml",
        ));
        prop_assert_eq!(whole, trickled);
    }
}

#[test]
fn bad_times_names_with_control_characters_and_nul_messages_are_refused_at_their_place() {
    let cases = [
        (
            "<testsuite><testcase name=\"a\" time=\"-1\"/></testsuite>",
            (1, 12),
            "<testcase> time=\"-1\": not a number of seconds ≥ 0",
        ),
        (
            "<testsuite>\n<testcase name=\"a\" time=\"NaN\"/></testsuite>",
            (2, 1),
            "<testcase> time=\"NaN\": not a number of seconds ≥ 0",
        ),
        (
            "<testsuite time=\"inf\"><testcase name=\"a\"/></testsuite>",
            (1, 1),
            "<testsuite> time=\"inf\": not a number of seconds ≥ 0",
        ),
        (
            "<testsuites><testsuite time=\"-0.5\"><testcase name=\"a\"/></testsuite></testsuites>",
            (1, 13),
            "<testsuite> time=\"-0.5\": not a number of seconds ≥ 0",
        ),
        (
            "<testsuite><testcase name=\"a\u{0}b\"/></testsuite>",
            (1, 12),
            "a <testcase> whose name must not contain control characters (found \\u{0})",
        ),
        (
            "<testsuite><testcase name=\"a\" classname=\"x&#9;y\"/></testsuite>",
            (1, 12),
            "a <testcase> whose classname must not contain control characters (found \\u{9})",
        ),
        (
            "<testsuite><testcase name=\"a\"><failure message=\"bad\u{0}\"/></testcase></testsuite>",
            (1, 56),
            "the message of <testcase> \"a\" must not contain a NUL character",
        ),
        (
            "<testsuite><testcase name=\"a\"><failure>bad\u{0} thing</failure></testcase></testsuite>",
            (1, 60),
            "the message of <testcase> \"a\" must not contain a NUL character",
        ),
    ];
    for (xml, (line, column), want) in cases {
        let e = parse_str(xml).unwrap_err();
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (line, column, want),
            "{xml}"
        );
    }
    // A blank time is a missing one; a failure's text may hold newlines, tabs and escapes.
    let ok = parse_str(
        "<testsuite><testcase name=\"a\" time=\" \"><failure>\tred \u{1b}[31mx\u{1b}[0m\nmore</failure></testcase></testsuite>",
    )
    .unwrap();
    assert_eq!(ok.cases[0].time, None);
    assert_eq!(
        ok.cases[0].message.as_deref(),
        Some("red \u{1b}[31mx\u{1b}[0m")
    );
}
