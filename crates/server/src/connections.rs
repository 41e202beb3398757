//! Serving accepted connections (plain or TLS) with HTTP/1.1, so that idle ones cannot pile up:
//!
//! - **Idle timeout.** A connection must send a request's whole head within
//!   [`ConnectionLimits::idle_timeout`] of opening, or of its previous answer; otherwise it is
//!   closed. One timer (hyper's header-read timeout) covers a client that never speaks, one that
//!   speaks too slowly (slowloris), and a kept-alive connection left unused. It does not cover a
//!   request being served or an opened WebSocket, which has its own pings and limits.
//! - **A cap on open connections** ([`ConnectionLimits::max_connections`], WebSockets included).
//!   A connection accepted at the cap sheds the connection idle the longest (no request in
//!   progress, no answer being written, not a WebSocket): a browser reopens one it needs without
//!   its user noticing, and `/health` stays answerable however many idle sockets someone opens.
//!   When every connection is busy, the new one is closed at once instead, as the system would
//!   refuse it anyway when out of file descriptors.
//!
//! Shutting down stops accepting, lets requests in progress finish and closes idle connections.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt as _;

/// How long a connection may stay without sending a whole request head.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// The most open connections by default, when the system allows that many files.
pub const MAX_CONNECTIONS: usize = 10_000;
/// File descriptors left for everything else (the store, logs, collectors, TLS handshakes)
/// when the cap is derived from the process's limit.
const RESERVED_FILES: usize = 256;
/// How long a shed connection has to close by itself before it is dropped.
const SHED_GRACE: Duration = Duration::from_millis(500);
/// How long to wait before accepting again when accepting fails (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How connections are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a connection may stay without sending a whole request head.
    pub idle_timeout: Duration,
    /// The most connections open at once (at least one).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// [`IDLE_TIMEOUT`], and [`default_max_connections`].
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            idle_timeout: IDLE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// [`MAX_CONNECTIONS`], or fewer when the process may not open that many files: its limit less
/// what the rest of the server needs (read from `/proc/self/limits` on Linux).
pub fn default_max_connections() -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    match soft_limit {
        Some(files) => MAX_CONNECTIONS.min(files.saturating_sub(RESERVED_FILES).max(64)),
        None => MAX_CONNECTIONS,
    }
}

/// Where connections come from: a TCP listener, or one that completes TLS handshakes first.
pub trait Accept: Send + 'static {
    /// A connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The next connection and its peer's address.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        TcpListener::accept(self).await
    }
}

/// Milliseconds since the registry started: when a connection became idle.
fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// One open connection, as the registry sees it.
#[derive(Debug)]
struct Slot {
    /// Requests in progress, answers being written included.
    busy: AtomicUsize,
    /// When it last became idle (see [`millis_since`]).
    idle_since: AtomicU64,
    /// Handed over as a WebSocket: never idle.
    upgraded: AtomicBool,
    /// Asked to close, and on its way out.
    leaving: AtomicBool,
    /// Asks it to close.
    shed: Notify,
}

impl Slot {
    /// Whether it may be shed: no request in progress, not a WebSocket, not leaving already.
    fn idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && !self.upgraded.load(Ordering::Acquire)
            && !self.leaving.load(Ordering::Acquire)
    }
}

/// The open connections.
#[derive(Debug)]
struct Registry {
    started: Instant,
    open: Mutex<(u64, HashMap<u64, Arc<Slot>>)>,
}

