//! The measured phases: sender load, receiver load, media throughput and RSS. Each appends
//! rows to the report; none asserts anything.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::media;
use crate::procs::{Proc, Procs};
use crate::receiver_load::{self, Injection};
use crate::report::{Row, dur_ms, mib, rate};
use crate::rss::RssSampler;
use crate::sender_load::{self, Request, Target};
use crate::sink::Sink;
use crate::stack::{Dc, Started};

/// Concurrent HTTP clients of each sender load point.
pub(crate) const CLIENTS: [usize; 3] = [1, 16, 64];
/// Size of the photo uploaded by `sendPhoto` (the fixture padded after its JPEG end marker).
pub(crate) const PHOTO_BYTES: usize = 100 * 1024;

/// Knobs shared by every phase.
pub(crate) struct Plan {
    /// Measured time per sender load point and for the receiver's saturation probe.
    pub duration: Duration,
    /// Time of each sustained receiver run (1,000/s and 5,000/s).
    pub sustain: Duration,
    /// Unrecorded time before each sender load point.
    pub warmup: Duration,
    /// Size of the media file, bytes.
    pub media_bytes: usize,
    /// Fixtures directory (photo.jpg, voice.ogg).
    pub fixtures: std::path::PathBuf,
}

/// The running processes and the sink.
pub(crate) struct Env<'a> {
    /// testdc and its ids.
    pub dc: &'a Dc,
    /// The receiver.
    pub receiver: &'a Started,
    /// The sender.
    pub sender: &'a Started,
    /// The webhook sink.
    pub sink: &'a Sink,
    /// RSS sampler over all three processes.
    pub rss: &'a RssSampler,
}

impl Env<'_> {
    fn procs(&self) -> Procs<'_> {
        Procs {
            testdc: &self.dc.proc,
            receiver: Some(&self.receiver.proc),
            sender: Some(&self.sender.proc),
        }
    }

    pub(crate) fn target(&self) -> Target {
        Target {
            base: self.sender.base.clone(),
            key: crate::stack::API_KEY.to_owned(),
            chat_id: self.dc.alice,
            key_in_path: false,
        }
    }

    /// Rows with the peak RSS of both binaries since the sampler's last reset.
    pub(crate) fn rss_rows(&self, phase: &str, limit_mib: u64, rows: &mut Vec<Row>) {
        for proc in [&self.receiver.proc, &self.sender.proc] {
            let peak = self.rss.peak(proc.pid);
            rows.push(
                Row::new(format!("RSS {} {phase} (peak)", proc.name), mib(peak))
                    .target(format!("≤ {limit_mib} MiB"), peak <= limit_mib << 20),
            );
        }
    }
}

/// sendMessage, sendPhoto (upload) and sendVoice (file_id) at 1, 16 and 64 clients.
pub(crate) async fn sender(env: &Env<'_>, plan: &Plan, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let target = env.target();
    let http = reqwest::Client::new();
    let mut photo = std::fs::read(plan.fixtures.join("photo.jpg"))?;
    photo.resize(PHOTO_BYTES.max(photo.len()), 0);
    let message = Request::Json {
        method: "sendMessage",
        body: json!({"chat_id": target.chat_id, "text": "bench"}),
    };
    sender_points(env, plan, "sendMessage", &message, rows).await;
    let photo = Request::Upload {
        method: "sendPhoto",
        field: "photo",
        file_name: "photo.jpg",
        bytes: Arc::new(photo),
    };
    sender_points(env, plan, "sendPhoto upload 100 KB", &photo, rows).await;
    // Uploaded just before it is reused: testdc may run with a per-chat history limit, and
    // forgets a file with the last kept message that shows it.
    let voice = std::fs::read(plan.fixtures.join("voice.ogg"))?;
    let first = Request::Upload {
        method: "sendVoice",
        field: "voice",
        file_name: "voice.ogg",
        bytes: Arc::new(voice),
    };
    let sent = target.send(&http, &first).await?;
    let file_id = sent["result"]["voice"]["file_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sendVoice answered no voice.file_id: {sent}"))?
        .to_owned();
    let voice = Request::Json {
        method: "sendVoice",
        body: json!({"chat_id": target.chat_id, "voice": file_id}),
    };
    sender_points(env, plan, "sendVoice file_id", &voice, rows).await;
    Ok(())
}

