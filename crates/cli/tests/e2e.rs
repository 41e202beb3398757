//! The live dashboard end to end in a real headless Chromium: the `mhd serve` binary on a
//! temporary home, driven over WebDriver (fantoccini + Debian's chromedriver).
//!
//! Without `chromium` and `chromedriver` these tests print a notice and pass, except when the
//! `CI` environment variable is set: CI must not skip them silently, so there they fail.
//! Each test starts its own server and browser; a lock runs them one at a time (two cores), and
//! a guard kills every child process when a test ends, also when it panics.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mhd_testkit::fantoccini::actions::{
    InputSource as _, KeyAction, KeyActions, MouseActions, PointerAction,
};
use mhd_testkit::fantoccini::{Client, Locator};
use mhd_testkit::{BrowserLog, Browsers, Cdp, Children, Session, in_ci};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One browser at a time: each test's Chromium gets the machine to itself.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The longest a test may run before it fails (and its guard kills the children).
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The Tab key's WebDriver code point.
const TAB: char = '\u{E004}';

/// The left arrow key's WebDriver code point.
const ARROW_LEFT: char = '\u{E012}';

/// The password of the test's user.
const PASSWORD: &str = "an e2e password, long enough";

// ---------------------------------------------------------------------------------------------
// The tests

/// The overview loads completely, with no console error and no failed request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_loads_without_console_errors() {
    with_env(|env| async move {
        env.open("/").await;
        let main = env.client.find(Locator::Css("main#main")).await;
        assert!(main.is_ok(), "the overview has no <main id=main>");
        // Leave the live script time to open its WebSocket: a refused one logs an error.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let status = env
            .js("return performance.getEntriesByType('navigation')[0].responseStatus")
            .await;
        assert_eq!(status, json!(200), "the overview's own status");
        env.assert_no_failed_requests().await;
        env.assert_no_console_errors().await;
        env
    })
    .await;
}

/// A write through the API shows on the open page without a reload.
///
/// Depends on the live script and its `data-live` hooks (issue "Live dashboard").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_write_appears_on_the_open_page_without_reload() {
    with_env(|env| async move {
        env.open("/").await;
        let selector = r#"[data-live="datasets_migrated"]"#;
        let before = env.live_count(selector).await.unwrap_or_else(|| {
            panic!("the overview has no {selector} element (the live dashboard's hooks)")
        });
        let origin = env.js("return performance.timeOrigin").await;
        // Leave the live script time to connect before the write.
        tokio::time::sleep(Duration::from_millis(500)).await;
        env.post_operation(&json!({
            "metric_type": "migration",
            "operation": "migrate",
            "dataset_name": "e2e-new-dataset",
            "success": true,
        }))
        .await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let want = Some(before + 1);
        let mut now = Some(before);
        while Instant::now() < deadline {
            now = env.live_count(selector).await;
            if now == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            now, want,
            "{selector} did not go from {before} to one more within 5 s"
        );
        assert_eq!(
            env.js("return performance.timeOrigin").await,
            origin,
            "the page was reloaded: the update must come over the WebSocket"
        );
        env.assert_no_console_errors().await;
        env
    })
    .await;
}

