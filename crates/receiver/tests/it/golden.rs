//! The legacy payload of seven message kinds against the goldens in `tests/golden/` (what they
//! are and where they come from: `tests/golden/README.md`), key by key.

use serde_json::Value;
use testdc::{MediaKind, MediaMeta, MessageView};

use crate::helpers::{Options, TestApp, group_id, ids, iso, spawn_app, supergroup_id};
use crate::media::meta;

/// Keys whose values change from run to run; they are compared by shape ([`same_shape`]).
const VOLATILE: &[&str] = &[
    "update_id",
    "message_id",
    "date",
    "file_id",
    "file_unique_id",
    "media_url",
];

/// `tests/golden/<kind>.json`.
fn golden(kind: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{kind}.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("golden {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("golden {}: {e}", path.display()))
}

/// A golden string value at `pointer`.
fn text_at(golden: &Value, pointer: &str) -> String {
    golden
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("golden has no string at {pointer}"))
        .to_owned()
}

/// Appends to `diffs` every difference between `expected` (a golden) and `actual` below `path`.
fn compare(path: &str, expected: &Value, actual: &Value, diffs: &mut Vec<String>) {
    let key = path.rsplit('/').next().unwrap_or_default();
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for missing in e.keys().filter(|k| !a.contains_key(*k)) {
                diffs.push(format!("{path}/{missing}: missing"));
            }
            for extra in a.keys().filter(|k| !e.contains_key(*k)) {
                diffs.push(format!("{path}/{extra}: not in the golden"));
            }
            for (k, e) in e {
                if let Some(a) = a.get(k) {
                    compare(&format!("{path}/{k}"), e, a, diffs);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                compare(&format!("{path}/{i}"), e, a, diffs);
            }
        }
        _ => {
            let same = if VOLATILE.contains(&key) {
                same_shape(key, expected, actual)
            } else {
                expected == actual
            };
            if !same {
                diffs.push(format!("{path}: {actual}, golden {expected}"));
            }
        }
    }
}

/// Whether a volatile value has the golden's shape (see `tests/golden/README.md`).
fn same_shape(key: &str, expected: &Value, actual: &Value) -> bool {
    match (key, expected, actual) {
        (_, Value::Null, Value::Null) => true,
        ("update_id" | "message_id", Value::Number(_), Value::Number(n)) => {
            n.as_i64().is_some_and(|n| n > 0)
        }
        ("date", Value::String(_), Value::String(s)) => is_iso_utc(s),
        ("file_id" | "file_unique_id", Value::String(_), Value::String(s)) => !s.is_empty(),
        ("media_url", Value::String(e), Value::String(a)) => media_name(a)
            .zip(media_name(e))
            .is_some_and(|((_, a_ext), (_, e_ext))| a_ext == e_ext),
        _ => false,
    }
}

/// `YYYY-MM-DDTHH:MM:SS+00:00`.
fn is_iso_utc(s: &str) -> bool {
    let digits = |range: std::ops::Range<usize>| {
        s.get(range)
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
    };
    s.len() == 25
        && digits(0..4)
        && &s[4..5] == "-"
        && digits(5..7)
        && &s[7..8] == "-"
        && digits(8..10)
        && &s[10..11] == "T"
        && digits(11..13)
        && &s[13..14] == ":"
        && digits(14..16)
        && &s[16..17] == ":"
        && digits(17..19)
        && &s[19..] == "+00:00"
}

/// `(stem, extension)` of `http://<host>:<port>/media/<32 hex>.<ext>`.
fn media_name(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (_, name) = rest.split_once("/media/")?;
    let (stem, ext) = name.split_once('.')?;
    let hex = stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !ext.is_empty()).then_some((stem, ext))
}

/// One kind's outcome: the differences from its golden, prefixed by the kind.
struct Check {
    diffs: Vec<String>,
}

