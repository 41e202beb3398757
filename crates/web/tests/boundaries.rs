//! The crate map holds: rendering (mhd-web) depends on neither the transport nor the storage,
//! and the CLI's file commands (`mhd stats dashboard`, `mhd report`) render through mhd-web
//! without going through the server crate.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Crates mhd-web must not depend on, directly or through any of its dependencies.
const FORBIDDEN: [&str; 6] = ["axum", "tokio", "hyper", "sqlx", "mhd-store", "mhd-server"];

/// The workspace's root folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace's folder")
}

/// The platform the tests run on, as cargo names it (`x86_64-unknown-linux-gnu`).
fn host() -> String {
    let out = Command::new(env!("CARGO"))
        .arg("-vV")
        .output()
        .expect("cargo -vV runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("cargo names its host")
        .to_owned()
}

/// The names of the packages `package` depends on (normal and build dependencies, not dev),
/// transitively, as `cargo metadata` resolves the workspace for this platform (offline: the
/// other platforms' packages need not be downloaded).
fn dependency_closure(package: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host()])
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("the resolved graph")
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, name)| **name == package)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("{package} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut todo = vec![root];
    let mut closure = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            // A dependency needed only by the tests, benches or examples does not count.
            let used = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if used {
                let pkg = dep["pkg"].as_str().unwrap();
                closure.insert(names[pkg].to_owned());
                todo.push(pkg);
            }
        }
    }
    closure
}

#[test]
fn the_web_crate_depends_on_neither_the_server_nor_the_store() {
    let closure = dependency_closure("mhd-web");
    assert!(
        closure.contains("mhd-core") && closure.contains("askama"),
        "the closure was not read: {closure:?}"
    );
    let found: Vec<&str> = FORBIDDEN
        .iter()
        .copied()
        .filter(|c| closure.contains(*c))
        .collect();
    assert!(
        found.is_empty(),
        "mhd-web depends on {found:?}; rendering must need no server, runtime or store"
    );
}

/// The source file of the module at `segments` of the CLI (`cmd::plan` → `cmd/plan.rs`), if
/// the path names one; `None` when it names an item of a module further up.
fn module_file(src: &Path, segments: &[&str]) -> Option<PathBuf> {
    let base = segments.iter().collect::<PathBuf>();
    [
        src.join(&base).with_extension("rs"),
        src.join(&base).join("mod.rs"),
    ]
    .into_iter()
    .find(|f| f.is_file())
}

/// The CLI's files that `files` name through `crate::…` paths (their own modules and those
/// these name in turn), the files themselves included.
fn import_closure(src: &Path, files: &[&str]) -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<PathBuf> = files.iter().map(|f| src.join(f)).collect();
    while let Some(file) = todo.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file of the CLI");
        for (i, _) in text.match_indices("crate::") {
            // `crate::cmd::plan::load_plan;` → cmd, plan, load_plan.
            let mut segments = Vec::new();
            for part in text[i + "crate::".len()..].split("::") {
                let len = part
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(part.len());
                if len == 0 {
                    break;
                }
                segments.push(&part[..len]);
                if len < part.len() {
                    break;
                }
            }
            // The longest prefix of the path that is a module of its own.
            while !segments.is_empty() {
                if let Some(f) = module_file(src, &segments) {
                    todo.push(f);
                    break;
                }
                segments.pop();
            }
        }
    }
    seen
}

#[test]
fn the_cli_file_commands_render_without_the_server_crate() {
    let src = workspace().join("crates/cli/src");
    let files = import_closure(&src, &["cmd/dashboard.rs", "cmd/report.rs"]);
    assert!(
        files.contains(&src.join("cmd/plan.rs")) && files.contains(&src.join("ctx.rs")),
        "the imports were not followed: {files:?}"
    );
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file of the CLI");
        assert!(
            !text.contains("mhd_server"),
            "{} names mhd_server: the file commands must render through mhd_web",
            file.display()
        );
    }
    let dashboard = std::fs::read_to_string(src.join("cmd/dashboard.rs")).unwrap();
    let report = std::fs::read_to_string(src.join("cmd/report.rs")).unwrap();
    assert!(dashboard.contains("mhd_web::views::render_static_dashboard"));
    assert!(report.contains("mhd_web::report::render"));
}
