//! The `receiver` command line: run (the default), or one of the operator commands — sign in,
//! show the account, move the session between servers, list and replay dead letters, send a
//! test message.
//!
//! Starting without a signed-in session asks for the login when a terminal is attached (as in
//! `docker compose run --rm receiver`), and otherwise waits for it, logging the command to run
//! ([`crate::signin_wait`]).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use botapi::ids::ChatIdParam;
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use telegram::{DEFAULT_UPLOAD_CONCURRENCY, OutgoingText, Telegram, TelegramConfig, TelegramError};

use crate::signin_wait;
use crate::{App, Config, FLOOD_SLEEP_THRESHOLD};
use outbox::Outbox;

/// `receiver [COMMAND]`: with no command, streams updates to the webhook.
#[derive(Parser, Debug)]
#[command(
    name = "receiver",
    version,
    about = "Streams Telegram updates to a webhook",
    // `healthcheck` needs no TG_API_ID: it only reads MEDIA_BIND.
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// An operator command; none runs the receiver.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings (every flag also reads its environment variable).
    #[command(flatten)]
    pub config: Config,
}

/// Operator commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Sign the session in (phone number, login code, 2FA password; or TG_BOT_TOKEN) and exit.
    Login,
    /// Print the account the session belongs to.
    Whoami,
    /// Exit 0 when the running receiver answers `GET /readyz` with 200 on MEDIA_BIND, else 1
    /// (the container HEALTHCHECK; needs no secret).
    Healthcheck,
    /// Write a consistent copy of the session file to PATH (to move servers). Keep it secret:
    /// it holds the account's auth key.
    ExportSession {
        /// Where to write the copy (must not exist).
        path: PathBuf,
    },
    /// Install a session as TG_SESSION_NAME's: a file exported elsewhere (PATH), a Telethon
    /// session file (--from-telethon) or a Telethon StringSession (--string). When
    /// TG_SESSION_NAME's file is itself a Telethon session, it is left as it is and the gateway
    /// file beside it (NAME.gateway.session) is written instead.
    #[command(group(clap::ArgGroup::new("source").required(true)
        .args(["path", "from_telethon", "string"])))]
    ImportSession {
        /// A session file written by `export-session`.
        path: Option<PathBuf>,
        /// A Telethon SQLite session file (e.g. `sessions/tg_userbot.session`); read only.
        #[arg(long, value_name = "FILE")]
        from_telethon: Option<PathBuf>,
        /// A Telethon StringSession (`1…`); `-` reads it from stdin, which keeps it out of the
        /// process list. Never printed.
        #[arg(long, value_name = "STRING")]
        string: Option<SecretString>,
        /// Replace an existing session file.
        #[arg(long)]
        force: bool,
    },
    /// List dead letters (updates the webhook never accepted), or replay them.
    DeadLetters {
        /// Make them deliverable again (all, or only --id).
        #[arg(long)]
        replay: bool,
        /// One update_id to replay.
        #[arg(long, requires = "replay")]
        id: Option<i64>,
    },
    /// Register the accounts of this receiver's session files (TG_SESSION_NAME's and every one
    /// in SESSIONS_DIR, with its settings) in DATABASE_URL's registry and copy their sessions
    /// into Postgres, so the instances of a cluster serve them; prints each account's token
    /// (`<user_id>:<secret>`, a secret generated for an account that had none). The files are
    /// not changed; an account already registered is skipped unless --force.
    ClusterImport {
        /// Replace the registered settings and session of an account already registered.
        #[arg(long)]
        force: bool,
    },
    /// Send a test message, to your Saved Messages unless --chat-id is given.
    SendTest {
        /// Bot API chat id or @username.
        #[arg(long)]
        chat_id: Option<String>,
        /// The text.
        #[arg(long, default_value = "tg-gateway test message ✅")]
        text: String,
    },
}

/// What to tell someone whose session is not signed in and who has no terminal.
pub fn not_signed_in(path: &Path) -> String {
    format!(
        "no signed-in Telegram session at {}. Sign in once with a terminal attached: \
         `docker compose run --rm receiver login` (or `receiver login`, \
         `cargo run -p receiver -- login`), or use the sender's /api_v1/auth/* endpoints",
        path.display()
    )
}

fn telegram_config(config: &Config) -> TelegramConfig {
    TelegramConfig {
        api_id: config.api_id,
        session_path: config.session_path(),
        flood_sleep_threshold: FLOOD_SLEEP_THRESHOLD,
        updates_capacity: 1,
        upload_concurrency: DEFAULT_UPLOAD_CONCURRENCY,
    }
}

fn is_unauthorized(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<TelegramError>(),
            Some(TelegramError::Unauthorized | TelegramError::NoSession(_))
        )
    })
}

