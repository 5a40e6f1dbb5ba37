//! One HTTP/1.1 exchange with a vetted destination: resolve and check every
//! address, connect to a checked address (never a second lookup), TLS for
//! https, then the request with a first-byte timeout and the response body
//! read under a size cap, all inside the caller's deadline.

use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::address::{AddressPolicy, ResolveError};
use super::config::NetworkConfig;
use super::deadline::{Clock, Limit};

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

    /// One request/response, no redirects followed. `deadline` bounds it
    /// all; connecting (TCP and TLS) and waiting for the response head also
    /// have their own limits. One alarm serves every step (see
    /// [`Clock`]).
    pub async fn exchange(&self, req: Exchange, deadline: Instant) -> Result<Response, NetError> {
        let url = req.url.clone();
        match self
            .exchange_prepared(&url, deadline, || Ok::<_, std::convert::Infallible>(req))
            .await
        {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }

    /// [`OutboundClient::exchange`] with the request made while the
    /// connection is set up: the connection to `url`'s origin is started
    /// (address checks, TCP, TLS) and then `prepare` runs, so the
    /// destination accepts while the caller does its last checks. Not a
    /// byte of the request is sent before `prepare` returns; when it fails,
    /// the connection is dropped unused and its error is returned (ahead
    /// of any connection error). The request must be for `url`'s origin.
    pub async fn exchange_prepared<E>(
        &self,
        url: &Uri,
        deadline: Instant,
        prepare: impl FnOnce() -> Result<Exchange, E>,
    ) -> Result<Result<Response, NetError>, E> {
        let Some(host) = url.host() else {
            prepare()?;
            return Ok(Err(NetError::InvalidUrl(format!("{url} has no host"))));
        };
        let mut clock = Clock::new(deadline.into_std());
        let (req, connected) = {
            let mut connecting = pin!(self.connect(url, host, &mut clock));
            let early = poll_once(&mut connecting.as_mut()).await;
            let req = prepare()?;
            let connected = match early {
                Some(c) => c,
                None => connecting.await,
            };
            (req, connected)
        };
        let result = match connected {
            Ok((conn, remote)) => self.send_on(conn, req, url, host, remote, &mut clock).await,
            Err(step) => Err(step),
        };
        Ok(result.map_err(|step| self.step_error(step, host)))
    }

    fn step_error(&self, step: Step, host: &str) -> NetError {
        let host = host.to_string();
        match step {
            Step::Expired(Limit::Total) => NetError::TotalTimeout { host },
            Step::Expired(Limit::Connect) => NetError::ConnectTimeout {
                host,
                ms: self.config.connect_timeout_ms,
            },
            Step::Expired(Limit::FirstByte) => NetError::FirstByteTimeout {
                host,
                ms: self.config.first_byte_timeout_ms,
            },
            Step::Failed(e) => e,
        }
    }

    /// A connection to `url`'s origin: every address checked, TCP to a
    /// checked one (never a second lookup), TLS for https.
    async fn connect(
        &self,
        url: &Uri,
        host: &str,
        clock: &mut Clock,
    ) -> Result<(Connection, SocketAddr), Step> {
        let https = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(Step::Failed(NetError::InvalidUrl(format!(
                    "unsupported scheme {}",
                    other.unwrap_or("(none)")
                ))));
            }
        };
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs = clock
            .run(None, self.policy.resolve(host, port))
            .await?
            .map_err(|e| Step::Failed(e.into()))?;
        let (tcp, remote) = self.connect_tcp(host, &addrs, clock).await?;
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok((Connection::Plain(tcp), remote));
        }
        let name = rustls::pki_types::ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        )
        .map_err(|e| {
            Step::Failed(NetError::Tls {
                host: host.to_string(),
                reason: e.to_string(),
            })
        })?;
        let tls = clock
            .run(
                Some((Limit::Connect, self.config.connect_timeout())),
                self.tls.connect(name, tcp),
            )
            .await?
            .map_err(|e| {
                Step::Failed(NetError::Tls {
                    host: host.to_string(),
                    reason: e.to_string(),
                })
            })?;
        Ok((Connection::Tls(Box::new(tls)), remote))
    }

    /// `req` over `conn`, after checking it fits the connection and the
    /// size limit.
    async fn send_on(
        &self,
        conn: Connection,
        req: Exchange,
        url: &Uri,
        host: &str,
        remote: SocketAddr,
        clock: &mut Clock,
    ) -> Result<Response, Step> {
        if req.url.scheme() != url.scheme() || req.url.authority() != url.authority() {
            return Err(Step::Failed(NetError::InvalidUrl(format!(
                "the request is for another origin than the connection to {host}"
            ))));
        }
        if req.body.len() as u64 > self.config.max_request_bytes {
            return Err(Step::Failed(NetError::RequestTooLarge {
                limit: self.config.max_request_bytes,
            }));
        }
        match conn {
            Connection::Plain(tcp) => self.send(tcp, req, host, remote, clock).await,
            Connection::Tls(tls) => self.send(*tls, req, host, remote, clock).await,
        }
    }

    async fn connect_tcp(
        &self,
        host: &str,
        addrs: &[SocketAddr],
        clock: &mut Clock,
    ) -> Result<(TcpStream, SocketAddr), Step> {
        let mut last = String::from("no address");
        for addr in addrs {
            match clock
                .run(
                    Some((Limit::Connect, self.config.connect_timeout())),
                    TcpStream::connect(addr),
                )
                .await?
            {
                Ok(s) => return Ok((s, *addr)),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(Step::Failed(NetError::Connect {
            host: host.to_string(),
            reason: last,
        }))
    }

    /// The HTTP/1.1 exchange over a connected stream (plain TCP or TLS;
    /// generic so that neither pays for dynamic dispatch).
    async fn send<S: Stream + 'static>(
        &self,
        io: S,
        req: Exchange,
        host: &str,
        remote: SocketAddr,
        clock: &mut Clock,
    ) -> Result<Response, Step> {
        let protocol = |e: hyper::Error| {
            Step::Failed(NetError::Protocol {
                host: host.to_string(),
                reason: e.to_string(),
            })
        };
        let (mut sender, conn) = clock
            .run(
                None,
                hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(io)),
            )
            .await?
            .map_err(protocol)?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let result = async {
            let mut request = http::Request::new(Full::new(req.body));
            *request.method_mut() = req.method;
            *request.uri_mut() = match req.url.path_and_query() {
                Some(pq) => Uri::from(pq.clone()),
                None => Uri::from_static("/"),
            };
            *request.headers_mut() = req.headers;
            if let Some(authority) = req.url.authority()
                && let Ok(v) = HeaderValue::from_str(authority.as_str())
            {
                request.headers_mut().insert(http::header::HOST, v);
            }
            let response = clock
                .run(
                    Some((Limit::FirstByte, self.config.first_byte_timeout())),
                    sender.send_request(request),
                )
                .await?
                .map_err(protocol)?;
            let (parts, body) = response.into_parts();
            let body = clock
                .run(
                    None,
                    read_capped(body, self.config.max_response_bytes, host),
                )
                .await?
                .map_err(Step::Failed)?;
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
                remote,
            })
        }
        .await;
        driver.abort();
        result
    }
}

