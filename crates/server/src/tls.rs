//! HTTPS for `mhd serve`: the rustls configuration read from PEM files, a listener that runs
//! each TLS handshake in its own task, and [`serve_tls`], the HTTPS twin of
//! [`serve`](crate::app::serve).
//!
//! The handshake happens before a connection reaches the HTTP server, so a client that connects
//! and never speaks, or speaks plain HTTP, costs one bounded task and is dropped after
//! [`HANDSHAKE_TIMEOUT`]; other clients are served meanwhile.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::connections::ConnectionLimits;
use crate::state::AppState;

/// How long a client has to complete its TLS handshake before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many TLS handshakes may be in progress at once; further connections wait in the
/// operating system's backlog until one finishes.
pub const MAX_HANDSHAKES: usize = 1024;

/// The only application protocol offered: the server speaks HTTP/1.1.
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// How many established connections may wait for the HTTP server to take them.
const READY_QUEUE: usize = 64;

/// Why the TLS certificate or key could not be loaded. Messages name the file and never show
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read the TLS {kind} file {path}: {source}")]
    Read {
        /// `certificate` or `key`.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not well-formed PEM.
    #[error("the TLS {kind} file {path} is not valid PEM: {problem}")]
    Pem {
        /// `certificate` or `key`.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// What is wrong, without the file's content.
        problem: &'static str,
    },
    /// The certificate file holds no certificate.
    #[error(
        "the TLS certificate file {path} holds no certificate \
         (expected a PEM `-----BEGIN CERTIFICATE-----` section)"
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key in a supported form.
    #[error(
        "the TLS key file {path} holds no private key (expected a PEM `PRIVATE KEY` (PKCS#8), \
         `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1) section; encrypted keys are \
         not supported)"
    )]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key is of a type or size the TLS library cannot sign with.
    #[error(
        "the private key in {path} cannot be used (supported: RSA of 2048 bits or more, \
         ECDSA P-256 or P-384, Ed25519)"
    )]
    UnusableKey {
        /// The key file.
        path: PathBuf,
    },
    /// The private key is not the one of the certificate.
    #[error("the private key in {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The TLS library refused the certificate chain.
    #[error("the TLS certificate in {cert} cannot be used: {source}")]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// Why.
        source: rustls::Error,
    },
}

/// Which of the two files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The PEM certificate chain.
    Certificate,
    /// The PEM private key.
    Key,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Certificate => "certificate",
            FileKind::Key => "key",
        })
    }
}

/// Reads the PEM certificate chain `cert` (server certificate first) and the PEM private key
/// `key` (PKCS#8, PKCS#1 or SEC1) into a server configuration: TLS 1.2 and 1.3 with the ring
/// provider, ALPN `http/1.1`. Fails when a file is missing or unreadable, holds no certificate
/// or no key, or when the key is not the certificate's.
pub fn load_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates(cert)?;
    let private_key = read_private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Loading the key alone first tells an unusable key apart from a mismatched one.
    if provider
        .key_provider
        .load_private_key(private_key.clone_key())
        .is_err()
    {
        return Err(TlsError::UnusableKey {
            path: key.to_path_buf(),
        });
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| TlsError::Refused {
            cert: cert.to_path_buf(),
            source,
        })?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|source| match source {
            rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            source => TlsError::Refused {
                cert: cert.to_path_buf(),
                source,
            },
        })?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

fn read_file(kind: FileKind, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        kind,
        path: path.to_path_buf(),
        source,
    })
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = read_file(FileKind::Certificate, path)?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(FileKind::Certificate, path, &e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = read_file(FileKind::Key, path)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        e => pem_error(FileKind::Key, path, &e),
    })
}

/// Describes a PEM error without its payload: some variants carry lines of the file, and a
/// key file's lines are secret.
fn pem_error(kind: FileKind, path: &Path, error: &pem::Error) -> TlsError {
    let problem = match error {
        pem::Error::MissingSectionEnd { .. } => "a section has no `-----END` line",
        pem::Error::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed",
        pem::Error::Base64Decode(_) => "a section's base64 content is invalid",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "the file cannot be parsed",
    };
    TlsError::Pem {
        kind,
        path: path.to_path_buf(),
        problem,
    }
}

/// Limits on TLS handshakes in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// How long one handshake may take.
    pub timeout: Duration,
    /// How many handshakes may run at once (at least one).
    pub max_in_flight: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits {
            timeout: HANDSHAKE_TIMEOUT,
            max_in_flight: MAX_HANDSHAKES,
        }
    }
}

