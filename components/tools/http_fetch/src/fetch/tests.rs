//! The tool against canned responses: parameters, redirects, content types,
//! truncation and how each failure reaches the model.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::*;

/// Canned responses by URL; records every URL asked for.
#[derive(Default)]
struct Canned {
    responses: BTreeMap<String, Result<Response, HttpError>>,
    asked: RefCell<Vec<String>>,
}

impl Canned {
    fn with(mut self, url: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) -> Canned {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        self.responses.insert(
            url.to_string(),
            Ok(Response {
                status,
                headers,
                body: body.to_vec(),
            }),
        );
        self
    }

    fn failing(mut self, url: &str, e: HttpError) -> Canned {
        self.responses.insert(url.to_string(), Err(e));
        self
    }
}

impl Fetch for Canned {
    fn get(&self, url: &str) -> Result<Response, HttpError> {
        self.asked.borrow_mut().push(url.to_string());
        self.responses
            .get(url)
            .cloned()
            .unwrap_or_else(|| Err(HttpError::Request(format!("no canned response for {url}"))))
    }
}

fn run(net: &Canned, params: serde_json::Value) -> Result<Fetched, ToolError> {
    execute(&params.to_string(), net)
}

fn html(url: &str, body: &str) -> Canned {
    Canned::default().with(
        url,
        200,
        &[("Content-Type", "text/html; charset=utf-8")],
        body.as_bytes(),
    )
}

fn failed(r: Result<Fetched, ToolError>) -> String {
    match r {
        Err(ToolError::Failed(m)) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn invalid(r: Result<Fetched, ToolError>) -> String {
    match r {
        Err(ToolError::InvalidParams(m)) => m,
        other => panic!("expected invalid params, got {other:?}"),
    }
}

#[test]
fn html_comes_back_as_markdown_with_its_title() {
    let net = html(
        "https://example.com/a/",
        "<title>Hello</title><h1>Hi</h1><p>See <a href='b'>b</a>.</p>",
    );
    let out = run(&net, serde_json::json!({"url": "https://example.com/a/"})).expect("fetched");
    assert_eq!(
        out,
        Fetched {
            url: "https://example.com/a/".into(),
            status: 200,
            content_type: "text/html".into(),
            title: Some("Hello".into()),
            text: "# Hi\n\nSee [b](https://example.com/a/b).".into(),
            truncated: false,
        }
    );
    let json = serde_json::to_value(&out).expect("json");
    assert_eq!(json["title"], "Hello");
}

#[test]
fn raw_returns_the_html_source() {
    let body = "<title>T</title><p>x</p>";
    let out = run(
        &html("https://example.com/", body),
        serde_json::json!({"url": "https://example.com/", "raw": true}),
    )
    .expect("fetched");
    assert_eq!(out.text, body);
    assert_eq!(out.title.as_deref(), Some("T"));
}

#[test]
fn text_types_come_back_as_they_are() {
    for (ct, body) in [
        ("text/plain", "  plain\n\n  text  "),
        ("application/json", "{\"a\": [1, 2]}"),
        ("text/markdown; charset=utf-8", "# Title\n\n- item"),
    ] {
        let net = Canned::default().with(
            "https://example.com/f",
            200,
            &[("content-type", ct)],
            body.as_bytes(),
        );
        let out = run(&net, serde_json::json!({"url": "https://example.com/f"})).expect(ct);
        assert_eq!(out.text, body, "{ct}");
        assert_eq!(out.title, None);
        let json = serde_json::to_value(&out).expect("json");
        assert!(json.get("title").is_none(), "{json}");
    }
}

#[test]
fn latin1_pages_are_decoded() {
    let net = Canned::default().with(
        "https://example.com/",
        200,
        &[("content-type", "text/html")],
        b"<meta charset=\"iso-8859-1\"><p>caf\xE9</p>",
    );
    let out = run(&net, serde_json::json!({"url": "https://example.com/"})).expect("fetched");
    assert_eq!(out.text, "café");
}

#[test]
fn binary_types_are_refused_by_name() {
    let net = Canned::default()
        .with(
            "https://example.com/i.png",
            200,
            &[("content-type", "image/png")],
            b"\x89PNG",
        )
        .with(
            "https://example.com/t",
            200,
            &[("content-type", "text/plain")],
            b"ab\0cd",
        )
        .with("https://example.com/n", 200, &[], b"\x00\x01\x02");
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://example.com/i.png"}),
    ));
    assert!(m.contains("`image/png`") && m.contains("binary"), "{m}");
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://example.com/t"}),
    ));
    assert!(m.contains("`text/plain`"), "{m}");
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://example.com/n"}),
    ));
    assert!(m.contains("`application/octet-stream`"), "{m}");
}

