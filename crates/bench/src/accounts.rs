//! The many-accounts phase (`--only accounts`, last in a full run): one receiver and one sender
//! serving every account of a directory (`SESSIONS_DIR`), on a testdc of their own.
//!
//! 1. Idle RSS as accounts are added in steps (1 → 10 → 100 → 1,000): once both binaries report
//!    every account up and a few quiet seconds passed, their RSS and open files; then the slope
//!    per extra account, with how many accounts the receiver restarted on the way (it restarts
//!    one when the sender writes the settings file of a session that had none). Adding stops
//!    early at a step that does not come up within the timeout, at an error, or when the next
//!    step would not fit the open-files limit or the memory available; a row says which.
//! 2. Start-up with every session of part 1 already in the directory: each binary alone, from
//!    spawn until all its accounts are up; then its idle RSS, and the slope from that fresh
//!    start (no restarts).
//! 3. Load spread over 100 accounts (`accounts_load`).

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use crate::multi::{self, AccountsPlan, Binary, Ctx, Kind};
use crate::phases::Plan;
use crate::procs::{open_fds, status_kib};
use crate::report::{Row, mib, rate};
use crate::sink::Sink;
use crate::stack;

/// Share of the open-files limit, and of the memory available, a next step may be projected to
/// use before adding stops.
const HEADROOM: f64 = 0.8;

/// What the receiver logs when it stops an account (before starting it again when only its
/// settings changed).
const RESTART_LINE: &str = "stopping account";

/// Runs the phase and appends its rows. Errors: testdc or a binary did not start, the load
/// accounts did not come up (the step and start-up measurements report their failures as rows).
pub(crate) async fn run(
    bins: &Path,
    plan: &Plan,
    ap: &AccountsPlan,
    sink: &Sink,
    hook: &str,
    run: &mut u64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let dc = stack::start_dc_at(bins, &http, "accounts/main")
        .await
        .context("testdc for the accounts phase did not start")?;
    let mut ctx = Ctx {
        bins,
        dc: &dc,
        hook,
        http,
        ap,
        warnings: [0; 2],
    };
    let phase = Instant::now();
    let (created, first) = steps(&mut ctx, rows).await?;
    eprintln!(
        "bench: accounts: steps done after {:.0} s",
        phase.elapsed().as_secs_f64()
    );
    startup(&mut ctx, created, first.as_ref(), rows).await?;
    eprintln!(
        "bench: accounts: start-up done after {:.0} s",
        phase.elapsed().as_secs_f64()
    );
    let spread = crate::accounts_load::spread(&mut ctx, plan, sink, run, rows).await;
    eprintln!(
        "bench: accounts: phase took {:.0} s",
        phase.elapsed().as_secs_f64()
    );
    rows.push(Row::new(
        "accounts: WARN/ERROR log lines (receiver / sender)",
        format!("{} / {}", ctx.warnings[0], ctx.warnings[1]),
    ));
    dc.proc.stop().await;
    spread
}

/// One step's reading: accounts, then receiver and sender RSS (bytes) and open files.
struct Sample {
    n: usize,
    rss: [u64; 2],
    fds: [usize; 2],
}

