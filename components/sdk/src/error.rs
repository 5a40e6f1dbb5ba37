//! Display and error impls for the host's typed capability errors.

pub use crate::types::CapabilityError;

impl CapabilityError {
    /// The capability or reason this error names.
    pub fn detail(&self) -> &str {
        match self {
            CapabilityError::Denied(s)
            | CapabilityError::NotAvailable(s)
            | CapabilityError::Invalid(s)
            | CapabilityError::Limited(s)
            | CapabilityError::Failed(s) => s,
        }
    }

    /// True when the grant refused the capability.
    pub fn is_denied(&self) -> bool {
        matches!(self, CapabilityError::Denied(_))
    }

    /// A sentence for people: names the capability or the reason.
    pub fn describe(&self) -> String {
        match self {
            // `denied` names the capability, optionally followed by `: why`
            // when the grant covers the capability but not this request.
            CapabilityError::Denied(c) => match c.split_once(": ") {
                Some((capability, why)) => format!("capability `{capability}` denied: {why}"),
                None => format!("capability `{c}` was not granted"),
            },
            CapabilityError::NotAvailable(c) => format!("capability `{c}` is not available"),
            CapabilityError::Invalid(m) => format!("invalid request: {m}"),
            CapabilityError::Limited(m) => format!("limit reached: {m}"),
            CapabilityError::Failed(m) => format!("capability failed: {m}"),
        }
    }
}
