//! The `llm` capability: a tool component granted `llm` completes through
//! the same chain as the agent (here, in the middle of a turn that called
//! it), its grant's parts are enforced (`embed` not granted → denied), and
//! the model's answer reaches the tool with the owner's secrets redacted.

mod support;

use serde_json::json;
use support::agent::{API_KEY, AgentHome, fixtures_only};
use support::fake_llm::{FakeLlm, Provider, Scripted};

async fn home() -> (FakeLlm, AgentHome) {
    let fake = FakeLlm::start(Provider::OpenAi).await;
    let config = format!(
        "{}[components]\npaths = [\"{}\"]\n",
        AgentHome::llm_section(&fake, "gpt-4o-mini", ""),
        fixtures_only(&[("asker", "asker")]).display()
    );
    (fake, AgentHome::new(&config, "OPENAI_API_KEY"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_granted_llm_completes_through_the_hosts_chain() {
    let (fake, home) = home().await;
    fake.push(Scripted::tool_call(
        "ask",
        json!({"question": "what is 6 x 7?"}),
    ));
    // The tool's own completion, then the turn's answer.
    fake.push(Scripted::text(format!("42 (and the key is {API_KEY})")));
    fake.push(Scripted::text("The asker says 42."));
    let chat = home.chat("ask the asker", &[]).await.expect_ok();
    assert_eq!(chat.text(), "The asker says 42.");
    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    // The nested request is the tool's: one user message, no tools.
    let nested = &seen[1];
    assert_eq!(nested.body["messages"].as_array().map(Vec::len), Some(1));
    assert!(nested.body_text.contains("what is 6 x 7?"));
    assert!(
        nested
            .body
            .get("tools")
            .is_none_or(|t| t.as_array().is_none_or(Vec::is_empty))
    );
    assert_eq!(nested.api_key(), Some(API_KEY), "the host injected the key");
    // What the tool got back (and so the model saw) has the key redacted.
    let last = &seen[2].body_text;
    assert!(
        last.contains("42 (and the key is [REDACTED:openai_api_key])"),
        "{last}"
    );
    assert!(!last.contains(API_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_of_llm_the_grant_leaves_out_is_denied() {
    let (fake, home) = home().await;
    fake.push(Scripted::tool_call("embed", json!({"text": "hello"})));
    fake.push(Scripted::text("Embedding was refused."));
    let chat = home.chat("embed hello", &[]).await.expect_ok();
    assert_eq!(chat.text(), "Embedding was refused.");
    let seen = fake.requests();
    assert_eq!(seen.len(), 2, "no embedding request reached the provider");
    assert!(
        seen[1].body_text.contains("llm: `embed` is not granted"),
        "{}",
        seen[1].body_text
    );
}
