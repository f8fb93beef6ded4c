//! Property tests: the same parameters sent as a query string, JSON, an urlencoded body or a
//! multipart body become identical typed requests.

use axum::body::Body;
use axum::http::{Request, header};
use botapi::ids::ChatIdParam;
use botapi::types::{LinkPreviewOptions, ReplyParameters};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{RawParams, deserialize};
use crate::routes::messages::SendMessage;

const BOUNDARY: &str = "proptest-boundary-7f3a";

/// One sendMessage request; `None` fields are left out of every encoding.
#[derive(Debug, Clone)]
struct Params {
    chat_id: ChatIdParam,
    text: String,
    parse_mode: Option<&'static str>,
    reply: Option<(i32, Option<bool>, Option<String>)>,
    disable_notification: Option<bool>,
    protect_content: Option<bool>,
    preview_disabled: Option<bool>,
    thread: Option<i32>,
    /// Python spells booleans `True`/`False` in forms.
    python_bools: bool,
}

fn chat_id() -> impl Strategy<Value = ChatIdParam> {
    prop_oneof![
        any::<i64>()
            .prop_filter("0 is not a chat", |id| *id != 0)
            .prop_map(ChatIdParam::Id),
        "[A-Za-z][A-Za-z0-9_]{3,31}".prop_map(ChatIdParam::Username),
    ]
}

fn params() -> impl Strategy<Value = Params> {
    let reply = (
        1..i32::MAX,
        any::<Option<bool>>(),
        proptest::option::of("\\PC{1,20}"),
    );
    (
        (
            chat_id(),
            "\\PC{1,60}",
            proptest::option::of(prop_oneof![Just("HTML"), Just("MarkdownV2")]),
        ),
        proptest::option::of(reply),
        (
            any::<Option<bool>>(),
            any::<Option<bool>>(),
            any::<Option<bool>>(),
        ),
        (proptest::option::of(1..i32::MAX), any::<bool>()),
    )
        .prop_map(
            |((chat_id, text, parse_mode), reply, (silent, protect, preview), (thread, py))| {
                Params {
                    chat_id,
                    text,
                    parse_mode,
                    reply,
                    disable_notification: silent,
                    protect_content: protect,
                    preview_disabled: preview,
                    thread,
                    python_bools: py,
                }
            },
        )
}

impl Params {
    /// The parameters as JSON values, objects included.
    fn json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert(
            "chat_id".into(),
            serde_json::to_value(&self.chat_id).expect("chat_id"),
        );
        map.insert("text".into(), json!(self.text));
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.into(), value);
            }
        };
        put("parse_mode", self.parse_mode.map(Value::from));
        put(
            "reply_parameters",
            self.reply_parameters().map(|r| json!(r)),
        );
        put(
            "disable_notification",
            self.disable_notification.map(Value::from),
        );
        put("protect_content", self.protect_content.map(Value::from));
        put(
            "link_preview_options",
            self.preview_disabled.map(|d| json!({ "is_disabled": d })),
        );
        put("message_thread_id", self.thread.map(Value::from));
        map
    }

    /// The parameters as form strings: scalars as text, objects as JSON text.
    fn pairs(&self) -> Vec<(String, String)> {
        self.json()
            .into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s,
                    Value::Bool(b) if self.python_bools => if b { "True" } else { "False" }.into(),
                    other => other.to_string(),
                };
                (key, text)
            })
            .collect()
    }

    fn reply_parameters(&self) -> Option<ReplyParameters> {
        self.reply
            .clone()
            .map(|(message_id, allow, quote)| ReplyParameters {
                message_id,
                chat_id: None,
                allow_sending_without_reply: allow,
                quote,
                quote_parse_mode: None,
                quote_entities: None,
                quote_position: None,
            })
    }

    fn expected(&self) -> SendMessage {
        SendMessage {
            chat_id: self.chat_id.clone(),
            text: self.text.clone(),
            parse_mode: self.parse_mode.map(str::to_owned),
            entities: None,
            reply_to_message_id: None,
            reply_parameters: self.reply_parameters(),
            allow_sending_without_reply: None,
            disable_notification: self.disable_notification,
            protect_content: self.protect_content,
            link_preview_options: self.preview_disabled.map(|d| LinkPreviewOptions {
                is_disabled: Some(d),
                ..LinkPreviewOptions::default()
            }),
            disable_web_page_preview: None,
            message_thread_id: self.thread,
            reply_markup: None,
        }
    }
}

fn urlencoded(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn multipart(pairs: &[(String, String)]) -> String {
    let mut body = String::new();
    for (key, value) in pairs {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n"
        ));
    }
    body + &format!("--{BOUNDARY}--\r\n")
}

/// The four requests a client could send for `params`.
fn encodings(params: &Params) -> Vec<(&'static str, Request<Body>)> {
    let pairs = params.pairs();
    let post = |uri: String| Request::builder().method("POST").uri(uri);
    let body_json = Value::Object(params.json()).to_string();
    let query = post(format!("/api_v1/sendMessage?{}", urlencoded(&pairs))).body(Body::empty());
    let json = post("/api_v1/sendMessage".into())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body_json));
    let form = post("/api_v1/sendMessage".into())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(urlencoded(&pairs)));
    let multi = post("/api_v1/sendMessage".into())
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(&pairs)));
    [
        ("query", query),
        ("json", json),
        ("form", form),
        ("multipart", multi),
    ]
    .into_iter()
    .map(|(name, request)| (name, request.expect("request")))
    .collect()
}

fn typed(request: Request<Body>) -> SendMessage {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let raw = runtime
        .block_on(RawParams::read(request, 1024))
        .expect("read");
    assert!(raw.files.is_empty());
    deserialize(Value::Object(raw.fields)).expect("typed")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn send_message_is_the_same_in_every_encoding(params in params()) {
        let expected = params.expected();
        for (encoding, request) in encodings(&params) {
            prop_assert_eq!(&typed(request), &expected, "{}", encoding);
        }
    }
}
