//! A job's stdout and stderr, kept up to a cap shared by both; what comes
//! after is counted, not kept, and the result says so.

use serde::Serialize;

#[derive(Debug)]
pub struct Capped {
    cap: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    omitted: u64,
    /// The first cut was on stderr: the marker goes there.
    cut_on_stderr: bool,
}

/// The output as it goes back to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// Whether anything was cut.
    pub truncated: bool,
    /// Bytes cut (not kept) after the cap.
    pub omitted_bytes: u64,
}

impl Capped {
    pub fn new(cap: u64) -> Capped {
        Capped {
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            stdout: Vec::new(),
            stderr: Vec::new(),
            omitted: 0,
            cut_on_stderr: false,
        }
    }

    fn room(&self) -> usize {
        self.cap
            .saturating_sub(self.stdout.len() + self.stderr.len())
    }

    pub fn stdout(&mut self, bytes: &[u8]) {
        let room = self.room();
        keep(&mut self.stdout, &mut self.omitted, room, bytes);
    }

    pub fn stderr(&mut self, bytes: &[u8]) {
        let room = self.room();
        let before = self.omitted;
        keep(&mut self.stderr, &mut self.omitted, room, bytes);
        if before == 0 && self.omitted > 0 {
            self.cut_on_stderr = true;
        }
    }

    pub fn is_truncated(&self) -> bool {
        self.omitted > 0
    }

    /// Text, with a marker line where output was cut. A UTF-8 sequence
    /// cut in half by the cap is dropped rather than shown broken.
    pub fn finish(self) -> Output {
        let truncated = self.omitted > 0;
        let mut stdout = text(&self.stdout, truncated);
        let mut stderr = text(&self.stderr, truncated);
        if truncated {
            let marker = format!(
                "\n[output truncated: {} more bytes not shown (cap {} bytes)]\n",
                self.omitted, self.cap
            );
            if self.cut_on_stderr {
                stderr.push_str(&marker);
            } else {
                stdout.push_str(&marker);
            }
        }
        Output {
            stdout,
            stderr,
            truncated,
            omitted_bytes: self.omitted,
        }
    }
}

fn keep(into: &mut Vec<u8>, omitted: &mut u64, room: usize, bytes: &[u8]) {
    let taken = bytes.len().min(room);
    into.extend_from_slice(&bytes[..taken]);
    *omitted += (bytes.len() - taken) as u64;
}

fn text(bytes: &[u8], cut: bool) -> String {
    if !cut {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    // Drop an incomplete trailing sequence (at most 3 bytes).
    let end = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => bytes.len(),
    };
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_cap_nothing_is_marked() {
        let mut c = Capped::new(10);
        c.stdout(b"hi\n");
        c.stderr(b"err");
        let o = c.finish();
        assert_eq!(o.stdout, "hi\n");
        assert_eq!(o.stderr, "err");
        assert!(!o.truncated);
    }

    #[test]
    fn over_the_cap_is_cut_counted_and_marked() {
        let mut c = Capped::new(4);
        c.stdout(b"abc");
        c.stderr(b"defg");
        c.stdout(b"hij");
        let o = c.finish();
        assert_eq!(o.omitted_bytes, 6);
        assert!(o.truncated);
        assert!(o.stdout.starts_with("abc"));
        assert!(o.stderr.starts_with('d'));
        assert!(o.stderr.contains("6 more bytes not shown"), "{o:?}");
    }

    #[test]
    fn a_split_character_is_dropped() {
        let mut c = Capped::new(2);
        c.stdout("é€".as_bytes());
        let o = c.finish();
        assert!(o.stdout.starts_with('é'), "{:?}", o.stdout);
        assert!(!o.stdout.contains('\u{FFFD}'));
    }
}
