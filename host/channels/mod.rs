//! The channel host (DESIGN §6): starts each configured channel component,
//! routes verified webhooks to it, schedules its polls, queues what it
//! emits (persisted, deduplicated), runs the agent turn under the owner's
//! policy, delivers the answer through the component with retries, and
//! records each channel's health for `ironclaw status`.

pub mod config;
mod deliver;
pub use deliver::HubSink;
pub mod grant;
mod health;
pub mod message;
mod pairing;
mod poller;
pub mod webhook;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::agent::Agent;
use crate::capabilities::Grants;
use crate::capabilities::live_secrets::LiveSecrets;
use crate::registry::ComponentKind;
use crate::runtime::channel::ChannelInfo;
use crate::runtime::live::LiveSet;
use crate::runtime::{LoadedComponent, Runtime};
use crate::store::domains::{ChannelStore, HealthEvent};
use config::ChannelSettings;

/// Agent turns running at once for all channels together.
const CONCURRENT_TURNS: usize = 16;
/// Delivery attempts (webhook to component, answer to provider) before a
/// request or message is given up and shown as failed.
pub(crate) const MAX_ATTEMPTS: i64 = 5;

/// A channel whose `on-start` succeeded, for one loaded version.
pub struct Started {
    pub component: Arc<LoadedComponent>,
    pub grants: Arc<Grants>,
    pub info: ChannelInfo,
}

pub struct HubParts {
    pub runtime: Arc<Runtime>,
    pub live: Arc<LiveSet>,
    pub agent: Arc<Agent>,
    pub store: Arc<dyn ChannelStore>,
    pub settings: BTreeMap<String, ChannelSettings>,
    pub secrets: LiveSecrets,
}

pub struct ChannelHub {
    runtime: Arc<Runtime>,
    live: Arc<LiveSet>,
    agent: Arc<Agent>,
    store: Arc<dyn ChannelStore>,
    settings: BTreeMap<String, ChannelSettings>,
    secrets: LiveSecrets,
    started: Mutex<HashMap<String, Arc<Started>>>,
    /// One `on-start` at a time, so two webhooks right after a reload do
    /// not register the channel twice.
    starting: tokio::sync::Mutex<()>,
    turns: Semaphore,
    pollers: Mutex<HashSet<String>>,
    stopping: AtomicBool,
    /// The last poller state written per channel (health rows change only
    /// when it does).
    poller_state: Mutex<HashMap<String, String>>,
    health: health::HealthRecorder,
}

