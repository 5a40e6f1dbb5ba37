use std::collections::BTreeMap;

use ironclaw_sdk::hook::{EventKind, HookEvent};

use crate::settings::{self, DEFAULT_PRIORITY, DEFAULT_WINDOW, Limit, Settings};
use crate::window::{self, Decision, decide, decode, encode, expired, human, prune};
use crate::{Counted, Plan, plan, reason, sweep_due};

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

fn event(kind: EventKind, channel: &str, user: &str, tool: Option<&str>) -> HookEvent {
    HookEvent {
        kind,
        channel: channel.into(),
        user_id: user.into(),
        thread_id: None,
        content: Some("hi".into()),
        tool_name: tool.map(str::to_string),
        tool_params: tool.map(|_| "{}".to_string()),
    }
}

/// Feeds events at `times` through `decide`, as the component would.
fn run(times: &[u64], max: u32, window: u64) -> Vec<Decision> {
    let mut history = Vec::new();
    times
        .iter()
        .map(|&now| {
            let d = decide(&history, now, max, window);
            if let Decision::Allow(h) = &d {
                history = h.clone();
            }
            d
        })
        .collect()
}

fn allowed(ds: &[Decision]) -> Vec<bool> {
    ds.iter().map(|d| matches!(d, Decision::Allow(_))).collect()
}

#[test]
fn inert_without_a_limit() {
    assert_eq!(parse(&[]).unwrap(), None);
    assert_eq!(
        parse(&[("window-seconds", "10"), ("exempt-users", "me")]).unwrap(),
        None
    );
}

#[test]
fn settings_defaults_and_events() {
    let s = on(&[("max-messages", "5")]);
    assert_eq!(
        s.messages,
        Some(Limit {
            max: 5,
            window: DEFAULT_WINDOW
        })
    );
    assert_eq!(s.tool_calls, None);
    assert_eq!(s.priority, DEFAULT_PRIORITY);
    assert_eq!(s.events(), vec![EventKind::BeforeInbound]);

    let s = on(&[("max-tool-calls", "3"), ("window-seconds", "600")]);
    assert_eq!(s.events(), vec![EventKind::BeforeToolCall]);
    assert_eq!(
        s.tool_calls,
        Some(Limit {
            max: 3,
            window: 600
        })
    );

    let s = on(&[
        ("max-messages", "20"),
        ("window-seconds", "3600"),
        ("max-tool-calls", "2"),
        ("tool-window-seconds", "60"),
        ("tools", "http_fetch, shell"),
        ("priority", "-5"),
    ]);
    assert_eq!(
        s.events(),
        vec![EventKind::BeforeInbound, EventKind::BeforeToolCall]
    );
    assert_eq!(
        s.messages,
        Some(Limit {
            max: 20,
            window: 3600
        })
    );
    assert_eq!(s.tool_calls, Some(Limit { max: 2, window: 60 }));
    assert_eq!(s.longest_window(), 3600);
    assert!(s.limits_tool("shell") && !s.limits_tool("echo"));
    assert_eq!(s.priority, -5);
}

