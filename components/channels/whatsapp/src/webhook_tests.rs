use super::*;
use serde_json::json;

/// The shape of Meta's documented `messages` webhook.
fn webhook(value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{ "value": value, "field": "messages" }]
        }]
    })
    .to_string()
    .into_bytes()
}

fn text_value(from: &str, id: &str, body: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1749416383", "type": "text", "text": {"body": body}}]
    })
}

#[test]
fn a_text_message_becomes_a_direct_message() {
    let body = webhook(text_value(
        "16505551234",
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "Does it come in another color?",
    ));
    let batch = parse(&body).unwrap();
    assert_eq!(batch.messages.len(), 1);
    let m = &batch.messages[0];
    assert_eq!(m.user_id, "16505551234");
    assert_eq!(m.conversation_id, "16505551234");
    assert_eq!(m.user_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(
        m.message_id.as_deref(),
        Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    );
    assert_eq!(m.text, "Does it come in another color?");
    assert!(m.is_direct);
    assert_eq!(m.thread_id, None);
    assert_eq!(
        m.metadata,
        [("phone_number_id".to_string(), "106540352242922".to_string())]
    );
}

#[test]
fn statuses_and_other_fields_are_acknowledged_and_dropped() {
    let body = webhook(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{"id": "wamid.X", "status": "delivered", "timestamp": "1750263773", "recipient_id": "16505551234"}]
    }));
    let batch = parse(&body).unwrap();
    assert!(batch.messages.is_empty());
    assert_eq!(batch.ignored, ["status `delivered`"]);
    let other = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {}}]}]});
    let batch = parse(other.to_string().as_bytes()).unwrap();
    assert!(batch.messages.is_empty());
    assert_eq!(batch.ignored, ["field `account_update`"]);
}

#[test]
fn buttons_lists_and_captioned_media_carry_text() {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1"},
        "messages": [
            {"from": "1", "id": "w1", "timestamp": "1", "type": "button", "button": {"text": "Yes", "payload": "y"}},
            {"from": "1", "id": "w2", "timestamp": "1", "type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "a", "title": "Option A"}}},
            {"from": "1", "id": "w3", "timestamp": "1", "type": "image", "image": {"caption": "my cat", "mime_type": "image/jpeg", "sha256": "x", "id": "MEDIA1"}},
            {"from": "1", "id": "w4", "timestamp": "1", "type": "reaction", "reaction": {"message_id": "w0", "emoji": "👍"}},
            {"from": "1", "id": "w5", "timestamp": "1", "type": "unsupported", "errors": [{"code": 131051}]}
        ]
    });
    let batch = parse(&webhook(value)).unwrap();
    let texts: Vec<&str> = batch.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Yes", "Option A", "my cat"]);
    let image = &batch.messages[2];
    assert_eq!(image.attachments[0].reference, "MEDIA1");
    assert_eq!(image.attachments[0].mime_type, "image/jpeg");
    // No contacts entry: no name.
    assert_eq!(image.user_name, None);
    assert_eq!(
        batch.ignored,
        ["message type `reaction`", "message type `unsupported`"]
    );
}

#[test]
fn malformed_payloads_say_what_is_wrong() {
    for (body, says) in [
        (b"{not json".to_vec(), "not JSON"),
        (br#"{"entry": []}"#.to_vec(), "`object`"),
        (br#"{"object": "page", "entry": []}"#.to_vec(), "`page`"),
        (
            br#"{"object": "whatsapp_business_account"}"#.to_vec(),
            "`entry`",
        ),
        (
            br#"{"object": "whatsapp_business_account", "entry": [{"id": "1"}]}"#.to_vec(),
            "`changes`",
        ),
        (
            webhook(json!({"messages": [{"id": "w", "type": "text", "text": {"body": "x"}}]})),
            "`from`",
        ),
        (
            webhook(json!({"messages": [{"from": "1", "id": "w", "type": "text", "text": {}}]})),
            "`text.body`",
        ),
    ] {
        let e = parse(&body).unwrap_err();
        assert!(e.contains(says), "{e} should mention {says}");
    }
}

#[test]
fn several_messages_in_one_webhook_are_all_read() {
    let mut value = text_value("4915112345678", "wamid.A", "one");
    value["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"from": "4915112345678", "id": "wamid.B", "timestamp": "2", "type": "text", "text": {"body": "two"}}));
    let batch = parse(&webhook(value)).unwrap();
    let ids: Vec<_> = batch
        .messages
        .iter()
        .map(|m| m.message_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["wamid.A", "wamid.B"]);
}
