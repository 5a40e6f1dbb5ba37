//! The agent's persistent turn state on SQLite and PostgreSQL: turns with
//! undo/redo, clear and compaction, the pending approval (one per
//! conversation, the first answer wins), "always" approvals, current
//! threads and the tool-call record.

mod support;

use ironclaw::store::domains::{PendingApproval, ToolCallRecord};
use support::backends::{Backend, migrated};

async fn turns_undo_redo_clear_and_compact(backend: Backend) {
    let t = migrated(backend).await;
    let (c, a) = (t.db.conversations(), t.db.agent());
    let conv = c.find_or_create("cli", "owner", None).await.unwrap();
    assert_eq!(a.next_turn(&conv.id).await.unwrap(), 1);
    for turn in 1..=3 {
        a.append_turn_message(&conv.id, turn, "user", &format!("u{turn}"), None)
            .await
            .unwrap();
        a.append_turn_message(&conv.id, turn, "assistant", &format!("a{turn}"), Some("[]"))
            .await
            .unwrap();
    }
    let texts = |h: Vec<ironclaw::store::domains::TurnMessage>| {
        h.into_iter().map(|m| m.message.content).collect::<Vec<_>>()
    };
    assert_eq!(a.undo_turn(&conv.id).await.unwrap(), Some(3));
    assert_eq!(a.undo_turn(&conv.id).await.unwrap(), Some(2));
    assert_eq!(
        texts(a.visible_history(&conv.id, 100).await.unwrap()),
        ["u1", "a1"]
    );
    // Redo brings back the oldest undone turn first.
    assert_eq!(a.redo_turn(&conv.id).await.unwrap(), Some(2));
    assert_eq!(
        texts(a.visible_history(&conv.id, 100).await.unwrap()),
        ["u1", "a1", "u2", "a2"]
    );
    // A new branch forgets what is still undone; numbers never repeat.
    assert_eq!(a.drop_undone(&conv.id).await.unwrap(), 2);
    assert_eq!(a.redo_turn(&conv.id).await.unwrap(), None);
    assert_eq!(a.next_turn(&conv.id).await.unwrap(), 4);
    // The history limit keeps the newest, oldest first.
    assert_eq!(
        texts(a.visible_history(&conv.id, 2).await.unwrap()),
        ["u2", "a2"]
    );

    assert_eq!(a.compact(&conv.id, 2, "S: one").await.unwrap(), 2);
    assert_eq!(
        a.summary(&conv.id).await.unwrap().as_deref(),
        Some("S: one")
    );
    assert_eq!(
        texts(a.visible_history(&conv.id, 100).await.unwrap()),
        ["u2", "a2"]
    );
    a.clear(&conv.id).await.unwrap();
    assert!(a.visible_history(&conv.id, 100).await.unwrap().is_empty());
    assert_eq!(a.summary(&conv.id).await.unwrap(), None);
    assert_eq!(a.undo_turn(&conv.id).await.unwrap(), None);
}

async fn approvals_persist_and_the_first_answer_wins(backend: Backend) {
    let t = migrated(backend).await;
    let (c, a) = (t.db.conversations(), t.db.agent());
    let conv = c
        .find_or_create("slack", "U1", Some("171.2"))
        .await
        .unwrap();
    let pending = PendingApproval {
        conversation_id: conv.id.clone(),
        turn: 1,
        tool_call_id: "call_1".into(),
        tool: "memory_write".into(),
        arguments: "{\"path\":\"notes/a.md\"}".into(),
        created_at: 5,
    };
    a.set_pending_approval(&pending).await.unwrap();
    assert_eq!(a.pending_approval(&conv.id).await.unwrap(), Some(pending));
    assert_eq!(
        c.conversation(&conv.id).await.unwrap().unwrap().state,
        "awaiting-approval"
    );
    assert!(
        !a.take_pending_approval(&conv.id, "call_other")
            .await
            .unwrap()
    );
    assert!(a.take_pending_approval(&conv.id, "call_1").await.unwrap());
    assert!(!a.take_pending_approval(&conv.id, "call_1").await.unwrap());
    assert_eq!(a.pending_approval(&conv.id).await.unwrap(), None);
    // An approval for a conversation that does not exist is refused.
    let mut ghost = PendingApproval {
        conversation_id: "nope".into(),
        turn: 1,
        tool_call_id: "c".into(),
        tool: "t".into(),
        arguments: "{}".into(),
        created_at: 1,
    };
    assert!(a.set_pending_approval(&ghost).await.is_err());
    ghost.conversation_id = conv.id.clone();

    assert!(
        !a.is_always_allowed("slack", "U1", "memory_write")
            .await
            .unwrap()
    );
    a.allow_always("slack", "U1", "memory_write").await.unwrap();
    a.allow_always("slack", "U1", "memory_write").await.unwrap();
    assert!(
        a.is_always_allowed("slack", "U1", "memory_write")
            .await
            .unwrap()
    );
    assert!(
        !a.is_always_allowed("slack", "U2", "memory_write")
            .await
            .unwrap()
    );
    assert!(
        !a.is_always_allowed("telegram", "U1", "memory_write")
            .await
            .unwrap()
    );
}

