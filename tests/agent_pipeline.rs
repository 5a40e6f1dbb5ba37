//! The agent's pipeline points (DESIGN §6) with real filter and hook
//! components from tests/fixtures, through `ironclaw chat` against a
//! loopback fake OpenAI: a blocked message never reaches the model, an
//! answer is redacted, a trapping filter fails closed, filters run in the
//! owner's order, a hook tags inbound text and counts sessions, rejects a
//! tool call (the tool never runs) or rewrites its parameters, a tool's
//! output is blocked before the model sees it, and a trapping hook is
//! skipped.

mod support;

use serde_json::json;
use support::agent::AgentHome;
use support::fake_llm::{FakeLlm, Provider, RecordedRequest, Scripted};

const MODEL: &str = "gpt-4o-mini";

/// A home whose config loads `fixtures` and adds `rest` (settings, `[agent]`).
async fn home_with(fixtures: &[(&str, &str)], rest: &str) -> (FakeLlm, AgentHome) {
    let fake = FakeLlm::start(Provider::OpenAi).await;
    let config = format!(
        "{}[components]\npaths = [\"{}\"]\n\n{rest}",
        AgentHome::llm_section(&fake, MODEL, ""),
        support::agent::fixtures_only(fixtures).display()
    );
    (fake, AgentHome::new(&config, "OPENAI_API_KEY"))
}

