//! The Slack channel component end to end: the real `ironclaw run` with the
//! real built `slack` component, a loopback fake of Slack's Web API
//! (tests/support/fake_slack.rs) and a fake OpenAI behind the real openai
//! adapter. Events signed as Slack signs them; the host verifies, dedupes
//! and runs the turn; the reply is captured by the fake's chat.postMessage.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::channel_run::{ChannelRun, WAIT};
use support::fake_llm::Scripted;
use support::fake_slack::{BOT_USER_ID, FakeSlack};
use support::loopback;

const BOT_TOKEN: &str = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";
const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn start(settings: &str) -> (FakeSlack, ChannelRun) {
    let slack = FakeSlack::start(BOT_TOKEN).await;
    let settings = format!("api-base-url = \"{}\"\n{settings}", slack.api_base());
    let run = ChannelRun::start(
        "slack",
        &settings,
        &[
            ("slack_bot_token", BOT_TOKEN),
            ("slack_signing_secret", SIGNING_SECRET),
        ],
    )
    .await;
    (slack, run)
}

async fn deliver(run: &ChannelRun, body: &Value, extra: &[(&str, &str)]) -> loopback::Reply {
    FakeSlack::deliver(
        &run.url(),
        SIGNING_SECRET,
        body.to_string().as_bytes(),
        extra,
    )
    .await
}

