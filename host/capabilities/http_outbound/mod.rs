//! `http-outbound`: the standard `wasi:http/outgoing-handler`, mediated by
//! host policy (DESIGN §5). The one door to the network, in this order:
//!
//! 1. the grant's allowlist (scheme, host, port, path prefix, method);
//! 2. credential headers set by the guest are refused;
//! 3. the URL is scanned for leaks (credential patterns, the exact values
//!    of stored secrets, the host's canary) — a hit blocks — before
//!    anything leaves the host, since its host name goes to the resolver;
//! 4. the connection is started: the destination is resolved and private,
//!    loopback (unless allowed), link-local and metadata addresses are
//!    refused; TCP goes to a checked address, then TLS for https. While it
//!    is set up, headers and body are scanned for leaks and the granted
//!    secrets are injected where the manifest says, only for the hosts the
//!    grant names. Not a byte of the request is sent before that passes:
//!    a blocked request drops its connection unused, and the block is what
//!    the guest is told even if the connection also failed;
//! 5. sent with connect / first-byte / total timeouts and size caps;
//!    redirects are followed by the host (at most `max-redirects`), each
//!    hop checked from step 1 again;
//! 6. the response is scanned and secret values are redacted before the
//!    guest sees a byte.
//!
//! Every request, refusal and block is audited with the component's name,
//! version and digest; secrets by name only. A policy refusal reaches the
//! guest as `internal-error("denied: <why>")` so a tool can tell the model
//! exactly why.

mod credentials;
mod pipeline;
pub mod rules;

use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::grants::Grants;
use super::services::{Caller, HostServices};
use crate::net::{NetworkConfig, OutboundClient};

/// The host's outbound client, or why there is none (a broken `[network]`
/// config refuses every request instead of sending without policy).
pub struct OutboundHttp {
    client: Result<OutboundClient, String>,
}

impl Default for OutboundHttp {
    fn default() -> Self {
        OutboundHttp::new(NetworkConfig::default().with_env())
    }
}

impl OutboundHttp {
    pub fn new(config: NetworkConfig) -> OutboundHttp {
        OutboundHttp {
            client: OutboundClient::new(config),
        }
    }

    pub fn client(&self) -> Result<&OutboundClient, &str> {
        self.client.as_ref().map_err(String::as_str)
    }
}

/// The mediated send outside a guest call: what the hook runs, for
/// benchmarks and host-side callers that must obey the same policy.
pub async fn send_mediated(
    caller: Arc<Caller>,
    grants: Arc<Grants>,
    services: HostServices,
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let ctx = pipeline::Ctx {
        caller,
        grants,
        services,
    };
    pipeline::send(&ctx, request).await
}

/// The per-call hook wasmtime-wasi-http sends every request through.
pub struct HttpPolicy {
    caller: Arc<Caller>,
    grants: Arc<Grants>,
    services: HostServices,
}

impl HttpPolicy {
    pub fn new(caller: Arc<Caller>, grants: Arc<Grants>, services: HostServices) -> HttpPolicy {
        HttpPolicy {
            caller,
            grants,
            services,
        }
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
        let ctx = pipeline::Ctx {
            caller: self.caller.clone(),
            grants: self.grants.clone(),
            services: self.services.clone(),
        };
        Box::new(async move {
            let response = pipeline::send(&ctx, request).await?;
            let done: Io = Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}
