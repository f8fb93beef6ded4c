//! `--only cluster`: several instances on one Postgres (README, *Running several instances*)
//! as real processes — a throwaway Postgres (`testkit::postgres`), testdc, and 1, 2 or 3
//! instances (a receiver and a sender each) sharing the same accounts, imported with
//! `receiver cluster-import`. For each count: how long until every account runs, sendMessage
//! with 64 clients whose requests go round-robin to every instance's sender (forwarded when
//! that instance is not the account's owner), and receive at the injectors' max rate. With
//! three: the takeover after `kill -9` of one instance, default lease (10 s).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};

use crate::multi;
use crate::phases::{CLIENTS, Plan};
use crate::procs::{Proc, free_addr};
use crate::receiver_load::{self, Injection};
use crate::report::{Row, rate};
use crate::sender_load::{self, Request, Target};
use crate::sink::Sink;
use crate::stack::{self, Dc};

/// The receivers' `WEBHOOK_API_KEY` ([`stack::receiver_env`]).
const RECEIVER_KEY: &str = "bench-key";
/// Injectors of the receive runs (as the single-account saturation row).
const INJECTORS: usize = 64;
/// The lease period the instances use (the default).
const LEASE_SECONDS: u64 = 10;

/// One instance: its receiver and sender.
struct Instance {
    receiver: Proc,
    sender: Proc,
    receiver_base: String,
    sender_base: String,
}

/// Runs the phase on a testdc of its own; rows go to `rows`.
pub(crate) async fn run(
    bins: &Path,
    plan: &Plan,
    quick: bool,
    sink: &Sink,
    hook: &str,
    run: &mut u64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let dc = stack::start_dc(bins, &http).await?;
    let pg = testkit::postgres::Postgres::start().await;
    let url = pg.create_database("bench_cluster");
    let n = if quick { 6 } else { 30 };
    let dir = dc.dir.path().join("cluster");
    let ids = multi::add_accounts(&http, &dc, n, &dir).await?;
    let tokens = import(bins, &dc, &dir, ids[0], &url).await?;
    ensure!(
        tokens.len() == n,
        "cluster-import gave {} tokens for {n} accounts",
        tokens.len()
    );
    for count in 1..=3 {
        let started = Instant::now();
        let mut instances = Vec::new();
        for i in 0..count {
            instances.push(start_instance(
                bins,
                &dc,
                hook,
                &url,
                &format!("k{count}-i{i}"),
            )?);
        }
        until_settled(&http, &instances, n, Duration::from_secs(120)).await?;
        rows.push(Row::new(
            format!("cluster: {count} instance(s) start serving {n} accounts, evenly"),
            format!("{:.1} s", started.elapsed().as_secs_f64()),
        ));

        let targets: Vec<Target> = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| Target {
                base: instances[i % count].sender_base.clone(),
                key: token.clone(),
                chat_id: dc.alice,
                key_in_path: true,
            })
            .collect();
        let clients = CLIENTS[CLIENTS.len() - 1];
        let req = Request::Json {
            method: "sendMessage",
            body: json!({"chat_id": dc.alice, "text": "bench"}),
        };
        let r = sender_load::run_spread(&targets, &req, clients, plan.warmup, plan.duration).await;
        if let Some(e) = &r.first_error {
            eprintln!("bench: cluster: sendMessage with {count} instance(s): first error: {e}");
        }
        rows.push(
            Row::new(
                format!(
                    "cluster: sendMessage, {clients} clients over {n} accounts, {count} instance(s) (any sender; forwarded to the owner)"
                ),
                format!("{} req/s", rate(r.per_s)),
            )
            .latency(&r.latency)
            .errors(r.errors, "errors"),
        );

        *run += 1;
        let inj = Injection {
            control: dc.control.clone(),
            users: Arc::new([dc.alice]),
            accounts: ids.clone().into(),
            rate: None,
            injectors: INJECTORS,
            duration: plan.duration,
            run: *run,
        };
        let o = receiver_load::run(sink, &inj).await;
        rows.push(
            Row::new(
                format!(
                    "cluster: receive max ({INJECTORS} injectors), {n} accounts, {count} instance(s)"
                ),
                format!(
                    "{} upd/s delivered ({} /s injected)",
                    rate(o.delivered_per_s),
                    rate(o.injected_per_s)
                ),
            )
            .latency(&o.latency)
            .errors(o.injected.saturating_sub(o.delivered) + o.errors, "late"),
        );

        if count == 3 {
            let victim = instances.remove(0);
            let killed = Instant::now();
            victim.receiver.stop().await;
            victim.sender.stop().await;
            until_settled(&http, &instances, n, Duration::from_secs(120)).await?;
            rows.push(Row::new(
                format!(
                    "cluster: takeover after kill -9 of 1 of 3 instances ({} accounts move), lease {LEASE_SECONDS} s",
                    n / 3
                ),
                format!(
                    "{:.1} s until every account runs again",
                    killed.elapsed().as_secs_f64()
                ),
            ));
        }
        for instance in instances {
            terminate(instance.receiver).await;
            terminate(instance.sender).await;
        }
    }
    dc.proc.stop().await;
    Ok(())
}

