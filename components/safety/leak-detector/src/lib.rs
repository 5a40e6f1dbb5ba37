//! `leak-detector`: finds credentials in content and redacts them (inbound
//! messages, tool output, responses) or blocks them (outbound HTTP bodies).
//! See README.md for the patterns and the owner's settings.
//!
//! Settings are read only for the patterns that matched, so clean content
//! costs no host calls at all.

pub mod patterns;

use ironclaw_sdk::safety_filter::{Stage, Verdict};

use patterns::{Found, GENERIC};

/// What to do with one pattern's match at one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Off,
    Warn,
    Redact,
    Block,
}

impl Action {
    fn parse(key: &str, value: &str) -> Result<Action, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "block" => Ok(Action::Block),
            "redact" => Ok(Action::Redact),
            "warn" => Ok(Action::Warn),
            "off" => Ok(Action::Off),
            other => Err(format!(
                "leak-detector: setting `{key}` = `{other}` is not one of block, redact, warn, off"
            )),
        }
    }
}

/// Built-in default: the generic assignment guess only warns; every
/// specific credential is redacted, except on its way out in an HTTP body,
/// where a redaction would silently send a broken request.
pub fn default_action(id: &str, stage: Stage) -> Action {
    match (id, stage) {
        (GENERIC, _) => Action::Warn,
        (_, Stage::OutboundHttpBody) => Action::Block,
        _ => Action::Redact,
    }
}

/// Reads one owner setting; `Err` when the host could not answer.
pub type Settings<'a> = &'a dyn Fn(&str) -> Result<Option<String>, String>;

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::InboundMessage => "inbound-message",
        Stage::ToolOutput => "tool-output",
        Stage::OutboundResponse => "outbound-response",
        Stage::OutboundHttpBody => "outbound-http-body",
    }
}

/// The filter's judgement of `content` at `stage`.
pub fn inspect(stage: Stage, content: &str, settings: Settings) -> Result<Verdict, String> {
    let mut found = patterns::scan(content);
    if found.is_empty() {
        return Ok(Verdict::Allow);
    }
    // A specific pattern over the same bytes explains them better than the
    // generic guess (`api_key = sk-…` is an OpenAI key).
    let specific: Vec<(usize, usize)> = found
        .iter()
        .filter(|f| f.id != GENERIC)
        .map(|f| (f.start, f.end))
        .collect();
    found.retain(|f| f.id != GENERIC || !specific.iter().any(|&(s, e)| f.start < e && s < f.end));

    let all = settings("action")?
        .map(|v| Action::parse("action", &v))
        .transpose()?;
    let mut acted: Vec<(Found, Action)> = Vec::with_capacity(found.len());
    let mut cache: Vec<(&'static str, Action)> = Vec::new();
    for f in found {
        let action = match cache.iter().find(|(id, _)| *id == f.id) {
            Some(&(_, a)) => a,
            None => {
                let key = format!("action.{}", f.id);
                let a = match settings(&key)? {
                    Some(v) => Action::parse(&key, &v)?,
                    None => all.unwrap_or_else(|| default_action(f.id, stage)),
                };
                cache.push((f.id, a));
                a
            }
        };
        if action != Action::Off {
            acted.push((f, action));
        }
    }
    let Some(worst) = acted.iter().map(|(_, a)| *a).max() else {
        return Ok(Verdict::Allow);
    };
    let ids = |want: Action| {
        let mut ids: Vec<&str> = Vec::new();
        for (f, a) in &acted {
            if *a == want && !ids.contains(&f.id) {
                ids.push(f.id);
            }
        }
        ids.join(", ")
    };
    Ok(match worst {
        // Reasons name the pattern, never the matched text.
        Action::Block => Verdict::Block(format!(
            "credential found in {}: {}",
            stage_name(stage),
            ids(Action::Block)
        )),
        Action::Redact => Verdict::Redact(redact(content, &acted)),
        Action::Warn => Verdict::Warn(format!("possible credential: {}", ids(Action::Warn))),
        Action::Off => Verdict::Allow,
    })
}

/// `content` with every redact-action match replaced by `[REDACTED:<id>]`.
fn redact(content: &str, acted: &[(Found, Action)]) -> String {
    let mut spans: Vec<&Found> = acted
        .iter()
        .filter(|(_, a)| *a == Action::Redact)
        .map(|(f, _)| f)
        .collect();
    spans.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out = String::with_capacity(content.len());
    let mut pos = 0;
    for f in spans {
        if f.start < pos {
            continue; // inside a span already replaced
        }
        // Matches start and end on ASCII bytes, so these are char
        // boundaries; `get` keeps a mistake from panicking.
        out.push_str(content.get(pos..f.start).unwrap_or_default());
        out.push_str("[REDACTED:");
        out.push_str(f.id);
        out.push(']');
        pos = f.end;
    }
    out.push_str(content.get(pos..).unwrap_or_default());
    out
}

/// The component glue; wasm-only, so native test builds see no unused impl.
#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::config;
    use ironclaw_sdk::safety_filter::{Guest, InspectionContext, Stage, Verdict};

    struct LeakDetector;

    impl Guest for LeakDetector {
        fn stages() -> Vec<Stage> {
            vec![
                Stage::InboundMessage,
                Stage::ToolOutput,
                Stage::OutboundResponse,
                Stage::OutboundHttpBody,
            ]
        }

        fn inspect(
            stage: Stage,
            content: String,
            _context: InspectionContext,
        ) -> Result<Verdict, String> {
            super::inspect(stage, &content, &|key| {
                config::get(key)
                    .map_err(|e| format!("leak-detector: reading setting `{key}`: {e:?}"))
            })
        }
    }

    ironclaw_sdk::safety_filter::export!(LeakDetector);
}

#[cfg(test)]
mod tests;
