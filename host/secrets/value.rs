//! A secret's plaintext, held so that it cannot leak by accident: it never
//! prints (`Debug` and `Display` say `[REDACTED]`), cannot be serialized,
//! and its memory is zeroed when dropped. Reading it takes an explicit
//! [`SecretValue::expose`], which is easy to find in review.

use std::fmt;

use zeroize::Zeroizing;

#[derive(Clone)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Takes ownership of `value`, so no unzeroized copy is made here.
    pub fn new(value: String) -> SecretValue {
        SecretValue(Zeroizing::new(value))
    }

    /// The plaintext, for the few places that must use it (injection into
    /// a request, the exact-value leak scan).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretValue {
    fn from(value: String) -> SecretValue {
        SecretValue::new(value)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let v = SecretValue::new("sk-live-1234".to_string());
        assert_eq!(format!("{v}"), "[REDACTED]");
        assert_eq!(format!("{v:?}"), "[REDACTED]");
        assert_eq!(format!("{v:#?}"), "[REDACTED]");
        let pair = ("name", v.clone());
        assert!(!format!("{pair:?}").contains("sk-live"));
        assert_eq!(v.expose(), "sk-live-1234");
        assert_eq!(v.len(), 12);
    }
}
