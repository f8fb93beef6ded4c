//! `bench`: starts testdc, the receiver and the sender (release binaries next to this one) and
//! prints one markdown table of throughput, latency, media speed, RSS and start-up time.
//!
//! Run `cargo build --release --workspace && target/release/bench` (see BENCHMARKS.md).
//! `--only accounts` measures many accounts in one receiver and one sender ([`accounts`]);
//! `--only cluster` several instances on one Postgres ([`cluster`]).
//! `--quick` is a ~30 s smoke run for CI: it exercises every path and never asserts a timing;
//! the exit code is non-zero only when something fails outright (a process does not start,
//! a request errors in a way that stops a phase).

mod accounts;
mod accounts_load;
mod cluster;
mod idle;
mod longrun;
mod media;
mod multi;
mod nats;
mod phases;
mod procs;
mod receiver_load;
mod report;
mod rss;
mod sender_load;
mod sink;
mod stack;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::phases::{Env, Plan};
use crate::report::Row;

/// Benchmarks the gateway's binaries against testdc on loopback.
#[derive(Parser, Debug)]
#[command(about)]
struct Args {
    /// A ~30 s smoke run (short load points, 8 MB media): checks that every path works,
    /// figures are not meaningful.
    #[arg(long)]
    quick: bool,
    /// Seconds measured per sender load point and for the receiver's saturation probe.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of each sustained receiver run (1,000/s and 5,000/s).
    #[arg(long, default_value_t = 30.0)]
    sustain: f64,
    /// Run one phase only (start-up is always measured).
    #[arg(long, value_enum)]
    only: Option<Phase>,
    /// Media file size in MiB.
    #[arg(long, default_value_t = 50)]
    media_mib: usize,
    /// Directory holding testdc, receiver and sender (default: next to this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Extra receiver environment for the second receive run (the one without the durable
    /// outbox, `OUTBOX_PATH=:memory:`), e.g. `--compare-env WEBHOOK_MAX_CONNECTIONS=8`
    /// (repeatable; a later value of the same key wins).
    #[arg(long, value_parser = parse_env)]
    compare_env: Vec<(String, String)>,
    /// Extra environment for the main receiver (the durable one every phase uses), e.g.
    /// `--receiver-env UPDATES_QUEUE=256` (repeatable; a later value of the same key wins).
    #[arg(long, value_parser = parse_env)]
    receiver_env: Vec<(String, String)>,
    /// With `--only receiver`: measure the durable receiver only (skip the JetStream and
    /// in-memory outbox runs), for quick before/after comparisons.
    #[arg(long)]
    durable_only: bool,
    /// Rounds of `--duration` seconds in the long-run memory phase.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Also write the table (with the machine line) to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Most accounts the accounts phase adds (its steps are 1, 10, 100, then this).
    #[arg(long, default_value_t = 1000)]
    max_accounts: usize,
    /// Keep the full logs of the accounts phase's receivers and senders in this directory
    /// (`<part>-<binary>.log`); otherwise only their last lines are shown, on failure.
    #[arg(long)]
    logs_dir: Option<PathBuf>,
}

