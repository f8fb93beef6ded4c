//! Signing a session in and out through testdc's real login flows.

use std::time::Duration;

use secrecy::SecretString;
use telegram::login::{Login, LoginStep};
use telegram::{DEFAULT_UPLOAD_CONCURRENCY, Telegram, TelegramConfig};
use testdc::{Fixture, TestDc, TestDcConfig};

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn unauthorized() -> (TestDc, TelegramConfig, tempfile::TempDir) {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("login.session");
    dc.write_unauthorized_session(&path).await.unwrap();
    let config = TelegramConfig {
        api_id: 1,
        session_path: path,
        flood_sleep_threshold: Duration::from_secs(5),
        updates_capacity: 10,
        upload_concurrency: DEFAULT_UPLOAD_CONCURRENCY,
    };
    (dc, config, dir)
}

#[tokio::test]
async fn phone_code_login_signs_the_session_in() {
    let (dc, config, _dir) = unauthorized().await;
    assert!(matches!(
        Telegram::connect(config.clone()).await,
        Err(telegram::TelegramError::Unauthorized)
    ));
    let login = Login::open(&config, secret("hash")).await.unwrap();
    assert!(!login.is_authorized().await.unwrap());
    login.request_code(Fixture::PHONE).await.unwrap();
    let wrong = login.sign_in(&secret("00000")).await;
    assert!(matches!(wrong, Err(e) if e.is("PHONE_CODE_INVALID")));
    let code = dc.last_login_code().unwrap();
    let LoginStep::Done(account) = login.sign_in(&secret(&code)).await.unwrap() else {
        panic!("no 2FA here");
    };
    assert_eq!(account.id, Fixture::DEFAULT.self_id);
    drop(login);
    let tg = Telegram::connect(config).await.unwrap();
    assert_eq!(tg.account().user.id, Fixture::DEFAULT.self_id);
}

#[tokio::test]
async fn two_step_password_is_checked_and_can_be_retried() {
    let (dc, config, _dir) = unauthorized().await;
    dc.set_password(Some("correct horse"));
    let login = Login::open(&config, secret("hash")).await.unwrap();
    login.request_code(Fixture::PHONE).await.unwrap();
    let code = dc.last_login_code().unwrap();
    let step = login.sign_in(&secret(&code)).await.unwrap();
    assert_eq!(
        step,
        LoginStep::PasswordNeeded {
            hint: Some(Fixture::PASSWORD_HINT.into())
        }
    );
    let wrong = login.check_password(&secret("battery staple")).await;
    assert!(matches!(wrong, Err(e) if e.is("PASSWORD_HASH_INVALID")));
    let step = login
        .check_password(&secret("correct horse"))
        .await
        .unwrap();
    assert!(matches!(step, LoginStep::Done(a) if a.id == Fixture::DEFAULT.self_id));
    assert!(login.is_authorized().await.unwrap());
}

#[tokio::test]
async fn bot_token_login_and_log_out() {
    let (_dc, config, _dir) = unauthorized().await;
    let login = Login::open(&config, secret("hash")).await.unwrap();
    let step = login
        .bot_sign_in(&secret(Fixture::BOT_TOKEN))
        .await
        .unwrap();
    assert!(matches!(step, LoginStep::Done(a) if a.is_bot && a.id == Fixture::DEFAULT.bot));
    login.log_out().await.unwrap();
    assert!(!login.is_authorized().await.unwrap());
}
