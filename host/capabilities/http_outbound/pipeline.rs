//! The mediated send, step by step (the order is in `mod.rs`).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HeaderName, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::json;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::{credentials, rules};
use crate::capabilities::grants::Grants;
use crate::capabilities::services::{Caller, HostServices};
use crate::leak::{LeakBlocked, LeakScanner, LeakSite};
use crate::net::{Exchange, NetError};

pub(super) struct Ctx {
    pub caller: Arc<Caller>,
    pub grants: Arc<Grants>,
    pub services: HostServices,
}

impl Ctx {
    /// Refuses with `why`, audited and logged; the guest sees the reason.
    fn deny(&self, url: &Uri, action: &'static str, why: String) -> HttpError {
        tracing::info!(component = %self.caller.name, host = url.host().unwrap_or(""), reason = %why, "outbound request refused");
        self.services.audit.record(
            &self.caller,
            action,
            json!({ "host": url.host().unwrap_or(""), "path": url.path(), "reason": why }),
        );
        HttpError::InternalError(Some(format!("denied: {why}")))
    }
}

/// The `outbound-http-body` safety stage on a text body: `Some` is the
/// filters' replacement. A binary body is left to the leak scan, which reads
/// bytes; filters judge text.
async fn screen_body(ctx: &Ctx, url: &Uri, body: &Bytes) -> Result<Option<Bytes>, HttpError> {
    let Some(screen) = ctx.services.http_body_screen.get() else {
        return Ok(None);
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    match screen
        .screen(&ctx.caller.name, url.host().unwrap_or(""), text)
        .await
    {
        Ok(None) => Ok(None),
        Ok(Some(replacement)) => {
            ctx.services.audit.record(
                &ctx.caller,
                "http.body-redacted",
                json!({ "host": url.host().unwrap_or(""), "path": url.path() }),
            );
            Ok(Some(Bytes::from(replacement)))
        }
        Err(why) => Err(ctx.deny(url, "http.safety-blocked", why)),
    }
}

pub(super) async fn send(
    ctx: &Ctx,
    request: http::Request<WasiBody>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let (parts, body) = request.into_parts();
    let mut url = parts.uri;
    let Some(grant) = ctx.grants.http.as_ref() else {
        ctx.deny(&url, "http.denied", "http-outbound is not granted".into());
        return Err(HttpError::HttpRequestDenied);
    };
    let client = match ctx.services.http.client() {
        Ok(c) => c,
        Err(why) => {
            return Err(ctx.deny(&url, "http.denied", format!("network configuration: {why}")));
        }
    };
    let config = client.config();
    let body = match Limited::new(body, config.max_request_bytes as usize)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(ctx.deny(
                &url,
                "http.denied",
                format!(
                    "the request body is over {} bytes (or broken)",
                    config.max_request_bytes
                ),
            ));
        }
    };
    let set = ctx.services.secrets.current();
    let Some(scanner) = set.scanner() else {
        return Err(ctx.deny(
            &url,
            "http.denied",
            "the leak scanner is unavailable".into(),
        ));
    };
    let deadline = tokio::time::Instant::now() + config.total_timeout();
    let mut method = parts.method;
    let mut guest_headers = parts.headers;
    let mut body = body;
    // The safety filters see the body once: every hop sends the same one.
    if let Some(screened) = screen_body(ctx, &url, &body).await? {
        body = screened;
        // The body's length changed; the client frames the new one.
        guest_headers.remove(CONTENT_LENGTH);
        guest_headers.remove(TRANSFER_ENCODING);
    }
    let mut hop = 0u32;
    loop {
        rules::find_rule(grant, &method, &url).map_err(|why| ctx.deny(&url, "http.denied", why))?;
        credentials::refuse_guest_credentials(&guest_headers, &ctx.grants.secrets)
            .map_err(|why| ctx.deny(&url, "http.denied", why))?;
        // The URL before anything leaves the host: its host name goes to
        // the resolver.
        scan_url(scanner, &url).map_err(|why| ctx.deny(&url, "http.leak-blocked", why))?;
        // The rest of the request is checked and given its secrets while
        // the connection is set up; nothing is sent before that passes.
        let mut injected = Vec::new();
        let started = Instant::now();
        let result = client
            .exchange_prepared(&url, deadline, || {
                scan_content(scanner, &guest_headers, &body)
                    .map_err(|why| ctx.deny(&url, "http.leak-blocked", why))?;
                // The guest's headers stay as they were for a redirect's
                // next hop; this copy gets the secrets and goes out.
                let mut headers = guest_headers.clone();
                let (target, names) =
                    credentials::inject(&ctx.grants.secrets, &set, &url, &mut headers, &body)
                        .map_err(|why| ctx.deny(&url, "http.denied", why))?;
                injected = names;
                Ok::<_, HttpError>(Exchange {
                    method: method.clone(),
                    url: target,
                    headers,
                    body: body.clone(),
                })
            })
            .await?;
        let audit = |status: Option<u16>, bytes_in: usize, error: Option<String>| {
            let record = RequestRecord {
                bytes_in,
                bytes_out: body.len(),
                digest: &ctx.caller.digest,
                error: error.as_deref(),
                hop,
                host: url.host().unwrap_or(""),
                method: method.as_str(),
                ms: started.elapsed().as_millis() as u64,
                path: url.path(),
                secrets: &injected,
                status,
                version: &ctx.caller.version,
            };
            record.write(ctx);
        };
        let response = match result {
            Ok(r) => r,
            Err(NetError::Address(e)) => {
                audit(None, 0, Some(e.to_string()));
                return Err(ctx.deny(&url, "http.denied", e.to_string()));
            }
            Err(e) => {
                audit(None, 0, Some(e.to_string()));
                return Err(net_error(e));
            }
        };
        audit(Some(response.status.as_u16()), response.body.len(), None);
        if let Some(next) = redirect_target(&url, response.status, &response.headers) {
            if hop >= config.max_redirects {
                return Err(ctx.deny(
                    &url,
                    "http.denied",
                    format!("more than {} redirects", config.max_redirects),
                ));
            }
            hop += 1;
            if response.status == StatusCode::SEE_OTHER
                || (matches!(response.status.as_u16(), 301 | 302) && method == Method::POST)
            {
                method = Method::GET;
                body = Bytes::new();
            }
            url = next;
            continue;
        }
        return redact_response(ctx, scanner, &url, response);
    }
}

