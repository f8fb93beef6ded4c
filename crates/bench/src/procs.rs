//! Child processes: locating the release binaries, starting testdc, the receiver and the
//! sender on free loopback ports, watching their logs, and reading CPU time and RSS from
//! `/proc/<pid>`.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The log line `telegram::Telegram::connect` prints once the MTProto connection is up and the
/// account is known.
const CONNECTED_LINE: &str = "connected to Telegram";
/// Log lines kept per process, for error reports.
const KEEP_LINES: usize = 20;

/// Finds `testdc`, `receiver` and `sender` in `dir`, or next to the running `bench` binary.
/// Errors name the missing file and the command that builds it.
pub(crate) fn bin_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::current_exe()
            .context("failed to locate the bench binary")?
            .parent()
            .context("the bench binary has no parent directory")?
            .to_path_buf(),
    };
    for name in ["testdc", "receiver", "sender"] {
        if !dir.join(name).is_file() {
            bail!(
                "{} is missing: build first with `cargo build --release --workspace` \
                 (or pass --bin-dir)",
                dir.join(name).display()
            );
        }
    }
    Ok(dir)
}

/// A free loopback address (bound then released; another process could take it, rarely).
pub(crate) fn free_addr() -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("failed to bind port 0")?;
    Ok(listener.local_addr()?)
}

/// A running child with its pid, start instant and log watcher. Killed on drop.
pub(crate) struct Proc {
    /// Short name for reports (`testdc`, `receiver`, `sender`).
    pub name: &'static str,
    /// Process id, for `/proc/<pid>`.
    pub pid: u32,
    /// When it was spawned.
    pub spawned: Instant,
    child: Child,
    log: Arc<Mutex<LogState>>,
}

#[derive(Default)]
struct LogState {
    connected: Option<Instant>,
    last: VecDeque<String>,
    warnings: u64,
    /// The first [`KEEP_WARNINGS`] WARN/ERROR lines, to show with the count.
    first_warnings: Vec<String>,
    /// Where every line is also written, when asked.
    file: Option<std::io::LineWriter<std::fs::File>>,
    /// Lines seen so far that contain each watched text ([`Proc::count_lines`]).
    counted: Vec<(&'static str, u64)>,
}

/// How many WARN/ERROR lines a process keeps for the report.
const KEEP_WARNINGS: usize = 5;

impl Proc {
    /// Spawns `bin` in `cwd` (so no stray `.env` is read) with `args` and `env`. Its log is
    /// watched on stderr, or on stdout when `log_on_stdout` (the sender logs there); otherwise
    /// stdout is discarded (the receiver prints a line per message).
    pub(crate) fn spawn(
        name: &'static str,
        bin: &Path,
        cwd: &Path,
        args: &[String],
        env: &[(String, String)],
        log_on_stdout: bool,
    ) -> anyhow::Result<Self> {
        Self::spawn_logged(name, bin, cwd, args, env, log_on_stdout, None)
    }

    /// [`Proc::spawn`], also appending every log line to `log_file` when given (created or
    /// truncated; the watcher stops writing to it after the first write error).
    pub(crate) fn spawn_logged(
        name: &'static str,
        bin: &Path,
        cwd: &Path,
        args: &[String],
        env: &[(String, String)],
        log_on_stdout: bool,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let file = log_file
            .map(|path| {
                std::fs::File::create(path)
                    .with_context(|| format!("failed to create log file {}", path.display()))
            })
            .transpose()?;
        let spawned = Instant::now();
        let mut child = Command::new(bin)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(if log_on_stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("failed to start {}", bin.display()))?;
        let pid = child.id().context("child exited at once")?;
        let log = Arc::new(Mutex::new(LogState {
            file: file.map(std::io::LineWriter::new),
            ..LogState::default()
        }));
        let stderr = child.stderr.take().context("stderr not piped")?;
        watch_lines(stderr, log.clone());
        if let Some(stdout) = child.stdout.take() {
            watch_lines(stdout, log.clone());
        }
        Ok(Self {
            name,
            pid,
            spawned,
            child,
            log,
        })
    }

    /// When the "connected to Telegram" line appeared, if it has.
    pub(crate) fn connected_at(&self) -> Option<Instant> {
        self.lock().connected
    }

    /// WARN and ERROR lines logged so far.
    pub(crate) fn warnings(&self) -> u64 {
        self.lock().warnings
    }

    /// The first few WARN/ERROR lines (at most 5).
    pub(crate) fn first_warnings(&self) -> Vec<String> {
        self.lock().first_warnings.clone()
    }

    /// How many log lines containing `text` appeared since it was first asked for (the first
    /// call starts counting and answers 0).
    pub(crate) fn count_lines(&self, text: &'static str) -> u64 {
        let mut state = self.lock();
        match state.counted.iter().find(|(t, _)| *t == text) {
            Some((_, n)) => *n,
            None => {
                state.counted.push((text, 0));
                0
            }
        }
    }