impl Registry {
    fn new() -> Registry {
        Registry {
            started: Instant::now(),
            open: Mutex::new((0, HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<u64, Arc<Slot>>)> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more connection under `max`: sheds the connection idle the longest
    /// when the registry is full. False when it is full of busy connections.
    fn make_room(&self, max: usize) -> bool {
        let open = self.lock();
        if open.1.len() < max {
            return true;
        }
        let oldest_idle = open
            .1
            .values()
            .filter(|s| s.idle())
            .min_by_key(|s| s.idle_since.load(Ordering::Relaxed));
        match oldest_idle {
            Some(slot) => {
                slot.leaving.store(true, Ordering::Release);
                slot.shed.notify_one();
                true
            }
            None => false,
        }
    }

    /// Registers a new connection; removed when the returned guard is dropped.
    fn register(self: &Arc<Registry>) -> (Arc<Slot>, SlotGuard) {
        let slot = Arc::new(Slot {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(millis_since(self.started)),
            upgraded: AtomicBool::new(false),
            leaving: AtomicBool::new(false),
            shed: Notify::new(),
        });
        let mut open = self.lock();
        let id = open.0;
        open.0 += 1;
        open.1.insert(id, Arc::clone(&slot));
        (
            slot,
            SlotGuard {
                registry: Arc::clone(self),
                id,
            },
        )
    }

    fn len(&self) -> usize {
        self.lock().1.len()
    }
}

/// Removes its connection from the registry when the connection's socket is closed.
#[derive(Debug)]
struct SlotGuard {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.registry.lock().1.remove(&self.id);
    }
}

/// A connection's socket with its place in the registry, which it holds as long as it is open
/// (also once handed over as a WebSocket).
struct Tracked<Io> {
    io: Io,
    _guard: SlotGuard,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Tracked<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Tracked<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request in progress on a connection, until its answer has been written.
struct InProgress {
    slot: Arc<Slot>,
    started: Instant,
}

impl InProgress {
    fn start(slot: &Arc<Slot>, started: Instant) -> InProgress {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        InProgress {
            slot: Arc::clone(slot),
            started,
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.slot
            .idle_since
            .store(millis_since(self.started), Ordering::Relaxed);
        self.slot.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body, holding its request [`InProgress`] until it has been written.
struct Answer {
    body: Body,
    _in_progress: InProgress,
}

impl HttpBody for Answer {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The service of one connection: the router, with the peer's address as
/// `ConnectInfo<SocketAddr>` in every request (where the access layer and the audit log read
/// it), counting its requests in progress.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    slot: Arc<Slot>,
    started: Instant,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_progress = InProgress::start(&self.slot, self.started);
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let router = self.router.clone();
        Box::pin(async move {
            let Ok(response) = router.oneshot(request).await;
            Ok(response.map(|body| {
                Body::new(Answer {
                    body,
                    _in_progress: in_progress,
                })
            }))
        })
    }
}

/// Serves `router` on the connections of `listener` under `limits` until `shutdown` completes;
/// requests in progress then finish.
pub async fn serve<A: Accept>(
    mut listener: A,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let registry = Arc::new(Registry::new());
    let max = limits.max_connections.max(1);
    // Dropped when shutting down: every connection is told so.
    let (stop_tx, stop_rx) = watch::channel(());
    // Every connection's task holds a receiver; all gone means all done.
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (io, peer) = match accepted {
            Ok(c) => c,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Such as out of file descriptors: shed an idle connection and wait a moment.
                tracing::warn!(error = %e, open = registry.len(), "cannot accept a connection");
                registry.make_room(registry.len());
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if !registry.make_room(max) {
            tracing::debug!(%peer, max, "connection closed: every open connection is busy");
            drop(io);
            continue;
        }
        let (slot, guard) = registry.register();
        let service = ConnectionService {
            router: router.clone(),
            peer,
            slot: Arc::clone(&slot),
            started: registry.started,
        };
        let stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            serve_one(Tracked { io, _guard: guard }, service, slot, limits, stop).await;
            drop(done);
        });
    }
    drop(stop_tx);
    drop(stop_rx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Serves one connection until it closes, is handed over as a WebSocket, times out, is shed,
/// or the server stops.
async fn serve_one<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: Tracked<Io>,
    service: ConnectionService,
    slot: Arc<Slot>,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<()>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        // (Only waited for while closing.)
        let deadline = closing.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                break;
            }
            () = slot.shed.notified(), if closing.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing = Some(tokio::time::Instant::now() + SHED_GRACE);
            }
            _ = stop.changed(), if closing.is_none() => {
                // The server stops: requests in progress finish, idle connections close.
                connection.as_mut().graceful_shutdown();
                closing = Some(tokio::time::Instant::now() + SHED_GRACE);
            }
            () = tokio::time::sleep_until(deadline), if closing.is_some() => {
                // Still open: a request head half sent. Dropped unless a request got through
                // meanwhile, which then finishes.
                if slot.busy.load(Ordering::Acquire) == 0 {
                    break;
                }
                closing = Some(tokio::time::Instant::now() + SHED_GRACE);
            }
        }
    }
    // Handed over as a WebSocket, the socket outlives this task and keeps its place.
    slot.upgraded.store(true, Ordering::Release);
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_sheds_the_connection_idle_the_longest_and_never_a_busy_one() {
        let registry = Arc::new(Registry::new());
        let (a, _ga) = registry.register();
        let (b, _gb) = registry.register();
        a.idle_since.store(5, Ordering::Relaxed);
        b.idle_since.store(1, Ordering::Relaxed);
        assert!(registry.make_room(3), "room left");
        assert!(registry.make_room(2));
        assert!(
            b.leaving.load(Ordering::Relaxed),
            "b, idle the longest, is shed"
        );
        assert!(!a.leaving.load(Ordering::Relaxed));
        a.busy.store(1, Ordering::Relaxed);
        assert!(
            !registry.make_room(2),
            "only busy or leaving connections are left"
        );
        drop(_gb);
        assert_eq!(registry.len(), 1);
        assert!(registry.make_room(2));
    }

    #[test]
    fn the_default_cap_leaves_files_for_the_rest() {
        let max = default_max_connections();
        assert!((64..=MAX_CONNECTIONS).contains(&max), "{max}");
    }
}