impl Check {
    /// Compares the next payload with the golden `kind`, and its message id and date (and those
    /// of the replied-to message) with what testdc sent.
    async fn next(
        &mut self,
        app: &mut TestApp,
        kind: &str,
        sent: &MessageView,
        original: Option<&MessageView>,
    ) {
        let got = app.next_payload().await.body;
        let mut diffs = Vec::new();
        compare("", &golden(kind), &got, &mut diffs);
        let message = &got["message"];
        if message["message_id"] != sent.message_id || message["date"] != iso(sent.date) {
            diffs.push(format!("message_id/date are not testdc's: {message}"));
        }
        if let Some(original) = original {
            let replied = &message["reply_to_message"];
            if replied["message_id"] != original.message_id || replied["date"] != iso(original.date)
            {
                diffs.push(format!("reply_to_message is not testdc's: {replied}"));
            }
        }
        self.diffs
            .extend(diffs.into_iter().map(|d| format!("{kind}.json{d}")));
    }
}

#[tokio::test]
async fn seven_message_kinds_match_their_golden_legacy_payloads() {
    let mut app = spawn_app(Options::default()).await;
    let f = ids();
    let mut check = Check { diffs: Vec::new() };

    let text = text_at(&golden("text"), "/message/text");
    let sent = app.send(Some(f.alice), f.alice, &text, None);
    check.next(&mut app, "text", &sent, None).await;

    let reply = golden("reply");
    let original = app.send(
        Some(f.alice),
        f.alice,
        &text_at(&reply, "/message/reply_to_message/text"),
        None,
    );
    app.next_payload().await;
    let text = text_at(&reply, "/message/text");
    let sent = app.send(Some(f.alice), f.alice, &text, Some(original.message_id));
    check.next(&mut app, "reply", &sent, Some(&original)).await;

    let photo = MediaMeta::default();
    let (sent, _) = app.send_fixture(f.alice, f.alice, MediaKind::Photo, "photo.jpg", photo);
    check.next(&mut app, "photo", &sent, None).await;

    let voice = meta(None, "audio/ogg", Some(2.229875), None);
    let (sent, _) = app.send_fixture(f.alice, f.alice, MediaKind::Voice, "voice.ogg", voice);
    check.next(&mut app, "voice", &sent, None).await;

    let text = text_at(&golden("group"), "/message/text");
    let sent = app.send(Some(f.bob), group_id(), &text, None);
    check.next(&mut app, "group", &sent, None).await;

    let group_reply = golden("group_reply");
    let original = app.send(
        Some(f.alice),
        group_id(),
        &text_at(&group_reply, "/message/reply_to_message/text"),
        None,
    );
    app.next_payload().await;
    let text = text_at(&group_reply, "/message/text");
    let sent = app.send(Some(f.bob), group_id(), &text, Some(original.message_id));
    check
        .next(&mut app, "group_reply", &sent, Some(&original))
        .await;

    let text = text_at(&golden("supergroup"), "/message/text");
    let sent = app.send(Some(f.carol), supergroup_id(), &text, None);
    check.next(&mut app, "supergroup", &sent, None).await;

    assert!(
        check.diffs.is_empty(),
        "payloads differ from tests/golden:\n{}",
        check.diffs.join("\n")
    );
    app.stop().await.unwrap();
}

#[test]
fn volatile_values_are_compared_by_shape_and_the_rest_exactly() {
    let golden = serde_json::json!({"message": {"message_id": 4, "date": "2026-12-07T01:22:45+00:00",
        "media_url": "http://localhost:8181/media/3f9c2d7a0b1e4c5d8e9f00112233aabb.jpg",
        "text": ""}});
    let ok = serde_json::json!({"message": {"message_id": 90, "date": "2027-01-02T03:04:05+00:00",
        "media_url": "http://127.0.0.1:4000/media/00000000000000000000000000000000.jpg",
        "text": ""}});
    let mut diffs = Vec::new();
    compare("", &golden, &ok, &mut diffs);
    assert_eq!(diffs, Vec::<String>::new());
    let bad = serde_json::json!({"message": {"message_id": 0, "date": "2027-01-02T03:04:05",
        "media_url": "http://127.0.0.1:4000/media/x.png", "text": null, "extra": 1}});
    compare("", &golden, &bad, &mut diffs);
    assert_eq!(diffs.len(), 5, "{diffs:#?}");
}