/// A connected stream: plain TCP, or TLS over it (boxed: a TLS session is
/// large, and moving it would copy it).
enum Connection {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Polls `f` once: its output if that finished it.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match Pin::new(&mut *f).poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// How a step ended, short of success.
enum Step {
    Expired(Limit),
    Failed(NetError),
}

impl From<Limit> for Step {
    fn from(limit: Limit) -> Step {
        Step::Expired(limit)
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
    // A body that arrives in one frame (the common case for small ones)
    // is handed on as is; more frames are joined.
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    let mut len = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| NetError::Protocol {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
        if let Ok(data) = frame.into_data() {
            len += data.len() as u64;
            if len > limit {
                return Err(too_large());
            }
            match first.take() {
                None if joined.is_empty() => first = Some(data),
                previous => {
                    if let Some(p) = previous {
                        joined.extend_from_slice(&p);
                    }
                    joined.extend_from_slice(&data);
                }
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// A connection hyper can drive: plain TCP or TLS over it.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Stream for T {}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A server that accepts and reads but never answers.
    async fn silent() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        (addr, task)
    }

    fn client(first_byte_ms: u64, total_ms: u64) -> OutboundClient {
        OutboundClient::new(NetworkConfig {
            allow_loopback: true,
            first_byte_timeout_ms: first_byte_ms,
            total_timeout_ms: total_ms,
            ..NetworkConfig::default()
        })
        .unwrap()
    }

    fn get(addr: std::net::SocketAddr) -> Exchange {
        Exchange {
            method: Method::GET,
            url: format!("http://{addr}/x").parse().unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A server that records how many bytes each connection sent before
    /// it closed.
    async fn counting() -> (
        std::net::SocketAddr,
        tokio::sync::mpsc::UnboundedReceiver<usize>,
    ) {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let _ = stream.read_to_end(&mut buf).await;
                    let _ = tx.send(buf.len());
                });
            }
        });
        (addr, rx)
    }

