//! Builds `tests/clients/teloxide` (its own Cargo project, outside the workspace, with its own
//! Cargo.lock) into `target/clients-teloxide` under the workspace, so the client tests can run it.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::Command;

use crate::clients::{available_or_skip, clients_dir};

/// The install command, for skip and failure messages.
pub(crate) const TELOXIDE_BUILD: &str = "cargo build --locked --manifest-path \
     crates/sender/tests/clients/teloxide/Cargo.toml --target-dir target/clients-teloxide";

/// The built `teloxide-check` program: `cargo build` (a no-op when `.ci/run` built it already),
/// or `None` after a skip when it cannot be built (its crates not downloadable) and
/// `REQUIRE_CLIENT_LIBS` is not 1.
pub(crate) async fn teloxide_program() -> Option<PathBuf> {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/clients-teloxide");
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(clients_dir().join("teloxide/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .output()
        .await;
    let built = match &output {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            false
        }
        Err(error) => {
            eprintln!("cannot run cargo: {error}");
            false
        }
    };
    available_or_skip(built, "teloxide", TELOXIDE_BUILD)
        .then(|| target.join("debug/teloxide-check"))
}
