//! Logging setup: one human-readable line per event on stdout (what `docker compose logs`
//! shows), and, when `LOGS_DIR` is set, the same events as JSON lines in a daily rolling file
//! `<LOGS_DIR>/<binary>.<date>`, keeping `LOG_MAX_FILES` files. `RUST_LOG` selects levels
//! (default `info`). Callers never log secrets: keys and codes are `secrecy` types.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Where and how much to log.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// File name prefix, e.g. `receiver`.
    pub binary: &'static str,
    /// Directory for JSON log files; `None` logs to stdout only.
    pub logs_dir: Option<PathBuf>,
    /// How many daily files to keep (older ones are deleted on rotation).
    pub max_files: usize,
    /// Write the human lines to stderr instead of stdout (the receiver keeps stdout for its
    /// one-line-per-message traffic log).
    pub to_stderr: bool,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The rolling file appender could not be created (directory not writable, …).
    #[error("cannot write log files in {dir}: {source}")]
    Files {
        /// The configured directory.
        dir: PathBuf,
        /// The underlying error.
        source: tracing_appender::rolling::InitError,
    },
    /// A global subscriber was already installed.
    #[error("logging was already initialised")]
    AlreadyInitialised,
}

/// Installs the global subscriber. Keep the returned guard alive until exit: dropping it
/// flushes the file writer.
pub fn init(config: &LogConfig) -> Result<Option<WorkerGuard>, LogError> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let human = fmt::layer()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(if config.to_stderr {
            BoxMakeWriter::new(std::io::stderr)
        } else {
            BoxMakeWriter::new(std::io::stdout)
        })
        .with_filter(filter());
    let (files, guard) = match &config.logs_dir {
        Some(dir) => {
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix(config.binary)
                .max_log_files(config.max_files.max(1))
                .build(dir)
                .map_err(|source| LogError::Files {
                    dir: dir.clone(),
                    source,
                })?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = fmt::layer()
                .json()
                .with_writer(writer)
                .with_filter(filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(human)
        .with(files)
        .try_init()
        .map_err(|_| LogError::AlreadyInitialised)?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_reach_the_json_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = LogConfig {
            binary: "unit",
            logs_dir: Some(dir.path().to_owned()),
            max_files: 2,
            to_stderr: false,
        };
        let guard = init(&config).expect("first init");
        tracing::info!(chat_id = 42, "hello from the test");
        drop(guard);
        let file = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("unit"))
            .expect("a log file");
        let line = std::fs::read_to_string(file.path()).expect("read");
        let json: serde_json::Value =
            serde_json::from_str(line.lines().next().expect("a line")).expect("json");
        assert_eq!(json["fields"]["message"], "hello from the test");
        assert_eq!(json["fields"]["chat_id"], 42);
        assert!(matches!(init(&config), Err(LogError::AlreadyInitialised)));
    }
}
