//! `/familiarize`, the conversation the replaced Python service shipped as its example: ask the
//! sender's name, ask again until the answer holds a letter, greet them with it, then tell
//! another service (`POST {"chat_id": …, "name": …}` as JSON). The `familiarize` example runs
//! the receiver with it.

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::{Context, HandlerResult, Handlers};

/// The first question.
pub const ASK_NAME: &str = "Hi! What's your name?";
/// Asked again after an answer without a letter.
pub const ASK_AGAIN: &str = "That does not look like a name (it needs a letter). What's your name?";
/// The default of [`Settings::answer_timeout`].
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the POST to [`Settings::notify_url`] may take.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// How the conversation runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the accepted name is POSTed as a [`Notice`]; `None`: nowhere.
    pub notify_url: Option<Url>,
    /// How long each question waits for the answer; then the conversation ends (logged as
    /// the handler's error).
    pub answer_timeout: Duration,
}

/// The JSON body POSTed once the name is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Bot API id of the chat.
    pub chat_id: i64,
    /// The accepted answer, trimmed.
    pub name: String,
}

/// The greeting for `name`.
pub fn greeting(name: &str) -> String {
    format!("Nice to meet you {name}!")
}

/// Whether `answer` is accepted as a name: it holds a letter (any script).
pub fn is_name(answer: &str) -> bool {
    answer.chars().any(char::is_alphabetic)
}

/// The `/familiarize` handler. Errors: the HTTP client cannot be built (TLS set-up).
pub fn handlers(settings: Settings) -> Result<Handlers, reqwest::Error> {
    let client = reqwest::Client::builder().timeout(NOTIFY_TIMEOUT).build()?;
    Ok(Handlers::new().command("familiarize", move |ctx| {
        familiarize(ctx, settings.clone(), client.clone())
    }))
}

async fn familiarize(ctx: Context, settings: Settings, client: reqwest::Client) -> HandlerResult {
    let mut conv = ctx.conversation()?;
    let mut question = ASK_NAME;
    let name = loop {
        let answer = conv.ask(question, settings.answer_timeout).await?;
        let text = answer.text.as_deref().unwrap_or_default().trim();
        if is_name(text) {
            break text.to_owned();
        }
        question = ASK_AGAIN;
    };
    conv.say(greeting(&name)).await?;
    // The chat is free again while the other service is called.
    drop(conv);
    if let Some(url) = &settings.notify_url {
        let notice = Notice {
            chat_id: ctx.chat_id(),
            name,
        };
        client
            .post(url.clone())
            .json(&notice)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            // Without the URL: its path or query may hold a secret.
            .map_err(|e| {
                let host = url.host_str().unwrap_or("?");
                anyhow::anyhow!("notifying {host}: {}", e.without_url())
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_needs_a_letter_of_any_script() {
        assert!(!is_name("123"));
        assert!(!is_name("  !? "));
        assert!(is_name("Bob"));
        assert!(is_name("Zoë 2"));
        assert!(is_name("Иван"));
        assert_eq!(greeting("Bob"), "Nice to meet you Bob!");
    }
}
