//! Media throughput: one large file uploaded through the sender (`sendDocument`, multipart)
//! and downloaded by the receiver (a user sends it via testdc's `POST /send_media`; timed until
//! the sink gets the payload with its media URL), next to the single-stream AES-256-IGE bound
//! measured in-process on the same bytes.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::sender_load::Target;
use crate::sink::{Sink, now_micros};

/// Deterministic incompressible-looking bytes (xorshift64), a multiple of 16 long.
pub(crate) fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len - len % 16);
    out
}

/// MB/s (10^6 bytes per second) of `bytes` over `d`.
pub(crate) fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

/// Time to encrypt `data` with `grammers_crypto::aes::ige_encrypt` on one core (best of 3).
pub(crate) fn aes_ige_bound(data: &[u8]) -> Duration {
    let key = [7u8; 32];
    let iv = [9u8; 32];
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let mut buf = data.to_vec();
        let t0 = Instant::now();
        grammers_crypto::aes::ige_encrypt(&mut buf, &key, &iv);
        best = best.min(t0.elapsed());
        std::hint::black_box(&buf);
    }
    best
}

/// Uploads `data` as a document through the sender to `chat_id`; the time from request to
/// answer and the answer's status and body. The multipart body owns its own copy of `data`,
/// made before the clock starts (the copy is the bench's cost, not the sender's).
async fn post_document(
    target: &Target,
    chat_id: i64,
    data: &[u8],
) -> anyhow::Result<(Duration, reqwest::StatusCode, Value)> {
    let http = reqwest::Client::new();
    let part = reqwest::multipart::Part::bytes(data.to_vec()).file_name("bench.bin");
    let form = reqwest::multipart::Form::new()
        .text("chat_id", chat_id.to_string())
        .part("document", part);
    let request = http
        .post(format!("{}/api_v1/sendDocument", target.base))
        .header("x-api-key", &target.key)
        .multipart(form);
    let t0 = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.context("answer is not JSON")?;
    Ok((t0.elapsed(), status, body))
}

/// Uploads `data` as a document through the sender; the time from request to answer.
pub(crate) async fn upload(target: &Target, data: &[u8]) -> anyhow::Result<Duration> {
    let (took, status, body) = post_document(target, target.chat_id, data).await?;
    anyhow::ensure!(
        status.is_success() && body["ok"] == Value::Bool(true),
        "sendDocument failed: {status}: {body}"
    );
    Ok(took)
}

/// The same request to a chat that does not exist: the sender stores the whole body in its
/// temporary file, then answers 400 "chat not found" without uploading anything. Its time is
/// the HTTP part of [`upload`] (request body → temporary file), which precedes the first part
/// sent to Telegram.
pub(crate) async fn body_only(target: &Target, data: &[u8]) -> anyhow::Result<Duration> {
    let (took, status, body) = post_document(target, UNKNOWN_CHAT, data).await?;
    anyhow::ensure!(
        status == reqwest::StatusCode::BAD_REQUEST,
        "sendDocument to an unknown chat answered {status}: {body}"
    );
    Ok(took)
}

/// A Bot API chat id no testdc fixture has.
const UNKNOWN_CHAT: i64 = 987_654_321_987;

/// Has `user_id` send the file at `path` as a document and waits for its payload with a media
/// URL; the time from the control request to the payload's arrival.
pub(crate) async fn download(
    sink: &Sink,
    control: &str,
    user_id: i64,
    path: &Path,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let mut media = sink.media();
    media.borrow_and_update();
    let sent = now_micros();
    let body = json!({
        "from": user_id, "chat_id": user_id, "kind": "document",
        "path": path, "caption": format!("media {sent}"),
        "file_name": "bench.bin", "mime_type": "application/octet-stream",
    });
    let response = reqwest::Client::new()
        .post(format!("{control}/send_media"))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "send_media answered {}: {}",
        response.status(),
        response.text().await.unwrap_or_default()
    );
    let arrived = tokio::time::timeout(timeout, async {
        loop {
            media.changed().await?;
            if let Some((injected, arrived)) = *media.borrow_and_update()
                && injected == sent
            {
                return anyhow::Ok(arrived);
            }
        }
    })
    .await
    .context("the media payload did not arrive in time")??;
    Ok(Duration::from_micros(arrived.saturating_sub(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_block_aligned_and_not_constant() {
        let p = payload(1000);
        assert_eq!(p.len() % 16, 0);
        assert_ne!(p[0..8], p[8..16]);
    }
}