/// One request kind at each of [`CLIENTS`].
async fn sender_points(env: &Env<'_>, plan: &Plan, name: &str, req: &Request, rows: &mut Vec<Row>) {
    let target = env.target();
    for clients in CLIENTS {
        env.rss.reset_point();
        let mark = env.procs().mark();
        let r = sender_load::run(&target, req, clients, plan.warmup, plan.duration).await;
        let cpu = env.procs().since(&mark);
        let mut row = Row::new(
            format!("sender {name}, {clients} clients"),
            format!(
                "{} req/s, RSS {}",
                rate(r.per_s),
                mib(env.rss.point_peak(env.sender.proc.pid))
            ),
        )
        .latency(&r.latency)
        .cpu(&cpu)
        .errors(r.errors, "errors");
        if name == "sendMessage" && clients == 64 {
            let p99 = r.latency.value_at_quantile(0.99);
            let met = r.per_s >= 5000.0 && p99 <= 25_000 && !r.latency.is_empty();
            row = row.target("≥ 5,000 req/s, p99 ≤ 25 ms", met);
        }
        if let Some(e) = r.first_error {
            eprintln!("bench: {name} x{clients}: first error: {e}");
        }
        rows.push(row);
    }
}

/// Receive load over [`CHATS`] private chats: 1,000/s and 5,000/s sustained, then as fast as
/// the injectors go; and as fast as they go into one chat (whose updates are delivered one
/// after another, so that row is the per-chat ceiling).
pub(crate) async fn receiver(
    env: &Env<'_>,
    plan: &Plan,
    label: &str,
    run: &mut u64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let many = users(env, CHATS).await?;
    let one: Arc<[i64]> = Arc::new([env.dc.bob]);
    let points = [
        (Some(1000.0), 8, plan.sustain, many.clone()),
        (Some(5000.0), 32, plan.sustain, many.clone()),
        (None, 64, plan.duration, many),
        (None, 64, plan.duration, one),
    ];
    for (rate_per_s, injectors, duration, users) in points {
        *run += 1;
        let chats = users.len();
        let inj = Injection {
            control: env.dc.control.clone(),
            users,
            accounts: Arc::new([]),
            rate: rate_per_s,
            injectors,
            duration,
            run: *run,
        };
        env.rss.reset_point();
        let mark = env.procs().mark();
        let o = receiver_load::run(env.sink, &inj).await;
        let cpu = env.procs().since(&mark);
        let offered = match rate_per_s {
            Some(r) => format!("{} /s offered", rate(r)),
            None => format!("max ({injectors} injectors)"),
        };
        let chats = match chats {
            1 => "1 chat".to_owned(),
            n => format!("{n} chats"),
        };
        let mut row = Row::new(
            format!("receiver{label} {offered}, {chats}, {}", secs(duration)),
            format!(
                "{} upd/s delivered ({} /s injected), RSS {}",
                rate(o.delivered_per_s),
                rate(o.injected_per_s),
                mib(env.rss.point_peak(env.receiver.proc.pid))
            ),
        )
        .latency(&o.latency)
        .cpu(&cpu)
        // With the durable outbox nothing is dropped: what misses the window arrives later.
        .errors(o.injected.saturating_sub(o.delivered) + o.errors, "late");
        let p99 = o.latency.value_at_quantile(0.99);
        row = match rate_per_s {
            Some(r) if r <= 1000.0 => row.target("p99 ≤ 10 ms", p99 <= 10_000 && o.delivered > 0),
            Some(_) => row.target("≥ 5,000 upd/s sustained", o.delivered_per_s >= 4950.0),
            None => row,
        };
        rows.push(row);
        // The durable outbox keeps what the sink has not taken yet: let it drain so the next
        // point (and the media phase, which shares a chat) starts from an empty queue.
        drain_outbox(env).await;
    }
    Ok(())
}

/// How many private chats the receive load is spread over: a busy account hears from many
/// chats at once, and the receiver delivers each chat in order but chats in parallel.
const CHATS: usize = 100;

