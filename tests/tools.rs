//! The bundled tool components (echo, time, json) through the real runtime.

mod support;

use ironclaw::runtime::CallErrorKind;
use serde_json::json;
use support::{call_json, component, runtime};

async fn call_err(
    name: &str,
    tool: &str,
    params: serde_json::Value,
) -> ironclaw::runtime::CallError {
    let c = component(name).await;
    runtime()
        .call_tool(&c, tool, &params.to_string(), &Default::default())
        .await
        .expect_err("call should fail")
}

#[tokio::test(flavor = "multi_thread")]
async fn echo_returns_its_input_with_a_usage_record() {
    let echo = component("echo").await;
    assert_eq!(echo.tools.len(), 1);
    assert_eq!(echo.tools[0].name, "echo");
    assert_eq!(echo.tools[0].parameters_schema["required"], json!(["text"]));
    let out = runtime()
        .call_tool(&echo, "echo", r#"{"text":"hi ✓"}"#, &Default::default())
        .await
        .unwrap();
    assert_eq!(out.output, r#"{"text":"hi ✓"}"#);
    assert!(out.usage.fuel_used > 0, "{:?}", out.usage);
    assert!(out.usage.peak_memory_bytes >= 65536, "{:?}", out.usage);
    assert!(out.usage.fuel_used < echo.limits.fuel);
}

#[tokio::test(flavor = "multi_thread")]
async fn host_refuses_bad_params_before_the_guest_runs() {
    let e = call_err("echo", "echo", json!([1, 2])).await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams);
    assert!(e.usage.is_none(), "the guest must not have run");
    let echo = component("echo").await;
    let e = runtime()
        .call_tool(&echo, "echo", "{not json", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::InvalidParams);
    assert!(e.message.contains("not valid JSON"), "{e}");
    let e = runtime()
        .call_tool(&echo, "nope", "{}", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::UnknownTool);
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_reported_errors_are_typed() {
    let e = call_err("echo", "echo", json!({"txt": "typo"})).await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams);
    assert!(
        e.message.contains("txt") || e.message.contains("text"),
        "{e}"
    );
    assert!(e.usage.is_some(), "the guest ran and reported");
}

#[tokio::test(flavor = "multi_thread")]
async fn time_now_is_the_real_time_in_the_zone() {
    let time = component("time").await;
    let names: Vec<&str> = time.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["time_now", "time_format", "time_convert"]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let out = call_json(&time, "time_now", json!({"timezone": "Asia/Kolkata"})).await;
    let after = before + 5_000;
    let ms = out["unix_ms"].as_i64().unwrap();
    assert!(ms >= before - 1_000 && ms <= after, "{out}");
    assert!(out["iso"].as_str().unwrap().ends_with("+05:30"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn time_format_and_convert() {
    let time = component("time").await;
    let out = call_json(
        &time,
        "time_format",
        json!({"timestamp": 0, "format": "%Y-%m-%d %H:%M", "timezone": "America/New_York"}),
    )
    .await;
    assert_eq!(out["formatted"], "1969-12-31 19:00");
    let out = call_json(
        &time,
        "time_convert",
        json!({"timestamp": "2026-07-01 12:00", "from": "Europe/Berlin", "to": "Asia/Tokyo"}),
    )
    .await;
    assert_eq!(out["iso"], "2026-07-01T19:00:00+09:00");
    assert_eq!(out["utc_offset"], "+09:00");
}

#[tokio::test(flavor = "multi_thread")]
async fn time_refuses_unknown_zones_bad_formats_and_missing_local_times() {
    let e = call_err("time", "time_now", json!({"timezone": "Mars/Olympus"})).await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams);
    assert!(e.message.contains("Mars/Olympus"), "{e}");
    let e = call_err(
        "time",
        "time_format",
        json!({"timestamp": 0, "format": "%Q"}),
    )
    .await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams, "{e}");
    // 02:30 on 2026-03-08 does not exist in New York (clocks jump 02:00 → 03:00).
    let e = call_err(
        "time",
        "time_convert",
        json!({"timestamp": "2026-03-08 02:30", "from": "America/New_York", "to": "UTC"}),
    )
    .await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams, "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_select_with_jsonpath() {
    let j = component("json").await;
    let data = json!({"store": {"book": [
        {"title": "A", "price": 8}, {"title": "B", "price": 12}, {"title": "C", "price": 5}
    ]}});
    let out = call_json(
        &j,
        "json_select",
        json!({"data": data, "path": "$.store.book[?@.price < 10].title"}),
    )
    .await;
    assert_eq!(out, json!({"matches": ["A", "C"]}));
    let e = call_err("json", "json_select", json!({"data": {}, "path": "$[?"})).await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_transform_applies_operations_in_order() {
    let j = component("json").await;
    let out = call_json(
        &j,
        "json_transform",
        json!({
            "data": {"b": 1, "a": {"y": 2, "x": 3}, "drop": true},
            "operations": [
                {"op": "omit", "keys": ["drop"]},
                {"op": "rename", "from": "b", "to": "c"},
                {"op": "set", "pointer": "/a/z", "value": 4},
                {"op": "flatten"},
                {"op": "sort_keys"}
            ]
        }),
    )
    .await;
    assert_eq!(
        out,
        json!({"result": {"a.x": 3, "a.y": 2, "a.z": 4, "c": 1}})
    );
    let e = call_err(
        "json",
        "json_transform",
        json!({"data": [1], "operations": [{"op": "sort_keys"}, {"op": "pick", "keys": ["a"]}]}),
    )
    .await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams);
    assert!(
        e.message.contains('1'),
        "names the failing operation index: {e}"
    );
}

/// The SDK works from cargo-component too (wasm32-wasip1 + the preview1
/// adapter): `scripts/build-components --cargo-component` builds echo that way.
#[tokio::test(flavor = "multi_thread")]
async fn echo_built_with_cargo_component_runs() {
    let dir = support::repo().join("target/cargo-component");
    assert!(
        dir.join("echo.wasm").is_file(),
        "run `scripts/build-components --cargo-component` first (the README's test command does)"
    );
    let echo = support::load_in(runtime(), &dir, "echo").await;
    let plain = component("echo").await;
    assert_ne!(
        echo.digest, plain.digest,
        "a different build of the same source"
    );
    let out = call_json(&echo, "echo", json!({"text": "from cargo-component"})).await;
    assert_eq!(out, json!({"text": "from cargo-component"}));
}
