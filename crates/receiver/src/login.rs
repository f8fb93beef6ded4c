//! Interactive login (`receiver login`, or the receiver's first start with a terminal): asks for the phone number (default `TG_PHONE_NUMBER`), the login code and the 2FA password,
//! or signs in with `TG_BOT_TOKEN`, and leaves a signed-in session file behind.
//!
//! The code and the password are read without echo when stdin is a terminal (rpassword), are
//! held as [`SecretString`]s, and are never logged or printed back.

use std::io::{BufRead, IsTerminal, Write};

use secrecy::SecretString;
use telegram::login::{AccountSummary, Login, LoginStep};
use telegram::{TelegramConfig, TelegramError};

/// What the login needs besides the session location.
pub struct LoginInput {
    /// `TG_API_HASH` (Telegram refuses a code request without it).
    pub api_hash: SecretString,
    /// `TG_PHONE_NUMBER`, offered as the default answer.
    pub phone: Option<String>,
    /// `TG_BOT_TOKEN`: sign in as a bot instead of asking for a phone.
    pub bot_token: Option<SecretString>,
}

/// Why the interactive login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Telegram refused a step (wrong code three times, flood wait, …).
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    /// Reading the terminal failed or it closed.
    #[error("could not read the answer: {0}")]
    Io(#[from] std::io::Error),
    /// The number has no Telegram account yet.
    #[error("this phone number has no Telegram account; sign up with an official app first")]
    SignUpRequired,
}

/// How many wrong codes or passwords are tolerated before giving up.
const ATTEMPTS: usize = 3;

/// Runs the login against the session in `config`, prompting on `input`/`output`. Returns
/// the account when signed in (also when the session already was).
pub async fn interactive(
    config: &TelegramConfig,
    login_input: LoginInput,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> Result<AccountSummary, LoginError> {
    let login = Login::open(config, login_input.api_hash).await?;
    if login.is_authorized().await? {
        writeln!(
            output,
            "The session at {} is already signed in.",
            config.session_path.display()
        )?;
        return Ok(telegram::Telegram::connect(config.clone())
            .await?
            .account()
            .summary());
    }
    if let Some(token) = &login_input.bot_token {
        return done(login.bot_sign_in(token).await?, output);
    }
    let default = login_input.phone.unwrap_or_default();
    let phone = ask(input, output, &format!("Phone number [{default}]: "), false)?;
    let phone = if phone.trim().is_empty() {
        default
    } else {
        phone.trim().to_owned()
    };
    login.request_code(&phone).await?;
    let mut step = None;
    for _ in 0..ATTEMPTS {
        let code = SecretString::from(ask(
            input,
            output,
            "Login code (sent to your Telegram app): ",
            true,
        )?);
        match login.sign_in(&code).await {
            Ok(s) => {
                step = Some(s);
                break;
            }
            Err(e) if e.is("PHONE_CODE_INVALID") => {
                writeln!(output, "That code is not valid; try again.")?
            }
            Err(e) => return Err(e.into()),
        }
    }
    let Some(mut step) = step else {
        return Err(TelegramError::Rpc {
            code: 400,
            name: "PHONE_CODE_INVALID".into(),
            value: None,
        }
        .into());
    };
    for attempt in 1..=ATTEMPTS {
        let LoginStep::PasswordNeeded { hint } = &step else {
            break;
        };
        let hint = hint
            .as_deref()
            .map(|h| format!(" (hint: {h})"))
            .unwrap_or_default();
        let password = SecretString::from(ask(
            input,
            output,
            &format!("Two-step verification password{hint}: "),
            true,
        )?);
        match login.check_password(&password).await {
            Ok(s) => step = s,
            Err(e) if e.is("PASSWORD_HASH_INVALID") && attempt < ATTEMPTS => {
                writeln!(output, "Wrong password; try again.")?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    done(step, output)
}

fn done(step: LoginStep, output: &mut impl Write) -> Result<AccountSummary, LoginError> {
    match step {
        LoginStep::Done(account) => {
            let name = account
                .username
                .as_deref()
                .map(|u| format!(" (@{u})"))
                .unwrap_or_default();
            writeln!(
                output,
                "Signed in as {}{name}, id {}.",
                account.first_name, account.id
            )?;
            Ok(*account)
        }
        LoginStep::SignUpRequired => Err(LoginError::SignUpRequired),
        LoginStep::PasswordNeeded { .. } => Err(TelegramError::Rpc {
            code: 400,
            name: "PASSWORD_HASH_INVALID".into(),
            value: None,
        }
        .into()),
    }
}

/// Asks one question. Secret answers are read without echo when stdin is a terminal.
fn ask(
    input: &mut impl BufRead,
    output: &mut impl Write,
    prompt: &str,
    secret: bool,
) -> std::io::Result<String> {
    write!(output, "{prompt}")?;
    output.flush()?;
    if secret && std::io::stdin().is_terminal() {
        return rpassword::read_password();
    }
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "input closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::time::Duration;

    use super::*;
    use testdc::{Fixture, TestDc, TestDcConfig};

    async fn setup() -> (TestDc, TelegramConfig, tempfile::TempDir) {
        let dc = TestDc::start(TestDcConfig::default()).await.expect("dc");
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("login.session");
        dc.write_unauthorized_session(&path).await.expect("session");
        let config = TelegramConfig {
            api_id: 1,
            session_path: path,
            flood_sleep_threshold: Duration::from_secs(5),
            updates_capacity: 10,
            upload_concurrency: telegram::DEFAULT_UPLOAD_CONCURRENCY,
        };
        (dc, config, dir)
    }

    fn input(phone: Option<&str>) -> LoginInput {
        LoginInput {
            api_hash: SecretString::from("hash"),
            phone: phone.map(str::to_owned),
            bot_token: None,
        }
    }

    #[tokio::test]
    async fn code_then_password_with_one_wrong_try_signs_in_and_echoes_no_secret() {
        let (dc, config, _dir) = setup().await;
        dc.set_password(Some("s3cret-pass"));
        // The code is deterministic (testdc's first code); a wrong one first, then the right one.
        let answers = "\n00000\n12345\nwrong\ns3cret-pass\n";
        let mut out = Vec::new();
        let account = interactive(
            &config,
            input(Some(Fixture::PHONE)),
            &mut Cursor::new(answers),
            &mut out,
        )
        .await
        .expect("signed in");
        assert_eq!(account.id, Fixture::DEFAULT.self_id);
        assert_eq!(dc.last_login_code().as_deref(), Some("12345"));
        let shown = String::from_utf8(out).expect("utf8");
        assert!(shown.contains("That code is not valid"));
        assert!(shown.contains(&format!("hint: {}", Fixture::PASSWORD_HINT)));
        assert!(
            !shown.contains("s3cret-pass") && !shown.contains("12345"),
            "{shown}"
        );
        // Run again: the session is signed in now.
        let again = interactive(&config, input(None), &mut Cursor::new(""), &mut Vec::new())
            .await
            .expect("already");
        assert_eq!(again.id, account.id);
    }

    #[tokio::test]
    async fn bot_token_needs_no_questions() {
        let (_dc, config, _dir) = setup().await;
        let login = LoginInput {
            bot_token: Some(SecretString::from(Fixture::BOT_TOKEN)),
            ..input(None)
        };
        let account = interactive(&config, login, &mut Cursor::new(""), &mut Vec::new())
            .await
            .expect("bot");
        assert!(account.is_bot);
    }
}
