//! The many-accounts stack: a receiver and a sender serving one account directory
//! (`SESSIONS_DIR`), accounts added through testdc's `POST /accounts`, and the wait until a
//! binary reports every account up (receiver `/status`: `running`; sender `/admin/accounts`:
//! `signed_in`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::procs::{Proc, free_addr, raise_fd_limit};
use crate::report::rate;
use crate::stack::{self, Dc};

/// The management key the sender is started with (`ADMIN_API_KEY`).
const ADMIN_KEY: &str = "bench-admin-key";
/// How often the bench asks a binary how many accounts are up.
const POLL: Duration = Duration::from_millis(200);
/// Longest wait for one status answer: the sender serves nothing until it has started every
/// account of the directory.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// `MEDIA_MAX_BYTES` / `MAX_UPLOAD_BYTES` (no media in this phase).
const MEDIA_MAX: u64 = 50 << 20;

/// Which binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The receiver: an account is up when `/status` shows it `running`.
    Receiver,
    /// The sender: an account is up when `/admin/accounts` shows it `signed_in`.
    Sender,
}

/// Where the binaries find their accounts and write their logs.
pub(crate) struct Layout<'a> {
    /// testdc (its directory holds the media directory and is the children's cwd).
    pub dc: &'a Dc,
    /// `SESSIONS_DIR`.
    pub dir: PathBuf,
    /// `TG_SESSION_NAME`: a session inside `dir`, without `.session`.
    pub session: String,
    /// The receiver's `WEBHOOK_URL` (the bench's sink).
    pub hook: &'a str,
    /// Where each child's log lines are also written (`<label>-<binary>.log`), when asked.
    pub logs: Option<&'a Path>,
}

/// A receiver or sender serving [`Layout::dir`].
pub(crate) struct Binary {
    /// Which one.
    pub kind: Kind,
    /// The process.
    pub proc: Proc,
    /// e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// Its open-files soft limit after the bench raised it (when readable).
    pub fd_limit: Option<u64>,
}

/// What a binary reports about its accounts at one moment.
#[derive(Debug, Default)]
pub(crate) struct Census {
    /// Accounts listed.
    pub listed: usize,
    /// Accounts up: running (receiver) or signed in (sender).
    pub up: usize,
    /// Listed accounts per state (`running`, `starting`, …; the sender's `signed in` / `not
    /// signed in`).
    pub states: BTreeMap<String, usize>,
    /// The first error a failed account shows (receiver).
    pub first_error: Option<String>,
    /// Each signed-in account's user id and API token (sender).
    pub tokens: Vec<(i64, String)>,
}

impl Census {
    /// `812 of 1,000 running (starting: 188)`.
    pub(crate) fn summary(&self, of: usize, kind: Kind) -> String {
        let word = match kind {
            Kind::Receiver => "running",
            Kind::Sender => "signed in",
        };
        let states: Vec<String> = self
            .states
            .iter()
            .filter(|(state, _)| state.as_str() != word)
            .map(|(state, n)| format!("{state}: {n}"))
            .collect();
        let mut text = format!("{} of {} {word}", rate(self.up as f64), rate(of as f64));
        if self.listed != of {
            text += &format!(", {} listed", rate(self.listed as f64));
        }
        if !states.is_empty() {
            text += &format!(" ({})", states.join(", "));
        }
        if let Some(error) = &self.first_error {
            text += &format!("; first error: {error}");
        }
        text
    }
}

