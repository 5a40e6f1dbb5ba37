//! Whole turns through each real adapter component (openai, anthropic,
//! gemini) against a loopback fake of its provider, with the real echo
//! tool: the key reaches the provider only by host injection, tool results
//! go back in the provider's format wrapped as untrusted data, and the key
//! given by environment ends up in the vault, not on disk in clear.

mod support;

use serde_json::json;
use support::agent::{API_KEY, AgentHome, file_contains};
use support::fake_llm::{FakeLlm, Provider, Scripted};

async fn whole_turn_with_a_tool(provider: Provider, key_var: &str, model: &str) {
    let fake = FakeLlm::start(provider).await;
    let home = AgentHome::new(&AgentHome::llm_section(&fake, model, ""), key_var);
    fake.push(Scripted::tool_call(
        "echo",
        json!({"text": "ping from the model"}),
    ));
    fake.push(Scripted::text("The echo tool answered."));

    let chat = home.chat("please echo something", &[]).await.expect_ok();
    assert_eq!(chat.kind(), "answer", "{chat:?}");
    assert_eq!(chat.text(), "The echo tool answered.");
    assert_eq!(chat.reply["tool_calls"], 1);
    assert!(
        chat.stderr
            .contains(&format!("{key_var} stored in the vault")),
        "{}",
        chat.stderr
    );

    let seen = fake.requests();
    assert_eq!(seen.len(), 2, "one call for the tool, one for the answer");
    for r in &seen {
        // The host injected the key; the adapter never had it.
        let key = r.api_key().expect("a key on every request");
        assert_eq!(key, API_KEY, "{provider:?}");
        assert_eq!(r.model(), model);
    }
    // The second request carries the tool's result, wrapped and escaped.
    let second = &seen[1].body_text;
    assert!(second.contains("tool_output name=\\\"echo\\\""), "{second}");
    assert!(second.contains("ping from the model"), "{second}");
    // The tool was offered with its schema.
    assert!(
        seen[0].body_text.contains("\"echo\""),
        "{}",
        seen[0].body_text
    );

    // The key is in the vault, encrypted: not in the database or config.
    let db = home.database();
    for file in [
        db.clone(),
        db.with_extension("db-wal"),
        home.root.join("config.toml"),
    ] {
        assert!(
            !file_contains(&file, API_KEY),
            "{} holds the key in clear",
            file.display()
        );
    }
    // A second turn needs no environment: the vault has the key.
    let home = AgentHome {
        env: Vec::new(),
        ..home
    };
    fake.push(Scripted::text("still here"));
    let chat = home.chat("again", &[]).await.expect_ok();
    assert_eq!(chat.text(), "still here");
    let seen = fake.requests();
    assert_eq!(seen.last().and_then(|r| r.api_key()), Some(API_KEY));
    // The history went along: the first exchange is in the third request.
    assert!(seen[2].body_text.contains("please echo something"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_turn_with_a_tool_call() {
    whole_turn_with_a_tool(Provider::OpenAi, "OPENAI_API_KEY", "gpt-4o-mini").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_turn_with_a_tool_call() {
    whole_turn_with_a_tool(
        Provider::Anthropic,
        "ANTHROPIC_API_KEY",
        "claude-sonnet-4-5",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_turn_with_a_tool_call() {
    whole_turn_with_a_tool(Provider::Gemini, "GEMINI_API_KEY", "gemini-2.5-flash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_streams_to_stdout_without_json() {
    let fake = FakeLlm::start(Provider::OpenAi).await;
    let home = AgentHome::new(
        &AgentHome::llm_section(&fake, "gpt-4o-mini", ""),
        "OPENAI_API_KEY",
    );
    fake.push(Scripted::text("Streaming works in several chunks of text."));
    let mut command = home.command(&["chat", "-m", "hi"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "Streaming works in several chunks of text.");
    assert!(
        fake.requests()[0].streaming(),
        "the adapter asked to stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_llm_chat_says_how_to_configure_one() {
    let home = AgentHome::new("", "UNUSED_VARIABLE");
    let chat = home.chat("hello", &[]).await;
    assert!(!chat.ok);
    for needle in [
        "no LLM is configured",
        "[llm]",
        "LLM_BACKEND",
        "OPENAI_API_KEY",
        "secrets set",
    ] {
        assert!(chat.stderr.contains(needle), "{needle}: {}", chat.stderr);
    }
    // Commands that need no model still work.
    let chat = home.chat("/help", &[]).await.expect_ok();
    assert!(chat.text().contains("/approve always"), "{}", chat.text());
}
