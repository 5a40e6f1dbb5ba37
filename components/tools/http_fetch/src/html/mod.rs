//! HTML to Markdown for reading, not for round trips.
//!
//! A tolerant tokenizer feeds a stack of open elements; each element's effect
//! on the output (a heading marker, a list item's indentation, a link's
//! `[…](…)`) is undone when it closes, explicitly or implied by what HTML
//! lets authors leave out (`<li>` and `<p>` without end tags, a body that
//! forgets to close `<head>`). What a reader never sees — scripts, styles,
//! navigation, SVG, hidden elements — is dropped with everything inside it.
//! Work is linear in the input: end tags that match nothing are found in a
//! count table, implied-close searches look a bounded way up the stack, and
//! the stack itself has a depth limit.

mod elements;
mod entities;
mod tokenizer;
mod writer;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::url::Base;
use elements::{
    PARAGRAPH_SCOPE, belongs_in_head, closes_paragraph, is_dropped, is_line_block, is_void,
};
use tokenizer::{Tag, Token, Tokenizer};
use writer::{Break, Writer};

pub use writer::open_fence;

/// A converted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The first `<title>`, whitespace collapsed; `None` when absent or empty.
    pub title: Option<String>,
    pub markdown: String,
}

/// Elements deeper than this are read as plain text containers: a page
/// nested this deep is broken or hostile, and the stack stays small.
const MAX_DEPTH: usize = 512;

/// How far up the stack an implied close looks for its element.
const IMPLIED_CLOSE_REACH: usize = 64;

#[derive(Debug)]
enum Action {
    None,
    Block(Break),
    Drop,
    Head,
    Title,
    Span,
    Heading,
    List,
    Item,
    Quote,
    Pre,
    Table,
    Row,
    Cell,
}

struct Open<'a> {
    name: Cow<'a, str>,
    action: Action,
}

struct Pre {
    /// Nested `<pre>` inside this one.
    depth: u32,
    language: String,
    code: String,
}

#[derive(Default)]
struct TableState {
    rows: usize,
    cells: usize,
}

struct Converter<'a> {
    w: Writer,
    stack: Vec<Open<'a>>,
    /// How many of each element are open: an end tag for one that is not
    /// is ignored without a walk up the stack.
    open_counts: BTreeMap<Cow<'a, str>, u32>,
    /// Inside this many dropped elements (0: output is live).
    dropped: u32,
    in_head: u32,
    headings: u32,
    title: Option<String>,
    title_text: Option<String>,
    page: Option<Base>,
    base: Option<Base>,
    base_seen: bool,
    /// Per open list: `None` unordered, `Some(n)` the next number.
    lists: Vec<Option<u64>>,
    pre: Option<Pre>,
    tables: Vec<TableState>,
}

/// The Markdown of `html`, its links resolved against `page_url`.
pub fn to_markdown(html: &str, page_url: &str) -> Page {
    let page = Base::parse(page_url);
    let mut c = Converter {
        w: Writer::new(),
        stack: Vec::new(),
        open_counts: BTreeMap::new(),
        dropped: 0,
        in_head: 0,
        headings: 0,
        title: None,
        title_text: None,
        base: page.clone(),
        page,
        base_seen: false,
        lists: Vec::new(),
        pre: None,
        tables: Vec::new(),
    };
    for token in Tokenizer::new(html) {
        match token {
            Token::Text { text, raw } => c.text(text, raw),
            Token::Start(tag) => c.start(tag),
            Token::End(name) => c.end(name),
        }
    }
    // Whatever the page left open ends with it (an unclosed <pre> still shows).
    while !c.stack.is_empty() {
        c.pop();
    }
    Page {
        title: c.title,
        markdown: c.w.finish(),
    }
}

