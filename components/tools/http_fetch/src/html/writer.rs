//! The Markdown side of the conversion: collapses whitespace, separates
//! blocks, indents list items and quotes, and wraps inline spans.
//!
//! Nothing is written eagerly. Whitespace and block boundaries are *pending*
//! until real content follows, so empty elements leave no blank lines and the
//! text never starts or ends with whitespace. Inline markers (`**`, `[`) are
//! pending too: an empty `<b></b>` or a link around nothing leaves no
//! `****` or `[]()` behind.

/// What separates the next content from the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Break {
    None,
    Space,
    Line,
    Blank,
}

/// A block that prefixes each of its lines.
enum Container {
    Quote,
    /// A list item: its marker on the first line, as many spaces after.
    Item {
        marker: String,
        shown: bool,
    },
}

#[derive(PartialEq)]
enum SpanState {
    /// Opened in the HTML; nothing written yet.
    Pending,
    /// The opening marker is written.
    Open,
    /// Closed early by a line break, or never to be written.
    Done,
}

struct Span {
    open: String,
    close: String,
    state: SpanState,
}

pub struct Writer {
    out: String,
    containers: Vec<Container>,
    spans: Vec<Span>,
    pending: Break,
    at_line_start: bool,
    /// Set by a table cell separator: the cell's leading whitespace is not a space.
    swallow_space: bool,
    /// Headings and table cells stay on one line: breaks inside become spaces.
    inline_only: u32,
    /// `## ` for an open heading, written before its first content.
    heading: Option<String>,
    /// How many quotes the last line written was inside.
    quotes_at_last_line: usize,
}

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C')
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            out: String::new(),
            containers: Vec::new(),
            spans: Vec::new(),
            pending: Break::None,
            at_line_start: true,
            swallow_space: false,
            inline_only: 0,
            heading: None,
            quotes_at_last_line: 0,
        }
    }

    /// Text with its whitespace collapsed to single spaces.
    pub fn text(&mut self, s: &str) {
        if s.starts_with(is_html_space) {
            self.space();
        }
        let mut words = s.split(is_html_space).filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            self.content(first);
            for word in words {
                self.space();
                self.content(word);
            }
            if s.ends_with(is_html_space) {
                self.space();
            }
        }
    }

    pub fn space(&mut self) {
        self.pending = self.pending.max(Break::Space);
    }

    /// Forgets a pending space: a table cell's trailing whitespace is not text.
    pub fn drop_space(&mut self) {
        if self.pending == Break::Space {
            self.pending = Break::None;
        }
    }

    /// A block boundary: at least `b` between what came before and what follows.
    pub fn block(&mut self, b: Break) {
        let b = if self.inline_only > 0 {
            b.min(Break::Space)
        } else {
            b
        };
        self.pending = self.pending.max(b);
    }

    /// `<br>`: a line break; two in a row make a paragraph break.
    pub fn line_break(&mut self) {
        if self.pending >= Break::Line {
            self.block(Break::Blank);
        } else {
            self.block(Break::Line);
        }
    }

    /// Writes `s` as is, after whatever is pending.
    pub fn content(&mut self, s: &str) {
        self.flush();
        self.out.push_str(s);
    }

    /// A table cell's separator: `| ` first in a row, ` | ` after.
    pub fn cell_separator(&mut self, first: bool) {
        self.content(if first { "| " } else { " | " });
        self.swallow_space = true;
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.at_line_start = true;
    }

    fn flush(&mut self) {
        let pending = std::mem::replace(&mut self.pending, Break::None);
        if pending >= Break::Line && !self.out.is_empty() {
            // A span never crosses lines: Markdown would not read it as one.
            for span in self.spans.iter_mut().rev() {
                if span.state == SpanState::Open {
                    self.out.push_str(&span.close);
                    span.state = SpanState::Done;
                }
            }
            self.newline();
            if pending == Break::Blank {
                // Only the quotes around both the text before and after: a
                // quote that starts here starts after the blank line.
                let quotes = self
                    .containers
                    .iter()
                    .filter(|c| matches!(c, Container::Quote))
                    .count()
                    .min(self.quotes_at_last_line);
                self.out.push_str(&"> ".repeat(quotes));
                self.newline();
            }
        } else if pending == Break::Space && !self.at_line_start && !self.swallow_space {
            self.out.push(' ');
        }
        if self.at_line_start {
            self.write_prefix();
            self.quotes_at_last_line = self
                .containers
                .iter()
                .filter(|c| matches!(c, Container::Quote))
                .count();
        }
        self.at_line_start = false;
        self.swallow_space = false;
        if let Some(marker) = self.heading.take() {
            self.out.push_str(&marker);
        }
        for span in &mut self.spans {
            if span.state == SpanState::Pending {
                self.out.push_str(&span.open);
                span.state = SpanState::Open;
            }
        }
    }

    fn write_prefix(&mut self) {
        if !self.at_line_start {
            return;
        }
        for c in &mut self.containers {
            match c {
                Container::Quote => self.out.push_str("> "),
                Container::Item { marker, shown } => {
                    if *shown {
                        let width = marker.chars().count();
                        self.out.extend(std::iter::repeat_n(' ', width));
                    } else {
                        self.out.push_str(marker);
                        *shown = true;
                    }
                }
            }
        }
    }

    pub fn open_quote(&mut self) {
        self.block(Break::Blank);
        self.containers.push(Container::Quote);
    }

    pub fn open_item(&mut self, marker: String) {
        self.block(Break::Line);
        self.containers.push(Container::Item {
            marker,
            shown: false,
        });
    }

    /// Closes the innermost quote or list item.
    pub fn close_container(&mut self, after: Break) {
        self.containers.pop();
        self.block(after);
    }

    /// Opens an inline span written as `open`…`close` around its content.
    /// A span whose marker is already open inside the same one is written
    /// once: `<b><b>x</b></b>` is `**x**`.
    pub fn open_span(&mut self, open: &str, close: String) {
        let nested = self
            .spans
            .iter()
            .any(|s| s.open == open && s.state != SpanState::Done);
        self.spans.push(Span {
            open: open.to_string(),
            close,
            state: if nested {
                SpanState::Done
            } else {
                SpanState::Pending
            },
        });
    }

    pub fn close_span(&mut self) {
        if let Some(span) = self.spans.pop()
            && span.state == SpanState::Open
        {
            // Straight after the content: a pending space stays outside.
            self.out.push_str(&span.close);
        }
    }

    pub fn open_heading(&mut self, level: usize) {
        self.block(Break::Blank);
        self.heading = Some(format!("{} ", "#".repeat(level)));
        self.inline_only += 1;
    }

    pub fn close_heading(&mut self) {
        self.heading = None;
        self.inline_only = self.inline_only.saturating_sub(1);
        self.block(Break::Blank);
    }

    pub fn enter_inline_only(&mut self) {
        self.inline_only += 1;
    }

    pub fn leave_inline_only(&mut self) {
        self.inline_only = self.inline_only.saturating_sub(1);
    }

    /// A fenced code block; its lines keep their whitespace.
    pub fn code_block(&mut self, language: &str, code: &str) {
        // HTML drops a newline straight after `<pre>`; trailing blank lines
        // are layout, not code.
        let code = code.strip_prefix('\n').unwrap_or(code).trim_end();
        if code.trim().is_empty() {
            return;
        }
        let longest_run = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat((longest_run + 1).max(3));
        self.block(Break::Blank);
        self.content(&fence);
        self.out.push_str(language);
        for line in code.lines() {
            self.newline();
            self.write_prefix();
            self.out.push_str(line.trim_end());
        }
        self.newline();
        self.write_prefix();
        self.out.push_str(&fence);
        self.at_line_start = false;
        self.block(Break::Blank);
    }

    /// The Markdown, trailing spaces trimmed from every line.
    pub fn finish(self) -> String {
        let mut out = String::with_capacity(self.out.len());
        for line in self.out.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.truncate(out.trim_end().len());
        out
    }
}