    /// The last log lines, for error messages.
    pub(crate) fn tail(&self) -> String {
        self.lock()
            .last
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Polls `url` until it answers 200, returning the instant it did. Errors after `timeout`
    /// or when the process has exited (with its last log lines).
    pub(crate) async fn wait_http_ok(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        timeout: Duration,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(response) = http.get(url).send().await
                && response.status().is_success()
            {
                return Ok(Instant::now());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}):\n{}", self.name, self.tail());
            }
            if Instant::now() > deadline {
                bail!("{} not ready at {url}:\n{}", self.name, self.tail());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// How it exited, when it has.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills the process and reaps it.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// CPU time (user + system) used so far, or zero when unreadable.
    pub(crate) fn cpu(&self) -> Duration {
        cpu_of(&format!("/proc/{}/stat", self.pid))
    }

    /// Peak resident set size since start in bytes (`VmHWM`).
    pub(crate) fn hwm(&self) -> u64 {
        status_kib(self.pid, "VmHWM:") * 1024
    }
}

/// Reads `pipe` line by line into `state` until it closes.
fn watch_lines(
    pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    state: Arc<Mutex<LogState>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            if state.connected.is_none() && line.contains(CONNECTED_LINE) {
                state.connected = Some(Instant::now());
            }
            if line.contains(" WARN ") || line.contains(" ERROR ") {
                state.warnings += 1;
                if state.first_warnings.len() < KEEP_WARNINGS {
                    state.first_warnings.push(line.clone());
                }
            }
            for (text, n) in &mut state.counted {
                *n += u64::from(line.contains(*text));
            }
            if let Some(file) = state.file.as_mut()
                && writeln!(file, "{line}").is_err()
            {
                state.file = None;
            }
            if state.last.len() == KEEP_LINES {
                state.last.pop_front();
            }
            state.last.push_back(line);
        }
    });
}

/// CPU time of the bench process itself.
pub(crate) fn self_cpu() -> Duration {
    cpu_of("/proc/self/stat")
}

/// utime + stime of `/proc/<pid>/stat`, assuming the usual 100 clock ticks per second.
fn cpu_of(path: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return Duration::ZERO;
    };
    // Fields after the command name, which may contain spaces, closed by the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// A `kB` field of `/proc/<pid>/status` such as `VmRSS:` (0 when unreadable).
pub(crate) fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Open file descriptors of `pid` (entries of `/proc/<pid>/fd`; 0 when unreadable).
pub(crate) fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// The soft and hard limit on open files of `pid` (`Max open files` of `/proc/<pid>/limits`;
/// `u64::MAX` for `unlimited`), when readable.
pub(crate) fn fd_limit(pid: u32) -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(u64::MAX));
    Some((values.next()?, values.next()?))
}

/// Raises the soft limit on open files of `pid` to its hard limit with util-linux `prlimit`
/// (each account holds SQLite files and a TCP connection). Returns the soft limit in effect
/// afterwards; a note on stderr when it could not be raised.
pub(crate) fn raise_fd_limit(pid: u32) -> Option<u64> {
    let (soft, hard) = fd_limit(pid)?;
    if soft >= hard {
        return Some(soft);
    }
    let raised = std::process::Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--nofile={hard}:{hard}"))
        .status()
        .is_ok_and(|s| s.success());
    if !raised {
        eprintln!("bench: could not raise the open-files limit of {pid} from {soft} to {hard}");
    }
    fd_limit(pid).map(|(soft, _)| soft)
}

/// CPU use of each process over one phase, as a share of one core.
#[derive(Clone, Debug, Default)]
pub(crate) struct CpuShares {
    /// testdc, receiver, sender, bench, everything else on the machine: percent of one core.
    pub percent: [f64; 5],
}

impl CpuShares {
    /// `85 / 40 / 95 / 60 / 3` (percent of one core; the last is every other process).
    pub(crate) fn render(&self) -> String {
        let [t, r, s, b, o] = self.percent;
        format!("{t:.0} / {r:.0} / {s:.0} / {b:.0} / {o:.0}")
    }
}

/// A snapshot of CPU counters, to subtract from a later one.
pub(crate) struct CpuMark {
    at: Instant,
    cpu: [Duration; 4],
    machine: Duration,
}

/// Busy CPU time of the whole machine (every field of `/proc/stat`'s `cpu` line but idle and
/// iowait).
fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(8)
                .enumerate()
                .filter(|(i, _)| *i != 3 && *i != 4)
                .filter_map(|(_, v)| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The processes a phase measures: testdc, receiver, sender (any may be absent).
pub(crate) struct Procs<'a> {
    /// testdc.
    pub testdc: &'a Proc,
    /// The receiver, when running.
    pub receiver: Option<&'a Proc>,
    /// The sender, when running.
    pub sender: Option<&'a Proc>,
}

impl Procs<'_> {
    /// Reads every CPU counter now.
    pub(crate) fn mark(&self) -> CpuMark {
        let of = |p: Option<&Proc>| p.map_or(Duration::ZERO, Proc::cpu);
        CpuMark {
            at: Instant::now(),
            cpu: [
                self.testdc.cpu(),
                of(self.receiver),
                of(self.sender),
                self_cpu(),
            ],
            machine: machine_busy(),
        }
    }

    /// CPU shares since `start`.
    pub(crate) fn since(&self, start: &CpuMark) -> CpuShares {
        let end = self.mark();
        let wall = end.at.duration_since(start.at).as_secs_f64().max(1e-3);
        let mut percent = [0.0; 5];
        for (i, p) in percent.iter_mut().take(4).enumerate() {
            *p = end.cpu[i].saturating_sub(start.cpu[i]).as_secs_f64() / wall * 100.0;
        }
        let machine = end.machine.saturating_sub(start.machine).as_secs_f64() / wall * 100.0;
        percent[4] = (machine - percent[..4].iter().sum::<f64>()).max(0.0);
        CpuShares { percent }
    }
}
