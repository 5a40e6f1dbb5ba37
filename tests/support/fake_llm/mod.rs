//! Loopback fake LLM providers speaking the real wire formats of OpenAI
//! Chat Completions, Anthropic Messages and Gemini generateContent — whole
//! JSON answers or server-sent events, whichever the request asked for —
//! so integration tests drive whole agent turns through the real adapter
//! components and the host's HTTP pipeline (DESIGN §8).
//!
//! ```text
//! let fake = FakeLlm::start(Provider::OpenAi).await;
//! fake.push(Scripted::tool_call("echo", json!({"text": "hi"})));
//! fake.push(Scripted::text("Done: hi"));
//! // config: base-url = fake.base_url(), model = "gpt-4o-mini"
//! // … drive a turn …
//! let seen = fake.requests();
//! assert_eq!(seen[0].api_key(), Some("sk-test"));   // injected by the host
//! ```
//!
//! Each completion request takes the next scripted answer; with the queue
//! empty it answers the text [`DEFAULT_REPLY`], so a test never hangs.
//! Text is streamed in several chunks. Embedding requests (OpenAI
//! `/embeddings`, Gemini `:batchEmbedContents`) are always answered with
//! deterministic unit vectors of the provider's default size. Every
//! request is recorded with its headers and JSON body.

mod anthropic;
mod conn;
mod gemini;
mod openai;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use conn::{read_request, write_reply};

/// The text answered when the script is empty.
pub const DEFAULT_REPLY: &str = "ok";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Provider {
    /// The adapter component's name.
    pub fn component(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
        }
    }

    /// The header the host injects the API key into.
    pub fn key_header(self) -> &'static str {
        match self {
            Provider::OpenAi => "authorization",
            Provider::Anthropic => "x-api-key",
            Provider::Gemini => "x-goog-api-key",
        }
    }

    /// The path the real API's base URL ends in.
    fn base_path(self) -> &'static str {
        match self {
            Provider::OpenAi | Provider::Anthropic => "/v1",
            Provider::Gemini => "/v1beta",
        }
    }
}

/// One scripted answer to a completion request.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// A text answer, streamed in several chunks when asked to stream.
    Text(String),
    /// One tool call and no text.
    ToolCall { name: String, arguments: Value },
    /// Text (may be empty) followed by several tool calls.
    ToolCalls {
        text: String,
        calls: Vec<(String, Value)>,
    },
    /// An error status with the provider's error body around `message`,
    /// and `Retry-After` when given.
    Status {
        status: u16,
        retry_after: Option<u32>,
        message: String,
    },
    /// Exactly this status, content type and body.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
    /// 200 with a body cut short: half a JSON answer, or an event stream
    /// that ends in the middle of an event, before its last event.
    Malformed,
    /// Read the request, then close the connection without answering.
    Disconnect,
}

impl Scripted {
    pub fn text(text: impl Into<String>) -> Scripted {
        Scripted::Text(text.into())
    }

    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Scripted {
        Scripted::ToolCall {
            name: name.into(),
            arguments,
        }
    }

    pub fn status(status: u16, retry_after: Option<u32>, message: impl Into<String>) -> Scripted {
        Scripted::Status {
            status,
            retry_after,
            message: message.into(),
        }
    }
}

/// A request as the fake provider received it (after the host's pipeline).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub provider: Provider,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Lower-cased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The JSON body, `Null` when it is not JSON.
    pub body: Value,
    pub body_text: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The API key the host injected (without `Bearer `), if any.
    pub fn api_key(&self) -> Option<&str> {
        let value = self.header(self.provider.key_header())?;
        Some(match self.provider {
            Provider::OpenAi => value.strip_prefix("Bearer ").unwrap_or(value),
            _ => value,
        })
    }

    /// Whether this request asked for server-sent events.
    pub fn streaming(&self) -> bool {
        match self.provider {
            Provider::Gemini => self.path.contains(":streamGenerateContent"),
            _ => self.body.get("stream").and_then(Value::as_bool) == Some(true),
        }
    }

    /// The model the request names (body `model`, or Gemini's path).
    pub fn model(&self) -> String {
        match self.provider {
            Provider::Gemini => self
                .path
                .split("/models/")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .unwrap_or("gemini-unknown")
                .to_string(),
            _ => self
                .body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("unknown-model")
                .to_string(),
        }
    }
}

