//! Connections per auth key: open now and the most open at once, counted from a client's
//! first packet until its socket closes, whichever way it closes; in process and over HTTP.

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use grammers_client::{Client, tl};
use grammers_mtsender::{ConnectionParams, NoRetries, SenderPool};
use serde_json::json;
use testdc::{AuthKeyConnections, Fixture, TestDc, TestDcConfig};

use crate::control::call;
use crate::{WAIT, harness};

/// A grammers client on the session at `path` that has spoken once (so the DC knows its key).
async fn connect(path: &Path) -> Client {
    let store = Arc::new(session::SessionStore::open(path).await.unwrap());
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..ConnectionParams::default()
    };
    let pool = SenderPool::with_configuration(store, 1, params);
    tokio::spawn(pool.runner.run());
    let client = Client::new(pool.handle);
    client.get_me().await.unwrap();
    client
}

fn on_key<'a>(all: &'a [AuthKeyConnections], key: &str) -> Option<&'a AuthKeyConnections> {
    all.iter().find(|c| c.auth_key_id == key)
}

/// Waits until `open` connections are open on `key`; returns its counts then.
async fn until_open(dc: &TestDc, key: &str, open: usize) -> AuthKeyConnections {
    let reached = |all: &[AuthKeyConnections]| on_key(all, key).is_some_and(|c| c.open == open);
    let all = dc.wait_auth_key_connections(reached, WAIT).await;
    let all = all.unwrap_or_else(|e| panic!("{e}: {:?}", dc.auth_key_connections()));
    on_key(&all, key).unwrap().clone()
}

#[tokio::test]
async fn two_clients_on_one_session_show_as_two_open_connections_on_its_key() {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.session");
    dc.write_session(&path).await.unwrap();
    let key = dc.default_account().auth_key_id();
    assert_eq!(
        dc.auth_key_connections(),
        [],
        "counted before any client spoke"
    );

    let first = connect(&path).await;
    let counts = until_open(&dc, &key, 1).await;
    assert_eq!(
        counts,
        AuthKeyConnections {
            auth_key_id: key.clone(),
            account: Fixture::DEFAULT.self_id,
            open: 1,
            peak: 1,
        }
    );

    // A second gateway instance on the same session file: the same auth key, at the same time.
    let second = connect(&path).await;
    let counts = until_open(&dc, &key, 2).await;
    assert_eq!((counts.open, counts.peak), (2, 2));

    first.disconnect();
    let counts = until_open(&dc, &key, 1).await;
    assert_eq!(
        (counts.open, counts.peak),
        (1, 2),
        "the peak outlives the connection"
    );

    dc.reset_auth_key_peaks();
    let all = dc.auth_key_connections();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((all[0].open, all[0].peak), (1, 1));
    // The remaining client still speaks on its counted connection.
    second.get_me().await.unwrap();
    assert_eq!(dc.auth_key_connections(), all);
}

#[tokio::test]
async fn dropped_connections_close_in_the_count_and_a_reconnect_opens_one() {
    let h = harness().await;
    let key = h.dc.default_account().auth_key_id();
    let state = tl::functions::updates::GetState {};
    h.client.invoke(&state).await.unwrap();
    until_open(&h.dc, &key, 1).await;

    h.dc.drop_connections();
    let counts = until_open(&h.dc, &key, 0).await;
    assert_eq!(counts.peak, 1);

    // The first call may race the close and fail with an I/O error; a retry reconnects.
    let mut answered = false;
    for _ in 0..3 {
        if h.client.invoke(&state).await.is_ok() {
            answered = true;
            break;
        }
    }
    assert!(answered, "no call succeeded after the drop");
    let counts = until_open(&h.dc, &key, 1).await;
    assert_eq!(
        counts.peak, 1,
        "the dropped connection closed before the new one opened"
    );
}

#[tokio::test]
async fn auth_keys_over_http_name_each_key_and_its_account() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let app = testdc::http::router(dc.clone());
    let added = dc.add_accounts(1).remove(0);
    let account = dc.account(added.user_id).unwrap();
    let key = account.auth_key_id();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("added.session");
    account.write_session(&path).await.unwrap();

    let client = connect(&path).await;
    let (status, body) = call(&app, "GET", "/auth_keys", None).await;
    assert_eq!(status, StatusCode::OK);
    let expected = json!([{"auth_key_id": key, "account": added.user_id, "open": 1, "peak": 1}]);
    assert_eq!(body["auth_keys"], expected);

    client.disconnect();
    until_open(&dc, &key, 0).await;
    let (status, _) = call(&app, "POST", "/auth_keys/reset_peaks", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = call(&app, "GET", "/auth_keys", None).await;
    let expected = json!([{"auth_key_id": key, "account": added.user_id, "open": 0, "peak": 0}]);
    assert_eq!(body["auth_keys"], expected);
}
