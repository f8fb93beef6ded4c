//! Bot API conformance: checks a JSON value the gateway emits against the machine-readable Bot
//! API spec kept in `crates/botapi/spec/` (see its README for the source and version).
//!
//! The check is recursive and strict, the way the newest client libraries parse (aiogram's
//! pydantic models, teloxide's serde types, python-telegram-bot's constructors):
//!
//! - every field the spec marks required is present and not `null`;
//! - every present field has one of the field's types: `Integer` (a JSON integer), `Float` (any
//!   number), `String`, `Boolean`, `True` (only `true`), `Array of X` (nested to any depth), an
//!   object type (checked recursively), or a union (`Integer or String` is two types);
//! - a type with subtypes (`ChatMember`, `MessageOrigin`, `ReactionType`, …) accepts a value
//!   that validates as any one of them; the error names the closest one;
//! - a string field whose spec text says it is "always" one value, or lists its values, holds
//!   one of them (`MessageOriginUser.type` is `user`; `Chat.type` is one of four);
//! - a field the spec does not know is an error, unless the overlay's `extensions` layer lists
//!   it: an unknown field is a bug in our output, not something a client will ignore (pydantic
//!   models with `extra="forbid"` and typos both hide there). `null` for an optional field is
//!   accepted, since every library reads it as absent (teloxide needs some keys present).
//!
//! [`spec()`] loads the spec once per test process: `botapi-<version>.json` with
//! `overlay.json` applied layer by layer (the types, fields and methods of the Bot API
//! versions newer than the copied one, and our documented extensions: the user-account
//! methods and `ChatListItem`). Its [`Spec::version`] is the overlay's `version` (the Bot API
//! version the layers bring the copy to, `Bot API 10.3`), or the copy's own without one.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The spec file: names, types and required flags of every Bot API type and method.
const BASE: &str = include_str!("../../botapi/spec/botapi-10.1.json");
/// Our layers on top of it (newer Bot API fields, our extensions).
const OVERLAY: &str = include_str!("../../botapi/spec/overlay.json");

/// One field of a Bot API type, as the spec states it.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldDef {
    /// JSON key, e.g. `persistent_id`.
    pub name: String,
    /// Alternative types in the spec's words: `Integer`, `Array of PhotoSize`, `Message`.
    pub types: Vec<String>,
    /// Whether the spec marks the field required (no "Optional." in its description).
    pub required: bool,
    /// The one value the spec allows ("always “user”").
    #[serde(default, rename = "const")]
    pub constant: Option<String>,
    /// The values the spec lists ("can be either “private”, “group”, …").
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
}

/// One Bot API type: an object with fields, or an abstract type standing for its subtypes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TypeDef {
    /// Concrete types a value of this type may be (empty for object types).
    #[serde(default)]
    pub subtypes: Vec<String>,
    /// The object's fields, in the spec's order.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Overlay only: the type whose fields this one starts with (`ChatListItem` flattens `Chat`).
    #[serde(default)]
    pub extends: Option<String>,
}

#[derive(Deserialize)]
struct BaseFile {
    version: String,
    types: HashMap<String, TypeDef>,
    methods: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct OverlayFile {
    /// The Bot API version base + layers amount to; absent: the base's.
    #[serde(default)]
    version: Option<String>,
    layers: Vec<Layer>,
}

/// One overlay layer: new or replaced types, fields added to (or replacing same-named fields
/// of) existing types, and methods.
#[derive(Deserialize)]
struct Layer {
    #[serde(default)]
    types: HashMap<String, TypeDef>,
    #[serde(default)]
    fields: HashMap<String, Vec<FieldDef>>,
    #[serde(default)]
    methods: HashMap<String, Vec<String>>,
}

/// The loaded spec.
#[derive(Debug)]
pub struct Spec {
    version: String,
    types: HashMap<String, TypeDef>,
    /// Lowercase method name → its return types.
    methods: HashMap<String, Vec<String>>,
    /// Method names as the spec writes them.
    method_names: Vec<String>,
}

/// One way a value breaks the spec: where (`result.chat.accepted_gift_types`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path from the checked value's root, dot-separated, `[i]` for array elements.
    pub path: String,
    /// What is wrong, in words.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// The spec with the overlay applied, loaded on first use.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| Spec::parse(BASE, OVERLAY).expect("the checked-in Bot API spec parses"))
}