impl Binary {
    /// Spawns `kind` over `layout` on a free port, with its open-files limit raised to the
    /// hard limit. `label` names the log file. Returns at once: see [`Binary::wait_up`].
    pub(crate) fn spawn(
        kind: Kind,
        bins: &Path,
        layout: &Layout<'_>,
        label: &str,
    ) -> anyhow::Result<Self> {
        let bind = free_addr()?;
        let dir = layout.dir.display().to_string();
        let (name, mut env, log_on_stdout) = match kind {
            Kind::Receiver => {
                let env =
                    stack::receiver_env(layout.dc, &layout.session, layout.hook, bind, MEDIA_MAX);
                ("receiver", env, false)
            }
            Kind::Sender => {
                let mut env = stack::sender_env(&layout.session, bind, MEDIA_MAX);
                env.push(("ADMIN_API_KEY".to_owned(), ADMIN_KEY.to_owned()));
                ("sender", env, true)
            }
        };
        env.push(("SESSIONS_DIR".to_owned(), dir));
        let log = layout.logs.map(|d| d.join(format!("{label}-{name}.log")));
        let proc = Proc::spawn_logged(
            name,
            &bins.join(name),
            layout.dc.dir.path(),
            &[],
            &env,
            log_on_stdout,
            log.as_deref(),
        )?;
        let fd_limit = raise_fd_limit(proc.pid);
        Ok(Self {
            kind,
            proc,
            base: format!("http://{bind}"),
            fd_limit,
        })
    }

    /// What the binary reports now. Errors: no answer within 5 s, or not the expected JSON.
    pub(crate) async fn census(&self, http: &reqwest::Client) -> anyhow::Result<Census> {
        let request = match self.kind {
            // The list of accounts needs the receiver's WEBHOOK_API_KEY (stack::receiver_env).
            Kind::Receiver => http
                .get(format!("{}/status", self.base))
                .header("x-api-key", "bench-key"),
            Kind::Sender => http
                .get(format!("{}/admin/accounts", self.base))
                .header("x-admin-key", ADMIN_KEY),
        };
        let body: Value = request
            .timeout(ASK_TIMEOUT)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let list = match self.kind {
            Kind::Receiver => &body["list"],
            Kind::Sender => &body["result"],
        };
        let list = list
            .as_array()
            .with_context(|| format!("unexpected answer: {body}"))?;
        let mut census = Census {
            listed: list.len(),
            ..Census::default()
        };
        for account in list {
            let state = match self.kind {
                Kind::Receiver => account["state"]["state"].as_str().unwrap_or("?").to_owned(),
                Kind::Sender if account["signed_in"] == true => "signed in".to_owned(),
                Kind::Sender => "not signed in".to_owned(),
            };
            if state == "running" || state == "signed in" {
                census.up += 1;
            }
            if state == "failed" && census.first_error.is_none() {
                census.first_error = account["state"]["error"].as_str().map(str::to_owned);
            }
            *census.states.entry(state).or_default() += 1;
            if let (Some(id), Some(token)) =
                (account["user_id"].as_i64(), account["token"].as_str())
            {
                census.tokens.push((id, token.to_owned()));
            }
        }
        Ok(census)
    }

