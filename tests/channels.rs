//! The channel host with a hostile channel (`tests/fixtures/trap-channel`)
//! through the real `ironclaw run`: a trap while handling a webhook and a
//! trap while delivering an answer lose nothing — the host keeps both,
//! retries, answers once — and `ironclaw status` reports what happened.
//! Forged and replayed requests run nothing.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::agent::{AgentHome, fixtures_only};
use support::channel_host::{ChannelHost, set_secret};
use support::fake_llm::{FakeLlm, Provider, Scripted};
use support::http_server::{Reply, TestServer};

const SECRET: &str = "trap-channel-shared-secret-1234";

async fn setup() -> (FakeLlm, TestServer, AgentHome) {
    let fake = FakeLlm::start(Provider::OpenAi).await;
    let sink = TestServer::start(|_| Reply::Full(200, vec![], b"{}".to_vec())).await;
    let dir = fixtures_only(&[("trap-channel", "trap-channel")]);
    let config = format!(
        "{}\n[components]\npaths = [\"{}\"]\n\n[gateway]\nlisten = \"127.0.0.1:0\"\n\n\
         [channels.trap-channel]\napi-base-url = \"{}\"\nunknown-users = \"open\"\n",
        AgentHome::llm_section(&fake, "gpt-4o-mini", ""),
        dir.display(),
        sink.url(""),
    );
    let home = AgentHome::new(&config, "OPENAI_API_KEY");
    set_secret(&home, "trap_channel_secret", SECRET);
    (fake, sink, home)
}

fn answers(sink: &TestServer) -> Vec<Value> {
    sink.seen()
        .iter()
        .filter(|s| s.target == "/answers")
        .map(|s| serde_json::from_slice(&s.body).expect("answer JSON"))
        .collect()
}

