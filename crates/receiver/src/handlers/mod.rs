//! In-process handlers: behaviour added to the receiver itself, next to the webhook. A handler
//! is an async function registered under a name with a [`Filter`] (a command, a regular
//! expression or predicate on the text, a set of chats); it gets a [`Context`] with the message
//! in Bot API shape, can answer in the chat through the receiver's Telegram connection, and can
//! hold a [`Conversation`] with the sender (`ask`, then await their next message).
//!
//! Handlers see new messages from others that the receiver stored (its chat and kind filters
//! apply), once each: a message is offered right after it is in the outbox, and a replayed
//! update is not offered again. They never delay storing or delivery: a message reaches the
//! webhook exactly as without handlers, also when its handler fails or panics (one log line
//! naming the handler and the chat). The first handler whose filter matches runs; one
//! sender's invocations in one chat run in order, everything else concurrently. A handler
//! stopped by a crash is not run again at the next start (at most once).
//!
//! Modules: `filter` ([`Filter`]), `context` ([`Context`]), `chat` (sending in the handler's
//! chat), `conversation` ([`Conversation`], [`ConversationError`]), `runner` (the task that routes and owns the invocations, and the
//! update loop's feed), [`familiarize`] (the `/familiarize` conversation, ready to register).
//!
//! ```no_run
//! use std::time::Duration;
//! use receiver::handlers::{Context, Filter, Handlers};
//!
//! # async fn start(config: receiver::Config) -> anyhow::Result<()> {
//! let handlers = Handlers::new()
//!     .command("ping", |ctx: Context| async move {
//!         ctx.reply("pong").await?;
//!         Ok(())
//!     })
//!     .on("age", Filter::regex(r"(?i)^how old")?, |ctx: Context| async move {
//!         let mut conv = ctx.conversation()?;
//!         let year = conv.ask("Which year were you born?", Duration::from_secs(60)).await?;
//!         conv.say(format!("Noted: {}", year.text.unwrap_or_default())).await?;
//!         Ok(())
//!     });
//! let app = receiver::App::build(config).await?.with_handlers(handlers);
//! app.run_until_stopped().await
//! # }
//! ```

mod chat;
mod context;
mod conversation;
pub mod familiarize;
mod filter;
mod runner;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use botapi::types::Message;

pub use context::Context;
pub use conversation::{Conversation, ConversationError};
pub use filter::{Filter, command_args};
pub(crate) use runner::{Feed, router};

/// What a handler returns: an error is logged (WARN, with the handler's name and the chat).
pub type HandlerResult = anyhow::Result<()>;

type HandlerFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send>>;
type BoxedHandler = Arc<dyn Fn(Context) -> HandlerFuture + Send + Sync>;

/// One registered handler.
pub(crate) struct Registered {
    name: Arc<str>,
    filter: Filter,
    run: BoxedHandler,
}

/// The handlers of an app, in registration order. Cheap to clone.
#[derive(Clone, Default)]
pub struct Handlers {
    list: Vec<Arc<Registered>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|h| (&h.name, &h.filter)))
            .finish()
    }
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for messages passing `filter`; `name` appears in its log lines.
    /// Earlier registrations win when several match.
    pub fn on<F, Fut>(mut self, name: impl Into<String>, filter: Filter, handler: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let run: BoxedHandler =
            Arc::new(move |ctx: Context| -> HandlerFuture { Box::pin(handler(ctx)) });
        self.list.push(Arc::new(Registered {
            name: Arc::from(name.into()),
            filter,
            run,
        }));
        self
    }

    /// Registers `handler` for the command `/name` ([`Filter::command`]), named `/name`.
    pub fn command<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let filter = Filter::command(name);
        let name = format!("/{}", name.trim_start_matches('/'));
        self.on(name, filter, handler)
    }

    /// These handlers, then `other`'s.
    pub fn merge(mut self, other: Handlers) -> Self {
        self.list.extend(other.list);
        self
    }

    /// Whether none is registered.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The registered names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|h| &*h.name).collect()
    }

    fn first_match(&self, message: &Message, me: Option<&str>) -> Option<Arc<Registered>> {
        self.list
            .iter()
            .find(|h| h.filter.matches(message, me))
            .cloned()
    }
}
