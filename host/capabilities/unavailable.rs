//! Interfaces that carry only types: their `Host` traits have no functions.

use super::state::HostState;
use crate::runtime::bindings::imports::ironclaw::host::{llm_types, types};

impl types::Host for HostState {}
impl llm_types::Host for HostState {}