#[test]
fn bad_settings_are_errors() {
    for bad in [
        &[("max-messages", "0")][..],
        &[("max-messages", "-1")],
        &[("max-messages", "lots")],
        &[("max-messages", "10001")],
        &[("max-messages", "5"), ("window-seconds", "0")],
        &[("max-messages", "5"), ("window-seconds", "99999999")],
        &[("max-tool-calls", "5"), ("tool-window-seconds", "1.5")],
        &[("max-messages", "5"), ("priority", "first")],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn exempt_users() {
    let s = on(&[
        ("max-messages", "1"),
        ("exempt-users", "owner, telegram:42, @alice:example.org"),
    ]);
    assert!(s.is_exempt("slack", "owner"));
    assert!(s.is_exempt("telegram", "42"));
    assert!(!s.is_exempt("slack", "42"));
    assert!(s.is_exempt("matrix", "@alice:example.org"));
    assert!(!s.is_exempt("telegram", "43"));
    assert_eq!(
        plan(&s, &event(EventKind::BeforeInbound, "any", "owner", None)),
        Plan::Skip
    );
}

#[test]
fn sliding_window_admits_max_then_refuses_until_the_oldest_leaves() {
    let ds = run(&[100, 101, 102, 103, 159, 160, 161], 3, 60);
    assert_eq!(allowed(&ds), [true, true, true, false, false, true, true]);
    assert_eq!(ds[3], Decision::Deny { retry_after: 57 });
    assert_eq!(ds[4], Decision::Deny { retry_after: 1 });
    // At 160 the event of 100 has left the window; at 161 the one of 101.
    assert_eq!(ds[5], Decision::Allow(vec![101, 102, 160]));
    assert_eq!(ds[6], Decision::Allow(vec![102, 160, 161]));
}

#[test]
fn refused_events_are_not_counted() {
    // Hammering while limited does not push the wait further out.
    let ds = run(&[0, 10, 20, 30, 40, 50, 60], 1, 60);
    assert_eq!(
        allowed(&ds),
        [true, false, false, false, false, false, true]
    );
    assert_eq!(ds[5], Decision::Deny { retry_after: 10 });
}

#[test]
fn exact_over_every_interval() {
    // 5 per 10 s, one event a second for 100 s: never more than 5 admitted
    // in any 10-second interval, and the allowance is fully used.
    let times: Vec<u64> = (0..100).collect();
    let ds = run(&times, 5, 10);
    let admitted: Vec<u64> = times
        .iter()
        .zip(&ds)
        .filter(|(_, d)| matches!(d, Decision::Allow(_)))
        .map(|(&t, _)| t)
        .collect();
    for start in 0..100 {
        let n = admitted
            .iter()
            .filter(|&&t| t >= start && t < start + 10)
            .count();
        assert!(n <= 5, "{n} in [{start}, {})", start + 10);
    }
    assert_eq!(admitted.len(), 50);
}

#[test]
fn clock_going_back_is_handled() {
    let d = decide(&[1000], 990, 5, 60);
    // Stamps stay sorted (never below the last one) and the future one counts.
    assert_eq!(d, Decision::Allow(vec![1000, 1000]));
    assert_eq!(
        decide(&[1000], 990, 1, 60),
        Decision::Deny { retry_after: 70 }
    );
}

#[test]
fn lowering_max_keeps_the_newest() {
    assert_eq!(prune(&[1, 2, 3, 4, 5], 10, 60, 2), vec![4, 5]);
    assert_eq!(prune(&[1, 2, 3, 50, 60], 65, 60, 10), vec![50, 60]);
    assert_eq!(
        decide(&[1, 2, 3, 4, 5], 10, 2, 60),
        Decision::Deny { retry_after: 54 }
    );
}

#[test]
fn expiry_and_sweep_schedule() {
    assert!(expired(&[], 100, 60));
    assert!(expired(&[10, 40], 100, 60));
    assert!(!expired(&[10, 41], 100, 60));
    assert!(sweep_due(None, 0, 60));
    assert!(!sweep_due(Some(100), 130, 10)); // at most once a minute
    assert!(sweep_due(Some(100), 160, 10));
    assert!(!sweep_due(Some(100), 3000, 3600));
    assert!(sweep_due(Some(100), 3700, 3600));
}

#[test]
fn encoding_round_trips_and_is_compact() {
    for h in [
        vec![],
        vec![0],
        vec![1_700_000_000],
        vec![
            1_700_000_000,
            1_700_000_000,
            1_700_000_001,
            1_700_000_127,
            1_700_000_128,
        ],
        vec![u64::MAX],
    ] {
        assert_eq!(decode(&encode(&h)), Some(h.clone()), "{h:?}");
    }
    let twenty: Vec<u64> = (0..20).map(|i| 1_700_000_000 + i * 60).collect();
    let bytes = encode(&twenty);
    // Format byte, 5 bytes of epoch seconds, one byte per 60-second gap.
    assert_eq!(bytes.len(), 1 + 5 + 19);
    assert_eq!(decode(&bytes), Some(twenty));
}

#[test]
fn garbage_does_not_decode() {
    assert_eq!(decode(&[]), None);
    assert_eq!(decode(&[2, 1]), None); // unknown format
    assert_eq!(decode(&[1, 0x80]), None); // truncated varint
    assert_eq!(
        decode(&[
            1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ]),
        None
    );
    // Overflowing sum.
    let mut b = encode(&[u64::MAX]);
    b.push(1);
    assert_eq!(decode(&b), None);
}

#[test]
fn keys_are_distinct_and_bounded() {
    assert_eq!(window::message_key("telegram", "42"), "m/telegram/42");
    assert_ne!(
        window::message_key("a/b", "c"),
        window::message_key("a", "b/c")
    );
    assert_ne!(
        window::message_key("a%2Fb", "c"),
        window::message_key("a/b", "c")
    );
    assert_eq!(
        window::tool_key("slack", "U1", "http_fetch"),
        "t/slack/U1/http_fetch"
    );
    let long = "x".repeat(1000);
    let k = window::message_key("telegram", &long);
    assert!(k.starts_with("m/#") && k.len() <= 32, "{k}");
    assert_ne!(k, window::message_key("telegram", &"y".repeat(1000)));
    assert_eq!(k, window::message_key("telegram", &long)); // stable
}

#[test]
fn plans_per_event() {
    let s = on(&[
        ("max-messages", "2"),
        ("max-tool-calls", "1"),
        ("tools", "shell"),
    ]);
    match plan(&s, &event(EventKind::BeforeInbound, "telegram", "42", None)) {
        Plan::Check {
            key,
            limit,
            counted,
        } => {
            assert_eq!(key, "m/telegram/42");
            assert_eq!(limit, Limit { max: 2, window: 60 });
            assert_eq!(counted, Counted::Messages);
        }
        Plan::Skip => panic!("inbound is limited"),
    }
    match plan(
        &s,
        &event(EventKind::BeforeToolCall, "telegram", "42", Some("shell")),
    ) {
        Plan::Check { key, counted, .. } => {
            assert_eq!(key, "t/telegram/42/shell");
            assert_eq!(counted, Counted::Tool("shell".into()));
        }
        Plan::Skip => panic!("shell is limited"),
    }
    let skip = |e| plan(&s, &e) == Plan::Skip;
    assert!(skip(event(
        EventKind::BeforeToolCall,
        "telegram",
        "42",
        Some("echo")
    )));
    assert!(skip(event(
        EventKind::BeforeToolCall,
        "telegram",
        "42",
        None
    )));
    assert!(skip(event(
        EventKind::BeforeOutbound,
        "telegram",
        "42",
        None
    )));
    let inbound_only = on(&[("max-messages", "2")]);
    assert_eq!(
        plan(
            &inbound_only,
            &event(EventKind::BeforeToolCall, "t", "u", Some("shell"))
        ),
        Plan::Skip
    );
}

#[test]
fn reasons_say_when_to_try_again() {
    let r = reason(
        &Counted::Messages,
        Limit {
            max: 20,
            window: 3600,
        },
        125,
    );
    assert_eq!(
        r,
        "Rate limit reached: at most 20 messages per 1 h. Try again in 2 min 5 s."
    );
    let r = reason(
        &Counted::Tool("shell".into()),
        Limit { max: 1, window: 60 },
        1,
    );
    assert_eq!(
        r,
        "Rate limit reached for tool `shell`: at most 1 call per 1 min. Try again in 1 s."
    );
}

#[test]
fn human_durations() {
    assert_eq!(human(0), "0 s");
    assert_eq!(human(45), "45 s");
    assert_eq!(human(60), "1 min");
    assert_eq!(human(185), "3 min 5 s");
    assert_eq!(human(7500), "2 h 5 min");
    assert_eq!(human(86_400 + 3 * 3600 + 59), "1 d 3 h");
}