#[test]
fn compressed_bodies_are_refused() {
    let net = Canned::default().with(
        "https://example.com/",
        200,
        &[("content-type", "text/html"), ("content-encoding", "br")],
        b"\x1b\x2c",
    );
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://example.com/"}),
    ));
    assert!(m.contains("`br`-encoded"), "{m}");
}

#[test]
fn error_statuses_are_results_with_their_page() {
    let net = Canned::default().with(
        "https://example.com/missing",
        404,
        &[("content-type", "text/html")],
        b"<title>Not Found</title><h1>404</h1><p>No such page.</p>",
    );
    let out = run(
        &net,
        serde_json::json!({"url": "https://example.com/missing"}),
    )
    .expect("result");
    assert_eq!(out.status, 404);
    assert_eq!(out.title.as_deref(), Some("Not Found"));
    assert_eq!(out.text, "# 404\n\nNo such page.");
}

#[test]
fn redirects_are_followed_to_the_final_url() {
    let net = Canned::default()
        .with(
            "https://example.com/old",
            301,
            &[("location", "/new/")],
            b"",
        )
        .with(
            "https://example.com/new/",
            302,
            &[("Location", "https://other.example/x")],
            b"moved",
        )
        .with(
            "https://other.example/x",
            200,
            &[("content-type", "text/plain")],
            b"here",
        );
    let out = run(&net, serde_json::json!({"url": "https://example.com/old"})).expect("fetched");
    assert_eq!(out.url, "https://other.example/x");
    assert_eq!(out.text, "here");
    assert_eq!(net.asked.borrow().len(), 3);
    // A 3xx without a Location is an answer, not a redirect.
    let net = Canned::default().with("https://example.com/", 304, &[], b"");
    let out = run(&net, serde_json::json!({"url": "https://example.com/"})).expect("fetched");
    assert_eq!((out.status, out.text.as_str()), (304, ""));
}

#[test]
fn redirect_loops_and_odd_targets_stop() {
    let net = Canned::default()
        .with("https://example.com/a", 302, &[("location", "/b")], b"")
        .with("https://example.com/b", 302, &[("location", "/a")], b"");
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://example.com/a"}),
    ));
    assert!(m.contains("after 5 redirects"), "{m}");
    assert_eq!(net.asked.borrow().len(), MAX_REDIRECTS + 1);
    let net = Canned::default().with(
        "https://example.com/",
        302,
        &[("location", "ftp://files.example/x")],
        b"",
    );
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://example.com/"}),
    ));
    assert!(m.contains("ftp://files.example/x"), "{m}");
}

#[test]
fn host_refusals_carry_the_hosts_reason() {
    let reason = "https://10.0.0.1/ resolves to a private address";
    let net = Canned::default()
        .failing("https://10.0.0.1/", HttpError::Request(reason.into()))
        .failing(
            "https://denied.example/",
            HttpError::Request(format!(
                "{:?}",
                ironclaw_sdk::wasi::http::types::ErrorCode::HttpRequestDenied
            )),
        )
        .failing("https://big.example/", HttpError::TooLarge(MAX_BODY_BYTES));
    let m = failed(run(&net, serde_json::json!({"url": "https://10.0.0.1/"})));
    assert!(m.contains(reason), "{m}");
    match run(&net, serde_json::json!({"url": "https://denied.example/"})) {
        Err(ToolError::Denied(m)) => {
            assert!(m.starts_with("http-outbound: "), "{m}");
            assert!(m.contains("https://denied.example/"), "{m}");
        }
        other => panic!("expected denied, got {other:?}"),
    }
    let m = failed(run(
        &net,
        serde_json::json!({"url": "https://big.example/"}),
    ));
    assert!(m.contains("5242880 bytes"), "{m}");
}

