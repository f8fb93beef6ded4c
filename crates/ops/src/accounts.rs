//! Many accounts in one deployment: the account directory (`SESSIONS_DIR`) both binaries read.
//!
//! An account is a session file `<SESSIONS_DIR>/<name>.session` (grammers session, see the
//! `session` crate) plus an optional settings file `<name>.account.json` ([`AccountSettings`],
//! written by the sender's management API, mode 0600). Names are 1–64 characters of
//! `[A-Za-z0-9_-]` ([`valid_name`]); other files in the directory (outboxes, send queues,
//! `*.gateway.session` imports of Telethon files, SQLite journals) are not accounts.
//! Both binaries call [`scan`] every [`SCAN_INTERVAL`], so an account added or removed by either
//! (or by hand) is seen by the other within a second.
//!
//! The account's API token is `<user_id>:<secret>` ([`AccountSettings::token`]): the digits are
//! the Telegram user id, so Bot API libraries that read `bot.id` from the token agree with
//! `getMe`. The secret never reaches a log line: `Debug` of the settings redacts it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How often both binaries re-read the account directory.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(500);

/// The settings file's suffix after the account name.
pub const SETTINGS_SUFFIX: &str = ".account.json";

/// Whether `name` may name an account: 1–64 ASCII letters, digits, `_` or `-` (it becomes a
/// file name, a URL path segment and a metric label).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One account's settings beside its session (`<name>.account.json`). Every field but
/// `secret` is optional: unset means the environment's value for every account.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// The secret half of the account's API token `<user_id>:<secret>`.
    #[serde(default)]
    pub secret: String,
    /// Where the receiver POSTs this account's updates (`WEBHOOK_URL` for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// `x-api-key` sent with this account's webhook POSTs (`WEBHOOK_API_KEY` for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_api_key: Option<String>,
    /// `X-Telegram-Bot-Api-Secret-Token` of its webhook POSTs (`WEBHOOK_SECRET_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret_token: Option<String>,
    /// Standard Webhooks signing secret (`WEBHOOK_SIGNING_SECRET`, `whsec_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_signing_secret: Option<String>,
    /// `legacy` or `bot_api` (`WEBHOOK_FORMAT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_format: Option<String>,
    /// Only these chats are forwarded (`ALLOWED_CHAT_IDS`; Bot API chat ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_chat_ids: Option<Vec<i64>>,
    /// These chats are never forwarded (`IGNORED_CHAT_IDS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_chat_ids: Option<Vec<i64>>,
    /// Update kinds forwarded (`ALLOWED_UPDATES`: `message`, `edited_message`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
    /// Requests per second its API accepts (`RATE_LIMIT_PER_SECOND`; 0 turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<u32>,
    /// Burst of that limit (`RATE_LIMIT_BURST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
}

impl std::fmt::Debug for AccountSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "set" } else { "unset" };
        f.debug_struct("AccountSettings")
            .field("secret", &"[REDACTED]")
            .field("webhook_url", &set(&self.webhook_url))
            .field("webhook_api_key", &set(&self.webhook_api_key))
            .field("webhook_secret_token", &set(&self.webhook_secret_token))
            .field("webhook_signing_secret", &set(&self.webhook_signing_secret))
            .field("webhook_format", &self.webhook_format)
            .field("allowed_chat_ids", &self.allowed_chat_ids)
            .field("ignored_chat_ids", &self.ignored_chat_ids)
            .field("allowed_updates", &self.allowed_updates)
            .field("rate_limit_per_second", &self.rate_limit_per_second)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .finish()
    }
}

impl AccountSettings {
    /// Settings with a fresh random secret (32 URL-safe characters) and nothing else set.
    pub fn generate() -> Self {
        Self {
            secret: random_secret(),
            ..Self::default()
        }
    }

    /// What the sender serves the account with: its token's secret and its rate limit. A
    /// change elsewhere (a webhook setting) does not restart it there.
    pub fn sender_part(&self) -> (&str, Option<u32>, Option<u32>) {
        (
            &self.secret,
            self.rate_limit_per_second,
            self.rate_limit_burst,
        )
    }

    /// What the receiver serves the account with: everything but [`Self::sender_part`], so a
    /// new token secret (the sender writes one for a session found without settings) does not
    /// restart it there.
    pub fn receiver_part(&self) -> Self {
        Self {
            secret: String::new(),
            rate_limit_per_second: None,
            rate_limit_burst: None,
            ..self.clone()
        }
    }

    /// The account's API token for `user_id`: `<user_id>:<secret>`; `None` without a secret.
    pub fn token(&self, user_id: i64) -> Option<SecretString> {
        (!self.secret.is_empty()).then(|| SecretString::from(format!("{user_id}:{}", self.secret)))
    }
}

