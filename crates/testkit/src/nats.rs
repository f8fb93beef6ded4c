//! A real `nats-server` (Debian's package, `.ci/run` installs it) with JetStream, on a free
//! loopback port and a temporary store directory, killed when dropped.
//!
//! [`NatsServer::stop`] and [`NatsServer::start_again`] make outages: the same port and the
//! same store, so a client reconnects to the stream it had.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncBufReadExt;

/// How long a started server may take to accept connections (it takes milliseconds).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One `nats-server -js` process; the store survives [`NatsServer::stop`].
pub struct NatsServer {
    addr: SocketAddr,
    store: tempfile::TempDir,
    child: Option<Child>,
    /// A configuration file (`-c`) and the environment its `$VARIABLES` come from.
    config: Option<(PathBuf, Vec<(String, String)>)>,
}

impl NatsServer {
    /// Starts `nats-server -js -a 127.0.0.1 -p <free port> -sd <temp dir>` and waits until it
    /// accepts clients with JetStream on.
    ///
    /// Panics (it is test support) when `nats-server` is not installed
    /// (`apt-get install nats-server`), or it does not come up within 20 s.
    pub async fn start() -> Self {
        Self::start_with_config(None, &[]).await
    }

    /// [`NatsServer::start`] with a configuration file holding `config` (accounts, users,
    /// permissions; the command line's port, address and store win over it) and `env` for the
    /// `$VARIABLE`s it names. The server must let its monitoring-free greeting announce
    /// JetStream (`jetstream` enabled in the file or by `-js`).
    pub async fn start_with_config(config: Option<&str>, env: &[(&str, &str)]) -> Self {
        let store = tempfile::tempdir().expect("temporary store directory");
        let config = config.map(|text| {
            let path = store.path().join("nats.conf");
            std::fs::write(&path, text).expect("write nats.conf");
            let env = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            (path, env)
        });
        let mut server = Self {
            addr: free_port(),
            store,
            child: None,
            config,
        };
        server.start_again().await;
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JetStream store directory (kept across restarts).
    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// The server's log file (`-l`), appended to by every start.
    pub fn log_path(&self) -> PathBuf {
        self.store.path().join("nats-server.log")
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL, as a crash would; JetStream recovers its files at the next
    /// start) and waits for it to exit. The port and the store are kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again (after [`NatsServer::stop`]) on the same port and store.
    /// Panics as [`NatsServer::start`] does.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "nats-server is already running");
        let mut command = Command::new("nats-server");
        if let Some((path, env)) = &self.config {
            command
                .arg("-c")
                .arg(path)
                .envs(env.iter().map(|(k, v)| (k, v)));
        }
        let child = command
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.addr.port().to_string())
            .arg("-sd")
            .arg(self.store.path())
            .arg("-l")
            .arg(self.log_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run nats-server ({e}); install it: apt-get install nats-server")
            });
        self.child = Some(child);
        self.wait_ready().await;
    }

    /// Connects until the server's greeting (`INFO {…}`) says JetStream is on.
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                panic!(
                    "nats-server exited at start ({status}); its log: {}",
                    self.log_path().display()
                );
            }
            if greeting_has_jetstream(self.addr).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not accept clients on {} within {START_TIMEOUT:?}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a connection to `addr` gets an `INFO` line announcing `"jetstream":true`.
async fn greeting_has_jetstream(addr: SocketAddr) -> bool {
    let Ok(Ok(stream)) =
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(stream);
    let read = tokio::time::timeout(Duration::from_secs(1), reader.read_line(&mut line)).await;
    matches!(read, Ok(Ok(n)) if n > 0)
        && line.starts_with("INFO ")
        && line.contains("\"jetstream\":true")
}

/// A loopback port nothing listens on now (the OS's pick, released at once).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address")
}

/// The NATS server configuration README.md shows under *NATS* ("Permissions"), for `account`
/// instead of its example 123456789, without its `jetstream { store_dir }` line (the command
/// line sets the store), plus a user `admin` (password `admin`) without limits in the same
/// account, for the test's own inspection. Its users' passwords come from
/// `NATS_RECEIVER_PASSWORD`, `NATS_SENDER_PASSWORD` and `NATS_SHOP_PASSWORD` (see
/// [`NatsServer::start_with_config`]).
///
/// Panics when the README has no such block: the documentation and this test moved apart.
pub fn documented_config(account: i64) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme
        .find("jetstream { store_dir: /data }\naccounts {")
        .expect("README.md shows the NATS permissions configuration");
    let block = &readme[start..];
    let end = block.find("\n```").expect("the configuration block ends");
    block[..end]
        .replacen("jetstream { store_dir: /data }\n", "", 1)
        .replace("123456789", &account.to_string())
        .replacen(
            "users: [\n",
            "users: [\n      { user: admin, password: admin }\n",
            1,
        )
}
