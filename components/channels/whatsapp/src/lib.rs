//! `whatsapp`: the WhatsApp Cloud API as a channel.
//!
//! In: Meta's webhook. The host answers the GET subscription check itself
//! (`hub.mode=subscribe`, `hub.verify_token` equal to the vault's
//! `whatsapp_verify_token`, `hub.challenge` echoed) and verifies each POST
//! (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` keyed
//! with `whatsapp_app_secret`) before [`webhook::parse`] sees it. Text
//! (and button, list-reply and captioned media) messages are emitted with
//! the `wamid` as message id, so a redelivered webhook runs once; delivery
//! statuses are acknowledged and dropped.
//!
//! Out: `POST {api-base-url}/{api-version}/{phone-number-id}/messages` with
//! a text body of at most 4 096 characters per message; the access token
//! (`whatsapp_access_token`) is injected by the host as the bearer.
//!
//! Config (`[channels.whatsapp]`): `phone-number-id` (default: the one the
//! inbound webhook named), `api-version` (default `v21.0`), `api-base-url`
//! (default `https://graph.facebook.com`).

pub mod cloud_api;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod component;
