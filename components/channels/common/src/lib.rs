//! What the Slack, WhatsApp and generic webhook channel components share.
//! Everything but [`host`] is plain logic with no host calls, tested
//! natively:
//!
//! - [`split`]: long replies cut at paragraph, line or word boundaries to a
//!   provider's per-message limit;
//! - [`delivery`]: sending the parts of one reply so that a retried
//!   delivery does not post the parts that already went out again;
//! - [`answer`]: building `http-response`s and reading provider answers
//!   (status, `Retry-After`) into `channel-error`s;
//! - [`settings`]: reading the owner's `[channels.<name>]` keys.
//!
//! [`host`] is the thin glue over the SDK: config, db, emit, the mediated
//! HTTP client.

pub mod answer;
pub mod delivery;
pub mod host;
pub mod settings;
pub mod split;

pub use ironclaw_sdk::channel::{
    ChannelError, ChannelInfo, Endpoint, HttpRequest, HttpResponse, OutboundMessage, StatusKind,
    StatusUpdate,
};
pub use ironclaw_sdk::channel_host::{Attachment, InboundMessage};