    /// Polls until `n` accounts are up, returning that census and the instant it was seen.
    /// Errors (short, for a table row; the log tail goes to stderr): the process exited, or
    /// `timeout` passed (with how many were up and in which states).
    pub(crate) async fn wait_up(
        &mut self,
        http: &reqwest::Client,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<(Census, Instant)> {
        let deadline = Instant::now() + timeout;
        loop {
            let census = self.census(http).await;
            if let Ok(c) = &census
                && c.up >= n
            {
                let at = Instant::now();
                return census.map(|c| (c, at));
            }
            if let Some(status) = self.proc.exited() {
                eprintln!(
                    "bench: {} exited ({status}); last log lines:\n{}",
                    self.proc.name,
                    self.proc.tail()
                );
                bail!("{} exited ({status})", self.proc.name);
            }
            if Instant::now() > deadline {
                eprintln!(
                    "bench: {} did not report {n} accounts up within {} s; last log lines:\n{}",
                    self.proc.name,
                    timeout.as_secs(),
                    self.proc.tail()
                );
                let seen = match census {
                    Ok(c) => c.summary(n, self.kind),
                    Err(e) => format!("no status: {e}"),
                };
                bail!("not all up after {} s: {seen}", timeout.as_secs());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Kills the process.
    pub(crate) async fn stop(self) {
        self.proc.stop().await;
    }
}

/// Adds `count` accounts to testdc, each with a ready session `<dir>/acc<user_id>.session`;
/// their user ids. Errors name the control API's answer.
pub(crate) async fn add_accounts(
    http: &reqwest::Client,
    dc: &Dc,
    count: usize,
    dir: &Path,
) -> anyhow::Result<Vec<i64>> {
    let response = http
        .post(format!("{}/accounts", dc.control))
        .json(&json!({"count": count, "sessions_dir": dir}))
        .send()
        .await
        .context("testdc POST /accounts failed")?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("testdc POST /accounts answered no JSON")?;
    if !status.is_success() {
        bail!("testdc POST /accounts answered {status}: {body}");
    }
    let ids: Vec<i64> = body["accounts"]
        .as_array()
        .map(|list| list.iter().filter_map(|a| a["user_id"].as_i64()).collect())
        .unwrap_or_default();
    if ids.len() != count {
        bail!(
            "testdc POST /accounts created {} of {count} accounts: {body}",
            ids.len()
        );
    }
    Ok(ids)
}

/// What the phase does.
pub(crate) struct AccountsPlan {
    /// Accounts after each step, ascending; the first counts the `TG_SESSION_NAME` account.
    pub steps: Vec<usize>,
    /// Accounts the load is spread over.
    pub spread: usize,
    /// Quiet time after a step before RSS is read.
    pub settle: Duration,
    /// Longest wait for a step, or a start, to come up.
    pub timeout: Duration,
    /// Where the children's log lines also go (kept after the run).
    pub logs: Option<PathBuf>,
}

impl AccountsPlan {
    /// 1 → 10 → 100 → `max` accounts (default 1,000) and load over 100; quick: 1 → 4 → 16 and
    /// load over 8. Every count capped at `max`.
    pub(crate) fn new(quick: bool, max: usize, logs: Option<PathBuf>) -> Self {
        let max = max.max(1);
        let (base, top, spread, settle): (&[usize], usize, usize, f64) = if quick {
            (&[1, 4], 16.min(max), 8, 0.5)
        } else {
            (&[1, 10, 100], max, 100, 3.0)
        };
        let mut steps: Vec<usize> = base.iter().copied().filter(|&n| n < top).collect();
        steps.push(top);
        Self {
            steps,
            spread: spread.min(max),
            settle: Duration::from_secs_f64(settle),
            timeout: Duration::from_secs(120),
            logs,
        }
    }
}

/// What every part of the phase shares.
pub(crate) struct Ctx<'a> {
    /// Where the release binaries are.
    pub bins: &'a Path,
    /// The phase's own testdc.
    pub dc: &'a Dc,
    /// The sink's URL (every receiver's `WEBHOOK_URL`).
    pub hook: &'a str,
    /// For status polls and testdc's control API.
    pub http: reqwest::Client,
    /// What the phase does.
    pub ap: &'a AccountsPlan,
    /// WARN/ERROR lines the receivers and senders of this phase logged.
    pub warnings: [u64; 2],
}

impl Ctx<'_> {
    /// Binaries over `dir` with `TG_SESSION_NAME` = `session`.
    pub(crate) fn layout(&self, dir: PathBuf, session: String) -> Layout<'_> {
        Layout {
            dc: self.dc,
            dir,
            session,
            hook: self.hook,
            logs: self.ap.logs.as_deref(),
        }
    }

    /// Counts `b`'s WARN/ERROR lines and shows the first few on stderr; then stops it.
    pub(crate) async fn retire(&mut self, b: Binary, label: &str) {
        let slot = usize::from(b.kind == Kind::Sender);
        self.warnings[slot] += b.proc.warnings();
        for line in b.proc.first_warnings() {
            eprintln!("bench: accounts ({label}) {} logged: {line}", b.proc.name);
        }
        b.stop().await;
    }
}
