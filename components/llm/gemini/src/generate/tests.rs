use super::*;
use llm_common::errors::{kind, message};
use llm_common::{AssistantMessage, ToolDefinition, ToolResult};

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

fn tool_result(id: &str, name: &str, content: &str, is_error: bool) -> Message {
    Message::Tool(ToolResult {
        tool_call_id: id.into(),
        name: name.into(),
        content: content.into(),
        is_error,
    })
}

fn conversation() -> CompletionRequest {
    CompletionRequest {
        messages: vec![
            Message::System("You are terse.".into()),
            Message::User("Weather in Paris and Lyon?".into()),
            Message::Assistant(AssistantMessage {
                content: String::new(),
                tool_calls: vec![
                    call("call_0~sig:c2lnbmF0dXJl", "get_weather", r#"{"city":"Paris"}"#),
                    call("call_1", "get_weather", r#"{"city":"Lyon"}"#),
                ],
            }),
            tool_result("call_0~sig:c2lnbmF0dXJl", "get_weather", "18°C", false),
            // No name: found from the call with this id.
            tool_result("call_1", "", "unknown city", true),
        ],
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: "Current weather".into(),
            parameters_schema: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}"#.into(),
        }],
        model: None,
        temperature: Some(0.0),
        max_tokens: Some(512),
        stop: vec!["END".into()],
    }
}

#[test]
fn builds_the_documented_request() {
    let body = request(&conversation()).unwrap();
    assert_eq!(
        body,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Paris and Lyon?"}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                     "thoughtSignature": "c2lnbmF0dXJl"},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Lyon"}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "18°C"}}},
                    {"functionResponse": {"name": "get_weather", "response": {"error": "unknown city"}}}
                ]}
            ],
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
            "tools": [{"functionDeclarations": [{
                "name": "get_weather",
                "description": "Current weather",
                "parametersJsonSchema": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}
            }]}],
            "generationConfig": {"maxOutputTokens": 512, "temperature": 0.0, "stopSequences": ["END"]}
        })
    );
}

#[test]
fn paths_and_minimal_requests() {
    assert_eq!(
        path("gemini-2.0-flash", false),
        "/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(
        path("models/gemini-2.5-pro", true),
        "/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    let req = CompletionRequest {
        messages: vec![Message::User("hi".into())],
        tools: Vec::new(),
        model: None,
        temperature: None,
        max_tokens: None,
        stop: Vec::new(),
    };
    let body = request(&req).unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
    let empty = CompletionRequest {
        messages: vec![Message::System("only".into())],
        ..req
    };
    assert_eq!(kind(&request(&empty).unwrap_err()), "invalid-request");
}

#[test]
fn parses_a_text_answer() {
    let body = br#"{
      "candidates": [{
        "content": {"parts": [{"text": "Hello! "}, {"text": "How can I help?"}], "role": "model"},
        "finishReason": "STOP", "avgLogprobs": -0.1, "index": 0
      }],
      "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 9, "totalTokenCount": 11,
                        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2}]},
      "modelVersion": "gemini-2.0-flash",
      "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
    }"#;
    let c = parse(body, "models/gemini-2.0-flash").unwrap();
    assert_eq!(c.content, "Hello! How can I help?");
    assert!(matches!(c.finish_reason, FinishReason::Stop));
    assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (2, 9));
    assert_eq!(c.model, "gemini-2.0-flash");
}

#[test]
fn parses_function_calls_with_synthesised_ids() {
    let body = br#"{
      "candidates": [{
        "content": {"role": "model", "parts": [
          {"text": "thinking it over", "thought": true},
          {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb"},
          {"functionCall": {"name": "get_time", "args": {}}}
        ]},
        "finishReason": "STOP", "index": 0
      }],
      "usageMetadata": {"promptTokenCount": 70, "candidatesTokenCount": 20, "thoughtsTokenCount": 10}
    }"#;
    let c = parse(body, "gemini-2.5-flash").unwrap();
    assert_eq!(c.content, "");
    assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!(c.tool_calls[0].id, "call_0~sig:CiQB0e2Kb");
    assert_eq!(c.tool_calls[0].name, "get_weather");
    assert_eq!(c.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
    assert_eq!(c.tool_calls[1].id, "call_1");
    assert_eq!(c.tool_calls[1].arguments, "{}");
    assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (70, 30));
    assert_eq!(c.model, "gemini-2.5-flash");
    // The ids round-trip: the signature goes back on the call's part.
    let req = CompletionRequest {
        messages: vec![
            Message::User("?".into()),
            Message::Assistant(AssistantMessage {
                content: c.content.clone(),
                tool_calls: c.tool_calls.clone(),
            }),
        ],
        tools: Vec::new(),
        model: None,
        temperature: None,
        max_tokens: None,
        stop: Vec::new(),
    };
    let body = request(&req).unwrap();
    assert_eq!(
        body["contents"][1]["parts"][0]["thoughtSignature"],
        "CiQB0e2Kb"
    );
    assert!(
        body["contents"][1]["parts"][1]
            .get("thoughtSignature")
            .is_none()
    );
}

#[test]
fn finish_reasons_and_blocked_prompts() {
    use FinishReason as F;
    assert!(matches!(
        finish_reason(Some("MAX_TOKENS"), false),
        F::Length
    ));
    assert!(matches!(
        finish_reason(Some("SAFETY"), false),
        F::ContentFilter
    ));
    assert!(matches!(
        finish_reason(Some("RECITATION"), false),
        F::ContentFilter
    ));
    assert!(matches!(
        finish_reason(Some("MALFORMED_FUNCTION_CALL"), false),
        F::Other
    ));
    assert!(matches!(finish_reason(None, true), F::ToolCalls));
    let blocked = br#"{"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                      "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}"#;
    let c = parse(blocked, "gemini-2.0-flash").unwrap();
    assert!(matches!(c.finish_reason, F::ContentFilter));
    assert_eq!(c.content, "");
    assert_eq!(c.usage.input_tokens, 8);
}

#[test]
fn malformed_answers_are_transient() {
    for body in [
        &br#"{"candidates": [{"content": {"parts": [{"text": "Hel"#[..],
        br#"{"usageMetadata": {}}"#,
        b"[]",
    ] {
        let e = parse(body, "gemini-2.0-flash").unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(
            message(&e).contains("malformed response from gemini"),
            "{}",
            message(&e)
        );
    }
}
