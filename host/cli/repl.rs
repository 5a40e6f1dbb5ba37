//! The owner's REPL in `ironclaw run`: line editing and history (rustyline,
//! on its own thread), answers streamed as they arrive, tool calls shown,
//! and approval questions answered with y / a / n.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::agent::{Agent, AgentEvent, Inbound, ReplyKind};

const CHANNEL: &str = "repl";
const USER: &str = "owner";

/// A line typed at the prompt, and where to say the turn is done.
type Line = (String, oneshot::Sender<Prompt>);

/// What the next prompt asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Message,
    Approval,
}

/// Reads lines on a plain thread (rustyline blocks) and hands each to the
/// async side, waiting for its turn to finish before prompting again.
fn spawn_reader(history: PathBuf) -> mpsc::Receiver<Line> {
    let (tx, rx) = mpsc::channel::<Line>(1);
    std::thread::spawn(move || {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("the REPL cannot start: {e}");
                return;
            }
        };
        let _ = editor.load_history(&history);
        let mut prompt = Prompt::Message;
        loop {
            let text = match prompt {
                Prompt::Message => "you> ",
                Prompt::Approval => "approve? [y]es once / [a]lways / [n]o> ",
            };
            let line = match editor.readline(text) {
                Ok(line) => line,
                // Ctrl-C or Ctrl-D: leave the REPL (the host stops).
                Err(_) => break,
            };
            let line = line.trim().to_string();
            if line.is_empty() {
                continue;
            }
            let _ = editor.add_history_entry(line.as_str());
            let line = match (prompt, line.to_ascii_lowercase().as_str()) {
                (Prompt::Approval, "y" | "yes") => "/approve".to_string(),
                (Prompt::Approval, "a" | "always") => "/approve always".to_string(),
                (Prompt::Approval, "n" | "no") => "/deny".to_string(),
                _ => line,
            };
            if line == "/exit" || line == "/quit" {
                break;
            }
            let (done_tx, done_rx) = oneshot::channel();
            if tx.blocking_send((line, done_tx)).is_err() {
                break;
            }
            prompt = done_rx.blocking_recv().unwrap_or(Prompt::Message);
        }
        let _ = editor.save_history(&history);
    });
    rx
}

/// Runs the REPL until the owner leaves it (Ctrl-D, Ctrl-C, /exit).
pub async fn serve(agent: Arc<Agent>, history: PathBuf) {
    println!("Talk to the assistant; /help lists commands, Ctrl-D leaves.");
    let mut lines = spawn_reader(history);
    while let Some((line, done)) = lines.recv().await {
        let next = turn(&agent, line).await;
        let _ = done.send(next);
    }
}

async fn turn(agent: &Agent, line: String) -> Prompt {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut streamed = false;
        while let Some(event) = rx.recv().await {
            match event {
                AgentEvent::Chunk { text } => {
                    if !streamed {
                        print!("assistant> ");
                    }
                    print!("{text}");
                    let _ = std::io::stdout().flush();
                    streamed = true;
                }
                AgentEvent::ToolStarted { name, arguments } => {
                    if streamed {
                        println!();
                        streamed = false;
                    }
                    println!("  [tool {name} {arguments}]");
                }
                AgentEvent::ToolFinished { name, ok: false } => {
                    println!("  [tool {name} failed]")
                }
                _ => {}
            }
        }
        streamed
    });
    let result = agent
        .handle(
            Inbound {
                channel: CHANNEL.into(),
                user_id: USER.into(),
                thread: None,
                text: line,
            },
            Some(tx),
        )
        .await;
    let streamed = printer.await.unwrap_or(false);
    match result {
        Ok(reply) => {
            match (reply.kind, streamed) {
                (ReplyKind::Answer, true) => println!(),
                (ReplyKind::Answer, false) => println!("assistant> {}", reply.text),
                _ => {
                    if streamed {
                        println!();
                    }
                    println!("{}", reply.text);
                }
            }
            if reply.kind == ReplyKind::ApprovalNeeded {
                Prompt::Approval
            } else {
                Prompt::Message
            }
        }
        Err(e) => {
            if streamed {
                println!();
            }
            println!("error: {e}");
            Prompt::Message
        }
    }
}
