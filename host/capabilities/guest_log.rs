//! `logging`: guest log lines into the host's tracing, capped per call in
//! count and size. Over the cap the guest gets `limited`, not a trap.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::grants::Capability;
use super::state::HostState;
use crate::config::GuestLoggingConfig;
use crate::leak::LeakSite;
use crate::runtime::bindings::imports::ironclaw::host::logging::{Host, Level};
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;

/// A token bucket shared by every call of one loaded component, so that
/// many short calls cannot flood the log either.
#[derive(Debug)]
pub struct LogRate {
    per_second: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl LogRate {
    pub fn new(config: &GuestLoggingConfig) -> LogRate {
        let burst = f64::from(config.lines_per_call.max(1));
        LogRate {
            per_second: f64::from(config.lines_per_second),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    fn take(&self) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let (tokens, last) = *state;
        let now = Instant::now();
        let refilled =
            (tokens + now.duration_since(last).as_secs_f64() * self.per_second).min(self.burst);
        if refilled < 1.0 {
            *state = (refilled, now);
            return false;
        }
        *state = (refilled - 1.0, now);
        true
    }
}

pub struct GuestLog {
    component: Arc<str>,
    config: GuestLoggingConfig,
    rate: Arc<LogRate>,
    pub(crate) accepted: u32,
    pub(crate) refused: u32,
}

impl GuestLog {
    pub fn new(component: Arc<str>, config: GuestLoggingConfig, rate: Arc<LogRate>) -> GuestLog {
        GuestLog {
            component,
            config,
            rate,
            accepted: 0,
            refused: 0,
        }
    }

    /// The caps, checked before the line is scanned or formatted, so a
    /// flood of refused lines costs the guest its fuel, not the host time.
    fn admit(&mut self, len: usize) -> Result<(), CapabilityError> {
        if len > self.config.max_line_bytes {
            self.refused += 1;
            return Err(CapabilityError::Limited(format!(
                "log line of {} bytes exceeds the {}-byte cap",
                len, self.config.max_line_bytes
            )));
        }
        if self.accepted >= self.config.lines_per_call {
            self.refused += 1;
            if self.refused == 1 {
                tracing::warn!(component = %self.component, cap = self.config.lines_per_call,
                    "guest log cap reached; further lines this call are dropped");
            }
            return Err(CapabilityError::Limited(format!(
                "more than {} log lines in one call",
                self.config.lines_per_call
            )));
        }
        if !self.rate.take() {
            self.refused += 1;
            return Err(CapabilityError::Limited(format!(
                "more than {} log lines per second from this component",
                self.config.lines_per_second
            )));
        }
        self.accepted += 1;
        Ok(())
    }

    fn write(&mut self, level: Level, message: &str) -> Result<(), CapabilityError> {
        let c = &*self.component;
        match level {
            Level::Trace => tracing::trace!(target: "guest", component = c, "{message}"),
            Level::Debug => tracing::debug!(target: "guest", component = c, "{message}"),
            Level::Info => tracing::info!(target: "guest", component = c, "{message}"),
            Level::Warn => tracing::warn!(target: "guest", component = c, "{message}"),
            Level::Error => tracing::error!(target: "guest", component = c, "{message}"),
        }
        Ok(())
    }
}

impl Host for HostState {
    async fn log(
        &mut self,
        level: Level,
        message: String,
    ) -> wasmtime::Result<Result<(), CapabilityError>> {
        if let Err(denied) = self.check(Capability::Logging) {
            return Ok(Err(denied));
        }
        if let Err(limited) = self.log.admit(message.len()) {
            return Ok(Err(limited));
        }
        // Logs are redacted, never refused: the owner still sees that the
        // guest said something, without the secret (a canary blocks).
        let set = self.services.secrets.current();
        let Some(scanner) = set.scanner() else {
            return Ok(Err(CapabilityError::Failed(
                "the leak scanner is unavailable; log line dropped".into(),
            )));
        };
        let clean = match scanner.check_at(message.as_bytes(), LeakSite::Log, "log line") {
            Ok(std::borrow::Cow::Borrowed(_)) => return Ok(self.log.write(level, &message)),
            Ok(redacted) => String::from_utf8_lossy(&redacted).into_owned(),
            Err(blocked) => {
                self.services.audit.record(
                    &self.caller,
                    "log.leak-blocked",
                    serde_json::json!({ "reason": blocked.to_string() }),
                );
                return Ok(Err(CapabilityError::Denied(format!(
                    "logging: blocked: {blocked}"
                ))));
            }
        };
        self.services.audit.record(
            &self.caller,
            "log.redacted",
            serde_json::json!({ "level": format!("{level:?}") }),
        );
        Ok(self.log.write(level, &clean))
    }
}
