//! Memory over a long run: sendMessage at 64 clients for several rounds, with the RSS of the
//! sender and of testdc read after each round. A leak shows as a climb round after round; a
//! plateau after the first rounds is allocator and cache warm-up.

use serde_json::json;

use crate::phases::{Env, Plan};
use crate::procs::status_kib;
use crate::report::{Row, rate};
use crate::sender_load::{self, Request};

/// Clients of every round.
const CLIENTS: usize = 64;

/// `rounds` rounds of `plan.duration` each; one row per process with its RSS after each round.
pub(crate) async fn run(env: &Env<'_>, plan: &Plan, rounds: usize, rows: &mut Vec<Row>) {
    let target = env.target();
    let req = Request::Json {
        method: "sendMessage",
        body: json!({"chat_id": target.chat_id, "text": "long run"}),
    };
    let (sender, dc) = (env.sender.proc.pid, env.dc.proc.pid);
    let mut after = Vec::with_capacity(rounds);
    let (mut requests, mut errors, mut seconds) = (0u64, 0u64, 0.0);
    for _ in 0..rounds {
        let r = sender_load::run(&target, &req, CLIENTS, plan.warmup, plan.duration).await;
        requests += r.latency.len();
        errors += r.errors;
        seconds += plan.duration.as_secs_f64();
        after.push((status_kib(sender, "VmRSS:"), status_kib(dc, "VmRSS:")));
    }
    let trail = |pick: fn(&(u64, u64)) -> u64| {
        after
            .iter()
            .map(|a| format!("{:.1}", pick(a) as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" → ")
    };
    let what = format!(
        "{rounds} × {} s of sendMessage at {CLIENTS} clients, {} requests ({} req/s)",
        plan.duration.as_secs_f64(),
        rate(requests as f64),
        rate(requests as f64 / seconds.max(1e-9)),
    );
    let flat = |pick: fn(&(u64, u64)) -> u64, mib: u64| {
        // From the second round on (the first is warm-up) within `mib` MiB.
        let tail: Vec<u64> = after.iter().skip(1).map(pick).collect();
        match (tail.iter().min(), tail.iter().max()) {
            (Some(lo), Some(hi)) => hi - lo <= mib * 1024,
            _ => false,
        }
    };
    rows.push(
        Row::new(
            format!("long run: sender RSS after each round, MiB ({what})"),
            trail(|a| a.0),
        )
        .target("flat within 4 MiB after round 1", flat(|a| a.0, 4))
        .errors(errors, "errors"),
    );
    rows.push(
        Row::new(
            "long run: testdc RSS after each round, MiB (bounded history)",
            trail(|a| a.1),
        )
        .target("flat within 32 MiB after round 1", flat(|a| a.1, 32)),
    );
}
