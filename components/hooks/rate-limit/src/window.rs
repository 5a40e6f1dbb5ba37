//! The sliding-window log, its compact encoding and the db keys (pure: the
//! clock and the db are the caller's).
//!
//! A sliding log is exact: "at most N per W seconds" holds over every
//! W-second interval, which is what an owner writing `max-messages = 20`,
//! `window-seconds = 3600` expects (a token bucket would let a full burst
//! through and then keep refilling). It costs one timestamp per admitted
//! event, at most N per key, and only admitted events are recorded: a user
//! who keeps sending while limited does not push their own wait further out.

/// Timestamps are Unix seconds.
pub type Secs = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Admit the event; store this history (oldest first) under its key.
    Allow(Vec<Secs>),
    /// Refuse it; the oldest counted event leaves the window in this many
    /// seconds (at least 1).
    Deny { retry_after: Secs },
}

/// Whether `t` is still inside the window that ends at `now`. A timestamp
/// from the future (the clock went back) counts, which errs on the side of
/// the limit.
fn live(t: Secs, now: Secs, window: Secs) -> bool {
    t.saturating_add(window) > now
}

/// The events still counted at `now`, newest `max` at most.
pub fn prune(history: &[Secs], now: Secs, window: Secs, max: usize) -> Vec<Secs> {
    let mut kept: Vec<Secs> = history
        .iter()
        .copied()
        .filter(|&t| live(t, now, window))
        .collect();
    if kept.len() > max {
        kept.drain(..kept.len() - max);
    }
    kept
}

/// Admit one more event at `now` if fewer than `max` are counted in the
/// `window` seconds before it.
pub fn decide(history: &[Secs], now: Secs, max: u32, window: Secs) -> Decision {
    let max = max.max(1) as usize;
    let mut kept = prune(history, now, window, max);
    if kept.len() < max {
        // Never store a stamp older than the last one: the encoding is
        // delta-based and a clock step back must not make it negative.
        let stamp = kept.last().map_or(now, |&last| last.max(now));
        kept.push(stamp);
        return Decision::Allow(kept);
    }
    let oldest = kept[0];
    Decision::Deny {
        retry_after: oldest.saturating_add(window).saturating_sub(now).max(1),
    }
}

/// Whether every event in `history` has left the window: the key can go.
pub fn expired(history: &[Secs], now: Secs, window: Secs) -> bool {
    history.iter().all(|&t| !live(t, now, window))
}

const FORMAT: u8 = 1;

/// Version byte, then LEB128 varints: the first timestamp, then the gaps
/// between successive ones. Twenty events a minute apart take ~25 bytes.
pub fn encode(history: &[Secs]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + history.len() * 2 + 4);
    out.push(FORMAT);
    let mut prev = 0;
    for &t in history {
        varint(&mut out, t.saturating_sub(prev));
        prev = t;
    }
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `None` when the bytes are not this encoding (then the caller starts
/// afresh: a lost history only forgives a few events).
pub fn decode(bytes: &[u8]) -> Option<Vec<Secs>> {
    let (&format, mut rest) = bytes.split_first()?;
    if format != FORMAT {
        return None;
    }
    let mut out = Vec::new();
    let mut prev: Secs = 0;
    while !rest.is_empty() {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let (&b, tail) = rest.split_first()?;
            rest = tail;
            if shift > 63 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        prev = prev.checked_add(v)?;
        out.push(prev);
    }
    Some(out)
}

/// Prefix of the keys counting inbound messages.
pub const MESSAGES: &str = "m/";
/// Prefix of the keys counting tool calls.
pub const TOOLS: &str = "t/";
/// When the last sweep of stale keys ran (encoded like a history).
pub const SWEEP: &str = "sweep";

/// Keys above this are hashed: the host allows 512 bytes, and channel or
/// user ids are not ours to bound.
const MAX_KEY: usize = 200;

/// The key counting inbound messages from `user` on `channel`.
pub fn message_key(channel: &str, user: &str) -> String {
    key(MESSAGES, &[channel, user])
}

/// The key counting calls of `tool` made for `user` on `channel`.
pub fn tool_key(channel: &str, user: &str, tool: &str) -> String {
    key(TOOLS, &[channel, user, tool])
}

/// Parts joined with `/`, each with `%` and `/` percent-encoded so that no
/// two different (channel, user) pairs share a key.
fn key(prefix: &str, parts: &[&str]) -> String {
    let mut k = prefix.to_string();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            k.push('/');
        }
        for c in part.chars() {
            match c {
                '%' => k.push_str("%25"),
                '/' => k.push_str("%2F"),
                c if c.is_control() => k.push_str(&format!("%{:02X}", c as u32 & 0xff)),
                c => k.push(c),
            }
        }
    }
    if k.len() <= MAX_KEY {
        return k;
    }
    format!("{prefix}#{:016x}", fnv1a(k.as_bytes()))
}

/// FNV-1a, 64-bit: stable across builds (unlike std's hasher), and a
/// collision between two users' over-long keys would merely share a count.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `secs` for people: "45 s", "3 min 5 s", "2 h 5 min", "1 d 3 h".
pub fn human(secs: Secs) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let pair = |a: u64, ua: &str, b: u64, ub: &str| {
        if b == 0 {
            format!("{a} {ua}")
        } else {
            format!("{a} {ua} {b} {ub}")
        }
    };
    if d > 0 {
        pair(d, "d", h, "h")
    } else if h > 0 {
        pair(h, "h", m, "min")
    } else if m > 0 {
        pair(m, "min", s, "s")
    } else {
        format!("{s} s")
    }
}
