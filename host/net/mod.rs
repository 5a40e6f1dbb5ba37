//! The host's own door to the network, used by the mediated `wasi:http`
//! path (DESIGN §5) and registry downloads: address policy (no private,
//! loopback, link-local or metadata addresses unless the owner allows
//! loopback), connections to the vetted address only (no second lookup an
//! attacker's DNS could answer differently), TLS with the public web roots
//! (plus an owner-supplied CA), explicit timeouts and size caps.

pub mod address;
pub mod client;
pub mod config;
mod deadline;
pub mod tls;

pub use address::{AddressPolicy, Refusal};
pub use client::{Exchange, NetError, OutboundClient, Response};
pub use config::NetworkConfig;
