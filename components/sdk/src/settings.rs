//! Reading the owner's settings (`[components.settings.<name>]`): every
//! value is a string, so components parse lists and flags the same way.

/// A comma- or newline-separated list, trimmed, blanks dropped.
pub fn list(value: &str) -> Vec<String> {
    value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `true`/`yes`/`on`/`1` or `false`/`no`/`off`/`0`, any case; anything
/// else is an error naming `key`.
pub fn flag(key: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        other => Err(format!("`{key}` must be true or false, not {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_flags() {
        assert_eq!(list(" a, b\nc,, "), ["a", "b", "c"]);
        assert!(list("").is_empty());
        assert_eq!(flag("k", " Yes "), Ok(true));
        assert_eq!(flag("k", "off"), Ok(false));
        assert!(flag("k", "maybe").unwrap_err().contains("`k`"));
    }
}
