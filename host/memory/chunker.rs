//! Markdown-aware chunking of memory documents for search.
//!
//! Search works on pieces small enough to embed and to quote back into a
//! prompt, but a piece cut in the wrong place loses meaning: half a code
//! block, or a heading separated from its section. So the document is first
//! cut into atomic *segments* (a whole fenced code block, a heading line, a
//! paragraph line, or — only for a line that alone exceeds the target — its
//! words), each tagged with how good a split point its start is. Chunks are
//! then packed greedily from segments, choosing the best split point among
//! those that leave the chunk at least half full (a quarter full if the split
//! lands before a heading, so chunks start at nearby section starts).
//! Consecutive chunks overlap by whole trailing segments, so a fact near a
//! boundary is findable from both sides; at a heading boundary the next
//! chunk starts at the heading instead, because a section start is not an
//! arbitrary cut and a chunk that begins with its heading is self-describing.
//! A trailing block bigger than the overlap budget is not repeated at all
//! (rather than cut), so some boundaries have no overlap.
//!
//! Only ATX headings (`# Title`) are recognised; setext underlines are
//! treated as text. Fences are recognised leniently (any indentation), so a
//! fence inside a list item is still never split.

use serde::{Deserialize, Serialize};

/// Characters per token in [`estimate_tokens`].
const CHARS_PER_TOKEN: usize = 4;

/// Cheap token estimate: Unicode scalar values / 4, rounded up.
///
/// Why this one: it is the usual rule of thumb for BPE tokenizers on English,
/// it also grows with code and with unspaced scripts such as CJK (a
/// words × 1.3 estimate would count a whole unspaced paragraph as one word),
/// and sums of per-segment character counts bound the count of their
/// concatenation, which keeps the packing arithmetic exact. It undercounts
/// CJK (roughly one token per character), so such chunks come out larger in
/// real tokens; the estimate only sizes chunks, it never bills anything.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(CHARS_PER_TOKEN)
}

/// How to size chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkConfig {
    /// Desired chunk size in estimated tokens; chunks stay at or under it
    /// except for a single oversized code block (with its heading).
    pub target_tokens: usize,
    /// Fraction of `target_tokens` repeated from the end of one chunk at the
    /// start of the next; clamped to `0.0..=0.5`.
    pub overlap: f32,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            target_tokens: 800,
            overlap: 0.15,
        }
    }
}

/// One piece of a document; `text` is exactly `document[start_byte..end_byte]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Position of this chunk in the document, from 0.
    pub index: usize,
    /// The chunk text (trailing whitespace trimmed).
    pub text: String,
    /// Byte offset of the chunk's first byte in the document.
    pub start_byte: usize,
    /// Byte offset one past the chunk's last byte.
    pub end_byte: usize,
    /// Heading path in effect at the chunk's first non-heading line, e.g.
    /// `"Intro > Setup"`; for a chunk that starts before any heading, the
    /// path of its first heading, if it has one.
    pub heading: Option<String>,
}

/// Quality of a split point, worst to best: the packer prefers higher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    /// Inside a word with no whitespace (e.g. minified data).
    Char,
    Word,
    Sentence,
    Line,
    Paragraph,
    /// Before a heading: the next chunk can start its section.
    Section,
    /// End of document.
    End,
}

/// An atomic unit the packer never splits.
#[derive(Debug)]
struct Segment {
    start: usize,
    /// End of the segment, including its line terminator.
    end: usize,
    /// Characters from `start` to the next segment's start (blank lines
    /// included), so sums bound the characters of any run of segments.
    chars: usize,
    /// Quality of splitting just before this segment.
    brk: Break,
    heading: bool,
    /// Index into the heading paths, if any heading precedes or is this.
    path: Option<usize>,
}

