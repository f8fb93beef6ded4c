//! The stop signal both binaries obey: SIGTERM (what `docker compose down`/`stop` send) or
//! Ctrl-C.

use std::future::Future;
use std::io;

/// Installs the SIGTERM (Unix) and Ctrl-C handlers now and returns a future that completes on
/// the first of them, logging which one arrived.
///
/// Installing before anything starts means a SIGTERM sent during a slow start-up (connecting
/// to Telegram, opening stores) is never missed: it stops the binary as soon as it serves.
///
/// Errors: the SIGTERM handler cannot be installed (the OS refused; the binary should not run
/// without a way to stop it cleanly).
pub fn signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received, shutting down"),
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received, shutting down");
        }
    })
}