/// `s` with runs of whitespace made single spaces, trimmed.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// A fenced block's info string from `class="language-rust"` (or `lang-`).
fn language_of(tag: &Tag<'_>) -> Option<String> {
    let class = tag.attr("class")?;
    class
        .split_ascii_whitespace()
        .find_map(|c| {
            c.strip_prefix("language-")
                .or_else(|| c.strip_prefix("lang-"))
        })
        .filter(|l| {
            !l.is_empty()
                && l.len() <= 32
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '#' | '.' | '-'))
        })
        .map(str::to_string)
}

impl<'a> Converter<'a> {
    fn text(&mut self, text: &str, raw: bool) {
        // Raw text is only ever the inside of a dropped element (script, style…).
        if raw {
            return;
        }
        if let Some(title) = &mut self.title_text {
            title.push_str(&entities::decode(text));
            return;
        }
        if self.dropped > 0 || self.in_head > 0 {
            return;
        }
        let text = entities::decode(text);
        match &mut self.pre {
            Some(pre) => pre.code.push_str(&text),
            None => self.w.text(&text),
        }
    }

    fn count(&self, name: &str) -> u32 {
        self.open_counts.get(name).copied().unwrap_or(0)
    }

    fn pop(&mut self) {
        if let Some(open) = self.stack.pop() {
            if let Some(n) = self.open_counts.get_mut(&open.name) {
                *n = n.saturating_sub(1);
            }
            self.close(open.action);
        }
    }

    /// Pops up to and including the innermost open `name`, if any.
    fn close_to(&mut self, name: &str) {
        if self.count(name) == 0 {
            return;
        }
        while let Some(open) = self.stack.last() {
            let done = open.name == name;
            self.pop();
            if done {
                break;
            }
        }
    }

    /// Closes an open `name` that HTML lets authors leave open, unless one
    /// of `scope` lies between it and the top of the stack.
    fn close_implied(&mut self, names: &[&str], scope: &[&str]) {
        let depth = self.stack.len();
        let found = self
            .stack
            .iter()
            .rev()
            .take(IMPLIED_CLOSE_REACH)
            .map(|o| o.name.as_ref())
            .take_while(|n| !scope.contains(n))
            .position(|n| names.contains(&n));
        if let Some(above) = found {
            let keep = depth - 1 - above;
            while self.stack.len() > keep {
                self.pop();
            }
        }
    }

    fn start(&mut self, tag: Tag<'a>) {
        let name = tag.name.as_ref();
        if self.in_head > 0 && !belongs_in_head(name) {
            self.close_to("head");
        }
        if closes_paragraph(name) {
            self.close_implied(&["p"], PARAGRAPH_SCOPE);
        }
        match name {
            "li" => self.close_implied(&["li"], &["ul", "ol", "menu"]),
            "dt" | "dd" => self.close_implied(&["dt", "dd"], &["dl"]),
            "tr" => self.close_implied(&["tr"], &["table"]),
            "td" | "th" => self.close_implied(&["td", "th"], &["tr", "table"]),
            "option" => self.close_implied(&["option"], &["select", "datalist"]),
            // A link inside a link: HTML ends the outer one first.
            "a" => self.close_implied(&["a"], &[]),
            _ => {}
        }
        if is_void(name) {
            self.void(&tag);
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            return;
        }
        let action = self.open(&tag);
        if tag.self_closing {
            self.close(action);
            return;
        }
        *self.open_counts.entry(tag.name.clone()).or_insert(0) += 1;
        self.stack.push(Open {
            name: tag.name,
            action,
        });
    }

    fn end(&mut self, name: Cow<'a, str>) {
        match name.as_ref() {
            "br" => self.line_break(),
            // `</p>` with no open `<p>` is an empty paragraph in HTML.
            "p" if self.count("p") == 0 => self.w.block(Break::Blank),
            n => self.close_to(n),
        }
    }

    fn line_break(&mut self) {
        if self.dropped > 0 || self.in_head > 0 {
            return;
        }
        match &mut self.pre {
            Some(pre) => pre.code.push('\n'),
            None => self.w.line_break(),
        }
    }

