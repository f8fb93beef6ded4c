//! The scripted conversation: Alice writes a text, sends a voice note and a photo; after each,
//! the consumer's answer goes out through the sender. Ends with Alice's chat as testdc holds it.

use std::time::Duration;

use anyhow::{Context, bail};
use testdc::{Fixture, MediaKind, MediaMeta, MessageView, SendMedia, SendText};
use tokio::sync::broadcast;

use super::{Demo, Event, PROBE_PREFIX};

/// How long one step may take, from Alice's message to the consumer's answer.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))
}

/// Waits for the consumer's answer to the step just taken.
async fn answered(events: &mut broadcast::Receiver<Event>) -> anyhow::Result<()> {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(Event::Answered(_)) => return Ok(()),
                Ok(Event::Failed(why)) => bail!("the consumer could not answer: {why}"),
                Ok(Event::Received(_) | Event::Probe)
                | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => bail!("the consumer stopped"),
            }
        }
    };
    tokio::time::timeout(STEP_TIMEOUT, wait)
        .await
        .with_context(|| format!("no answer within {STEP_TIMEOUT:?}"))?
}

/// Plays the conversation against a started demo, printing each step.
///
/// Errors: testdc refuses a message, or the consumer does not answer a step within 30 s.
pub async fn play(demo: &Demo) -> anyhow::Result<()> {
    let dc = demo.dc();
    let alice = Fixture::DEFAULT.alice;
    let mut events = demo.subscribe();

    println!("1. Alice writes a text");
    dc.send_text(SendText {
        from: None,
        chat_id: alice,
        text: "Hi! What's the weather?".into(),
        reply_to_message_id: None,
    })?;
    answered(&mut events).await?;

    println!("\n2. Alice sends a voice note (fixtures/voice.ogg)");
    let voice = SendMedia {
        from: None,
        chat_id: alice,
        kind: MediaKind::Voice,
        caption: String::new(),
        reply_to_message_id: None,
        meta: MediaMeta {
            duration: Some(2.2),
            ..Default::default()
        },
    };
    dc.send_media(voice, fixture("voice.ogg")?)?;
    answered(&mut events).await?;

    println!("\n3. Alice sends a photo (fixtures/photo.jpg)");
    let photo = SendMedia {
        from: None,
        chat_id: alice,
        kind: MediaKind::Photo,
        caption: "my view".into(),
        reply_to_message_id: None,
        meta: MediaMeta::default(),
    };
    dc.send_media(photo, fixture("photo.jpg")?)?;
    answered(&mut events).await?;

    println!("\nAlice's chat as Telegram (testdc) holds it, oldest first:");
    for m in dc.history(alice)?.iter().rev() {
        if !m.text.starts_with(PROBE_PREFIX) {
            println!("  {}", line(m));
        }
    }
    Ok(())
}

/// `#12 you ↩11: text [photo image/jpeg]`.
fn line(m: &MessageView) -> String {
    let who = if m.out { "you  " } else { "Alice" };
    let media = m
        .media
        .as_ref()
        .map(|x| {
            let voice = if x.voice { ", voice" } else { "" };
            format!(" [{} {}{voice}]", x.kind, x.mime_type)
        })
        .unwrap_or_default();
    let reply = m
        .reply_to_message_id
        .map(|r| format!(" ↩{r}"))
        .unwrap_or_default();
    format!("#{:<3} {who}{reply}: {}{media}", m.message_id, m.text)
}
