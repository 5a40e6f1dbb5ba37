//! The generic webhook channel end to end: the real `ironclaw run` with the
//! real built `webhook` component, signed JSON in, and a loopback callback
//! sink (tests/support/webhook_sink.rs) that checks the host's signature
//! on what the channel posts back.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::channel_run::{ChannelRun, WAIT};
use support::fake_llm::Scripted;
use support::loopback;
use support::webhook_sink::WebhookSink;

const SECRET: &str = "whsec-inbound-0123456789abcdef";
const CALLBACK_SECRET: &str = "whsec-callback-fedcba9876543210";

async fn start(settings: &str) -> (WebhookSink, ChannelRun) {
    let sink = WebhookSink::start(CALLBACK_SECRET).await;
    let settings = format!("callback-url = \"{}\"\n{settings}", sink.url());
    let run = ChannelRun::start(
        "webhook",
        &settings,
        &[
            ("webhook_secret", SECRET),
            ("webhook_callback_secret", CALLBACK_SECRET),
        ],
    )
    .await;
    (sink, run)
}

async fn send(run: &ChannelRun, body: &Value) -> loopback::Reply {
    WebhookSink::send(&run.url(), SECRET, body.to_string().as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_comes_in_the_response_and_a_replay_runs_nothing() {
    let (sink, run) = start("reply = \"response\"\n").await;
    run.llm.push(Scripted::text("The door is locked."));
    let body = json!({"id": "evt-0001", "user": "home-assistant", "text": "Is the front door locked?", "thread": "doors"});
    let r = send(&run, &body).await;
    assert_eq!(r.status, 200, "{}\nhost log:\n{}", r.text(), run.log());
    assert_eq!(
        r.json(),
        json!({"id": "evt-0001", "reply": "The door is locked."})
    );
    assert_eq!(run.last_user_text(), "Is the front door locked?");

    let r = send(&run, &body).await;
    assert_eq!(r.status, 200, "a replayed id is acknowledged: {}", r.text());
    run.assert_model_calls(1, "a replayed id").await;
    assert!(sink.received().is_empty(), "nothing went to the callback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_the_agent() {
    let (_sink, run) = start("").await;
    let body = json!({"id": "evt-0100", "user": "eve", "text": "hello"});
    let bytes = body.to_string().into_bytes();
    let now = loopback::unix_now().to_string();

    let forged = WebhookSink::signature("wrong", &now, &bytes);
    assert_eq!(
        WebhookSink::send_signed(&run.url(), &now, &forged, &bytes)
            .await
            .status,
        401
    );
    let old = (loopback::unix_now() - 301 - 5).to_string();
    let stale = WebhookSink::signature(SECRET, &old, &bytes);
    assert_eq!(
        WebhookSink::send_signed(&run.url(), &old, &stale, &bytes)
            .await
            .status,
        401
    );
    let r = loopback::send(
        "POST",
        &run.url(),
        &[("content-type", "application/json")],
        &bytes,
    )
    .await;
    assert_eq!(r.status, 401);

    let big = json!({"id": "evt-0101", "user": "eve", "text": "x".repeat(1024 * 1024 + 1)});
    assert_eq!(send(&run, &big).await.status, 413);

    let r = WebhookSink::send(&run.url(), SECRET, b"{\"id\": \"evt-0102\", \"user\": ").await;
    assert_eq!(r.status, 400, "malformed JSON: {}", r.text());
    for (body, says) in [
        (json!({"id": "evt-0103", "user": "eve"}), "missing `text`"),
        (json!({"id": "evt-0104", "text": "hi"}), "missing `user`"),
        (
            json!({"id": "evt-0105", "user": "eve", "text": 42}),
            "`text` must be a string",
        ),
        (
            json!({"id": "evt-0106", "user": "eve", "text": "hi", "thread": []}),
            "`thread` must be a string",
        ),
    ] {
        let r = send(&run, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json()["error"], says, "{body}");
    }
    run.assert_model_calls(0, "refused requests").await;

    run.llm.push(Scripted::text("hi Eve"));
    let r = send(&run, &body).await;
    assert_eq!(
        (r.status, r.json()["reply"].clone()),
        (200, json!("hi Eve"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_mode_posts_the_answer_signed_by_the_host() {
    let (sink, run) = start("reply = \"callback\"\n").await;
    run.llm.push(Scripted::text("Lights are off."));
    let r = send(&run, &json!({"id": "evt-0200", "user": "hub", "text": "Turn off the lights", "thread": "living-room"})).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["queued"], true);

    let got = sink.wait(1, WAIT).await;
    assert_eq!(got.len(), 1, "no callback\nhost log:\n{}", run.log());
    assert!(
        got[0].signature_ok,
        "the host signed {{timestamp}}.{{body}} with the callback secret: {:?}",
        got[0].request
    );
    assert_eq!(
        got[0].body,
        json!({"id": "evt-0200", "user": "hub", "thread": "living-room", "text": "Lights are off."})
    );
    assert_eq!(got[0].request.path(), "/hooks/ironclaw");
    // The callback secret itself never travels.
    assert!(!String::from_utf8_lossy(&got[0].request.body).contains(CALLBACK_SECRET));
    assert!(
        got[0]
            .request
            .headers
            .iter()
            .all(|(_, v)| !v.contains(CALLBACK_SECRET))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_slower_than_the_wait_goes_to_the_callback() {
    let (sink, run) = start("reply = \"response\"\ntimeout-ms = 1000\n").await;
    // The model is rate limited for 3 s first: the answer outlasts the wait.
    run.llm
        .push(Scripted::status(429, Some(3), "Rate limit reached"));
    run.llm.push(Scripted::text("Sorry for the wait."));
    let r = send(
        &run,
        &json!({"id": "evt-0300", "user": "hub", "text": "status?"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json(), json!({"id": "evt-0300", "queued": true}));
    let got = sink.wait(1, WAIT).await;
    assert_eq!(got.len(), 1, "no callback\nhost log:\n{}", run.log());
    assert!(got[0].signature_ok);
    assert_eq!(got[0].body["text"], "Sorry for the wait.");
    assert_eq!(got[0].body["id"], "evt-0300");
    tokio::time::sleep(Duration::from_millis(500)).await;
}
