//! Slowloris from the client side: connections that send an incomplete request head and stall,
//! this process's open-file limit (raised with `prlimit` on its own pid: `unsafe` is forbidden
//! in the workspace), and the lines a child process prints.
//!
//! Helpers panic with a message on failure: they are for tests only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The request head every stalled connection sends: the final blank line never comes.
pub const STALLED_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

/// The soft and hard limits on open files of this process (`/proc/self/limits`; "unlimited"
/// reads as `u64::MAX`).
pub fn nofile() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    let soft = values.next().expect("soft limit");
    let hard = values.next().expect("hard limit");
    (soft, hard)
}

/// How many stalled connections this process can hold: `wanted`, after raising its soft
/// open-file limit to `wanted + own_fds` (never above the hard limit), or fewer — but still more
/// than `child_nofile`, the limit of the server under test — when the hard limit is too low.
pub fn stalled_count(wanted: usize, own_fds: u64, child_nofile: u64) -> usize {
    let want = wanted as u64 + own_fds;
    let (soft, hard) = nofile();
    if soft < want {
        let status = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={}:", want.min(hard)))
            .status()
            .expect("prlimit runs");
        assert!(status.success(), "prlimit failed");
    }
    let soft = nofile().0;
    let count = wanted.min(usize::try_from(soft.saturating_sub(own_fds)).unwrap_or(usize::MAX));
    assert!(
        count as u64 > child_nofile,
        "the hard fd limit ({soft}) leaves room for {count} connections, not more than the \
         server's {child_nofile}"
    );
    if count < wanted {
        eprintln!("fd hard limit {soft}: opening {count} stalled connections, not {wanted}");
    }
    count
}

/// Forwards every line of `stream` to `lines`, draining it continuously so the child never
/// blocks on a full pipe; ends with the stream.
pub fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    lines: mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            let _ = lines.send(line);
        }
    });
}

/// Waits up to `within` for a line containing `needle`; panics when the output ends first or
/// time runs out.
pub async fn logged(lines: &mut mpsc::UnboundedReceiver<String>, needle: &str, within: Duration) {
    let found = tokio::time::timeout(within, async {
        while let Some(line) = lines.recv().await {
            if line.contains(needle) {
                return;
            }
        }
        panic!("the output ended without {needle:?}");
    });
    found
        .await
        .unwrap_or_else(|_| panic!("{needle:?} was not logged within {within:?}"));
}

/// How long the server takes to close `stream` (end of stream or reset); panics after `within`.
pub async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 512];
        while let Ok(1..) = stream.read(&mut buf).await {}
    });
    closed
        .await
        .expect("a stalled connection was closed by the server in time");
    started.elapsed()
}

/// Opens `count` connections to `addr` that each send [`STALLED_HEAD`] and stall; returns them
/// (the caller holds them open) and how long opening them took. Each connect may take up to
/// `within` (a server that stopped accepting fails here).
pub async fn stall(addr: SocketAddr, count: usize, within: Duration) -> (Vec<TcpStream>, Duration) {
    let started = Instant::now();
    let mut held = Vec::with_capacity(count);
    for i in 0..count {
        let mut stream = tokio::time::timeout(within, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connection {i} was not even queued"))
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        stream
            .write_all(STALLED_HEAD)
            .await
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        held.push(stream);
    }
    (held, started.elapsed())
}

/// Collects `child`'s stdout and stderr lines (see [`forward`]) and waits up to `within` for the
/// line containing `marker`, returning the `addr=<socket address>` it carries (how both binaries
/// log where they listen). Panics with everything printed so far when none comes.
pub async fn listening_addr(
    child: &mut tokio::process::Child,
    marker: &str,
    within: Duration,
) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let (tx, mut lines) = mpsc::unbounded_channel();
    forward(child.stdout.take().expect("piped stdout"), tx.clone());
    forward(child.stderr.take().expect("piped stderr"), tx);
    let mut output = Vec::new();
    let addr = tokio::time::timeout(within, async {
        while let Some(line) = lines.recv().await {
            output.push(line.clone());
            if line.contains(marker)
                && let Some(at) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
            {
                return at.parse::<SocketAddr>().ok();
            }
        }
        None
    })
    .await;
    match addr {
        Ok(Some(addr)) => (addr, lines),
        _ => panic!(
            "no {marker:?} line with addr= within {within:?}:\n{}",
            output.join("\n")
        ),
    }
}
