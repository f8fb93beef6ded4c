//! [`Lenient`]: a `serde_json::Value` deserializer that accepts parameters the way the Bot API
//! does, so form, multipart and query-string requests fill the same typed structs as JSON.
//!
//! Guided by the type being deserialized: a string becomes an integer, float or boolean where
//! one is expected (`"123"`, `"true"`, `"True"`, `"1"`); a string that holds JSON becomes the
//! object or array expected (`reply_parameters`, `entities`); a number or boolean becomes a
//! string where one is expected. Everything else behaves exactly like `serde_json::Value`, so
//! errors keep serde_json's wording ("invalid type: string \"x\", expected i32").

use serde::de::{
    DeserializeSeed, Error as _, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Value};

/// Deserializes the wrapped value with Bot API type coercions (see the module docs).
#[derive(Debug, Clone)]
pub struct Lenient(pub Value);

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "True" | "TRUE" | "1" => Some(true),
        "false" | "False" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

/// A JSON object or array encoded in a string, as form bodies carry them.
fn parse_nested(s: &str, what: &str) -> Result<Value, Error> {
    serde_json::from_str(s)
        .map_err(|e| Error::custom(format_args!("can't parse {what} from a JSON string: {e}")))
}

macro_rules! integer {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                Value::String(s) => {
                    let t = s.trim();
                    if let Ok(n) = t.parse::<i64>() {
                        visitor.visit_i64(n)
                    } else if let Ok(n) = t.parse::<u64>() {
                        visitor.visit_u64(n)
                    } else {
                        Err(Error::invalid_type(Unexpected::Str(&s), &visitor))
                    }
                }
                other => other.$method(visitor),
            }
        }
    )*};
}

impl<'de> serde::Deserializer<'de> for Lenient {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(LenientMap::new(map)),
            Value::Array(items) => visitor.visit_seq(LenientSeq(items.into_iter())),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => match parse_bool(&s) {
                Some(b) => visitor.visit_bool(b),
                None => Err(Error::invalid_type(Unexpected::Str(&s), &visitor)),
            },
            other => other.deserialize_bool(visitor),
        }
    }

    integer! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => visitor.visit_f64(n),
                _ => Err(Error::invalid_type(Unexpected::Str(&s), &visitor)),
            },
            other => other.deserialize_f64(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Number(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            other => other.deserialize_string(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Lenient(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => match parse_nested(&s, "an array")? {
                Value::Array(items) => visitor.visit_seq(LenientSeq(items.into_iter())),
                other => other.deserialize_seq(visitor),
            },
            Value::Array(items) => visitor.visit_seq(LenientSeq(items.into_iter())),
            other => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => match parse_nested(&s, "an object")? {
                Value::Object(map) => visitor.visit_map(LenientMap::new(map)),
                other => other.deserialize_map(visitor),
            },
            Value::Object(map) => visitor.visit_map(LenientMap::new(map)),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct identifier ignored_any
    }
}

struct LenientSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for LenientSeq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|value| seed.deserialize(Lenient(value)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct LenientMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl LenientMap {
    fn new(map: Map<String, Value>) -> Self {
        Self {
            entries: map.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for LenientMap {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Error::custom("value requested before its key"))?;
        seed.deserialize(Lenient(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use botapi::ids::ChatIdParam;
    use botapi::types::{MessageEntity, ReplyParameters};
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        chat_id: ChatIdParam,
        text: String,
        message_id: Option<i32>,
        silent: Option<bool>,
        duration: Option<f64>,
        reply_parameters: Option<ReplyParameters>,
        entities: Option<Vec<MessageEntity>>,
    }

    fn from(value: Value) -> Result<Probe, Error> {
        Probe::deserialize(Lenient(value))
    }

    #[test]
    fn form_strings_fill_typed_fields() {
        let probe = from(json!({
            "chat_id": "-100123", "text": "hi", "message_id": " 7 ", "silent": "True",
            "duration": "2.5",
            "reply_parameters": "{\"message_id\":5,\"allow_sending_without_reply\":true}",
            "entities": "[{\"type\":\"bold\",\"offset\":0,\"length\":2}]",
            "method": "sendMessage",
        }))
        .expect("coerced");
        assert_eq!(probe.chat_id, ChatIdParam::Id(-100_123));
        assert_eq!(
            (probe.message_id, probe.silent, probe.duration),
            (Some(7), Some(true), Some(2.5))
        );
        let reply = probe.reply_parameters.expect("reply");
        assert_eq!(
            (reply.message_id, reply.allow_sending_without_reply),
            (5, Some(true))
        );
        assert_eq!(probe.entities.expect("entities")[0].length, 2);
    }

    #[test]
    fn json_values_pass_through_and_numbers_become_strings() {
        let probe = from(json!({ "chat_id": 5, "text": 12, "silent": false, "reply_parameters": { "message_id": "9" } }))
            .expect("typed");
        assert_eq!((probe.text.as_str(), probe.silent), ("12", Some(false)));
        assert_eq!(probe.reply_parameters.expect("reply").message_id, 9);
    }

    #[test]
    fn impossible_coercions_keep_serde_wordings() {
        let error = |value| from(value).expect_err("rejected").to_string();
        assert_eq!(
            error(json!({ "chat_id": 1, "text": "a", "message_id": "x" })),
            r#"invalid type: string "x", expected i32"#
        );
        assert_eq!(
            error(json!({ "chat_id": 1, "text": "a", "silent": "yes" })),
            r#"invalid type: string "yes", expected a boolean"#
        );
        assert!(
            error(json!({ "chat_id": 1, "text": "a", "reply_parameters": "{oops" }))
                .starts_with("can't parse an object from a JSON string")
        );
        assert_eq!(
            error(json!({ "chat_id": 1, "text": null })),
            "invalid type: null, expected a string"
        );
    }
}
