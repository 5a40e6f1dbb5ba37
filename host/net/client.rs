//! One HTTP/1.1 exchange with a vetted destination: resolve and check every
//! address, connect to a checked address (never a second lookup), TLS for
//! https, then the request with a first-byte timeout and the response body
//! read under a size cap, all inside the caller's deadline.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::address::{AddressPolicy, ResolveError};
use super::config::NetworkConfig;

/// A request as the host sends it: absolute URL, final headers, whole body.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    pub url: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub remote: SocketAddr,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum NetError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    #[error(transparent)]
    Address(#[from] ResolveError),
    #[error("cannot connect to {host}: {reason}")]
    Connect { host: String, reason: String },
    #[error("connecting to {host} took longer than {ms} ms")]
    ConnectTimeout { host: String, ms: u64 },
    #[error("TLS with {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("{host} sent no response within {ms} ms")]
    FirstByteTimeout { host: String, ms: u64 },
    #[error("the exchange with {host} took longer than the total timeout")]
    TotalTimeout { host: String },
    #[error("the request body is over the {limit}-byte limit")]
    RequestTooLarge { limit: u64 },
    #[error("the response from {host} is over the {limit}-byte limit")]
    ResponseTooLarge { host: String, limit: u64 },
    #[error("HTTP with {host}: {reason}")]
    Protocol { host: String, reason: String },
}

pub struct OutboundClient {
    config: NetworkConfig,
    policy: AddressPolicy,
    tls: tokio_rustls::TlsConnector,
}

impl OutboundClient {
    pub fn new(config: NetworkConfig) -> Result<OutboundClient, String> {
        config.validate()?;
        let tls = super::tls::connector(config.extra_ca_file.as_deref())?;
        Ok(OutboundClient {
            policy: AddressPolicy {
                allow_loopback: config.allow_loopback,
            },
            config,
            tls,
        })
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// One request/response, no redirects followed. `deadline` bounds it all.
    pub async fn exchange(&self, req: &Exchange, deadline: Instant) -> Result<Response, NetError> {
        let host = req
            .url
            .host()
            .ok_or_else(|| NetError::InvalidUrl(format!("{} has no host", req.url)))?
            .to_string();
        match tokio::time::timeout_at(deadline, self.exchange_inner(req, &host)).await {
            Ok(r) => r,
            Err(_) => Err(NetError::TotalTimeout { host }),
        }
    }

    async fn exchange_inner(&self, req: &Exchange, host: &str) -> Result<Response, NetError> {
        if req.body.len() as u64 > self.config.max_request_bytes {
            return Err(NetError::RequestTooLarge {
                limit: self.config.max_request_bytes,
            });
        }
        let https = match req.url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(NetError::InvalidUrl(format!(
                    "unsupported scheme {}",
                    other.unwrap_or("(none)")
                )));
            }
        };
        let port = req.url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs = self.policy.resolve(host, port).await?;
        let (tcp, remote) = self.connect(host, &addrs).await?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Stream> = if https {
            let name = rustls::pki_types::ServerName::try_from(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
            )
            .map_err(|e| NetError::Tls {
                host: host.to_string(),
                reason: e.to_string(),
            })?;
            let tls =
                tokio::time::timeout(self.config.connect_timeout(), self.tls.connect(name, tcp))
                    .await
                    .map_err(|_| NetError::ConnectTimeout {
                        host: host.to_string(),
                        ms: self.config.connect_timeout_ms,
                    })?
                    .map_err(|e| NetError::Tls {
                        host: host.to_string(),
                        reason: e.to_string(),
                    })?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let protocol = |e: hyper::Error| NetError::Protocol {
            host: host.to_string(),
            reason: e.to_string(),
        };
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(io))
                .await
                .map_err(protocol)?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let result = self.send(&mut sender, req, host, remote).await;
        driver.abort();
        result
    }

    async fn connect(
        &self,
        host: &str,
        addrs: &[SocketAddr],
    ) -> Result<(TcpStream, SocketAddr), NetError> {
        let mut last = String::from("no address");
        for addr in addrs {
            match tokio::time::timeout(self.config.connect_timeout(), TcpStream::connect(addr))
                .await
            {
                Ok(Ok(s)) => return Ok((s, *addr)),
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => {
                    return Err(NetError::ConnectTimeout {
                        host: host.to_string(),
                        ms: self.config.connect_timeout_ms,
                    });
                }
            }
        }
        Err(NetError::Connect {
            host: host.to_string(),
            reason: last,
        })
    }

    async fn send(
        &self,
        sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
        req: &Exchange,
        host: &str,
        remote: SocketAddr,
    ) -> Result<Response, NetError> {
        let path = req.url.path_and_query().map_or("/", |p| p.as_str());
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(path);
        if let Some(headers) = builder.headers_mut() {
            *headers = req.headers.clone();
            if let Some(authority) = req.url.authority()
                && let Ok(v) = HeaderValue::from_str(authority.as_str())
            {
                headers.insert(http::header::HOST, v);
            }
        }
        let request = builder
            .body(Full::new(req.body.clone()))
            .map_err(|e| NetError::InvalidUrl(e.to_string()))?;
        let response = tokio::time::timeout(
            self.config.first_byte_timeout(),
            sender.send_request(request),
        )
        .await
        .map_err(|_| NetError::FirstByteTimeout {
            host: host.to_string(),
            ms: self.config.first_byte_timeout_ms,
        })?
        .map_err(|e| NetError::Protocol {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
        let (parts, body) = response.into_parts();
        let body = read_capped(body, self.config.max_response_bytes, host).await?;
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
            remote,
        })
    }
}

async fn read_capped(mut body: Incoming, limit: u64, host: &str) -> Result<Bytes, NetError> {
    let too_large = || NetError::ResponseTooLarge {
        host: host.to_string(),
        limit,
    };
    if hyper::body::Body::size_hint(&body).lower() > limit {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| NetError::Protocol {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
        if let Ok(data) = frame.into_data() {
            if (out.len() + data.len()) as u64 > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// A connection hyper can drive: plain TCP or TLS over it.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Stream for T {}