impl Spec {
    /// Parses a base spec and an overlay (the formats of the files in `crates/botapi/spec/`).
    pub fn parse(base: &str, overlay: &str) -> Result<Self, serde_json::Error> {
        let base: BaseFile = serde_json::from_str(base)?;
        let overlay: OverlayFile = serde_json::from_str(overlay)?;
        let overlay_version = overlay.version;
        let mut types = base.types;
        let mut methods = base.methods;
        for layer in overlay.layers {
            types.extend(layer.types);
            for (type_name, fields) in layer.fields {
                let def = types.entry(type_name).or_default();
                for field in fields {
                    def.fields.retain(|f| f.name != field.name);
                    def.fields.push(field);
                }
            }
            methods.extend(layer.methods);
        }
        let extended: Vec<(String, String)> = types
            .iter()
            .filter_map(|(name, def)| Some((name.clone(), def.extends.clone()?)))
            .collect();
        for (name, parent) in extended {
            let inherited = types
                .get(&parent)
                .map(|p| p.fields.clone())
                .unwrap_or_default();
            if let Some(def) = types.get_mut(&name) {
                def.fields.splice(0..0, inherited);
            }
        }
        let mut method_names: Vec<String> = methods.keys().cloned().collect();
        method_names.sort();
        let methods = methods
            .into_iter()
            .map(|(name, returns)| (name.to_ascii_lowercase(), returns))
            .collect();
        Ok(Self {
            version: overlay_version.unwrap_or(base.version),
            types,
            methods,
            method_names,
        })
    }

    /// The Bot API version checked against, e.g. `Bot API 10.3`: the overlay's `version`, or
    /// the base file's when the overlay names none.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The definition of type `name`, if the spec has it.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// Every method name the spec (and overlay) knows, sorted.
    pub fn method_names(&self) -> &[String] {
        &self.method_names
    }

    /// The return types of `method` (any capitalisation), e.g. `["Message", "Boolean"]`.
    pub fn returns(&self, method: &str) -> Option<&[String]> {
        self.methods
            .get(&method.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// Checks `value` against the type expression `ty` (`Message`, `Array of Update`, …).
    pub fn check(&self, ty: &str, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check_union(&[ty.to_owned()], value, "$", &mut out);
        out
    }

    /// Checks `value` as the `result` of `method`; a method the spec does not know is one
    /// violation.
    pub fn check_result(&self, method: &str, value: &Value) -> Vec<Violation> {
        match self.returns(method) {
            Some(returns) => {
                let mut out = Vec::new();
                self.check_union(returns, value, "result", &mut out);
                out
            }
            None => vec![Violation {
                path: "result".into(),
                problem: format!("method {method} is not in the spec or the overlay"),
            }],
        }
    }

    /// Panics with every violation, and the value, unless `value` is a valid `ty`.
    pub fn assert_type(&self, ty: &str, value: &Value) {
        report(&format!("as {ty}"), value, &self.check(ty, value));
    }

    /// Panics with every violation, and the value, unless `value` is a valid result of `method`.
    pub fn assert_result(&self, method: &str, value: &Value) {
        let context = format!("as the result of {method}");
        report(&context, value, &self.check_result(method, value));
    }

    /// One of `types` must match; otherwise the violations of the closest one are reported.
    fn check_union(&self, types: &[String], value: &Value, path: &str, out: &mut Vec<Violation>) {
        let mut best: Option<Vec<Violation>> = None;
        for ty in types {
            let mut found = Vec::new();
            self.check_expr(ty, value, path, &mut found);
            if found.is_empty() {
                return;
            }
            if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                best = Some(found);
            }
        }
        out.extend(best.unwrap_or_default());
    }

    fn check_expr(&self, ty: &str, value: &Value, path: &str, out: &mut Vec<Violation>) {
        let mismatch = |out: &mut Vec<Violation>| {
            out.push(Violation {
                path: path.to_owned(),
                problem: format!("expected {ty}, got {}", kind(value)),
            });
        };
        if let Some(inner) = ty.strip_prefix("Array of ") {
            match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_expr(inner, item, &format!("{path}[{i}]"), out);
                    }
                }
                None => mismatch(out),
            }
            return;
        }
        let ok = match ty {
            "Integer" => value.is_i64() || value.is_u64(),
            "Float" => value.is_number(),
            "String" => value.is_string(),
            "Boolean" => value.is_boolean(),
            "True" => value == &Value::Bool(true),
            _ => return self.check_object(ty, value, path, out),
        };
        if !ok {
            mismatch(out);
        }
    }

    fn check_object(&self, ty: &str, value: &Value, path: &str, out: &mut Vec<Violation>) {
        let Some(def) = self.types.get(ty) else {
            out.push(Violation {
                path: path.to_owned(),
                problem: format!("type {ty} is not in the spec"),
            });
            return;
        };
        if !def.subtypes.is_empty() {
            let mut found = Vec::new();
            self.check_union(&def.subtypes, value, path, &mut found);
            if let Some(first) = found.first_mut() {
                first.problem = format!("matches no subtype of {ty}; closest: {}", first.problem);
            }
            out.extend(found);
            return;
        }
        let Some(object) = value.as_object() else {
            out.push(Violation {
                path: path.to_owned(),
                problem: format!("expected {ty} (an object), got {}", kind(value)),
            });
            return;
        };
        let known: HashSet<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
        for key in object.keys().filter(|k| !known.contains(k.as_str())) {
            out.push(Violation {
                path: format!("{path}.{key}"),
                problem: format!("{ty} has no field {key} (neither in the spec nor an extension)"),
            });
        }
        for field in &def.fields {
            let at = format!("{path}.{}", field.name);
            match object.get(&field.name) {
                None | Some(Value::Null) if field.required => out.push(Violation {
                    path: at,
                    problem: format!("required field of {ty} missing"),
                }),
                None | Some(Value::Null) => {}
                Some(v) => {
                    self.check_union(&field.types, v, &at, out);
                    check_values(field, v, &at, out);
                }
            }
        }
    }
}

