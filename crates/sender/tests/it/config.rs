//! Startup refuses bad configuration with errors naming the variable, and starts signed out
//! (rather than failing) without a signed-in session.

use crate::helpers::test_config;

#[tokio::test]
async fn empty_api_token_refuses_to_start_naming_x_api_token() {
    let dir = tempfile::tempdir().unwrap();
    for token in ["", "   "] {
        let Err(error) = sender::App::build(test_config(&dir, token)).await else {
            panic!("an empty X_API_TOKEN was accepted");
        };
        assert!(format!("{error:#}").contains("X_API_TOKEN"), "{error:#}");
    }
}

#[tokio::test]
async fn missing_session_starts_signed_out_and_creates_the_file_private() {
    use std::os::unix::fs::PermissionsExt;

    use sender::connection::NOT_SIGNED_IN;

    let dc = testdc::TestDc::start(testdc::TestDcConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir, crate::helpers::API_KEY);
    let path = config.session_path();
    // Nothing contacts Telegram until a login code is requested, so no network is touched.
    let app = crate::helpers::spawn_on(dc, dir, config).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    app.post("getMe", serde_json::json!({}))
        .await
        .assert_error(503, NOT_SIGNED_IN);
    app.get("/readyz").await.assert_error(503, NOT_SIGNED_IN);
    assert_eq!(app.get("/healthz").await.status, 200);
}
