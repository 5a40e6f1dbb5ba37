//! `describe-model` without the network: a small table of what the
//! providers publish for their model families, matched by the longest
//! prefix, and the owner's overrides (`context-window`,
//! `max-output-tokens`, `embedding-dimensions`). An unknown model gets
//! conservative numbers, so the host compacts early rather than late.

use crate::settings::Settings;
use crate::{LlmError, ModelInfo};

/// Context window and output limit of an unknown model.
pub const UNKNOWN: (u32, u32) = (128_000, 4_096);

/// (prefix, context window, max output tokens). Longest prefix wins.
const CHAT: &[(&str, u32, u32)] = &[
    // OpenAI
    ("gpt-4o", 128_000, 16_384),
    ("chatgpt-4o", 128_000, 16_384),
    ("gpt-4.1", 1_047_576, 32_768),
    ("gpt-4-turbo", 128_000, 4_096),
    ("gpt-4", 8_192, 8_192),
    ("gpt-3.5-turbo", 16_385, 4_096),
    ("gpt-5", 400_000, 128_000),
    ("o1", 200_000, 100_000),
    ("o1-mini", 128_000, 65_536),
    ("o3", 200_000, 100_000),
    ("o4-mini", 200_000, 100_000),
    // Anthropic
    ("claude-", 200_000, 8_192),
    ("claude-3-opus", 200_000, 4_096),
    ("claude-3-haiku", 200_000, 4_096),
    ("claude-3-5", 200_000, 8_192),
    ("claude-3-7-sonnet", 200_000, 64_000),
    ("claude-sonnet-4", 200_000, 64_000),
    ("claude-opus-4", 200_000, 32_000),
    ("claude-opus-4-5", 200_000, 64_000),
    ("claude-haiku-4", 200_000, 64_000),
    // Google
    ("gemini-", 1_048_576, 8_192),
    ("gemini-1.5-pro", 2_097_152, 8_192),
    ("gemini-2.5", 1_048_576, 65_536),
    ("gemini-3", 1_048_576, 65_536),
];

/// (prefix, vector length). Longest prefix wins.
const EMBEDDING: &[(&str, u32)] = &[
    ("text-embedding-3-small", 1536),
    ("text-embedding-3-large", 3072),
    ("text-embedding-ada-002", 1536),
    ("text-embedding-004", 768),
    ("text-embedding-005", 768),
    ("embedding-001", 768),
    ("gemini-embedding-001", 3072),
    ("nomic-embed-text", 768),
    ("mxbai-embed-large", 1024),
    ("all-minilm", 384),
];

fn longest<'a, T>(table: &'a [(&'a str, T)], name: &str) -> Option<&'a T> {
    table
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, v)| v)
}

/// The model's name as the table knows it: without a `models/` (Gemini)
/// or `provider/` (routers) path in front.
fn bare(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

/// (context window, max output tokens) of a model by name.
pub fn known_limits(model: &str) -> (u32, u32) {
    let name = bare(model);
    CHAT.iter()
        .filter(|(prefix, _, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map_or(UNKNOWN, |&(_, context, output)| (context, output))
}

/// The vector length of an embedding model, when the table knows it.
pub fn embedding_dimensions(model: &str) -> Option<u32> {
    longest(EMBEDDING, bare(model)).copied()
}

/// The configured model as `describe-model` reports it.
pub fn describe(settings: &Settings) -> Result<ModelInfo, LlmError> {
    let name = settings.model(None)?;
    let (context, output) = known_limits(&name);
    let embedding_dimensions = settings.embedding_dimensions.or_else(|| {
        settings
            .embedding_model
            .as_deref()
            .and_then(embedding_dimensions)
    });
    Ok(ModelInfo {
        context_window: settings.context_window.unwrap_or(context),
        max_output_tokens: settings.max_output_tokens.unwrap_or(output),
        name,
        supports_tools: true,
        embedding_dimensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Defaults;

    #[test]
    fn known_families_by_longest_prefix() {
        assert_eq!(known_limits("gpt-4o-mini"), (128_000, 16_384));
        assert_eq!(known_limits("gpt-4o-2024-08-06"), (128_000, 16_384));
        assert_eq!(known_limits("gpt-4.1-nano"), (1_047_576, 32_768));
        assert_eq!(known_limits("gpt-4-0613"), (8_192, 8_192));
        assert_eq!(known_limits("o1-mini"), (128_000, 65_536));
        assert_eq!(known_limits("o3-mini"), (200_000, 100_000));
        assert_eq!(known_limits("claude-sonnet-4-20250514"), (200_000, 64_000));
        assert_eq!(known_limits("claude-3-5-haiku-latest"), (200_000, 8_192));
        assert_eq!(known_limits("claude-instant-1"), (200_000, 8_192));
        assert_eq!(known_limits("models/gemini-2.5-flash"), (1_048_576, 65_536));
        assert_eq!(known_limits("gemini-1.5-pro-002"), (2_097_152, 8_192));
        assert_eq!(known_limits("gemini-2.0-flash"), (1_048_576, 8_192));
        assert_eq!(known_limits("llama3.2"), UNKNOWN);
        assert_eq!(known_limits("omni-unknown"), UNKNOWN);
    }

    #[test]
    fn embedding_models() {
        assert_eq!(embedding_dimensions("text-embedding-3-small"), Some(1536));
        assert_eq!(embedding_dimensions("models/text-embedding-004"), Some(768));
        assert_eq!(embedding_dimensions("something-else"), None);
    }

    #[test]
    fn describe_applies_overrides() {
        let defaults = Defaults {
            provider: "openai",
            base_url: "https://api.openai.com/v1",
            secret: "openai_api_key",
            key_optional: true,
            embedding_model: Some("text-embedding-3-small"),
        };
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            Settings::read(&defaults, move |k| {
                Ok(pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string()))
            })
            .unwrap()
        };
        let info = describe(&get(&[("model", "gpt-4o")])).unwrap();
        assert_eq!(info.name, "gpt-4o");
        assert_eq!(
            (info.context_window, info.max_output_tokens),
            (128_000, 16_384)
        );
        assert!(info.supports_tools);
        assert_eq!(info.embedding_dimensions, Some(1536));
        let info = describe(&get(&[
            ("model", "llama3.2"),
            ("context-window", "8192"),
            ("max-output-tokens", "2048"),
            ("embedding-model", "unknown-embedder"),
        ]))
        .unwrap();
        assert_eq!((info.context_window, info.max_output_tokens), (8192, 2048));
        assert_eq!(info.embedding_dimensions, None);
        assert!(describe(&get(&[])).is_err());
    }
}
