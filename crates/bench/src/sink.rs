//! The webhook sink inside the bench process: an axum server that accepts the receiver's
//! payloads, parses the injection timestamp the bench put in the text and records the
//! end-to-end latency in an HDR histogram.
//!
//! Text messages carry `bench <run> <unix micros>`; media captions carry `media <unix micros>`.
//! Payloads of another run (a previous phase's stragglers) are counted apart and ignored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::sync::watch;

/// Microseconds since the Unix epoch, the clock shared by injector and sink.
pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A new latency histogram in microseconds (1 µs .. 10 min, 3 significant digits).
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// What the sink has seen in the current run.
pub(crate) struct Recorded {
    /// Latency of each payload of the run, µs.
    pub latency: Histogram<u64>,
    /// Arrival time (unix µs) of the first and the last payload of the run.
    pub first_last: Option<(u64, u64)>,
}

#[derive(Default)]
struct Inner {
    run: AtomicU64,
    count: AtomicU64,
    stale: AtomicU64,
    recorded: Mutex<Option<Recorded>>,
}

/// Handle to the sink; cheap to clone.
#[derive(Clone)]
pub(crate) struct Sink {
    inner: Arc<Inner>,
    media: watch::Sender<Option<(u64, u64)>>,
}

#[derive(Deserialize)]
struct Payload {
    message: PayloadMessage,
}

#[derive(Deserialize)]
struct PayloadMessage {
    text: Option<String>,
    media_url: Option<String>,
}

impl Sink {
    /// Binds `127.0.0.1:0` and serves `POST /hook`; returns the sink and its URL.
    pub(crate) async fn start() -> anyhow::Result<(Self, String)> {
        let sink = Self {
            inner: Arc::default(),
            media: watch::channel(None).0,
        };
        sink.begin(0);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let app = Router::new()
            .route("/hook", post(accept))
            .with_state(sink.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((sink, url))
    }

    /// Starts run `run`: clears the histogram and counters.
    pub(crate) fn begin(&self, run: u64) {
        *self.lock() = Some(Recorded {
            latency: histogram(),
            first_last: None,
        });
        self.inner.count.store(0, Ordering::SeqCst);
        self.inner.stale.store(0, Ordering::SeqCst);
        self.inner.run.store(run, Ordering::SeqCst);
    }

    /// Payloads of the current run so far.
    pub(crate) fn count(&self) -> u64 {
        self.inner.count.load(Ordering::SeqCst)
    }

    /// Takes what the current run recorded.
    pub(crate) fn take(&self) -> Recorded {
        self.lock().take().unwrap_or_else(|| Recorded {
            latency: histogram(),
            first_last: None,
        })
    }

    /// Watches media payloads: `(injected µs, arrived µs)` of the last one with a media URL.
    pub(crate) fn media(&self) -> watch::Receiver<Option<(u64, u64)>> {
        self.media.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Recorded>> {
        self.inner
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Records a payload text that arrived now by another way than the webhook (the NATS
    /// rows: a message on an update subject).
    pub(crate) fn record_text(&self, text: &str) {
        self.record(text, None, now_micros());
    }

    fn record(&self, text: &str, media_url: Option<&str>, now: u64) {
        let mut words = text.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("bench"), Some(run), Some(sent)) => {
                let (Ok(run), Ok(sent)) = (run.parse::<u64>(), sent.parse::<u64>()) else {
                    return;
                };
                if run != self.inner.run.load(Ordering::SeqCst) {
                    self.inner.stale.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                if let Some(rec) = self.lock().as_mut() {
                    let _ = rec.latency.record(now.saturating_sub(sent).max(1));
                    let first = rec.first_last.map_or(now, |(f, _)| f);
                    rec.first_last = Some((first, now));
                }
                self.inner.count.fetch_add(1, Ordering::SeqCst);
            }
            (Some("media"), Some(sent), _) if media_url.is_some() => {
                if let Ok(sent) = sent.parse::<u64>() {
                    self.media.send_replace(Some((sent, now)));
                }
            }
            _ => {}
        }
    }
}

async fn accept(State(sink): State<Sink>, Json(payload): Json<Payload>) -> Json<serde_json::Value> {
    let now = now_micros();
    if let Some(text) = &payload.message.text {
        sink.record(text, payload.message.media_url.as_deref(), now);
    }
    Json(serde_json::json!({"ok": true}))
}
