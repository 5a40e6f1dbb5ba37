//! `policy`: the owner's own rules (setting `rules`, see [`rules`] and
//! README.md): keywords (case-insensitive) or regular expressions that
//! block, redact or warn at the stages each rule names.
//!
//! With no rules, `stages()` asks for nothing and the host never calls the
//! filter. A rule that does not parse or compile makes `inspect` report an
//! error naming it, which the host treats as a block (fails closed).

pub mod rules;

use ironclaw_sdk::safety_filter::{Stage, Verdict};
use regex_lite::RegexBuilder;

use rules::{Action, Kind, Rule};

/// Reads one owner setting; `Err` when the host could not answer.
pub type Settings<'a> = &'a dyn Fn(&str) -> Result<Option<String>, String>;

pub const DEFAULT_REDACT_WITH: &str = "[REDACTED:policy]";

/// Compiled-program size cap per regex: a typo such as `.{1000}{1000}`
/// fails with an error instead of eating the call's budget.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The stages the rules name. Rules that do not parse ask for every stage,
/// so that `inspect` runs and reports them rather than silently not
/// filtering; so does a setting the host could not read.
pub fn stages(settings: Settings) -> Vec<Stage> {
    let text = match settings("rules") {
        Ok(Some(text)) => text,
        Ok(None) => return Vec::new(),
        Err(_) => return rules::ALL_STAGES.to_vec(),
    };
    match rules::parse(&text) {
        Ok(rules) => rules::ALL_STAGES
            .into_iter()
            .filter(|s| rules.iter().any(|r| r.stages.contains(s)))
            .collect(),
        Err(_) => rules::ALL_STAGES.to_vec(),
    }
}

enum Matcher {
    /// The folded keyword, searched in the folded content.
    Keyword(String),
    Regex(regex_lite::Regex),
}

pub fn inspect(stage: Stage, content: &str, settings: Settings) -> Result<Verdict, String> {
    let Some(text) = settings("rules")? else {
        return Ok(Verdict::Allow);
    };
    let rules = rules::parse(&text)?;
    // Compile all rules, not only this stage's: a broken rule is reported
    // at the first call, whatever the stage.
    let mut compiled: Vec<(Rule, Matcher)> = Vec::with_capacity(rules.len());
    for rule in rules {
        let matcher = match rule.kind {
            Kind::Keyword => Matcher::Keyword(rules::fold(&rule.pattern)),
            Kind::Regex => Matcher::Regex(
                RegexBuilder::new(&rule.pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        format!("policy: {} does not compile: {e}", rule.name_with_pattern())
                    })?,
            ),
        };
        compiled.push((rule, matcher));
    }
    let mut folded: Option<String> = None;
    let mut hits: Vec<(&Rule, Vec<(usize, usize)>)> = Vec::new();
    for (rule, matcher) in compiled.iter().filter(|(r, _)| r.stages.contains(&stage)) {
        let spans: Vec<(usize, usize)> = match matcher {
            Matcher::Keyword(k) => {
                let hay = folded.get_or_insert_with(|| rules::fold(content));
                hay.match_indices(k.as_str())
                    .map(|(i, m)| (i, i + m.len()))
                    .collect()
            }
            Matcher::Regex(re) => re
                .find_iter(content)
                .filter(|m| !m.is_empty())
                .map(|m| (m.start(), m.end()))
                .collect(),
        };
        if !spans.is_empty() {
            hits.push((rule, spans));
        }
    }
    let Some(worst) = hits.iter().map(|(r, _)| r.action).max() else {
        return Ok(Verdict::Allow);
    };
    let names = |want: Action| {
        hits.iter()
            .filter(|(r, _)| r.action == want)
            .map(|(r, _)| r.name())
            .collect::<Vec<_>>()
            .join("; ")
    };
    Ok(match worst {
        // The reason names the rule, never the matched text (which may be
        // the very thing the rule keeps out of logs).
        Action::Block => Verdict::Block(format!("policy {}", names(Action::Block))),
        Action::Warn => Verdict::Warn(format!("policy {}", names(Action::Warn))),
        Action::Redact => {
            let with = settings("redact-with")?.unwrap_or_else(|| DEFAULT_REDACT_WITH.to_string());
            let mut spans: Vec<(usize, usize)> = hits
                .iter()
                .filter(|(r, _)| r.action == Action::Redact)
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            spans.sort_unstable();
            Verdict::Redact(replace(content, &spans, &with))
        }
    })
}

/// `content` with each span (sorted by start; overlaps merged) replaced.
fn replace(content: &str, spans: &[(usize, usize)], with: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut pos = 0;
    let mut i = 0;
    while i < spans.len() {
        let (start, mut end) = spans[i];
        i += 1;
        while i < spans.len() && spans[i].0 < end {
            end = end.max(spans[i].1);
            i += 1;
        }
        if start < pos {
            continue;
        }
        // Spans come from str searches, so they are char boundaries.
        out.push_str(content.get(pos..start).unwrap_or_default());
        out.push_str(with);
        pos = end;
    }
    out.push_str(content.get(pos..).unwrap_or_default());
    out
}

/// The component glue; wasm-only, so native test builds see no unused impl.
#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::config;
    use ironclaw_sdk::safety_filter::{Guest, InspectionContext, Stage, Verdict};

    fn setting(key: &str) -> Result<Option<String>, String> {
        config::get(key).map_err(|e| format!("policy: reading setting `{key}`: {e:?}"))
    }

    struct Policy;

    impl Guest for Policy {
        fn stages() -> Vec<Stage> {
            super::stages(&setting)
        }

        fn inspect(
            stage: Stage,
            content: String,
            _context: InspectionContext,
        ) -> Result<Verdict, String> {
            super::inspect(stage, &content, &setting)
        }
    }

    ironclaw_sdk::safety_filter::export!(Policy);
}

#[cfg(test)]
mod tests;
