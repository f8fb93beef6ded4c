//! [`TestDc`]'s view of the connections per auth key ([`crate::key_connections`]): the
//! in-process API and the control API's `/auth_keys` routes.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::json;

use crate::AuthKeyConnections;
use crate::dc::{ControlError, TestDc};

impl TestDc {
    /// Per auth key that ever had a connection (by account, then key id): how many MTProto
    /// connections on it are open now and the most that were open at once. Keys never used
    /// are absent; a key whose connections all closed stays, with `open` 0.
    pub fn auth_key_connections(&self) -> Vec<AuthKeyConnections> {
        self.shared.key_connections.snapshot()
    }

    /// Sets every key's [`AuthKeyConnections::peak`] to its current `open`, so a test can read
    /// the peak of a window (a failover) rather than of the DC's whole life.
    pub fn reset_auth_key_peaks(&self) {
        self.shared.key_connections.reset_peaks();
    }

    /// Waits until `until` holds for [`TestDc::auth_key_connections`] (checked now and after
    /// every connection opened or closed), up to `timeout`; returns the list it held for.
    /// Connections close asynchronously (a client leaving, [`TestDc::drop_connections`]): this
    /// awaits the count instead of sleeping. Errors: [`ControlError::Timeout`].
    pub async fn wait_auth_key_connections(
        &self,
        until: impl Fn(&[AuthKeyConnections]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<AuthKeyConnections>, ControlError> {
        let connections = &self.shared.key_connections;
        let mut changes = connections.subscribe();
        let wait = async {
            loop {
                let now = connections.snapshot();
                if until(&now) {
                    return Some(now);
                }
                changes.changed().await.ok()?;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .ok()
            .flatten()
            .ok_or(ControlError::Timeout(timeout))
    }
}

/// `GET /auth_keys`: `{auth_keys: [{auth_key_id, account, open, peak}]}`.
pub(crate) async fn auth_keys_http(State(dc): State<Arc<TestDc>>) -> Json<serde_json::Value> {
    Json(json!({ "auth_keys": dc.auth_key_connections() }))
}

/// `POST /auth_keys/reset_peaks`: every peak becomes its open count; `{ok: true}`.
pub(crate) async fn reset_peaks_http(State(dc): State<Arc<TestDc>>) -> Json<serde_json::Value> {
    dc.reset_auth_key_peaks();
    Json(json!({ "ok": true }))
}
