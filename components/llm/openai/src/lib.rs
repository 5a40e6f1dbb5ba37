//! `openai`: OpenAI's Chat Completions and Embeddings APIs as an LLM
//! adapter — and any OpenAI-compatible server (Ollama, vLLM, llama.cpp,
//! LM Studio) through config `base-url`, with `api-key-secret = ""` when
//! the server needs no key.
//!
//! The host injects the API key (`Authorization: Bearer …`) into requests
//! to the granted host; this component never sees it. Mapping lives in
//! [`chat`], [`stream`] and [`embed`], tested natively; the wasm-only glue
//! below reads the configuration and talks HTTP through the host.

pub mod chat;
pub mod embed;
pub mod stream;

use llm_common::settings::Defaults;

pub const PROVIDER: &str = "openai";

pub const DEFAULTS: Defaults = Defaults {
    provider: PROVIDER,
    base_url: "https://api.openai.com/v1",
    secret: "openai_api_key",
    key_optional: true,
    embedding_model: Some("text-embedding-3-small"),
};

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::llm_adapter::{Completion, CompletionRequest, Guest, LlmError, ModelInfo};
    use llm_common::{host, models};

    use crate::{DEFAULTS, PROVIDER, chat, embed, stream};

    struct OpenAi;

    impl Guest for OpenAi {
        fn complete(request: CompletionRequest) -> Result<Completion, LlmError> {
            let settings = host::settings(&DEFAULTS)?;
            let model = settings.model(request.model.as_deref())?;
            host::check_secret(&settings)?;
            let body = chat::request(&request, &model, settings.stream)?;
            let url = settings.url("/chat/completions");
            if settings.stream {
                host::post_stream(PROVIDER, &url, &[], &body, stream::ChatStream::new(&model))
            } else {
                let response: chat::Response = host::post_json(PROVIDER, &url, &[], &body)?;
                chat::completion(response, &model)
            }
        }

        fn embed(texts: Vec<String>) -> Result<Vec<Vec<f32>>, LlmError> {
            let settings = host::settings(&DEFAULTS)?;
            let model = settings.embedding_model.clone().unwrap_or_default();
            host::check_secret(&settings)?;
            let url = settings.url("/embeddings");
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

    ironclaw_sdk::llm_adapter::export!(OpenAi);
}
