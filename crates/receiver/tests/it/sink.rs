//! The webhook sink: an axum server on 127.0.0.1:0 that records every request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::helpers::WAIT;

/// One request the sink received.
#[derive(Debug)]
pub struct Received {
    /// Request headers.
    pub headers: HeaderMap,
    /// JSON body.
    pub body: Value,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `message.text`.
    pub fn text(&self) -> Option<&str> {
        self.body["message"]["text"].as_str()
    }
}

#[derive(Clone)]
struct SinkState {
    tx: mpsc::UnboundedSender<Received>,
    statuses: Arc<Mutex<VecDeque<StatusCode>>>,
}

/// A webhook sink on 127.0.0.1:0 that records every request and answers 200, or the
/// scripted statuses first.
pub struct Sink {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: url::Url,
    rx: mpsc::UnboundedReceiver<Received>,
    statuses: Arc<Mutex<VecDeque<StatusCode>>>,
    server: JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sink {
    /// Starts the sink, answering 200.
    pub async fn start() -> Sink {
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let state = SinkState {
            tx,
            statuses: statuses.clone(),
        };
        let router = Router::new().route("/hook", post(hook)).with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let url = format!("http://{addr}/hook").parse().expect("sink url");
        Sink {
            url,
            rx,
            statuses,
            server,
        }
    }

    /// Answers the next requests with `statuses` (then 200 again).
    pub fn respond_next(&self, statuses: &[u16]) {
        self.statuses.lock().expect("statuses lock").extend(
            statuses
                .iter()
                .map(|s| StatusCode::from_u16(*s).expect("status")),
        );
    }

    /// The next request, within [`WAIT`].
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("the sink got no request in time")
            .expect("sink closed")
    }

    /// The next request within `wait`, if any.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Skips requests until the one whose text is `text` (within [`WAIT`] each).
    pub async fn skip_until(&mut self, text: &str) {
        while self.next().await.text() != Some(text) {}
    }
}

async fn hook(
    State(state): State<SinkState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let status = state
        .statuses
        .lock()
        .expect("statuses lock")
        .pop_front()
        .unwrap_or(StatusCode::OK);
    let _ = state.tx.send(Received { headers, body });
    status
}
