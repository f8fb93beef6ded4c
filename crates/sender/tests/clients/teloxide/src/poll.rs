//! `teloxide-check poll`: teloxide's own long-polling loop (a `Dispatcher` on its default update
//! listener: `deleteWebhook`, then `getUpdates` with `offset` and `timeout`). The handler answers
//! the first text starting with `ping` with `pong: <text>` as a reply to it, then the loop shuts
//! down and one JSON line `{"answered": <message id>}` is printed.

use teloxide::dptree;
use teloxide::prelude::*;
use teloxide::types::ReplyParameters;
use tokio::sync::mpsc;

use crate::{Failure, bot};

/// Answers a `ping…` text and reports its id on `done`; other updates are left alone.
async fn answer(bot: Bot, msg: Message, done: mpsc::UnboundedSender<i32>) -> ResponseResult<()> {
    let Some(text) = msg.text().filter(|t| t.starts_with("ping")) else {
        return Ok(());
    };
    bot.send_message(msg.chat.id, format!("pong: {text}"))
        .reply_parameters(ReplyParameters::new(msg.id))
        .await?;
    let _ = done.send(msg.id.0);
    Ok(())
}

pub(crate) async fn run() -> Result<(), Failure> {
    let (done, mut answered) = mpsc::unbounded_channel::<i32>();
    let handler = Update::filter_message().endpoint(answer);
    let mut dispatcher = Dispatcher::builder(bot()?, handler)
        .dependencies(dptree::deps![done])
        .build();
    let token = dispatcher.shutdown_token();
    let stopper = tokio::spawn(async move {
        let id = answered.recv().await;
        if id.is_some() {
            // Starts the shutdown; `dispatch` below returns once it is done.
            let _ = token.shutdown();
        }
        id
    });
    dispatcher.dispatch().await;
    drop(dispatcher);
    let id = stopper
        .await
        .map_err(|e| format!("stopper: {e}"))?
        .ok_or("the polling loop ended without answering")?;
    println!("{}", serde_json::json!({ "answered": id }));
    Ok(())
}
