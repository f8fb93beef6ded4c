//! A schemathesis pass over the served OpenAPI document (`tests/schemathesis/`): every operation
//! of `/api_v1/openapi.json`, called with generated parameters against testdc, must answer
//! without a 5xx, inside the Bot API envelope (`envelope_check.py`) and as the document says.
//! Measured (Dec 2026, 2 cores): 130 operations, ~930 requests, ~60 s.
//!
//! Without schemathesis the test prints why and passes, unless `REQUIRE_CLIENT_LIBS=1` (CI), as
//! the client-library tests do. Install it with `python3 -m venv
//! crates/sender/tests/schemathesis/.venv && crates/sender/tests/schemathesis/.venv/bin/pip
//! install -r crates/sender/tests/schemathesis/requirements.txt`. Settings, exclusions and why
//! are in `tests/schemathesis/schemathesis.toml`; `--nocapture` shows schemathesis's summary.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::clients::available_or_skip;
use crate::helpers::{API_KEY, chats, spawn_app};

/// The whole pass, schemathesis's start-up included: a guard against a hang, not a timing
/// assertion. The pass takes one to two minutes alone and 190 s on a 2-core machine at a
/// load average of 15 (130 operations).
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

fn schemathesis_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_no_answer_outside_the_envelope_and_no_schema_violation()
{
    let cli = schemathesis_dir().join(".venv/bin/schemathesis");
    let install = "python3 -m venv crates/sender/tests/schemathesis/.venv && \
                   crates/sender/tests/schemathesis/.venv/bin/pip install -r \
                   crates/sender/tests/schemathesis/requirements.txt";
    if !available_or_skip(cli.exists(), "schemathesis", install) {
        return;
    }
    // The config steers chat_id to testdc's chats; it must not drift from the fixture.
    let config = std::fs::read_to_string(schemathesis_dir().join("schemathesis.toml")).unwrap();
    let c = chats();
    for id in [c.alice, c.bob, c.group, c.supergroup, c.channel] {
        assert!(
            config.contains(&id.to_string()),
            "schemathesis.toml lacks chat {id}"
        );
    }
    let app = spawn_app().await;
    let started = Instant::now();
    let mut command = Command::new(&cli);
    command
        .args(["--no-color", "run"])
        .arg(app.url("/api_v1/openapi.json"))
        .args(["--header", &format!("x-api-key: {API_KEY}")])
        .current_dir(schemathesis_dir())
        // Loopback only: never through a proxy the environment may configure.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .expect("schemathesis finished in time")
        .expect("schemathesis started");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}\n(schemathesis took {:?})", started.elapsed());
    assert!(
        output.status.success(),
        "schemathesis found failures ({}):\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    // Nothing the fuzzer sent broke the session.
    let me = app.get(&format!("/bot{API_KEY}/getMe")).await;
    assert_eq!(me.result()["id"], 100_000_001);
}
