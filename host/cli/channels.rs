//! `ironclaw channels list|pair`, and starting the channel host and the
//! gateway for `ironclaw run`.

use std::sync::Arc;

use clap::Subcommand;
use serde_json::json;

use super::agent_host::AgentHost;
use super::{CliError, Context};
use crate::channels::{ChannelHub, HubParts, HubSink};
use crate::gateway::Gateway;
use crate::registry::ComponentKind;

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// Configured and installed channels with their health.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Approves a pairing code a channel user was given.
    Pair {
        /// The channel (`telegram`, `slack`, …).
        channel: String,
        /// The code, as the user received it (`ABCD-EFGH`).
        code: String,
    },
}

pub async fn run(ctx: &Context, cmd: ChannelsCommand) -> Result<(), CliError> {
    match cmd {
        ChannelsCommand::List { json } => super::status::print_channels(ctx, json).await,
        ChannelsCommand::Pair { channel, code } => {
            let db = super::db::open(ctx).await?;
            db.migrate()
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let code = code.trim().to_ascii_uppercase();
            match db
                .channels()
                .pairing_approve(&channel, &code)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?
            {
                Some(user) => {
                    println!("paired: {channel} user {user} may talk to the assistant now");
                    Ok(())
                }
                None => Err(CliError::Usage(format!(
                    "no pairing request on {channel} has code {code}"
                ))),
            }
        }
    }
}

/// What `run` keeps while channels serve.
pub struct ChannelsRunning {
    pub hub: Option<Arc<ChannelHub>>,
    gateway: Option<tokio::task::JoinHandle<()>>,
}

impl ChannelsRunning {
    pub async fn stop(self) {
        if let Some(g) = self.gateway {
            g.abort();
        }
        if let Some(hub) = self.hub {
            hub.shutdown().await;
        }
    }
}

/// Starts the channel hub (when channels are configured) and the gateway
/// (when `[gateway] listen` is set), reporting each on stderr.
pub async fn serve(ctx: &Context, host: &AgentHost) -> Result<ChannelsRunning, CliError> {
    let settings = ctx.config.channel_settings();
    let listen = ctx.config.gateway.listen.clone();
    if settings.is_empty() && listen.is_none() {
        return Ok(ChannelsRunning {
            hub: None,
            gateway: None,
        });
    }
    let db = super::db::open(ctx).await?;
    for c in host.reloader.live().all() {
        if c.manifest.kind == ComponentKind::Channel && !settings.contains_key(c.name.as_ref()) {
            eprintln!(
                "  channel {}: installed, not configured (add [channels.{}] to {})",
                c.name,
                c.name,
                ctx.home.config_file().display()
            );
        }
    }
    let hub = ChannelHub::new(HubParts {
        runtime: host.runtime.clone(),
        live: host.reloader.live().clone(),
        agent: host.agent.clone(),
        store: db.channels(),
        settings,
        secrets: host.lent.secrets.clone(),
    });
    let _ = host
        .runtime
        .services()
        .channels
        .set(Arc::new(HubSink(hub.clone())));
    let gateway = match listen {
        Some(addr) => {
            let gateway = Gateway::bind(&addr, hub.clone(), ctx.config.gateway.body_limit_bytes)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            if let Some(bound) = gateway.local_addr() {
                eprintln!("  gateway: listening on http://{bound}");
            }
            Some(tokio::spawn(gateway.serve()))
        }
        None => None,
    };
    for report in hub.start().await {
        match report.outcome {
            Ok(what) if what.is_empty() => eprintln!("  channel {}: started", report.channel),
            Ok(what) => eprintln!("  channel {}: {what}", report.channel),
            Err(why) => eprintln!("  channel {}: NOT started: {why}", report.channel),
        }
    }
    Ok(ChannelsRunning {
        hub: Some(hub),
        gateway,
    })
}

/// One channel as `channels list` and `status` show it.
pub(crate) fn channel_json(
    name: &str,
    configured: bool,
    installed: Option<String>,
    health: Option<&crate::store::domains::ChannelHealth>,
) -> serde_json::Value {
    json!({
        "channel": name,
        "configured": configured,
        "installed": installed,
        "last_inbound_at": health.and_then(|h| h.last_inbound_at),
        "last_outbound_at": health.and_then(|h| h.last_outbound_at),
        "last_error": health.and_then(|h| h.last_error.clone()),
        "last_error_at": health.and_then(|h| h.last_error_at),
        "poller": health.and_then(|h| h.poller.clone()),
        "pending": health.map_or(0, |h| h.pending),
        "failed": health.map_or(0, |h| h.failed),
    })
}