async fn wait_posts(slack: &FakeSlack, run: &ChannelRun, n: usize) -> Vec<Value> {
    let posts = slack.wait_posts(n, WAIT).await;
    assert!(
        posts.len() >= n,
        "{n} chat.postMessage not seen: {posts:#?}\ncalls: {:#?}\nhost log:\n{}",
        slack.calls(),
        run.log()
    );
    posts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_is_answered_once_in_its_thread() {
    let (slack, run) = start("").await;
    // The channel learned who it is at start.
    assert!(slack.calls().iter().any(|c| c.path() == "/api/auth.test"));

    // Slack's URL check when the Request URL is saved.
    let r = deliver(
        &run,
        &FakeSlack::url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    // One post in a channel arrives as `message` and `app_mention`, under
    // two event ids; it runs once.
    run.llm.push(Scripted::text("It is sunny & warm <today>."));
    let text = format!("<@{BOT_USER_ID}> what is the weather?");
    let ts = "1700000100.000200";
    let mention = FakeSlack::app_mention("Ev0MENTION1", "C0GENERAL1", "U0ADA12345", &text, ts);
    let message = FakeSlack::message(
        "Ev0MESSAGE1",
        "C0GENERAL1",
        "U0ADA12345",
        &text,
        ts,
        "channel",
    );
    assert_eq!(deliver(&run, &mention, &[]).await.status, 200);
    assert_eq!(deliver(&run, &message, &[]).await.status, 200);

    let posts = wait_posts(&slack, &run, 1).await;
    assert_eq!(posts[0]["channel"], "C0GENERAL1");
    assert_eq!(posts[0]["thread_ts"], ts, "answered in the post's thread");
    // Slack's three escapes, so the model's text cannot ping or link.
    assert_eq!(posts[0]["text"], "It is sunny &amp; warm &lt;today&gt;.");
    assert_eq!(
        run.last_user_text(),
        "what is the weather?",
        "the mention is stripped"
    );
    run.assert_model_calls(1, "message + app_mention of one post")
        .await;
    assert_eq!(slack.posts().len(), 1);

    // Slack retries a delivery it thinks failed with the same event_id.
    let r = deliver(
        &run,
        &mention,
        &[
            ("X-Slack-Retry-Num", "1"),
            ("X-Slack-Retry-Reason", "http_timeout"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    run.assert_model_calls(1, "a retried event").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_are_answered_top_level_and_bots_are_ignored() {
    let (slack, run) = start("").await;
    run.llm.push(Scripted::text("Hello Ada."));
    let dm = FakeSlack::message(
        "Ev0DM00001",
        "D0ADA00001",
        "U0ADA12345",
        "hello there",
        "1700000200.000100",
        "im",
    );
    assert_eq!(deliver(&run, &dm, &[]).await.status, 200);
    let posts = wait_posts(&slack, &run, 1).await;
    assert_eq!(posts[0]["channel"], "D0ADA00001");
    assert_eq!(posts[0]["text"], "Hello Ada.");
    assert!(
        posts[0].get("thread_ts").is_none(),
        "a DM is one running conversation: {}",
        posts[0]
    );

    // The bot's own post echoed back, another bot, and an edit: nothing runs.
    let mut own = FakeSlack::message(
        "Ev0OWN0001",
        "D0ADA00001",
        BOT_USER_ID,
        "Hello Ada.",
        "1700000201.000100",
        "im",
    );
    own["event"]["bot_id"] = "B0BOT12345".into();
    let mut other_bot = FakeSlack::message(
        "Ev0BOT0001",
        "D0ADA00001",
        "U0OTHER001",
        "beep",
        "1700000202.000100",
        "im",
    );
    other_bot["event"]["subtype"] = "bot_message".into();
    other_bot["event"]["bot_id"] = "B0OTHER001".into();
    let mut edit = FakeSlack::message(
        "Ev0EDIT001",
        "D0ADA00001",
        "U0ADA12345",
        "x",
        "1700000203.000100",
        "im",
    );
    edit["event"]["subtype"] = "message_changed".into();
    for body in [own, other_bot, edit] {
        assert_eq!(deliver(&run, &body, &[]).await.status, 200);
    }
    run.assert_model_calls(1, "bots and edits").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_oversized_and_malformed_requests_are_refused() {
    let (slack, run) = start("").await;
    let body = FakeSlack::app_mention(
        "Ev0EVIL001",
        "C0GENERAL1",
        "U0EVE00001",
        &format!("<@{BOT_USER_ID}> hi"),
        "1700000300.000100",
    );
    let bytes = body.to_string().into_bytes();
    let now = loopback::unix_now().to_string();

    let forged = FakeSlack::signature("not-the-secret", &now, &bytes);
    let r = FakeSlack::deliver_signed(&run.url(), &now, &forged, &bytes, &[]).await;
    assert_eq!(r.status, 401, "forged signature: {}", r.text());

    let old = (loopback::unix_now() - 600).to_string();
    let stale = FakeSlack::signature(SIGNING_SECRET, &old, &bytes);
    let r = FakeSlack::deliver_signed(&run.url(), &old, &stale, &bytes, &[]).await;
    assert_eq!(r.status, 401, "stale timestamp: {}", r.text());

    // Signed for one body, sent with another.
    let good = FakeSlack::signature(SIGNING_SECRET, &now, &bytes);
    let tampered = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("hi", "rm -rf");
    let r = FakeSlack::deliver_signed(&run.url(), &now, &good, tampered.as_bytes(), &[]).await;
    assert_eq!(r.status, 401, "tampered body: {}", r.text());

    let r = loopback::send(
        "POST",
        &run.url(),
        &[("content-type", "application/json")],
        &bytes,
    )
    .await;
    assert_eq!(r.status, 401, "no signature: {}", r.text());

    let mut big = body.clone();
    big["event"]["text"] = "x".repeat(1024 * 1024 + 16).into();
    let r = FakeSlack::deliver(&run.url(), SIGNING_SECRET, big.to_string().as_bytes(), &[]).await;
    assert_eq!(r.status, 413, "over 1 MiB: {}", r.text());

    let r = FakeSlack::deliver(
        &run.url(),
        SIGNING_SECRET,
        b"{\"type\": \"event_callback\", ",
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "malformed JSON: {}", r.text());

    let no_event = serde_json::json!({"type": "event_callback", "event_id": "Ev0NOEVENT"});
    let r = deliver(&run, &no_event, &[]).await;
    assert_eq!(r.status, 400, "event_callback without event: {}", r.text());
    assert!(r.text().contains("event"), "{}", r.text());

    run.assert_model_calls(0, "refused requests").await;
    assert!(slack.posts().is_empty());

    // The same event, properly signed, still runs: nothing above was
    // recorded as seen.
    run.llm.push(Scripted::text("hi Eve"));
    assert_eq!(deliver(&run, &body, &[]).await.status, 200);
    let posts = wait_posts(&slack, &run, 1).await;
    assert_eq!(posts[0]["text"], "hi Eve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reply_is_split_and_a_rate_limit_resumes_without_repeats() {
    let (slack, run) = start("").await;
    let paragraphs: Vec<String> = (0..3)
        .map(|p| {
            format!(
                "Paragraph {p}: {}",
                "lorem ipsum dolor sit amet ".repeat(120).trim_end()
            )
        })
        .collect();
    let answer = paragraphs.join("\n\n");
    assert!(answer.chars().count() > 8000);
    run.llm.push(Scripted::text(answer.clone()));
    // The first part goes out; the second is rate limited once (429,
    // Retry-After: 1); the retried delivery sends the rest only.
    slack.rate_limit_after(1, 1);
    let ts = "1700000400.000100";
    let body = FakeSlack::app_mention(
        "Ev0LONG001",
        "C0GENERAL1",
        "U0ADA12345",
        &format!("<@{BOT_USER_ID}> essay please"),
        ts,
    );
    assert_eq!(deliver(&run, &body, &[]).await.status, 200);

    let posts = wait_posts(&slack, &run, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let posts_after = slack.posts();
    assert_eq!(posts_after.len(), 3, "no part sent twice: {posts_after:#?}");
    let texts: Vec<&str> = posts
        .iter()
        .map(|p| p["text"].as_str().unwrap_or(""))
        .collect();
    assert!(
        texts.iter().all(|t| t.chars().count() <= 4000),
        "each part within 4000 characters"
    );
    assert_eq!(
        texts,
        paragraphs.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(posts.iter().all(|p| p["thread_ts"] == ts));
    let refused = slack
        .calls()
        .iter()
        .filter(|c| c.path() == "/api/chat.postMessage")
        .count()
        - 3;
    assert_eq!(refused, 1, "one 429, then retried");
}
