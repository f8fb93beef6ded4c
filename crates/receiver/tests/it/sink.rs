//! The webhook sink: an axum server on 127.0.0.1 that records every request with the status it
//! answered; scripted answers (500s, 429 with Retry-After), a held answer, and can go down (connection
//! refused) and come back on the same port.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::helpers::WAIT;

/// One request the sink received.
#[derive(Debug)]
pub(crate) struct Received {
    /// Request headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub raw: Bytes,
    /// JSON body.
    pub body: Value,
    /// The status the sink answered.
    pub status: u16,
}

impl Received {
    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `message.text`.
    pub(crate) fn text(&self) -> Option<&str> {
        self.body["message"]["text"].as_str()
    }

    /// The `webhook-id` header.
    pub(crate) fn webhook_id(&self) -> &str {
        self.header("webhook-id").unwrap_or_default()
    }

    /// Whether the sink answered 2xx (the update counts as delivered).
    pub(crate) fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A scripted answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reply {
    /// Status code.
    pub status: u16,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
}

#[derive(Clone)]
struct SinkState {
    tx: mpsc::UnboundedSender<Received>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    /// How long the next request is held (after it is recorded) before it is answered.
    hold_next: Arc<Mutex<Option<Duration>>>,
}

/// A webhook sink on 127.0.0.1 that records every request and answers 200, or the scripted
/// replies first.
pub(crate) struct Sink {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: url::Url,
    addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Received>,
    state: SinkState,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some((_, task)) = self.server.take() {
            task.abort();
        }
    }
}

async fn serve(
    addr: SocketAddr,
    state: SinkState,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let router = Router::new().route("/hook", post(hook)).with_state(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind sink");
    let addr = listener.local_addr().expect("sink addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    (addr, stop, task)
}

impl Sink {
    /// Starts the sink, answering 200.
    pub(crate) async fn start() -> Sink {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = SinkState {
            tx,
            replies: Arc::default(),
            hold_next: Arc::default(),
        };
        let (addr, stop, task) = serve(SocketAddr::from(([127, 0, 0, 1], 0)), state.clone()).await;
        Sink {
            url: format!("http://{addr}/hook").parse().expect("sink url"),
            addr,
            rx,
            state,
            server: Some((stop, task)),
        }
    }

    /// Closes the port: requests fail with "connection refused" until [`Sink::up`].
    pub(crate) async fn down(&mut self) {
        if let Some((stop, task)) = self.server.take() {
            let _ = stop.send(());
            tokio::time::timeout(WAIT, task)
                .await
                .expect("sink stopped in time")
                .expect("sink task");
        }
    }

    /// Listens again on the same port.
    pub(crate) async fn up(&mut self) {
        let (_, stop, task) = serve(self.addr, self.state.clone()).await;
        self.server = Some((stop, task));
    }

    /// Answers the next requests with `statuses` (then 200 again).
    pub(crate) fn respond_next(&self, statuses: &[u16]) {
        self.script(statuses.iter().map(|&status| Reply {
            status,
            retry_after: None,
        }));
    }

    /// Answers the next requests with `replies` (then 200 again).
    pub(crate) fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .replies
            .lock()
            .expect("replies lock")
            .extend(replies);
    }

    /// Holds the next request for `hold` after recording it (so [`Sink::next`] returns while
    /// the receiver still waits for the answer), then answers it as usual.
    pub(crate) fn hold_next(&self, hold: Duration) {
        *self.state.hold_next.lock().expect("hold lock") = Some(hold);
    }

    /// Forgets the scripted replies not used yet (200 from now on).
    pub(crate) fn clear_script(&self) {
        self.state.replies.lock().expect("replies lock").clear();
    }

    /// The next request, within [`WAIT`].
    pub(crate) async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("the sink got no request in time")
            .expect("sink closed")
    }

    /// The next request within `wait`, if any.
    pub(crate) async fn try_next(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Skips requests until the one whose text is `text` (within [`WAIT`] each); returns the
    /// skipped ones.
    pub(crate) async fn skip_until(&mut self, text: &str) -> Vec<Received> {
        self.skip_until_where(|body| body["message"]["text"].as_str() == Some(text))
            .await
    }

    /// Skips requests until the one whose JSON body satisfies `found` (within [`WAIT`] each);
    /// returns the skipped ones.
    pub(crate) async fn skip_until_where(
        &mut self,
        found: impl Fn(&Value) -> bool,
    ) -> Vec<Received> {
        let mut skipped = Vec::new();
        loop {
            let got = self.next().await;
            if found(&got.body) {
                return skipped;
            }
            skipped.push(got);
        }
    }
}

async fn hook(State(state): State<SinkState>, headers: HeaderMap, raw: Bytes) -> Response {
    let reply = state
        .replies
        .lock()
        .expect("replies lock")
        .pop_front()
        .unwrap_or(Reply {
            status: 200,
            retry_after: None,
        });
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let hold = state.hold_next.lock().expect("hold lock").take();
    let _ = state.tx.send(Received {
        headers,
        raw,
        body,
        status: reply.status,
    });
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let status = StatusCode::from_u16(reply.status).expect("status");
    let mut response = status.into_response();
    if let Some(seconds) = reply.retry_after {
        response.headers_mut().insert(
            "retry-after",
            HeaderValue::from_str(&seconds.to_string()).expect("header"),
        );
    }
    response
}
