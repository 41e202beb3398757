//! `mhd user` and `mhd token` end to end on temporary homes: passwords from standard input,
//! roles, the last-admin guard, tokens printed once and never listed, and bad input that exits
//! with status 2 and changes nothing.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").unwrap();
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("NO_COLOR", "1");
    c
}

fn ok(out: Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    (stdout, stderr)
}

/// Runs and expects exit status 2; returns standard error.
fn refused(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    stderr
}

fn add_user(home: &Path, name: &str, role: &str, password: &str) -> Output {
    mhd(home)
        .args(["user", "add", name, "--role", role])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap()
}

fn users(home: &Path) -> Vec<(String, String)> {
    let (out, _) = ok(mhd(home).args(["user", "list", "--json"]).output().unwrap());
    let v: Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(name: &str, role: &str) -> (String, String) {
    (name.to_owned(), role.to_owned())
}

#[test]
fn users_are_added_listed_changed_and_removed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (out, _) = ok(add_user(h, "alice", "admin", "a long enough password"));
    assert!(out.contains("Added user alice (admin)"), "{out}");
    ok(add_user(
        h,
        "bob@example.org",
        "viewer",
        "another password!",
    ));
    assert_eq!(
        users(h),
        [pair("alice", "admin"), pair("bob@example.org", "viewer")]
    );

    let (table, _) = ok(mhd(h).args(["user", "list"]).output().unwrap());
    assert!(
        table.contains("NAME") && table.contains("bob@example.org"),
        "{table}"
    );
    // The password hash is never shown.
    assert!(!table.contains("argon2"), "{table}");
    let (json, _) = ok(mhd(h).args(["user", "list", "--json"]).output().unwrap());
    assert!(
        !json.contains("argon2") && !json.contains("password"),
        "{json}"
    );

    let (out, _) = ok(mhd(h)
        .args(["user", "set-role", "BOB@example.org", "operator"])
        .output()
        .unwrap());
    assert!(out.contains("now operator"), "{out}");
    assert_eq!(users(h)[1], pair("bob@example.org", "operator"));

    // The last admin stays.
    let e = refused(mhd(h).args(["user", "remove", "alice"]));
    assert!(e.contains("last admin"), "{e}");
    let e = refused(mhd(h).args(["user", "set-role", "alice", "viewer"]));
    assert!(e.contains("last admin"), "{e}");
    assert_eq!(users(h)[0], pair("alice", "admin"));

    ok(mhd(h)
        .args(["user", "remove", "bob@example.org"])
        .output()
        .unwrap());
    assert_eq!(users(h), [pair("alice", "admin")]);

    // A new password from standard input.
    let (out, _) = ok(mhd(h)
        .args(["user", "passwd", "alice"])
        .write_stdin("a brand new password\r\n")
        .output()
        .unwrap());
    assert!(out.contains("Changed the password of alice"), "{out}");
}

#[test]
fn bad_users_exit_2_and_change_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(add_user(h, "alice", "admin", "a long enough password"));

    let e = refused(
        mhd(h)
            .args(["user", "add", "carol", "--role", "root"])
            .write_stdin("a long enough password\n"),
    );
    assert!(e.contains("\"root\"") && e.contains("viewer"), "{e}");
    let e = refused(
        mhd(h)
            .args(["user", "add", "carol", "--role", "ingest"])
            .write_stdin("a long enough password\n"),
    );
    assert!(e.contains("tokens only"), "{e}");
    let e = refused(
        mhd(h)
            .args(["user", "add", "carol smith", "--role", "viewer"])
            .write_stdin("a long enough password\n"),
    );
    assert!(e.contains("user name \"carol smith\""), "{e}");
    let e = refused(
        mhd(h)
            .args(["user", "add", "<script>", "--role", "viewer"])
            .write_stdin("a long enough password\n"),
    );
    assert!(e.contains("'<'"), "{e}");
    let e = refused(
        mhd(h)
            .args(["user", "add", "carol", "--role", "viewer"])
            .write_stdin("Zq8shortpw\n"),
    );
    assert!(e.contains("at least 12"), "{e}");
    assert!(
        !e.contains("Zq8shortpw"),
        "the password is never echoed: {e}"
    );
    let e = refused(
        mhd(h)
            .args(["user", "add", "carol", "--role", "viewer"])
            .write_stdin(""),
    );
    assert!(e.contains("no password on standard input"), "{e}");
    let e = refused(
        mhd(h)
            .args(["user", "add", "ALICE", "--role", "viewer"])
            .write_stdin("a long enough password\n"),
    );
    assert!(e.contains("exists already"), "{e}");
    let e = refused(mhd(h).args(["user", "set-role", "alice", "boss"]));
    assert!(e.contains("\"boss\""), "{e}");
    let e = refused(mhd(h).args(["user", "remove", "nobody"]));
    assert!(e.contains("no user is named \"nobody\""), "{e}");
    let e = refused(
        mhd(h)
            .args(["user", "passwd", "alice"])
            .write_stdin("short\n"),
    );
    assert!(e.contains("at least 12"), "{e}");

    assert_eq!(users(h), [pair("alice", "admin")]);
}

#[test]
fn bad_input_before_any_store_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().join("fresh");
    refused(
        mhd(&h)
            .args(["user", "add", "bad name", "--role", "admin"])
            .write_stdin("a long enough password\n"),
    );
    refused(mhd(&h).args(["token", "create", "--name", "ci", "--role", "root"]));
    refused(mhd(&h).args([
        "token",
        "create",
        "--name",
        "ci",
        "--role",
        "ingest",
        "--expires",
        "soon",
    ]));
    // The program's own log may be written; the store is not.
    assert!(!h.join("mhd.db").exists(), "no store was made");
}