#[test]
fn long_text_is_truncated_and_counted() {
    let body = "é".repeat(30_000);
    let net = Canned::default().with(
        "https://example.com/",
        200,
        &[("content-type", "text/plain")],
        body.as_bytes(),
    );
    let out = run(&net, serde_json::json!({"url": "https://example.com/"})).expect("fetched");
    assert!(out.truncated);
    assert!(out.text.starts_with(&"é".repeat(20_000)));
    assert!(
        out.text.ends_with("\n\n[truncated: 10000 more characters]"),
        "{}",
        &out.text[out.text.len() - 60..]
    );
    let out = run(
        &net,
        serde_json::json!({"url": "https://example.com/", "max_chars": 200_000}),
    )
    .expect("fetched");
    assert!(!out.truncated);
    assert_eq!(out.text, body);
    assert_eq!(truncate("abc".into(), 3, false), ("abc".to_string(), false));
    assert_eq!(
        truncate("abcd".into(), 3, false),
        ("abc\n\n[truncated: 1 more characters]".to_string(), true)
    );
}

#[test]
fn a_cut_inside_a_code_block_closes_it() {
    let markdown =
        "Intro\n\n- item:\n\n  ````rust\n  let a = \"```\";\n  let b = 2;\n  ````\n\nEnd";
    let cut_at = markdown.find("let b").unwrap_or(0);
    let (text, truncated) = truncate(markdown.to_string(), cut_at, true);
    assert!(truncated);
    assert!(
        text.ends_with("let a = \"```\";\n````\n\n[truncated: 22 more characters]"),
        "{text:?}"
    );
    // After the block has closed, nothing is added; raw text is never touched.
    let (text, _) = truncate(markdown.to_string(), markdown.len() - 2, true);
    assert!(
        text.ends_with("````\n\nE\n\n[truncated: 2 more characters]"),
        "{text:?}"
    );
    let (text, _) = truncate(markdown.to_string(), cut_at, false);
    assert!(
        text.ends_with(";\n  \n\n[truncated: 22 more characters]"),
        "{text:?}"
    );
}

#[test]
fn parameters_are_checked_before_any_request() {
    let net = Canned::default();
    for (params, says) in [
        (serde_json::json!({}), "missing field `url`"),
        (
            serde_json::json!({"url": "ftp://x"}),
            "must start with http:// or https://",
        ),
        (
            serde_json::json!({"url": "example.com"}),
            "must start with http:// or https://",
        ),
        (serde_json::json!({"url": "https://"}), "needs a host"),
        (
            serde_json::json!({"url": "https://user:pw@example.com/"}),
            "no user info",
        ),
        (
            serde_json::json!({"url": "https://e.com/\u{7}"}),
            "control characters",
        ),
        (serde_json::json!({"url": 5}), "invalid type"),
        (
            serde_json::json!({"url": "https://e.com", "max_chars": 0}),
            "between 1 and 200000",
        ),
        (
            serde_json::json!({"url": "https://e.com", "max_chars": 200_001}),
            "not 200001",
        ),
        (
            serde_json::json!({"url": "https://e.com", "max_chars": -1}),
            "invalid value",
        ),
        (
            serde_json::json!({"url": "https://e.com", "format": "md"}),
            "unknown field `format`",
        ),
    ] {
        let m = invalid(run(&net, params.clone()));
        assert!(m.contains(says), "{params}: {m}");
    }
    assert!(net.asked.borrow().is_empty(), "{:?}", net.asked.borrow());
}

#[test]
fn urls_are_trimmed_and_spaces_encoded() {
    let net = Canned::default().with(
        "https://example.com/a%20b",
        200,
        &[("content-type", "text/plain")],
        b"ok",
    );
    let out = run(
        &net,
        serde_json::json!({"url": "  https://example.com/a b "}),
    )
    .expect("fetched");
    assert_eq!(out.url, "https://example.com/a%20b");
}

#[test]
fn the_schema_matches_the_parameters() {
    let s = schema();
    assert_eq!(s["required"], serde_json::json!(["url"]));
    assert_eq!(s["properties"]["max_chars"]["maximum"], MAX_MAX_CHARS);
    assert_eq!(s["properties"]["max_chars"]["default"], DEFAULT_MAX_CHARS);
    assert_eq!(s["additionalProperties"], false);
    // Sorted: the key order depends on serde_json's features in the build.
    let mut names: Vec<&String> = s["properties"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    names.sort();
    assert_eq!(names, ["max_chars", "raw", "url"]);
}
