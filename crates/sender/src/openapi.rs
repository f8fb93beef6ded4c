//! The OpenAPI 3.1 document (`GET /api_v1/openapi.json`) and the Swagger UI (`GET /docs/`),
//! both public: they describe the API and hold no secrets.
//!
//! Built from the method table ([`crate::routes::table::methods`]): one path per method with
//! two operations, as the server answers both: `POST` with its parameter object (the request
//! struct's `utoipa::ToSchema`, field docs included) as a JSON, urlencoded or multipart body,
//! and `GET` with the same fields as query parameters (objects and arrays as JSON strings);
//! each with its `result` type (botapi's types with the `utoipa` feature) and the error
//! envelope. The Swagger UI is compiled in (`utoipa-swagger-ui`'s `vendored` feature): no CDN,
//! no internet.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, Operation, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, Info, OpenApi, OpenApiBuilder, Paths, RefOr, Required, Tag,
};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::routes::table::{Components as Schemas, Method, methods, object};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api_v1/openapi.json";

/// Where the interactive docs are served.
pub const DOCS_PATH: &str = "/docs";

const JSON: &str = "application/json";

/// Name of the `x-api-key` security scheme.
const API_KEY_SCHEME: &str = "api_key";

/// The error envelope every method may answer, with the HTTP status equal to `error_code`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documentation only: `botapi::ApiError` is what is serialized
pub struct ErrorResponse {
    /// Always `false`.
    ok: bool,
    /// Equals the HTTP status: 400, 401, 403, 404, 405, 413, 414, 429, 431, 500 or 503.
    error_code: u16,
    /// Telegram's wording, e.g. `Bad Request: chat not found`,
    /// `Too Many Requests: retry after 30`.
    description: String,
    /// `retry_after` (seconds) on 429, also sent as a `Retry-After` header.
    parameters: Option<botapi::response::ResponseParameters>,
}

/// The OpenAPI document of every method in the table.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    let error = object::<ErrorResponse>(&mut schemas);
    let mut paths = Paths::new();
    let mut tags: Vec<&str> = Vec::new();
    for method in methods() {
        if !tags.contains(&method.family) {
            tags.push(method.family);
        }
        let params = method.params.map(|params| params(&mut schemas));
        let post = operation(&method, params.as_ref(), &mut schemas, &error);
        let mut item = PathItem::new(HttpMethod::Post, post.clone());
        item.get = Some(get_operation(post, &method, params.as_ref(), &schemas));
        paths.paths.insert(format!("/api_v1/{}", method.name), item);
    }
    // The management API of many accounts (`SESSIONS_DIR`, `ADMIN_API_KEY`).
    let account = object::<crate::admin_api::AccountRequest>(&mut schemas);
    tags.push("accounts");
    for (path, item) in crate::admin_api::openapi_paths(&account, &error) {
        paths.paths.insert(path, item);
    }
    let mut components = Components::new();
    components.schemas.extend(schemas);
    components.add_security_scheme(
        API_KEY_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
    );
    components.add_security_scheme(
        "admin_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-admin-key"))),
    );
    OpenApiBuilder::new()
        .info(info())
        .paths(paths)
        .components(Some(components))
        .tags(Some(tags.into_iter().map(Tag::new)))
        .security(Some([SecurityRequirement::new(
            API_KEY_SCHEME,
            Vec::<String>::new(),
        )]))
        .build()
}

/// `/docs` (the UI) and [`OPENAPI_PATH`] (the document it shows), as a router to merge.
///
/// The document is built and serialized on its first request and kept as JSON bytes: building
/// it allocates ~10 MB of schema trees, which at start-up (or kept as a tree, as
/// `SwaggerUi::url` does) stayed in the idle sender's RSS (27 MiB instead of ~17).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(OPENAPI_PATH, get(serve_document))
        .merge(SwaggerUi::new(DOCS_PATH).config(Config::new([OPENAPI_PATH])))
}

async fn serve_document() -> impl IntoResponse {
    static JSON_BYTES: OnceLock<Bytes> = OnceLock::new();
    let body = JSON_BYTES.get_or_init(|| {
        // Serializing a tree of strings and maps cannot fail; an empty object would show as an
        // empty API rather than a 500.
        Bytes::from(serde_json::to_vec(&document()).unwrap_or_else(|_| b"{}".to_vec()))
    });
    ([(CONTENT_TYPE, JSON)], body.clone())
}

