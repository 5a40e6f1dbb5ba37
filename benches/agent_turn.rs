//! Turn overhead: whole agent turns with one tool call each, against a
//! zero-latency loopback fake of OpenAI's Chat Completions (answering as
//! soon as it has read the request), so what is measured is the host: the
//! agent loop, two completions through the chain and the real openai
//! adapter component (wasi:http through the mediated send path, key
//! injection, leak scans), the real echo tool component, and every message,
//! tool call and state change persisted to SQLite.
//!
//! 1 conversation, then 8 at once (each its own channel user), p50 / p95.
//! Each conversation starts a new thread every 10 turns, so the history a
//! turn replays stays between 0 and 36 messages.
//!
//!   cargo bench --bench agent_turn [-- TURNS_PER_CONVERSATION]

#[path = "../tests/support/http_server.rs"]
#[allow(dead_code)]
mod http_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ironclaw::agent::{Agent, AgentConfig, AgentParts, Inbound, ToolHost};
use ironclaw::capabilities::audit::AuditSink;
use ironclaw::capabilities::live_secrets::LiveSecrets;
use ironclaw::config::{Config, Home};
use ironclaw::llm::adapter_grant::AdapterSettings;
use ironclaw::llm::budget::Accounting;
use ironclaw::llm::chain::Chain;
use ironclaw::llm::component_provider::ComponentProvider;
use ironclaw::llm::{Provider, ResilienceConfig};
use ironclaw::memory::embedder::LocalEmbedder;
use ironclaw::registry::Manifest;
use ironclaw::runtime::Runtime;
use ironclaw::runtime::live::LiveSet;
use ironclaw::secrets::{MasterKey, SecretValue, Vault};
use ironclaw::store::{Database, DatabaseUrl};

fn tool_call() -> Vec<u8> {
    serde_json::json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "echo", "arguments": "{\"text\":\"bench\"}"}}]}}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 12, "total_tokens": 912}
    })
    .to_string()
    .into_bytes()
}

fn answer() -> Vec<u8> {
    serde_json::json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "The echo said bench."}}],
        "usage": {"prompt_tokens": 950, "completion_tokens": 6, "total_tokens": 956}
    })
    .to_string()
    .into_bytes()
}

/// Turns per thread: replayed history stays at 0..=36 messages (4 per turn).
const TURNS_PER_THREAD: usize = 10;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn run(agent: &Arc<Agent>, conversations: usize, turns: usize) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for c in 0..conversations {
        let agent = agent.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(turns);
            for t in 0..turns {
                let started = Instant::now();
                let reply = agent
                    .handle(
                        Inbound {
                            channel: "bench".into(),
                            user_id: format!("user-{c}"),
                            // A new thread every TURNS_PER_THREAD turns: the
                            // figure is a turn's overhead, not the cost of
                            // replaying an ever longer history.
                            thread: Some(format!("c{c}-{}", t / TURNS_PER_THREAD)),
                            text: format!("turn {t}: please echo"),
                        },
                        None,
                    )
                    .await
                    .expect("turn");
                times.push(started.elapsed());
                assert_eq!(reply.tool_calls, 1);
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("conversation task"));
    }
    all.sort();
    all
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let turns: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    // Zero latency: answer as soon as the request is read. A request that
    // ends in a tool result gets the final answer, any other the tool call.
    let server = http_server::TestServer::start(|seen| {
        let request: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        let last_role = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["role"].clone());
        let body = if last_role == Some(serde_json::json!("tool")) {
            answer()
        } else {
            tool_call()
        };
        http_server::Reply::Full(
            200,
            vec![("content-type".into(), "application/json".into())],
            body,
        )
    })
    .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let home = Home::at(dir.path().join("home"));
    home.ensure().expect("home");
    let db = Database::open_migrated(
        &DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("b.db").display()))
            .expect("url"),
    )
    .await
    .expect("database");
    let memory = db.memory(Arc::new(LocalEmbedder::default()));
    let vault = Vault::new(db.secrets(), MasterKey::generate());
    vault
        .set(
            "openai_api_key",
            &SecretValue::new("sk-bench-0123456789abcdefghij".into()),
        )
        .await
        .expect("secret");
    let secrets = LiveSecrets::default();
    secrets.refresh(&vault).await.expect("secrets");

    let mut config = Config::default();
    config.network.allow_loopback = true;
    let mut runtime = Runtime::new(&config, &home).expect("runtime");
    runtime.set_memory(memory.clone());
    runtime.set_kv(db.kv());
    runtime.set_secrets(secrets.clone());
    let audit = AuditSink::spawn(db.audit());
    runtime.set_audit(audit.clone());
    let runtime = Arc::new(runtime);
    let live = Arc::new(LiveSet::new());
    let components = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/components");
    for name in ["openai", "echo"] {
        let manifest = Manifest::load(&components.join(format!("{name}.toml"))).expect("manifest");
        let grants = runtime.grants_as_requested(&manifest);
        let loaded = runtime
            .load(&components.join(format!("{name}.wasm")), manifest, grants)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e} (run scripts/build-components)"));
        live.swap_in(loaded);
    }
    let provider = ComponentProvider::new(
        AdapterSettings {
            adapter: "openai".into(),
            base_url: Some(format!("http://{}/v1", server.addr)),
            model: Some("gpt-4o-mini".into()),
            api_key_secret: None,
            extra: [("stream".to_string(), "false".to_string())].into(),
        },
        &runtime,
        live.clone(),
    );
    let mut resilience = ResilienceConfig::default();
    resilience.cache.enabled = false;
    let accounting = Arc::new(Accounting::from_config(db.llm_usage(), &resilience));
    let chain = Arc::new(
        Chain::new(
            vec![Arc::new(provider) as Arc<dyn Provider>],
            &resilience,
            Some(accounting),
        )
        .expect("chain"),
    );
    let agent = Arc::new(Agent::new(AgentParts {
        conversations: db.conversations(),
        store: db.agent(),
        llm: Some(chain as Arc<dyn Provider>),
        tools: Arc::new(ToolHost::new(runtime.clone(), live)),
        memory: Some(memory),
        secrets,
        config: AgentConfig::default(),
        config_path: "config.toml".into(),
    }));

    // Warm up: caches, allocator, first instantiations.
    run(&agent, 2, 10).await;
    println!(
        "turn = 2 completions (openai adapter, zero-latency loopback fake) + 1 echo tool call, persisted to SQLite"
    );
    for conversations in [1usize, 8] {
        let started = Instant::now();
        let times = run(&agent, conversations, turns).await;
        let wall = started.elapsed();
        println!(
            "{conversations} concurrent: {} turns, p50 {:>6.2} ms, p95 {:>6.2} ms, max {:>6.2} ms, {:.0} turns/s",
            times.len(),
            percentile(&times, 0.50).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            times.len() as f64 / wall.as_secs_f64()
        );
    }
    audit.flush().await;
}