/// How many TLS handshakes failed or timed out on a listener (a cheap, shared handle).
#[derive(Debug, Clone, Default)]
pub struct HandshakeFailures(Arc<AtomicU64>);

impl HandshakeFailures {
    /// The number of failed handshakes so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A listener for [`axum::serve()`] that hands over connections once their TLS handshake has
/// completed. A background task accepts TCP connections and runs each handshake in its own
/// task; a failed or timed-out handshake is logged at debug level, counted, and never stops
/// the listener. Dropping the listener closes the port and ends handshakes in progress.
///
/// Its address type is [`SocketAddr`]; [`serve_tls`] gives handlers the peer address as
/// `ConnectInfo<SocketAddr>`, as the plain server does.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    failures: HandshakeFailures,
    acceptor_task: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting TLS connections on `listener` with `config`. Must be called within a
    /// Tokio runtime.
    pub fn new(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        limits: HandshakeLimits,
    ) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let failures = HandshakeFailures::default();
        let acceptor_task = tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(config),
            limits,
            sender,
            failures.clone(),
        ));
        Ok(TlsListener {
            ready,
            local_addr,
            failures,
            acceptor_task,
        })
    }

    /// The count of failed handshakes on this listener.
    pub fn handshake_failures(&self) -> HandshakeFailures {
        self.failures.clone()
    }
}

impl fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsListener")
            .field("local_addr", &self.local_addr)
            .field("handshake_failures", &self.failures.get())
            .finish_non_exhaustive()
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            None => {
                // Only if the accepting task died, which it does not do on its own.
                tracing::error!(address = %self.local_addr, "the TLS listener stopped accepting");
                std::future::pending().await
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Accepts TCP connections and starts a handshake task for each, up to `max_in_flight` at
/// once; ends when the listener is dropped.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    limits: HandshakeLimits,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    failures: HandshakeFailures,
) {
    let max_in_flight = limits.max_in_flight.max(1);
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            () = ready.closed() => break,
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            accepted = listener.accept(), if handshakes.len() < max_in_flight => match accepted {
                Ok((stream, peer)) => {
                    handshakes.spawn(handshake(
                        acceptor.clone(),
                        stream,
                        peer,
                        limits.timeout,
                        ready.clone(),
                        failures.clone(),
                    ));
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Such as too many open files: wait for some to close rather than spin.
                    tracing::error!(error = %e, "cannot accept a connection");
                    tokio::select! {
                        () = ready.closed() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            },
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Runs one handshake and queues the connection for the HTTP server.
async fn handshake(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    failures: HandshakeFailures,
) {
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            // A closed queue means the server is shutting down; the connection just closes.
            let _ = ready.send((tls, peer)).await;
        }
        Ok(Err(e)) => {
            failures.inc();
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            failures.inc();
            tracing::debug!(%peer, ?timeout, "TLS handshake timed out");
        }
    }
}

impl crate::connections::Accept for TlsListener {
    type Io = TlsStream<TcpStream>;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        Ok(Listener::accept(self).await)
    }
}

/// Serves `app(state)` over HTTPS on `listener` with `config` until `shutdown` completes;
/// requests in flight finish. Handshakes follow [`HandshakeLimits::default`], connections
/// [`ConnectionLimits::default`].
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_tls_with(
        listener,
        config,
        state,
        ConnectionLimits::default(),
        shutdown,
    )
    .await
}

/// [`serve_tls`] with its connections held to `limits`.
pub async fn serve_tls_with(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = TlsListener::new(listener, config, HandshakeLimits::default())?;
    // Cookies are `Secure` and answers carry `Strict-Transport-Security`.
    state.security().set_https(true);
    crate::connections::serve(listener, crate::app::app(state), limits, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_errors_never_echo_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("key.pem");
        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldA==\n";
        std::fs::write(&key, secret).expect("write");
        let error = read_private_key(&key).expect_err("no END line");
        let message = error.to_string();
        assert!(message.contains("key.pem"), "{message}");
        assert!(message.contains("`-----END` line"), "{message}");
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }

    #[test]
    fn a_certificate_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate\n").expect("write");
        let error = read_certificates(&cert).expect_err("nothing in it");
        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error:?}");
        assert!(error.to_string().contains("cert.pem"), "{error}");
    }
}