/// A phase `--only` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Phase {
    Sender,
    Receiver,
    Media,
    Rss,
    /// One message at a time at idle, to the Rust sink and to Python consumers.
    Idle,
    /// Rounds of sendMessage load with the sender's and testdc's RSS after each.
    Longrun,
    /// Many accounts in one receiver and one sender: idle RSS per extra account, start-up with
    /// 1,000 accounts, load spread over 100.
    Accounts,
    /// Several instances on one Postgres: 30 accounts served by 1, 2 and 3 instances (send and
    /// receive throughput), the takeover after kill -9 of one of three (last in a full run).
    Cluster,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, not {s:?}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bins = procs::bin_dir(args.bin_dir.clone())?;
    let plan = plan(&args);
    let wants = |p: Phase| args.only.is_none() || args.only == Some(p);
    let http = reqwest::Client::new();
    let (sink, hook) = sink::Sink::start().await?;
    let rss = rss::RssSampler::default();
    let mut rows = Vec::new();

    let dc = stack::start_dc(&bins, &http).await?;
    let max = (plan.media_bytes as u64 + (16 << 20)).max(50 << 20);
    let receiver = stack::start_receiver(&bins, &dc, &http, &hook, max, &args.receiver_env).await?;
    let sender = stack::start_sender(&bins, &dc, &http, max).await?;
    eprintln!(
        "bench: pids testdc={} receiver={} sender={} (for perf record -p)",
        dc.proc.pid, receiver.proc.pid, sender.proc.pid
    );
    phases::startup_rows(&receiver, &mut rows);
    phases::startup_rows(&sender, &mut rows);
    let sampler = rss.start(vec![dc.proc.pid, receiver.proc.pid, sender.proc.pid]);
    let env = Env {
        dc: &dc,
        receiver: &receiver,
        sender: &sender,
        sink: &sink,
        rss: &rss,
    };
    let idle_wait = if args.quick { 0.5 } else { 2.0 };
    if wants(Phase::Rss) {
        phases::idle(&env, Duration::from_secs_f64(idle_wait), &mut rows).await;
    }
    if wants(Phase::Sender) || wants(Phase::Rss) {
        rss.reset();
        phases::sender(&env, &plan, &mut rows).await?;
        env.rss_rows("send load", 64, &mut rows);
    }
    if wants(Phase::Longrun) {
        let rounds = if args.quick { 2 } else { args.rounds.max(2) };
        longrun::run(&env, &plan, rounds, &mut rows).await;
    }
    let mut run = 0;
    if wants(Phase::Receiver) || wants(Phase::Rss) {
        rss.reset();
        phases::receiver(&env, &plan, "", &mut run, &mut rows).await?;
        env.rss_rows("receive load", 64, &mut rows);
    }
    if wants(Phase::Media) {
        rss.reset();
        phases::media(&env, &plan, &mut rows).await?;
        env.rss_rows("media", 64, &mut rows);
    }
    let idle_messages = if args.quick { 5 } else { 50 };
    if wants(Phase::Idle) {
        run += 1;
        rows.push(idle::rust_sink(&dc, &sink, run, idle_messages).await?);
    }
    for p in [&receiver.proc, &sender.proc] {
        let hwm = p.hwm();
        rows.push(
            Row::new(
                format!("RSS {} whole run (VmHWM)", p.name),
                report::mib(hwm),
            )
            .target("≤ 64 MiB", hwm <= 64 << 20),
        );
    }
    let warnings = receiver.proc.warnings() + sender.proc.warnings();
    for (name, line) in [&receiver.proc, &sender.proc]
        .into_iter()
        .flat_map(|p| p.first_warnings().into_iter().map(move |l| (p.name, l)))
    {
        eprintln!("bench: {name} logged: {line}");
    }
    phases::stop(receiver.proc).await;
    if wants(Phase::Idle) {
        for protocol in ["http/1.0", "http/1.1"] {
            rows.extend(idle::python(&bins, &dc, protocol, idle_messages).await?);
        }
    }
    if wants(Phase::Receiver) && !args.durable_only {
        // On the first receiver's outbox, whose position is current (its backlog drained).
        nats::run(
            &bins, &plan, &dc, &sender, &sink, &http, &mut run, &mut rows,
        )
        .await?;
        outbox_run(
            &args, &bins, &plan, &dc, &sender, &sink, &hook, &http, &mut run, &mut rows,
        )
        .await?;
    }
    sampler.abort();
    phases::stop(sender.proc).await;
    phases::stop(dc.proc).await;
    // Last, on a testdc and binaries of its own: nothing it leaves behind touches the others.
    let accounts = if wants(Phase::Accounts) {
        if let Some(dir) = &args.logs_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        let ap = multi::AccountsPlan::new(args.quick, args.max_accounts, args.logs_dir.clone());
        let done = accounts::run(&bins, &plan, &ap, &sink, &hook, &mut run, &mut rows).await;
        if let Err(e) = &done {
            rows.push(Row::new("accounts phase", format!("failed: {e:#}")));
        }
        done
    } else {
        Ok(())
    };

    let cluster = if wants(Phase::Cluster) {
        let done = cluster::run(&bins, &plan, args.quick, &sink, &hook, &mut run, &mut rows).await;
        if let Err(e) = &done {
            rows.push(Row::new("cluster phase", format!("failed: {e:#}")));
        }
        done
    } else {
        Ok(())
    };

    let machine = report::machine();
    let text = format!(
        "Machine: {machine}\nMode: {}\n\n{}\nWARN/ERROR log lines from the binaries: {warnings}\n",
        if args.quick {
            "quick (smoke, figures not meaningful)"
        } else {
            "full"
        },
        report::table(&rows)
    );
    println!("{text}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &text)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    accounts.context("the accounts phase failed")?;
    cluster.context("the cluster phase failed")
}

/// Restarts the receiver with its outbox in memory (`OUTBOX_PATH=:memory:`, plus
/// `--compare-env`) and repeats the receive load: what durability costs.
#[allow(clippy::too_many_arguments)]
async fn outbox_run(
    args: &Args,
    bins: &std::path::Path,
    plan: &Plan,
    dc: &stack::Dc,
    sender: &stack::Started,
    sink: &sink::Sink,
    hook: &str,
    http: &reqwest::Client,
    run: &mut u64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let mut extra = vec![("OUTBOX_PATH".to_owned(), ":memory:".to_owned())];
    extra.extend(args.compare_env.iter().cloned());
    let max = 50 << 20;
    let receiver = stack::start_receiver(bins, dc, http, hook, max, &extra).await?;
    let rss = rss::RssSampler::default();
    let sampler = rss.start(vec![receiver.proc.pid]);
    let env = Env {
        dc,
        receiver: &receiver,
        sender,
        sink,
        rss: &rss,
    };
    phases::receiver(&env, plan, " (in-memory outbox)", run, rows).await?;
    let peak = rss.peak(receiver.proc.pid);
    rows.push(
        Row::new(
            "RSS receiver (in-memory outbox) receive load (peak)",
            report::mib(peak),
        )
        .target("≤ 64 MiB", peak <= 64 << 20),
    );
    sampler.abort();
    phases::stop(receiver.proc).await;
    Ok(())
}

fn plan(args: &Args) -> Plan {
    let (duration, sustain, warmup, media_mib) = if args.quick {
        (1.5, 2.0, 0.2, args.media_mib.min(8))
    } else {
        (args.duration, args.sustain, 1.0, args.media_mib)
    };
    Plan {
        duration: Duration::from_secs_f64(duration),
        sustain: Duration::from_secs_f64(sustain),
        warmup: Duration::from_secs_f64(warmup),
        media_bytes: media_mib << 20,
        fixtures: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
    }
}
