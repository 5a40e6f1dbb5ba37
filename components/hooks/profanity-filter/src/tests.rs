use std::collections::BTreeMap;

use ironclaw_sdk::hook::{EventKind, HookEvent, HookResult, Modification};

use crate::settings::{self, DEFAULT_PRIORITY, Mode, Settings};
use crate::words::{WordList, matches_for_test};

fn parse(pairs: &[(&str, &str)]) -> Result<Option<Settings>, String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings::parse(&|k| map.get(k).cloned())
}

fn on(pairs: &[(&str, &str)]) -> Settings {
    parse(pairs).unwrap().expect("enabled")
}

fn default_list() -> WordList {
    WordList::new(&[], &[])
}

fn mask(text: &str) -> String {
    default_list()
        .mask(text)
        .unwrap_or_else(|| text.to_string())
}

/// `HookResult` (generated) has no `PartialEq`: compare through this.
#[derive(Debug, PartialEq)]
enum Out {
    Continue,
    Content(String),
    Params(String),
    Reject(String),
}

fn judge(s: &Settings, e: &HookEvent) -> Out {
    match crate::judge(s, e) {
        HookResult::Continue => Out::Continue,
        HookResult::Modify(Modification::Content(c)) => Out::Content(c),
        HookResult::Modify(Modification::Params(p)) => Out::Params(p),
        HookResult::Reject(r) => Out::Reject(r),
    }
}

fn event(kind: EventKind, content: &str) -> HookEvent {
    HookEvent {
        kind,
        channel: "telegram".into(),
        user_id: "42".into(),
        thread_id: None,
        content: Some(content.into()),
        tool_name: None,
        tool_params: None,
    }
}

#[test]
fn inert_without_settings() {
    assert!(parse(&[]).unwrap().is_none());
    // Word lists alone do not switch it on.
    assert!(
        parse(&[("extra-words", "heck"), ("mode", "reject")])
            .unwrap()
            .is_none()
    );
    assert!(
        parse(&[("enabled", "false"), ("events", "before-inbound")])
            .unwrap()
            .is_none()
    );
}

#[test]
fn enabled_defaults() {
    let s = on(&[("enabled", "true")]);
    assert_eq!(s.events, vec![EventKind::BeforeOutbound]);
    assert_eq!(s.priority, DEFAULT_PRIORITY);
    assert_eq!(s.mode, Mode::Mask);
    assert!(!s.words.is_empty());
}

#[test]
fn events_setting_switches_on_and_picks() {
    let s = on(&[(
        "events",
        "before-inbound, transform-response,before-inbound",
    )]);
    assert_eq!(
        s.events,
        vec![EventKind::BeforeInbound, EventKind::TransformResponse]
    );
}

#[test]
fn bad_settings_are_errors() {
    assert!(parse(&[("events", "before-tool-call")]).is_err());
    assert!(parse(&[("events", "sometimes")]).is_err());
    assert!(parse(&[("events", " , ")]).is_err());
    assert!(parse(&[("enabled", "maybe")]).is_err());
    assert!(parse(&[("enabled", "true"), ("mode", "shout")]).is_err());
    assert!(parse(&[("enabled", "true"), ("priority", "high")]).is_err());
    assert_eq!(on(&[("enabled", "yes"), ("priority", "-3")]).priority, -3);
}

#[test]
fn masks_plain_profanity_keeping_first_letter() {
    assert_eq!(mask("fuck"), "f***");
    assert_eq!(
        mask("What the fuck is this shit?"),
        "What the f*** is this s***?"
    );
    assert_eq!(mask("FUCKING hell"), "F****** hell");
    assert_eq!(mask("You absolute bastard."), "You absolute b******.");
    assert_eq!(mask("bullshit, utter bollocks"), "b*******, utter b*******");
    assert_eq!(mask("\"Shit!\" she said"), "\"S***!\" she said");
    assert_eq!(mask("*fuck*"), "*f****");
}

#[test]
fn masks_leetspeak_and_disguises() {
    for (input, want) in [
        ("f*ck", "f***"),
        ("sh1t", "s***"),
        ("$hit", "$***"),
        ("sh!t", "s***"),
        ("b!tch", "b****"),
        ("a$$", "a**"),
        ("@ss", "@**"),
        ("a55hole", "a******"),
        ("fuuuuck", "f******"),
        ("shiiiit", "s******"),
        ("f#ck", "f***"),
        ("Sh1tty", "S*****"),
        ("c*nt", "c***"),
    ] {
        assert_eq!(mask(input), want, "{input}");
    }
}

