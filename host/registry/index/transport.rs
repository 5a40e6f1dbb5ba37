//! Reading registry files: from a directory (bounded, no escaping it) or
//! over HTTP/1.1, plain or TLS (hyper, rustls with the public web roots plus
//! the owner's `network.extra-ca-file`, timeouts, size caps).

use std::sync::OnceLock;

use super::*;

/// The owner's extra CA file for https registries (`[network]
/// extra-ca-file`), set once by the CLI before the first download.
static EXTRA_CA: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Trust `path`'s certificates for https registries besides the web roots.
/// The first call wins (one configuration per process).
pub fn set_extra_ca(path: Option<PathBuf>) {
    let _ = EXTRA_CA.set(path);
}

/// A stream hyper can drive: TCP or TLS over it.
trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Conn for T {}

pub(super) async fn read_dir_file(
    dir: &Path,
    relative: &str,
    limit: u64,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, IndexError> {
    use tokio::io::AsyncReadExt;

    let path = dir.join(relative);
    let shown = path.display().to_string();
    let io_err = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            IndexError::NotFound(shown.clone())
        } else {
            IndexError::Read {
                path: shown.clone(),
                source,
            }
        }
    };
    // A symlink inside the registry must not lead out of it.
    let root = tokio::fs::canonicalize(dir).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            IndexError::NotFound(dir.display().to_string())
        } else {
            IndexError::Read {
                path: dir.display().to_string(),
                source,
            }
        }
    })?;
    let real = tokio::fs::canonicalize(&path).await.map_err(io_err)?;
    if !real.starts_with(&root) {
        return Err(IndexError::UnsafePath {
            name: relative.to_string(),
            path: format!("{shown} (leads to {})", real.display()),
        });
    }
    let mut file = tokio::fs::File::open(&real).await.map_err(io_err)?;
    let len = file.metadata().await.map_err(io_err)?.len();
    if len > limit {
        return Err(IndexError::TooLarge { what: shown, limit });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    let mut chunk = vec![0u8; DIR_CHUNK];
    progress(0, Some(len));
    loop {
        let n = file.read(&mut chunk).await.map_err(io_err)?;
        if n == 0 {
            break;
        }
        if bytes.len() as u64 + n as u64 > limit {
            return Err(IndexError::TooLarge { what: shown, limit });
        }
        bytes.extend_from_slice(&chunk[..n]);
        progress(bytes.len() as u64, Some(len));
    }
    Ok(bytes)
}

/// Scheme, host, port and path of an `http(s)://` URL.
pub(super) struct HttpUrl {
    https: bool,
    host: String,
    port: u16,
    /// `host` or `host:port`, as sent in `Host:`.
    authority: String,
    path: String,
}

pub(super) fn parse_http_url(url: &str) -> Result<HttpUrl, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err("not an http:// or https:// URL".into()),
    };
    let authority = uri.authority().ok_or("no host")?;
    if authority.as_str().contains('@') {
        return Err("user info in URLs is not supported".into());
    }
    if uri.query().is_some() || url.contains('#') {
        return Err("a registry URL has no query or fragment".into());
    }
    let host = authority.host();
    if host.is_empty() {
        return Err("no host".into());
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_string();
    Ok(HttpUrl {
        https,
        port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        host,
        authority: authority.as_str().to_string(),
        path: uri.path().to_string(),
    })
}

/// Aborts the task driving a connection when the download is done or fails.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A plain HTTP/1.1 GET; no redirects, no compression, `Connection: close`.
pub(super) async fn http_get(
    url: &str,
    limit: u64,
    expected: Option<u64>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, IndexError> {
    use http_body_util::{BodyExt, Empty};
    use tokio::time::timeout;

    let failed = |reason: String| IndexError::Http {
        url: url.to_string(),
        reason,
    };
    let timed_out = || IndexError::Timeout {
        url: url.to_string(),
    };
    let target = parse_http_url(url).map_err(|_| IndexError::InvalidSource(url.to_string()))?;
    let stream = timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| failed(format!("cannot connect: {e}")))?;
    let stream: Box<dyn Conn> = if target.https {
        let extra = EXTRA_CA.get().cloned().flatten();
        let connector = crate::net::tls::connector(extra.as_deref()).map_err(failed)?;
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| failed(format!("TLS: {e}")))?;
        let tls = timeout(CONNECT_TIMEOUT, connector.connect(name, stream))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| failed(format!("TLS: {e}")))?;
        Box::new(tls)
    } else {
        Box::new(stream)
    };
    let io = wasmtime_wasi_http::io::TokioIo::new(stream);
    let (mut sender, connection) = timeout(
        CONNECT_TIMEOUT,
        hyper::client::conn::http1::handshake::<_, Empty<bytes::Bytes>>(io),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| failed(e.to_string()))?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let request = http::Request::get(target.path.as_str())
        .header(http::header::HOST, target.authority.as_str())
        .header(
            http::header::USER_AGENT,
            concat!("ironclaw/", env!("CARGO_PKG_VERSION")),
        )
        .header(http::header::ACCEPT_ENCODING, "identity")
        .header(http::header::CONNECTION, "close")
        .body(Empty::new())
        .map_err(|e| failed(e.to_string()))?;
    let response = timeout(READ_TIMEOUT, sender.send_request(request))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if status == http::StatusCode::NOT_FOUND {
        return Err(IndexError::NotFound(url.to_string()));
    }
    if status != http::StatusCode::OK {
        return Err(IndexError::HttpStatus {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let length = match response.headers().get(http::header::CONTENT_LENGTH) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| failed("malformed Content-Length".into()))?,
        ),
        None => None,
    };
    if let Some(len) = length
        && len > limit
    {
        return Err(IndexError::TooLarge {
            what: url.to_string(),
            limit,
        });
    }
    let total = length.or(expected);
    let mut body = response.into_body();
    let mut bytes: Vec<u8> = Vec::with_capacity(total.unwrap_or(0).min(limit) as usize);
    progress(0, total);
    loop {
        let frame = match timeout(READ_TIMEOUT, body.frame()).await {
            Err(_) => return Err(timed_out()),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(failed(e.to_string())),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if bytes.len() as u64 + data.len() as u64 > limit {
            return Err(IndexError::TooLarge {
                what: url.to_string(),
                limit,
            });
        }
        bytes.extend_from_slice(&data);
        progress(bytes.len() as u64, total);
    }
    if let Some(len) = length
        && bytes.len() as u64 != len
    {
        return Err(failed(format!(
            "connection closed after {} of {len} bytes",
            bytes.len()
        )));
    }
    Ok(bytes)
}