    fn void(&mut self, tag: &Tag<'_>) {
        match tag.name.as_ref() {
            "br" => self.line_break(),
            "base" if !self.base_seen => {
                // Only the first <base> counts, as in browsers.
                self.base_seen = true;
                if let Some(href) = tag.attr("href") {
                    let resolved = self.page.as_ref().and_then(|p| p.resolve(&href));
                    if let Some(base) = resolved.as_deref().and_then(Base::parse) {
                        self.base = Some(base);
                    }
                }
            }
            _ if self.dropped > 0 || self.in_head > 0 || self.pre.is_some() => {}
            "hr" => {
                self.w.block(Break::Blank);
                self.w.content("---");
                self.w.block(Break::Blank);
            }
            "img" => {
                let alt = tag.attr("alt").map(|a| collapse_whitespace(&a));
                let Some(alt) = alt.filter(|a| !a.is_empty()) else {
                    // An image without a description says nothing to a reader.
                    return;
                };
                match tag.attr("src").and_then(|s| self.link_target(&s)) {
                    Some(src) => self.w.content(&format!("![{alt}]({src})")),
                    None => self.w.text(&alt),
                }
            }
            _ => {}
        }
    }

    /// An `href` made absolute and safe inside `(…)`; `None` for in-page
    /// anchors and script URLs, which lead nowhere a reader can follow.
    fn link_target(&self, href: &str) -> Option<String> {
        let href = href.trim();
        if href.is_empty() || href.starts_with('#') {
            return None;
        }
        let url = match &self.base {
            Some(base) => base.resolve(href)?,
            None => crate::url::scheme(href).map(|_| href.to_string())?,
        };
        Some(
            url.replace(' ', "%20")
                .replace('<', "%3C")
                .replace('>', "%3E"),
        )
    }