/// The `http.request` audit detail, written straight to JSON: the same
/// object `AuditSink::record` makes of a `json!` map plus the caller's
/// version and digest (keys sorted, as serde_json's map writes them), in
/// one buffer instead of a map of owned strings.
#[derive(serde::Serialize)]
struct RequestRecord<'a> {
    bytes_in: usize,
    bytes_out: usize,
    digest: &'a str,
    error: Option<&'a str>,
    hop: u32,
    host: &'a str,
    method: &'a str,
    ms: u64,
    path: &'a str,
    secrets: &'a [String],
    status: Option<u16>,
    version: &'a str,
}

impl RequestRecord<'_> {
    /// Recorded when the caller's audit budget lets it through; only then
    /// is the detail written out.
    fn write(&self, ctx: &Ctx) {
        ctx.services
            .audit
            .record_with(&ctx.caller, "http.request", || self.to_json(&ctx.caller));
    }

    fn to_json(&self, caller: &Caller) -> String {
        let mut detail = Vec::with_capacity(256 + self.path.len() + self.host.len());
        match serde_json::to_writer(&mut detail, self).map(|()| String::from_utf8(detail)) {
            Ok(Ok(detail)) => detail,
            // Not expected (plain strings and numbers); the map path then.
            _ => crate::capabilities::audit::with_caller(caller, self.as_value()),
        }
    }

    /// The detail as `record` takes it (without version and digest,
    /// which it adds).
    fn as_value(&self) -> serde_json::Value {
        json!({
            "method": self.method,
            "host": self.host,
            "path": self.path,
            "status": self.status,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "ms": self.ms,
            "secrets": self.secrets,
            "hop": self.hop,
            "error": self.error,
        })
    }
}

