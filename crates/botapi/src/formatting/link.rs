//! URL handling shared by the parsers: user mentions and Telegram's link normalisation.

/// The user id of a `tg://user?id=N` link, which Telegram turns into a `text_mention`.
///
/// The parsers keep such links as `text_link` entities (this crate knows no `User` objects);
/// the caller resolves the id and converts the entity.
pub fn mention_user_id(url: &str) -> Option<i64> {
    let rest = url.get(..13)?;
    if !rest.eq_ignore_ascii_case("tg://user?id=") {
        return None;
    }
    let id: i64 = url.get(13..)?.parse().ok()?;
    (id > 0).then_some(id)
}

/// The URL Telegram keeps for a text link, or `None` to drop the entity.
///
/// Simplified from Telegram's rules: surrounding whitespace is trimmed; a URL without
/// `scheme://` (other than `tg:`) gets `http://`; only http, https, tg, ton and tonsite
/// schemes are kept.
pub(super) fn checked_link(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let scheme = match url.split_once("://") {
        Some((scheme, _)) => scheme.to_ascii_lowercase(),
        None if url.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("tg:")) => "tg".to_owned(),
        None => return Some(format!("http://{url}")),
    };
    matches!(scheme.as_str(), "http" | "https" | "tg" | "ton" | "tonsite").then(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_user_mentions() {
        assert_eq!(mention_user_id("tg://user?id=123"), Some(123));
        assert_eq!(mention_user_id("TG://user?id=5"), Some(5));
        assert_eq!(mention_user_id("tg://user?id=abc"), None);
        assert_eq!(mention_user_id("https://t.me/x"), None);
    }

    #[test]
    fn normalises_links() {
        assert_eq!(
            checked_link(" example.com "),
            Some("http://example.com".into())
        );
        assert_eq!(checked_link("https://t.me/"), Some("https://t.me/".into()));
        assert_eq!(
            checked_link("tg:resolve?domain=x"),
            Some("tg:resolve?domain=x".into())
        );
        assert_eq!(checked_link("javascript://alert(1)"), None);
        assert_eq!(checked_link(""), None);
    }
}
