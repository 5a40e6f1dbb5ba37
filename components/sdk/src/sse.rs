//! An incremental Server-Sent Events parser (the WHATWG `text/event-stream`
//! format): feed it bytes as they arrive, in chunks of any size, and take
//! the events each chunk completes.
//!
//! ```text
//! let mut sse = SseParser::new();
//! for chunk in body_chunks {
//!     for event in sse.feed(chunk) {
//!         // event.event ("message" unless the stream named it), event.data
//!     }
//! }
//! if let Some(last) = sse.finish() { /* an event the stream did not end with a blank line */ }
//! ```
//!
//! Lines may end in LF, CRLF or CR, and a CRLF may be split between two
//! chunks; `data:` lines of one event are joined with `\n`; comment lines
//! (`:` first) and unknown fields are ignored; one space after the colon is
//! dropped; a UTF-8 byte-order mark at the very start is skipped. Text is
//! decoded per line, so a character split between chunks arrives whole.
//! Invalid UTF-8 becomes U+FFFD, as browsers do.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, or `message` when the stream gave none.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream so far, if any.
    pub id: Option<String>,
}

/// The incremental parser. Its memory is the longest unfinished line plus
/// the event being assembled; callers bound both by bounding the body.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF starting the next one belongs to it.
    after_cr: bool,
    /// Whether the byte-order mark check at the start is done.
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    retry: Option<u64>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// The reconnection time the stream asked for (`retry:`), in ms.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Parses `bytes` and returns the events they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut rest = bytes;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.process_line(&line) {
                events.push(event);
            }
        }
        self.line.extend_from_slice(rest);
        events
    }

    /// The end of the stream. The standard drops an event not followed by
    /// a blank line; this returns it instead (after taking an unfinished
    /// last line as complete), so a server that closes right after its last
    /// `data:` line still delivers it. Callers that must know whether the
    /// stream ended cleanly check for their protocol's final event.
    pub fn finish(&mut self) -> Option<SseEvent> {
        self.after_cr = false;
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.process_line(&line) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    fn process_line(&mut self, line: &[u8]) -> Option<SseEvent> {
        let mut line = line;
        if !self.started {
            self.started = true;
            if let Some(tail) = line.strip_prefix("\u{feff}".as_bytes()) {
                line = tail;
            }
        }
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &line[line.len()..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => self.event = Some(value.into_owned()),
            b"id" if !value.contains('\0') => self.id = Some(value.into_owned()),
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event: event
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "message".to_string()),
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| p.feed(c)).collect();
        out.extend(p.finish());
        out
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: None,
        }
    }

    #[test]
    fn parses_named_and_default_events() {
        let got = all(&[b"event: ping\ndata: {}\n\ndata: hello\n\n"]);
        assert_eq!(got, [ev("ping", "{}"), ev("message", "hello")]);
    }

    #[test]
    fn every_line_ending_works() {
        let want = [ev("a", "1"), ev("message", "2"), ev("b", "3")];
        assert_eq!(
            all(&[b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\rdata: 3\nevent: b\n\n"]),
            want
        );
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let stream: &[u8] = "\u{feff}: comment\r\nevent: x\r\ndata: é1\r\ndata:2\r\n\r\n\
                             data: {\"a\": \"ü\"}\r\r\nid: 7\ndata\n\n"
            .as_bytes();
        let whole = all(&[stream]);
        assert_eq!(whole.len(), 3, "{whole:?}");
        assert_eq!(whole[0], ev("x", "é1\n2"));
        // `\r\r\n` is a CR line end, then a blank line (CRLF).
        assert_eq!(whole[1], ev("message", "{\"a\": \"ü\"}"));
        // A bare `data` line is a data field with an empty value.
        assert_eq!(whole[2].data, "");
        assert_eq!(whole[2].id.as_deref(), Some("7"));
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(all(&[a, b]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all(&bytes), whole);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        assert_eq!(
            all(&[b"data: a\r", b"\n", b"\r", b"\ndata: b\r", b"\r\n"]),
            [ev("message", "a"), ev("message", "b")]
        );
        // An empty chunk between CR and LF changes nothing.
        assert_eq!(all(&[b"data: a\r", b"", b"\n\r\n"]), [ev("message", "a")]);
    }

    #[test]
    fn comments_unknown_fields_and_empty_events_are_ignored() {
        let got = all(&[b": keep-alive\n\nfoo: bar\nevent: e\n\nretry: 300\ndata:x\n\n"]);
        // The `event: e` block has no data: nothing is dispatched and its
        // type does not leak into the next event.
        assert_eq!(got, [ev("message", "x")]);
        let mut p = SseParser::new();
        p.feed(b"retry: 300\nretry: x1\n");
        assert_eq!(p.retry(), Some(300));
    }

    #[test]
    fn only_one_space_after_the_colon_is_dropped() {
        assert_eq!(all(&[b"data:  two\n\n"]), [ev("message", " two")]);
        assert_eq!(all(&[b"data:a:b\n\n"]), [ev("message", "a:b")]);
    }

    #[test]
    fn finish_returns_an_unterminated_last_event() {
        assert_eq!(all(&[b"data: [DONE]"]), [ev("message", "[DONE]")]);
        assert_eq!(all(&[b"data: x\n"]), [ev("message", "x")]);
        assert_eq!(all(&[b"event: only\n"]), []);
        assert_eq!(all(&[b""]), []);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(all(&[b"data: a\xffb\n\n"]), [ev("message", "a\u{fffd}b")]);
    }

    #[test]
    fn long_lines_over_many_chunks() {
        let payload = "x".repeat(100_000);
        let stream = format!("data: {payload}\n\n");
        let chunks: Vec<&[u8]> = stream.as_bytes().chunks(7).collect();
        assert_eq!(all(&chunks), [ev("message", &payload)]);
    }
}
