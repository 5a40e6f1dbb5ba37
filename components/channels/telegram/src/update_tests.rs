//! Updates shaped like the Bot API's, mapped to inbound messages.

use serde_json::{Value, json};

use crate::update::*;

fn bot() -> BotIdentity {
    BotIdentity {
        username: "iron_bot".into(),
        id: Some(777),
    }
}

fn parse(v: Value) -> Update {
    serde_json::from_value(v).expect("update")
}

fn message(v: Value) -> Inbound {
    match map_update(&parse(v), &bot()) {
        Mapped::Message(m) => m,
        Mapped::Ignored(why) => panic!("ignored: {why}"),
    }
}

fn ignored(v: Value) -> String {
    match map_update(&parse(v), &bot()) {
        Mapped::Ignored(why) => why,
        Mapped::Message(m) => panic!("mapped: {m:?}"),
    }
}

fn group(text: &str, entities: Value) -> Value {
    json!({
        "update_id": 10,
        "message": {
            "message_id": 55,
            "from": {"id": 42, "is_bot": false, "first_name": "Ada", "username": "ada"},
            "chat": {"id": -1001234, "title": "Team", "type": "supergroup"},
            "date": 1_700_000_000,
            "text": text,
            "entities": entities
        }
    })
}

#[test]
fn a_direct_message() {
    let m = message(json!({
        "update_id": 900,
        "message": {
            "message_id": 3,
            "from": {"id": 42, "is_bot": false, "first_name": "Ada", "last_name": "L", "language_code": "en"},
            "chat": {"id": 42, "first_name": "Ada", "type": "private"},
            "date": 1_700_000_000,
            "text": "hello there"
        }
    }));
    assert_eq!(m.user_id, "42");
    assert_eq!(m.user_name.as_deref(), Some("Ada L"));
    assert_eq!(m.conversation_id, "42");
    assert_eq!(m.message_id, "42:3");
    assert_eq!(m.text, "hello there");
    assert!(m.is_direct);
    assert!(!m.mentions_bot, "a DM needs no mention");
    assert_eq!(m.thread_id, None);
    assert!(m.metadata.contains(&("chat_id".into(), "42".into())));
    assert!(m.metadata.contains(&("message_id".into(), "3".into())));
}

#[test]
fn a_group_mention_is_detected_and_stripped() {
    let m = message(group(
        "@iron_bot what is the time?",
        json!([{"type": "mention", "offset": 0, "length": 9}]),
    ));
    assert!(!m.is_direct);
    assert!(m.mentions_bot);
    assert_eq!(m.text, "what is the time?");
    assert_eq!(m.user_name.as_deref(), Some("ada"));
    assert_eq!(m.message_id, "-1001234:55");

    let m = message(group(
        "hey @Iron_Bot, look",
        json!([{"type": "mention", "offset": 4, "length": 9}]),
    ));
    assert!(m.mentions_bot, "usernames are case-insensitive");
    assert_eq!(m.text, "hey, look");
}

#[test]
fn mentions_after_an_emoji_use_utf16_offsets() {
    // "😀 " is three UTF-16 units: the mention starts at 3.
    let m = message(group(
        "😀 @iron_bot hi",
        json!([{"type": "mention", "offset": 3, "length": 9}]),
    ));
    assert!(m.mentions_bot);
    assert_eq!(m.text, "😀 hi");
}

#[test]
fn another_users_mention_is_not_the_bot() {
    let m = message(group(
        "@someone_else hi",
        json!([{"type": "mention", "offset": 0, "length": 13}]),
    ));
    assert!(!m.mentions_bot);
    assert_eq!(m.text, "@someone_else hi");
    // Nor is a longer name that starts with the bot's.
    let m = message(group("@iron_bot_fan hi", json!([])));
    assert!(!m.mentions_bot);
}

#[test]
fn a_command_addressed_to_the_bot() {
    let m = message(group(
        "/help@iron_bot now",
        json!([{"type": "bot_command", "offset": 0, "length": 14}]),
    ));
    assert!(m.mentions_bot);
    assert_eq!(m.text, "/help now");
}

#[test]
fn a_mention_without_entities_is_found_in_the_text() {
    let m = message(group("ping @IRON_BOT please", json!([])));
    assert!(m.mentions_bot);
    assert_eq!(m.text, "ping please");
}

#[test]
fn a_reply_to_the_bot_addresses_it() {
    let mut v = group("and tomorrow?", json!([]));
    v["message"]["reply_to_message"] = json!({
        "message_id": 54,
        "from": {"id": 777, "is_bot": true, "first_name": "Iron", "username": "iron_bot"},
        "chat": {"id": -1001234, "type": "supergroup"},
        "date": 1_700_000_000,
        "text": "It is noon."
    });
    let m = message(v.clone());
    assert!(m.mentions_bot);
    assert_eq!(m.text, "and tomorrow?");
    // A reply to someone else does not.
    v["message"]["reply_to_message"]["from"] =
        json!({"id": 5, "is_bot": false, "first_name": "Bob"});
    assert!(!message(v).mentions_bot);
}

#[test]
fn forum_topics_become_threads() {
    let mut v = group(
        "@iron_bot status?",
        json!([{"type": "mention", "offset": 0, "length": 9}]),
    );
    v["message"]["message_thread_id"] = json!(12);
    v["message"]["is_topic_message"] = json!(true);
    let m = message(v.clone());
    assert_eq!(m.thread_id.as_deref(), Some("12"));
    assert!(
        m.metadata
            .contains(&("message_thread_id".into(), "12".into()))
    );
    // A reply chain in a plain supergroup carries a thread id too, but is
    // not a topic.
    v["message"]["is_topic_message"] = json!(false);
    assert_eq!(message(v).thread_id, None);
}

#[test]
fn non_text_updates_are_ignored_with_a_reason() {
    let why = ignored(json!({
        "update_id": 11,
        "message": {
            "message_id": 56,
            "from": {"id": 42, "is_bot": false, "first_name": "Ada"},
            "chat": {"id": 42, "type": "private"},
            "date": 1_700_000_000,
            "photo": [{"file_id": "AgAD", "file_unique_id": "x", "width": 90, "height": 90}]
        }
    }));
    assert!(why.contains("no text"), "{why}");
    let why = ignored(json!({
        "update_id": 12,
        "edited_message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "date": 0, "text": "x"}
    }));
    assert!(why.contains("no new message"), "{why}");
    let mut from_bot = group("beep", json!([]));
    from_bot["message"]["from"]["is_bot"] = json!(true);
    assert!(ignored(from_bot).contains("from the bot"));
}

#[test]
fn message_keys_round_trip() {
    assert_eq!(message_key(-100, 7), "-100:7");
    assert_eq!(message_id_of("-100:7"), Some(7));
    assert_eq!(message_id_of("7"), Some(7));
    assert_eq!(message_id_of("x:y"), None);
}
