//! Tool-call arguments and schemas between our text fields and the JSON
//! values providers want.

use serde_json::{Map, Value};

use crate::LlmError;

/// Tool-call arguments (text, as the model produced them) as the JSON
/// object Anthropic's `input` and Gemini's `args` must be. Empty text is
/// `{}`; text that is not a JSON object is kept, whole, under
/// `raw_arguments`, so nothing the model said is lost on the way back.
pub fn arguments_object(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => v,
        _ => serde_json::json!({ "raw_arguments": raw }),
    }
}

/// A JSON value as argument text: `{}` for null.
pub fn arguments_text(value: &Value) -> String {
    match value {
        Value::Null => "{}".to_string(),
        v => v.to_string(),
    }
}

/// A tool-call id another provider can take. Ids travel across providers
/// when the host fails over mid-conversation, and providers are strict:
/// Anthropic wants `[A-Za-z0-9_-]+`, OpenAI at most 40 characters. An id
/// that fits is kept; any other becomes `call_` and a hash of it, the same
/// for the call and its result, so they still match.
pub fn portable_id(id: &str, max_len: usize) -> String {
    let fits = !id.is_empty()
        && id.len() <= max_len
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fits {
        return id.to_string();
    }
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("call_{hash:016x}")
}

/// A tool's parameter schema (JSON Schema text) as a value. An empty
/// schema is an object without properties; one that does not parse is the
/// caller's mistake, named.
pub fn schema(tool: &str, text: &str) -> Result<Value, LlmError> {
    if text.trim().is_empty() {
        return Ok(serde_json::json!({ "type": "object", "properties": {} }));
    }
    serde_json::from_str(text).map_err(|e| {
        LlmError::InvalidRequest(format!(
            "tool `{tool}`: the parameters schema is not JSON: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_round_trip() {
        assert_eq!(
            arguments_object(r#"{"city":"Paris"}"#),
            json!({"city":"Paris"})
        );
        assert_eq!(arguments_object("  "), json!({}));
        assert_eq!(arguments_object("[1]"), json!({"raw_arguments": "[1]"}));
        assert_eq!(arguments_object("{bad"), json!({"raw_arguments": "{bad"}));
        assert_eq!(arguments_text(&json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(arguments_text(&Value::Null), "{}");
    }

    #[test]
    fn ids_that_do_not_fit_are_hashed_consistently() {
        assert_eq!(portable_id("call_abc-123", 40), "call_abc-123");
        assert_eq!(
            portable_id("toolu_01A09q90qw90lq917835lq9", 40),
            "toolu_01A09q90qw90lq917835lq9"
        );
        let gemini = "call_0~sig:CiQB0e2Kb+/=";
        let mapped = portable_id(gemini, 64);
        assert!(
            mapped.starts_with("call_") && mapped.len() == 21,
            "{mapped}"
        );
        assert_eq!(mapped, portable_id(gemini, 64));
        assert_ne!(mapped, portable_id("call_1~sig:CiQB0e2Kb+/=", 64));
        assert_eq!(portable_id(&"a".repeat(41), 40).len(), 21);
        assert!(portable_id("", 40).starts_with("call_"));
    }

    #[test]
    fn schemas() {
        assert_eq!(schema("t", "").unwrap()["type"], "object");
        assert_eq!(
            schema("t", r#"{"type":"object"}"#).unwrap(),
            json!({"type":"object"})
        );
        let e = crate::errors::message(&schema("weather", "{").unwrap_err());
        assert!(e.contains("weather"), "{e}");
    }
}
