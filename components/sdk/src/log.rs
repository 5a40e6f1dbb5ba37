//! Logging through the host's `logging` capability.
//!
//! Log calls never fail the component: when the host refuses a line (rate or
//! size cap, or no grant) the line is dropped, which is what a logger should do.

use crate::logging::{self, Level};

pub fn log(level: Level, message: &str) {
    let _ = logging::log(level, message);
}

pub fn trace(message: &str) {
    log(Level::Trace, message)
}

pub fn debug(message: &str) {
    log(Level::Debug, message)
}

pub fn info(message: &str) {
    log(Level::Info, message)
}

pub fn warn(message: &str) {
    log(Level::Warn, message)
}

pub fn error(message: &str) {
    log(Level::Error, message)
}
