//! The tool: parameters, the fetch with its redirects, and the result.
//!
//! Written against [`Fetch`] so that everything but the network is tested
//! natively with canned responses; the component implements it with the
//! SDK's wasi:http client, through the host's policy.

use ironclaw_sdk::http::{HttpError, Response, Url};
use ironclaw_sdk::params;
use ironclaw_sdk::tool::ToolError;
use serde::{Deserialize, Serialize};

use crate::content::{self, ContentType, Kind};
use crate::html;
use crate::url::Base;

pub const TOOL: &str = "http_fetch";
pub const DEFAULT_MAX_CHARS: u64 = 20_000;
pub const MAX_MAX_CHARS: u64 = 200_000;
/// The most body the tool reads: more than any readable page, and the
/// conversion's work (fuel) and memory stay bounded.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// Redirects followed before giving up, as browsers do with a few more.
pub const MAX_REDIRECTS: usize = 5;

pub const DESCRIPTION: &str = "Fetches a URL (HTTP GET) and returns its readable text. HTML \
comes back as Markdown: headings, paragraphs, lists, tables, code blocks, and links as \
[text](absolute URL); scripts, styles and navigation are dropped. Plain text, JSON, XML and \
Markdown come back as they are; images, PDFs and other binary types are refused. Redirects are \
followed. A page with an error status (404, 500…) is still returned, with its status. Long \
text is cut at max_chars and says how much was left out.";

/// The tool's JSON Schema.
pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "url": {
                "type": "string",
                "description": "The http:// or https:// URL to fetch"
            },
            "max_chars": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_MAX_CHARS,
                "default": DEFAULT_MAX_CHARS,
                "description": "Most characters of text to return; the rest is cut and counted"
            },
            "raw": {
                "type": "boolean",
                "default": false,
                "description": "Return the body as sent (HTML source included) instead of converting HTML to Markdown"
            }
        },
        "required": ["url"],
        "additionalProperties": false
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: String,
    max_chars: Option<u64>,
    #[serde(default)]
    raw: bool,
}

/// One GET through the host; the component's implementation is the SDK's
/// wasi:http client.
pub trait Fetch {
    fn get(&self, url: &str) -> Result<Response, HttpError>;
}

/// The tool's result.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Fetched {
    /// The URL finally read, after redirects.
    pub url: String,
    pub status: u16,
    /// The type's essence (`text/html`), without parameters.
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub truncated: bool,
}

/// Checks and normalises the `url` parameter.
fn checked_url(url: &str) -> Result<String, ToolError> {
    let url = url.trim();
    if url.chars().any(char::is_control) {
        return Err(ToolError::InvalidParams(
            "url must not contain control characters".into(),
        ));
    }
    // Spaces are the one thing people paste into URLs that servers never
    // accept raw.
    let url = url.replace(' ', "%20");
    Url::parse(&url).map_err(|e| ToolError::InvalidParams(format!("url: {e}")))?;
    Ok(url)
}

fn checked_max_chars(max_chars: Option<u64>) -> Result<usize, ToolError> {
    let n = max_chars.unwrap_or(DEFAULT_MAX_CHARS);
    if !(1..=MAX_MAX_CHARS).contains(&n) {
        return Err(ToolError::InvalidParams(format!(
            "max_chars must be between 1 and {MAX_MAX_CHARS}, not {n}"
        )));
    }
    usize::try_from(n).map_err(|_| ToolError::InvalidParams(format!("max_chars {n} is too big")))
}

