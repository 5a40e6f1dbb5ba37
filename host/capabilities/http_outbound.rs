//! `http-outbound`: the standard `wasi:http/outgoing-handler`, mediated by
//! host policy (DESIGN §5). This is the one door to the network.
//!
//! The full pipeline (allowlist, credential-header refusal, leak scan, secret
//! injection, address checks, timeouts and caps, response redaction) arrives
//! with the secrets work. Until then the door is closed: a request from a
//! component without an HTTP grant is refused as `HTTP-request-denied`, and
//! one with a grant as an internal error saying the mediated client is not
//! available in this host version. Nothing leaves.

use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::grants::{Capability, Grants};

pub struct HttpPolicy {
    component: Arc<str>,
    grants: Arc<Grants>,
}

impl HttpPolicy {
    pub fn new(component: Arc<str>, grants: Arc<Grants>) -> HttpPolicy {
        HttpPolicy { component, grants }
    }
}

type Io = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Io,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, Io), HttpError>> + Send> {
        let refusal = if self.grants.allows(Capability::HttpOutbound) {
            tracing::warn!(component = %self.component, uri = %request.uri(),
                "http-outbound is granted but not available in this host version; request refused");
            HttpError::InternalError(Some(
                "http-outbound is not available in this host version".into(),
            ))
        } else {
            tracing::info!(component = %self.component, uri = %request.uri(),
                "http-outbound not granted; request refused");
            HttpError::HttpRequestDenied
        };
        Box::new(async move { Err(refusal) })
    }
}
