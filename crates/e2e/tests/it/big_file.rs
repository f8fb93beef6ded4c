//! A 30 MB document goes up through the sender (saveBigFilePart from 4 workers) and comes down
//! through the receiver (streamed getFile, stored complete before the payload) intact.

use std::time::Duration;

use sha2::{Digest, Sha256};
use testdc::{Fixture, MediaKind, MediaMeta, SendMedia};

use crate::common::{Stack, TOKEN};

const SIZE: usize = 30 * 1024 * 1024;

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn thirty_megabytes_go_up_and_come_down_intact() {
    let stack = Stack::start().await;
    let data: Vec<u8> = (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let digest = hex(&data);
    let alice = Fixture::DEFAULT.alice;
    let max = (64 * 1024 * 1024).to_string();

    // Up: multipart sendDocument through the sender.
    let addr = stack.sender(&["--max-upload-bytes", &max]).await;
    let part = reqwest::multipart::Part::bytes(data.clone())
        .file_name("big.bin")
        .mime_str("application/octet-stream")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("chat_id", alice.to_string())
        .part("document", part);
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/api_v1/sendDocument"))
        .header("x-api-key", TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["result"]["document"]["file_size"], SIZE);
    let held = stack
        .dc
        .history(alice)
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
        .media
        .unwrap();
    assert_eq!((held.size, held.sha256.as_str()), (SIZE, digest.as_str()));

    // Down: a user sends the same bytes; the receiver downloads before it delivers.
    let mut payloads = stack.receiver(&["--media-max-bytes", &max]).await;
    let meta = MediaMeta {
        file_name: Some("big.bin".into()),
        ..Default::default()
    };
    let send = SendMedia {
        from: None,
        chat_id: alice,
        kind: MediaKind::Document,
        caption: String::new(),
        reply_to_message_id: None,
        meta,
    };
    stack.dc.send_media(send, data).unwrap();
    let payload = loop {
        let p = tokio::time::timeout(Duration::from_secs(60), payloads.recv())
            .await
            .unwrap()
            .unwrap();
        if !p.body["message"]["media"].is_null() {
            break p;
        }
    };
    // The payload's URL uses PUBLIC_MEDIA_PORT; read the stored file behind it instead.
    let url = payload.body["message"]["media_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let name = url.rsplit('/').next().unwrap();
    let downloaded = std::fs::read(stack.dir.path().join("media").join(name)).unwrap();
    assert_eq!(downloaded.len(), SIZE);
    assert_eq!(hex(&downloaded), digest);
}