/// 32 random characters of `[A-Za-z0-9_-]` (192 bits).
pub fn random_secret() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..32)
        .map(|_| char::from(ALPHABET[usize::from(rand::random::<u8>() & 63)]))
        .collect()
}

/// The user id of an API token `<digits>:<rest>`, if it has that shape.
pub fn token_user_id(token: &[u8]) -> Option<i64> {
    let colon = token.iter().position(|&b| b == b':')?;
    let digits = std::str::from_utf8(&token[..colon]).ok()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One account found in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEntry {
    /// The account's name (the session file's stem).
    pub name: String,
    /// `<dir>/<name>` — the session name both binaries take as `TG_SESSION_NAME` for it.
    pub session_name: PathBuf,
    /// Its settings (defaults when it has no settings file or the file is unreadable).
    pub settings: AccountSettings,
    /// Whether its settings file exists but could not be read (named once in the log by the
    /// caller; the account is then served with defaults and no token).
    pub settings_error: Option<String>,
}

/// The session file of account `name` in `dir`.
pub fn session_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.session"))
}

/// The settings file of account `name` in `dir`.
pub fn settings_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{SETTINGS_SUFFIX}"))
}

/// Every account in `dir`, by name, read once (see [`Scanner`] for repeated scans). A missing
/// directory has none. Errors: the directory exists but cannot be listed.
pub async fn scan(dir: &Path) -> std::io::Result<BTreeMap<String, AccountEntry>> {
    Scanner::new(dir).scan().await
}

/// Which version of a settings file was read: modification time, length and (Unix) inode —
/// [`write_settings`] renames a new file into place, so a rewrite changes the inode.
type Version = (Option<std::time::SystemTime>, u64, u64);

fn version(meta: &std::fs::Metadata) -> Version {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    (meta.modified().ok(), meta.len(), inode)
}

/// Repeated scans of one account directory (both binaries scan every [`SCAN_INTERVAL`]): a
/// settings file is read and parsed again only when its version (modification time, length, inode) changed, so an
/// idle directory of 1,000 accounts costs a listing and 1,000 `stat`s per scan, not 1,000 reads.
pub struct Scanner {
    dir: PathBuf,
    read: std::collections::HashMap<String, (Version, AccountSettings, Option<String>)>,
}

impl Scanner {
    /// A scanner of `dir` that has read nothing yet.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            read: std::collections::HashMap::new(),
        }
    }

    /// Every account in the directory, by name (as [`scan`]). Errors: the directory exists but
    /// cannot be listed.
    pub async fn scan(&mut self) -> std::io::Result<BTreeMap<String, AccountEntry>> {
        let mut accounts = BTreeMap::new();
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(accounts),
            Err(e) => return Err(e),
        };
        while let Some(entry) = entries.next_entry().await? {
            let file_name = entry.file_name();
            let Some(name) = file_name
                .to_str()
                .and_then(|n| n.strip_suffix(".session"))
                .filter(|n| valid_name(n))
            else {
                continue;
            };
            let (settings, settings_error) = self.settings(name).await;
            accounts.insert(
                name.to_owned(),
                AccountEntry {
                    name: name.to_owned(),
                    session_name: self.dir.join(name),
                    settings,
                    settings_error,
                },
            );
        }
        self.read.retain(|name, _| accounts.contains_key(name));
        Ok(accounts)
    }

    async fn settings(&mut self, name: &str) -> (AccountSettings, Option<String>) {
        let current = tokio::fs::metadata(settings_path(&self.dir, name))
            .await
            .ok()
            .map(|meta| version(&meta));
        let Some(current) = current else {
            // No file (or no access to it): read_settings says which.
            self.read.remove(name);
            return read_settings(&self.dir, name).await;
        };
        if let Some((seen, settings, error)) = self.read.get(name)
            && *seen == current
        {
            return (settings.clone(), error.clone());
        }
        let (settings, error) = read_settings(&self.dir, name).await;
        self.read
            .insert(name.to_owned(), (current, settings.clone(), error.clone()));
        (settings, error)
    }
}