/// The contents of the request's messages with `role`, in order.
fn contents(request: &RecordedRequest, role: &str) -> Vec<String> {
    request.body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["role"] == role)
                .filter_map(|m| m["content"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const WORDS: &str =
    "[components.settings.word-filter]\nblock = \"forbidden\"\nredact = \"pineapple\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_message_never_reaches_the_model_and_the_reply_names_the_filter() {
    let (fake, home) = home_with(&[("word-filter", "word-filter")], WORDS).await;
    let chat = home
        .chat("tell me the forbidden recipe", &[])
        .await
        .expect_ok();
    assert!(
        chat.text()
            .contains("blocked by safety filter `word-filter`: the text contains `forbidden`"),
        "{}",
        chat.text()
    );
    assert!(fake.requests().is_empty(), "nothing was sent to the model");
    // Nor was it kept: the next turn's history does not carry it.
    fake.push(Scripted::text("hello"));
    home.chat("hello", &[]).await.expect_ok();
    let seen = fake.requests().pop().expect("one request");
    assert_eq!(contents(&seen, "user"), ["hello"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_answer_is_redacted_before_it_is_shown_or_kept() {
    let (fake, home) = home_with(&[("word-filter", "word-filter")], WORDS).await;
    fake.push(Scripted::text("I love pineapple on pizza."));
    let chat = home.chat("what do you like?", &[]).await.expect_ok();
    assert_eq!(chat.text(), "I love [redacted] on pizza.");
    home.chat("and then?", &[]).await.expect_ok();
    let seen = fake.requests().pop().expect("a request").body_text;
    assert!(
        seen.contains("I love [redacted] on pizza.") && !seen.contains("pineapple"),
        "the stored answer is the redacted one: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_filter_fails_closed_and_is_reported() {
    let (fake, home) = home_with(&[("trap-filter", "trap-filter")], "").await;
    let chat = home.chat("an innocent question", &[]).await.expect_ok();
    assert!(
        chat.text()
            .contains("safety filter `trap-filter` failed, and a failing filter blocks"),
        "{}",
        chat.text()
    );
    assert!(
        chat.text().contains("trap-filter fixture panic"),
        "the cause is reported: {}",
        chat.text()
    );
    assert!(
        chat.stderr.contains("safety filter failed"),
        "{}",
        chat.stderr
    );
    assert!(fake.requests().is_empty(), "nothing was sent to the model");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_run_in_the_owners_order_then_by_name() {
    // `a` turns apple into pear, `b` turns pear into plum: the order
    // decides whether the answer ends as plum (a then b) or pear (b then a).
    let settings = "[components.settings.a]\nredact = \"apple\"\nredact-with = \"pear\"\n\
                    [components.settings.b]\nredact = \"pear\"\nredact-with = \"plum\"\n";
    let fixtures = [("word-filter", "a"), ("word-filter", "b")];
    let (fake, home) = home_with(&fixtures, settings).await;
    fake.push(Scripted::text("an apple"));
    let by_name = home.chat("fruit?", &[]).await.expect_ok();
    assert_eq!(by_name.text(), "an plum", "by name: a, then b");

    let ordered = format!("{settings}\n[safety]\norder = [\"b\"]\n");
    let (fake, home) = home_with(&fixtures, &ordered).await;
    fake.push(Scripted::text("an apple"));
    let chat = home.chat("fruit?", &[]).await.expect_ok();
    assert_eq!(chat.text(), "an pear", "b first, as the owner ordered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_changes_inbound_text_and_hears_each_session_start_and_end_once() {
    let (fake, home) = home_with(&[("tag-hook", "tag-hook")], "").await;
    home.chat("hello", &[]).await.expect_ok();
    home.chat("again", &[]).await.expect_ok();
    home.chat("/thread new", &[]).await.expect_ok();
    home.chat("elsewhere", &[]).await.expect_ok();
    let seen: Vec<Vec<String>> = fake
        .requests()
        .iter()
        .map(|r| contents(r, "user"))
        .collect();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], ["hello [tagged sessions=1]"]);
    assert_eq!(
        seen[1],
        ["hello [tagged sessions=1]", "again [tagged sessions=1]"],
        "what was persisted is the tagged text"
    );
    assert_eq!(
        seen[2],
        ["elsewhere [tagged sessions=2 ended=1]"],
        "a new thread ends the old session and starts a new one"
    );
    // `/clear` ends the current session; the next message starts one.
    home.chat("/clear", &[]).await.expect_ok();
    home.chat("fresh", &[]).await.expect_ok();
    let last = fake.requests().pop().expect("a request");
    assert_eq!(
        contents(&last, "user").last().map(String::as_str),
        Some("fresh [tagged sessions=3 ended=2]")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_rejects_a_tool_call_which_never_runs() {
    let (fake, home) = home_with(
        &[("tag-hook", "tag-hook")],
        "[components.settings.tag-hook]\nreject-tool = \"memory_write\"\n",
    )
    .await;
    fake.push(Scripted::tool_call(
        "memory_write",
        json!({"path": "notes/hooked.md", "content": "should not exist"}),
    ));
    fake.push(Scripted::text("I could not write it."));
    let chat = home.chat("write a note", &[]).await.expect_ok();
    assert_eq!(chat.text(), "I could not write it.");
    assert_eq!(chat.reply["tool_calls"], 0, "no tool ran");
    let last = fake.requests().pop().expect("the second request");
    let tool = contents(&last, "tool");
    assert_eq!(tool.len(), 1, "{tool:?}");
    assert!(
        tool[0].contains("rejected by hook `tag-hook`: tool `memory_write` is off limits"),
        "{tool:?}"
    );
    let read = home
        .command(&["memory", "read", "notes/hooked.md"])
        .output()
        .expect("memory read");
    assert!(
        !String::from_utf8_lossy(&read.stdout).contains("should not exist"),
        "the note was never written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_rewrites_tool_parameters() {
    let (fake, home) = home_with(
        &[("tag-hook", "tag-hook")],
        "[components.settings.tag-hook]\nrewrite-text = \"rewritten by the hook\"\n",
    )
    .await;
    fake.push(Scripted::tool_call("echo", json!({"text": "original"})));
    fake.push(Scripted::text("done"));
    let chat = home.chat("echo something", &[]).await.expect_ok();
    assert_eq!(chat.reply["tool_calls"], 1);
    // The tool ran with the hook's parameters, not the model's.
    let last = fake.requests().pop().expect("the second request");
    let tool = contents(&last, "tool");
    assert_eq!(tool.len(), 1, "{tool:?}");
    assert!(tool[0].contains("rewritten by the hook"), "{tool:?}");
    assert!(!tool[0].contains("original"), "{tool:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_output_is_blocked_before_the_model_sees_it() {
    let (fake, home) = home_with(&[("word-filter", "word-filter")], WORDS).await;
    // The model asks for the word; echo returns it; the filter stops it.
    fake.push(Scripted::tool_call(
        "echo",
        json!({"text": "the forbidden word"}),
    ));
    fake.push(Scripted::text("The tool's answer was blocked."));
    let chat = home.chat("echo a word for me", &[]).await.expect_ok();
    assert_eq!(chat.text(), "The tool's answer was blocked.");
    let last = fake.requests().pop().expect("the second request");
    let tool = contents(&last, "tool");
    assert_eq!(tool.len(), 1, "{tool:?}");
    assert!(
        tool[0].starts_with("<tool_output name=\"echo\" status=\"error\">"),
        "still wrapped by the floor, as an error: {tool:?}"
    );
    assert!(
        tool[0].contains("blocked by safety filter `word-filter`: the text contains `forbidden`"),
        "{tool:?}"
    );
    assert!(!tool[0].contains("the forbidden word"), "{tool:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_hook_is_reported_and_skipped() {
    let (fake, home) = home_with(&[("trap-hook", "trap-hook"), ("tag-hook", "tag-hook")], "").await;
    let chat = home.chat("hello", &[]).await.expect_ok();
    assert_eq!(chat.kind(), "answer");
    assert!(chat.stderr.contains("hook failed"), "{}", chat.stderr);
    assert!(chat.stderr.contains("trap-hook"), "{}", chat.stderr);
    let seen = fake.requests().pop().expect("a request");
    assert_eq!(
        contents(&seen, "user"),
        ["hello [tagged sessions=1]"],
        "the next hook still ran"
    );
}
