//! Everything a conversation needs, started once for `run` and `chat`: the
//! database (migrated, workspace seeded), API keys from the environment
//! moved into the vault, the runtime with what it lends, every component
//! loaded, the LLM chain over the configured adapters, and the agent.

use std::sync::Arc;

use super::lend::Lent;
use super::{CliError, Context};
use crate::agent::{Agent, AgentParts, ToolHost};
use crate::llm::Provider;
use crate::llm::budget::Accounting;
use crate::llm::chain::Chain;
use crate::llm::component_provider::ComponentProvider;
use crate::llm::config::EnvKey;
use crate::memory::MemoryStore;
use crate::registry::admission::InstalledPolicy;
use crate::registry::discovery;
use crate::registry::reload::{Reloader, RescanReport};
use crate::runtime::Runtime;
use crate::runtime::live::LiveSet;
use crate::secrets::{MasterKey, Vault};
use crate::store::Database;

pub struct AgentHost {
    pub agent: Arc<Agent>,
    pub runtime: Arc<Runtime>,
    pub reloader: Arc<Reloader>,
    pub chain: Option<Arc<Chain>>,
    pub lent: Lent,
    pub memory: Arc<dyn MemoryStore>,
    /// What the first scan loaded and refused.
    pub first_scan: RescanReport,
}

pub async fn start(ctx: &Context) -> Result<AgentHost, CliError> {
    let (db, memory) = super::memory::open_with_db(ctx).await?;
    let (llm_config, env_keys) = ctx
        .config
        .llm
        .clone()
        .with_env(|name| std::env::var(name).ok());
    store_env_keys(ctx, &db, &env_keys).await?;
    let mut runtime = ctx.runtime()?;
    for dir in [ctx.home.components_dir(), ctx.home.dev_dir()] {
        crate::config::create_private_dir(&dir)
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    runtime.set_memory(memory.clone());
    let lent = super::lend::lend(ctx, &db, &mut runtime).await?;
    let runtime = Arc::new(runtime);
    let live = Arc::new(LiveSet::new());
    let reloader = Arc::new(
        Reloader::new(
            runtime.clone(),
            live.clone(),
            discovery::search_path(&ctx.config, &ctx.home),
            Arc::new(InstalledPolicy::new(
                ctx.home.clone(),
                Some(db.components()),
                ctx.config.components.settings.clone(),
            )),
        )
        .with_status_file(super::run::status_file(ctx)),
    );
    let first_scan = reloader.rescan().await;
    let providers: Vec<Arc<dyn Provider>> = llm_config
        .providers()
        .into_iter()
        .map(|settings| {
            Arc::new(ComponentProvider::new(settings, &runtime, live.clone())) as Arc<dyn Provider>
        })
        .collect();
    let chain = if providers.is_empty() {
        None
    } else {
        let accounting = Arc::new(Accounting::from_config(
            db.llm_usage(),
            &llm_config.resilience,
        ));
        let chain = Chain::new(providers, &llm_config.resilience, Some(accounting))
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Some(Arc::new(chain))
    };
    if let Some(chain) = &chain {
        // Components granted `llm` complete through the same chain.
        let _ = runtime
            .services()
            .llm
            .set(chain.clone() as Arc<dyn Provider>);
    }
    // Components' outbound bodies pass the same filters as the turn's text.
    crate::agent::safety::FilterBodyScreen::install(
        &runtime,
        live.clone(),
        ctx.config.safety.clone(),
    );
    let skills = Arc::new(crate::skills::Catalog::new(ctx.home.clone()));
    let agent = Agent::new(AgentParts {
        conversations: db.conversations(),
        store: db.agent(),
        llm: chain.clone().map(|c| c as Arc<dyn Provider>),
        tools: Arc::new({
            let tools = match super::sandbox::container_tools(ctx, &db) {
                Some(containers) => {
                    ToolHost::new(runtime.clone(), live).with_containers(containers)
                }
                None => ToolHost::new(runtime.clone(), live),
            };
            if ctx.config.skills.enabled {
                tools.with_skills(Arc::new(crate::skills::tools::SkillTools::new(
                    skills.clone(),
                )))
            } else {
                tools
            }
        }),
        memory: Some(memory.clone()),
        secrets: lent.secrets.clone(),
        config: crate::agent::AgentConfig {
            safety: ctx.config.safety.clone(),
            ..ctx.config.agent.clone()
        },
        config_path: ctx.home.config_file().display().to_string(),
    })
    .with_skills(skills, ctx.config.skills.clone());
    Ok(AgentHost {
        agent: Arc::new(agent),
        runtime,
        reloader,
        chain,
        lent,
        memory,
        first_scan,
    })
}

/// Stores API keys given by environment in the vault (creating the master
/// key on first use), so they are never written to disk in clear. A key
/// already stored with the same value is left alone.
async fn store_env_keys(ctx: &Context, db: &Database, keys: &[EnvKey]) -> Result<(), CliError> {
    if keys.is_empty() {
        return Ok(());
    }
    let key = MasterKey::load_or_create(&ctx.home).map_err(|e| CliError::Failed(e.to_string()))?;
    let vault = Vault::new(db.secrets(), key);
    for k in keys {
        let stored = vault
            .get(k.secret_name)
            .await
            .map_err(|e| CliError::Failed(format!("cannot read secret {}: {e}", k.secret_name)))?;
        if stored.as_ref().map(|v| v.expose()) == Some(k.value.expose()) {
            continue;
        }
        vault.set(k.secret_name, &k.value).await.map_err(|e| {
            CliError::Failed(format!("cannot store {} in the vault: {e}", k.variable))
        })?;
        eprintln!(
            "{} stored in the vault as secret `{}`; it can be unset from the environment now",
            k.variable, k.secret_name
        );
    }
    Ok(())
}