/// The `const` / `one_of` rule of a string field.
fn check_values(field: &FieldDef, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let Some(s) = value.as_str() else { return };
    let allowed: Vec<&str> = match (&field.constant, &field.one_of) {
        (Some(c), _) => vec![c.as_str()],
        (None, Some(list)) => list.iter().map(String::as_str).collect(),
        (None, None) => return,
    };
    if !allowed.contains(&s) {
        out.push(Violation {
            path: path.to_owned(),
            problem: format!("{s:?} is not one of {allowed:?}"),
        });
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn report(context: &str, value: &Value, violations: &[Violation]) {
    if violations.is_empty() {
        return;
    }
    let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
    panic!(
        "not valid {} {context}:\n{}\nvalue: {value:#}",
        spec().version(),
        list.join("\n")
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn problems(ty: &str, value: Value) -> Vec<String> {
        spec()
            .check(ty, &value)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_minimal_message_is_valid() {
        let message = json!({"message_id": 1, "date": 2, "chat": {"id": 3, "type": "private"}});
        assert_eq!(problems("Message", message), Vec::<String>::new());
    }

    #[test]
    fn missing_required_wrong_types_and_unknown_fields_are_each_named() {
        let message = json!({"message_id": "1", "chat": {"id": 3, "type": "chat"}, "colour": 1});
        assert_eq!(
            problems("Message", message),
            [
                "$.colour: Message has no field colour (neither in the spec nor an extension)",
                "$.message_id: expected Integer, got a string",
                "$.date: required field of Message missing",
                "$.chat.type: \"chat\" is not one of [\"private\", \"group\", \"supergroup\", \"channel\"]",
            ]
        );
    }

    #[test]
    fn arrays_nest_and_unions_take_any_member() {
        assert!(problems("Array of Array of Integer", json!([[1, 2], []])).is_empty());
        assert_eq!(
            problems("Array of Integer", json!([1, 2.5])),
            ["$[1]: expected Integer, got a float"]
        );
        let returns = spec().returns("EDITMESSAGETEXT").unwrap();
        assert_eq!(returns, ["Message", "Boolean"]);
        assert!(
            spec()
                .check_result("editMessageText", &json!(true))
                .is_empty()
        );
        assert!(spec().check_result("noSuchMethod", &json!(true)).len() == 1);
    }

    #[test]
    fn abstract_types_accept_any_subtype_and_name_the_closest() {
        let origin = json!({"type": "hidden_user", "date": 1, "sender_user_name": "x"});
        assert!(problems("MessageOrigin", origin).is_empty());
        let reaction = json!({"type": "custom_emoji"});
        assert_eq!(
            problems("ReactionType", reaction),
            [
                "$.custom_emoji_id: matches no subtype of ReactionType; closest: required field of ReactionTypeCustomEmoji missing"
            ]
        );
    }

    #[test]
    fn null_is_absent_for_optional_fields_only() {
        let user = json!({"id": 1, "is_bot": false, "first_name": null, "username": null});
        assert_eq!(
            problems("User", user),
            ["$.first_name: required field of User missing"]
        );
    }

    /// Every type a field, a subtype, a parent or a method result names is defined: a layer
    /// that adds `InlineKeyboardButton.disabled` must also add `DisabledButton`.
    #[test]
    fn every_type_the_spec_names_is_defined() {
        let s = spec();
        let defined = |expr: &str| {
            let mut name = expr;
            while let Some(inner) = name.strip_prefix("Array of ") {
                name = inner;
            }
            ["Integer", "Float", "String", "Boolean", "True"].contains(&name)
                || s.type_def(name).is_some()
        };
        let mut dangling = Vec::new();
        for (name, def) in &s.types {
            let named = def
                .subtypes
                .iter()
                .chain(def.extends.iter())
                .chain(def.fields.iter().flat_map(|f| &f.types));
            dangling.extend(
                named
                    .filter(|t| !defined(t))
                    .map(|t| format!("{name}: {t}")),
            );
        }
        for method in s.method_names() {
            let returns = s.returns(method).unwrap();
            dangling.extend(
                returns
                    .iter()
                    .filter(|t| !defined(t))
                    .map(|t| format!("{method}: {t}")),
            );
        }
        assert_eq!(dangling, Vec::<String>::new());
    }

    /// The overlay brings the 10.1 copy to Bot API 10.3: 185 methods (10.2's five ephemeral
    /// ones included) plus the four extensions, and 10.3's types and fields.
    #[test]
    fn the_layers_make_it_bot_api_10_3() {
        let s = spec();
        assert_eq!(s.version(), "Bot API 10.3");
        assert_eq!(s.method_names().len(), 185 + 4);
        assert_eq!(s.returns("editEphemeralMessageText").unwrap(), ["Boolean"]);
        let message = json!({
            "message_id": 1, "date": 2, "chat": {"id": 3, "type": "supergroup"},
            "community_chat_joined": {"community": {"id": 4, "name": "Makers"}},
            "reply_markup": {
                "inline_keyboard": [[{"text": "gone", "disabled": {}}]],
                "force_reply": true
            }
        });
        assert_eq!(problems("Message", message), Vec::<String>::new());
        let update = json!({
            "update_id": 5,
            "stopped_message_generation": {"chat": {"id": 3, "type": "private"}, "draft_id": 6}
        });
        assert_eq!(problems("Update", update), Vec::<String>::new());
        let rich = json!({"blocks": [{"type": "buttons", "align": "center", "buttons": [
            {"text": "more", "style": "link", "callback_data": "m"}
        ]}]});
        assert_eq!(problems("RichMessage", rich), Vec::<String>::new());
        let link_style = json!({"text": "x", "style": "link", "callback_data": "m"});
        assert_eq!(
            problems("InlineKeyboardButton", link_style),
            ["$.style: \"link\" is not one of [\"danger\", \"success\", \"primary\"]"]
        );
    }

    /// 10.3 made `can_send_welcome_messages` a required right: administrator rights built to
    /// 10.2 are now incomplete.
    #[test]
    fn rights_without_the_10_3_welcome_messages_flag_are_incomplete() {
        let def = spec().type_def("ChatAdministratorRights").unwrap();
        let rights: serde_json::Map<String, Value> = def
            .fields
            .iter()
            .filter(|f| f.required && f.name != "can_send_welcome_messages")
            .map(|f| (f.name.clone(), Value::Bool(true)))
            .collect();
        assert_eq!(
            problems("ChatAdministratorRights", Value::Object(rights)),
            ["$.can_send_welcome_messages: required field of ChatAdministratorRights missing"]
        );
    }

    #[test]
    fn the_overlay_adds_the_user_account_extras() {
        assert_eq!(
            spec().returns("getChats").unwrap(),
            ["Array of ChatListItem"]
        );
        let item = json!([{"id": 1, "type": "private", "unread_count": 0}]);
        assert!(spec().check_result("getChats", &item).is_empty());
    }
}