fn info() -> Info {
    let mut info = Info::new(
        "Telegram user-account sender (Bot API compatible)",
        env!("CARGO_PKG_VERSION"),
    );
    info.description = Some(
        "The Telegram Bot API, answered by a Telegram *user* account. Every method is at \
         `/api_v1/<method>` with the `x-api-key` header, and at `/bot<X_API_TOKEN>/<method>` \
         for Bot API client libraries; method names are case-insensitive. GET (parameters in \
         the query string) and POST (JSON, `application/x-www-form-urlencoded` or \
         `multipart/form-data`; in forms, objects are JSON strings) both work. Files upload \
         as multipart parts, `attach://<part>`, HTTP(S) URLs, `file_id`s or base64. Answers \
         are `{\"ok\":true,\"result\":…}` or the error envelope with the HTTP status equal \
         to `error_code`."
            .to_owned(),
    );
    info
}

fn operation(
    method: &Method,
    params: Option<&RefOr<Schema>>,
    schemas: &mut Schemas,
    error: &RefOr<Schema>,
) -> Operation {
    let mut op = Operation::new();
    op.operation_id = Some(method.name.to_owned());
    op.tags = Some(vec![method.family.to_owned()]);
    op.summary = Some(method.summary.to_owned());
    op.description = Some(format!(
        "Also `GET` with the parameters in the query string, and \
         `/bot<X_API_TOKEN>/{}` without the header.",
        method.name
    ));
    if let Some(params) = params {
        op.request_body = Some(request_body(params.clone()).into());
    }
    let mut responses = utoipa::openapi::Responses::new();
    if let Some(result) = method.result {
        let envelope = ObjectBuilder::new()
            .property("ok", ObjectBuilder::new().schema_type(Type::Boolean))
            .required("ok")
            .property("result", result(schemas))
            .required("result");
        let ok = ResponseBuilder::new()
            .description("`{\"ok\":true,\"result\":…}`")
            .content(JSON, ContentBuilder::new().schema(Some(envelope)).build())
            .build();
        responses.responses.insert("200".to_owned(), ok.into());
    }
    let failed = ResponseBuilder::new()
        .description(
            "The error envelope; HTTP status = `error_code` (401 wrong key, 429 flood wait \
             with `parameters.retry_after`).",
        )
        .content(
            JSON,
            ContentBuilder::new().schema(Some(error.clone())).build(),
        )
        .build();
    responses
        .responses
        .insert("default".to_owned(), failed.into());
    op.responses = responses;
    op
}

/// `post` as a GET: no body, the parameter object's fields as query parameters.
fn get_operation(
    mut post: Operation,
    method: &Method,
    params: Option<&RefOr<Schema>>,
    schemas: &Schemas,
) -> Operation {
    post.operation_id = Some(format!("{}ViaGet", method.name));
    post.description = Some(format!(
        "The parameters in the query string (objects and arrays as JSON strings); also \
         `/bot<X_API_TOKEN>/{}` without the header.",
        method.name
    ));
    post.request_body = None;
    post.parameters = params.map(|params| query_parameters(params, schemas));
    post
}

/// One query parameter per field of the parameter object `params` (a reference into `schemas`).
/// Scalars keep their schema, inlined and without `null` (a query string cannot say null: a
/// field is absent); objects and arrays are JSON strings, declared as `application/json`
/// content.
fn query_parameters(params: &RefOr<Schema>, schemas: &Schemas) -> Vec<RefOr<Parameter>> {
    let Some(Schema::Object(object)) = resolve(params, schemas) else {
        return Vec::new();
    };
    object
        .properties
        .iter()
        .map(|(name, field)| {
            let required = if object.required.contains(name) {
                Required::True
            } else {
                Required::False
            };
            let builder = ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .description(description_of(field))
                .required(required);
            match json_value(field, schemas) {
                Some(schema) => {
                    builder.content(JSON, ContentBuilder::new().schema(Some(schema)).build())
                }
                None => builder.schema(Some(scalar(field, schemas))),
            }
            .build()
            .into()
        })
        .collect()
}

/// A field's documentation, on its `$ref`, its `oneOf` or its schema.
fn description_of(field: &RefOr<Schema>) -> Option<String> {
    match field {
        RefOr::Ref(reference) => Some(reference.description.clone()).filter(|d| !d.is_empty()),
        RefOr::T(Schema::Object(object)) => object.description.clone(),
        RefOr::T(Schema::Array(array)) => array.description.clone(),
        RefOr::T(Schema::OneOf(one_of)) => one_of
            .description
            .clone()
            .or_else(|| one_of.items.iter().find_map(description_of)),
        RefOr::T(_) => None,
    }
}

