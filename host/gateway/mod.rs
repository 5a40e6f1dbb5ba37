//! The gateway (hyper, HTTP/1.1): `/webhook/<component>[/<suffix>]` for
//! channel webhooks, and `/healthz`. It reads each body within the limit
//! (413 beyond it) and hands the request to the channel hub, which
//! verifies it before any component sees it.

pub mod verify;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;

use crate::channels::ChannelHub;
use crate::channels::webhook::{WebhookRequest, WebhookResponse};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

pub struct Gateway {
    listener: TcpListener,
    hub: Arc<ChannelHub>,
    body_limit: usize,
}

impl Gateway {
    pub async fn bind(
        addr: &str,
        hub: Arc<ChannelHub>,
        body_limit: usize,
    ) -> Result<Gateway, GatewayError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        Ok(Gateway {
            listener,
            hub,
            body_limit,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until the task is dropped.
    pub async fn serve(self) {
        let shared = Arc::new((self.hub, self.body_limit));
        loop {
            let (stream, _peer) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: pause, do not spin.
                    tracing::warn!("gateway accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let io = wasmtime_wasi_http::io::TokioIo::new(stream);
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handle(&shared.0, shared.1, req).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(io, service)
                    .await
                {
                    tracing::debug!("gateway connection ended: {e}");
                }
            });
        }
    }
}

fn respond(r: WebhookResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(r.status);
    for (name, value) in &r.headers {
        // A component's malformed header is dropped, not a 500.
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| {
            let mut fallback = Response::new(Full::new(Bytes::from_static(b"bad response")));
            *fallback.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            fallback
        })
}

async fn handle(
    hub: &Arc<ChannelHub>,
    body_limit: usize,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        return respond(WebhookResponse::text(200, "ok"));
    }
    let Some(rest) = path.strip_prefix("/webhook/") else {
        return respond(WebhookResponse::text(404, "not found"));
    };
    let (name, suffix) = rest.split_once('/').unwrap_or((rest, ""));
    if !crate::registry::manifest::is_component_name(name) {
        return respond(WebhookResponse::text(404, "not found"));
    }
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit as u64) {
        return respond(too_large(body_limit));
    }
    let method = req.method().as_str().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_string(), v.to_string()))
        })
        .collect();
    let body = match Limited::new(req.into_body(), body_limit).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return respond(too_large(body_limit));
        }
        Err(e) => {
            return respond(WebhookResponse::text(
                400,
                format!("cannot read the body: {e}"),
            ));
        }
    };
    let request = WebhookRequest {
        method,
        suffix: suffix.to_string(),
        query,
        headers,
        body,
    };
    respond(hub.webhook(name, request).await)
}

fn too_large(limit: usize) -> WebhookResponse {
    WebhookResponse::text(413, format!("the body is over the {limit}-byte limit"))
}
