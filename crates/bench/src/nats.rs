//! Receive load into NATS JetStream: a `nats-server -js` (file store, Debian's package) on a free
//! loopback port, a receiver with `NATS_URL` and no webhook (durable outbox, the default), and
//! the same injections as the webhook rows. The bench subscribes to the update subjects and
//! feeds each message's text to the same recorder the webhook sink uses (latency from
//! injection to the message leaving JetStream); at the end of each point it reads the stream's
//! message count, so "late" counts what injection added but the stream did not store.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;

use crate::phases::{Env, Plan, users};
use crate::procs::{Proc, free_addr};
use crate::receiver_load::{self, Injection};
use crate::report::{Row, mib, rate};
use crate::sink::Sink;
use crate::stack::{self, Dc, Started};

/// The stream the receiver creates (its `NATS_STREAM` default).
const STREAM: &str = "TG_UPDATES";

/// Runs the JetStream points (5,000/s sustained and as fast as 64 injectors go, 100 chats) and
/// appends their rows; a row saying why when `nats-server` is not installed.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    bins: &Path,
    plan: &Plan,
    dc: &Dc,
    sender: &Started,
    sink: &Sink,
    http: &reqwest::Client,
    run: &mut u64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let Some(server) = which("nats-server") else {
        rows.push(Row::new(
            "receiver → JetStream",
            "not run: nats-server is not installed (apt-get install nats-server)",
        ));
        return Ok(());
    };
    let addr = free_addr()?;
    let store = tempfile::tempdir()?;
    let args = [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        &addr.port().to_string(),
        "-sd",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([store.path().display().to_string()])
    .collect::<Vec<_>>();
    let nats = Proc::spawn("nats-server", &server, store.path(), &args, &[], false)?;
    let url = format!("nats://{addr}");
    let client = connect(&url).await?;
    let extra = [
        ("NATS_URL".to_owned(), url),
        // Empty means unset: JetStream instead of the webhook.
        ("WEBHOOK_URL".to_owned(), String::new()),
    ];
    let receiver = stack::start_receiver(bins, dc, http, "", 50 << 20, &extra).await?;
    // Every update message the server routes, recorded as the webhook sink records a POST.
    let mut updates = client.subscribe("tg.*.update.>").await?;
    let feed = {
        let sink = sink.clone();
        tokio::spawn(async move {
            while let Some(message) = updates.next().await {
                if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&message.payload)
                    && let Some(text) = body["message"]["text"].as_str()
                {
                    sink.record_text(text);
                }
            }
        })
    };
    let js = async_nats::jetstream::new(client);
    let rss = crate::rss::RssSampler::default();
    let sampler = rss.start(vec![receiver.proc.pid]);
    let env = Env {
        dc,
        receiver: &receiver,
        sender,
        sink,
        rss: &rss,
    };
    let many = users(&env, 100).await?;
    // What the receiver catches up on at start goes out before the first point.
    wait_stream_quiet(&js).await;
    for (rate_per_s, injectors, duration) in
        [(Some(5000.0), 32, plan.sustain), (None, 64, plan.duration)]
    {
        *run += 1;
        let before = stored(&js).await;
        let inj = Injection {
            control: dc.control.clone(),
            users: many.clone(),
            accounts: std::sync::Arc::new([]),
            rate: rate_per_s,
            injectors,
            duration,
            run: *run,
        };
        rss.reset_point();
        let o = receiver_load::run(sink, &inj).await;
        let in_stream = stored(&js).await.saturating_sub(before);
        let offered = match rate_per_s {
            Some(r) => format!("{} /s offered", rate(r)),
            None => format!("max ({injectors} injectors)"),
        };
        rows.push(
            Row::new(
                format!(
                    "receiver → JetStream {offered}, 100 chats, {} s",
                    duration.as_secs_f64()
                ),
                format!(
                    "{} upd/s acked into the stream ({} /s injected), RSS {}",
                    rate(o.delivered_per_s),
                    rate(o.injected_per_s),
                    mib(rss.point_peak(receiver.proc.pid))
                ),
            )
            .latency(&o.latency)
            .errors(o.injected.saturating_sub(in_stream) + o.errors, "late"),
        );
        wait_stream_quiet(&js).await;
    }
    sampler.abort();
    feed.abort();
    receiver.proc.stop().await;
    nats.stop().await;
    Ok(())
}

/// Connects, retrying while the server starts.
async fn connect(url: &str) -> anyhow::Result<async_nats::Client> {
    for _ in 0..100 {
        if let Ok(client) = async_nats::connect(url).await {
            return Ok(client);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nats-server at {url} did not accept connections")
}

/// Messages in the stream (0 before the receiver created it).
async fn stored(js: &async_nats::jetstream::Context) -> u64 {
    match js.get_stream(STREAM).await {
        Ok(mut stream) => stream.info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

/// Waits until the stream's count stops moving for 1 s (at most a minute): the next point
/// starts from an empty backlog.
async fn wait_stream_quiet(js: &async_nats::jetstream::Context) {
    let mut last = stored(js).await;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = stored(js).await;
        if now == last {
            return;
        }
        last = now;
    }
}

/// The path of `program` on `PATH`.
fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