/// `receiver cluster-import`: every signed-in session file of this configuration into the
/// cluster's registry (see [`Command::ClusterImport`]); prints one line per account.
pub async fn cluster_import(config: &Config, force: bool) -> anyhow::Result<()> {
    let url = config
        .cluster
        .database_url
        .as_ref()
        .context("cluster-import needs DATABASE_URL")?;
    let cluster = cluster::Cluster::connect(url.expose(), "cluster-import", 2)
        .await
        .context("cannot use DATABASE_URL")?;
    let mut files: Vec<(String, PathBuf, ops::accounts::AccountSettings)> = Vec::new();
    let env_path = config.session_path();
    match &config.sessions_dir {
        Some(dir) => {
            let env_name = ops::accounts::env_account_name(&env_path, dir);
            files.push((env_name, env_path, Default::default()));
            let found = ops::accounts::Scanner::new(dir)
                .scan()
                .await
                .with_context(|| format!("cannot read SESSIONS_DIR {}", dir.display()))?;
            for (name, entry) in found {
                if let Some(error) = entry.settings_error {
                    anyhow::bail!("{name}: {error}");
                }
                let path =
                    session::SessionStore::path_for_name(&entry.session_name.to_string_lossy());
                files.retain(|(n, _, _)| *n != name);
                files.push((name, path, entry.settings));
            }
        }
        None => {
            let name = env_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| config.session_name.clone());
            files.push((name, env_path, Default::default()));
        }
    }
    for (name, path, settings) in files {
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            continue;
        }
        let store = session::SessionStore::open(&path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        if store.self_user().await?.is_none() {
            println!("{name}: not signed in, skipped");
            continue;
        }
        let data = store.export_data().await?;
        let mut settings = settings;
        if settings.secret.is_empty() {
            // Every account of a cluster is reached by its own token `<user_id>:<secret>`.
            settings.secret = ops::accounts::AccountSettings::generate().secret;
        }
        let user_id = store
            .self_user()
            .await?
            .and_then(|me| me.id().bot_api_dialog_id())
            .unwrap_or_default();
        let token = format!("{user_id}:{}", settings.secret);
        let settings = serde_json::to_value(&settings)?;
        let imported = cluster
            .import_account(&name, &settings, &data, force)
            .await
            .with_context(|| format!("cannot import account {name}"))?;
        if imported {
            // The operator's answer, as the management API's list gives it: the token callers
            // use on any instance's sender. Not logged.
            println!("{name}: imported from {}; token {token}", path.display());
        } else {
            println!("{name}: already registered, skipped (--force replaces it)");
        }
    }
    cluster.close().await;
    Ok(())
}

/// Runs the interactive login on this process's terminal.
pub async fn login(config: &Config) -> anyhow::Result<()> {
    let api_hash = config
        .api_hash
        .clone()
        .or_else(|| config.bot_token.is_some().then(|| SecretString::from("")))
        .context("TG_API_HASH is required to log in (get it at https://my.telegram.org)")?;
    let input = crate::login::LoginInput {
        api_hash,
        phone: config.phone_number.clone(),
        bot_token: config.bot_token.clone(),
    };
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout();
    crate::login::interactive(&telegram_config(config), input, &mut stdin, &mut stdout)
        .await
        .context("login failed")?;
    Ok(())
}

/// Builds the app. Without a signed-in session: with a terminal attached, signs in first
/// (asking on it); without one (`docker compose up -d`), logs the command to run and waits,
/// healthy but not ready, until the session file is signed in ([`crate::signin_wait`]).
pub async fn build_signed_in(config: Config) -> anyhow::Result<App> {
    let path = config.session_path();
    // Also imports a Telethon session found at `path` (into the gateway file beside it).
    let present = session::resolve(&path)
        .await
        .with_context(|| format!("cannot use the session file {}", path.display()))?
        .source
        != session::SessionSource::New;
    if !std::io::stdin().is_terminal() {
        if !present {
            return signin_wait::build_when_signed_in(
                config,
                &not_signed_in(&path),
                is_unauthorized,
            )
            .await;
        }
        return match App::build(config.clone()).await {
            Err(e) if is_unauthorized(&e) => {
                signin_wait::build_when_signed_in(config, &not_signed_in(&path), is_unauthorized)
                    .await
            }
            other => other,
        };
    }
    if !present {
        login(&config).await?;
    }
    match App::build(config.clone()).await {
        Err(e) if is_unauthorized(&e) => {
            login(&config).await?;
            App::build(config).await
        }
        other => other,
    }
}

