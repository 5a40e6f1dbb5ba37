//! A small blocking HTTP client over the standard `wasi:http/outgoing-handler`.
//!
//! The host mediates every request (allowlist, credential injection, leak
//! scan); a refusal arrives here as an `HttpError`. Any other wasi:http client
//! crate works as well: this helper only saves the boilerplate.

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    Scheme,
};
use crate::bindings::wasi::io::streams::{InputStream, StreamError};

/// Largest response body the helper reads before giving up.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL could not be parsed.
    InvalidUrl(String),
    /// A header name or value was refused (forbidden or malformed).
    InvalidHeader(String),
    /// The host or the network refused or failed the request.
    Request(String),
    /// The response body exceeded the reader's limit.
    TooLarge(usize),
}

impl core::fmt::Display for HttpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HttpError::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            HttpError::InvalidHeader(m) => write!(f, "invalid header: {m}"),
            HttpError::Request(m) => write!(f, "request failed: {m}"),
            HttpError::TooLarge(n) => write!(f, "response body larger than {n} bytes"),
        }
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    /// True when the host refused the request by policy without giving a
    /// reason (`HTTP-request-denied`: outside the grant, or no grant at all).
    pub fn is_denied(&self) -> bool {
        matches!(self, HttpError::Request(r) if *r == error_code_text(&ErrorCode::HttpRequestDenied))
    }
}

/// A parsed `http(s)://authority/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub authority: String,
    pub path_with_query: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(HttpError::InvalidUrl(format!(
                "`{url}` must start with http:// or https://"
            )));
        };
        // A fragment names a place in the fetched document; it is never sent.
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(HttpError::InvalidUrl(format!(
                "`{url}` needs a host and no user info"
            )));
        }
        let path_with_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    max_response_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of this name (case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    pub fn text(&self) -> Result<&str, HttpError> {
        core::str::from_utf8(&self.body)
            .map_err(|e| HttpError::Request(format!("body is not UTF-8: {e}")))
    }
}