/// What `start` reports per configured channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartReport {
    pub channel: String,
    pub outcome: Result<String, String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ChannelHub {
    pub fn new(parts: HubParts) -> Arc<ChannelHub> {
        Arc::new(ChannelHub {
            runtime: parts.runtime,
            live: parts.live,
            agent: parts.agent,
            health: health::HealthRecorder::new(parts.store.clone()),
            store: parts.store,
            settings: parts.settings,
            secrets: parts.secrets,
            started: Mutex::new(HashMap::new()),
            starting: tokio::sync::Mutex::new(()),
            turns: Semaphore::new(CONCURRENT_TURNS),
            pollers: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
            poller_state: Mutex::new(HashMap::new()),
        })
    }

    /// The channels the owner configured, by name.
    pub fn configured(&self) -> impl Iterator<Item = &String> {
        self.settings.keys()
    }

    /// Starts every configured channel, its poller when it polls, and
    /// resumes what a previous run left queued.
    pub async fn start(self: &Arc<Self>) -> Vec<StartReport> {
        let mut reports = Vec::new();
        let names: Vec<String> = self.settings.keys().cloned().collect();
        for name in names {
            let outcome = match self.ensure_started(&name).await {
                Ok(started) => {
                    let endpoints: Vec<String> = started
                        .info
                        .endpoints
                        .iter()
                        .map(|e| {
                            format!(
                                "{} /webhook/{name}{}",
                                e.methods.join("|"),
                                suffix_path(&e.suffix)
                            )
                        })
                        .collect();
                    let mut what = Vec::new();
                    if !endpoints.is_empty() {
                        what.push(endpoints.join(", "));
                    }
                    if let Some(ms) = started.info.poll_interval_ms {
                        what.push(format!("polling every {ms} ms"));
                        self.spawn_poller(name.clone());
                    }
                    Ok(what.join("; "))
                }
                Err(e) => {
                    // A channel that failed to start is retried by its
                    // next webhook; a polling one would never be, so its
                    // poller starts anyway and keeps trying.
                    self.spawn_poller(name.clone());
                    Err(e)
                }
            };
            reports.push(StartReport {
                channel: name,
                outcome,
            });
        }
        self.resume().await;
        reports
    }

    /// The started state for the channel's live version, calling
    /// `on-start` when the version changed (a hot reload) or never started.
    pub async fn ensure_started(&self, name: &str) -> Result<Arc<Started>, String> {
        let loaded = self
            .live
            .get(name)
            .filter(|c| c.manifest.kind == ComponentKind::Channel);
        let Some(loaded) = loaded else {
            self.stop_tracking(name);
            let why = format!("channel component `{name}` is not installed (or not loaded)");
            self.health(name, HealthEvent::Error(&why)).await;
            return Err(why);
        };
        if let Some(s) = self.current(name, &loaded) {
            return Ok(s);
        }
        let _one = self.starting.lock().await;
        if let Some(s) = self.current(name, &loaded) {
            return Ok(s);
        }
        let grants = match grant::channel_grant(&loaded.manifest, &loaded.grants) {
            Ok(g) => Arc::new(g),
            Err(e) => {
                self.health(name, HealthEvent::Error(&e)).await;
                return Err(e);
            }
        };
        let (answer, _usage) = self.runtime.channel_start(&loaded, grants.clone()).await;
        let info = match answer {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                let why = format!("{name}: on-start refused: {e}");
                self.health(name, HealthEvent::Error(&why)).await;
                return Err(why);
            }
            Err(e) => {
                let why = format!("{name}: on-start failed: {e}");
                self.health(name, HealthEvent::Error(&why)).await;
                return Err(why);
            }
        };
        tracing::info!(channel = name, digest = %loaded.digest.to_hex(), "channel started");
        let started = Arc::new(Started {
            component: loaded,
            grants,
            info,
        });
        lock(&self.started).insert(name.to_string(), started.clone());
        Ok(started)
    }

    fn current(&self, name: &str, loaded: &LoadedComponent) -> Option<Arc<Started>> {
        lock(&self.started)
            .get(name)
            .filter(|s| s.component.digest == loaded.digest)
            .cloned()
    }

    fn stop_tracking(&self, name: &str) {
        lock(&self.started).remove(name);
    }

    /// Tells every started channel the host is stopping.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let started: Vec<Arc<Started>> = lock(&self.started).values().cloned().collect();
        for s in started {
            let (r, _) = self
                .runtime
                .channel_shutdown(&s.component, s.grants.clone())
                .await;
            if let Err(e) = r {
                tracing::warn!(channel = %s.component.name, "on-shutdown failed: {e}");
            }
        }
        self.health.flush().await;
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Records a health event; a failing database is logged, never fatal.
    pub(crate) async fn health(&self, channel: &str, event: HealthEvent<'_>) {
        self.health.record(channel, event).await;
    }

    pub(crate) async fn poller_health(&self, channel: &str, state: &str) {
        {
            let mut states = lock(&self.poller_state);
            if states.get(channel).map(String::as_str) == Some(state) {
                return;
            }
            states.insert(channel.to_string(), state.to_string());
        }
        self.health(channel, HealthEvent::Poller(state)).await;
    }

    pub(crate) fn settings(&self, channel: &str) -> Option<&ChannelSettings> {
        self.settings.get(channel)
    }
}

/// `/suffix` or nothing for the root endpoint.
pub(crate) fn suffix_path(suffix: &str) -> String {
    let s = suffix.trim_matches('/');
    if s.is_empty() {
        String::new()
    } else {
        format!("/{s}")
    }
}

/// 1, 2, 4 … 60 s.
pub(crate) fn backoff(attempt: i64) -> Duration {
    let exp = u32::try_from(attempt.clamp(0, 6)).unwrap_or(6);
    Duration::from_secs((1u64 << exp).min(60))
}