/// The steps of part 1; returns how many accounts' sessions the directory holds at the end,
/// and the first step's reading.
async fn steps(ctx: &mut Ctx<'_>, rows: &mut Vec<Row>) -> anyhow::Result<(usize, Option<Sample>)> {
    let dir = ctx.dc.dir.path().join("accounts");
    let layout = ctx.layout(dir.clone(), ctx.dc.session.clone());
    let receiver = Binary::spawn(Kind::Receiver, ctx.bins, &layout, "steps")?;
    let sender = Binary::spawn(Kind::Sender, ctx.bins, &layout, "steps")?;
    // The receiver restarts an account whose settings file changes, as it does when the
    // sender writes one for a session that has none: counted, since it costs memory.
    receiver.proc.count_lines(RESTART_LINE);
    let mut both = [receiver, sender];
    let (mut have, mut samples, mut stopped) = (1, Vec::<Sample>::new(), None);
    for &n in &ctx.ap.steps {
        if let Some(why) = no_room(&samples, n, &both) {
            stopped = Some(why);
            break;
        }
        let t0 = Instant::now();
        if n > have {
            if let Err(e) = multi::add_accounts(&ctx.http, ctx.dc, n - have, &dir).await {
                stopped = Some(format!("adding {} accounts failed: {e:#}", n - have));
                break;
            }
            have = n;
        }
        let [receiver, sender] = &mut both;
        let (r, s) = tokio::join!(
            receiver.wait_up(&ctx.http, n, ctx.ap.timeout),
            sender.wait_up(&ctx.http, n, ctx.ap.timeout)
        );
        let (r, s) = match (r, s) {
            (Ok((_, r)), Ok((_, s))) => (r, s),
            (r, s) => {
                let what = |x: Result<_, anyhow::Error>| {
                    x.err().map_or("up".to_owned(), |e| format!("{e:#}"))
                };
                stopped = Some(format!(
                    "at {}: receiver {}; sender {}",
                    count(n),
                    what(r.map(|_| ())),
                    what(s.map(|_| ()))
                ));
                break;
            }
        };
        let up = r.max(s).duration_since(t0);
        tokio::time::sleep(ctx.ap.settle).await;
        let sample = Sample {
            n,
            rss: both
                .each_ref()
                .map(|b| status_kib(b.proc.pid, "VmRSS:") * 1024),
            fds: both.each_ref().map(|b| open_fds(b.proc.pid)),
        };
        for (i, b) in both.iter().enumerate() {
            let restarts = match b.kind {
                Kind::Receiver => format!(
                    ", {} account restarts so far",
                    b.proc.count_lines(RESTART_LINE)
                ),
                Kind::Sender => String::new(),
            };
            rows.push(Row::new(
                format!("accounts: {} idle RSS at {} (MiB)", b.proc.name, count(n)),
                format!(
                    "{}, {} open files, all up {:.1} s after adding{restarts}",
                    mib(sample.rss[i]),
                    sample.fds[i],
                    up.as_secs_f64()
                ),
            ));
        }
        eprintln!(
            "bench: accounts: {n} up in {:.1} s; RSS receiver {} sender {}; fds {} / {}",
            up.as_secs_f64(),
            mib(sample.rss[0]),
            mib(sample.rss[1]),
            sample.fds[0],
            sample.fds[1]
        );
        samples.push(sample);
    }
    slope_rows(&samples, &both, rows);
    if let Some(why) = stopped {
        eprintln!("bench: accounts: adding stopped: {why}");
        rows.push(Row::new("accounts: adding stopped", why));
    }
    for b in both {
        ctx.retire(b, "steps").await;
    }
    Ok((have, samples.into_iter().next()))
}

/// RSS (and open files) per extra account between the first and the last step, per binary.
fn slope_rows(samples: &[Sample], both: &[Binary; 2], rows: &mut Vec<Row>) {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return;
    };
    if last.n <= first.n {
        return;
    }
    let extra = (last.n - first.n) as f64;
    for (i, b) in both.iter().enumerate() {
        let kib = (last.rss[i] as f64 - first.rss[i] as f64) / 1024.0 / extra;
        let fds = (last.fds[i] as f64 - first.fds[i] as f64) / extra;
        rows.push(
            Row::new(
                format!(
                    "accounts: {} RSS per extra account (KiB), {} → {}",
                    b.proc.name,
                    count(first.n),
                    count(last.n)
                ),
                format!(
                    "{kib:.0} KiB ({} → {}; {fds:.1} open files per account)",
                    mib(first.rss[i]),
                    mib(last.rss[i])
                ),
            )
            .target("≤ 1 MiB per account", kib <= 1024.0),
        );
    }
}

