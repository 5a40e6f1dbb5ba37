//! Slash commands: `/help /status /undo /redo /clear /compact
//! /thread new|list|switch /approve [always] /deny`.

use tokio::sync::mpsc::UnboundedSender;

use super::turn::Decision;
use super::{Agent, AgentError, AgentEvent, Inbound, Reply, ReplyKind};
use crate::store::domains::Conversation;

const HELP: &str = "Commands:
  /help                 this list
  /status               thread, model, turn state, pending approval
  /undo                 take back the last turn (the model forgets it)
  /redo                 bring back the last undone turn
  /clear                forget this thread's history
  /compact              summarise older turns to free context
  /thread new           start a new thread
  /thread list          your threads
  /thread switch ID     continue another thread (an id or its first characters)
  /approve              run the tool call waiting for approval, this once
  /approve always       run it, and this tool from now on without asking
  /deny                 refuse the tool call waiting for approval";

impl Agent {
    pub(crate) async fn command(
        &self,
        inbound: &Inbound,
        conversation: &Conversation,
        text: &str,
        events: Option<UnboundedSender<AgentEvent>>,
    ) -> Result<Reply, AgentError> {
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let say = |text: String| self.reply(ReplyKind::Command, text, conversation, 0);
        match (name, args.as_slice()) {
            ("/help", []) => Ok(say(HELP.into())),
            ("/status", []) => Ok(say(self.status_text(conversation).await?)),
            ("/undo", []) => Ok(say(match self.store.undo_turn(&conversation.id).await? {
                Some(turn) => format!("Undid turn {turn}. /redo brings it back."),
                None => "Nothing to undo.".into(),
            })),
            ("/redo", []) => Ok(say(match self.store.redo_turn(&conversation.id).await? {
                Some(turn) => format!("Restored turn {turn}."),
                None => "Nothing to redo.".into(),
            })),
            ("/clear", []) => {
                self.store.clear(&conversation.id).await?;
                self.end_session(conversation).await;
                Ok(say("Cleared this thread's history.".into()))
            }
            ("/compact", []) => {
                let llm = self.llm_or_explain()?;
                let next = self.store.next_turn(&conversation.id).await?;
                let hidden = self.compact(&llm, conversation, next - 1).await?;
                Ok(say(if hidden == 0 {
                    "Nothing old enough to compact.".into()
                } else {
                    format!("Compacted {hidden} messages into a summary.")
                }))
            }
            ("/thread", ["new"]) => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                let thread = format!("t-{}", &id[..8]);
                let c = self
                    .conversations
                    .find_or_create(&inbound.channel, &inbound.user_id, Some(&thread))
                    .await?;
                self.store
                    .set_current_thread(&inbound.channel, &inbound.user_id, &c.id)
                    .await?;
                self.end_session(conversation).await;
                Ok(self.reply(
                    ReplyKind::Command,
                    format!("Started thread {thread}."),
                    &c,
                    0,
                ))
            }
            ("/thread", ["list"]) => {
                let threads = self
                    .store
                    .threads(&inbound.channel, &inbound.user_id)
                    .await?;
                let mut out = String::from("Threads (most recent first):");
                for t in threads {
                    let marker = if t.conversation.id == conversation.id {
                        "*"
                    } else {
                        " "
                    };
                    out.push_str(&format!(
                        "\n{marker} {}  {}  {} messages  {}",
                        thread_label(&t.conversation),
                        &t.conversation.id[..8.min(t.conversation.id.len())],
                        t.messages,
                        t.conversation.state
                    ));
                }
                Ok(say(out))
            }
            ("/thread", ["switch", wanted]) => {
                let threads = self
                    .store
                    .threads(&inbound.channel, &inbound.user_id)
                    .await?;
                let matches: Vec<_> = threads
                    .iter()
                    .filter(|t| {
                        t.conversation.external_thread_id.as_deref() == Some(*wanted)
                            || t.conversation.id.starts_with(wanted)
                            || (*wanted == "main" && t.conversation.external_thread_id.is_none())
                    })
                    .collect();
                match matches.as_slice() {
                    [one] => {
                        self.store
                            .set_current_thread(
                                &inbound.channel,
                                &inbound.user_id,
                                &one.conversation.id,
                            )
                            .await?;
                        Ok(self.reply(
                            ReplyKind::Command,
                            format!("Switched to thread {}.", thread_label(&one.conversation)),
                            &one.conversation,
                            0,
                        ))
                    }
                    [] => Ok(say(format!(
                        "No thread matches `{wanted}`; see /thread list."
                    ))),
                    _ => Ok(say(format!(
                        "`{wanted}` matches {} threads; give more characters.",
                        matches.len()
                    ))),
                }
            }
            ("/approve", []) | ("/approve", ["once"]) => {
                self.answer(conversation, Decision::Once, events).await
            }
            ("/approve", ["always"]) => self.answer(conversation, Decision::Always, events).await,
            ("/deny", []) => self.answer(conversation, Decision::Deny, events).await,
            _ => Ok(say(format!("Unknown command `{text}`. /help lists them."))),
        }
    }

    async fn answer(
        &self,
        conversation: &Conversation,
        decision: Decision,
        events: Option<UnboundedSender<AgentEvent>>,
    ) -> Result<Reply, AgentError> {
        match self.store.pending_approval(&conversation.id).await? {
            Some(pending) => self.resume(conversation, pending, decision, events).await,
            None => Ok(self.reply(
                ReplyKind::Command,
                "No tool call is waiting for approval.".into(),
                conversation,
                0,
            )),
        }
    }

    async fn status_text(&self, conversation: &Conversation) -> Result<String, AgentError> {
        let history = self
            .store
            .visible_history(&conversation.id, self.config.history_messages)
            .await?;
        let turns = history
            .iter()
            .map(|m| m.turn)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let model = match &self.llm {
            None => "none configured".to_string(),
            Some(llm) => match llm.describe().await {
                Ok(info) => format!(
                    "{} ({}; window {} tokens)",
                    llm.name(),
                    info.name,
                    info.context_window
                ),
                Err(e) => format!("{} ({e})", llm.name()),
            },
        };
        let mut out = format!(
            "Thread: {} ({})\nState: {}\nModel: {model}\nHistory: {} messages in {turns} turns{}\nTools: {}",
            thread_label(conversation),
            conversation.id,
            conversation.state,
            history.len(),
            if self.store.summary(&conversation.id).await?.is_some() {
                " plus a summary"
            } else {
                ""
            },
            self.tools.tools().len()
        );
        if let Some(p) = self.store.pending_approval(&conversation.id).await? {
            out.push_str(&format!(
                "\nWaiting for approval: {} {}",
                p.tool, p.arguments
            ));
        }
        Ok(out)
    }
}

fn thread_label(c: &Conversation) -> String {
    c.external_thread_id
        .clone()
        .unwrap_or_else(|| "main".to_string())
}