/// Adds `n` users to testdc (`POST /users`); their ids.
pub(crate) async fn users(env: &Env<'_>, n: usize) -> anyhow::Result<Arc<[i64]>> {
    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let reply: serde_json::Value = http
            .post(format!("{}/users", env.dc.control))
            .json(&serde_json::json!({"first_name": format!("Bench {i}")}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = reply["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("testdc /users answered {reply}"))?;
        ids.push(id);
    }
    Ok(ids.into())
}

/// Waits (up to 5 minutes) until the receiver's `/status` reports nothing pending.
async fn drain_outbox(env: &Env<'_>) {
    let url = format!("{}/status", env.receiver.base);
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        let pending = match http.get(&url).send().await {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["pending"].as_u64()),
            Err(_) => None,
        };
        if pending == Some(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("bench: the receiver's outbox did not drain within 5 minutes");
}

/// 50 MB up through the sender, down through the receiver, and the AES-IGE bound.
pub(crate) async fn media(env: &Env<'_>, plan: &Plan, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let data = media::payload(plan.media_bytes);
    let len = data.len();
    let path = env.dc.dir.path().join("bench.bin");
    std::fs::write(&path, &data)?;
    let bound = media::mb_per_s(len, media::aes_ige_bound(&data));
    let size = format!("{:.0} MB", len as f64 / 1e6);
    rows.push(Row::new(
        format!("AES-256-IGE encrypt, one core, {size}"),
        format!("{bound:.0} MB/s"),
    ));
    let mark = env.procs().mark();
    let up = media::upload(&env.target(), &data).await?;
    let cpu = env.procs().since(&mark);
    let mbps = media::mb_per_s(len, up);
    rows.push(
        Row::new(
            format!("media upload (sendDocument) {size}"),
            format!(
                "{mbps:.0} MB/s ({:.0} %), {}",
                mbps / bound * 100.0,
                dur_ms(up)
            ),
        )
        .target("≥ 70 % of AES-IGE", mbps >= 0.7 * bound)
        .cpu(&cpu),
    );
    // The part of that time spent before the first file part: the HTTP body into the
    // sender's temporary file (the same request, refused after the body is stored).
    let mark = env.procs().mark();
    let body = media::body_only(&env.target(), &data).await?;
    let cpu = env.procs().since(&mark);
    // Two separate requests: when the refused one took as long as the whole upload (disk
    // cache, scheduling), the difference means nothing and is not printed as a rate.
    let rest = if body < up {
        let mtproto = up - body;
        let mtproto_mbps = media::mb_per_s(len, mtproto);
        format!(
            "the rest (parts to Telegram + sendMedia) {mtproto_mbps:.0} MB/s ({:.0} %), {}",
            mtproto_mbps / bound * 100.0,
            dur_ms(mtproto)
        )
    } else {
        "not separable: this request took at least as long as the whole upload".to_owned()
    };
    rows.push(
        Row::new(
            format!("  of which HTTP body → temporary file {size}"),
            format!("{}; {rest}", dur_ms(body)),
        )
        .cpu(&cpu),
    );
    let mark = env.procs().mark();
    let timeout = Duration::from_secs(120);
    let down = media::download(env.sink, &env.dc.control, env.dc.bob, &path, timeout).await?;
    let cpu = env.procs().since(&mark);
    let mbps = media::mb_per_s(len, down);
    rows.push(
        Row::new(
            format!("media download (receiver) {size}"),
            format!(
                "{mbps:.0} MB/s ({:.0} %), {}",
                mbps / bound * 100.0,
                dur_ms(down)
            ),
        )
        .target("≥ 70 % of AES-IGE", mbps >= 0.7 * bound)
        .cpu(&cpu),
    );
    Ok(())
}

/// Start-up rows for one binary.
pub(crate) fn startup_rows(s: &Started, rows: &mut Vec<Row>) {
    let st = s.startup;
    rows.push(Row::new(
        format!("{} start → ready (/healthz 200)", s.proc.name),
        dur_ms(st.ready),
    ));
    let row = match (st.connected, st.after_connect()) {
        (Some(c), Some(after)) => Row::new(
            format!("{} MTProto up → ready", s.proc.name),
            format!("{} (connected at {})", dur_ms(after), dur_ms(c)),
        )
        .target("≤ 300 ms", after <= Duration::from_millis(300)),
        _ => Row::new(
            format!("{} MTProto up → ready", s.proc.name),
            "no \"connected\" log line",
        ),
    };
    rows.push(row);
}

/// Idle RSS: wait, then read the peaks.
pub(crate) async fn idle(env: &Env<'_>, wait: Duration, rows: &mut Vec<Row>) {
    env.rss.reset();
    tokio::time::sleep(wait).await;
    env.rss_rows("idle", 20, rows);
}

/// Kills a process, ignoring errors (the end of the run).
pub(crate) async fn stop(proc: Proc) {
    proc.stop().await;
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
