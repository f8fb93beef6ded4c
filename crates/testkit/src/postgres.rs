//! A real PostgreSQL server (Debian's `postgresql` package, `.ci/run` installs it) on a free
//! loopback port with a temporary data directory, killed when dropped.
//!
//! `initdb` and `postgres` refuse to run as root, so as root they run as the `postgres` user the
//! package creates (`setpriv`, which `exec`s, so the child is the postmaster itself). Local
//! connections are trusted (`initdb --auth=trust`) and `fsync` is off: a test's throwaway cluster
//! needs no password and no durability against power loss (a killed *process* loses nothing).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One `postgres` process on `127.0.0.1:<port>`, user `postgres`, trust authentication.
pub struct Postgres {
    addr: SocketAddr,
    data: tempfile::TempDir,
    bin: PathBuf,
    child: Option<Child>,
}

impl Postgres {
    /// Runs `initdb` into a temporary directory and starts the server on a free loopback port,
    /// waiting until it accepts connections.
    ///
    /// Panics (it is test support) when PostgreSQL is not installed
    /// (`apt-get install postgresql`), `initdb` fails, or the server is not up within 30 s.
    pub async fn start() -> Self {
        let bin = bin_dir();
        let data = tempfile::Builder::new()
            .prefix("pg-test-")
            .tempdir()
            .expect("temporary data directory");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(data.path())
                .status()
                .expect("run chown");
            assert!(status.success(), "chown of the data directory failed");
        }
        let output = as_postgres(&bin.join("initdb"))
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "-D",
            ])
            .arg(data.path().join("db"))
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut server = Self {
            addr: free_port(),
            data,
            bin,
            child: None,
        };
        // A port picked free can be taken by another test's server before this one binds it:
        // try another port then.
        for _ in 0..3 {
            match server.spawn_and_wait().await {
                Ok(()) => return server,
                Err(_) => server.addr = free_port(),
            }
        }
        if let Err(log) = server.spawn_and_wait().await {
            panic!("postgres exited at start four times; its last log:\n{log}");
        }
        server
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@{}/{database}", self.addr)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Creates database `name` (with `createdb`) and returns its [`Postgres::url`]. Tests
    /// sharing one server each take a database of their own.
    ///
    /// Panics when `createdb` fails (for example, the name exists).
    pub fn create_database(&self, name: &str) -> String {
        let output = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.addr.port().to_string())
            .arg(name)
            .output()
            .expect("run createdb");
        assert!(
            output.status.success(),
            "createdb {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.url(name)
    }

    /// The server's log file, appended to by every start.
    pub fn log_path(&self) -> PathBuf {
        self.data.path().join("postgres.log")
    }

    /// Kills the server (SIGKILL, as a crash would; PostgreSQL recovers from its WAL at the
    /// next start) and waits for it to exit. The port and the data are kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again (after [`Postgres::stop`]) on the same port and data.
    /// Panics as [`Postgres::start`] does.
    pub async fn start_again(&mut self) {
        if let Err(log) = self.spawn_and_wait().await {
            panic!("postgres exited at start; its log:\n{log}");
        }
    }

    /// Starts the postmaster and waits until it accepts connections; `Err` with its log when
    /// it exits first. Panics when it does not come up within 30 s.
    async fn spawn_and_wait(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "postgres is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the postgres log");
        if is_root() {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(self.log_path())
                .status();
        }
        let child = as_postgres(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.data.path().join("db"))
            .args(["-h", "127.0.0.1", "-p"])
            .arg(self.addr.port().to_string())
            // The socket directory inside the data directory: /var/run/postgresql may be
            // missing or belong to a system cluster.
            .arg("-k")
            .arg(self.data.path())
            .args(["-F", "-c", "max_connections=300"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run postgres ({e})"));
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Polls `pg_isready` until the server accepts connections.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!("exit status {status}\n{log}"));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(self.addr.port().to_string())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections on {} within {START_TIMEOUT:?}; log: {}",
                self.addr,
                self.log_path().display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `Command` for `program` that runs as the `postgres` user when this process is root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Whether this process runs as root (`id -u` prints 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The directory holding `initdb`: the one on `PATH`, else Debian's
/// `/usr/lib/postgresql/<newest>/bin` (the package does not put it on `PATH`).
///
/// Panics when neither exists.
fn bin_dir() -> PathBuf {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_isready").is_file() {
                return dir;
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no initdb); install it: apt-get install postgresql")
    })
}

/// A loopback port nothing listens on now (the OS's pick, released at once).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address")
}
