//! [`serve`](super::serve) over raw TCP: each limit closes or cuts exactly the connection that
//! exceeds it, and shutdown finishes what is in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ServeLimits, serve};

/// Upper bound for any awaited outcome; no test comes near it.
const WAIT: Duration = Duration::from_secs(5);
/// Short limits, so the tests see them act.
const SHORT: Duration = Duration::from_millis(300);
const STALLED_HEAD: &[u8] = b"GET /fast HTTP/1.1\r\nHost: x\r\n";

/// A server on 127.0.0.1:0. `GET /hold` reports on `entered` and answers "held" once
/// `release` gets a permit; `GET /fast` answers "ok"; `POST /echo` answers the body's length
/// or 408 when reading it failed; `POST /hint` the body's exact size hint; `GET /peer` the
/// peer's address.
struct Server {
    addr: SocketAddr,
    entered: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(limits: ServeLimits) -> Server {
    let (entered_tx, entered) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let held = release.clone();
    let router = Router::new()
        .route("/fast", get(|| async { "ok" }))
        .route(
            "/hold",
            get(move || {
                let (entered, held) = (entered_tx.clone(), held.clone());
                async move {
                    entered.send(()).unwrap();
                    held.acquire().await.unwrap().forget();
                    "held"
                }
            }),
        )
        .route(
            "/echo",
            post(|body: Body| async move {
                match axum::body::to_bytes(body, usize::MAX).await {
                    Ok(bytes) => (StatusCode::OK, bytes.len().to_string()),
                    Err(_) => (StatusCode::REQUEST_TIMEOUT, "stalled".to_owned()),
                }
            }),
        )
        .route(
            "/hint",
            post(|body: Body| async move { format!("hint={:?}", body.size_hint().exact()) }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        router,
        async move {
            let _ = stopped.await;
        },
        limits,
    ));
    Server {
        addr,
        entered,
        release,
        stop: Some(stop),
        task,
    }
}

fn limits(max_connections: usize) -> ServeLimits {
    ServeLimits {
        max_connections,
        header_read_timeout: SHORT,
        body_idle_timeout: SHORT,
    }
}

impl Server {
    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }

    /// A connection whose `GET /hold` is in the handler (counted in flight).
    async fn hold(&mut self) -> TcpStream {
        let mut stream = self.connect().await;
        stream
            .write_all(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::timeout(WAIT, self.entered.recv())
            .await
            .expect("the held request reached its handler");
        stream
    }

    /// A connection that sent half a request head.
    async fn stalled(&self) -> TcpStream {
        let mut stream = self.connect().await;
        stream.write_all(STALLED_HEAD).await.unwrap();
        stream
    }

    async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("serve returned")
            .unwrap()
    }
}

/// Reads until `needle` has arrived (what came so far is returned).
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(needle) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed before {needle:?}: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in time: {}", String::from_utf8_lossy(&got)));
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads until the server closes the connection (a reset counts); returns what came.
async fn closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the server closed the connection");
    String::from_utf8_lossy(&got).into_owned()
}

/// Whether nothing arrives and the connection stays open for [`SHORT`].
async fn quiet(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1];
    tokio::time::timeout(SHORT, stream.read(&mut buf))
        .await
        .is_err()
}

#[tokio::test]
async fn a_request_head_that_stalls_is_closed_after_the_header_timeout() {
    let server = start(limits(8)).await;
    let started = Instant::now();
    let mut stream = server.stalled().await;
    closed(&mut stream).await;
    assert!(
        started.elapsed() >= SHORT,
        "closed after {:?}",
        started.elapsed()
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = start(limits(8)).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut stream, "\r\n\r\nok").await;
    let idle = Instant::now();
    assert_eq!(closed(&mut stream).await, "");
    assert!(idle.elapsed() >= SHORT, "closed after {:?}", idle.elapsed());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_body_that_stalls_is_cut() {
    let server = start(limits(8)).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n1234")
        .await
        .unwrap();
    let got = read_until(&mut stream, "stalled").await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    // Not kept alive: the rest of that body would be read as the next request.
    assert_eq!(closed(&mut stream).await, "");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_slow_request_body_that_keeps_flowing_is_read_in_full() {
    let server = start(ServeLimits {
        body_idle_timeout: Duration::from_millis(500),
        ..limits(8)
    })
    .await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..10 {
        // Pacing the upload (not waiting for an outcome): 10 pauses well under the limit that
        // add up to twice it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream.write_all(b"x").await.unwrap();
    }
    let got = read_until(&mut stream, "\r\n\r\n10").await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(started.elapsed() > Duration::from_millis(500));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn at_the_cap_the_connection_idle_for_longest_makes_room_and_busy_ones_stay() {
    let mut server = start(ServeLimits {
        header_read_timeout: Duration::from_secs(30),
        ..limits(3)
    })
    .await;
    // The oldest connection, but busy: never shed.
    let mut busy = server.hold().await;
    let mut oldest_idle = server.stalled().await;
    let mut newer_idle = server.stalled().await;

    let mut fresh = server.connect().await;
    fresh
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut fresh, "\r\n\r\nok").await;
    assert_eq!(closed(&mut oldest_idle).await, "");
    assert!(
        quiet(&mut newer_idle).await,
        "the newer idle connection stays"
    );
    server.release.add_permits(1);
    read_until(&mut busy, "\r\n\r\nheld").await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn with_every_connection_busy_a_new_one_waits_for_a_free_slot() {
    let mut server = start(ServeLimits {
        header_read_timeout: Duration::from_secs(30),
        ..limits(2)
    })
    .await;
    let mut first = server.hold().await;
    let _second = server.hold().await;
    let mut waiting = server.connect().await;
    waiting
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(quiet(&mut waiting).await, "served beyond the cap");

    server.release.add_permits(1);
    read_until(&mut first, "\r\n\r\nheld").await;
    // `first` is idle now: it makes room for the waiting connection.
    read_until(&mut waiting, "\r\n\r\nok").await;
    assert_eq!(closed(&mut first).await, "");
    server.release.add_permits(1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_lets_the_request_in_flight_finish() {
    let mut server = start(ServeLimits {
        header_read_timeout: Duration::from_secs(30),
        ..limits(8)
    })
    .await;
    let mut busy = server.hold().await;
    let mut idle = server.connect().await;
    idle.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut idle, "\r\n\r\nok").await;
    let _ = server.stop.take().unwrap().send(());

    assert_eq!(closed(&mut idle).await, "");
    server.release.add_permits(1);
    let got = closed(&mut busy).await;
    assert!(got.ends_with("\r\n\r\nheld"), "{got:?}");
    let served = tokio::time::timeout(WAIT, server.task).await;
    served.expect("serve returned").unwrap().unwrap();
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let server = start(limits(8)).await;
    let mut stream = server.connect().await;
    let local = stream.local_addr().unwrap().to_string();
    stream
        .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut stream, &local).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn request_bodies_keep_their_size_hint() {
    let server = start(limits(8)).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"POST /hint HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut stream, "hint=Some(0)").await;
    stream
        .write_all(b"POST /hint HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    read_until(&mut stream, "hint=Some(3)").await;
    server.stop().await.unwrap();
}
