//! The WhatsApp channel component end to end: the real `ironclaw run` with
//! the real built `whatsapp` component, a loopback fake of the Cloud API
//! (tests/support/fake_whatsapp.rs) and a fake OpenAI behind the real
//! openai adapter. Webhooks signed as Meta signs them; the host answers
//! the subscription check and verifies; the reply is captured by the
//! fake's /{phone-number-id}/messages.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::channel_run::{ChannelRun, WAIT};
use support::fake_llm::Scripted;
use support::fake_whatsapp::{FakeWhatsApp, PHONE_NUMBER_ID};
use support::loopback;

const ACCESS_TOKEN: &str = "EAAJB0test0ACCESS0TOKEN0ZDZD0123456789abcdef";
const APP_SECRET: &str = "6f1e0c2a9b8d7e6f5a4b3c2d1e0f9a8b";
const VERIFY_TOKEN: &str = "meatyhamhock-verify-0123";
const ADA: &str = "16505551234";

async fn start() -> (FakeWhatsApp, ChannelRun) {
    let wa = FakeWhatsApp::start(ACCESS_TOKEN).await;
    let settings = format!(
        "api-base-url = \"{}\"\nphone-number-id = \"{PHONE_NUMBER_ID}\"\napi-version = \"v21.0\"\n",
        wa.api_base()
    );
    let run = ChannelRun::start(
        "whatsapp",
        &settings,
        &[
            ("whatsapp_access_token", ACCESS_TOKEN),
            ("whatsapp_app_secret", APP_SECRET),
            ("whatsapp_verify_token", VERIFY_TOKEN),
        ],
    )
    .await;
    (wa, run)
}

async fn deliver(run: &ChannelRun, body: &Value) -> loopback::Reply {
    FakeWhatsApp::deliver(&run.url(), APP_SECRET, body.to_string().as_bytes()).await
}

async fn wait_sent(wa: &FakeWhatsApp, run: &ChannelRun, n: usize) -> Vec<Value> {
    let sent = wa.wait_sent(n, WAIT).await;
    assert!(
        sent.len() >= n,
        "{n} sends not seen: {sent:#?}\ncalls: {:#?}\nhost log:\n{}",
        wa.calls(),
        run.log()
    );
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_check_and_a_text_message_round_trip() {
    let (wa, run) = start().await;

    let r = FakeWhatsApp::challenge(&run.url(), "subscribe", VERIFY_TOKEN, "1158201444").await;
    assert_eq!((r.status, r.text().as_str()), (200, "1158201444"));
    let r = FakeWhatsApp::challenge(&run.url(), "subscribe", "wrong-token", "1158201444").await;
    assert_eq!(r.status, 403, "wrong verify token: {}", r.text());
    assert!(!r.text().contains("1158201444"));

    run.llm
        .push(Scripted::text("Yes, it comes in blue and green."));
    let body = FakeWhatsApp::text(
        ADA,
        "Sheena Nelson",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "Does it come in another color?",
    );
    let r = deliver(&run, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = wait_sent(&wa, &run, 1).await;
    assert_eq!(sent[0]["messaging_product"], "whatsapp");
    assert_eq!(sent[0]["to"], ADA);
    assert_eq!(sent[0]["type"], "text");
    assert_eq!(sent[0]["text"]["body"], "Yes, it comes in blue and green.");
    let call = wa
        .calls()
        .into_iter()
        .find(|c| c.method == "POST")
        .expect("a send");
    assert_eq!(call.path(), format!("/v21.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(run.last_user_text(), "Does it come in another color?");

    // Delivery statuses of our own message are acknowledged, not answered;
    // Meta redelivering the same message runs nothing again.
    let r = deliver(
        &run,
        &FakeWhatsApp::status(ADA, "wamid.OUT000001", "delivered"),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = deliver(&run, &body).await;
    assert_eq!(r.status, 200);
    run.assert_model_calls(1, "a status and a replayed message")
        .await;
    assert_eq!(wa.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_oversized_and_malformed_webhooks_are_refused() {
    let (wa, run) = start().await;
    let body = FakeWhatsApp::text(ADA, "Eve", "wamid.EVIL0001", "hello");
    let bytes = body.to_string().into_bytes();

    let forged = FakeWhatsApp::signature("not-the-app-secret", &bytes);
    let r = FakeWhatsApp::deliver_signed(&run.url(), &forged, &bytes).await;
    assert_eq!(r.status, 401, "forged: {}", r.text());
    let r = loopback::send(
        "POST",
        &run.url(),
        &[("content-type", "application/json")],
        &bytes,
    )
    .await;
    assert_eq!(r.status, 401, "unsigned: {}", r.text());
    let sig = FakeWhatsApp::signature(APP_SECRET, &bytes);
    let tampered = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("hello", "HELLO");
    let r = FakeWhatsApp::deliver_signed(&run.url(), &sig, tampered.as_bytes()).await;
    assert_eq!(r.status, 401, "tampered: {}", r.text());

    let big = FakeWhatsApp::text(ADA, "Eve", "wamid.BIG0001", &"x".repeat(1024 * 1024 + 16));
    let r = deliver(&run, &big).await;
    assert_eq!(r.status, 413, "over 1 MiB: {}", r.text());

    let r = FakeWhatsApp::deliver(
        &run.url(),
        APP_SECRET,
        b"{\"object\": \"whatsapp_business_account\", \"entry\": [",
    )
    .await;
    assert_eq!(r.status, 400, "malformed JSON: {}", r.text());
    let r = deliver(&run, &serde_json::json!({"object": "page", "entry": []})).await;
    assert_eq!(r.status, 400, "not a WhatsApp payload: {}", r.text());
    assert!(
        r.text().contains("whatsapp_business_account"),
        "{}",
        r.text()
    );

    run.assert_model_calls(0, "refused webhooks").await;
    assert!(wa.sent().is_empty());

    run.llm.push(Scripted::text("hi Eve"));
    assert_eq!(deliver(&run, &body).await.status, 200);
    assert_eq!(wait_sent(&wa, &run, 1).await[0]["text"]["body"], "hi Eve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reply_is_split_at_4096_and_throttling_is_retried() {
    let (wa, run) = start().await;
    let answer: String = (0..1500)
        .map(|i| format!("w{i:04} "))
        .collect::<String>()
        .trim_end()
        .to_string();
    assert!(answer.chars().count() > 8192);
    run.llm.push(Scripted::text(answer.clone()));
    wa.throttle(1);
    assert_eq!(
        deliver(
            &run,
            &FakeWhatsApp::text(ADA, "Ada", "wamid.LONG0001", "a long one please")
        )
        .await
        .status,
        200
    );
    let sent = wait_sent(&wa, &run, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(wa.sent().len(), 3, "each part once");
    let bodies: Vec<&str> = sent
        .iter()
        .map(|s| s["text"]["body"].as_str().unwrap_or(""))
        .collect();
    assert!(bodies.iter().all(|b| b.chars().count() <= 4096));
    assert_eq!(bodies.join(" "), answer);
}
