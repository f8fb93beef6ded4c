//! Startup refuses bad configuration with errors naming the variable.

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
async fn missing_session_names_the_session_setting() {
    let dir = tempfile::tempdir().unwrap();
    let Err(error) = sender::App::build(test_config(&dir, "1:key")).await else {
        panic!("started without a signed-in session");
    };
    let error = format!("{error:#}");
    assert!(
        error.contains("TG_SESSION_NAME") && error.contains("does not exist"),
        "{error}"
    );
    assert!(
        !dir.path().join("tg_userbot.session").exists(),
        "no session file was created"
    );
}
