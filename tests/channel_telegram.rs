//! The Telegram channel component end to end: the real `ironclaw run` with
//! the real built `telegram` component, a loopback fake of the Bot API
//! (tests/support/fake_telegram.rs) and a fake OpenAI behind the real
//! openai adapter. Webhook mode (setWebhook with the host-injected secret,
//! the secret header checked by the host, replays dropped) and poll mode
//! (getUpdates through a 409), long answers split at 4096 UTF-16 units,
//! the Markdown-to-plain fallback, forum topics and typing.

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::agent::AgentHome;
use support::fake_llm::{FakeLlm, Provider, Scripted};
use support::fake_telegram::http::{post, post_raw};
use support::fake_telegram::{BOT_USERNAME, FakeTelegram};

const MODEL: &str = "gpt-4o-mini";
const BOT_TOKEN: &str = "7000001:AAH-test_token_0123456789abcdefghijkl";
const WEBHOOK_SECRET: &str = "wh-secret-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(60);
/// The first start of a test binary compiles every bundled component.
const START: Duration = Duration::from_secs(300);

/// The host running with the telegram channel, killed on drop.
struct Running {
    llm: FakeLlm,
    tg: FakeTelegram,
    home: AgentHome,
    child: Child,
    gateway: String,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn webhook_url(&self) -> String {
        format!("{}/webhook/telegram", self.gateway)
    }

    /// What the host logged so far (for failure messages).
    fn log(&self) -> String {
        std::fs::read_to_string(self.home.root.join("run.log")).unwrap_or_default()
    }

