//! The load part of the accounts phase: a directory of 100 accounts of its own and fresh
//! binaries over it; sendMessage at 64 clients round-robin over the accounts' tokens, and
//! receive at the injectors' max rate round-robin over the accounts — to set beside the
//! single-account rows.

use std::sync::Arc;

use anyhow::{Context as _, ensure};
use serde_json::json;

use crate::multi::{self, Binary, Ctx, Kind};
use crate::phases::{CLIENTS, Plan};
use crate::procs::Procs;
use crate::receiver_load::{self, Injection};
use crate::report::{Row, mib, rate};
use crate::rss::RssSampler;
use crate::sender_load::{self, Request, Target};
use crate::sink::Sink;

/// Injectors of the receive run (as the single-account saturation row).
const INJECTORS: usize = 64;

/// Part 3: sendMessage and receive load spread over [`crate::multi::AccountsPlan::spread`] accounts.
pub(crate) async fn spread(
    ctx: &mut Ctx<'_>,
    plan: &Plan,
    sink: &Sink,
    run: &mut u64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let n = ctx.ap.spread;
    let dir = ctx.dc.dir.path().join("spread");
    let ids = multi::add_accounts(&ctx.http, ctx.dc, n, &dir).await?;
    let session = dir.join(format!("acc{}", ids[0])).display().to_string();
    let layout = ctx.layout(dir, session);
    // The sender first: it writes each account's settings (its token), which the receiver
    // would otherwise see change and restart the account for.
    let mut sender = Binary::spawn(Kind::Sender, ctx.bins, &layout, "spread")?;
    let (census, _) = sender
        .wait_up(&ctx.http, n, ctx.ap.timeout)
        .await
        .with_context(|| format!("sender with {n} accounts for the load"))?;
    let mut receiver = Binary::spawn(Kind::Receiver, ctx.bins, &layout, "spread")?;
    receiver
        .wait_up(&ctx.http, n, ctx.ap.timeout)
        .await
        .with_context(|| format!("receiver with {n} accounts for the load"))?;
    let targets: Vec<Target> = census
        .tokens
        .iter()
        .map(|(_, token)| Target {
            base: sender.base.clone(),
            key: token.clone(),
            chat_id: ctx.dc.alice,
            key_in_path: true,
        })
        .collect();
    ensure!(
        targets.len() == n,
        "the sender listed {} tokens for {n} signed-in accounts",
        targets.len()
    );
    let rss = RssSampler::default();
    let sampler = rss.start(vec![ctx.dc.proc.pid, receiver.proc.pid, sender.proc.pid]);
    let procs = Procs {
        testdc: &ctx.dc.proc,
        receiver: Some(&receiver.proc),
        sender: Some(&sender.proc),
    };
    let clients = CLIENTS[CLIENTS.len() - 1];
    let req = Request::Json {
        method: "sendMessage",
        body: json!({"chat_id": ctx.dc.alice, "text": "bench"}),
    };
    rss.reset_point();
    let mark = procs.mark();
    let r = sender_load::run_spread(&targets, &req, clients, plan.warmup, plan.duration).await;
    let cpu = procs.since(&mark);
    if let Some(e) = &r.first_error {
        eprintln!("bench: accounts: sendMessage over {n} accounts: first error: {e}");
    }
    rows.push(
        Row::new(
            format!(
                "accounts: sender sendMessage, {clients} clients over {n} accounts (token in path)"
            ),
            format!(
                "{} req/s, RSS {}",
                rate(r.per_s),
                mib(rss.point_peak(sender.proc.pid))
            ),
        )
        .latency(&r.latency)
        .cpu(&cpu)
        .errors(r.errors, "errors"),
    );
    *run += 1;
    let inj = Injection {
        control: ctx.dc.control.clone(),
        users: Arc::new([ctx.dc.alice]),
        accounts: ids.into(),
        rate: None,
        injectors: INJECTORS,
        duration: plan.duration,
        run: *run,
    };
    rss.reset_point();
    let mark = procs.mark();
    let o = receiver_load::run(sink, &inj).await;
    let cpu = procs.since(&mark);
    rows.push(
        Row::new(
            format!(
                "accounts: receiver max ({INJECTORS} injectors), {n} accounts × 1 chat, {} s",
                plan.duration.as_secs_f64()
            ),
            format!(
                "{} upd/s delivered ({} /s injected), RSS {}",
                rate(o.delivered_per_s),
                rate(o.injected_per_s),
                mib(rss.point_peak(receiver.proc.pid))
            ),
        )
        .latency(&o.latency)
        .cpu(&cpu)
        .errors(o.injected.saturating_sub(o.delivered) + o.errors, "late"),
    );
    sampler.abort();
    ctx.retire(receiver, "spread").await;
    ctx.retire(sender, "spread").await;
    Ok(())
}