/// What a completion answers, before the wire format.
#[derive(Debug, Clone)]
struct Answer {
    text: String,
    calls: Vec<(String, Value)>,
}

/// How one request is answered.
enum Reply {
    Whole {
        status: u16,
        headers: Vec<(String, String)>,
        content_type: String,
        body: Vec<u8>,
    },
    /// Server-sent events, each a complete `event:`/`data:` block, sent
    /// one by one (chunked); `tail` is sent last, as is.
    Events {
        events: Vec<String>,
        tail: String,
    },
    Close,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply::Whole {
            status,
            headers: Vec::new(),
            content_type: "application/json".into(),
            body: body.to_string().into_bytes(),
        }
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Scripted>,
    requests: Vec<RecordedRequest>,
    served: u64,
}

pub struct FakeLlm {
    provider: Provider,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    /// Listens on 127.0.0.1 (a free port) until dropped.
    pub async fn start(provider: Provider) -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let task = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let _ = serve(provider, stream, state).await;
                    });
                }
            })
        };
        FakeLlm {
            provider,
            addr,
            state,
            task,
        }
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the adapter's `base-url` should be: `http://127.0.0.1:PORT/v1`
    /// (`/v1beta` for Gemini).
    pub fn base_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}{}",
            self.addr.port(),
            self.provider.base_path()
        )
    }

    /// Queues the answer to a coming completion request.
    pub fn push(&self, scripted: Scripted) {
        self.lock().script.push_back(scripted);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Scripted answers not used yet.
    pub fn pending(&self) -> usize {
        self.lock().script.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The endpoint a request is for.
enum Route {
    Complete,
    Embed,
    Unknown,
}

fn route(provider: Provider, request: &RecordedRequest) -> Route {
    let path = request.path.split('?').next().unwrap_or("");
    let Some(rest) = path.strip_prefix(provider.base_path()) else {
        return Route::Unknown;
    };
    match (provider, request.method.as_str()) {
        (Provider::OpenAi, "POST") if rest == "/chat/completions" => Route::Complete,
        (Provider::OpenAi, "POST") if rest == "/embeddings" => Route::Embed,
        (Provider::Anthropic, "POST") if rest == "/messages" => Route::Complete,
        (Provider::Gemini, "POST") if rest.starts_with("/models/") => {
            if rest.ends_with(":generateContent") || rest.ends_with(":streamGenerateContent") {
                Route::Complete
            } else if rest.ends_with(":batchEmbedContents") {
                Route::Embed
            } else {
                Route::Unknown
            }
        }
        _ => Route::Unknown,
    }
}

fn answer(
    provider: Provider,
    request: &RecordedRequest,
    seq: u64,
    next: Option<Scripted>,
) -> Reply {
    let scripted = next.unwrap_or_else(|| Scripted::text(DEFAULT_REPLY));
    let wire_answer = |answer: &Answer| match (provider, request.streaming()) {
        (Provider::OpenAi, false) => Reply::json(200, &openai::whole(request, answer, seq)),
        (Provider::OpenAi, true) => openai::events(request, answer, seq),
        (Provider::Anthropic, false) => Reply::json(200, &anthropic::whole(request, answer, seq)),
        (Provider::Anthropic, true) => anthropic::events(request, answer, seq),
        (Provider::Gemini, false) => Reply::json(200, &gemini::whole(request, answer, seq)),
        (Provider::Gemini, true) => gemini::events(request, answer, seq),
    };
    match scripted {
        Scripted::Text(text) => wire_answer(&Answer {
            text,
            calls: Vec::new(),
        }),
        Scripted::ToolCall { name, arguments } => wire_answer(&Answer {
            text: String::new(),
            calls: vec![(name, arguments)],
        }),
        Scripted::ToolCalls { text, calls } => wire_answer(&Answer { text, calls }),
        Scripted::Status {
            status,
            retry_after,
            message,
        } => {
            let body = match provider {
                Provider::OpenAi => openai::error(status, &message),
                Provider::Anthropic => anthropic::error(status, &message),
                Provider::Gemini => gemini::error(status, &message),
            };
            let headers = retry_after
                .map(|s| vec![("retry-after".to_string(), s.to_string())])
                .unwrap_or_default();
            Reply::Whole {
                status,
                headers,
                content_type: "application/json".into(),
                body: body.to_string().into_bytes(),
            }
        }
        Scripted::Raw {
            status,
            content_type,
            body,
        } => Reply::Whole {
            status,
            headers: Vec::new(),
            content_type,
            body: body.into_bytes(),
        },
        Scripted::Malformed => {
            let full = wire_answer(&Answer {
                text: "this answer is cut short".into(),
                calls: Vec::new(),
            });
            truncate(full)
        }
        Scripted::Disconnect => Reply::Close,
    }
}

/// A valid answer cut short: half of a JSON body; an event stream that
/// stops halfway through an event, before its final events.
fn truncate(reply: Reply) -> Reply {
    match reply {
        Reply::Whole {
            status,
            headers,
            content_type,
            mut body,
        } => {
            body.truncate(body.len() / 2);
            Reply::Whole {
                status,
                headers,
                content_type,
                body,
            }
        }
        Reply::Events { mut events, .. } => {
            let keep = (events.len() / 2).max(1);
            let cut = events.get(keep).cloned().unwrap_or_default();
            events.truncate(keep);
            Reply::Events {
                events,
                tail: cut[..cut.len() / 2].to_string(),
            }
        }
        Reply::Close => Reply::Close,
    }
}

fn not_found(provider: Provider, request: &RecordedRequest) -> Reply {
    let message = format!("no such endpoint: {} {}", request.method, request.path);
    let body = match provider {
        Provider::OpenAi => openai::error(404, &message),
        Provider::Anthropic => anthropic::error(404, &message),
        Provider::Gemini => gemini::error(404, &message),
    };
    Reply::json(404, &body)
}

/// The text in `pieces` chunks or so, split at word boundaries, so a
/// stream carries several text deltas.
fn pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    let per = words.len().div_ceil(3).max(1);
    let mut out: Vec<String> = words.chunks(per).map(|c| c.concat()).collect();
    if out.len() == 1 && text.chars().count() > 1 {
        // One word: split it in two so there are still several chunks.
        let mid = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        out = vec![text[..mid].to_string(), text[mid..].to_string()];
    }
    out
}

/// Tokens as the fakes count them: about four characters a token.
fn input_tokens(request: &RecordedRequest) -> u64 {
    (request.body_text.len() as u64 / 4).max(1)
}

fn output_tokens(answer: &Answer) -> u64 {
    let text = answer.text.split_whitespace().count() as u64;
    let calls: u64 = answer
        .calls
        .iter()
        .map(|(name, args)| (name.len() + args.to_string().len()) as u64 / 4 + 5)
        .sum();
    (text + calls).max(1)
}

/// A deterministic unit vector for `text`.
fn vector(text: &str, dimensions: usize) -> Vec<f32> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    let mut v: Vec<f32> = (0..dimensions)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

async fn serve(
    provider: Provider,
    mut stream: TcpStream,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let Some(request) = read_request(provider, &mut stream).await? else {
        return Ok(());
    };
    let reply = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(request.clone());
        s.served += 1;
        let seq = s.served;
        match route(provider, &request) {
            Route::Complete => {
                let next = s.script.pop_front();
                answer(provider, &request, seq, next)
            }
            Route::Embed => match provider {
                Provider::OpenAi => Reply::json(200, &openai::embeddings(&request)),
                Provider::Gemini => Reply::json(200, &gemini::embeddings(&request)),
                Provider::Anthropic => not_found(provider, &request),
            },
            Route::Unknown => not_found(provider, &request),
        }
    };
    write_reply(&mut stream, reply).await
}
