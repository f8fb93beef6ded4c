//! Operations: `/healthz`, `/readyz`, `/status`, `/metrics`, dead letters and their replay,
//! and the archive directory.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{API_KEY, Options, WAIT, ids, spawn_app};

/// Re-checks `check` every 20 ms until it yields a value, up to [`WAIT`] (for state that
/// has no event to await, such as an HTTP endpoint).
async fn eventually<T, F: Future<Output = Option<T>>>(mut check: impl FnMut() -> F) -> T {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(WAIT, async {
        loop {
            tick.tick().await;
            if let Some(value) = check().await {
                return value;
            }
        }
    })
    .await
    .expect("condition reached in time")
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `get` with `x-api-key`.
async fn get_with_key(addr: std::net::SocketAddr, path: &str, key: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn status_readyz_metrics_and_archive_report_the_pipeline() {
    let mut app = spawn_app(Options {
        configure: |c| c.archive_dir = Some(c.media_dir.with_file_name("archive")),
        ..Options::default()
    })
    .await;
    let addr = app.media_addr;
    assert_eq!(get(addr, "/healthz").await.0, 200);
    let (code, body) = get(addr, "/readyz").await;
    assert_eq!(code, 200, "{body}");

    app.sink_mut().respond_next(&[502; 1000]);
    let alice = ids().alice;
    app.send(Some(alice), alice, "stuck for now", None);
    let first = app.next_payload().await;
    let status: Value = eventually(|| async {
        let status = get_with_key(addr, "/status", API_KEY).await.1;
        status["last_error"].is_string().then_some(status)
    })
    .await;
    // Without the key: counts only, no webhook URL and no error text.
    let open: Value = serde_json::from_str(&get(addr, "/status").await.1).unwrap();
    assert_eq!(open["pending"], 1);
    assert!(
        open.get("webhook_url").is_none() && open.get("last_error").is_none(),
        "{open}"
    );
    assert_eq!(status["pending"], 1);
    assert!(status["oldest_pending_age_seconds"].as_f64().unwrap() >= 0.0);
    assert!(status["last_error"].as_str().unwrap().contains("502"));
    assert!(status["webhook_url"].as_str().unwrap().ends_with("/hook"));
    assert_eq!(status["dead_letters"], 0);

    // Archived at once, whatever the webhook does.
    let archive = app.dir.join("archive");
    let update_id = first.body["update_id"].as_i64().unwrap();
    let file = eventually(|| {
        let archive = archive.clone();
        async move {
            let day = std::fs::read_dir(&archive).ok()?.next()?.ok()?.path();
            assert!(day.file_name()?.to_str()?.starts_with("context_date=20"));
            std::fs::read_dir(&day)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(&format!("_{update_id}.json")))
        }
    })
    .await;
    let archived: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(archived, first.body);

    app.sink_mut().clear_script();
    let delivered = loop {
        let got = app.next_payload().await;
        if got.delivered() {
            break got;
        }
    };
    assert_eq!(delivered.webhook_id(), first.webhook_id());
    let metrics = get(addr, "/metrics").await.1;
    assert!(metrics.contains("updates_received_total"), "{metrics}");
    assert!(
        metrics.contains(r#"webhook_deliveries_total{outcome="retried"}"#),
        "{metrics}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn too_old_updates_become_dead_letters_that_can_be_replayed() {
    let mut app = spawn_app(Options {
        configure: |c| c.webhook_max_age = Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let addr = app.media_addr;
    app.sink_mut().respond_next(&[500; 10_000]);
    let alice = ids().alice;
    app.send(Some(alice), alice, "given up", None);
    let first = app.next_payload().await;
    let letters: Value = eventually(|| async {
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/dead-letters"))
            .header("x-api-key", API_KEY)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        (!body["dead_letters"].as_array()?.is_empty()).then_some(body)
    })
    .await;
    let letter = &letters["dead_letters"][0];
    assert_eq!(letter["update_id"], first.body["update_id"]);
    assert_eq!(letter["webhook_id"], first.webhook_id());
    assert!(letter["last_error"].as_str().unwrap().contains("500"));
    assert_eq!(get(addr, "/dead-letters").await.0, 401, "needs the API key");

    app.sink_mut().clear_script();
    let replay = reqwest::Client::new()
        .post(format!("http://{addr}/dead-letters/replay"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 200);
    let got = loop {
        let got = app.next_payload().await;
        if got.delivered() {
            break got;
        }
    };
    assert_eq!(got.webhook_id(), first.webhook_id());
    assert_eq!(got.text(), Some("given up"));
    app.stop().await.unwrap();
}

/// Without `WEBHOOK_API_KEY` (the default) nothing on the published port reveals or changes
/// delivery: the dead-letter routes answer 403 and `/status` shows counts only; the probes and
/// `/metrics` stay open.
#[tokio::test]
async fn without_a_webhook_key_the_operations_routes_are_off() {
    let app = spawn_app(Options {
        configure: |c| c.webhook_api_key = None,
        ..Options::default()
    })
    .await;
    let addr = app.media_addr;
    assert_eq!(get(addr, "/dead-letters").await.0, 403);
    assert_eq!(get_with_key(addr, "/dead-letters", "anything").await.0, 403);
    let client = reqwest::Client::new();
    for path in ["/dead-letters/replay", "/dead-letters/1/replay"] {
        let response = client
            .post(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{path}");
    }
    let (code, status) = get(addr, "/status").await;
    assert_eq!(code, 200);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert!(status.get("webhook_url").is_none(), "{status}");
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(get(addr, open).await.0, 200, "{open}");
    }
    app.stop().await.unwrap();
}
