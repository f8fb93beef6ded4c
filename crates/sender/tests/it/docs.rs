//! The public OpenAPI document and the offline Swagger UI.

use crate::helpers::spawn_app;

#[tokio::test]
async fn openapi_document_lists_every_method_with_types_and_needs_no_key() {
    let app = spawn_app().await;
    let reply = app.get("/api_v1/openapi.json").await;
    assert_eq!(reply.status, 200);
    let doc = reply.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 40, "{} paths", paths.len());
    let send = &doc["paths"]["/api_v1/sendMessage"]["post"];
    let body = &send["requestBody"]["content"];
    for content_type in [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        assert_eq!(
            body[content_type]["schema"]["$ref"],
            "#/components/schemas/SendMessage"
        );
    }
    assert_eq!(
        send["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"]["$ref"],
        "#/components/schemas/Message"
    );
    assert_eq!(
        send["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorResponse"
    );
    let schemas = &doc["components"]["schemas"];
    let text = &schemas["SendMessage"]["properties"]["text"];
    assert!(
        text["description"].as_str().unwrap().contains("4096"),
        "{text}"
    );
    for name in [
        "Message",
        "User",
        "ReplyParameters",
        "ChatIdParam",
        "ErrorResponse",
        "SendMedia",
    ] {
        assert!(schemas[name].is_object(), "{name} is documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["name"],
        "x-api-key"
    );
}

#[tokio::test]
async fn docs_page_is_served_offline_as_html() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // The bundle is compiled in; nothing is fetched from a CDN.
    assert!(!html.contains("https://"), "{html}");
    let config = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    assert!(
        config
            .text()
            .await
            .unwrap()
            .contains("/api_v1/openapi.json")
    );
    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(redirect.status(), 200, "/docs leads to the page");
}

#[tokio::test]
async fn openapi_declares_get_with_query_parameters_beside_post() {
    let app = spawn_app().await;
    let doc = app.get("/api_v1/openapi.json").await.body;
    let paths = doc["paths"].as_object().unwrap();
    // The Bot API methods; the management API (`/admin/accounts…`) has its own verbs.
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api_v1/")) {
        assert!(item["post"].is_object(), "{path} has POST");
        assert!(item["get"].is_object(), "{path} has GET");
        assert!(
            item["get"]["requestBody"].is_null(),
            "{path}: GET has no body"
        );
        assert_ne!(item["get"]["operationId"], item["post"]["operationId"]);
    }
    let get = &doc["paths"]["/api_v1/sendMessage"]["get"];
    let params = get["parameters"].as_array().unwrap();
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {params:?}"))
    };
    for p in params {
        assert_eq!(p["in"], "query", "{p}");
    }
    assert_eq!(param("chat_id")["required"], true);
    assert_eq!(param("text")["required"], true);
    assert_ne!(param("disable_notification")["required"], true);
    // A query string cannot say null; scalars are inlined (schemathesis cannot follow a $ref
    // in a parameter schema) and keep the field's own documentation.
    assert_eq!(param("disable_notification")["schema"]["type"], "boolean");
    let chat_id = param("chat_id");
    assert!(chat_id["schema"]["oneOf"].is_array(), "{chat_id}");
    assert!(
        chat_id["description"]
            .as_str()
            .unwrap()
            .starts_with("Target chat"),
        "{chat_id}"
    );
    // Objects travel as JSON strings in a query string, as in forms.
    let reply = param("reply_parameters");
    assert_eq!(
        reply["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ReplyParameters",
        "{reply}"
    );
    assert_eq!(
        get["responses"]["200"],
        doc["paths"]["/api_v1/sendMessage"]["post"]["responses"]["200"]
    );
    // Methods without parameters accept both too.
    assert!(doc["paths"]["/api_v1/getMe"]["get"].is_object());
}
