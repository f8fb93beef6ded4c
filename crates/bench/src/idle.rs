//! Latency of one message at idle, injection → consumer: one message at a time with a pause
//! between them, to the bench's own sink (axum) and to a plain Python `http.server` consumer
//! (`python/consumer.py`, standard library only, as users' consumers are written) speaking
//! HTTP/1.0 (a connection per request, http.server's default) or HTTP/1.1 (kept alive).

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::procs::free_addr;
use crate::report::Row;
use crate::sink::{Sink, histogram, now_micros};
use crate::stack::{self, Dc};

/// The consumer script, run with `python3 -c`.
const CONSUMER: &str = include_str!("../python/consumer.py");
/// Pause between two messages: long enough for every connection to go quiet.
const GAP: Duration = Duration::from_millis(100);
/// Longest wait for one message.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Injects `text` as a message from Bob through testdc's control API.
async fn inject(http: &reqwest::Client, dc: &Dc, text: String) -> anyhow::Result<()> {
    let body = json!({"from": dc.bob, "chat_id": dc.bob, "text": text});
    http.post(format!("{}/send", dc.control))
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// `n` messages one at a time to the bench's sink (through the running receiver).
pub(crate) async fn rust_sink(dc: &Dc, sink: &Sink, run: u64, n: usize) -> anyhow::Result<Row> {
    let http = reqwest::Client::new();
    sink.begin(run);
    for i in 0..n {
        tokio::time::sleep(GAP).await;
        inject(&http, dc, format!("bench {run} {}", now_micros())).await?;
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while sink.count() <= i as u64 {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "idle message {i} did not reach the sink"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    let latency = sink.take().latency;
    Ok(row("Rust sink (axum, keep-alive)", n, &latency))
}

/// `n` messages one at a time to a Python `http.server` consumer speaking `protocol`
/// (`http/1.0` or `http/1.1`), through a receiver started for it (the one sharing the sink
/// must be stopped: one receiver per session). `None` when `python3` cannot be run.
pub(crate) async fn python(
    bins: &std::path::Path,
    dc: &Dc,
    protocol: &str,
    n: usize,
) -> anyhow::Result<Option<Row>> {
    let addr = free_addr()?;
    let spawned = Command::new("python3")
        .args(["-c", CONSUMER, &addr.port().to_string(), protocol])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut consumer) = spawned else {
        eprintln!("bench: python3 not found; the Python consumer rows are skipped");
        return Ok(None);
    };
    let stdout = consumer.stdout.take().context("stdout not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let http = reqwest::Client::new();
    let hook = format!("http://{addr}/hook");
    let receiver = stack::start_receiver(bins, dc, &http, &hook, 50 << 20, &[]).await?;
    let mut latency = histogram();
    // Message 0 is not recorded: it meets the new receiver's first connection to the consumer
    // and its catching up with the updates of the run before.
    for i in 0..=n {
        tokio::time::sleep(GAP).await;
        let sent = now_micros();
        inject(&http, dc, format!("idle {sent}")).await?;
        let arrived = tokio::time::timeout(TIMEOUT, async {
            loop {
                let line = lines
                    .next_line()
                    .await?
                    .context("the Python consumer exited")?;
                // Delivery is at least once: a receiver started on the outbox of one that was
                // killed may deliver that one's last message again. Skip such repeats.
                if let Some(arrived) = parse(&line, sent)? {
                    return anyhow::Ok(arrived);
                }
            }
        })
        .await
        .with_context(|| format!("idle message {i} did not reach the Python consumer"))??;
        if i > 0 {
            let _ = latency.record(arrived.saturating_sub(sent).max(1));
        }
    }
    receiver.proc.stop().await;
    let _ = consumer.kill().await;
    let what = format!("Python http.server, {}", protocol.to_uppercase());
    Ok(Some(row(&what, n, &latency)))
}

/// `<sent> <arrived>` from the consumer: the arrival time of the message sent at `sent`, or
/// `None` for an earlier message delivered again. Errors on a line of another shape.
fn parse(line: &str, sent: u64) -> anyhow::Result<Option<u64>> {
    let mut words = line.split(' ').map(str::parse::<u64>);
    match (words.next(), words.next()) {
        (Some(Ok(s)), Some(Ok(arrived))) if s == sent => Ok(Some(arrived)),
        (Some(Ok(s)), Some(Ok(_))) if s < sent => Ok(None),
        _ => anyhow::bail!("unexpected consumer line {line:?} (waiting for {sent})"),
    }
}

fn row(consumer: &str, n: usize, latency: &Histogram<u64>) -> Row {
    let row = Row::new(
        format!("idle, one message at a time → {consumer}"),
        format!("{n} messages, {} ms apart", GAP.as_millis()),
    )
    .latency(latency);
    if consumer.starts_with("Python") {
        let p50 = latency.value_at_quantile(0.5);
        row.target("≤ 5 ms", p50 <= 5_000 && !latency.is_empty())
    } else {
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_lines_are_matched_to_their_message() {
        assert_eq!(parse("17 25", 17).unwrap(), Some(25));
        assert_eq!(parse("16 25", 17).unwrap(), None);
        assert!(parse("18 25", 17).is_err());
        assert!(parse("garbage", 17).is_err());
    }
}
