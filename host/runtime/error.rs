//! Typed outcomes of a failed call: the limit that stopped a guest, or the
//! error the guest itself reported.

use serde::Serialize;
use wasmtime::Trap;

use crate::capabilities::HostState;
use crate::capabilities::stdio::StdioLimitExceeded;

use super::usage::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallErrorKind {
    /// The guest used up its fuel (CPU budget).
    FuelExhausted,
    /// The guest asked for more linear memory than its budget.
    MemoryLimit,
    /// The guest grew a table past its budget.
    TableLimit,
    /// The guest recursed past the native stack budget.
    StackOverflow,
    /// The call ran past its wall-clock budget (in guest code or waiting on the host).
    Timeout,
    /// The guest wrote too much to stdout/stderr, or returned too large a result.
    OutputLimit,
    /// The guest trapped (a panic, `unreachable`, a bad memory access …).
    Trap,
    /// The host refused before calling: bad parameters (not a JSON object).
    InvalidParams,
    /// No such tool in this component.
    UnknownTool,
    /// The tool reported that a capability it needs was not granted.
    Denied,
    /// The tool reported a failure of its own.
    ToolFailed,
    /// The component could not be instantiated.
    Instantiate,
}

impl CallErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallErrorKind::FuelExhausted => "fuel-exhausted",
            CallErrorKind::MemoryLimit => "memory-limit",
            CallErrorKind::TableLimit => "table-limit",
            CallErrorKind::StackOverflow => "stack-overflow",
            CallErrorKind::Timeout => "timeout",
            CallErrorKind::OutputLimit => "output-limit",
            CallErrorKind::Trap => "trap",
            CallErrorKind::InvalidParams => "invalid-params",
            CallErrorKind::UnknownTool => "unknown-tool",
            CallErrorKind::Denied => "denied",
            CallErrorKind::ToolFailed => "tool-failed",
            CallErrorKind::Instantiate => "instantiate",
        }
    }

    /// Kinds where the host stopped a misbehaving guest (as opposed to the
    /// guest reporting an error through its interface).
    pub fn is_containment(self) -> bool {
        matches!(
            self,
            CallErrorKind::FuelExhausted
                | CallErrorKind::MemoryLimit
                | CallErrorKind::TableLimit
                | CallErrorKind::StackOverflow
                | CallErrorKind::Timeout
                | CallErrorKind::OutputLimit
                | CallErrorKind::Trap
        )
    }
}

impl std::fmt::Display for CallErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct CallError {
    pub kind: CallErrorKind,
    pub message: String,
    /// What the call used before it failed (absent when it never started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl CallError {
    pub fn new(kind: CallErrorKind, message: impl Into<String>) -> CallError {
        CallError {
            kind,
            message: message.into(),
            usage: None,
        }
    }

    pub fn with_usage(mut self, usage: Usage) -> CallError {
        self.usage = Some(usage);
        self
    }
}

/// Turns a wasmtime error from instantiation or a call into the limit or
/// trap that really caused it. The limiter and stdio pipes remember what they
/// refused, because a refused `memory.grow` surfaces as a guest abort.
pub fn classify(err: &wasmtime::Error, state: &HostState, limits: &super::Limits) -> CallError {
    if err.downcast_ref::<StdioLimitExceeded>().is_some() || state.stdio_overflowed() {
        return CallError::new(
            CallErrorKind::OutputLimit,
            format!(
                "guest wrote more than {} bytes to stdout/stderr and was stopped",
                state.stdout_limit()
            ),
        );
    }
    let trap = err.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::OutOfFuel) => {
            return CallError::new(
                CallErrorKind::FuelExhausted,
                format!("guest used its whole fuel budget of {}", limits.fuel),
            );
        }
        Some(Trap::Interrupt) => {
            return CallError::new(
                CallErrorKind::Timeout,
                format!(
                    "guest code ran past the {} ms wall-clock budget",
                    limits.wall.as_millis()
                ),
            );
        }
        Some(Trap::StackOverflow) => {
            return CallError::new(
                CallErrorKind::StackOverflow,
                "guest exhausted its native stack (unbounded recursion)",
            );
        }
        _ => {}
    }
    if state.limiter.memory_refused {
        return CallError::new(
            CallErrorKind::MemoryLimit,
            format!(
                "guest tried to grow its memory past the {} MiB budget",
                limits.memory_bytes / (1024 * 1024)
            ),
        );
    }
    if state.limiter.table_refused {
        return CallError::new(
            CallErrorKind::TableLimit,
            format!(
                "guest tried to grow a table past {} elements",
                limits.table_elements
            ),
        );
    }
    let mut message = match trap {
        Some(t) => format!("guest trapped: {t}"),
        None => format!("guest failed: {}", first_line(&format!("{err:#}"))),
    };
    if let Some(panic) = state.last_stderr_line() {
        message.push_str(&format!(" ({panic})"));
    }
    CallError::new(CallErrorKind::Trap, message)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