    #[tokio::test]
    async fn a_failed_prepare_sends_nothing_and_wins_over_a_connection_error() {
        let (addr, mut sent) = counting().await;
        let c = client(5_000, 10_000);
        let url: Uri = format!("http://{addr}/x").parse().unwrap();
        let deadline = Instant::now() + c.config().total_timeout();
        let r = c
            .exchange_prepared(&url, deadline, || Err::<Exchange, _>("leak"))
            .await;
        assert!(matches!(r, Err("leak")));
        // The connection was opened and closed without a byte.
        let bytes = tokio::time::timeout(Duration::from_secs(5), sent.recv())
            .await
            .unwrap();
        assert_eq!(bytes, Some(0));

        // Nothing listens there: the connection fails, the prepare error
        // is still the one returned.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead: Uri = format!("http://{}/x", closed.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(closed);
        let r = c
            .exchange_prepared(&dead, deadline, || Err::<Exchange, _>("leak"))
            .await;
        assert!(matches!(r, Err("leak")));
        let r = c
            .exchange_prepared(&dead, deadline, || Ok::<_, ()>(get(addr)))
            .await;
        assert!(matches!(r, Ok(Err(NetError::Connect { .. }))), "{r:?}");
    }

    #[tokio::test]
    async fn a_request_for_another_origin_is_not_sent_on_the_connection() {
        let (addr, mut sent) = counting().await;
        let (other, _task) = silent().await;
        let c = client(5_000, 10_000);
        let url: Uri = format!("http://{addr}/x").parse().unwrap();
        let deadline = Instant::now() + c.config().total_timeout();
        let r = c
            .exchange_prepared(&url, deadline, || Ok::<_, ()>(get(other)))
            .await;
        assert!(matches!(r, Ok(Err(NetError::InvalidUrl(_)))), "{r:?}");
        let bytes = tokio::time::timeout(Duration::from_secs(5), sent.recv())
            .await
            .unwrap();
        assert_eq!(bytes, Some(0));
    }

    #[tokio::test]
    async fn the_first_byte_and_total_limits_each_end_a_silent_exchange() {
        let (addr, server) = silent().await;
        let c = client(100, 60_000);
        let deadline = Instant::now() + c.config().total_timeout();
        let e = c.exchange(get(addr), deadline).await.unwrap_err();
        assert!(
            matches!(e, NetError::FirstByteTimeout { ms: 100, .. }),
            "{e}"
        );
        let c = client(60_000, 100);
        let started = Instant::now();
        let e = c
            .exchange(get(addr), started + Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(matches!(e, NetError::TotalTimeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        server.abort();
    }
}
