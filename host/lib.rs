//! IronClaw host: a small Rust host in which almost everything is a
//! WebAssembly component. See DESIGN.md for the shape of the house.

pub mod agent;
pub mod capabilities;
pub mod channels;
pub mod civil;
pub mod cli;
pub mod config;
pub mod cpu;
pub mod gateway;
pub mod leak;
pub mod llm;
pub mod memory;
pub mod net;
pub mod registry;
pub mod runtime;
pub mod sandbox;
pub mod scaffold;
pub mod secrets;
pub mod skills;
pub mod store;
pub mod toml_file;
pub mod trust;
