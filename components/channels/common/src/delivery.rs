//! Sending the parts of one reply so that a retry resumes.
//!
//! The host retries `on-respond` when it fails (`retry-after`, `failed`).
//! When a reply was split and part 3 of 5 failed, posting parts 1 and 2
//! again would duplicate them in the chat; so after each part goes out its
//! count is written to the component's `db`, and the retry starts after
//! it. A reply of one part needs no record. Recording is best effort: a
//! db that refuses only costs the resumption, never the delivery.

/// Where the count of parts already sent is kept (the `db` capability in a
/// component, a map in tests).
pub trait Progress {
    fn sent(&self, key: &str) -> usize;
    fn record(&self, key: &str, sent: usize);
    fn clear(&self, key: &str);
}

/// The db key for one reply: its target, what it answers and its text,
/// hashed (FNV-1a, 64 bit) so a key stays short and holds no user text.
pub fn progress_key(fields: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for field in fields {
        for b in field.bytes().chain([0u8]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("delivery/{hash:016x}")
}

/// Sends every part not sent yet, in order, through `send` (which gets
/// the part's index and text). Stops at the first error and returns it,
/// with the parts before it recorded as sent.
pub fn deliver<E>(
    key: &str,
    parts: &[String],
    progress: &impl Progress,
    mut send: impl FnMut(usize, &str) -> Result<(), E>,
) -> Result<(), E> {
    let resumable = parts.len() > 1;
    let start = if resumable { progress.sent(key) } else { 0 };
    for (i, part) in parts.iter().enumerate().skip(start) {
        send(i, part)?;
        if resumable && i + 1 < parts.len() {
            progress.record(key, i + 1);
        }
    }
    if resumable {
        progress.clear(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Map(RefCell<HashMap<String, usize>>);
    impl Progress for Map {
        fn sent(&self, key: &str) -> usize {
            self.0.borrow().get(key).copied().unwrap_or(0)
        }
        fn record(&self, key: &str, sent: usize) {
            self.0.borrow_mut().insert(key.into(), sent);
        }
        fn clear(&self, key: &str) {
            self.0.borrow_mut().remove(key);
        }
    }

    fn parts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("part {i}")).collect()
    }

    #[test]
    fn a_retry_resumes_after_the_parts_already_sent() {
        let map = Map::default();
        let key = progress_key(&["C1", "C1:1.0", "text"]);
        let mut posted = Vec::new();
        let r = deliver(&key, &parts(4), &map, |i, p| {
            if i == 2 {
                return Err("rate limited");
            }
            posted.push(p.to_string());
            Ok(())
        });
        assert_eq!(r, Err("rate limited"));
        assert_eq!(posted, ["part 0", "part 1"]);
        assert_eq!(map.sent(&key), 2);
        // The retry posts only what is missing, then forgets the reply.
        deliver(&key, &parts(4), &map, |_, p| {
            posted.push(p.to_string());
            Ok::<(), &str>(())
        })
        .unwrap();
        assert_eq!(posted, ["part 0", "part 1", "part 2", "part 3"]);
        assert!(map.0.borrow().is_empty());
    }

    #[test]
    fn one_part_keeps_no_record() {
        let map = Map::default();
        let mut calls = 0;
        deliver("k", &parts(1), &map, |_, _| {
            calls += 1;
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(calls, 1);
        assert!(map.0.borrow().is_empty());
    }

    #[test]
    fn keys_differ_by_every_field_and_hold_no_text() {
        let a = progress_key(&["C1", "m1", "hello"]);
        assert_ne!(a, progress_key(&["C1", "m1", "hello!"]));
        assert_ne!(a, progress_key(&["C1", "m2", "hello"]));
        // Field boundaries count: ("ab","c") is not ("a","bc").
        assert_ne!(progress_key(&["ab", "c"]), progress_key(&["a", "bc"]));
        assert!(!a.contains("hello"));
        assert!(a.starts_with("delivery/"));
    }
}
