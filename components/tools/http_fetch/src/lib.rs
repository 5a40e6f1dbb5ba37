//! `http_fetch`: fetches a URL within the component's HTTP grant and returns
//! readable text — HTML converted to Markdown, other text as it is, binary
//! types refused.
//!
//! The host decides what may be fetched (DESIGN §5): the grant's allowlist,
//! the leak scan, the refusal of private and metadata addresses, timeouts and
//! size caps. This component only reads what comes back. Its logic is in
//! [`fetch`] (tested natively against canned responses) and [`html`]; the
//! wasm-only module below plugs in the SDK's wasi:http client.

pub mod content;
pub mod fetch;
pub mod html;
pub mod url;

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::http::{HttpError, Request, Response};
    use ironclaw_sdk::tool::{CallContext, Guest, ToolDescription, ToolError};
    use ironclaw_sdk::{log, params};

    use crate::fetch::{self, Fetch};

    /// What the tool asks for: readable types first, anything else last so
    /// that a server with nothing better still answers (and is refused here
    /// with its real type named).
    const ACCEPT: &str = "text/html,application/xhtml+xml,text/markdown;q=0.9,\
                          text/plain;q=0.9,application/json;q=0.9,*/*;q=0.1";

    struct Host;

    impl Fetch for Host {
        fn get(&self, url: &str) -> Result<Response, HttpError> {
            let result = Request::get(url)
                .header("accept", ACCEPT)
                .header("user-agent", "IronClaw-http_fetch/0.1")
                .max_response_bytes(fetch::MAX_BODY_BYTES)
                .send();
            match &result {
                Ok(r) => log::debug(&format!("GET {url}: {}", r.status)),
                Err(e) => log::info(&format!("GET {url}: {e}")),
            }
            result
        }
    }

    struct HttpFetch;

    impl Guest for HttpFetch {
        fn describe() -> Vec<ToolDescription> {
            vec![ToolDescription::new(
                fetch::TOOL,
                fetch::DESCRIPTION,
                fetch::schema(),
            )]
        }

        fn execute(name: String, params: String, _ctx: CallContext) -> Result<String, ToolError> {
            if name != fetch::TOOL {
                return Err(ToolError::UnknownTool(name));
            }
            let fetched = fetch::execute(&params, &Host)?;
            Ok(params::to_json(&fetched)?)
        }
    }

    ironclaw_sdk::tool::export!(HttpFetch);
}
