//! Closed-loop HTTP load on the sender: N concurrent clients (one keep-alive connection each)
//! repeat one request for a fixed time, to one target or spread round-robin over several
//! (accounts); every latency goes into an HDR histogram.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::Value;

use crate::sink::histogram;

/// The request each client repeats.
#[derive(Clone)]
pub(crate) enum Request {
    /// `POST /api_v1/sendMessage` with this JSON body.
    Json {
        /// Method name, e.g. `sendMessage`.
        method: &'static str,
        body: Value,
    },
    /// `POST /api_v1/<method>` as multipart: `chat_id` plus one file part.
    Upload {
        /// Method name, e.g. `sendPhoto`.
        method: &'static str,
        /// Part name, e.g. `photo`.
        field: &'static str,
        /// File name sent with the part.
        file_name: &'static str,
        bytes: Arc<Vec<u8>>,
    },
}

/// Result of one load point.
pub(crate) struct LoadResult {
    /// Successful requests per second over the measured window.
    pub per_s: f64,
    /// Latency of successful requests, µs.
    pub latency: Histogram<u64>,
    /// Non-200 answers and transport errors.
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
}

/// The sender's base URL, API key and target chat.
#[derive(Clone)]
pub(crate) struct Target {
    /// e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// `X_API_TOKEN`, or an account's token `<user_id>:<secret>`.
    pub key: String,
    /// Bot API chat id every message goes to.
    pub chat_id: i64,
    /// Send the key in the path, `/bot<key>/<method>` (as Bot API libraries do), instead of
    /// `x-api-key` on `/api_v1/<method>`.
    pub key_in_path: bool,
}

impl Target {
    /// `POST` of `method` with the key where [`Target::key_in_path`] says.
    fn post(&self, http: &reqwest::Client, method: &str) -> reqwest::RequestBuilder {
        if self.key_in_path {
            http.post(format!("{}/bot{}/{method}", self.base, self.key))
        } else {
            http.post(format!("{}/api_v1/{method}", self.base))
                .header("x-api-key", &self.key)
        }
    }

    /// Sends `req` once; `Ok(body)` on 200 with `"ok": true`.
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        req: &Request,
    ) -> anyhow::Result<Value> {
        let builder = match req {
            Request::Json { method, body } => self.post(http, method).json(body),
            Request::Upload {
                method,
                field,
                file_name,
                bytes,
            } => {
                let part =
                    reqwest::multipart::Part::bytes(bytes.as_ref().clone()).file_name(*file_name);
                let form = reqwest::multipart::Form::new()
                    .text("chat_id", self.chat_id.to_string())
                    .part(*field, part);
                self.post(http, method).multipart(form)
            }
        };
        let response = builder.send().await?;
        let status = response.status();
        let body: Value = response.json().await.context("answer is not JSON")?;
        if status.is_success() && body["ok"] == Value::Bool(true) {
            Ok(body)
        } else {
            anyhow::bail!("{status}: {body}")
        }
    }
}

/// Runs `clients` concurrent loops of `req` for `warmup` (not recorded) plus `duration`.
pub(crate) async fn run(
    target: &Target,
    req: &Request,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> LoadResult {
    run_spread(std::slice::from_ref(target), req, clients, warmup, duration).await
}

/// [`run`] over several targets: request `j` of client `i` goes to target
/// `(i + j * clients) % targets.len()`, so every target gets an even share at any moment.
/// `targets` must not be empty.
pub(crate) async fn run_spread(
    targets: &[Target],
    req: &Request,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> LoadResult {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let targets: Arc<[Target]> = targets.into();
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let (targets, req) = (targets.clone(), req.clone());
        tasks.push(tokio::spawn(async move {
            // One client per loop: its own keep-alive connection, like a separate caller.
            let http = reqwest::Client::new();
            let mut hist = histogram();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            for j in 0usize.. {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let target = &targets[(i + j * clients) % targets.len()];
                let result = target.send(&http, &req).await;
                let measured = t0 >= start;
                match result {
                    Ok(_) if measured => {
                        let _ = hist.record((t0.elapsed().as_micros() as u64).max(1));
                        ok += 1;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        errors += u64::from(measured);
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (hist, ok, errors, first_error)
        }));
    }
    let mut latency = histogram();
    let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
    for task in tasks {
        if let Ok((hist, n, e, first)) = task.await {
            let _ = latency.add(&hist);
            ok += n;
            errors += e;
            first_error = first_error.or(first);
        }
    }
    LoadResult {
        per_s: ok as f64 / duration.as_secs_f64(),
        latency,
        errors,
        first_error,
    }
}