/// Step 3, the URL: a guest's request carries no credential or secret
/// value (the scan runs before injection, so the host's own secrets never
/// count).
fn scan_url(scanner: &LeakScanner, url: &Uri) -> Result<(), String> {
    scanner
        .check_at(
            url.to_string().as_bytes(),
            LeakSite::OutboundRequest,
            "request URL",
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Step 4: headers and body, the same way (while connecting).
fn scan_content(scanner: &LeakScanner, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let site = LeakSite::OutboundRequest;
    let blocked = |e: LeakBlocked| e.to_string();
    for (name, value) in headers {
        // The location is only written out when something is found. Names
        // are scanned too: a guest can spell a secret into a header name.
        // The location does not repeat the name: it holds the secret.
        scanner
            .check_at(name.as_str().as_bytes(), site, "a request header name")
            .map_err(blocked)?;
        scanner
            .check_at(value.as_bytes(), site, "")
            .map_err(|e| blocked(at(e, "request header", name)))?;
    }
    scanner
        .check_at(body, site, "request body")
        .map_err(blocked)?;
    Ok(())
}

/// `e` with its location naming the header.
fn at(mut e: LeakBlocked, what: &str, name: &HeaderName) -> LeakBlocked {
    e.location = format!("{what} {name}");
    e
}

/// Where a redirect points, resolved against the current URL.
fn redirect_target(url: &Uri, status: StatusCode, headers: &HeaderMap) -> Option<Uri> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let next: Uri = location.parse().ok()?;
    if next.scheme().is_some() {
        return Some(next);
    }
    let mut parts = url.clone().into_parts();
    let pq = if location.starts_with('/') {
        location.to_string()
    } else {
        let base = url.path();
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}")
    };
    parts.path_and_query = Some(pq.parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// Step 6: the owner's secret values never reach the guest, in the body or
/// in a header; a canary in a response blocks it entirely. A clean
/// response (the common case) is handed on as it came: same body bytes,
/// same header map, nothing copied.
fn redact_response(
    ctx: &Ctx,
    scanner: &LeakScanner,
    url: &Uri,
    response: crate::net::Response,
) -> Result<http::Response<WasiBody>, HttpError> {
    let blocked = |e: LeakBlocked| ctx.deny(url, "http.leak-blocked", e.to_string());
    let site = LeakSite::InboundResponse;
    let crate::net::Response {
        status,
        mut headers,
        body,
        ..
    } = response;
    let clean = match scanner
        .check_at(&body, site, "response body")
        .map_err(blocked)?
    {
        Cow::Borrowed(_) => None,
        Cow::Owned(clean) => Some(Bytes::from(clean)),
    };
    let redacted = clean.is_some();
    let body = clean.unwrap_or(body);
    // The body is whole (and may be shorter after redaction).
    for hop in [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION] {
        headers.remove(hop);
    }
    let mut changed = false;
    for (name, value) in &headers {
        let clean = scanner
            .check_at(value.as_bytes(), site, "")
            .map_err(|e| blocked(at(e, "response header", name)))?;
        changed |= matches!(clean, Cow::Owned(_));
    }
    if changed {
        headers = redact_headers(scanner, &headers).map_err(blocked)?;
    }
    if redacted {
        ctx.services.audit.record(
            &ctx.caller,
            "http.response-redacted",
            json!({ "host": url.host().unwrap_or(""), "path": url.path() }),
        );
    }
    let mut out = http::Response::new(Full::new(body).map_err(|e| match e {}).boxed_unsync());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// `headers` with secret values redacted; a value that is no longer a
/// valid header value after redaction is dropped.
fn redact_headers(scanner: &LeakScanner, headers: &HeaderMap) -> Result<HeaderMap, LeakBlocked> {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let clean = scanner
            .check_at(value.as_bytes(), LeakSite::InboundResponse, "")
            .map_err(|e| at(e, "response header", name))?;
        if let Ok(v) = HeaderValue::from_bytes(&clean) {
            out.append(name.clone(), v);
        }
    }
    Ok(out)
}

fn net_error(e: NetError) -> HttpError {
    match e {
        NetError::ConnectTimeout { .. } => HttpError::ConnectionTimeout,
        NetError::FirstByteTimeout { .. } | NetError::TotalTimeout { .. } => {
            HttpError::InternalError(Some(format!("timeout: {e}")))
        }
        NetError::ResponseTooLarge { limit, .. } => HttpError::HttpResponseBodySize(Some(limit)),
        NetError::RequestTooLarge { limit } => HttpError::HttpRequestBodySize(Some(limit)),
        other => HttpError::InternalError(Some(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_request_detail_is_what_the_map_made() {
        let secrets = vec!["token".to_string(), "other \"quoted\"".to_string()];
        for (status, error) in [(Some(200), None), (None, Some("refused: \u{7f} \\ é"))] {
            let record = RequestRecord {
                bytes_in: 1024,
                bytes_out: 7,
                digest: "ab12",
                error,
                hop: 1,
                host: "api.example.com",
                method: "POST",
                ms: 3,
                path: "/v1/x\"y",
                secrets: &secrets,
                status,
                version: "0.1.0",
            };
            let mut map = record.as_value();
            if let serde_json::Value::Object(m) = &mut map {
                m.insert("version".into(), json!("0.1.0"));
                m.insert("digest".into(), json!("ab12"));
            }
            assert_eq!(serde_json::to_string(&record).unwrap(), map.to_string());
        }
    }

    #[test]
    fn a_secret_spelled_into_a_header_name_is_blocked() {
        let secret = "owner-secret-token-0123456789";
        let scanner =
            LeakScanner::new([("token", secret.as_bytes().to_vec())], Vec::new()).unwrap();
        let url: Uri = "https://example.com/x".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_bytes(format!("x-{secret}").as_bytes()).unwrap(),
            "1".parse().unwrap(),
        );
        assert!(scan_url(&scanner, &url).is_ok());
        let e = scan_content(&scanner, &headers, b"").unwrap_err();
        assert!(e.contains("request header name"), "{e}");
        assert!(
            !e.contains(secret),
            "the message never carries the secret: {e}"
        );
        // A clean request passes.
        let mut clean = HeaderMap::new();
        clean.insert("x-trace", "abc".parse().unwrap());
        assert!(scan_content(&scanner, &clean, b"hello").is_ok());
        let leaky: Uri = format!("https://example.com/x?t={secret}").parse().unwrap();
        assert!(scan_url(&scanner, &leaky).is_err());
    }
}
