//! Tests for the chunker (kept in their own file to keep chunker.rs short).

use super::*;

fn cfg(target_tokens: usize) -> ChunkConfig {
    ChunkConfig {
        target_tokens,
        ..ChunkConfig::default()
    }
}

/// Every chunk is exactly its byte range, ends trimmed, and is in order.
fn check_slices(doc: &str, chunks: &[Chunk]) {
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.index, i);
        assert_eq!(&doc[c.start_byte..c.end_byte], c.text);
        assert_eq!(c.text.trim_end(), c.text);
        assert!(!c.text.trim().is_empty());
    }
    for w in chunks.windows(2) {
        assert!(w[0].start_byte < w[1].start_byte && w[0].end_byte < w[1].end_byte);
        let gap = doc.get(w[0].end_byte..w[1].start_byte).unwrap_or("");
        assert!(
            gap.trim().is_empty(),
            "content lost between chunks: {gap:?}"
        );
    }
    let first = chunks.first().map_or(doc.len(), |c| c.start_byte);
    let last = chunks.last().map_or(0, |c| c.end_byte);
    assert!(doc[..first].trim().is_empty() && doc[last.max(first)..].trim().is_empty());
}

/// A paragraph of about `tokens` estimated tokens, tagged for identity.
fn para(tag: usize, tokens: usize) -> String {
    let mut s = format!("P{tag} starts here.");
    while estimate_tokens(&s) < tokens {
        s.push_str(" Some more words about the topic.");
    }
    s
}

#[test]
fn estimate_is_chars_over_four() {
    assert_eq!(estimate_tokens(""), 0);
    assert_eq!(estimate_tokens("abcd"), 1);
    assert_eq!(estimate_tokens("abcde"), 2);
    assert_eq!(estimate_tokens("日本語の"), 1);
}

#[test]
fn empty_and_whitespace_give_nothing() {
    assert!(chunk("", &ChunkConfig::default()).is_empty());
    assert!(chunk(" \n\n\t \r\n", &ChunkConfig::default()).is_empty());
}

#[test]
fn small_doc_is_one_chunk() {
    let doc = "\n# Title\n\nHello world.\nSecond line.\n\n";
    let chunks = chunk(doc, &ChunkConfig::default());
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "# Title\n\nHello world.\nSecond line.");
    assert_eq!(chunks[0].heading.as_deref(), Some("Title"));
    check_slices(doc, &chunks);
}

#[test]
fn long_doc_splits_within_budget_with_overlap() {
    let doc: Vec<String> = (0..40).map(|i| para(i, 60 + (i * 37) % 50)).collect();
    let doc = doc.join("\n\n");
    let chunks = chunk(&doc, &cfg(800));
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    check_slices(&doc, &chunks);
    for c in &chunks {
        assert!(estimate_tokens(&c.text) <= 800 * 6 / 5);
    }
    for w in chunks.windows(2) {
        assert!(w[1].start_byte < w[0].end_byte, "no overlap");
        let shared = &doc[w[1].start_byte..w[0].end_byte];
        assert!(estimate_tokens(shared) <= 800 * 3 / 10);
        assert!(shared.starts_with('P'), "overlap is whole paragraphs");
    }
    assert_eq!(chunks, chunk(&doc, &cfg(800)), "deterministic");
}

#[test]
fn big_fence_is_never_split() {
    let code: String = (0..900).map(|i| format!("let x{i} = {i};\n")).collect();
    let doc = format!(
        "{}\n\n## Code\n\n~~~rust title=\"a ``` b\"\n```\n{code}~~~\n\n{}",
        para(1, 300),
        para(2, 300)
    );
    assert!(estimate_tokens(&code) > 3000);
    let chunks = chunk(&doc, &cfg(800));
    check_slices(&doc, &chunks);
    let f_start = doc.find("~~~rust").unwrap_or(0);
    let f_end = doc.rfind("~~~").unwrap_or(0) + 3;
    let holder: Vec<&Chunk> = chunks
        .iter()
        .filter(|c| c.start_byte < f_end && c.end_byte > f_start)
        .collect();
    assert_eq!(holder.len(), 1, "fence spread over chunks");
    assert!(holder[0].start_byte <= f_start && holder[0].end_byte >= f_end);
    assert!(
        holder[0].text.starts_with("## Code"),
        "heading stays with fence"
    );
    assert_eq!(holder[0].heading.as_deref(), Some("Code"));
}

