//! HTTPS on 127.0.0.1 with certificates made for each test: a client trusting the test CA is
//! served, clients that never finish a handshake cannot hold others up, bad certificate and key
//! files are named, and handlers still see the peer address.

use mhd_store::prelude::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use mhd_server::tls::{self, HandshakeLimits, TlsError, TlsListener};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

mod common;
use common::now;

const WAIT: Duration = Duration::from_secs(10);

const PLAN: &str = r#"
[migration]
name = "TLS"
start = "2025-01-06"
weeks = 21

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"
"#;

/// A test CA and a server certificate it signed for `localhost`, 127.0.0.1 and
/// `dash.example.test`, written as PEM files.
struct Pki {
    dir: TempDir,
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mhd test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let server_params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "dash.example.test".to_owned(),
        ])
        .expect("server params");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let cert = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        // The chain: the server's certificate first, then its issuer.
        std::fs::write(&cert, format!("{}{}", server_cert.pem(), ca_cert.pem())).expect("cert");
        std::fs::write(&key, server_key.serialize_pem()).expect("key");
        Pki {
            dir,
            ca_pem: ca_cert.pem(),
            cert,
            key,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self) -> Arc<rustls::ServerConfig> {
        tls::load_config(&self.cert, &self.key).expect("the certificate and key load")
    }

    /// A client that trusts only the test CA.
    fn client(&self) -> reqwest::Client {
        self.client_with(|b| b)
    }

    fn client_with(
        &self,
        tune: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> reqwest::Client {
        mhd_server::http::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA PEM");
        tune(
            reqwest::Client::builder()
                .tls_certs_only([ca])
                .timeout(WAIT),
        )
        .build()
        .expect("client")
    }
}