/// Reads `<name>.account.json`: defaults when it does not exist; defaults and the reason when
/// it cannot be read or parsed (the reason names the file and the JSON error, never a value).
pub async fn read_settings(dir: &Path, name: &str) -> (AccountSettings, Option<String>) {
    let path = settings_path(dir, name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(settings) => (settings, None),
            Err(e) => (
                AccountSettings::default(),
                Some(format!(
                    "{}: line {} column {}: {}",
                    path.display(),
                    e.line(),
                    e.column(),
                    classify(&e)
                )),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (AccountSettings::default(), None),
        Err(e) => (
            AccountSettings::default(),
            Some(format!("{}: {e}", path.display())),
        ),
    }
}

/// serde_json's category, without its message (which may quote a value).
fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "unknown field or wrong type",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// Writes `settings` as account `name`'s settings file, atomically (temp file, then rename),
/// mode 0600 (it holds secrets). Errors: the directory is not writable.
pub async fn write_settings(
    dir: &Path,
    name: &str,
    settings: &AccountSettings,
) -> std::io::Result<()> {
    let path = settings_path(dir, name);
    let tmp = dir.join(format!(".{name}{SETTINGS_SUFFIX}.tmp"));
    let body = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &body).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&tmp, &path).await
}

/// The name the `TG_SESSION_NAME` account (the environment's, served beside the directory's)
/// goes by: its session file's stem when that file lies in `dir` and the stem is a valid name,
/// else `default`.
pub fn env_account_name(env_session: &Path, dir: &Path) -> String {
    let in_dir = env_session.parent().is_some_and(|p| same_dir(p, dir));
    let stem = env_session
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| valid_name(s));
    match (in_dir, stem) {
        (true, Some(stem)) => stem.to_owned(),
        _ => "default".to_owned(),
    }
}

/// Whether two paths name the same directory (canonically when both exist; `""` is `.`).
pub fn same_dir(a: &Path, b: &Path) -> bool {
    let dot = |p: &Path| -> PathBuf {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    };
    let (a, b) = (dot(a), dot(b));
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Compares a presented token with the account's in constant time (only the length leaks).
pub fn token_matches(expected: &SecretString, presented: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(presented.ct_eq(expected.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_and_path_safe() {
        assert!(valid_name("alice_2-b"));
        for bad in ["", "a.b", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn token_user_id_needs_digits_then_colon() {
        assert_eq!(token_user_id(b"123:abc"), Some(123));
        assert_eq!(token_user_id(b"abc:123"), None);
        assert_eq!(token_user_id(b":x"), None);
        assert_eq!(token_user_id(b"123"), None);
        assert_eq!(token_user_id(b"99999999999999999999999:x"), None);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let settings = AccountSettings {
            webhook_api_key: Some("hook-key-value".into()),
            ..AccountSettings::generate()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains(&settings.secret), "{shown}");
        assert!(!shown.contains("hook-key-value"), "{shown}");
    }

    #[test]
    fn a_new_secret_restarts_only_the_sender_and_a_webhook_change_only_the_receiver() {
        let before = AccountSettings::generate();
        let new_secret = AccountSettings::generate();
        assert_eq!(before.receiver_part(), new_secret.receiver_part());
        assert_ne!(before.sender_part(), new_secret.sender_part());
        let new_hook = AccountSettings {
            webhook_url: Some("http://127.0.0.1:1/hook".into()),
            ..before.clone()
        };
        assert_eq!(before.sender_part(), new_hook.sender_part());
        assert_ne!(before.receiver_part(), new_hook.receiver_part());
    }

    #[tokio::test]
    async fn scan_finds_sessions_and_their_settings_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "a.session",
            "b.session",
            "b.outbox",
            "c.gateway.session",
            "a.session-wal",
            "bad name.session",
        ] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let settings = AccountSettings {
            webhook_url: Some("http://127.0.0.1:1/hook".into()),
            ..AccountSettings::generate()
        };
        write_settings(dir.path(), "a", &settings).await.unwrap();
        std::fs::write(dir.path().join("b.account.json"), b"{\"secret\": 1}").unwrap();
        let found = scan(dir.path()).await.unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(found["a"].settings, settings);
        assert_eq!(found["a"].session_name, dir.path().join("a"));
        let error = found["b"].settings_error.as_deref().unwrap();
        assert!(error.contains("wrong type"), "{error}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(settings_path(dir.path(), "a"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(scan(&dir.path().join("missing")).await.unwrap().is_empty());

        // A scanner reads a settings file again only once it was rewritten.
        let mut scanner = Scanner::new(dir.path());
        assert_eq!(scanner.scan().await.unwrap()["a"].settings, settings);
        let changed = AccountSettings {
            webhook_format: Some("bot_api".into()),
            ..settings.clone()
        };
        write_settings(dir.path(), "a", &changed).await.unwrap();
        assert_eq!(scanner.scan().await.unwrap()["a"].settings, changed);
        std::fs::remove_file(settings_path(dir.path(), "a")).unwrap();
        assert_eq!(
            scanner.scan().await.unwrap()["a"].settings,
            AccountSettings::default()
        );
    }
}
