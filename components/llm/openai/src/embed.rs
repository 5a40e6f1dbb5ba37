//! Embeddings (`POST {base}/embeddings`): `input` is the batch of texts,
//! `data[].embedding` the vectors, put back in `index` order.

use llm_common::LlmError;
use llm_common::errors::malformed;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::PROVIDER;

/// Texts per request: well under OpenAI's 2048 inputs, and small enough
/// that a batch of long texts stays within the host's request size cap.
pub const BATCH: usize = 256;

pub fn request(model: &str, texts: &[String]) -> Value {
    json!({ "model": model, "input": texts, "encoding_format": "float" })
}

#[derive(Debug, Deserialize)]
pub struct Response {
    data: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

/// The vectors in input order; `expected` is how many texts were sent.
pub fn vectors(response: Response, expected: usize) -> Result<Vec<Vec<f32>>, LlmError> {
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (n, item) in response.data.into_iter().enumerate() {
        let at = item.index.unwrap_or(n);
        match slots.get_mut(at) {
            Some(slot @ None) => *slot = Some(item.embedding),
            _ => {
                return Err(malformed(
                    PROVIDER,
                    format!("embedding index {at} is out of place"),
                ));
            }
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(n, v)| v.ok_or_else(|| malformed(PROVIDER, format!("no embedding for input {n}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_common::errors::message;

    fn parse(body: &str, expected: usize) -> Result<Vec<Vec<f32>>, LlmError> {
        let response: Response = serde_json::from_str(body).map_err(|e| malformed(PROVIDER, e))?;
        vectors(response, expected)
    }

    #[test]
    fn builds_the_request() {
        let body = request("text-embedding-3-small", &["a".into(), "b".into()]);
        assert_eq!(
            body,
            json!({"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "float"})
        );
    }

    #[test]
    fn vectors_come_back_in_input_order() {
        let body = r#"{"object":"list","data":[
            {"object":"embedding","index":1,"embedding":[0.5,-1.0]},
            {"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292]}
          ],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        let v = parse(body, 2).unwrap();
        assert_eq!(
            v,
            vec![vec![0.002_306_425_5, -0.009_327_292], vec![0.5, -1.0]]
        );
    }

    #[test]
    fn missing_or_extra_vectors_are_malformed() {
        let one = r#"{"data":[{"index":0,"embedding":[1.0]}]}"#;
        assert!(message(&parse(one, 2).unwrap_err()).contains("no embedding for input 1"));
        let dup = r#"{"data":[{"index":0,"embedding":[1.0]},{"index":0,"embedding":[2.0]}]}"#;
        assert!(message(&parse(dup, 2).unwrap_err()).contains("out of place"));
        assert!(message(&parse("{\"data\": [", 1).unwrap_err()).contains("malformed"));
    }
}