/// Choosing "7 d" in the time range picker puts the range in the URL, narrows the operations
/// chart to the last 7 days, and the range survives a live update: the sections read again
/// after a write are those of the same range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_range_is_kept_in_the_url_and_through_live_updates() {
    with_env(|env| async move {
        env.open("/").await;
        let rows = "return document.querySelectorAll('#over-time tbody tr').length";
        let all_days = env.js(rows).await.as_u64().expect("the chart's table");
        assert!(all_days > 8, "the history covers about 15 days: {all_days} rows");
        let origin = env.js("return performance.timeOrigin").await;
        env.client
            .find(Locator::Css(r#"nav[aria-label="Time range"] a[href="/?range=7d"]"#))
            .await
            .expect("the picker offers 7 d")
            .click()
            .await
            .expect("click 7 d");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !env.client.current_url().await.unwrap().as_str().ends_with("/?range=7d") {
            assert!(Instant::now() < deadline, "the URL did not take the range");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let week = env.js(rows).await.as_u64().unwrap();
        assert!(
            (7..=8).contains(&week),
            "7 days of daily periods (the first may be partial): {week} rows"
        );
        let said = env
            .js("return document.querySelector('[data-range-span]').textContent")
            .await;
        assert!(
            said.as_str().unwrap().contains("the last 7 days"),
            "the page says its span: {said}"
        );
        let chosen = r#"return document.querySelector('nav[aria-label="Time range"] [aria-current]').textContent"#;
        assert_eq!(env.js(chosen).await, json!("7 d"));
        // The overview's links to other pages with time keep the range.
        let link = env
            .js(r#"return document.querySelector('nav.site a[href^="/tests"]').getAttribute('href')"#)
            .await;
        assert_eq!(link, json!("/tests?range=7d"));

        // A write: the operations over time are read again, for the same range.
        let reloaded = env.js("return performance.timeOrigin").await;
        assert_ne!(reloaded, origin, "choosing a range is a plain link");
        let today = "const r = document.querySelectorAll('#over-time tbody tr'); \
                     return r.length ? r[r.length - 1].children[1].textContent : null";
        let before = env.js(today).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        env.post_operation(&json!({
            "metric_type": "migration",
            "operation": "migrate",
            "dataset_name": "e2e-range-dataset",
            "success": true,
        }))
        .await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while env.js(today).await == before {
            assert!(
                Instant::now() < deadline,
                "the new operation was not counted in today's period within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            env.js("return performance.timeOrigin").await,
            reloaded,
            "the page was not reloaded"
        );
        assert!(env.client.current_url().await.unwrap().as_str().ends_with("/?range=7d"));
        let week_after = env.js(rows).await.as_u64().unwrap();
        assert!(
            (7..=8).contains(&week_after),
            "the chart read again keeps the range: {week_after} rows"
        );
        assert_eq!(env.js(chosen).await, json!("7 d"));
        env.assert_no_console_errors().await;
        env
    })
    .await;
}

/// With a user, the browser signs in on the sign-in page, the page stays live over the
/// WebSocket with the session's cookie, and signing out goes back to the sign-in page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_sees_live_updates_and_signs_out() {
    with_env_of(true, |env| async move {
        env.open("/").await;
        assert_eq!(
            env.js("return location.pathname").await,
            "/signin",
            "not signed in: the sign-in page"
        );
        env.js(&format!(
            "document.getElementById('si-name').value = 'alice';\
             document.getElementById('si-pw').value = '{PASSWORD}';\
             document.querySelector('form.signf').submit(); return true"
        ))
        .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while env
            .js("return location.pathname + ' ' + document.readyState")
            .await
            != "/ complete"
        {
            if Instant::now() >= deadline {
                let page = env
                    .js("return location.href + ' ' + document.body.innerText")
                    .await;
                panic!("signing in did not lead to the overview: {page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let who = env
            .js("return document.querySelector('.who').textContent")
            .await;
        assert!(
            who.as_str()
                .is_some_and(|t| t.contains("Signed in as alice (operator)")),
            "{who}"
        );
        let selector = r#"[data-live="datasets_migrated"]"#;
        let before = env.live_count(selector).await.expect("the live count");
        tokio::time::sleep(Duration::from_millis(500)).await;
        env.post_operation(&json!({
            "metric_type": "migration",
            "operation": "migrate",
            "dataset_name": "e2e-signed-in",
            "success": true,
        }))
        .await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while env.live_count(selector).await != Some(before + 1) {
            assert!(
                Instant::now() < deadline,
                "the signed-in page did not update over the WebSocket"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        env.assert_no_console_errors().await;
        env.js("document.querySelector('.who form button').click(); return true")
            .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while env.js("return location.pathname").await != "/signin" {
            assert!(
                Instant::now() < deadline,
                "signing out did not lead to the sign-in page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        env.open("/").await;
        assert_eq!(env.js("return location.pathname").await, "/signin");
        env
    })
    .await;
}

/// The sizes every page is checked at: a desktop, a tablet and a phone.
const SIZES: [(u32, u32); 3] = [(1920, 1080), (768, 1024), (375, 667)];

/// Every page at a desktop, a tablet and a phone size: no serious or critical axe-core
/// violation, nothing wider than the viewport (outside a scrolling frame), and on a phone a
/// header of at most 15 % of the screen. One server and one browser for all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_and_fits_desktop_tablet_and_phone() {
    let Some(axe) = axe_source() else {
        return;
    };
    with_env_for(Setup::rich(Duration::from_secs(300)), |env| async move {
        let mut paths: Vec<&str> = mhd_web::views::PageKind::ALL
            .iter()
            .map(|p| p.path())
            .collect();
        paths.extend(["/datasets?name=ds3", "/no-such-page"]);
        let mut problems = Vec::new();
        for (width, height) in SIZES {
            env.resize(width, height).await;
            for path in &paths {
                env.open(path).await;
                let where_ = format!("{path} at {width}×{height}");
                if let Some(wide) = env.overflow().await {
                    problems.push(format!("{where_}: too wide: {wide}"));
                }
                for v in env.axe(&axe).await {
                    problems.push(format!("{where_}: {v}"));
                }
                if width < 400 {
                    let header = env
                        .js("return document.querySelector('header.top').getBoundingClientRect().height")
                        .await
                        .as_f64()
                        .unwrap();
                    // The name, the menu with the live controls, and on pages with time
                    // the time range strip: a row each.
                    if header > f64::from(height) * 0.2 {
                        problems.push(format!(
                            "{where_}: the header is {header:.0} px tall, more than 20 % of the screen"
                        ));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        env
    })
    .await;
}

/// At 1920×1080 the overview answers without scrolling: status with its reasons, progress
/// with the burn-up chart, the forecast, the worst components, the firing alerts and the
/// regressions are all inside the first screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_answers_above_the_fold_on_a_wall_screen() {
    with_env_for(Setup::rich(TEST_TIMEOUT), |env| async move {
        env.resize(1920, 1080).await;
        env.open("/").await;
        let answers = [
            ("status", "#health [data-live=overall_health]"),
            ("health reasons", "#health ul"),
            ("progress", "#ov-progress [data-live=migration_progress]"),
            ("burn-up chart", "#ov-progress svg.burn"),
            ("forecast", "#ov-forecast [data-live=estimated_completion]"),
            ("worst components", "#ov-components table"),
            ("firing alerts", "#alerts"),
            ("regressions", "#ov-regressions"),
        ];
        let viewport = env
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        assert_eq!(viewport, json!([1920, 1080]), "the viewport's size");
        for (what, selector) in answers {
            let rect = env
                .client
                .execute(
                    "const e = document.querySelector(arguments[0]); if (!e) return null;\
                     const r = e.getBoundingClientRect();\
                     return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}",
                    vec![json!(selector)],
                )
                .await
                .unwrap();
            assert!(!rect.is_null(), "the overview has no {what} ({selector})");
            let f = |k: &str| rect[k].as_f64().unwrap();
            assert!(f("height") > 0.0, "{what} ({selector}) is not shown: {rect}");
            assert!(
                f("top") >= 0.0 && f("bottom") <= 1080.0 && f("left") >= 0.0 && f("right") <= 1920.0,
                "{what} ({selector}) is not inside the first screen of 1920×1080: {rect}"
            );
        }
        // The regressions name the slower operation.
        let text = env
            .js("return document.querySelector('#ov-regressions').innerText")
            .await;
        assert!(text.as_str().is_some_and(|t| t.contains("export")), "{text}");
        env
    })
    .await;
}

/// On a phone the wide tables scroll inside their own labelled frame with the first column
/// kept in view, and the timeline's Gantt chart opens scrolled to today.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_tables_scroll_in_their_frame_and_the_gantt_chart_opens_at_today() {
    with_env_for(Setup::rich(TEST_TIMEOUT), |env| async move {
        env.resize(375, 667).await;
        for (path, frame) in [
            ("/components", "#components .tw"),
            ("/tests", "#tests .tw"),
        ] {
            env.open(path).await;
            let m = env
                .client
                .execute(
                    "const f = document.querySelector(arguments[0]); if (!f) return null;\
                     const first = f.querySelector('tbody tr > :first-child');\
                     const before = first.getBoundingClientRect().left;\
                     f.scrollLeft = f.scrollWidth;\
                     const last = f.querySelector('tbody tr > :last-child').getBoundingClientRect();\
                     const fr = f.getBoundingClientRect();\
                     return {scrolls: f.scrollWidth > f.clientWidth, tabindex: f.getAttribute('tabindex'),\
                       label: f.getAttribute('aria-label'), overflow: getComputedStyle(f).overflowX,\
                       firstMoved: first.getBoundingClientRect().left - before,\
                       lastInside: last.right <= fr.right + 1 && last.left >= fr.left - 1}",
                    vec![json!(frame)],
                )
                .await
                .unwrap();
            assert!(!m.is_null(), "{path}: no {frame}");
            assert_eq!(m["scrolls"], json!(true), "{path}: the table fits a phone?: {m}");
            assert_eq!(m["tabindex"], json!("0"), "{path}: {m}");
            assert!(m["label"].as_str().is_some_and(|l| !l.is_empty()), "{path}: {m}");
            assert_eq!(m["overflow"], json!("auto"), "{path}: {m}");
            assert!(
                m["firstMoved"].as_f64().is_some_and(|d| d.abs() < 1.0),
                "{path}: the first column scrolled away: {m}"
            );
            assert_eq!(m["lastInside"], json!(true), "{path}: the last column cannot be reached: {m}");
        }
        env.open("/timeline").await;
        let m = env
            .js("const f = document.querySelector('#timeline .tw[data-scroll-today]');\
                 const t = f.querySelector('svg > path.td').getBoundingClientRect();\
                 const r = f.getBoundingClientRect();\
                 return {scrolled: f.scrollLeft, today: t.left, left: r.left, right: r.right}")
            .await;
        let f = |k: &str| m[k].as_f64().unwrap();
        assert!(f("scrolled") > 0.0, "the Gantt chart was not scrolled: {m}");
        assert!(
            f("today") >= f("left") && f("today") <= f("right"),
            "the today marker is not in view: {m}"
        );
        env
    })
    .await;
}

/// Tab alone reaches every section link of the navigation, each with a visible focus ring,
/// and every link points at a section that exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_reaches_every_view_with_a_visible_focus() {
    with_env(|env| async move {
        env.open("/").await;
        let links = env
            .js("return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))")
            .await;
        let links: Vec<String> = serde_json::from_value(links).unwrap();
        assert!(!links.is_empty(), "the overview has no navigation links");
        for href in &links {
            if let Some(id) = href.strip_prefix('#') {
                let found = env
                    .client
                    .execute("return document.getElementById(arguments[0]) !== null", vec![json!(id)])
                    .await
                    .unwrap();
                assert_eq!(found, json!(true), "the nav link {href} points at no section");
            }
        }
        let mut reached = Vec::new();
        let budget = links.len() + 20;
        for _ in 0..budget {
            env.press(TAB).await;
            let f = env
                .js("const e = document.activeElement; if (!e || e === document.body) return null;\
                     const s = getComputedStyle(e);\
                     return {tag: e.tagName, href: e.getAttribute('href'), text: (e.textContent || '').trim().slice(0, 40),\
                       outline: s.outlineStyle, outlineWidth: s.outlineWidth, shadow: s.boxShadow}")
                .await;
            if f.is_null() {
                continue;
            }
            let outline = f["outline"] != "none" && f["outlineWidth"] != "0px";
            let shadow = f["shadow"] != "none";
            assert!(outline || shadow, "the focused element has no visible focus ring: {f}");
            if let Some(href) = f["href"].as_str() {
                reached.push(href.to_owned());
            }
            if links.iter().all(|l| reached.contains(l)) {
                break;
            }
        }
        let missed: Vec<&String> = links.iter().filter(|l| !reached.contains(l)).collect();
        assert!(
            missed.is_empty(),
            "{budget} presses of Tab did not reach {missed:?} (reached {reached:?})"
        );
        env
    })
    .await;
}

/// Pointing at a chart shows a read-out of its values; so does focusing it with the keyboard,
/// where the arrow keys move the read-out from one period to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_reads_out_its_values_on_hover_and_keys() {
    with_env(|env| async move {
        env.open("/").await;
        let css = "svg.cols[data-ro-x]";
        let chart = env
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("the overview has no {css} (operations over time)"));
        env.js(&format!(
            "document.querySelector('{css}').scrollIntoView({{block: 'center'}})"
        ))
        .await;
        let readout = format!(
            "const t = document.querySelector('{css} .ro text'); return t ? t.textContent : null"
        );
        env.client
            .perform_actions(MouseActions::new("mouse".to_owned()).then(
                PointerAction::MoveToElement {
                    element: chart.clone(),
                    duration: None,
                    x: 60.0,
                    y: 0.0,
                },
            ))
            .await
            .expect("move the pointer over the chart");
        let hovered = env.js(&readout).await;
        let text = hovered
            .as_str()
            .unwrap_or_else(|| panic!("no read-out on hover: {hovered}"));
        assert!(
            text.contains("operations: ") && text.chars().any(|c| c.is_ascii_digit()),
            "the read-out names the series and a value: {text:?}"
        );
        // Away from the chart the read-out goes; with the keyboard it comes back.
        env.js("document.activeElement && document.activeElement.blur()")
            .await;
        env.client
            .perform_actions(
                MouseActions::new("mouse".to_owned()).then(PointerAction::MoveTo {
                    duration: None,
                    x: 1.0,
                    y: 1.0,
                }),
            )
            .await
            .expect("move the pointer away");
        assert_eq!(
            env.js(&readout).await,
            Value::Null,
            "the read-out stays after the pointer left"
        );
        env.js(&format!("document.querySelector('{css}').focus()"))
            .await;
        let index = format!("return document.querySelector('{css}').getAttribute('data-ro-index')");
        let last = env.js(&index).await;
        assert!(last.is_string(), "focus shows the latest period: {last}");
        env.press(ARROW_LEFT).await;
        let before = env.js(&index).await;
        let (last, before): (usize, usize) = (
            last.as_str().unwrap().parse().unwrap(),
            before.as_str().unwrap().parse().unwrap(),
        );
        assert_eq!(before + 1, last, "the left arrow moves one period back");
        let text = env.js(&readout).await;
        assert!(
            text.as_str()
                .is_some_and(|t| t.chars().any(|c| c.is_ascii_digit())),
            "the read-out after a key press: {text}"
        );
        env.assert_no_console_errors().await;
        env
    })
    .await;
}

/// A dataset name that is HTML shows as text, live and after a reload, and never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_dataset_name_shows_as_text() {
    const HOSTILE: &str = "<img src=x onerror=alert(1)>";
    with_env(|env| async move {
        env.open("/").await;
        env.post_operation(&json!({
            "metric_type": "migration",
            "operation": "migrate",
            "dataset_name": HOSTILE,
            "success": false,
            "error_message": HOSTILE,
        }))
        .await;
        // First on the open page, as the live update (if any) wrote it, then served afresh.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        env.assert_not_markup(HOSTILE, "on the open page").await;
        env.open("/").await;
        let shown = env
            .client
            .execute(
                "return document.body.innerText.includes(arguments[0])",
                vec![json!(HOSTILE)],
            )
            .await
            .unwrap();
        assert_eq!(
            shown,
            json!(true),
            "the reloaded page does not show {HOSTILE:?} as text"
        );
        env.assert_not_markup(HOSTILE, "after a reload").await;
        env
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The environment: a home, `mhd serve`, chromedriver, a WebDriver session

/// Runs one test: takes the browser lock, starts the environment, runs `body` under a time
/// limit, and ends the WebDriver session. Skips (or fails in CI) without a browser.
async fn with_env<F, Fut>(body: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = Env>,
{
    with_env_of(false, body).await;
}

/// [`with_env`], with user `alice` (operator, password [`PASSWORD`]) and an ingest token for
/// the test's own writes when `users` is true: everyone signs in.
async fn with_env_of<F, Fut>(users: bool, body: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = Env>,
{
    with_env_for(
        Setup {
            users,
            rich: false,
            timeout: TEST_TIMEOUT,
        },
        body,
    )
    .await;
}

/// How a test's environment is made.
struct Setup {
    /// User `alice` and an ingest token: everyone signs in.
    users: bool,
    /// Test runs and benchmarks besides the operations (see [`add_tests_and_benchmarks`]).
    rich: bool,
    /// The longest the test may run.
    timeout: Duration,
}

impl Setup {
    /// Nobody signs in; operations, test runs and benchmarks; `timeout`.
    fn rich(timeout: Duration) -> Setup {
        Setup {
            users: false,
            rich: true,
            timeout,
        }
    }
}

/// Runs one test: takes the browser lock, starts the environment of `setup`, runs `body`
/// under its time limit, and ends the WebDriver session. Skips (or fails in CI) without a
/// browser.
async fn with_env_for<F, Fut>(setup: Setup, body: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = Env>,
{
    let Some(browsers) = Browsers::find() else {
        assert!(
            !in_ci(),
            "e2e: chromium/chromedriver not found and CI is set: install Debian's \
             `chromium` and `chromium-driver` (see .ci/run)"
        );
        eprintln!("e2e: chromium/chromedriver not found, skipping");
        return;
    };
    let _lock = BROWSER.lock().await;
    let run = async {
        let env = Env::start(&browsers, setup.users, setup.rich).await;
        let env = body(env).await;
        env.finish().await;
    };
    tokio::time::timeout(setup.timeout, run)
        .await
        .unwrap_or_else(|_| panic!("the test took more than {:?}", setup.timeout));
}

/// Where `.ci/run` installs axe-core from the npm registry (`MHD_AXE_JS` names another file).
fn axe_path() -> PathBuf {
    match std::env::var_os("MHD_AXE_JS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/mhd-axe/node_modules/axe-core/axe.min.js"),
    }
}

/// axe-core's script, read from [`axe_path`]; `None` (with a notice) when it is missing,
/// except in CI, where that fails the test.
fn axe_source() -> Option<String> {
    let path = axe_path();
    match std::fs::read_to_string(&path) {
        Ok(js) => Some(js),
        Err(e) => {
            assert!(
                !in_ci(),
                "e2e: cannot read axe-core at {} ({e}) and CI is set: `.ci/run` installs it",
                path.display()
            );
            eprintln!(
                "e2e: axe-core not found at {} ({e}), skipping; `.ci/run` installs it",
                path.display()
            );
            None
        }
    }
}

/// A running server and a browser session looking at it.
struct Env {
    client: Client,
    /// `http://127.0.0.1:PORT` of `mhd serve`.
    base: String,
    /// The ingest token the test writes with, when everyone signs in.
    token: Option<String>,
    /// Dropped after the session and before the folders.
    _children: Children,
    _home: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Env {
    async fn start(browsers: &Browsers, users: bool, rich: bool) -> Env {
        let home = home_with_history();
        if rich {
            add_tests_and_benchmarks(home.path());
        }
        let token = users.then(|| {
            let mut add = mhd(home.path())
                .args(["user", "add", "alice", "--role", "operator"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            std::io::Write::write_all(
                &mut add.stdin.take().unwrap(),
                format!("{PASSWORD}\n").as_bytes(),
            )
            .unwrap();
            assert!(add.wait().unwrap().success(), "mhd user add failed");
            let out = mhd(home.path())
                .args(["token", "create", "--name", "e2e", "--role", "ingest"])
                .output()
                .unwrap();
            assert!(out.status.success(), "mhd token create failed");
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        });
        let mut children = Children::default();

        let server = children.spawn(
            Command::new(assert_cmd::cargo::cargo_bin("mhd"))
                .arg("--home")
                .arg(home.path())
                .args(["serve", "--bind", "127.0.0.1:0"])
                .env_remove("MHD_HOME")
                .env_remove("MHD_PLAN")
                .env_remove("MHD_BIND")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let addr = served_address(server.stderr.take().unwrap());
        let base = format!("http://{addr}");

        let profile = tempfile::tempdir().unwrap();
        let client = Session {
            console_log: true,
            ..Session::default()
        }
        .open(browsers, &mut children, profile.path())
        .await;
        Env {
            client,
            base,
            token,
            _children: children,
            _home: home,
            _profile: profile,
        }
    }

    /// Ends the session so chromedriver closes Chromium; the guard kills whatever is left.
    async fn finish(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.clone().close()).await;
    }

    /// Loads `path` of the server and waits until the document is complete.
    async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot load {url}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.js("return document.readyState").await != "complete" {
            assert!(
                Instant::now() < deadline,
                "{url} did not finish loading in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Makes the viewport `width`×`height` CSS pixels, as DevTools' device emulation does (a
    /// headless window cannot be made taller than its screen).
    async fn resize(&self, width: u32, height: u32) {
        self.client
            .issue_cmd(Cdp(json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false},
            })))
            .await
            .expect("set the viewport's size");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        assert_eq!(inner, json!([width, height]), "the viewport after resizing");
    }

    /// What makes the open page wider than its viewport, or `None` when nothing does: the
    /// document's width, and the elements whose right edge is past the viewport outside any
    /// frame that scrolls sideways.
    async fn overflow(&self) -> Option<String> {
        let m = self
            .js("const vw = document.documentElement.clientWidth;\
                 const scrolls = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {\
                   const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };\
                 const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')\
                   + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '');\
                 const wide = Array.from(document.querySelectorAll('body *')).filter((e) => {\
                   const r = e.getBoundingClientRect(); return r.width > 0 && r.right > vw + 1 && !scrolls(e); })\
                   .slice(0, 8).map((e) => name(e) + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ')');\
                 return {scroll: document.documentElement.scrollWidth, inner: vw, wide: wide}")
            .await;
        let (scroll, inner) = (m["scroll"].as_u64().unwrap(), m["inner"].as_u64().unwrap());
        let wide = m["wide"].as_array().unwrap();
        (scroll > inner || !wide.is_empty()).then(|| {
            format!(
                "the document is {scroll} px wide in a {inner} px viewport; past the edge: {wide:?}"
            )
        })
    }

    /// Runs axe-core (`axe`, its script) on the open page and returns its serious and critical
    /// violations, each as "id (impact): help; targets".
    async fn axe(&self, axe: &str) -> Vec<String> {
        if self.js("return typeof window.axe").await != "object" {
            self.client
                .execute(&format!("{axe}\n;return true"), Vec::new())
                .await
                .expect("load axe-core into the page");
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 window.axe.run(document, {resultTypes: ['violations']})\
                   .then((r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')\
                     .map((v) => v.id + ' (' + v.impact + '): ' + v.help + '; ' + v.nodes.slice(0, 4)\
                       .map((n) => n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\\s+/g, ' ') + ']' : '')).join(' | '))))\
                   .catch((e) => done(['axe-core failed: ' + e]));",
                Vec::new(),
            )
            .await
            .expect("run axe-core");
        serde_json::from_value(found).expect("axe-core's violations as strings")
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Presses and releases one key on whatever has the focus.
    async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(keys)
            .await
            .expect("press a key");
    }

    /// The number shown by the element `selector`, or `None` if there is no such element.
    async fn live_count(&self, selector: &str) -> Option<u64> {
        let text = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null",
                vec![json!(selector)],
            )
            .await
            .unwrap();
        let text = text.as_str()?;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        Some(
            digits
                .parse()
                .unwrap_or_else(|_| panic!("{selector} shows {text:?}, not a count")),
        )
    }

    /// POSTs one operation to the API and asserts it was accepted.
    async fn post_operation(&self, op: &Value) {
        let (status, body) = http_post(
            &self.base,
            "/api/v1/operations",
            &op.to_string(),
            self.token.as_deref(),
        )
        .await;
        assert!(
            (200..300).contains(&status),
            "POST /api/v1/operations answered {status}: {body}"
        );
    }

    /// Asserts that every resource the page loaded was answered below 400.
    async fn assert_no_failed_requests(&self) {
        let failed = self
            .js("return performance.getEntriesByType('resource')\
                 .filter(e => e.responseStatus >= 400)\
                 .map(e => e.name + ' ' + e.responseStatus)")
            .await;
        assert_eq!(failed, json!([]), "requests that failed");
    }

    /// Asserts that the browser's console log holds no error (the log is emptied as it is read).
    async fn assert_no_console_errors(&self) {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("read the browser's console log");
        let errors: Vec<&Value> = log
            .as_array()
            .expect("the browser log is a list")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }

    /// Asserts that `text` was not parsed as markup: no `<img src=x>` and no alert.
    async fn assert_not_markup(&self, text: &str, when: &str) {
        let imgs = self
            .js(r#"return document.querySelectorAll('img[src="x"]').length"#)
            .await;
        assert_eq!(imgs, json!(0), "{when}: {text:?} became an <img> element");
        assert!(
            self.client.get_alert_text().await.is_err(),
            "{when}: an alert is open: {text:?} ran as script"
        );
    }
}

/// Reads `mhd serve`'s stderr until it names its address, then keeps draining it in the
/// background so the server never blocks on a full pipe.
fn served_address(stderr: std::process::ChildStderr) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("mhd: serving http://") {
                    return rest.split('/').next().unwrap().to_owned();
                }
                seen.push(line);
            }
            Err(e) => panic!(
                "mhd serve did not print its address ({e}); it said:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// A home whose migration started on the Monday seven weeks ago (week 8, as in the demo),
/// with some operations of the last weeks ingested.
fn home_with_history() -> tempfile::TempDir {
    let now = time::OffsetDateTime::now_utc();
    let today = now.date();
    let monday = today
        - time::Duration::days(i64::from(today.weekday().number_days_from_monday()))
        - time::Duration::weeks(7);
    let home = tempfile::tempdir().unwrap();
    let status = mhd(home.path())
        .args(["init", "--start", &monday.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "mhd init failed");

    let mut lines = String::new();
    for i in 0..40_i64 {
        let at = now - time::Duration::hours(9 * i + 1);
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let ok = i % 13 != 4;
        lines.push_str(
            &json!({
                "timestamp": at,
                "metric_type": "migration",
                "operation": "migrate",
                "dataset_name": format!("ds{i}"),
                "duration_ms": 800 + 10 * i,
                "success": ok,
            })
            .to_string(),
        );
        lines.push('\n');
    }
    let mut ingest = mhd(home.path())
        .args(["ingest", "operations", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut ingest.stdin.take().unwrap(), lines.as_bytes()).unwrap();
    let out = ingest.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "mhd ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    home
}

/// Adds test runs (two suites, one with a failing test) and benchmarks of both systems (one
/// operation slower on the new system) to `home`, so the tests and performance views fill.
fn add_tests_and_benchmarks(home: &Path) {
    let dir = home.join("fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let unit = dir.join("unit.xml");
    std::fs::write(
        &unit,
        r#"<testsuite name="unit" tests="3" failures="1"><testcase classname="storage" name="writes_a_block" time="0.12"/><testcase classname="storage" name="reads_a_block_back_after_a_restart" time="0.3"><failure message="expected 4096 bytes, got 0">assertion failed</failure></testcase><testcase classname="api" name="lists_datasets" time="0.05"/></testsuite>"#,
    )
    .unwrap();
    let integration = dir.join("integration.xml");
    std::fs::write(
        &integration,
        r#"<testsuite name="integration" tests="2"><testcase classname="end_to_end" name="migrates_a_dataset_from_the_old_to_the_new_system" time="12.5"/><testcase classname="end_to_end" name="rolls_back" time="8.1"/></testsuite>"#,
    )
    .unwrap();
    for (suite, file) in [
        ("unit", &unit),
        ("integration-against-the-staging-environment", &integration),
    ] {
        let out = mhd(home)
            .args(["ingest", "junit", "--suite", suite])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mhd ingest junit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bench = dir.join("bench.csv");
    let mut csv = String::from("operation,system,value_ms\n");
    for i in 0..12 {
        let jitter = f64::from(i) * 0.1;
        csv.push_str(&format!("export,old,{}\n", 40.0 + jitter));
        csv.push_str(&format!("export,new,{}\n", 55.0 + jitter));
        csv.push_str(&format!("import,old,{}\n", 80.0 + jitter));
        csv.push_str(&format!("import,new,{}\n", 60.0 + jitter));
    }
    std::fs::write(&bench, csv).unwrap();
    let out = mhd(home)
        .args(["ingest", "bench", "--component", "storage"])
        .arg(&bench)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mhd ingest bench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mhd(home: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("mhd"));
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1");
    c
}

/// A minimal HTTP/1.1 POST of a JSON body (the tests need no HTTP client crate for one call).
async fn http_post(base: &str, path: &str, body: &str, token: Option<&str>) -> (u16, String) {
    let host = base.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {host}: {e}"));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n{}\r\n{body}",
        body.len(),
        token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"))
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}