async fn threads_and_tool_calls(backend: Backend) {
    let t = migrated(backend).await;
    let (c, a) = (t.db.conversations(), t.db.agent());
    let main = c.find_or_create("repl", "owner", None).await.unwrap();
    let side = c
        .find_or_create("repl", "owner", Some("t-1"))
        .await
        .unwrap();
    c.find_or_create("repl", "someone-else", None)
        .await
        .unwrap();
    assert_eq!(a.current_thread("repl", "owner").await.unwrap(), None);
    a.set_current_thread("repl", "owner", &side.id)
        .await
        .unwrap();
    a.set_current_thread("repl", "owner", &main.id)
        .await
        .unwrap();
    assert_eq!(
        a.current_thread("repl", "owner").await.unwrap(),
        Some(main.id.clone())
    );
    // Times are in milliseconds: make "more recent" unambiguous.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    a.append_turn_message(&side.id, 1, "user", "hi", None)
        .await
        .unwrap();
    let threads = a.threads("repl", "owner").await.unwrap();
    assert_eq!(threads.len(), 2);
    assert_eq!(threads[0].conversation.id, side.id, "most recent first");
    assert_eq!((threads[0].messages, threads[1].messages), (1, 0));
    a.record_tool_call(ToolCallRecord {
        conversation_id: &side.id,
        turn: 1,
        tool_call_id: "call_9",
        tool: "echo",
        arguments: "{}",
        output: "<tool_output name=\"echo\">x</tool_output>",
        outcome: "ok",
        duration_ms: 3,
    })
    .await
    .unwrap();
    let bad = a
        .record_tool_call(ToolCallRecord {
            conversation_id: &side.id,
            turn: 1,
            tool_call_id: "call_10",
            tool: "echo",
            arguments: "{}",
            output: "",
            outcome: "maybe",
            duration_ms: 0,
        })
        .await;
    assert!(bad.is_err(), "the outcome is checked by the schema");
}

async fn a_turn_starts_and_a_tool_result_lands_in_one_transaction_each(backend: Backend) {
    let t = migrated(backend).await;
    let (c, a) = (t.db.conversations(), t.db.agent());
    let conv = c.find_or_create("cli", "owner", None).await.unwrap();
    a.start_turn(&conv.id, 1, "first").await.unwrap();
    assert_eq!(
        c.conversation(&conv.id).await.unwrap().unwrap().state,
        "processing"
    );
    a.append_tool_result(
        ToolCallRecord {
            conversation_id: &conv.id,
            turn: 1,
            tool_call_id: "call_1",
            tool: "echo",
            arguments: "{}",
            output: "<tool_output name=\"echo\">x</tool_output>",
            outcome: "ok",
            duration_ms: 2,
        },
        Some("{\"tool_call_id\":\"call_1\",\"name\":\"echo\"}"),
    )
    .await
    .unwrap();
    let h = a.visible_history(&conv.id, 10).await.unwrap();
    assert_eq!(
        h.iter()
            .map(|m| m.message.role.as_str())
            .collect::<Vec<_>>(),
        ["user", "tool"]
    );
    assert!(
        h[1].message
            .tool_calls
            .as_deref()
            .unwrap()
            .contains("call_1")
    );
    // An undone turn is forgotten when the next one starts.
    a.undo_turn(&conv.id).await.unwrap();
    a.start_turn(&conv.id, 2, "second").await.unwrap();
    assert_eq!(a.redo_turn(&conv.id).await.unwrap(), None);
    let h = a.visible_history(&conv.id, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].message.content, "second");
    // Neither writes anything for a conversation that does not exist.
    assert!(a.start_turn("nope", 1, "x").await.is_err());
    let orphan = a
        .append_tool_result(
            ToolCallRecord {
                conversation_id: "nope",
                turn: 1,
                tool_call_id: "c",
                tool: "t",
                arguments: "{}",
                output: "",
                outcome: "ok",
                duration_ms: 0,
            },
            None,
        )
        .await;
    assert!(orphan.is_err());
}

on_both_backends!(
    a_turn_starts_and_a_tool_result_lands_in_one_transaction_each,
    turns_undo_redo_clear_and_compact,
    approvals_persist_and_the_first_answer_wins,
    threads_and_tool_calls
);