/// The fence of a code block `markdown` leaves open (its end was cut off),
/// if any. Knows the converter's output only: fences of three or more
/// backticks, after quote and list-item prefixes.
pub fn open_fence(markdown: &str) -> Option<String> {
    let mut open: Option<&str> = None;
    for line in markdown.lines() {
        let l = without_prefixes(line);
        let run = l.len() - l.trim_start_matches('`').len();
        if run < 3 {
            continue;
        }
        match open {
            None => open = Some(&l[..run]),
            Some(fence) if l.trim_end() == fence => open = None,
            Some(_) => {}
        }
    }
    open.map(str::to_string)
}

/// A line without its quote markers, indentation and list markers.
fn without_prefixes(line: &str) -> &str {
    let mut l = line;
    loop {
        let before = l.len();
        l = l.trim_start_matches([' ', '>']);
        l = l
            .strip_prefix("- ")
            .or_else(|| l.strip_prefix(": "))
            .unwrap_or(l);
        let digits = l.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && l[digits..].starts_with(". ") {
            l = &l[digits + 2..];
        }
        if l.len() == before {
            return l;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace_and_separates_blocks() {
        let mut w = Writer::new();
        w.block(Break::Blank);
        w.text("  one \n\t two ");
        w.block(Break::Blank);
        w.block(Break::Line);
        w.text("three");
        w.block(Break::Blank);
        assert_eq!(w.finish(), "one two\n\nthree");
    }

    #[test]
    fn empty_spans_leave_nothing_and_spaces_stay_outside() {
        let mut w = Writer::new();
        w.text("a");
        w.open_span("**", "**".into());
        w.close_span();
        w.open_span("**", "**".into());
        w.text(" bold ");
        w.close_span();
        w.text("b");
        assert_eq!(w.finish(), "a **bold** b");
    }

    #[test]
    fn list_items_indent_their_later_lines() {
        let mut w = Writer::new();
        w.open_item("- ".into());
        w.text("first");
        w.open_item("1. ".into());
        w.text("inner");
        w.close_container(Break::Line);
        w.block(Break::Blank);
        w.text("para");
        w.close_container(Break::Line);
        assert_eq!(w.finish(), "- first\n  1. inner\n\n  para");
    }
}
