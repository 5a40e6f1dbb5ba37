//! `validator`: the shape of content rather than its meaning — a size
//! limit per stage (block), characters that hide or reorder text or drive
//! terminals (removed with a redaction), and signs of mis-decoded bytes
//! (warn). See README.md for the settings.

pub mod clean;

use ironclaw_sdk::safety_filter::{Stage, Verdict};

/// Reads one owner setting; `Err` when the host could not answer.
pub type Settings<'a> = &'a dyn Fn(&str) -> Result<Option<String>, String>;

pub const STAGES: [Stage; 3] = [
    Stage::InboundMessage,
    Stage::ToolOutput,
    Stage::OutboundResponse,
];

pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::InboundMessage => "inbound-message",
        Stage::ToolOutput => "tool-output",
        Stage::OutboundResponse => "outbound-response",
        Stage::OutboundHttpBody => "outbound-http-body",
    }
}

/// Built-in size limits: a person types far less than 256 KiB; a tool may
/// legitimately return a large page or file.
pub fn default_max_bytes(stage: Stage) -> Option<usize> {
    match stage {
        Stage::InboundMessage => Some(256 * 1024),
        Stage::ToolOutput => Some(1024 * 1024),
        Stage::OutboundResponse => Some(512 * 1024),
        Stage::OutboundHttpBody => None,
    }
}

/// A run of this many U+FFFD in a row means bytes were decoded with the
/// wrong encoding (a single one is common enough in scraped text).
pub const FFFD_RUN: usize = 3;

/// A size setting: a byte count, optionally with a `KiB`/`MiB` suffix, or
/// `off`/`0` for no limit. `Ok(None)` = not set.
fn size(settings: Settings, key: &str) -> Result<Option<Option<usize>>, String> {
    let Some(raw) = settings(key)? else {
        return Ok(None);
    };
    let v = raw.trim().to_ascii_lowercase();
    if v == "off" || v == "0" {
        return Ok(Some(None));
    }
    let (digits, unit) = if let Some(d) = v.strip_suffix("mib") {
        (d, 1024 * 1024)
    } else if let Some(d) = v.strip_suffix("kib") {
        (d, 1024)
    } else {
        (v.as_str(), 1)
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .map(|n| Some(Some(n)))
        .ok_or_else(|| {
            format!("validator: setting `{key}` = `{raw}` is not a size (e.g. 262144, 256KiB, 1MiB, off)")
        })
}

pub fn inspect(stage: Stage, content: &str, settings: Settings) -> Result<Verdict, String> {
    let stage_key = format!("max-bytes.{}", stage_name(stage));
    let max = match size(settings, &stage_key)? {
        Some(v) => v,
        None => size(settings, "max-bytes")?.unwrap_or_else(|| default_max_bytes(stage)),
    };
    if let Some(max) = max
        && content.len() > max
    {
        return Ok(Verdict::Block(format!(
            "content is {} bytes; the limit at {} is {max} bytes",
            content.len(),
            stage_name(stage)
        )));
    }
    if let Some(cleaned) = clean::strip(content) {
        return Ok(Verdict::Redact(cleaned));
    }
    if content.contains('\u{fffd}')
        && let Some(why) = clean::fffd_runs(content)
    {
        return Ok(Verdict::Warn(why));
    }
    if let Some(Some(max_line)) = size(settings, "max-line-bytes")?
        && let Some(longest) = content.split('\n').map(str::len).max()
        && longest > max_line
    {
        return Ok(Verdict::Warn(format!(
            "a line is {longest} bytes long; max-line-bytes is {max_line}"
        )));
    }
    Ok(Verdict::Allow)
}

/// The component glue; wasm-only, so native test builds see no unused impl.
#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::config;
    use ironclaw_sdk::safety_filter::{Guest, InspectionContext, Stage, Verdict};

    struct Validator;

    impl Guest for Validator {
        fn stages() -> Vec<Stage> {
            super::STAGES.to_vec()
        }

        fn inspect(
            stage: Stage,
            content: String,
            _context: InspectionContext,
        ) -> Result<Verdict, String> {
            super::inspect(stage, &content, &|key| {
                config::get(key).map_err(|e| format!("validator: reading setting `{key}`: {e:?}"))
            })
        }
    }

    ironclaw_sdk::safety_filter::export!(Validator);
}

#[cfg(test)]
mod tests;
