//! Injection phrases as word sequences. Content is split into lower-cased
//! words (letters and digits; punctuation, line breaks and any amount of
//! whitespace between words do not matter, and zero-width characters
//! inside a word are skipped, so `ig\u{200b}nore` is `ignore`).
//!
//! A phrase is a list of slots; a slot is `|`-separated alternatives, and
//! a trailing `?` makes it optional. Weights are documented in README.md.

pub struct Phrase {
    pub label: &'static str,
    pub weight: u32,
    pub slots: &'static [&'static str],
}

const TARGETS: &str = "instructions|instruction|directions|directives|rules|prompts|prompt|guidelines|context|messages|commands|constraints|guidance|programming|orders";

pub const PHRASES: &[Phrase] = &[
    Phrase {
        label: "ignore-previous-instructions",
        weight: 3,
        slots: &[
            "ignore|disregard|forget|skip|override|bypass|drop|discard|neglect",
            "all|any|every?",
            "of?",
            "the|your|my|these|those|its|our?",
            "previous|prior|above|earlier|preceding|former|original|initial|foregoing|past|old|existing|current",
            TARGETS,
        ],
    },
    Phrase {
        label: "disregard-your-instructions",
        weight: 2,
        slots: &[
            "ignore|disregard|forget|override|bypass|discard",
            "all|any?",
            "your|the|these|my?",
            "instructions|directives|guidelines|programming|training|system",
        ],
    },
    Phrase {
        label: "forget-everything",
        weight: 2,
        slots: &["forget", "everything|anything"],
    },
    Phrase {
        label: "reveal-system-prompt",
        weight: 3,
        slots: &[
            "reveal|show|print|output|repeat|display|leak|dump|share|disclose|tell|give",
            "me|us?",
            "your|the|its?",
            "full|entire|original|initial|hidden|secret|exact?",
            "system|initial|original|hidden|secret|developer",
            "prompt|prompts|instructions|message",
        ],
    },
    Phrase {
        label: "system-prompt",
        weight: 1,
        slots: &["system", "prompt|message|instructions"],
    },
    Phrase {
        label: "new-instructions",
        weight: 2,
        slots: &[
            "new|updated|revised|real|actual|true|hidden|secret",
            "system|admin|developer?",
            "instructions|directives|orders|prompt",
        ],
    },
    Phrase {
        label: "you-are-now",
        weight: 2,
        slots: &["you", "are", "now"],
    },
    Phrase {
        label: "from-now-on",
        weight: 2,
        slots: &[
            "from",
            "now",
            "on",
            "you|your|ignore|always|never|only|respond|act|answer",
        ],
    },
    Phrase {
        label: "developer-mode",
        weight: 2,
        slots: &[
            "developer|admin|sudo|god|unrestricted|unfiltered|evil|dan",
            "mode",
        ],
    },
    Phrase {
        label: "jailbreak",
        weight: 2,
        slots: &["jailbreak|jailbroken|jailbreaking"],
    },
    Phrase {
        label: "do-anything-now",
        weight: 3,
        slots: &["do", "anything", "now"],
    },
    Phrase {
        label: "act-as",
        weight: 1,
        slots: &["act|roleplay|behave", "as"],
    },
    Phrase {
        label: "pretend-to-be",
        weight: 1,
        slots: &["pretend", "to|you|that"],
    },
    Phrase {
        label: "no-restrictions",
        weight: 1,
        slots: &[
            "no|without|zero",
            "any?",
            "restrictions|limitations|filters|censorship|limits",
        ],
    },
    Phrase {
        label: "disable-safety",
        weight: 3,
        slots: &[
            "bypass|disable|ignore|override|deactivate|circumvent|remove",
            "your|the|all|any?",
            "safety|content|ethical|security|moderation",
            "filters|filter|guidelines|policies|policy|restrictions|protocols|rules|measures|settings",
        ],
    },
    Phrase {
        label: "hide-from-user",
        weight: 3,
        slots: &[
            "do|don",
            "not|t",
            "tell|inform|alert|notify|mention|reveal",
            "this|it|that?",
            "to?",
            "the|your?",
            "user|human|owner|operator",
        ],
    },
    Phrase {
        label: "hide-from-user",
        weight: 3,
        slots: &[
            "without",
            "telling|informing|alerting|notifying|asking",
            "the|your?",
            "user|human|owner|operator",
        ],
    },
    Phrase {
        label: "note-to-ai",
        weight: 2,
        slots: &[
            "important|urgent|note|message|instructions|hey",
            "to|for?",
            "the|all?",
            "ai|assistant|agent|model|llm|chatbot|bot|gpt|chatgpt|claude|gemini|assistants|agents",
        ],
    },
    Phrase {
        label: "exfiltrate",
        weight: 2,
        slots: &[
            "send|forward|email|upload|exfiltrate|leak|post",
            "all|the|your|my|this?",
            "conversation|chat|history|secrets|credentials|passwords|keys|tokens|cookies",
        ],
    },
];

/// Bit i of `FIRST[b]`: phrase i may start with a word starting with `b`.
pub static FIRST: [u64; 128] = first_table();

const fn first_table() -> [u64; 128] {
    assert!(PHRASES.len() <= 64);
    let mut t = [0u64; 128];
    let mut i = 0;
    while i < PHRASES.len() {
        let s = PHRASES[i].slots[0].as_bytes();
        let mut j = 0;
        let mut at_start = true;
        while j < s.len() {
            if at_start && s[j] < 128 {
                t[s[j] as usize] |= 1 << i;
            }
            at_start = s[j] == b'|';
            j += 1;
        }
        i += 1;
    }
    t
}

/// Bit i of `LEN[n]`: phrase i's first slot has an alternative of n bytes
/// (n capped at 31). With [`FIRST`], most words meet no candidate phrase.
pub static LEN: [u64; 32] = len_table();

const fn len_table() -> [u64; 32] {
    let mut t = [0u64; 32];
    let mut i = 0;
    while i < PHRASES.len() {
        let s = PHRASES[i].slots[0].as_bytes();
        let (mut j, mut n) = (0, 0);
        while j <= s.len() {
            if j == s.len() || s[j] == b'|' || s[j] == b'?' {
                if n > 0 {
                    t[if n > 31 { 31 } else { n }] |= 1 << i;
                }
                n = 0;
            } else {
                n += 1;
            }
            j += 1;
        }
        i += 1;
    }
    t
}

/// Whether `slot` (`a|b|c` or `a|b?`) admits `word`.
fn admits(slot: &str, word: &str) -> bool {
    slot.trim_end_matches('?').split('|').any(|alt| alt == word)
}

/// The end (exclusive word index) of the longest way `slots` match from
/// word `i`.
pub fn match_at(slots: &[&str], words: &[&str], i: usize) -> Option<usize> {
    let Some((slot, rest)) = slots.split_first() else {
        return Some(i);
    };
    let taken = words
        .get(i)
        .filter(|w| admits(slot, w))
        .and_then(|_| match_at(rest, words, i + 1));
    match taken {
        Some(end) => Some(end),
        None if slot.ends_with('?') => match_at(rest, words, i),
        None => None,
    }
}