/// Runs an operator command.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Login => login(&config).await,
        Command::Healthcheck => ops::health::probe_ready(config.media_bind)
            .await
            .map_err(anyhow::Error::msg),
        Command::Whoami => {
            let tg = connect(&config).await?;
            let account = tg.account();
            let user = &account.user;
            let username = user
                .username
                .as_deref()
                .map(|u| format!(" @{u}"))
                .unwrap_or_default();
            let kind = if user.is_bot { "bot" } else { "user" };
            println!(
                "{} {}{username} ({kind} id {})",
                user.first_name,
                user.last_name.as_deref().unwrap_or(""),
                user.id
            );
            if let Some(phone) = &account.phone {
                println!("phone {phone}");
            }
            println!("session {}", config.session_path().display());
            Ok(())
        }
        Command::ExportSession { path } => {
            let resolved = session::resolve(&config.session_path()).await?;
            if resolved.source == session::SessionSource::New {
                bail!("{}", not_signed_in(&config.session_path()));
            }
            let store = session::SessionStore::open(&resolved.path).await?;
            store.export(&path).await?;
            println!(
                "session written to {} (mode 0600; it holds the auth key — keep it secret)",
                path.display()
            );
            Ok(())
        }
        Command::ImportSession {
            path,
            from_telethon,
            string,
            force,
        } => {
            let to = session::import_target(&config.session_path()).await?;
            match (path, from_telethon, string) {
                (Some(path), _, _) => import_session(&path, &to, force),
                (_, Some(file), _) => {
                    let telethon = session::TelethonSession::from_file(&file).await?;
                    install_telethon(&telethon, &to, force, &file.display().to_string()).await
                }
                (_, _, Some(string)) => {
                    let telethon = session::TelethonSession::from_string(&read_string(&string)?)?;
                    install_telethon(&telethon, &to, force, "the StringSession").await
                }
                (None, None, None) => bail!("give PATH, --from-telethon FILE or --string STRING"),
            }
        }
        Command::DeadLetters { replay, id } => dead_letters(&config, replay, id).await,
        Command::ClusterImport { force } => cluster_import(&config, force).await,
        Command::SendTest { chat_id, text } => {
            let tg = connect(&config).await?;
            let chat = match chat_id {
                Some(c) => ChatIdParam::parse(&c).map_err(|e| anyhow::anyhow!("--chat-id: {e}"))?,
                None => ChatIdParam::Id(tg.account().user.id),
            };
            let peer = tg.resolve_chat(&chat).await.context("chat not found")?;
            let sent = tg
                .send_text(
                    peer,
                    OutgoingText {
                        text,
                        ..Default::default()
                    },
                )
                .await?;
            println!("sent message {} to chat {}", sent.message_id, sent.chat.id);
            Ok(())
        }
    }
}

async fn connect(config: &Config) -> anyhow::Result<Telegram> {
    Telegram::connect(telegram_config(config))
        .await
        .map_err(|e| {
            let path = config.session_path();
            let hint = if matches!(e, TelegramError::Unauthorized | TelegramError::NoSession(_)) {
                not_signed_in(&path)
            } else {
                format!("failed to connect with session file {}", path.display())
            };
            anyhow::Error::new(e).context(hint)
        })
}

fn import_session(from: &Path, to: &Path, force: bool) -> anyhow::Result<()> {
    if to.exists() && !force {
        bail!("{} exists; pass --force to replace it", to.display());
    }
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    // A stale WAL of the replaced file must not be replayed onto the imported one.
    for suffix in ["-wal", "-shm"] {
        let mut side = to.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    std::fs::copy(from, to)
        .with_context(|| format!("failed to copy {} to {}", from.display(), to.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    }
    println!("session installed at {}", to.display());
    Ok(())
}

/// The StringSession given to `--string`, or read from stdin for `-`.
fn read_string(given: &SecretString) -> anyhow::Result<String> {
    use secrecy::ExposeSecret;
    if given.expose_secret() != "-" {
        return Ok(given.expose_secret().to_owned());
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("failed to read the StringSession from stdin")?;
    Ok(line)
}

/// Writes a Telethon session as the gateway's at `to` (`import-session --from-telethon`,
/// `--string`); `what` names the source in the message (never the string itself).
async fn install_telethon(
    telethon: &session::TelethonSession,
    to: &Path,
    force: bool,
    what: &str,
) -> anyhow::Result<()> {
    let summary = match session::install(telethon, to, force).await {
        Err(session::SessionError::AlreadyExists { .. }) => {
            bail!("{} exists; pass --force to replace it", to.display())
        }
        other => other?,
    };
    println!(
        "session imported from {what} into {} (DC {}, {} users, {} groups, {} channels{}); \
         the Telethon session itself was not changed",
        to.display(),
        summary.dc_id,
        summary.users,
        summary.chats,
        summary.channels,
        summary
            .pts
            .map(|pts| format!(", update state pts {pts}"))
            .unwrap_or_default(),
    );
    Ok(())
}

async fn dead_letters(config: &Config, replay: bool, id: Option<i64>) -> anyhow::Result<()> {
    let outbox = Outbox::open(config.outbox_path()).await?;
    if replay {
        let n = outbox.replay(id).await?;
        println!("{n} dead letter(s) will be delivered again (same update_id and webhook-id)");
        return Ok(());
    }
    let letters = outbox.dead_letters(1000).await?;
    if letters.is_empty() {
        println!("no dead letters");
    }
    for l in letters {
        println!(
            "update_id={} target={} webhook_id={} kind={} chat_id={} attempts={} last_error={}",
            l.update_id,
            l.target,
            l.webhook_id,
            l.kind,
            l.chat_id,
            l.attempts,
            l.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
