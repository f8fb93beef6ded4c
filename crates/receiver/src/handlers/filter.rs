//! Which messages a handler takes: a command (`/name`, `/name@account`), a regular expression
//! or a predicate on the text, a set of chats, and combinations of those.

use std::fmt;
use std::sync::Arc;

use botapi::types::Message;

/// A condition on an incoming message. Build with the constructors and combine with
/// [`Filter::and`]; [`Filter::any`] takes every message.
#[derive(Clone)]
pub enum Filter {
    /// Every message.
    Any,
    /// The text starts with `/name` (ASCII case-insensitive), followed by the end of the text,
    /// whitespace, or `@username` naming the account (any `@suffix` when the account has no
    /// username). Captions are not commands.
    Command(String),
    /// The text (or the caption) matches the regular expression somewhere.
    Regex(regex::Regex),
    /// The predicate holds for the text (or the caption); messages without either never match.
    Text(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// The message is in one of these chats (Bot API chat ids).
    Chats(Vec<i64>),
    /// Every one of these holds.
    All(Vec<Filter>),
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("Any"),
            Self::Command(name) => write!(f, "Command(/{name})"),
            Self::Regex(re) => write!(f, "Regex({})", re.as_str()),
            Self::Text(_) => f.write_str("Text(<predicate>)"),
            Self::Chats(ids) => write!(f, "Chats({ids:?})"),
            Self::All(all) => f.debug_tuple("All").field(all).finish(),
        }
    }
}

impl Filter {
    /// Every message.
    pub fn any() -> Self {
        Self::Any
    }

    /// The command `/name` (`name` given with or without the leading `/`).
    pub fn command(name: &str) -> Self {
        Self::Command(name.trim_start_matches('/').to_owned())
    }

    /// Text or caption matching `pattern` (the `regex` crate's syntax; unanchored unless the
    /// pattern says `^…$`). Errors: the pattern does not compile.
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        regex::Regex::new(pattern).map(Self::Regex)
    }

    /// Text or caption for which `predicate` holds.
    pub fn text(predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self::Text(Arc::new(predicate))
    }

    /// Messages in one of `chats` (Bot API chat ids).
    pub fn chats(chats: impl IntoIterator<Item = i64>) -> Self {
        Self::Chats(chats.into_iter().collect())
    }

    /// This filter and `other`.
    pub fn and(self, other: Filter) -> Self {
        match self {
            Self::All(mut all) => {
                all.push(other);
                Self::All(all)
            }
            first => Self::All(vec![first, other]),
        }
    }

    /// Whether `message` passes; `me` is the account's username (for `/name@username`).
    pub fn matches(&self, message: &Message, me: Option<&str>) -> bool {
        let text = message.text.as_deref().or(message.caption.as_deref());
        match self {
            Self::Any => true,
            Self::Command(name) => message
                .text
                .as_deref()
                .is_some_and(|t| command_args(t, name, me).is_some()),
            Self::Regex(re) => text.is_some_and(|t| re.is_match(t)),
            Self::Text(predicate) => text.is_some_and(|t| predicate(t)),
            Self::Chats(ids) => ids.contains(&message.chat.id),
            Self::All(all) => all.iter().all(|f| f.matches(message, me)),
        }
    }
}

/// When `text` is the command `/name` (see [`Filter::Command`]), what follows it, trimmed
/// (`""` when nothing does); otherwise `None`.
pub fn command_args<'t>(text: &'t str, name: &str, me: Option<&str>) -> Option<&'t str> {
    let rest = text.strip_prefix('/')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, args) = rest.split_at(end);
    let (command, target) = match word.split_once('@') {
        Some((command, target)) => (command, Some(target)),
        None => (word, None),
    };
    if !command.eq_ignore_ascii_case(name) {
        return None;
    }
    match (target, me) {
        (Some(target), Some(me)) if !target.eq_ignore_ascii_case(me) => None,
        _ => Some(args.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botapi::types::{Chat, ChatType};

    fn message(chat: i64, text: Option<&str>, caption: Option<&str>) -> Message {
        let mut message = Message::new(1, 0, Chat::new(chat, ChatType::Private));
        message.text = text.map(str::to_owned);
        message.caption = caption.map(str::to_owned);
        message
    }

    #[test]
    fn commands_tolerate_the_accounts_username_and_case_but_not_another_target() {
        let me = Some("gateway_bot");
        assert_eq!(command_args("/familiarize", "familiarize", me), Some(""));
        assert_eq!(
            command_args("/Familiarize  x y ", "familiarize", me),
            Some("x y")
        );
        assert_eq!(
            command_args("/familiarize@Gateway_Bot", "familiarize", me),
            Some("")
        );
        assert_eq!(
            command_args("/familiarize@other_bot", "familiarize", me),
            None
        );
        assert_eq!(
            command_args("/familiarize@anyone", "familiarize", None),
            Some("")
        );
        assert_eq!(command_args("/familiarizer", "familiarize", me), None);
        assert_eq!(command_args("familiarize", "familiarize", me), None);
        assert_eq!(command_args(" /familiarize", "familiarize", me), None);
    }

    #[test]
    fn filters_read_text_or_caption_chats_and_combine() {
        let text = message(5, Some("order 42 please"), None);
        let photo = message(6, None, Some("order 7"));
        let digits = Filter::regex(r"order \d+").expect("valid");
        assert!(digits.matches(&text, None));
        assert!(digits.matches(&photo, None));
        assert!(!Filter::command("order").matches(&photo, None));
        assert!(!Filter::command("order").matches(&message(5, None, Some("/order")), None));
        assert!(Filter::command("/order").matches(&message(5, Some("/order"), None), None));
        let in_five = Filter::chats([5]).and(digits.clone());
        assert!(in_five.matches(&text, None));
        assert!(!in_five.matches(&photo, None));
        let short = Filter::text(|t| t.len() < 10);
        assert!(short.matches(&photo, None));
        assert!(!short.matches(&text, None));
        assert!(!short.matches(&message(5, None, None), None));
        assert!(Filter::any().matches(&message(5, None, None), None));
        assert!(Filter::regex("(").is_err());
    }
}