impl Request {
    pub fn new(method: Method, url: &str) -> Request {
        Request {
            method,
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    pub fn get(url: &str) -> Request {
        Request::new(Method::Get, url)
    }

    pub fn post(url: &str) -> Request {
        Request::new(Method::Post, url)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_string(), value.as_bytes().to_vec()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// A JSON body with its content type.
    pub fn json(self, value: &serde_json::Value) -> Request {
        self.header("content-type", "application/json")
            .body(value.to_string())
    }

    pub fn max_response_bytes(mut self, limit: usize) -> Request {
        self.max_response_bytes = limit;
        self
    }

    /// Sends the request and reads the whole response body (at most
    /// `max_response_bytes`).
    pub fn send(self) -> Result<Response, HttpError> {
        self.send_streaming()?.into_response()
    }

    /// Sends the request and returns as soon as the status and headers are
    /// in; the body is then read as it arrives with
    /// [`StreamingResponse::next_chunk`] or
    /// [`StreamingResponse::for_each_chunk`] (server-sent events, long
    /// downloads), still capped at `max_response_bytes` in total.
    pub fn send_streaming(self) -> Result<StreamingResponse, HttpError> {
        let url = Url::parse(&self.url)?;
        let fields = Fields::from_list(&self.headers)
            .map_err(|e| HttpError::InvalidHeader(format!("{e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let scheme = if url.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        request
            .set_method(&self.method)
            .and_then(|_| request.set_scheme(Some(&scheme)))
            .and_then(|_| request.set_authority(Some(&url.authority)))
            .and_then(|_| request.set_path_with_query(Some(&url.path_with_query)))
            .map_err(|_| HttpError::InvalidUrl(self.url.clone()))?;
        let outgoing_body = request
            .body()
            .map_err(|_| HttpError::Request("request body already taken".into()))?;
        let pending = outgoing_handler::handle(request, None).map_err(request_error)?;
        write_body(&outgoing_body, &self.body)?;
        OutgoingBody::finish(outgoing_body, None).map_err(request_error)?;
        let response = loop {
            match pending.get() {
                Some(result) => break result,
                None => pending.subscribe().block(),
            }
        };
        let response = response
            .map_err(|_| HttpError::Request("response already taken".into()))?
            .map_err(request_error)?;
        StreamingResponse::new(response, self.max_response_bytes)
    }
}

/// A response whose body is read incrementally, through the wasi:io input
/// stream, as the host delivers it.
pub struct StreamingResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    // Fields drop in order: the stream is a child of the body, which was
    // taken from the response; each must go before its parent.
    stream: InputStream,
    _body: IncomingBody,
    _response: IncomingResponse,
    read: usize,
    limit: usize,
    done: bool,
}

impl core::fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamingResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("read", &self.read)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl StreamingResponse {
    fn new(response: IncomingResponse, limit: usize) -> Result<StreamingResponse, HttpError> {
        let status = response.status();
        let headers = response.headers().entries();
        let body = response
            .consume()
            .map_err(|_| HttpError::Request("response body already taken".into()))?;
        let stream = body
            .stream()
            .map_err(|_| HttpError::Request("response stream already taken".into()))?;
        Ok(StreamingResponse {
            status,
            headers,
            stream,
            _body: body,
            _response: response,
            read: 0,
            limit,
            done: false,
        })
    }

    /// The first header of this name (case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// Body bytes read so far.
    pub fn bytes_read(&self) -> usize {
        self.read
    }

    /// The next piece of the body as it arrives (blocking until some is
    /// there), or `None` at its end. Going past the limit is an error.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        while !self.done {
            match self.stream.blocking_read(64 * 1024) {
                Ok(chunk) if chunk.is_empty() => continue,
                Ok(chunk) => {
                    if self.read + chunk.len() > self.limit {
                        self.done = true;
                        return Err(HttpError::TooLarge(self.limit));
                    }
                    self.read += chunk.len();
                    return Ok(Some(chunk));
                }
                Err(StreamError::Closed) => self.done = true,
                Err(StreamError::LastOperationFailed(e)) => {
                    self.done = true;
                    return Err(HttpError::Request(e.to_debug_string()));
                }
            }
        }
        Ok(None)
    }

    /// Hands every remaining piece of the body to `on_chunk`, in order,
    /// until the end, a read error, or `on_chunk` returns an error (which
    /// stops reading and is returned as is).
    pub fn for_each_chunk<E: From<HttpError>>(
        &mut self,
        mut on_chunk: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        while let Some(chunk) = self.next_chunk()? {
            on_chunk(&chunk)?;
        }
        Ok(())
    }

    /// Reads the rest of the body into a whole [`Response`].
    pub fn into_response(mut self) -> Result<Response, HttpError> {
        let mut body = Vec::new();
        self.for_each_chunk(|chunk| {
            body.extend_from_slice(chunk);
            Ok::<(), HttpError>(())
        })?;
        Ok(Response {
            status: self.status,
            headers: std::mem::take(&mut self.headers),
            body,
        })
    }
}

fn header_in<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| core::str::from_utf8(v).ok())
}

/// The host's refusal as text. A reason the host wrote
/// (`internal-error(some(reason))`, how policy refusals carry their why) comes
/// through verbatim, so a tool can show the model exactly why; every other
/// code keeps its debug name (`HttpRequestDenied`, `ConnectionTimeout`, …),
/// which callers already match on.
fn request_error(e: ErrorCode) -> HttpError {
    HttpError::Request(error_code_text(&e))
}

fn error_code_text(e: &ErrorCode) -> String {
    match e {
        ErrorCode::InternalError(Some(reason)) => reason.clone(),
        other => format!("{other:?}"),
    }
}

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let stream = body
        .write()
        .map_err(|_| HttpError::Request("body stream already taken".into()))?;
    // blocking-write-and-flush accepts at most 4096 bytes per call.
    for chunk in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| HttpError::Request(format!("writing body: {e:?}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = Url::parse("https://api.example.com:8443/v1/x?y=1").unwrap();
        assert!(u.https);
        assert_eq!(u.authority, "api.example.com:8443");
        assert_eq!(u.path_with_query, "/v1/x?y=1");
        assert_eq!(Url::parse("http://h").unwrap().path_with_query, "/");
        assert_eq!(Url::parse("http://h?q").unwrap().path_with_query, "/?q");
        assert!(Url::parse("ftp://h").is_err());
        assert!(Url::parse("https://user@h/").is_err());
        let u = Url::parse("https://h.example#top").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path_with_query.as_str()),
            ("h.example", "/")
        );
        assert_eq!(
            Url::parse("https://h/a?b#c").unwrap().path_with_query,
            "/a?b"
        );
    }

    #[test]
    fn host_reasons_arrive_verbatim() {
        let reason = "host `10.0.0.1` is a private address";
        assert_eq!(
            error_code_text(&ErrorCode::InternalError(Some(reason.into()))),
            reason
        );
        // Codes without a reason keep their debug names, which callers match.
        assert!(error_code_text(&ErrorCode::HttpRequestDenied).contains("HttpRequestDenied"));
        assert!(error_code_text(&ErrorCode::InternalError(None)).contains("InternalError"));
        assert!(request_error(ErrorCode::HttpRequestDenied).is_denied());
        assert!(!request_error(ErrorCode::ConnectionTimeout).is_denied());
        assert!(!HttpError::Request(reason.into()).is_denied());
    }
}
