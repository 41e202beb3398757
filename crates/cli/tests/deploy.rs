//! The deployment files in `deploy/`: the Kubernetes manifests valid against the Kubernetes
//! schemas (`kubernetes-validate --strict`, from the virtual environment `.ci/run` makes), the
//! compose file valid for `docker-compose`, and every probe, flag, variable and plan they name
//! one that `mhd` has. With CI set, a missing tool fails the test, saying which.

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy().join("kubernetes"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    files
}

/// A tool to run, or `None` (after failing under CI) when it is not installed.
fn tool(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing: {} (.ci/run installs it)",
        path.display()
    );
    eprintln!("{what} is missing: skipped");
    None
}

#[test]
fn the_kubernetes_manifests_are_valid_against_the_kubernetes_schemas() {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap();
    let Some(validate) = tool(
        home.join(".cache/mhd-kubernetes-validate/bin/kubernetes-validate"),
        "kubernetes-validate",
    ) else {
        return;
    };
    let out = Command::new(validate)
        .arg("--strict")
        .args(manifests())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_compose_file_is_valid() {
    let Some(compose) = tool(PathBuf::from("/usr/bin/docker-compose"), "docker-compose") else {
        return;
    };
    // Checked where its secret's file exists, as a user runs it.
    let dir = tempfile::tempdir().unwrap();
    for file in ["compose.yaml", "prometheus.yml", "migration.toml"] {
        std::fs::copy(deploy().join(file), dir.path().join(file)).unwrap();
    }
    std::fs::write(dir.path().join("db_password.txt"), "secret").unwrap();
    let out = Command::new(compose)
        .current_dir(dir.path())
        .args(["-f", "compose.yaml", "config", "-q"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `MHD_…` variable named in the deployment files.
fn variables_named() -> Vec<String> {
    let mut texts: Vec<String> = manifests().iter().map(|p| read(p)).collect();
    texts.push(read(&deploy().join("compose.yaml")));
    texts.push(read(&deploy().join("../Dockerfile")));
    let mut names: Vec<String> = texts
        .iter()
        .flat_map(|t| {
            t.match_indices("MHD_")
                .map(|(i, _)| {
                    t[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
        })
        .filter(|n| n != "MHD_IMAGE")
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_variable_flag_probe_and_plan_the_files_name_is_one_mhd_has() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mhd"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serve_help = help(&["serve", "--help"]);
    let variables = variables_named();
    assert!(
        variables.contains(&"MHD_DATABASE_URL".to_owned()),
        "{variables:?}"
    );
    for name in &variables {
        assert!(
            serve_help.contains(&format!("[env: {name}")),
            "{name} is not a variable of mhd serve:\n{serve_help}"
        );
    }
    let deployment = read(&deploy().join("kubernetes/deployment.yaml"));
    assert!(deployment.contains(r#"args: ["serve", "--trust-proxy"]"#));
    assert!(serve_help.contains("--trust-proxy"));
    // The probes' paths answer on a running server.
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mhd"))
        .arg("--home")
        .arg(home.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--log-to", "file"])
        .env_remove("MHD_BIND")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr: std::net::SocketAddr = loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0);
        if let Some(rest) = line.split("://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    for path in ["/health", "/ready"] {
        assert!(deployment.contains(&format!("path: {path}")), "{path}");
        let started = std::time::Instant::now();
        loop {
            use std::io::{Read as _, Write as _};
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{path}: {answer}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    // The ConfigMap holds deploy/migration.toml, and it is a plan mhd accepts.
    let configmap = read(&deploy().join("kubernetes/configmap.yaml"));
    let embedded: String = configmap
        .split_once("migration.toml: |\n")
        .unwrap()
        .1
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l).to_owned() + "\n")
        .collect();
    assert_eq!(embedded, read(&deploy().join("migration.toml")));
    let checked = Command::new(env!("CARGO_BIN_EXE_mhd"))
        .arg("--home")
        .arg(home.path())
        .arg("check")
        .arg(deploy().join("migration.toml"))
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}
