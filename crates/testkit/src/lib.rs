//! What the browser tests and the page-load benchmark share to drive a headless Chromium over
//! WebDriver: finding Chromium and chromedriver, starting chromedriver on a free port, opening
//! a session, chromedriver's own commands (the console log, DevTools), and child processes
//! that are killed, with everything they started, when dropped.
//!
//! Dev-only: it knows nothing of mhd, so any crate's tests and benchmarks can use it.
#![forbid(unsafe_code)]

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where the browser and its driver are.
#[derive(Debug, Clone)]
pub struct Browsers {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Browsers {
    /// Finds `chromium` (or `chromium-browser`, `google-chrome`) and `chromedriver` in
    /// /usr/bin or on PATH.
    pub fn find() -> Option<Browsers> {
        let find = |names: &[&str]| -> Option<PathBuf> {
            let mut dirs = vec![PathBuf::from("/usr/bin")];
            if let Some(path) = std::env::var_os("PATH") {
                dirs.extend(std::env::split_paths(&path));
            }
            dirs.iter()
                .flat_map(|d| names.iter().map(move |n| d.join(n)))
                .find(|p| p.is_file())
        };
        Some(Browsers {
            chromium: find(&["chromium", "chromium-browser", "google-chrome"])?,
            chromedriver: find(&["chromedriver"])?,
        })
    }
}

/// Whether CI runs us (`CI` set, not empty, `0` or `false`): there a missing browser or tool is
/// a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// A port of 127.0.0.1 nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Child processes, each the leader of its own process group; dropping this kills the groups
/// (chromedriver's Chromium and its helpers with it) and reaps the leaders.
#[derive(Debug, Default)]
pub struct Children(Vec<Child>);

impl Children {
    /// Starts `cmd` in a process group of its own; panics, naming it, when it cannot start.
    pub fn spawn(&mut self, cmd: &mut Command) -> &mut Child {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        self.0.push(child);
        self.0.last_mut().expect("just pushed")
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a browser session is opened.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// The window's size in CSS pixels.
    pub width: u32,
    pub height: u32,
    /// Keep the browser's console so [`BrowserLog`] can read it.
    pub console_log: bool,
}

impl Default for Session {
    /// A 1280×900 window, console not kept.
    fn default() -> Session {
        Session {
            width: 1280,
            height: 900,
            console_log: false,
        }
    }
}

impl Session {
    /// Starts chromedriver on a free port (one of `children`, so it ends with them) and opens
    /// a headless Chromium session on it with its profile in `profile`.
    pub async fn open(
        self,
        browsers: &Browsers,
        children: &mut Children,
        profile: &Path,
    ) -> Client {
        let port = free_port();
        children.spawn(
            Command::new(&browsers.chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let client = self.connect(port, &browsers.chromium, profile).await;
        client
            .set_window_size(self.width, self.height)
            .await
            .expect("set the window size");
        client
    }

    /// Opens a session on chromedriver at `port`, retrying for 20 s while the driver starts.
    async fn connect(&self, port: u16, chromium: &Path, profile: &Path) -> Client {
        let mut caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        if self.console_log {
            caps["goog:loggingPrefs"] = json!({ "browser": "ALL" });
        }
        let caps: Capabilities = serde_json::from_value(caps).expect("the capabilities");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return client,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot open a WebDriver session on {url} in 20 s: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// WebDriver's (non-standard, chromedriver-supported) "get log" command for the browser's
/// console; needs [`Session::console_log`].
#[derive(Debug)]
pub struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// chromedriver's command that runs a DevTools Protocol command: `{"cmd", "params"}`.
#[derive(Debug)]
pub struct Cdp(pub Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}