/// The schema a `$ref` points to (or the schema itself).
fn resolve<'a>(schema: &'a RefOr<Schema>, schemas: &'a Schemas) -> Option<&'a Schema> {
    match schema {
        RefOr::T(schema) => Some(schema),
        RefOr::Ref(reference) => {
            let name = reference.ref_location.rsplit('/').next()?;
            match schemas.iter().find(|(n, _)| n == name)?.1 {
                RefOr::T(ref schema) => Some(schema),
                RefOr::Ref(_) => None,
            }
        }
    }
}

/// For a field whose value is an object or an array (possibly nullable), the schema of that
/// value; `None` for scalars (including `ChatIdParam`, an integer or a string).
fn json_value(field: &RefOr<Schema>, schemas: &Schemas) -> Option<RefOr<Schema>> {
    match resolve(field, schemas)? {
        Schema::Array(_) => Some(field.clone()),
        Schema::Object(object) if has_type(&object.schema_type, Type::Object) => {
            Some(field.clone())
        }
        Schema::OneOf(one_of) => one_of
            .items
            .iter()
            .find_map(|item| json_value(item, schemas)),
        _ => None,
    }
}

fn has_type(schema_type: &SchemaType, wanted: Type) -> bool {
    match schema_type {
        SchemaType::Type(t) => *t == wanted,
        SchemaType::Array(types) => types.contains(&wanted),
        SchemaType::AnyValue => false,
    }
}

/// A scalar field's schema for a query parameter: references inlined (schemathesis 4.32 cannot
/// resolve them in parameter schemas when checking its dictionaries) and `null` taken out
/// (`["integer","null"]` → `integer`; a `oneOf` loses its `null` alternative).
fn scalar(field: &RefOr<Schema>, schemas: &Schemas) -> RefOr<Schema> {
    match field {
        RefOr::Ref(_) => match resolve(field, schemas) {
            Some(schema) => scalar(&RefOr::T(schema.clone()), schemas),
            None => field.clone(),
        },
        RefOr::T(Schema::OneOf(one_of)) => {
            let mut items: Vec<RefOr<Schema>> = one_of
                .items
                .iter()
                .filter(|item| !is_null(item))
                .map(|item| scalar(item, schemas))
                .collect();
            if items.len() == 1 {
                return items.remove(0);
            }
            let mut one_of = one_of.clone();
            one_of.items = items;
            RefOr::T(Schema::OneOf(one_of))
        }
        RefOr::T(Schema::Object(object)) => {
            let mut object = object.clone();
            if let SchemaType::Array(types) = &object.schema_type {
                let mut types: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                object.schema_type = match types.len() {
                    1 => SchemaType::Type(types.remove(0)),
                    _ => SchemaType::Array(types),
                };
            }
            RefOr::T(Schema::Object(object))
        }
        RefOr::T(other) => RefOr::T(other.clone()),
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object))
        if object.schema_type == SchemaType::Type(Type::Null))
}

/// The same parameter object in each of the three body encodings.
fn request_body(schema: RefOr<Schema>) -> RequestBody {
    let mut body = RequestBody::new();
    body.required = Some(Required::False);
    body.description = Some(
        "JSON, urlencoded or multipart (objects as JSON strings, files as parts); or no body \
         and the parameters in the query string."
            .to_owned(),
    );
    for content_type in [
        JSON,
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let content = ContentBuilder::new().schema(Some(schema.clone())).build();
        body.content.insert(content_type.to_owned(), content.into());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_a_path_and_every_reference_resolves() {
        let doc = document();
        let json = serde_json::to_value(&doc).expect("serialize");
        assert!(json["paths"].as_object().expect("paths").len() >= 40);
        let text = json.to_string();
        let schemas = json["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().expect("name");
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }

    #[test]
    fn the_management_api_is_documented_under_the_admin_key() {
        let json = serde_json::to_value(document()).expect("serialize");
        let add = &json["paths"]["/admin/accounts"]["post"];
        assert_eq!(add["operationId"], "addAccount");
        assert!(add["security"][0]["admin_key"].is_array(), "{add}");
        let body = &json["components"]["schemas"]["AccountRequest"]["properties"];
        for field in ["name", "phone_number", "bot_token", "webhook_url"] {
            assert!(body[field]["description"].is_string(), "{field}: {body}");
        }
        for (path, method) in [
            ("/admin/accounts/{name}", "delete"),
            ("/admin/accounts/{name}", "patch"),
            ("/admin/accounts/{name}/auth/{step}", "post"),
        ] {
            assert!(json["paths"][path][method].is_object(), "{path} {method}");
        }
        assert_eq!(
            json["components"]["securitySchemes"]["admin_key"]["name"],
            "x-admin-key"
        );
    }
}