    /// The opening effect of a non-void element; its `Action` undoes it.
    fn open(&mut self, tag: &Tag<'_>) -> Action {
        let name = tag.name.as_ref();
        if self.dropped > 0 {
            return Action::None;
        }
        let hidden = tag.attr("hidden").is_some()
            || tag
                .attr("aria-hidden")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if is_dropped(name) || hidden {
            self.dropped += 1;
            return Action::Drop;
        }
        if name == "title" {
            if self.title.is_none() && self.title_text.is_none() {
                self.title_text = Some(String::new());
                return Action::Title;
            }
            self.dropped += 1;
            return Action::Drop;
        }
        if name == "head" {
            self.in_head += 1;
            return Action::Head;
        }
        if self.in_head > 0 {
            return Action::None;
        }
        if let Some(pre) = &mut self.pre {
            match name {
                "pre" | "listing" => {
                    pre.depth += 1;
                    return Action::Pre;
                }
                "code" if pre.code.trim().is_empty() && pre.language.is_empty() => {
                    pre.language = language_of(tag).unwrap_or_default();
                }
                _ => {}
            }
            return Action::None;
        }
        match name {
            "p" => {
                self.w.block(Break::Blank);
                Action::Block(Break::Blank)
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = usize::from(name.as_bytes()[1] - b'0');
                self.w.open_heading(level);
                self.headings += 1;
                Action::Heading
            }
            "ul" | "ol" | "menu" => {
                self.w.block(if self.lists.is_empty() {
                    Break::Blank
                } else {
                    Break::Line
                });
                let start = tag
                    .attr("start")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                self.lists.push((name == "ol").then_some(start));
                Action::List
            }
            "li" => {
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => "- ".to_string(),
                };
                self.w.open_item(marker);
                Action::Item
            }
            "dd" => {
                self.w.open_item(": ".to_string());
                Action::Item
            }
            "blockquote" => {
                self.w.open_quote();
                Action::Quote
            }
            "pre" | "listing" => {
                self.pre = Some(Pre {
                    depth: 0,
                    language: language_of(tag).unwrap_or_default(),
                    code: String::new(),
                });
                Action::Pre
            }
            "code" | "kbd" | "samp" | "tt" => self.span("`", "`".into()),
            // Inside a heading the text is already strong.
            "b" | "strong" if self.headings > 0 => Action::None,
            "b" | "strong" => self.span("**", "**".into()),
            "i" | "em" => self.span("*", "*".into()),
            "del" | "s" | "strike" => self.span("~~", "~~".into()),
            "a" => match tag.attr("href").and_then(|h| self.link_target(&h)) {
                Some(url) => self.span("[", format!("]({url})")),
                None => Action::None,
            },
            "table" => {
                self.w.block(Break::Blank);
                self.tables.push(TableState::default());
                Action::Table
            }
            "tr" => {
                self.w.block(Break::Line);
                if let Some(t) = self.tables.last_mut() {
                    t.cells = 0;
                }
                Action::Row
            }
            "td" | "th" => {
                match self.tables.last_mut() {
                    Some(t) => {
                        self.w.drop_space();
                        self.w.cell_separator(t.cells == 0);
                        t.cells += 1;
                    }
                    None => self.w.space(),
                }
                self.w.enter_inline_only();
                Action::Cell
            }
            n if is_line_block(n) => {
                self.w.block(Break::Line);
                Action::Block(Break::Line)
            }
            _ => Action::None,
        }
    }

    fn span(&mut self, open: &str, close: String) -> Action {
        self.w.open_span(open, close);
        Action::Span
    }

    fn close(&mut self, action: Action) {
        match action {
            Action::None => {}
            Action::Block(b) => self.w.block(b),
            Action::Drop => self.dropped = self.dropped.saturating_sub(1),
            Action::Head => self.in_head = self.in_head.saturating_sub(1),
            Action::Title => {
                let text = self.title_text.take().unwrap_or_default();
                let title = collapse_whitespace(&text);
                if !title.is_empty() {
                    self.title = Some(title);
                }
            }
            Action::Span => self.w.close_span(),
            Action::Heading => {
                self.headings = self.headings.saturating_sub(1);
                self.w.close_heading();
            }
            Action::List => {
                self.lists.pop();
                self.w.block(if self.lists.is_empty() {
                    Break::Blank
                } else {
                    Break::Line
                });
            }
            Action::Item => self.w.close_container(Break::Line),
            Action::Quote => self.w.close_container(Break::Blank),
            Action::Pre => match &mut self.pre {
                Some(pre) if pre.depth > 0 => pre.depth -= 1,
                Some(_) => {
                    if let Some(pre) = self.pre.take() {
                        self.w.code_block(&pre.language, &pre.code);
                    }
                }
                None => {}
            },
            Action::Table => {
                self.tables.pop();
                self.w.block(Break::Blank);
            }
            Action::Row => {
                if let Some(t) = self.tables.last_mut() {
                    if t.cells > 0 {
                        self.w.drop_space();
                        self.w.content(" |");
                        if t.rows == 0 {
                            // The first row is the header row in Markdown.
                            self.w.block(Break::Line);
                            self.w.content(&format!("|{}", " --- |".repeat(t.cells)));
                        }
                        t.rows += 1;
                    }
                    t.cells = 0;
                }
                self.w.block(Break::Line);
            }
            Action::Cell => self.w.leave_inline_only(),
        }
    }
}

/// The first `<title>` of a page, without converting the rest (for `raw`).
pub fn title(html: &str) -> Option<String> {
    let mut tokens = Tokenizer::new(html);
    while let Some(token) = tokens.next() {
        if let Token::Start(tag) = token
            && tag.name == "title"
            && !tag.self_closing
        {
            let mut text = String::new();
            if let Some(Token::Text { text: t, .. }) = tokens.next() {
                text.push_str(&entities::decode(t));
            }
            let title = collapse_whitespace(&text);
            return (!title.is_empty()).then_some(title);
        }
    }
    None
}