    async fn wait_sent(&self, n: usize) -> Vec<Value> {
        match self
            .tg
            .wait_for(WAIT, |f| {
                let sent = f.sent();
                (sent.len() >= n).then_some(sent)
            })
            .await
        {
            Some(sent) => sent,
            None => panic!(
                "{n} sendMessage not seen\ncalls: {:#?}\nhost log:\n{}",
                self.tg.calls(),
                self.log()
            ),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts `ironclaw run` with `[channels.telegram]` pointed at a fake Bot
/// API; `mode` is "webhook" or "poll". Returns once the component started
/// (setWebhook or the first getUpdates reached the fake).
async fn start(mode: &str, extra: &str) -> Running {
    let running = launch(mode, extra, true).await;
    let ready_method = if mode == "webhook" {
        "setWebhook"
    } else {
        "getUpdates"
    };
    let ready = running
        .tg
        .wait_for(START, |f| {
            (!f.calls_of(ready_method).is_empty()).then_some(())
        })
        .await;
    assert!(
        ready.is_some(),
        "{ready_method} never reached the fake\ncalls: {:#?}\nhost log:\n{}",
        running.tg.calls(),
        running.log()
    );
    if mode == "webhook" {
        wait_listening(running.port).await;
    }
    running
}

/// The host with no Telegram secret in its vault, not waited for.
async fn start_without_secrets(mode: &str) -> Running {
    launch(mode, "", false).await
}

async fn launch(mode: &str, extra: &str, with_secrets: bool) -> Running {
    warm_cache();
    let llm = FakeLlm::start(Provider::OpenAi).await;
    let tg = FakeTelegram::start(BOT_TOKEN).await;
    let port = free_port();
    let gateway = format!("http://127.0.0.1:{port}");
    let config = format!(
        "{llm}\n[gateway]\nlisten = \"127.0.0.1:{port}\"\n\n[channels.telegram]\napi-base-url = \"{api}\"\nmode = \"{mode}\"\nwebhook-url = \"{gateway}/webhook/telegram\"\npoll-timeout-secs = 2\n{policy}{extra}\n",
        llm = AgentHome::llm_section(&llm, MODEL, ""),
        api = tg.base_url(),
        // Anyone may talk unless the test sets the policy itself.
        policy = if extra.contains("unknown-users") {
            ""
        } else {
            "unknown-users = \"open\"\n"
        },
    );
    let home = AgentHome::new(&config, "OPENAI_API_KEY");
    if with_secrets {
        for (name, value) in [
            ("telegram_bot_token", BOT_TOKEN),
            ("telegram_webhook_secret", WEBHOOK_SECRET),
        ] {
            set_secret(&home, name, value);
        }
    }
    let log = std::fs::File::create(home.root.join("run.log")).expect("log file");
    let child = home
        .command(&["run"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start ironclaw run");
    Running {
        llm,
        tg,
        home,
        child,
        gateway,
        port,
    }
}

/// Compiles the bundled components into the test binary's shared cache
/// once (`ironclaw run --check`), so the tests' hosts, started in
/// parallel, do not each compile everything at the same time.
fn warm_cache() {
    static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    tokio::task::block_in_place(|| {
        WARM.get_or_init(|| {
            let out = AgentHome::new("", "OPENAI_API_KEY")
                .command(&["run", "--check"])
                .stdin(Stdio::null())
                .output()
                .expect("ironclaw run --check");
            assert!(
                out.status.success(),
                "run --check: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        })
    });
}

fn set_secret(home: &AgentHome, name: &str, value: &str) {
    use std::io::Write;
    let mut child = home
        .command(&["secrets", "set", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("secrets set");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(value.as_bytes())
        .expect("write secret");
    let out = child.wait_with_output().expect("secrets set output");
    assert!(
        out.status.success(),
        "secrets set {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn wait_listening(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway never listened on {port}");
}

/// A group message in a forum topic that @mentions the bot.
fn topic_mention(update_id: i64, message_id: i64, thread: i64, text: &str) -> Value {
    let full = format!("@{BOT_USERNAME} {text}");
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "message_thread_id": thread,
            "is_topic_message": true,
            "from": {"id": 4242, "is_bot": false, "first_name": "Ada", "username": "ada"},
            "chat": {"id": -1001234567890_i64, "title": "Team", "type": "supergroup", "is_forum": true},
            "date": 1_700_000_000,
            "text": full,
            "entities": [{"type": "mention", "offset": 0, "length": BOT_USERNAME.len() + 1}]
        }
    })
}

fn dm(update_id: i64, message_id: i64, text: &str) -> Value {
    let mut u = FakeTelegram::private_text(4242, text);
    u["update_id"] = json!(update_id);
    u["message"]["message_id"] = json!(message_id);
    u
}

/// The user text the fake model was last asked about.
fn last_user_text(llm: &FakeLlm) -> String {
    llm.requests()
        .iter()
        .rev()
        .filter_map(|r| r.body["messages"].as_array().cloned())
        .flat_map(|m| m.into_iter().rev())
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_update_is_answered_through_the_agent() {
    let host = start("webhook", "").await;
    // setWebhook: the token in the path and the secret in the query were
    // put there by the host; the component holds neither.
    let hook = host.tg.webhook().expect("webhook registered");
    assert_eq!(hook.url, host.webhook_url());
    assert_eq!(hook.secret_token.as_deref(), Some(WEBHOOK_SECRET));
    assert_eq!(hook.allowed_updates, Some(json!(["message"])));
    let path = host.tg.calls_of("setWebhook")[0].path.replace("%3A", ":");
    assert_eq!(path, format!("/bot{BOT_TOKEN}/setWebhook"));

    host.llm.push(Scripted::text("Hello Ada, it is noon."));
    let status = host
        .tg
        .deliver_webhook(&dm(900_001, 31, "what time is it?"))
        .await;
    assert_eq!(status, 200);
    let sent = host.wait_sent(1).await;
    assert_eq!(sent[0]["chat_id"], 4242);
    assert_eq!(sent[0]["text"], "Hello Ada, it is noon.");
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 31);
    assert_eq!(last_user_text(&host.llm), "what time is it?");
    let typing = host.tg.calls_of("sendChatAction");
    assert!(
        typing
            .iter()
            .any(|c| c.params["action"] == "typing" && c.params["chat_id"] == 4242),
        "typing shown while thinking: {typing:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_missing_secret_is_refused_and_nothing_runs() {
    let host = start("webhook", "").await;
    let url = host.webhook_url();
    let update = dm(900_010, 40, "forged");
    assert_eq!(post(&url, &update, Some("not-the-secret")).await, 401);
    assert_eq!(post(&url, &update, None).await, 401);
    assert_eq!(post_raw(&url, b"{not json", Some("wrong")).await, 401);
    // The genuine one afterwards still runs, once: the forged ones were
    // never recorded under its update_id.
    host.llm.push(Scripted::text("genuine"));
    assert_eq!(post(&url, &update, Some(WEBHOOK_SECRET)).await, 200);
    let sent = host.wait_sent(1).await;
    assert_eq!(sent[0]["text"], "genuine");
    assert_eq!(
        host.llm.requests().len(),
        1,
        "only the verified update reached the model"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_update_is_processed_once() {
    let host = start("webhook", "").await;
    host.llm.push(Scripted::text("once"));
    let update = dm(900_020, 50, "hello");
    assert_eq!(host.tg.deliver_webhook(&update).await, 200);
    assert_eq!(
        host.tg.deliver_webhook(&update).await,
        200,
        "a replay is acknowledged"
    );
    host.wait_sent(1).await;
    // Give a second turn every chance to happen before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(host.tg.sent().len(), 1, "answered once");
    assert_eq!(host.llm.requests().len(), 1, "one turn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_recovers_from_a_conflict_and_confirms_the_offset() {
    let llm_reply = "polled answer";
    let host = start("poll", "").await;
    // poll mode removed any webhook before polling.
    assert!(!host.tg.calls_of("deleteWebhook").is_empty());
    // Another instance takes the bot over: the next poll gets a 409.
    host.tg.conflicts(1);
    let conflicted = host
        .tg
        .wait_for(WAIT, |f| (f.conflicts_left() == 0).then_some(()))
        .await;
    assert!(conflicted.is_some(), "no poll after the conflict was set");
    let before = host.tg.calls_of("getUpdates").len();
    host.llm.push(Scripted::text(llm_reply));
    let id = host.tg.push_update(dm(0, 60, "are you polling?"));
    let sent = host.wait_sent(1).await;
    assert_eq!(sent[0]["text"], llm_reply);
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 60);
    assert!(
        host.tg.calls_of("getUpdates").len() > before,
        "polled again after the 409"
    );
    // The next poll confirms the update (offset past it) so it is gone.
    let confirmed = host
        .tg
        .wait_for(WAIT, |f| {
            f.calls_of("getUpdates")
                .iter()
                .any(|c| c.params["offset"].as_i64() == Some(id + 1))
                .then_some(())
        })
        .await;
    assert!(confirmed.is_some(), "offset {} never sent", id + 1);
    let gone = host
        .tg
        .wait_for(WAIT, |f| (f.pending_updates() == 0).then_some(()))
        .await;
    assert!(gone.is_some(), "the update was never confirmed");
    // The same message again under a new update_id (what a crash between
    // emit and storing the offset looks like to the host): dropped by its
    // message id "<chat>:<message>".
    host.tg.push_update(dm(0, 60, "are you polling?"));
    let again = host
        .tg
        .wait_for(WAIT, |f| (f.pending_updates() == 0).then_some(()))
        .await;
    assert!(again.is_some(), "the repeat was never polled");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(host.llm.requests().len(), 1, "one turn for one message");
    assert_eq!(host.tg.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_answer_is_split_at_4096_utf16_units() {
    let host = start("webhook", "").await;
    // Emoji are two UTF-16 units each: 3000 of them are 6000 units.
    let paragraph = "word ".repeat(700); // 3500 units
    let long = format!("{paragraph}\n\n{}\n\n{paragraph}", "🎉".repeat(3000));
    host.llm.push(Scripted::text(long.clone()));
    assert_eq!(
        host.tg
            .deliver_webhook(&dm(900_030, 70, "long please"))
            .await,
        200
    );
    let sent = host.wait_sent(3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = if host.tg.sent().len() > sent.len() {
        host.tg.sent()
    } else {
        sent
    };
    for piece in &sent {
        let text = piece["text"].as_str().unwrap_or_default();
        assert!(
            text.encode_utf16().count() <= 4096,
            "{} units",
            text.encode_utf16().count()
        );
        assert!(!text.contains('\u{FFFD}'), "no half surrogate pair");
    }
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 70);
    assert!(sent[1].get("reply_parameters").is_none());
    let rejoined: String = sent
        .iter()
        .map(|p| p["text"].as_str().unwrap_or(""))
        .collect();
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(
        squash(&rejoined),
        squash(&long),
        "nothing lost or reordered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_telegram_cannot_parse_is_sent_again_as_plain_text() {
    let host = start("webhook", "").await;
    host.llm
        .push(Scripted::text("2 * 3 = 6, and snake_case stays"));
    assert_eq!(host.tg.deliver_webhook(&dm(900_040, 80, "math")).await, 200);
    let sent = host.wait_sent(1).await;
    assert_eq!(sent[0]["text"], "2 * 3 = 6, and snake_case stays");
    assert!(
        sent[0].get("parse_mode").is_none(),
        "the accepted one is plain"
    );
    let tries = host.tg.calls_of("sendMessage");
    assert_eq!(tries.len(), 2, "{tries:#?}");
    assert_eq!(tries[0].params["parse_mode"], "Markdown");

    // Scripted refusal of well-formed Markdown too.
    host.tg.reject_markdown(1);
    host.llm.push(Scripted::text("*bold* answer"));
    assert_eq!(
        host.tg.deliver_webhook(&dm(900_041, 81, "again")).await,
        200
    );
    let sent = host.wait_sent(2).await;
    assert_eq!(sent[1]["text"], "*bold* answer");
    assert!(sent[1].get("parse_mode").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_topic_is_answered_in_its_topic() {
    let host = start("webhook", &format!("bot-username = \"{BOT_USERNAME}\"")).await;
    host.llm.push(Scripted::text("On it."));
    let update = topic_mention(900_050, 90, 17, "deploy status?");
    assert_eq!(host.tg.deliver_webhook(&update).await, 200);
    let sent = host.wait_sent(1).await;
    assert_eq!(sent[0]["chat_id"], -1001234567890_i64);
    assert_eq!(sent[0]["message_thread_id"], 17);
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 90);
    assert_eq!(sent[0]["text"], "On it.");
    assert_eq!(
        last_user_text(&host.llm),
        "deploy status?",
        "the mention is stripped"
    );
    assert!(
        host.tg
            .calls_of("sendChatAction")
            .iter()
            .any(|c| c.params["message_thread_id"] == 17),
        "typing in the topic"
    );
    // A group message that does not mention the bot runs nothing.
    let mut quiet = topic_mention(900_051, 91, 17, "x");
    quiet["message"]["text"] = json!("just chatting");
    quiet["message"]["entities"] = json!([]);
    assert_eq!(host.tg.deliver_webhook(&quiet).await, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(host.llm.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_gets_a_pairing_code_and_talks_once_paired() {
    let host = start(
        "webhook",
        "unknown-users = \"pair\"\nallow-users = [\"grace\"]",
    )
    .await;
    assert_eq!(host.tg.deliver_webhook(&dm(900_060, 100, "hi?")).await, 200);
    let sent = host.wait_sent(1).await;
    let text = sent[0]["text"].as_str().unwrap_or_default().to_string();
    let code = text
        .split_whitespace()
        .find(|w| w.len() == 9 && w.as_bytes()[4] == b'-')
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-'))
        .unwrap_or_else(|| panic!("no pairing code in {text:?}"))
        .to_string();
    assert!(text.contains("ironclaw channels pair telegram"), "{text}");
    assert_eq!(host.llm.requests().len(), 0, "no turn for an unknown user");

    let out = host
        .home
        .command(&["channels", "pair", "telegram", &code])
        .output()
        .expect("channels pair");
    assert!(
        out.status.success(),
        "pair: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    host.llm.push(Scripted::text("Nice to meet you."));
    assert_eq!(
        host.tg
            .deliver_webhook(&dm(900_061, 101, "hello again"))
            .await,
        200
    );
    let sent = host.wait_sent(2).await;
    assert_eq!(sent[1]["text"], "Nice to meet you.");
    assert_eq!(sent[1]["reply_parameters"]["message_id"], 101);

    // A user on allow-users (by username) runs without pairing.
    host.llm.push(Scripted::text("Hello Grace."));
    let mut grace = dm(900_062, 102, "hey");
    grace["message"]["from"] =
        json!({"id": 99, "is_bot": false, "first_name": "Grace", "username": "grace"});
    grace["message"]["chat"] = json!({"id": 99, "first_name": "Grace", "type": "private"});
    assert_eq!(host.tg.deliver_webhook(&grace).await, 200);
    let sent = host.wait_sent(3).await;
    assert_eq!(sent[2]["text"], "Hello Grace.");
    assert_eq!(sent[2]["chat_id"], 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bot_token_is_named_with_the_command_that_sets_it() {
    let host = start_without_secrets("poll").await;
    let said = tokio::task::block_in_place(|| {
        for _ in 0..600 {
            let log = host.log();
            if log.contains("channel telegram") {
                return log;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        host.log()
    });
    assert!(
        said.contains("secret `telegram_bot_token` is not set")
            && said.contains("ironclaw secrets set telegram_bot_token"),
        "{said}"
    );
    assert!(host.tg.calls().is_empty(), "nothing sent without a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_mid_answer_is_retried_without_sending_a_part_twice() {
    let host = start("webhook", "").await;
    let first = "a".repeat(4000);
    let second = "b".repeat(3000);
    host.llm
        .push(Scripted::text(format!("{first}\n\n{second}")));
    // The second part hits Telegram's flood limit.
    host.tg.rate_limit_send_after(1, 1);
    assert_eq!(
        host.tg
            .deliver_webhook(&dm(900_070, 110, "two parts"))
            .await,
        200
    );
    let sent = host.wait_sent(2).await;
    assert_eq!(sent[0]["text"], first.as_str());
    assert_eq!(sent[1]["text"], second.as_str());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(host.tg.sent().len(), 2, "the first part was not sent again");
    let tries = host.tg.calls_of("sendMessage");
    assert_eq!(tries.len(), 3, "one refused try in between: {tries:#?}");
}