/// Split `text` into chunks of about `config.target_tokens`. Deterministic;
/// empty or whitespace-only text gives no chunks.
pub fn chunk(text: &str, config: &ChunkConfig) -> Vec<Chunk> {
    let budget = config.target_tokens.max(1).saturating_mul(CHARS_PER_TOKEN);
    let fraction = if config.overlap.is_finite() {
        f64::from(config.overlap.clamp(0.0, 0.5))
    } else {
        0.0
    };
    let overlap_budget = (budget as f64 * fraction) as usize;
    let (segs, paths) = segment(text, budget);
    let mut chunks = Vec::new();
    let (mut start, mut min_end) = (0, 1);
    while start < segs.len() {
        let end = choose_end(&segs, start, min_end, budget);
        let s = segs[start].start;
        let e = s + text[s..segs[end - 1].end].trim_end().len();
        let run = &segs[start..end];
        let body = run.iter().find(|g| !g.heading).unwrap_or(&segs[end - 1]);
        let path = body.path.or_else(|| run.iter().find(|g| g.heading)?.path);
        chunks.push(Chunk {
            index: chunks.len(),
            text: text[s..e].to_string(),
            start_byte: s,
            end_byte: e,
            heading: path.and_then(|p| paths.get(p).cloned()),
        });
        if end >= segs.len() {
            break;
        }
        start = next_start(&segs, start, end, budget, overlap_budget);
        min_end = end + 1;
    }
    chunks
}

/// Pick the exclusive end segment for a chunk starting at `start`: the best
/// split among those within budget, preferring a chunk at least half full
/// (a quarter when the split is before a heading, so a section nearby wins),
/// then a better [`Break`], then a fuller chunk. A heading never ends a chunk
/// (unless it ends the document); if nothing fits, take the fewest segments
/// that satisfy that, which is how an oversized code block gets its chunk.
fn choose_end(segs: &[Segment], start: usize, min_end: usize, budget: usize) -> usize {
    let n = segs.len();
    let (mut total, mut j) = (0, start);
    let mut best: Option<(bool, Break, usize)> = None;
    while j < n {
        if j > start && total + segs[j].chars > budget {
            break;
        }
        total += segs[j].chars;
        j += 1;
        if j < min_end || (j < n && segs[j - 1].heading) {
            continue;
        }
        let brk = segs.get(j).map_or(Break::End, |g| g.brk);
        // A section start is worth a smaller chunk: a quarter full will do.
        let fill = if brk >= Break::Section { 4 } else { 2 };
        best = best.max(Some((j == n || total * fill >= budget, brk, j)));
    }
    match best {
        Some((_, _, end)) => end,
        None => {
            let mut end = (start + 1).max(min_end);
            while end < n && segs[end - 1].heading {
                end += 1;
            }
            end.min(n)
        }
    }
}

/// Where the chunk after `[start, end)` begins: at the heading if the split
/// was before one, otherwise back by whole segments worth at most the
/// overlap budget, while still leaving room for the next new segment.
fn next_start(segs: &[Segment], start: usize, end: usize, budget: usize, overlap: usize) -> usize {
    if segs[end].heading {
        return end;
    }
    let limit = overlap.min(budget.saturating_sub(segs[end].chars));
    let (mut k, mut taken) = (end, 0);
    while k > start + 1 && taken + segs[k - 1].chars <= limit {
        taken += segs[k - 1].chars;
        k -= 1;
    }
    k
}

/// An opening code fence: its character and length.
struct Fence {
    ch: char,
    len: usize,
}

impl Fence {
    /// A line opening a fence: 3+ backticks or tildes, then any info string
    /// (a backtick fence's info string may not contain backticks).
    fn open(line: &str) -> Option<Fence> {
        let t = line.trim_start();
        let ch = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = t.len() - t.trim_start_matches(ch).len();
        (len >= 3 && !(ch == '`' && t[len..].contains('`'))).then_some(Fence { ch, len })
    }

    /// A line closing this fence: only the fence character, at least as many.
    fn closes(&self, line: &str) -> bool {
        let t = line.trim();
        t.len() >= self.len && t.chars().all(|c| c == self.ch)
    }
}

/// An ATX heading line: level and title (closing `#`s removed).
fn atx_heading(line: &str) -> Option<(usize, String)> {
    let t = line.trim_start_matches(' ');
    let level = t.len() - t.trim_start_matches('#').len();
    let rest = &t[level..];
    if line.len() - t.len() > 3 || !(1..=6).contains(&level) {
        return None;
    }
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let title = rest.trim();
    let unclosed = title.trim_end_matches('#');
    let title = if unclosed.is_empty() || unclosed.ends_with([' ', '\t']) {
        unclosed.trim_end()
    } else {
        title
    };
    Some((level, title.to_string()))
}

