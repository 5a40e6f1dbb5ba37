//! One poller per channel, whatever reloads happen: the loop looks up the
//! live version on every round, so a new version takes over the next poll
//! and there is never a second loop for the same bot.

use std::sync::Arc;
use std::time::Duration;

use super::{ChannelHub, backoff, lock};
use crate::runtime::channel::ChannelError;
use crate::store::domains::HealthEvent;

/// Shortest pause between polls: a component that asks for 0 ms (a long
/// poll that waits by itself) still cannot spin the host.
const MIN_INTERVAL: Duration = Duration::from_millis(50);

impl ChannelHub {
    pub(crate) fn spawn_poller(self: &Arc<Self>, name: String) {
        if !lock(&self.pollers).insert(name.clone()) {
            return;
        }
        let hub = self.clone();
        tokio::spawn(async move {
            hub.poll_loop(&name).await;
            lock(&hub.pollers).remove(&name);
        });
    }

    async fn poll_loop(&self, name: &str) {
        let mut failures: i64 = 0;
        while !self.stopping() {
            let started = match self.ensure_started(name).await {
                Ok(s) => s,
                Err(_) => {
                    // Recorded by ensure_started; try again later.
                    self.poller_health(name, "waiting for the channel to start")
                        .await;
                    tokio::time::sleep(backoff(failures)).await;
                    failures += 1;
                    continue;
                }
            };
            let Some(ms) = started.info.poll_interval_ms else {
                self.poller_health(name, "stopped (the channel does not poll)")
                    .await;
                return;
            };
            self.poller_health(name, "polling").await;
            let (answer, _) = self
                .runtime
                .channel_poll(&started.component, started.grants.clone())
                .await;
            let pause = match answer {
                Ok(Ok(())) => {
                    failures = 0;
                    Duration::from_millis(u64::from(ms)).max(MIN_INTERVAL)
                }
                Ok(Err(ChannelError::RetryAfter(Some(secs)))) => {
                    let why = format!("poll: provider asked to retry after {secs} s");
                    self.health(name, HealthEvent::Error(&why)).await;
                    self.poller_health(name, &format!("backing off {secs} s"))
                        .await;
                    Duration::from_secs(u64::from(secs).clamp(1, 3600))
                }
                Ok(Err(e)) => {
                    failures += 1;
                    let why = format!("poll: {e}");
                    self.health(name, HealthEvent::Error(&why)).await;
                    let pause = backoff(failures - 1);
                    self.poller_health(name, &format!("backing off {} s", pause.as_secs()))
                        .await;
                    pause
                }
                Err(e) => {
                    failures += 1;
                    let why = format!("poll failed: {e}");
                    self.health(name, HealthEvent::Error(&why)).await;
                    let pause = backoff(failures - 1);
                    self.poller_health(name, &format!("backing off {} s", pause.as_secs()))
                        .await;
                    pause
                }
            };
            tokio::time::sleep(pause).await;
        }
        self.poller_health(name, "stopped").await;
    }
}