#[test]
fn leaves_innocent_words_alone() {
    // The Scunthorpe problem and friends: whole tokens only.
    for text in [
        "class",
        "assess the assassin's assets",
        "Scunthorpe United",
        "a cocktail in Middlesex",
        "Dickens wrote about Essex",
        "shiitake mushrooms",
        "hello, passion, compass, bass, embassy, grass",
        "analysis of the therapist's notes",
        "shitake", // a misspelling, still not "shit"
        "as",      // shorter than "ass"
        "the pistachio and the pissarro",
        "1 455 000 visitors",                  // digits alone are not leetspeak
        "cock, dick, prick, damn, hell, crap", // everyday meanings, not listed
        "f***",                                // already masked
        "****",
        "Tit for tat at the Titanic",
        "button, Buttons, therapist, grape, Sussex, Hancock",
    ] {
        assert_eq!(default_list().mask(text), None, "{text}");
        assert!(!default_list().contains(text), "{text}");
    }
}

#[test]
fn matcher_edge_cases() {
    assert!(matches_for_test("ass", "asss"));
    assert!(!matches_for_test("ass", "as"));
    assert!(!matches_for_test("ass", "assess"));
    assert!(!matches_for_test("fuck", "*uck")); // wildcard first
    assert!(!matches_for_test("fuck", "f***")); // mostly wildcards
    assert!(matches_for_test("fuck", "f**k"));
    assert!(!matches_for_test("ass", "455")); // no letter
    assert!(!matches_for_test("fuck", "fu**ck")); // wildcards do not stretch
    assert!(matches_for_test("fuck", "FuCk"));
}

#[test]
fn extra_and_allow_words() {
    let list = WordList::new(
        &["Heck".into(), "two words".into(), "x".into()],
        &["ass".into(), "arse".into()],
    );
    assert_eq!(
        list.mask("What the heck, HECK!"),
        Some("What the h***, H***!".into())
    );
    // Allowed words are no longer listed, nor matched through disguises.
    assert_eq!(list.mask("kiss my ass, arse, a$$"), None);
    // Phrases and one-letter words cannot match a token: ignored.
    assert_eq!(list.mask("two words x"), None);
    // The rest of the list still applies.
    assert_eq!(list.mask("asshole"), Some("a******".into()));
}

#[test]
fn non_ascii_text_is_kept_intact() {
    assert_eq!(
        mask("Ça, c'est de la merde — shit! 😀"),
        "Ça, c'est de la merde — s***! 😀"
    );
    let list = WordList::new(&["scheiße".into()], &[]);
    assert_eq!(
        list.mask("So eine SCHEISSE, so eine Scheiße"),
        Some("So eine SCHEISSE, so eine S******".into())
    );
}

#[test]
fn judge_masks_on_subscribed_events_only() {
    let s = on(&[("events", "before-inbound,before-outbound")]);
    assert_eq!(
        judge(&s, &event(EventKind::BeforeInbound, "oh shit")),
        Out::Content("oh s***".into())
    );
    assert_eq!(
        judge(&s, &event(EventKind::TransformResponse, "oh shit")),
        Out::Continue
    );
    assert_eq!(
        judge(&s, &event(EventKind::BeforeOutbound, "all clean")),
        Out::Continue
    );
    let mut no_content = event(EventKind::BeforeInbound, "");
    no_content.content = None;
    assert_eq!(judge(&s, &no_content), Out::Continue);
}

#[test]
fn judge_rejects_in_reject_mode() {
    let s = on(&[
        ("events", "before-inbound,before-outbound"),
        ("mode", "reject"),
    ]);
    match judge(&s, &event(EventKind::BeforeInbound, "you b!tch")) {
        Out::Reject(why) => assert!(why.contains("profanity"), "{why}"),
        other => panic!("{other:?}"),
    }
    match judge(&s, &event(EventKind::BeforeOutbound, "FUCK")) {
        Out::Reject(why) => assert!(why.contains("reply"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        judge(&s, &event(EventKind::BeforeInbound, "first class")),
        Out::Continue
    );
}

#[test]
fn long_input_is_handled() {
    let text = "fuck class ".repeat(2000) + &"a".repeat(10_000);
    let masked = default_list().mask(&text).unwrap();
    assert_eq!(masked.matches("f***").count(), 2000);
    assert_eq!(masked.matches("class").count(), 2000);
}
