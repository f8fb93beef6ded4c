//! Receive-side load: concurrent injectors post `POST /send` to testdc's control API (users
//! write to the account, or to several hosted accounts, each in their private chat,
//! round-robin), paced to a rate or as fast as possible; the sink times each payload from
//! injection to arrival.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use crate::sink::{Sink, now_micros};

/// How long the bench waits for stragglers once no payload has arrived for this long.
const QUIET: Duration = Duration::from_secs(3);
/// Longest wait for the receiver to drain its backlog after injection ends.
const MAX_DRAIN: Duration = Duration::from_secs(60);

/// One injection run's parameters.
pub(crate) struct Injection {
    /// testdc's control API base, e.g. `http://127.0.0.1:9445`.
    pub control: String,
    /// The simulated users (each their own private chat) the messages come from, in turn.
    pub users: Arc<[i64]>,
    /// The hosted accounts (testdc's `account`, a user id) the messages go to, in turn; empty
    /// for testdc's default account. Message `n` goes from `users[n % users.len()]` to
    /// `accounts[n % accounts.len()]`.
    pub accounts: Arc<[i64]>,
    /// Updates per second to offer; `None` for as fast as the injectors go.
    pub rate: Option<f64>,
    /// Concurrent injectors.
    pub injectors: usize,
    /// How long to inject.
    pub duration: Duration,
    /// Run id embedded in the text so the sink ignores other runs' payloads.
    pub run: u64,
}

/// What one run measured.
pub(crate) struct Outcome {
    /// Messages testdc accepted.
    pub injected: u64,
    /// Messages testdc accepted per second of injection.
    pub injected_per_s: f64,
    /// Payloads that reached the sink.
    pub delivered: u64,
    /// Payloads per second, from the start of injection to the last arrival.
    pub delivered_per_s: f64,
    /// End-to-end latency, µs.
    pub latency: Histogram<u64>,
    /// Control API errors.
    pub errors: u64,
}

/// Injects, waits for the sink to drain, and reports.
pub(crate) async fn run(sink: &Sink, inj: &Injection) -> Outcome {
    sink.begin(inj.run);
    let http = reqwest::Client::new();
    let started_us = now_micros();
    let start = Instant::now();
    let end = start + inj.duration;
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..inj.injectors {
        let (http, sent, errors) = (http.clone(), sent.clone(), errors.clone());
        let url = format!("{}/send", inj.control);
        let (users, accounts) = (inj.users.clone(), inj.accounts.clone());
        let (run, rate, k) = (inj.run, inj.rate, inj.injectors);
        tasks.push(tokio::spawn(async move {
            for j in 0u64.. {
                if let Some(rate) = rate {
                    let due =
                        start + Duration::from_secs_f64((j * k as u64 + i as u64) as f64 / rate);
                    if due >= end {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                } else if Instant::now() >= end {
                    break;
                }
                let n = j as usize * k + i;
                let user = users[n % users.len()];
                let text = format!("bench {run} {}", now_micros());
                let mut body = json!({"from": user, "chat_id": user, "text": text});
                if !accounts.is_empty() {
                    body["account"] = json!(accounts[n % accounts.len()]);
                }
                match http.post(&url).json(&body).send().await {
                    Ok(r) if r.status().is_success() => sent.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let inject_s = start.elapsed().as_secs_f64();
    let injected = sent.load(Ordering::Relaxed);
    drain(sink, injected).await;
    let rec = sink.take();
    let delivered = rec.latency.len();
    let span_s = rec.first_last.map_or(inject_s, |(_, last)| {
        last.saturating_sub(started_us) as f64 / 1e6
    });
    Outcome {
        injected,
        injected_per_s: injected as f64 / inject_s,
        delivered,
        delivered_per_s: delivered as f64 / span_s.max(inject_s),
        latency: rec.latency,
        errors: errors.load(Ordering::Relaxed),
    }
}

/// Waits until `expected` payloads arrived, nothing arrived for [`QUIET`], or [`MAX_DRAIN`].
async fn drain(sink: &Sink, expected: u64) {
    let deadline = Instant::now() + MAX_DRAIN;
    let (mut last_count, mut last_change) = (sink.count(), Instant::now());
    while sink.count() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let count = sink.count();
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        } else if last_change.elapsed() > QUIET {
            break;
        }
    }
}