/// Why the step to `n` accounts should not be tried: a binary's open files or the two
/// binaries' memory, extrapolated from the steps so far, past [`HEADROOM`] of what there is.
fn no_room(samples: &[Sample], n: usize, both: &[Binary; 2]) -> Option<String> {
    let last = samples.last()?;
    let per = |i: usize, of: fn(&Sample, usize) -> f64| match samples.first() {
        Some(first) if last.n > first.n => (of(last, i) - of(first, i)) / (last.n - first.n) as f64,
        _ => of(last, i) / last.n as f64,
    };
    let more = (n - last.n.min(n)) as f64;
    for (i, b) in both.iter().enumerate() {
        let need = last.fds[i] as f64 + per(i, |s, i| s.fds[i] as f64) * more;
        if let Some(limit) = b.fd_limit
            && need > limit as f64 * HEADROOM
        {
            return Some(format!(
                "before {}: the {} would need ~{need:.0} open files, its limit is {limit} \
                 (ulimit -n; the hard limit, the bench raised the soft one to it)",
                count(n),
                b.proc.name
            ));
        }
    }
    let grow: f64 = (0..2).map(|i| per(i, |s, i| s.rss[i] as f64) * more).sum();
    let available = meminfo_kib("MemAvailable:") as f64 * 1024.0;
    (available > 0.0 && grow > available * HEADROOM).then(|| {
        format!(
            "before {}: the binaries would grow by ~{} and {} is available",
            count(n),
            mib(grow as u64),
            mib(available as u64)
        )
    })
}

/// A `kB` field of `/proc/meminfo` (0 when unreadable).
fn meminfo_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Part 2: each binary alone, fresh, over the directory of part 1 with its `n` sessions.
async fn startup(
    ctx: &mut Ctx<'_>,
    n: usize,
    base: Option<&Sample>,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let dir = ctx.dc.dir.path().join("accounts");
    for (i, kind) in [Kind::Receiver, Kind::Sender].into_iter().enumerate() {
        let layout = ctx.layout(dir.clone(), ctx.dc.session.clone());
        let mut b = Binary::spawn(kind, ctx.bins, &layout, "startup")?;
        let up = b.wait_up(&ctx.http, n, ctx.ap.timeout).await;
        let word = match kind {
            Kind::Receiver => "running",
            Kind::Sender => "signed in",
        };
        let name = b.proc.name;
        let mut settled = None;
        let value = match up {
            Ok((_, at)) => {
                tokio::time::sleep(ctx.ap.settle).await;
                let rss = status_kib(b.proc.pid, "VmRSS:") * 1024;
                settled = Some(rss);
                format!(
                    "{:.1} s (then idle: RSS {}, {} open files)",
                    at.duration_since(b.proc.spawned).as_secs_f64(),
                    mib(rss),
                    open_fds(b.proc.pid)
                )
            }
            Err(e) => format!("{e:#}"),
        };
        eprintln!("bench: accounts: {name} start with {}: {value}", count(n));
        rows.push(Row::new(
            format!("accounts: {name} start → {} {word} (s)", count(n)),
            value,
        ));
        // The same slope as the steps', without the restarts adding accounts one directory
        // scan at a time may cause.
        if let (Some(rss), Some(base)) = (settled, base)
            && n > base.n
        {
            let kib = (rss as f64 - base.rss[i] as f64) / 1024.0 / (n - base.n) as f64;
            rows.push(
                Row::new(
                    format!(
                        "accounts: {name} RSS per extra account (KiB), fresh start with {} vs {}",
                        count(n),
                        count(base.n)
                    ),
                    format!("{kib:.0} KiB ({} → {})", mib(base.rss[i]), mib(rss)),
                )
                .target("≤ 1 MiB per account", kib <= 1024.0),
            );
        }
        ctx.retire(b, "startup").await;
    }
    Ok(())
}

/// `1 account`, `1,000 accounts`.
pub(crate) fn count(n: usize) -> String {
    match n {
        1 => "1 account".to_owned(),
        n => format!("{} accounts", rate(n as f64)),
    }
}
