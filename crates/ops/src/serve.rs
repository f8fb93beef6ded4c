//! [`serve`]: the HTTP/1.1 server both binaries run their axum routers on, built to keep
//! answering while clients hold connections open without finishing requests (slowloris).
//!
//! hyper's HTTP/1 connection closes a connection whose request head does not arrive in time
//! (this also closes idle keep-alive connections); a body wrapper cuts a request body that
//! stops flowing; a table of open connections caps how many are open and, when
//! the cap is reached or `accept` fails (no file descriptors left), closes the connection that
//! has been idle longest — one with no request in flight — so a new client gets its turn.
//! Shutdown stops accepting, closes idle connections and lets requests in flight finish.

mod body;
mod table;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use body::{IdleTimeout, Tracked};
use table::{Entry, Table};

/// What [`serve`] tolerates from clients. Every limit closes or cuts only the connection that
/// exceeds it; the server goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// Open connections at most (at least 1). At the cap, each new connection first closes
    /// the connection idle for longest (no request in flight: a stalled head counts as idle);
    /// when every connection is busy, new ones wait in the listen backlog until one finishes.
    /// Keep it well below the process's open-file limit: the rest of the process (files,
    /// outgoing connections, the session database) needs descriptors too.
    pub max_connections: usize,
    /// The whole request head must arrive within this long of the connection's start or of
    /// the previous response's end, else the connection is closed without an answer. So an
    /// idle keep-alive connection is also closed after this long.
    pub header_read_timeout: Duration,
    /// Longest pause between two pieces of a request body while a handler reads it. The read
    /// then fails (the handler answers its error, e.g. 400) and the connection is closed. A
    /// slow upload that keeps flowing is never cut.
    pub body_idle_timeout: Duration,
}

impl ServeLimits {
    /// 256 connections; 10 s for a request head (a real client sends it at once, in one
    /// packet) and for a keep-alive connection to idle (as short as many servers: clients
    /// reconnect, and held sockets are what a slowloris wants); 30 s of silence within a body
    /// (longer than TCP's retransmission stalls on a bad mobile link).
    ///
    /// 256 leaves three quarters of the common 1024 open-file limit to the rest of the
    /// process, where a connection streaming a file holds a second descriptor.
    pub const DEFAULT: Self = Self {
        max_connections: 256,
        header_read_timeout: Duration::from_secs(10),
        body_idle_timeout: Duration::from_secs(30),
    };
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// First pause after a failed `accept` (no descriptors, no buffers); doubled per failure in a
/// row up to [`ACCEPT_BACKOFF_MAX`], so a persistent error never spins the CPU.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between `accept` attempts.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one warning per this long for each kind of overload (limit reached, accept failing).
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops
/// accepting (the listening socket is closed), closes idle connections at once, lets requests
/// in flight finish (their connections close after the response) and returns when no
/// connection is left. Callers bound that wait themselves if they need to.
///
/// HTTP/1.1 only (as `axum::serve` was here without axum's `http2` feature). Handlers can
/// extract `ConnectInfo<SocketAddr>` (the peer's address). Errors of single connections and
/// of `accept` are logged and never end the server, so this returns `Ok` once stopped; the
/// `io::Result` keeps the shape of `axum::serve` for the callers.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
    limits: ServeLimits,
) -> io::Result<()> {
    serve_with(listener, router, shutdown, limits, |stream| stream).await
}

/// [`serve`] with every accepted stream passed through `wrap` before hyper reads it (the
/// sender rewrites hyper's own bodiless error answers into its error envelope this way).
pub async fn serve_with<W>(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
    limits: ServeLimits,
    wrap: impl Fn(TcpStream) -> W,
) -> io::Result<()>
where
    W: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let table = Arc::new(Table::default());
    let (stop_tx, stop) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut acceptor = Acceptor {
        listener,
        table: table.clone(),
        max: limits.max_connections.max(1),
        warned_full: None,
        warned_error: None,
    };
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = acceptor.next() => accepted,
        };
        let entry = Arc::new(table.open());
        let handler = Handler {
            router: router.clone(),
            entry: entry.clone(),
            remote,
            body_idle_timeout: limits.body_idle_timeout,
        };
        let connection = http.serve_connection(TokioIo::new(wrap(stream)), handler);
        connections.spawn(drive(connection, entry, stop.clone()));
    }
    drop(acceptor);
    stop_tx.send_replace(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Runs one connection until it ends, is shed (while idle) or the server stops (idle: at
/// once; busy: after the response in flight).
async fn drive<W: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    connection: http1::Connection<TokioIo<W>, Handler>,
    entry: Arc<Entry>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connection = pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    debug!(error = %e, "HTTP connection ended with an error");
                }
                return;
            }
            () = entry.shed.notified() => {
                // Not polling the connection here, so no request can start before it drops.
                if entry.confirm_shed() {
                    debug!("closed an idle HTTP connection to make room");
                    return;
                }
            }
            _ = stop.wait_for(|stop| *stop), if !stopping => {
                if entry.is_idle() {
                    return;
                }
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The accepting side: the listening socket, the cap and the pauses after failures.
struct Acceptor {
    listener: TcpListener,
    table: Arc<Table>,
    max: usize,
    warned_full: Option<Instant>,
    warned_error: Option<Instant>,
}

impl Acceptor {
    /// The next connection, with room made for it (or waited for) under the cap.
    async fn next(&mut self) -> (TcpStream, SocketAddr) {
        let accepted = self.accept().await;
        while self.table.counted() >= self.max {
            let shed = self.table.shed_oldest_idle();
            if due(&mut self.warned_full) {
                warn!(
                    max_connections = self.max,
                    "HTTP connection limit reached: {}",
                    if shed {
                        "closing the connections idle for longest to make room"
                    } else {
                        "every connection is busy; new connections wait"
                    }
                );
            }
            if shed {
                break;
            }
            self.table.changed().await;
        }
        accepted
    }

    /// Accepts, retrying after failures: at once when only that connection failed; after a
    /// pause (and closing the connection idle for longest, which frees a descriptor) when the
    /// process is out of descriptors or memory.
    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            let e = match self.listener.accept().await {
                Ok(accepted) => return accepted,
                Err(e) => e,
            };
            if is_connection_error(&e) {
                debug!(error = %e, "a connection failed before it was accepted");
                continue;
            }
            let shed = self.table.shed_oldest_idle();
            if due(&mut self.warned_error) {
                warn!(error = %e, closed_idle = shed, "accepting HTTP connections fails; retrying");
            }
            if shed {
                // Until the shed connection has closed (its descriptor is free), at most the pause.
                let _ = tokio::time::timeout(backoff, self.table.changed()).await;
            } else {
                tokio::time::sleep(backoff).await;
            }
            backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
        }
    }
}

/// Errors of one pending connection (the next one may be fine), as opposed to the process
/// running out of something.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Whether a warning last given at `last` may be given again now (and notes it).
fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|at| now.duration_since(at) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// The per-connection service: counts the request in flight until its response body is sent,
/// puts the idle timeout on the request body and the peer's address in the extensions.
struct Handler {
    router: Router,
    entry: Arc<Entry>,
    remote: SocketAddr,
    body_idle_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.entry.begin();
        let timeout = self.body_idle_timeout;
        let mut request = request.map(|body| Body::new(IdleTimeout::new(body, timeout)));
        request.extensions_mut().insert(ConnectInfo(self.remote));
        let response = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Tracked::new(body, in_flight)))
        })
    }
}