/// Runs the tool: the JSON result, or the error the model sees.
pub fn execute(params: &str, net: &impl Fetch) -> Result<Fetched, ToolError> {
    let p: Params = params::parse(params)?;
    let url = checked_url(&p.url)?;
    let max_chars = checked_max_chars(p.max_chars)?;
    let (url, response) = follow(url, net)?;
    read(url, &response, p.raw, max_chars)
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// GETs `url`, following redirects; the final URL and its response.
fn follow(mut url: String, net: &impl Fetch) -> Result<(String, Response), ToolError> {
    for hop in 0..=MAX_REDIRECTS {
        let response = net.get(&url).map_err(|e| network_error(&url, hop, e))?;
        let location = response.header("location").map(str::trim);
        let Some(location) = location.filter(|l| is_redirect(response.status) && !l.is_empty())
        else {
            return Ok((url, response));
        };
        let next = Base::parse(&url)
            .and_then(|base| base.resolve(location))
            .filter(|next| Url::parse(next).is_ok())
            .ok_or_else(|| {
                ToolError::Failed(format!(
                    "{url} redirected ({}) to `{location}`, which is not an http(s) URL this tool can fetch",
                    response.status
                ))
            })?;
        if hop == MAX_REDIRECTS {
            return Err(ToolError::Failed(format!(
                "{url} redirected again (to {next}) after {MAX_REDIRECTS} redirects; giving up"
            )));
        }
        url = next;
    }
    Err(ToolError::Failed("redirect loop".into()))
}

/// A refusal or failure on the way, with the host's reason as it gave it:
/// the model needs to see why (outside the grant, a blocked leak, a timeout).
fn network_error(url: &str, hop: usize, e: HttpError) -> ToolError {
    match e {
        HttpError::InvalidUrl(m) if hop == 0 => ToolError::InvalidParams(format!("url: {m}")),
        // The host's code for "not allowed", with no reason attached.
        e if e.is_denied() => ToolError::Denied(format!(
            "http-outbound: GET {url} refused by the host (HTTP-request-denied)"
        )),
        HttpError::Request(reason) => ToolError::Failed(format!("GET {url} failed: {reason}")),
        HttpError::TooLarge(limit) => ToolError::Failed(format!(
            "GET {url}: the response body is larger than {limit} bytes, the most this tool reads"
        )),
        other => ToolError::Failed(format!("GET {url}: {other}")),
    }
}

/// The result for a final response.
fn read(
    url: String,
    response: &Response,
    raw: bool,
    max_chars: usize,
) -> Result<Fetched, ToolError> {
    let body = &response.body;
    if let Some(encoding) = response
        .header("content-encoding")
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"))
    {
        return Err(ToolError::Failed(format!(
            "{url} sent a `{encoding}`-encoded body, which this tool cannot decode"
        )));
    }
    let declared = response.header("content-type").and_then(ContentType::parse);
    let content_type = declared.unwrap_or_else(|| ContentType::sniff(body));
    let kind = match content_type.kind() {
        // A body declared as text but full of NUL bytes is not text.
        Kind::Text | Kind::Html if content::looks_binary(body) => Kind::Binary,
        k => k,
    };
    if kind == Kind::Binary {
        return Err(ToolError::Failed(format!(
            "{url} returned `{}` (status {}), a binary type: http_fetch returns text only \
             (HTML, plain text, JSON, XML, Markdown)",
            content_type.mime, response.status
        )));
    }
    let charset = content_type.charset.clone().or_else(|| {
        (kind == Kind::Html)
            .then(|| content::meta_charset(body))
            .flatten()
    });
    let text = content::decode(body, charset.as_deref());
    let converted = kind == Kind::Html && !raw;
    let (title, text) = match (kind, raw) {
        (Kind::Html, false) => {
            let page = html::to_markdown(&text, &url);
            (page.title, page.markdown)
        }
        (Kind::Html, true) => (html::title(&text), text),
        _ => (None, text),
    };
    let (text, truncated) = truncate(text, max_chars, converted);
    Ok(Fetched {
        url,
        status: response.status,
        content_type: content_type.mime,
        title,
        text,
        truncated,
    })
}

/// At most `max_chars` characters of `text`, then a line saying how many
/// more there were. In Markdown the converter wrote, a code block the cut
/// falls inside is closed first, so the line is not read as code.
pub fn truncate(mut text: String, max_chars: usize, markdown: bool) -> (String, bool) {
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return (text, false);
    };
    let more = text[cut..].chars().count();
    text.truncate(cut);
    if markdown {
        // Markdown ends at the last character, never in whitespace.
        text.truncate(text.trim_end().len());
        if let Some(fence) = html::open_fence(&text) {
            text.push('\n');
            text.push_str(&fence);
        }
    }
    text.push_str(&format!("\n\n[truncated: {more} more characters]"));
    (text, true)
}

#[cfg(test)]
mod tests;
