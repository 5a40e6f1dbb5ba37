//! Who may talk to the assistant on a channel: the owner's allowlist,
//! then `unknown-users` (pair, ignore, open); and which group messages run.

use super::ChannelHub;
use super::config::{ChannelSettings, Groups, UnknownUsers};
use super::message::InboundMessage;
use crate::store::StoreError;

pub(crate) enum Decision {
    Run,
    /// Not run, with why (for the log and the message row).
    Drop(String),
    /// Answered with this pairing text instead of a turn.
    Pair(String),
}

/// Letters and digits that cannot be misread for one another.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn new_code() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Database(format!("no randomness for a pairing code: {e}")))?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// Why a group message does not run a turn under `groups`, if it does not.
pub(crate) fn ignored_group_message(
    settings: &ChannelSettings,
    message: &InboundMessage,
) -> Option<&'static str> {
    if message.is_direct {
        return None;
    }
    match settings.groups {
        Groups::Off => Some("group messages are off"),
        Groups::Mention if !message.mentions_bot => Some("group message without a mention"),
        _ => None,
    }
}

/// Why the owner's policy refuses this user outright, if it does: not on
/// `allow-users` while unknown users are ignored. Known without the
/// database, so such a message is stored as dropped at once.
pub(crate) fn ignored_user(
    settings: &ChannelSettings,
    message: &InboundMessage,
) -> Option<&'static str> {
    let ignored = settings.unknown_users == UnknownUsers::Ignore
        && !settings.allows(&message.user_id, message.user_name.as_deref());
    ignored.then_some("user not on allow-users")
}

impl ChannelHub {
    pub(crate) async fn decide(
        &self,
        channel: &str,
        message: &InboundMessage,
    ) -> Result<Decision, StoreError> {
        let Some(settings) = self.settings(channel) else {
            return Ok(Decision::Drop("channel not configured".into()));
        };
        if let Some(why) = ignored_group_message(settings, message) {
            return Ok(Decision::Drop(why.into()));
        }
        if settings.allows(&message.user_id, message.user_name.as_deref()) {
            return Ok(Decision::Run);
        }
        match settings.unknown_users {
            UnknownUsers::Open => Ok(Decision::Run),
            UnknownUsers::Ignore => Ok(Decision::Drop("user not on allow-users".into())),
            UnknownUsers::Pair => {
                let code = match self.store.pairing(channel, &message.user_id).await? {
                    Some((_, true)) => return Ok(Decision::Run),
                    Some((code, false)) => code,
                    None => {
                        let code = new_code()?;
                        self.store
                            .pairing_request(channel, &message.user_id, &code)
                            .await?
                    }
                };
                Ok(Decision::Pair(format!(
                    "Hi! I don't know you yet. To talk with me, ask my owner to approve pairing code {code} \
                     (`ironclaw channels pair {channel} {code}`)."
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_two_groups_of_four_unambiguous_characters() {
        let code = super::new_code().unwrap();
        assert_eq!(code.len(), 9);
        assert!(
            code.chars()
                .filter(|c| *c != '-')
                .all(|c| super::ALPHABET.contains(&(c as u8)))
        );
        assert_ne!(code, super::new_code().unwrap());
    }
}