/// `receiver cluster-import` over `dir` (testdc's sessions): the tokens it prints.
async fn import(
    bins: &Path,
    dc: &Dc,
    dir: &Path,
    first: i64,
    url: &str,
) -> anyhow::Result<Vec<String>> {
    let out = tokio::process::Command::new(bins.join("receiver"))
        .arg("cluster-import")
        .env("TG_API_ID", "1")
        .env(
            "TG_SESSION_NAME",
            dir.join(format!("acc{first}")).display().to_string(),
        )
        .env("SESSIONS_DIR", dir.display().to_string())
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .current_dir(dc.dir.path())
        .output()
        .await
        .context("failed to run receiver cluster-import")?;
    if !out.status.success() {
        bail!(
            "receiver cluster-import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            line.rsplit_once("; token ")
                .map(|(_, t)| t.trim().to_owned())
        })
        .collect())
}

fn start_instance(
    bins: &Path,
    dc: &Dc,
    hook: &str,
    url: &str,
    id: &str,
) -> anyhow::Result<Instance> {
    let (receiver_bind, sender_bind) = (free_addr()?, free_addr()?);
    let cluster = [
        ("DATABASE_URL".to_owned(), url.to_owned()),
        ("INSTANCE_ID".to_owned(), id.to_owned()),
        (
            "CLUSTER_LEASE_SECONDS".to_owned(),
            LEASE_SECONDS.to_string(),
        ),
        (
            "CLUSTER_SENDER_URL".to_owned(),
            format!("http://{sender_bind}"),
        ),
    ];
    let mut receiver_env = stack::receiver_env(dc, &dc.session, hook, receiver_bind, 50 << 20);
    receiver_env.extend(cluster.iter().cloned());
    let mut sender_env = stack::sender_env(&dc.session, sender_bind, 50 << 20);
    sender_env.extend(cluster.iter().cloned());
    let receiver = Proc::spawn(
        "receiver",
        &bins.join("receiver"),
        dc.dir.path(),
        &[],
        &receiver_env,
        false,
    )?;
    let sender = Proc::spawn(
        "sender",
        &bins.join("sender"),
        dc.dir.path(),
        &[],
        &sender_env,
        true,
    )?;
    Ok(Instance {
        receiver,
        sender,
        receiver_base: format!("http://{receiver_bind}"),
        sender_base: format!("http://{sender_bind}"),
    })
}

/// One number from `GET <base>/status` (`path`: a JSON pointer), or 0 when unreadable.
async fn status_count(http: &reqwest::Client, base: &str, path: &str) -> usize {
    let status: Option<Value> = async {
        http.get(format!("{base}/status"))
            .header("x-api-key", RECEIVER_KEY)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()
    }
    .await;
    status
        .and_then(|s| s.pointer(path).and_then(Value::as_u64))
        .unwrap_or(0) as usize
}

/// Waits until `instances` serve all `n` accounts, split evenly (none more than its share
/// rounded up), each instance's sender serving what its receiver runs: the settled state, not
/// one an instance that started first must still give accounts up from.
async fn until_settled(
    http: &reqwest::Client,
    instances: &[Instance],
    n: usize,
    limit: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let share = n.div_ceil(instances.len());
    loop {
        let mut counts = Vec::new();
        for i in instances {
            let running = status_count(http, &i.receiver_base, "/states/running").await;
            let serving = status_count(http, &i.sender_base, "/signed_in").await;
            counts.push((running, serving));
        }
        let total: usize = counts.iter().map(|(r, _)| r).sum();
        if total == n && counts.iter().all(|(r, s)| r == s && *r <= share) {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("not settled after {limit:?}: (running, serving) per instance {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops `proc` with SIGTERM (its clean stop: drains and gives its leases up), waiting up to
/// 30 s before killing it.
async fn terminate(proc: Proc) {
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &proc.pid.to_string()])
        .status()
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut proc = proc;
    while proc.exited().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proc.stop().await;
}