struct Server {
    _store_dir: TempDir,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(pki: &Pki) -> Server {
        let (store_dir, store) = common::store().await;
        let state = common::state(store, PLAN);
        let listener = common::listener().await;
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tls::serve_tls(listener, pki.config(), state, async {
            let _ = stopped.await;
        }));
        Server {
            _store_dir: store_dir,
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
}

async fn health(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.expect("HTTPS request");
    let status = response.status();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

#[tokio::test]
async fn a_client_trusting_the_ca_gets_health_over_https() {
    let pki = Pki::new();
    let server = Server::start(&pki).await;

    let (status, body) = health(&pki.client(), &server.url("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));

    // TLS 1.2 clients are served too, and by IP address as well as by name.
    let tls12 = pki.client_with(|b| b.tls_version_max(reqwest::tls::Version::TLS_1_2));
    let url = format!("https://127.0.0.1:{}/health", server.addr.port());
    let (status, body) = health(&tls12, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn a_client_not_trusting_the_ca_is_refused() {
    let pki = Pki::new();
    let other = Pki::new();
    let server = Server::start(&pki).await;
    let error = other
        .client()
        .get(server.url("/health"))
        .send()
        .await
        .expect_err("the certificate is not trusted");
    assert!(error.is_connect(), "{error:?}");
    // The server carries on.
    let (status, _) = health(&pki.client(), &server.url("/health")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn http_1_1_is_the_only_protocol_offered() {
    let pki = Pki::new();
    let server = Server::start(&pki).await;
    let mut roots = rustls::RootCertStore::empty();
    let ca =
        rustls::pki_types::CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).expect("CA DER");
    roots.add(ca).expect("CA added");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .expect("answer read");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
}

#[tokio::test]
async fn plain_http_to_the_tls_port_fails_and_https_still_works() {
    let pki = Pki::new();
    let server = Server::start(&pki).await;

    // A raw plain-text request gets no HTTP answer, only a TLS alert or a closed connection.
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("request sent");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // So does an HTTP client speaking plain HTTP.
    mhd_server::http::install_crypto_provider();
    let plain = reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client");
    let url = format!("http://127.0.0.1:{}/health", server.addr.port());
    assert!(plain.get(&url).send().await.is_err(), "plain HTTP answered");

    let (status, body) = health(&pki.client(), &server.url("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn a_client_that_never_handshakes_does_not_hold_up_others() {
    let pki = Pki::new();
    let server = Server::start(&pki).await;
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // Half a handshake: the first bytes of a ClientHello, then nothing.
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01])
        .await
        .expect("partial hello");

    let started = Instant::now();
    let (status, _) = health(&pki.client(), &server.url("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "served after {:?}",
        started.elapsed()
    );
    drop((silent, stalled));
}

#[tokio::test]
async fn slow_handshakes_time_out_are_counted_and_bound_how_many_run() {
    let pki = Pki::new();
    let tcp = common::listener().await;
    let addr = tcp.local_addr().expect("address");
    let limits = HandshakeLimits {
        timeout: Duration::from_millis(400),
        max_in_flight: 1,
    };
    let listener = TlsListener::new(tcp, pki.config(), limits).expect("listener");
    let failures = listener.handshake_failures();
    let router = Router::new().route("/health", get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let silent = TcpStream::connect(addr).await.expect("connect");
    // Let the listener take the silent connection first.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = pki
        .client()
        .get(format!("https://localhost:{}/health", addr.port()))
        .send()
        .await
        .expect("served once the silent handshake timed out");
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "ok");
    // Only one handshake may run, so this one waited for the silent one's timeout.
    assert!(waited >= Duration::from_millis(200), "waited {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert_eq!(failures.get(), 1);
    drop(silent);
}

#[tokio::test]
async fn the_peer_address_reaches_the_audit_log() {
    let pki = Pki::new();
    let server = Server::start(&pki).await;
    let client = pki.client();
    let ops = json!([
        {"metric_type":"migration","operation":"m","dataset_name":"a","component":"storage"}
    ]);
    let response = client
        .post(server.url("/api/v1/operations"))
        .json(&ops)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);

    let (status, doc) = health(&client, &server.url("/api/v1/audit")).await;
    assert_eq!(status, StatusCode::OK, "{doc:#}");
    let entry = &doc["entries"][0];
    assert_eq!(entry["action"], "operations.write", "{doc:#}");
    let client_addr = entry["client"].as_str().expect("client address");
    assert!(client_addr.starts_with("127.0.0.1:"), "{client_addr}");
}

#[tokio::test]
async fn shutdown_ends_the_server_and_closes_the_port() {
    let pki = Pki::new();
    let mut server = Server::start(&pki).await;
    let (status, _) = health(&pki.client(), &server.url("/health")).await;
    assert_eq!(status, StatusCode::OK);

    let _ = server.stop.take().map(|stop| stop.send(()));
    let ended = tokio::time::timeout(WAIT, &mut server.task)
        .await
        .expect("the server ends")
        .expect("the task joins");
    assert!(ended.is_ok(), "{ended:?}");

    // The port stops accepting once the listener is gone.
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(server.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "the port still accepts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn expect_error(cert: &Path, key: &Path) -> TlsError {
    match tls::load_config(cert, key) {
        Ok(_) => panic!("{} and {} were accepted", cert.display(), key.display()),
        Err(e) => e,
    }
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_naming_both_files() {
    let pki = Pki::new();
    let other = KeyPair::generate().expect("key");
    let wrong = pki.path("other.key");
    let other_pem = other.serialize_pem();
    std::fs::write(&wrong, &other_pem).expect("write");

    let error = expect_error(&pki.cert, &wrong);
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("does not match"), "{message}");
    assert!(message.contains(&*wrong.to_string_lossy()), "{message}");
    assert!(message.contains(&*pki.cert.to_string_lossy()), "{message}");
    // No key material in the message.
    let body = other_pem.lines().nth(1).expect("a base64 line");
    assert!(!message.contains(body), "{message}");
}

#[test]
fn missing_files_are_named() {
    let pki = Pki::new();
    let missing = pki.path("nowhere.crt");
    let error = expect_error(&missing, &pki.key);
    let message = error.to_string();
    assert!(
        message.starts_with("cannot read the TLS certificate file"),
        "{message}"
    );
    assert!(message.contains(&*missing.to_string_lossy()), "{message}");

    let missing = pki.path("nowhere.key");
    let error = expect_error(&pki.cert, &missing);
    let message = error.to_string();
    assert!(
        message.starts_with("cannot read the TLS key file"),
        "{message}"
    );
    assert!(message.contains(&*missing.to_string_lossy()), "{message}");
}

#[test]
fn files_without_a_certificate_or_a_key_are_named() {
    let pki = Pki::new();
    // The key given as the certificate: no certificate in it.
    let error = expect_error(&pki.key, &pki.key);
    assert!(matches!(error, TlsError::NoCertificate { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&*pki.key.to_string_lossy()),
        "{error}"
    );
    // The certificate given as the key: no key in it.
    let error = expect_error(&pki.cert, &pki.cert);
    assert!(matches!(error, TlsError::NoKey { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&*pki.cert.to_string_lossy()), "{message}");
    assert!(message.contains("PKCS#8"), "{message}");
}

#[test]
fn a_combined_file_with_key_and_chain_loads() {
    let pki = Pki::new();
    let both = pki.path("both.pem");
    let text = format!(
        "{}{}",
        std::fs::read_to_string(&pki.key).expect("key"),
        std::fs::read_to_string(&pki.cert).expect("cert")
    );
    std::fs::write(&both, text).expect("write");
    let config = tls::load_config(&both, &both).expect("loads");
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
}

#[tokio::test]
async fn a_session_over_https_gets_a_secure_cookie() {
    let pki = Pki::new();
    let (_store_dir, store) = common::store().await;
    let password = "correct horse battery staple";
    let hash = mhd_store::auth::PasswordHash::new(password).expect("hash");
    store
        .add_user("alice", mhd_core::auth::Role::Viewer, &hash, now())
        .await
        .expect("user");
    let state = common::state_at(store, None, now);
    state.security().set_https(true);
    let listener = common::listener().await;
    let addr = listener.local_addr().expect("address");
    tokio::spawn(tls::serve_tls(
        listener,
        pki.config(),
        state,
        std::future::pending(),
    ));
    let client = pki.client_with(|b| b.redirect(reqwest::redirect::Policy::none()));
    let response = client
        .post(format!("https://localhost:{}/signin", addr.port()))
        .form(&[("name", "alice"), ("password", password)])
        .send()
        .await
        .expect("sign-in");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"].to_str().expect("cookie");
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[tokio::test]
async fn https_answers_keep_browsers_to_https_and_api_answers_are_not_cached() {
    let pki = Pki::new();
    let (_dir, store) = common::store().await;
    let state = common::state_at(store, None, now);
    let mut hosts = mhd_server::origin::AllowedHosts::default();
    hosts.add("https://dash.example.test/").expect("a host");
    state.security().set_allowed_hosts(hosts);
    let listener = common::listener().await;
    let addr = listener.local_addr().expect("address");
    tokio::spawn(tls::serve_tls(
        listener,
        pki.config(),
        state,
        std::future::pending(),
    ));
    let client = pki.client_with(|b| b.resolve("dash.example.test", addr));
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.expect("HTTPS request") }
    };
    let named = |path: &str| format!("https://dash.example.test:{}{path}", addr.port());
    for path in ["/api/v1/auth/whoami", "/", "/health"] {
        let r = get(named(path)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(
            r.headers()["strict-transport-security"],
            mhd_server::app::STRICT_TRANSPORT_SECURITY,
            "{path}"
        );
    }
    let r = get(named("/api/v1/auth/whoami")).await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    // Not for localhost or an address: a browser would then refuse every other local server's
    // plain HTTP on that name for a year.
    for url in [
        format!("https://localhost:{}/api/v1/auth/whoami", addr.port()),
        format!("https://127.0.0.1:{}/api/v1/auth/whoami", addr.port()),
    ] {
        let r = get(url.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{url}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store", "{url}");
    }
}
