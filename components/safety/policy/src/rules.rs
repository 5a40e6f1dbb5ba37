//! The owner's rules, one per line of the `rules` setting:
//!
//! ```text
//! <action> [severity] [kind] [stages]: <pattern>
//! ```
//!
//! Header words may come in any order; each is recognised by its value:
//! action `block|redact|warn` (required), severity `low|medium|high|critical`
//! (default medium), kind `keyword|regex` (default keyword), stages a
//! comma-separated list of stage names or `all` (default all). Everything
//! after the first `:` is the pattern, trimmed. Blank lines and lines
//! starting with `#` are skipped.

use ironclaw_sdk::safety_filter::Stage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Warn,
    Redact,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Keyword,
    Regex,
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based, counting rules only (what the owner reads as "rule 2").
    pub number: usize,
    /// 1-based line in the setting.
    pub line: usize,
    pub action: Action,
    pub severity: &'static str,
    pub kind: Kind,
    pub stages: Vec<Stage>,
    pub pattern: String,
}

impl Rule {
    /// How verdict reasons name the rule: number, line, severity and kind,
    /// never the pattern. A reason travels (to the model when tool output is
    /// blocked, to the component whose request is refused), and the owner's
    /// pattern may itself be the secret (`Project Aurora`).
    pub fn name(&self) -> String {
        format!(
            "rule {} (line {}, {} {})",
            self.number,
            self.line,
            self.severity,
            self.kind_word()
        )
    }

    /// How errors name the rule for the owner who wrote it: with the pattern.
    pub fn name_with_pattern(&self) -> String {
        format!(
            "rule {} (line {}, {} {} `{}`)",
            self.number,
            self.line,
            self.severity,
            self.kind_word(),
            self.pattern
        )
    }

    fn kind_word(&self) -> &'static str {
        match self.kind {
            Kind::Keyword => "keyword",
            Kind::Regex => "regex",
        }
    }
}

pub const ALL_STAGES: [Stage; 4] = [
    Stage::InboundMessage,
    Stage::ToolOutput,
    Stage::OutboundResponse,
    Stage::OutboundHttpBody,
];

pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::InboundMessage => "inbound-message",
        Stage::ToolOutput => "tool-output",
        Stage::OutboundResponse => "outbound-response",
        Stage::OutboundHttpBody => "outbound-http-body",
    }
}

fn stage_named(name: &str) -> Option<Stage> {
    ALL_STAGES.into_iter().find(|&s| stage_name(s) == name)
}

/// Every rule, or the first mistake, naming its line.
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = rules.len() + 1;
        let at = |msg: String| format!("policy: rule {number} (line {}): {msg}", i + 1);
        let (header, pattern) = line
            .split_once(':')
            .ok_or_else(|| at(format!("no `:` before the pattern in `{line}`")))?;
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Err(at("the pattern is empty".into()));
        }
        let (mut action, mut severity, mut kind, mut stages) = (None, None, None, None);
        for word in header.split_whitespace() {
            let w = word.to_ascii_lowercase();
            match w.as_str() {
                "block" => set(&mut action, Action::Block, word),
                "redact" => set(&mut action, Action::Redact, word),
                "warn" => set(&mut action, Action::Warn, word),
                "low" => set(&mut severity, "low", word),
                "medium" => set(&mut severity, "medium", word),
                "high" => set(&mut severity, "high", word),
                "critical" => set(&mut severity, "critical", word),
                "keyword" => set(&mut kind, Kind::Keyword, word),
                "regex" => set(&mut kind, Kind::Regex, word),
                "all" => set(&mut stages, ALL_STAGES.to_vec(), word),
                list => {
                    let parsed: Option<Vec<Stage>> = list
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(stage_named)
                        .collect();
                    match parsed {
                        Some(v) if !v.is_empty() => set(&mut stages, v, word),
                        _ => Err(format!(
                            "`{word}` is not an action (block, redact, warn), severity (low, \
                             medium, high, critical), kind (keyword, regex) or stage list \
                             (inbound-message, tool-output, outbound-response, \
                             outbound-http-body, all)"
                        )),
                    }
                }
            }
            .map_err(at)?;
        }
        rules.push(Rule {
            number,
            line: i + 1,
            action: action.ok_or_else(|| at("no action (block, redact or warn)".into()))?,
            severity: severity.unwrap_or("medium"),
            kind: kind.unwrap_or(Kind::Keyword),
            stages: stages.unwrap_or_else(|| ALL_STAGES.to_vec()),
            pattern: pattern.to_string(),
        });
    }
    Ok(rules)
}

fn set<T>(slot: &mut Option<T>, value: T, word: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("`{word}` repeats a part already given"));
    }
    *slot = Some(value);
    Ok(())
}

/// Lower-case each character whose lower case has the same UTF-8 length,
/// so byte offsets in the result are offsets in the original (needed to
/// redact the original text) and non-ASCII letters still fold.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) if l.len_utf8() == c.len_utf8() => out.push(l),
            _ => out.push(c),
        }
    }
    out
}
