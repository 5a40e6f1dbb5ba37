//! Finding profanity: a hand-written tokenizer and a small matcher, no regex
//! (the host runs every call in a fresh instance, so anything compiled at
//! start-up would be paid for on every message).
//!
//! Matching is per whole token, which is what keeps innocent words intact
//! (the Scunthorpe problem): "class", "assess", "Scunthorpe" and "cocktail"
//! are tokens of their own and never equal a listed word. Within a token the
//! matcher forgives the usual disguises:
//! - case ("FUCK", "Shit");
//! - leetspeak digits and symbols ("sh1t", "$hit", "a$$", "b!tch", "@ss");
//! - a `*` or `#` standing for one letter ("f*ck", "sh#t"), at most half of
//!   the token and never its first character;
//! - stretched letters ("fuuuuck", "shiiiit").

/// The built-in list: common English profanity, inflected forms spelled out
/// (suffix rules would catch innocent words). Words with everyday innocent
/// meanings ("cock", "dick", "prick", "damn", "hell", "crap") are left out;
/// the owner adds what they want with `extra-words`. Slurs are not in the
/// built-in list either: add them with `extra-words` if wanted.
const BUILTIN: &[&str] = &[
    "fuck",
    "fucks",
    "fucked",
    "fucker",
    "fuckers",
    "fucking",
    "fuckin",
    "fuckup",
    "fuckwit",
    "fuckface",
    "fuckhead",
    "motherfucker",
    "motherfuckers",
    "motherfucking",
    "shit",
    "shits",
    "shitty",
    "shitting",
    "shithead",
    "shitheads",
    "shithole",
    "bullshit",
    "horseshit",
    "dipshit",
    "apeshit",
    "bitch",
    "bitches",
    "bitching",
    "bitchy",
    "bastard",
    "bastards",
    "ass",
    "arse",
    "asshole",
    "assholes",
    "arsehole",
    "arseholes",
    "asshat",
    "dumbass",
    "jackass",
    "smartass",
    "cunt",
    "cunts",
    "dickhead",
    "dickheads",
    "twat",
    "twats",
    "wank",
    "wanker",
    "wankers",
    "bollocks",
    "piss",
    "pissed",
    "pissing",
    "slut",
    "sluts",
    "whore",
    "whores",
    "douchebag",
    "douchebags",
    "cocksucker",
    "cocksuckers",
    "goddamn",
];

/// Tokens longer than this are not checked: no listed word is near it, and
/// it bounds the matcher's work on pathological input.
const MAX_TOKEN_CHARS: usize = 48;

/// The words to look for, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordList {
    words: Vec<Vec<char>>,
    allow: Vec<String>,
}

impl WordList {
    /// The built-in list plus `extra`, minus `allow` (an allowed word is also
    /// never masked when a disguise makes it look like a listed one).
    pub fn new(extra: &[String], allow: &[String]) -> WordList {
        let allow: Vec<String> = allow.iter().map(|w| lower_str(w)).collect();
        let mut words: Vec<Vec<char>> = Vec::new();
        let extra = extra.iter().map(|w| lower_str(w));
        for w in BUILTIN.iter().map(|w| w.to_string()).chain(extra) {
            // Only single tokens can ever match; a phrase or a one-letter
            // word in `extra-words` is skipped rather than matching wildly.
            if w.chars().count() < 2 || !w.chars().all(is_token_char) || allow.contains(&w) {
                continue;
            }
            let chars: Vec<char> = w.chars().collect();
            if !words.contains(&chars) {
                words.push(chars);
            }
        }
        WordList { words, allow }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `token` is a listed word, disguised or not.
    fn is_profane(&self, token: &[char]) -> bool {
        if !plausible(token) {
            return false;
        }
        if !self.allow.is_empty() {
            let spelled: String = token.iter().map(|&c| lower(c)).collect();
            if self.allow.contains(&spelled) {
                return false;
            }
        }
        self.words.iter().any(|w| matches(w, token))
    }

    /// Character ranges (start, end) of profane tokens in `text`.
    fn find(&self, text: &[char]) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !is_token_char(text[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len() && is_token_char(text[i]) {
                i += 1;
            }
            if let Some(hit) = self.check_token(text, start, i) {
                hits.push(hit);
            }
        }
        hits
    }

    /// The whole token first, then without decoration around it
    /// ("*shit*", "fuck!!"): the trimmed form is what gets masked.
    fn check_token(&self, text: &[char], start: usize, end: usize) -> Option<(usize, usize)> {
        if self.is_profane(&text[start..end]) {
            return Some((start, end));
        }
        let mut s = start;
        let mut e = end;
        while s < e && is_decoration(text[s]) {
            s += 1;
        }
        while e > s && is_decoration(text[e - 1]) {
            e -= 1;
        }
        if (s, e) != (start, end) && self.is_profane(&text[s..e]) {
            return Some((s, e));
        }
        None
    }

    /// `text` with every profane word masked, or `None` when there is none.
    pub fn mask(&self, text: &str) -> Option<String> {
        let mut chars: Vec<char> = text.chars().collect();
        let hits = self.find(&chars);
        if hits.is_empty() {
            return None;
        }
        for (start, end) in hits {
            for c in &mut chars[start + 1..end] {
                *c = '*';
            }
        }
        let masked: String = chars.into_iter().collect();
        // A token that was already masked ("f***") matches and masks to
        // itself: that is no change.
        (masked != text).then_some(masked)
    }

    /// Whether `text` contains a profane word (masked forms included).
    pub fn contains(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        !self.find(&chars).is_empty()
    }
}

/// Characters that make up a token: letters, digits and the symbols used
/// to disguise letters.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '*' | '#' | '@' | '$' | '!' | '|')
}