#[test]
fn unterminated_fence_runs_to_end() {
    let doc = format!("{}\n\n```\n{}", para(1, 500), "code line\n".repeat(500));
    let chunks = chunk(&doc, &cfg(200));
    check_slices(&doc, &chunks);
    let last = chunks.last().map(|c| c.text.as_str()).unwrap_or("");
    assert!(last.starts_with("```") && doc.trim_end().ends_with(last));
}

#[test]
fn headings_never_end_chunks_and_start_them() {
    let mut doc = String::from("# Guide\n\n");
    for s in 0..12 {
        doc.push_str(&format!("## Part {s}\n\n### Detail\n\n"));
        for p in 0..3 {
            doc.push_str(&para(s * 10 + p, 80 + (s * 53 + p * 31) % 120));
            doc.push_str("\n\n");
        }
    }
    let chunks = chunk(&doc, &cfg(400));
    check_slices(&doc, &chunks);
    assert!(chunks.len() > 4);
    for c in &chunks {
        let last = c.text.lines().last().unwrap_or("");
        assert!(
            atx_heading(last).is_none(),
            "chunk ends with heading: {last}"
        );
    }
    let at_heading = chunks[1..]
        .iter()
        .filter(|c| c.text.starts_with('#'))
        .count();
    assert!(
        at_heading * 2 >= chunks.len() - 1,
        "chunks should start at headings"
    );
}

#[test]
fn heading_path_is_tracked() {
    let doc = format!(
        "{}\n\n# Intro\n\n## Setup ##\n\n{}\n\n## Usage\n\n{}\n\n# Other\n\n{}",
        para(0, 150),
        para(1, 150),
        para(2, 150),
        para(3, 150)
    );
    let chunks = chunk(&doc, &cfg(170));
    check_slices(&doc, &chunks);
    let heading_of = |tag: &str| {
        let c = chunks.iter().find(|c| c.text.contains(tag));
        c.and_then(|c| c.heading.clone())
    };
    assert_eq!(heading_of("P0 "), None);
    assert_eq!(heading_of("P1 ").as_deref(), Some("Intro > Setup"));
    assert_eq!(heading_of("P2 ").as_deref(), Some("Intro > Usage"));
    assert_eq!(heading_of("P3 ").as_deref(), Some("Other"));
    assert_eq!(atx_heading("#hashtag"), None);
    assert_eq!(atx_heading("    # code"), None);
}

#[test]
fn long_line_splits_at_sentences_and_utf8_is_safe() {
    let line = "Ünïcödé wörds 日本語のテキスト. Ça va? Très bien! ".repeat(300);
    let blob = "語".repeat(5000);
    let doc = format!("{line}\n\n{blob}\n");
    let chunks = chunk(&doc, &cfg(100));
    check_slices(&doc, &chunks);
    assert!(chunks.len() > 10);
    for c in &chunks {
        assert!(estimate_tokens(&c.text) <= 100);
    }
    let in_line: Vec<&Chunk> = chunks.iter().filter(|c| c.end_byte < line.len()).collect();
    let sentence_ends = in_line
        .iter()
        .filter(|c| c.text.ends_with(['.', '?', '!']))
        .count();
    assert!(
        sentence_ends * 10 >= in_line.len() * 9,
        "prefer sentence ends"
    );
}

#[test]
fn tiny_targets_on_mixed_doc_cover_everything() {
    let doc = "Intro ünïcödé text.\r\n\r\n# A\r\n## B #\r\n```js\r\nlet a = 1;\r\n\r\n```\r\n\
               - item one\n  ~~~\n  nested fence\n  ~~~\n- item two 日本語のテキスト\n\n\
               # Trailing\n";
    for target in 1..=40 {
        let config = ChunkConfig {
            target_tokens: target,
            overlap: 0.3,
        };
        let chunks = chunk(doc, &config);
        check_slices(doc, &chunks);
        for c in &chunks {
            let fences = c.text.lines().filter(|l| Fence::open(l).is_some()).count();
            assert!(
                fences % 2 == 0,
                "fence split at target {target}: {:?}",
                c.text
            );
        }
    }
    let odd = ChunkConfig {
        target_tokens: 0,
        overlap: f32::NAN,
    };
    assert_eq!(chunk("a b c", &odd).len(), 2);
}
