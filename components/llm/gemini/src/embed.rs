//! `batchEmbedContents` (`POST {base}/models/{model}:batchEmbedContents`):
//! one request per text, the vectors back in order.

use llm_common::LlmError;
use llm_common::errors::malformed;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::PROVIDER;
use crate::generate::bare_model;

/// Texts per request: the API takes at most 100.
pub const BATCH: usize = 100;

pub fn path(model: &str) -> String {
    format!("/models/{}:batchEmbedContents", bare_model(model))
}

pub fn request(model: &str, texts: &[String]) -> Value {
    let name = format!("models/{}", bare_model(model));
    let requests: Vec<Value> = texts
        .iter()
        .map(|t| json!({ "model": name, "content": { "parts": [{ "text": t }] } }))
        .collect();
    json!({ "requests": requests })
}

#[derive(Debug, Deserialize)]
pub struct Response {
    #[serde(default)]
    embeddings: Vec<Embedding>,
}

#[derive(Debug, Deserialize)]
struct Embedding {
    values: Vec<f32>,
}

/// The vectors; `expected` is how many texts were sent.
pub fn vectors(response: Response, expected: usize) -> Result<Vec<Vec<f32>>, LlmError> {
    if response.embeddings.len() != expected {
        return Err(malformed(
            PROVIDER,
            format!(
                "{} embeddings for {expected} texts",
                response.embeddings.len()
            ),
        ));
    }
    Ok(response.embeddings.into_iter().map(|e| e.values).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_common::errors::message;

    #[test]
    fn builds_the_request() {
        assert_eq!(
            path("text-embedding-004"),
            "/models/text-embedding-004:batchEmbedContents"
        );
        assert_eq!(
            request("models/text-embedding-004", &["a".into(), "b".into()]),
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}}
            ]})
        );
    }

    #[test]
    fn parses_vectors_and_checks_the_count() {
        let body =
            r#"{"embeddings": [{"values": [0.013168523, -0.008711934]}, {"values": [1, 2]}]}"#;
        let response: Response = serde_json::from_str(body).unwrap();
        let v = vectors(response, 2).unwrap();
        assert_eq!(v, vec![vec![0.013_168_523, -0.008_711_934], vec![1.0, 2.0]]);
        let response: Response = serde_json::from_str(r#"{"embeddings": []}"#).unwrap();
        assert!(message(&vectors(response, 1).unwrap_err()).contains("0 embeddings for 1 texts"));
    }
}