fn status(home: &AgentHome) -> Value {
    let out = home
        .command(&["status", "--json"])
        .output()
        .expect("ironclaw status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

fn channel<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["channel"] == name)
        .unwrap_or_else(|| panic!("{name} in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_lose_nothing_are_retried_once_and_are_reported() {
    let (fake, sink, home) = setup().await;
    fake.push(Scripted::text("the first answer"));
    fake.push(Scripted::text("trap-respond: the second answer"));
    let host = tokio::task::spawn_blocking({
        let home = AgentHome {
            root: home.root.clone(),
            env: home.env.clone(),
        };
        move || ChannelHost::start(&home)
    })
    .await
    .unwrap();
    let secret = [("X-Test-Secret", SECRET)];

    // Forged: nothing runs.
    let forged = host.post_json(
        "/webhook/trap-channel",
        &[("X-Test-Secret", "not-the-secret")],
        r#"{"id":"f1","user":"u1","text":"hello"}"#,
    );
    assert_eq!(forged.status, 401, "{forged:?}");
    let unsigned = host.post_json(
        "/webhook/trap-channel",
        &[],
        r#"{"id":"f2","user":"u1","text":"x"}"#,
    );
    assert_eq!(unsigned.status, 401);

    // The component traps on the first delivery: the request is kept, the
    // provider still gets 200 (so it does not resend), and the host
    // redelivers it.
    let first = host.post_json(
        "/webhook/trap-channel",
        &secret,
        r#"{"id":"m1","user":"u1","text":"please trap-http"}"#,
    );
    assert_eq!(first.status, 200, "{first:?}");
    host.wait_for("the first answer at the sink", || {
        answers(&sink)
            .iter()
            .any(|a| a["text"] == "the first answer")
    });
    assert_eq!(answers(&sink)[0]["reply_to"], "m1");

    // The answer's delivery traps once; the host delivers it again.
    let second = host.post_json(
        "/webhook/trap-channel",
        &secret,
        r#"{"id":"m2","user":"u1","text":"hello again"}"#,
    );
    assert_eq!(second.status, 200);
    assert_eq!(second.body, "ok");
    host.wait_for("the second answer at the sink", || {
        answers(&sink).len() == 2
    });

    // A replayed event is acknowledged and runs nothing.
    let replay = host.post_json(
        "/webhook/trap-channel",
        &secret,
        r#"{"id":"m2","user":"u1","text":"hello again"}"#,
    );
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, "");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.requests().len(), 2, "one model call per message");
    let all = answers(&sink);
    assert_eq!(all.len(), 2, "each answer exactly once: {all:?}");
    assert_eq!(all[1]["text"], "trap-respond: the second answer");
    assert_eq!(all[1]["reply_to"], "m2");

    // The owner sees all of it.
    let s = status(&home);
    assert_eq!(s["running"], true, "{s}");
    let c = channel(&s, "trap-channel");
    assert_eq!(c["configured"], true);
    assert!(
        c["last_inbound_at"].is_i64() && c["last_outbound_at"].is_i64(),
        "{c}"
    );
    assert_eq!(c["pending"], 0, "{c}");
    assert_eq!(c["failed"], 0, "{c}");
    let log = host.stop();
    assert!(
        log.contains("on-http-request failed") && log.contains("kept for another attempt"),
        "the webhook trap is reported:\n{log}"
    );
    assert!(
        log.contains("on-respond failed"),
        "the delivery trap is reported:\n{log}"
    );
    let after = status(&home);
    assert_eq!(after["running"], false);
    let c = channel(&after, "trap-channel");
    let last = c["last_error"].as_str().unwrap_or_default();
    assert!(
        last.contains("on-respond failed") || last.contains("refused a webhook"),
        "{c}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_channel_that_is_not_installed_says_so() {
    let fake = FakeLlm::start(Provider::OpenAi).await;
    let config = format!(
        "{}\n[channels.nonesuch]\nunknown-users = \"ignore\"\n",
        AgentHome::llm_section(&fake, "gpt-4o-mini", "")
    );
    let home = AgentHome::new(&config, "OPENAI_API_KEY");
    let s = status(&home);
    let c = channel(&s, "nonesuch");
    assert_eq!(c["configured"], true);
    assert_eq!(c["installed"], Value::Null);
    let text = home.command(&["status"]).output().expect("status");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("nonesuch: configured but NOT installed"),
        "{text}"
    );
    // A bad policy value is a clear configuration error.
    std::fs::write(
        home.root.join("config.toml"),
        "[channels.nonesuch]\nunknown-users = \"maybe\"\n",
    )
    .unwrap();
    let out = home.command(&["status"]).output().expect("status");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("channels.nonesuch.unknown-users"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_secret_in_an_inbound_message_never_reaches_the_model() {
    let (fake, sink, home) = setup().await;
    let value = "correct-horse-battery-staple-9f8e7d6c";
    set_secret(&home, "door_code", value);
    fake.push(Scripted::text("noted"));
    let host = tokio::task::spawn_blocking({
        let home = AgentHome {
            root: home.root.clone(),
            env: home.env.clone(),
        };
        move || ChannelHost::start(&home)
    })
    .await
    .unwrap();
    let body = format!(r#"{{"id":"s1","user":"u1","text":"my token is {value} keep it"}}"#);
    let r = host.post_json("/webhook/trap-channel", &[("X-Test-Secret", SECRET)], &body);
    assert_eq!(r.status, 200, "{r:?}");
    host.wait_for("the answer", || !answers(&sink).is_empty());
    let requests = fake.requests();
    assert_eq!(
        requests.len(),
        1,
        "answers: {:?}\nhost:\n{}",
        answers(&sink),
        host.stderr()
    );
    let sent = &requests[0].body_text;
    assert!(
        !sent.contains(value),
        "the secret reached the model: {sent}"
    );
    assert!(sent.contains("REDACTED"), "{sent}");
    assert!(
        sent.contains("keep it"),
        "the rest of the message is kept: {sent}"
    );
    drop(host);
    let db = home.database();
    let wal = db.with_extension("db-wal");
    for file in [&db, &wal] {
        assert!(
            !support::agent::file_contains(file, value),
            "the secret is not stored in clear in {}",
            file.display()
        );
    }
}
