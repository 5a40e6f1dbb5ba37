//! `gemini`: Google's Gemini API (generateContent, streamGenerateContent,
//! batchEmbedContents) as an LLM adapter.
//!
//! The host injects the API key (`x-goog-api-key` header) into requests to
//! the granted host; this component never sees it. Mapping lives in
//! [`generate`], [`stream`] and [`embed`], tested natively; the wasm-only
//! glue below reads the configuration and talks HTTP through the host.

pub mod embed;
pub mod generate;
pub mod stream;

use llm_common::settings::Defaults;

pub const PROVIDER: &str = "gemini";

pub const DEFAULTS: Defaults = Defaults {
    provider: PROVIDER,
    base_url: "https://generativelanguage.googleapis.com/v1beta",
    secret: "gemini_api_key",
    key_optional: false,
    embedding_model: Some("text-embedding-004"),
};

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::llm_adapter::{Completion, CompletionRequest, Guest, LlmError, ModelInfo};
    use llm_common::{host, models};

    use crate::{DEFAULTS, PROVIDER, embed, generate, stream};

    struct Gemini;

    impl Guest for Gemini {
        fn complete(request: CompletionRequest) -> Result<Completion, LlmError> {
            let settings = host::settings(&DEFAULTS)?;
            let model = settings.model(request.model.as_deref())?;
            host::check_secret(&settings)?;
            let body = generate::request(&request)?;
            let url = settings.url(&generate::path(&model, settings.stream));
            if settings.stream {
                let fold = stream::GenerateStream::new(&model);
                host::post_stream(PROVIDER, &url, &[], &body, fold)
            } else {
                let response: generate::Response = host::post_json(PROVIDER, &url, &[], &body)?;
                generate::completion(response, &model)
            }
        }

        fn embed(texts: Vec<String>) -> Result<Vec<Vec<f32>>, LlmError> {
            let settings = host::settings(&DEFAULTS)?;
            let model = settings.embedding_model.clone().unwrap_or_default();
            host::check_secret(&settings)?;
            let url = settings.url(&embed::path(&model));
            let mut vectors = Vec::with_capacity(texts.len());
            for batch in texts.chunks(embed::BATCH) {
                let response: embed::Response =
                    host::post_json(PROVIDER, &url, &[], &embed::request(&model, batch))?;
                vectors.extend(embed::vectors(response, batch.len())?);
            }
            Ok(vectors)
        }

        fn describe_model() -> Result<ModelInfo, LlmError> {
            models::describe(&host::settings(&DEFAULTS)?)
        }
    }

    ironclaw_sdk::llm_adapter::export!(Gemini);
}
