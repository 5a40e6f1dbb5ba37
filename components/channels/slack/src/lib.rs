//! `slack`: Slack's Events API as a channel.
//!
//! In: the host verifies the v0 signature (`X-Slack-Signature` over
//! `v0:{timestamp}:{body}` with `slack_signing_secret`, 300 s window) and
//! dedupes on `event_id` (so Slack's retries, `X-Slack-Retry-Num`, run
//! once) before [`Guest::on_http_request`] sees the body. The component
//! answers `url_verification`, and emits `message` / `app_mention` events
//! from people (never bots, edits or itself) with message id
//! `<channel>:<ts>`, so the two events of one post run once.
//!
//! Out: `chat.postMessage` in the message's thread, split at 4 000
//! characters; the bot token (`slack_bot_token`) is injected by the host as
//! the bearer. Rate limits come back as `retry-after`.
//!
//! Config (`[channels.slack]`): `api-base-url` (default
//! `https://slack.com/api`), `bot-user-id` (default: learned from
//! `auth.test` at start and kept in the db, or from the payload's
//! bot authorization).

pub mod events;
pub mod web_api;

#[cfg(target_arch = "wasm32")]
mod component;
