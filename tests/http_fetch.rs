//! The bundled `http-fetch` component (tool `http_fetch`) through the real
//! runtime: its description, its limits and grant, and how it refuses bad
//! parameters before any request, and one real fetch through the host's
//! HTTP pipeline from a loopback server.

mod support;

use ironclaw::capabilities::Capability;
use ironclaw::runtime::{CallError, CallErrorKind};
use serde_json::json;
use support::{component, runtime};

async fn call_err(params: serde_json::Value) -> CallError {
    let c = component("http-fetch").await;
    runtime()
        .call_tool(&c, "http_fetch", &params.to_string(), &Default::default())
        .await
        .expect_err("call should fail")
}

#[tokio::test(flavor = "multi_thread")]
async fn describes_one_tool_with_its_schema() {
    let c = component("http-fetch").await;
    assert_eq!(c.tools.len(), 1);
    let tool = &c.tools[0];
    assert_eq!(tool.name, "http_fetch");
    assert!(!tool.requires_approval);
    assert!(
        tool.description.contains("Markdown"),
        "{}",
        tool.description
    );
    let schema = &tool.parameters_schema;
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["url"]));
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["url"]["type"], "string");
    assert_eq!(schema["properties"]["max_chars"]["type"], "integer");
    assert_eq!(schema["properties"]["max_chars"]["maximum"], 200_000);
    assert_eq!(schema["properties"]["raw"]["type"], "boolean");
}

#[tokio::test(flavor = "multi_thread")]
async fn asks_for_https_get_on_any_host_and_room_for_long_pages() {
    let c = component("http-fetch").await;
    let http = c
        .manifest
        .capabilities
        .http
        .as_ref()
        .expect("an HTTP request");
    assert_eq!(http.allow.len(), 1);
    let rule = &http.allow[0];
    assert_eq!((rule.scheme.as_str(), rule.host.as_str()), ("https", "*"));
    assert_eq!(rule.methods, ["GET"]);
    assert!(c.manifest.capabilities.secrets.is_empty());
    assert!(c.grants.allows(Capability::HttpOutbound));
    // 200 000 characters of text fit in the output cap, and the network's
    // time counts toward the wall clock.
    assert!(c.limits.output_bytes >= 1024 * 1024, "{:?}", c.limits);
    assert!(c.limits.wall.as_secs() >= 30, "{:?}", c.limits);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_urls_are_invalid_params_before_any_request() {
    for (params, says) in [
        (
            json!({"url": "ftp://x"}),
            "must start with http:// or https://",
        ),
        (
            json!({"url": "file:///etc/passwd"}),
            "must start with http:// or https://",
        ),
        (json!({}), "missing field `url`"),
        (json!({"url": "https://"}), "needs a host"),
        (
            json!({"url": "https://example.com", "max_chars": 500_000}),
            "max_chars must be between 1 and 200000",
        ),
        (
            json!({"url": "https://example.com", "format": "pdf"}),
            "unknown field `format`",
        ),
    ] {
        let e = call_err(params.clone()).await;
        assert_eq!(e.kind, CallErrorKind::InvalidParams, "{params}: {e}");
        assert!(e.message.contains(says), "{params}: {e}");
        // The guest ran and answered: the refusal is the tool's own.
        assert!(e.usage.is_some(), "{params}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_tool_name_is_refused() {
    let c = component("http-fetch").await;
    let e = runtime()
        .call_tool(
            &c,
            "http_get",
            r#"{"url":"https://example.com"}"#,
            &Default::default(),
        )
        .await
        .expect_err("no such tool");
    assert_eq!(e.kind, CallErrorKind::UnknownTool);
}

/// A real fetch through the host's pipeline: a loopback server (the owner
/// allows loopback here) serves HTML; the tool returns Markdown. The same
/// component with its shipped grant (https only) is refused plain http, and
/// without `allow_loopback` the address check refuses loopback.
#[tokio::test(flavor = "multi_thread")]
async fn fetches_a_page_through_the_pipeline_and_returns_markdown() {
    use support::http_server::{Reply, TestServer};
    let page = "<html><head><title>Ada</title><script>x()</script></head><body>\
                <h1>Notes</h1><p>See <a href=\"/more\">more</a> &amp; more.</p><ul><li>one</li></ul></body></html>";
    let server = TestServer::start(move |_| {
        Reply::Full(
            200,
            vec![("content-type".into(), "text/html; charset=utf-8".into())],
            page.as_bytes().to_vec(),
        )
    })
    .await;
    let dir = support::components_dir();
    let text = std::fs::read_to_string(dir.join("http-fetch.toml")).unwrap();
    let loopback = text.replace(
        "scheme = \"https\"\nhost = \"*\"",
        &format!(
            "scheme = \"http\"\nhost = \"127.0.0.1\"\nport = {}",
            server.addr.port()
        ),
    );
    let config =
        ironclaw::config::Config::parse("[network]\nallow_loopback = true\n", "test").unwrap();
    let rt = support::runtime_with(&config);
    let load = |text: String| {
        let rt = &rt;
        let dir = dir.clone();
        async move {
            let m = ironclaw::registry::Manifest::parse(&text, "http-fetch").unwrap();
            let g = rt.grants_as_requested(&m);
            rt.load(&dir.join("http-fetch.wasm"), m, g).await.unwrap()
        }
    };
    let c = load(loopback).await;
    let out = rt
        .call_tool(
            &c,
            "http_fetch",
            &json!({"url": server.url("/page")}).to_string(),
            &Default::default(),
        )
        .await
        .unwrap();
    let out: serde_json::Value = serde_json::from_str(&out.output).unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["title"], "Ada");
    let md = out["text"].as_str().unwrap();
    assert!(md.contains("# Notes"), "{md}");
    assert!(
        md.contains(&format!("[more]({})", server.url("/more"))),
        "{md}"
    );
    assert!(
        md.contains("& more") && md.contains("one") && !md.contains("x()"),
        "{md}"
    );

    // The shipped grant: https only.
    let c = load(text).await;
    let e = rt
        .call_tool(
            &c,
            "http_fetch",
            &json!({"url": server.url("/page")}).to_string(),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("http:// is not allowed"), "{e}");
    assert_eq!(server.seen().len(), 1, "the refused fetch sent nothing");
}