/// Symbols that may decorate a word rather than stand for a letter.
fn is_decoration(c: char) -> bool {
    matches!(c, '*' | '#' | '!' | '|')
}

fn is_wildcard(c: char) -> bool {
    matches!(c, '*' | '#')
}

/// Cheap checks before the matcher: a real letter somewhere (so "455" is a
/// number, not "ass"), a non-wildcard first character, wildcards at most
/// half the token.
fn plausible(token: &[char]) -> bool {
    let n = token.len();
    if !(2..=MAX_TOKEN_CHARS).contains(&n) || is_wildcard(token[0]) {
        return false;
    }
    let wild = token.iter().filter(|&&c| is_wildcard(c)).count();
    wild * 2 <= n && token.iter().any(|c| c.is_alphabetic())
}

fn lower(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

fn lower_str(s: &str) -> String {
    s.trim().chars().map(lower).collect()
}

/// Whether token character `t` can stand for word letter `w`.
fn stands_for(t: char, w: char) -> bool {
    if is_wildcard(t) {
        return true;
    }
    let t = lower(t);
    t == w
        || match t {
            '0' => w == 'o',
            '1' | '|' => w == 'i' || w == 'l',
            '!' => w == 'i',
            '3' => w == 'e',
            '4' | '@' => w == 'a',
            '5' | '$' => w == 's',
            '7' => w == 't',
            _ => false,
        }
}

/// Whether the whole `token` spells `word`: each word letter takes one token
/// character it stands for, plus any repeats of that same character
/// ("fuuuck"). A wildcard stands for exactly one letter and never repeats.
/// Dynamic programming over (letters used, characters used): O(len²).
fn matches(word: &[char], token: &[char]) -> bool {
    let (m, n) = (word.len(), token.len());
    if n < m || m == 0 || !stands_for(token[0], word[0]) {
        return false;
    }
    // prev[j]: word[..i-1] spells token[..j]; cur[j]: word[..i] does.
    let mut prev = vec![false; n + 1];
    prev[0] = true;
    let mut cur = vec![false; n + 1];
    for i in 1..=m {
        cur[0] = false;
        for j in 1..=n {
            let t = token[j - 1];
            let fresh = prev[j - 1] && stands_for(t, word[i - 1]);
            let repeat = j >= 2
                && cur[j - 1]
                && !is_wildcard(t)
                && lower(t) == lower(token[j - 2])
                && stands_for(t, word[i - 1]);
            cur[j] = fresh || repeat;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[n]
}

#[cfg(test)]
pub(crate) fn matches_for_test(word: &str, token: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    let t: Vec<char> = token.chars().collect();
    plausible(&t) && matches(&w, &t)
}
