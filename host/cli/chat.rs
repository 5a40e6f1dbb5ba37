//! `ironclaw chat -m TEXT [--thread ID] [--json]`: one turn, for scripts.
//! The answer streams to stdout as it arrives (or prints once as JSON); an
//! approval question is printed and answered with `chat -m /approve`.

use std::io::Write;

use clap::Args;

use super::{CliError, Context};
use crate::agent::{AgentEvent, Inbound, ReplyKind};

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The message (or a /command such as /approve, /undo, /status).
    #[arg(short = 'm', long = "message")]
    pub message: String,
    /// The thread to talk in (created on first use); default: the current one.
    #[arg(long)]
    pub thread: Option<String>,
    /// Print the reply as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The channel user to act as.
    #[arg(long, default_value = "owner", hide = true)]
    pub user: String,
}

pub async fn run(ctx: &Context, args: ChatArgs) -> Result<(), CliError> {
    let host = super::agent_host::start(ctx).await?;
    for (name, reason) in &host.first_scan.failed {
        eprintln!("warning: {name} not loaded: {reason}");
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let json = args.json;
    let printer = tokio::spawn(async move {
        let mut streamed = false;
        while let Some(event) = rx.recv().await {
            match event {
                AgentEvent::Chunk { text } if !json => {
                    print!("{text}");
                    let _ = std::io::stdout().flush();
                    streamed = true;
                }
                AgentEvent::ToolStarted { name, .. } => eprintln!("[tool {name}]"),
                AgentEvent::ToolFinished { name, ok: false } => eprintln!("[tool {name} failed]"),
                _ => {}
            }
        }
        streamed
    });
    let result = host
        .agent
        .handle(
            Inbound {
                channel: "cli".into(),
                user_id: args.user,
                thread: args.thread,
                text: args.message,
            },
            Some(tx),
        )
        .await;
    let streamed = printer.await.unwrap_or(false);
    host.lent.audit.flush().await;
    let reply = result.map_err(|e| CliError::Failed(e.to_string()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&reply).map_err(|e| CliError::Failed(e.to_string()))?
        );
    } else if streamed && reply.kind == ReplyKind::Answer {
        // The answer already streamed; end its line.
        println!();
    } else {
        println!("{}", reply.text);
    }
    Ok(())
}