#[test]
fn a_token_is_printed_once_and_never_listed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (out, err) = ok(mhd(h)
        .args([
            "token",
            "create",
            "--name",
            "ci",
            "--role",
            "ingest",
            "--expires",
            "30d",
        ])
        .output()
        .unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on standard output: {out}");
    let secret = lines[0];
    assert!(secret.starts_with("mhd_") && secret.len() == 47, "{secret}");
    assert!(err.contains("cannot be shown again"), "{err}");
    assert!(!err.contains(secret), "{err}");
    let body = &secret[4..];

    let (table, _) = ok(mhd(h).args(["token", "list"]).output().unwrap());
    assert!(table.contains("ci") && table.contains("ingest"), "{table}");
    assert!(
        table.contains("active") && table.contains("in 29d"),
        "{table}"
    );
    let (json, _) = ok(mhd(h).args(["token", "list", "--json"]).output().unwrap());
    for listing in [&table, &json] {
        assert!(
            !listing.contains(body),
            "the secret is never listed: {listing}"
        );
    }
    let v: Value = serde_json::from_str(&json).unwrap();
    let t = &v[0];
    assert_eq!(t["name"], "ci");
    assert_eq!(t["role"], "ingest");
    assert_eq!(t["state"], "active");
    assert!(
        t["expires_at"].is_string() && t["revoked_at"].is_null(),
        "{t}"
    );
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|k| !k.contains("hash") && !k.contains("secret")),
        "{keys:?}"
    );

    // The secret is nowhere in the store file either.
    let db = std::fs::read(h.join("mhd.db")).unwrap();
    let wal = std::fs::read(h.join("mhd.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(body.len()).any(|w| w == body.as_bytes()),
            "the secret is not stored"
        );
    }

    // Nor in the program's own logs.
    for entry in std::fs::read_dir(h.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert!(!text.contains(body), "{}", entry.path().display());
    }

    // A second token gets another secret; the name of a live token is taken.
    let (out2, _) = ok(mhd(h)
        .args(["token", "create", "--name", "dash", "--role", "viewer"])
        .output()
        .unwrap());
    assert_ne!(out2.trim(), secret);
    let e = refused(mhd(h).args(["token", "create", "--name", "CI", "--role", "viewer"]));
    assert!(e.contains("exists already"), "{e}");
}

#[test]
fn tokens_are_revoked_by_id_or_name() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for name in ["ci", "dash"] {
        ok(mhd(h)
            .args(["token", "create", "--name", name, "--role", "viewer"])
            .output()
            .unwrap());
    }
    let (out, _) = ok(mhd(h).args(["token", "revoke", "ci"]).output().unwrap());
    assert!(out.contains("Revoked token 1 \"ci\""), "{out}");
    let (out, _) = ok(mhd(h).args(["token", "revoke", "2"]).output().unwrap());
    assert!(out.contains("\"dash\""), "{out}");
    let e = refused(mhd(h).args(["token", "revoke", "ci"]));
    assert!(e.contains("already revoked"), "{e}");
    let e = refused(mhd(h).args(["token", "revoke", "99"]));
    assert!(e.contains("\"99\""), "{e}");

    let (json, _) = ok(mhd(h).args(["token", "list", "--json"]).output().unwrap());
    let v: Value = serde_json::from_str(&json).unwrap();
    let states: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["revoked", "revoked"]);

    // A revoked name may be used again.
    ok(mhd(h)
        .args(["token", "create", "--name", "ci", "--role", "admin"])
        .output()
        .unwrap());
}

#[test]
fn bad_tokens_exit_2_and_change_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cases: [(&[&str], &str); 5] = [
        (&["--name", "ci", "--role", "root"], "\"root\""),
        (&["--name", "a/b", "--role", "viewer"], "token name \"a/b\""),
        (
            &["--name", "ci", "--role", "viewer", "--expires", "0d"],
            "\"0d\"",
        ),
        (
            &["--name", "ci", "--role", "viewer", "--expires", "forever"],
            "\"forever\"",
        ),
        (&["--name", "", "--role", "viewer"], "is empty"),
    ];
    for (args, needle) in cases {
        let e = refused(mhd(h).args(["token", "create"]).args(args));
        assert!(e.contains(needle), "{args:?}: {e}");
    }
    let (json, _) = ok(mhd(h).args(["token", "list", "--json"]).output().unwrap());
    assert_eq!(json.trim(), "[]");
}

#[test]
fn user_and_token_changes_are_in_the_audit_log_and_its_json_lines() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(add_user(h, "ana", "admin", "correct horse battery"));
    let (secret, _) = ok(mhd(h)
        .args(["token", "create", "--name", "ci", "--role", "ingest"])
        .output()
        .unwrap());
    ok(mhd(h).args(["token", "revoke", "ci"]).output().unwrap());

    let (lines, _) = ok(mhd(h)
        .args(["audit", "--jsonl"])
        .env("USER", "ops-bot")
        .output()
        .unwrap());
    let entries: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["user.add", "token.create", "token.revoke"],
        "oldest first"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["client"] == "cli" && e["outcome"] == "ok")
    );
    assert_eq!(entries[1]["resource"], "token ci");
    assert_eq!(entries[1]["details"]["role"], "ingest");
    assert!(
        !lines.contains(secret.trim()) && !lines.contains("correct horse"),
        "no secret in the audit log"
    );

    let (table, _) = ok(mhd(h)
        .args(["audit", "--action", "token.revoke"])
        .output()
        .unwrap());
    assert!(
        table.contains("token.revoke") && !table.contains("user.add"),
        "{table}"
    );
    let bad = refused(mhd(h).args(["audit", "--since", "yesterday-ish"]));
    assert!(bad.contains("--since"), "{bad}");
}
