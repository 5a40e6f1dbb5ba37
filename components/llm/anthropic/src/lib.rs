//! `anthropic`: Anthropic's Messages API as an LLM adapter.
//!
//! The host injects the API key (`x-api-key` header) into requests to the
//! granted host; this component never sees it. Mapping lives in
//! [`messages`] and [`stream`], tested natively; the wasm-only glue below
//! reads the configuration and talks HTTP through the host.

pub mod messages;
pub mod stream;

use llm_common::settings::Defaults;

pub const PROVIDER: &str = "anthropic";

pub const DEFAULTS: Defaults = Defaults {
    provider: PROVIDER,
    base_url: "https://api.anthropic.com/v1",
    secret: "anthropic_api_key",
    key_optional: false,
    embedding_model: None,
};

/// Headers every request carries besides the injected key.
pub const HEADERS: &[(&str, &str)] = &[("anthropic-version", messages::API_VERSION)];

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::llm_adapter::{Completion, CompletionRequest, Guest, LlmError, ModelInfo};
    use llm_common::{host, models};

    use crate::{DEFAULTS, HEADERS, PROVIDER, messages, stream};

    struct Anthropic;

    impl Guest for Anthropic {
        fn complete(request: CompletionRequest) -> Result<Completion, LlmError> {
            let settings = host::settings(&DEFAULTS)?;
            let model = settings.model(request.model.as_deref())?;
            host::check_secret(&settings)?;
            let body = messages::request(&request, &model, settings.stream)?;
            let url = settings.url("/messages");
            if settings.stream {
                let fold = stream::MessagesStream::new(&model);
                host::post_stream(PROVIDER, &url, HEADERS, &body, fold)
            } else {
                let response: messages::Response = host::post_json(PROVIDER, &url, HEADERS, &body)?;
                Ok(messages::completion(response, &model))
            }
        }

        fn embed(_texts: Vec<String>) -> Result<Vec<Vec<f32>>, LlmError> {
            Err(LlmError::NotAvailable(
                "anthropic has no embeddings API".into(),
            ))
        }

        fn describe_model() -> Result<ModelInfo, LlmError> {
            models::describe(&host::settings(&DEFAULTS)?)
        }
    }

    ironclaw_sdk::llm_adapter::export!(Anthropic);
}
