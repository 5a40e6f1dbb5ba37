//! `webhook`: a generic signed JSON webhook as a channel, for connecting
//! anything that can POST JSON (scripts, home automation, other bots).
//!
//! In: `POST /webhook/webhook` with `{"id", "user", "text", "thread"?}`.
//! The host verifies `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of
//! "{timestamp}.{body}">` keyed with `webhook_secret`, with
//! `X-Webhook-Timestamp` within 300 s, and dedupes on `/id`.
//!
//! Out, by `reply` in `[channels.webhook]`:
//! - `response` (default): the request waits for the answer (at most
//!   `timeout-ms`, default 60 000) and gets `200 {"id", "reply"}`; past the
//!   wait it gets `202 {"queued": true}` and the answer goes to the
//!   callback when one is configured;
//! - `callback`: `202 {"queued": true}` at once; the answer is POSTed to
//!   `callback-url` as `{"id", "user", "thread", "text"}`, signed by the
//!   host (`X-Webhook-Signature` over `{timestamp}.{body}` with
//!   `webhook_callback_secret`, timestamp in `X-Webhook-Timestamp`); the
//!   component never holds either secret.

pub mod payload;

#[cfg(target_arch = "wasm32")]
mod component;
