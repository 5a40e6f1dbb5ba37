use super::*;
use serde_json::json;

fn callback(event: Value) -> Vec<u8> {
    json!({
        "token": "one-long-verification-token",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": event,
        "type": "event_callback",
        "authorizations": [{"team_id": "T123ABC456", "user_id": "UBOT", "is_bot": true, "is_enterprise_install": false}],
        "event_id": "Ev123ABC456",
        "event_time": 1355517523
    })
    .to_string()
    .into_bytes()
}

fn message(parsed: Parsed) -> InboundMessage {
    match parsed {
        Parsed::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn ignored(parsed: Parsed) -> String {
    match parsed {
        Parsed::Ignored(why) => why,
        other => panic!("expected it ignored, got {other:?}"),
    }
}

#[test]
fn url_verification_answers_the_challenge() {
    let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    assert!(matches!(
        parse(body, None).unwrap(),
        Parsed::Challenge(c) if c == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    ));
    let e = parse(br#"{"type":"url_verification"}"#, None).unwrap_err();
    assert!(e.contains("challenge"), "{e}");
}

#[test]
fn a_channel_message_mentioning_the_bot_opens_a_thread() {
    let body = callback(json!({
        "type": "message", "channel": "C123ABC456", "user": "U123ABC456",
        "text": "<@UBOT> what is 2 &amp; 2?", "ts": "1355517523.000005",
        "event_ts": "1355517523.000005", "channel_type": "channel"
    }));
    let m = message(parse(&body, Some("UBOT")).unwrap());
    assert_eq!(m.text, "what is 2 & 2?");
    assert_eq!(m.conversation_id, "C123ABC456");
    assert_eq!(m.user_id, "U123ABC456");
    assert_eq!(m.thread_id.as_deref(), Some("1355517523.000005"));
    assert_eq!(
        m.message_id.as_deref(),
        Some("C123ABC456:1355517523.000005")
    );
    assert!(m.mentions_bot);
    assert!(!m.is_direct);
    assert!(m.metadata.contains(&("team".into(), "T123ABC456".into())));
}

#[test]
fn app_mention_and_message_for_one_post_share_a_message_id() {
    let event = |kind: &str| json!({"type": kind, "channel": "C1", "user": "U1", "text": "hi <@UBOT>", "ts": "10.1"});
    let a = message(parse(&callback(event("app_mention")), Some("UBOT")).unwrap());
    let b = message(parse(&callback(event("message")), Some("UBOT")).unwrap());
    assert_eq!(a.message_id, b.message_id);
    assert_eq!(a.text, "hi");
    assert!(a.mentions_bot && b.mentions_bot);
}

#[test]
fn the_bots_id_comes_from_the_authorizations_when_not_configured() {
    let body = callback(json!({
        "type": "message", "channel": "C1", "user": "U1",
        "text": "hey <@UBOT|assistant> there", "ts": "1.0", "channel_type": "channel"
    }));
    let m = message(parse(&body, None).unwrap());
    assert!(m.mentions_bot);
    assert_eq!(m.text, "hey there");
}

#[test]
fn a_mention_cannot_be_told_without_the_bots_id() {
    let body = json!({
        "type": "event_callback", "event_id": "Ev1",
        "event": {"type": "message", "channel": "C1", "user": "U1", "text": "<@UX> hi", "ts": "1.0", "channel_type": "channel"}
    });
    let why = ignored(parse(body.to_string().as_bytes(), None).unwrap());
    assert!(why.contains("unknown"), "{why}");
}

#[test]
fn a_channel_message_without_mention_does_not_mention_the_bot() {
    let body = callback(json!({
        "type": "message", "channel": "C1", "user": "U1", "text": "lunch? <@UBOT2>",
        "ts": "1.0", "channel_type": "channel"
    }));
    let m = message(parse(&body, Some("UBOT")).unwrap());
    assert!(!m.mentions_bot);
    // Another user's mention is not the bot's and stays.
    assert_eq!(m.text, "lunch? <@UBOT2>");
}

#[test]
fn direct_messages_continue_one_conversation_and_threads_stay_threads() {
    let body = callback(json!({
        "type": "message", "channel": "D024BE91L", "user": "U1", "text": "hello",
        "ts": "2.0", "channel_type": "im"
    }));
    let m = message(parse(&body, Some("UBOT")).unwrap());
    assert!(m.is_direct);
    assert_eq!(m.thread_id, None);
    let body = callback(json!({
        "type": "message", "channel": "D024BE91L", "user": "U1", "text": "more",
        "ts": "3.0", "thread_ts": "2.5", "channel_type": "im"
    }));
    assert_eq!(
        message(parse(&body, Some("UBOT")).unwrap())
            .thread_id
            .as_deref(),
        Some("2.5")
    );
    let body = callback(json!({
        "type": "message", "channel": "C1", "user": "U1", "text": "<@UBOT> in thread",
        "ts": "5.0", "thread_ts": "4.0", "channel_type": "channel"
    }));
    assert_eq!(
        message(parse(&body, Some("UBOT")).unwrap())
            .thread_id
            .as_deref(),
        Some("4.0")
    );
    // app_mention has no channel_type: a D… channel is a DM.
    let body = callback(
        json!({"type": "app_mention", "channel": "D9", "user": "U1", "text": "<@UBOT> x", "ts": "6.0"}),
    );
    assert!(message(parse(&body, Some("UBOT")).unwrap()).is_direct);
}

#[test]
fn bots_edits_and_own_messages_are_ignored() {
    let cases = [
        json!({"type": "message", "subtype": "bot_message", "channel": "C1", "text": "x", "ts": "1.0", "bot_id": "B1"}),
        json!({"type": "message", "channel": "C1", "user": "U2", "text": "x", "ts": "1.0", "bot_id": "B1"}),
        json!({"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1.0",
               "message": {"type": "message", "user": "U1", "text": "edited", "ts": "0.9"}}),
        json!({"type": "message", "subtype": "message_deleted", "channel": "C1", "ts": "1.0"}),
        json!({"type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1", "text": "joined", "ts": "1.0"}),
        json!({"type": "message", "channel": "C1", "user": "UBOT", "text": "my own", "ts": "1.0", "channel_type": "channel"}),
        json!({"type": "message", "channel": "D1", "user": "U1", "text": "  ", "ts": "1.0", "channel_type": "im"}),
        json!({"type": "reaction_added", "user": "U1", "reaction": "thumbsup"}),
    ];
    for event in cases {
        let why = ignored(parse(&callback(event.clone()), Some("UBOT")).unwrap());
        assert!(!why.is_empty(), "{event}");
    }
    // A file share is a person writing.
    let body = callback(json!({
        "type": "message", "subtype": "file_share", "channel": "D1", "user": "U1", "text": "see",
        "ts": "1.0", "channel_type": "im",
        "files": [{"id": "F1", "name": "a.png", "mimetype": "image/png", "size": 12, "url_private": "https://files.slack.com/a.png"}]
    }));
    let m = message(parse(&body, Some("UBOT")).unwrap());
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].reference, "https://files.slack.com/a.png");
    assert_eq!(m.attachments[0].size_bytes, Some(12));
}

#[test]
fn malformed_payloads_say_what_is_wrong() {
    assert!(parse(b"not json", None).unwrap_err().contains("not JSON"));
    assert!(parse(b"{}", None).unwrap_err().contains("`type`"));
    assert!(
        parse(br#"{"type":"event_callback"}"#, None)
            .unwrap_err()
            .contains("`event`")
    );
    let e = parse(
        &callback(json!({"type": "message", "user": "U1", "text": "x", "ts": "1"})),
        None,
    )
    .unwrap_err();
    assert!(e.contains("`channel`"), "{e}");
    let e = parse(
        &callback(json!({"type": "message", "user": "U1", "channel": "C1", "text": "x"})),
        None,
    )
    .unwrap_err();
    assert!(e.contains("`ts`"), "{e}");
    // Unknown outer types are acknowledged, not refused.
    ignored(
        parse(
            br#"{"type":"app_rate_limited","minute_rate_limited":1518467820}"#,
            None,
        )
        .unwrap(),
    );
}
