//! JSON parameters and results.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why JSON parameters could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError(pub String);

impl core::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamsError {}

/// Parses a tool call's JSON parameters into `T`, with serde's message
/// (which names the field and position) on failure.
pub fn parse<T: DeserializeOwned>(params: &str) -> Result<T, ParamsError> {
    serde_json::from_str(params).map_err(|e| ParamsError(format!("parameters: {e}")))
}

/// Serialises a result value as compact JSON.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, ParamsError> {
    serde_json::to_string(value).map_err(|e| ParamsError(format!("result: {e}")))
}

/// "an object", "a string", …: a JSON value's type for error messages.
pub fn type_name(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