/// Cut `text` into segments and collect the heading paths they refer to.
fn segment(text: &str, budget: usize) -> (Vec<Segment>, Vec<String>) {
    let mut lines = Vec::new();
    let mut pos = 0;
    for raw in text.split_inclusive('\n') {
        lines.push((pos, pos + raw.len(), raw.trim_end_matches(['\n', '\r'])));
        pos += raw.len();
    }
    let (mut segs, mut paths) = (Vec::new(), Vec::<String>::new());
    let mut stack: Vec<(usize, String)> = Vec::new();
    let (mut i, mut after_block) = (0, true);
    let seg = |start, end, brk, heading, path| Segment {
        start,
        end,
        chars: 0,
        brk,
        heading,
        path,
    };
    while i < lines.len() {
        let (start, end, line) = lines[i];
        let path = paths.len().checked_sub(1);
        i += 1;
        if line.trim().is_empty() {
            after_block = true;
        } else if let Some(fence) = Fence::open(line) {
            // An unterminated fence runs to the end of the document.
            let close = lines[i..].iter().position(|l| fence.closes(l.2));
            let end = close.map_or(text.len(), |c| lines[i + c].1);
            i = close.map_or(lines.len(), |c| i + c + 1);
            segs.push(seg(start, end, Break::Paragraph, false, path));
            after_block = true;
        } else if let Some((level, title)) = atx_heading(line) {
            stack.retain(|(l, _)| *l < level);
            stack.push((level, title));
            let joined: Vec<&str> = stack.iter().map(|(_, t)| t.as_str()).collect();
            paths.push(joined.join(" > "));
            segs.push(seg(start, end, Break::Section, true, Some(paths.len() - 1)));
            after_block = true;
        } else {
            let brk = if after_block {
                Break::Paragraph
            } else {
                Break::Line
            };
            after_block = false;
            if line.chars().count() <= budget {
                segs.push(seg(start, end, brk, false, path));
                continue;
            }
            for (s, e, b) in split_long_line(text, start, end, line, brk, budget) {
                segs.push(seg(s, e, b, false, path));
            }
        }
    }
    for k in 0..segs.len() {
        let next = segs.get(k + 1).map_or(text.len(), |g| g.start);
        segs[k].chars = text[segs[k].start..next].chars().count();
    }
    (segs, paths)
}

/// Pieces of one over-long paragraph line: one per word (a split before a
/// word that follows a sentence end is a better [`Break`]), and a word longer
/// than the budget is cut at character boundaries. Pieces tile the line.
fn split_long_line(
    text: &str,
    start: usize,
    end: usize,
    line: &str,
    brk: Break,
    budget: usize,
) -> Vec<(usize, usize, Break)> {
    let mut starts = vec![(start, brk)];
    let (mut word, mut in_word, mut sentence_end) = (None::<usize>, false, false);
    for (off, c) in line.char_indices() {
        if c.is_whitespace() {
            if let (true, Some(w)) = (in_word, word) {
                let w =
                    line[w..off].trim_end_matches(['"', '\'', ')', ']', '\u{201d}', '\u{2019}']);
                sentence_end = w.ends_with(['.', '!', '?']);
            }
            in_word = false;
        } else if !in_word {
            if word.is_some() {
                let b = if sentence_end {
                    Break::Sentence
                } else {
                    Break::Word
                };
                starts.push((start + off, b));
            }
            (word, in_word) = (Some(off), true);
        }
    }
    let mut pieces = Vec::new();
    for (k, &(s, b)) in starts.iter().enumerate() {
        let e = starts.get(k + 1).map_or(end, |n| n.0);
        // Cut only inside the word itself, so no piece is just whitespace.
        let word = text[s..e].trim();
        let lead = s + (text[s..e].len() - text[s..e].trim_start().len());
        let mut cut = s;
        for (n, (off, _)) in word.char_indices().enumerate() {
            if n > 0 && n % budget == 0 {
                let kind = if cut == s { b } else { Break::Char };
                pieces.push((cut, lead + off, kind));
                cut = lead + off;
            }
        }
        pieces.push((cut, e, if cut == s { b } else { Break::Char }));
    }
    pieces
}

#[cfg(test)]
mod tests;
