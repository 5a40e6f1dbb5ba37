//! The tools' logic, free of the SDK bindings so it runs in native unit tests.

use ironclaw_sdk::params::type_name;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use serde_json_path::JsonPath;

use crate::pointer;

/// Why a call failed; `lib.rs` maps each to the WIT `tool-error` of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidParams(String),
    UnknownTool(String),
}

/// A tool this component offers: name, description, JSON Schema of its parameters.
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
}

/// The two tools, in the order `describe` lists them.
pub fn tools() -> Vec<ToolSpec> {
    let keys =
        json!({ "type": "array", "items": { "type": "string" }, "description": "Object keys" });
    let op = |name: &str, description: &str, properties: Value, required: &[&str]| {
        let mut props = json!({ "op": { "const": name } });
        if let (Some(props), Value::Object(extra)) = (props.as_object_mut(), properties) {
            props.extend(extra);
        }
        let mut req = vec!["op"];
        req.extend_from_slice(required);
        json!({
            "type": "object",
            "description": description,
            "properties": props,
            "required": req,
            "additionalProperties": false
        })
    };
    let operations = vec![
        op(
            "pick",
            "Object only: keep just these keys (in the object's order).",
            json!({ "keys": keys }),
            &["keys"],
        ),
        op(
            "omit",
            "Object only: drop these keys.",
            json!({ "keys": keys }),
            &["keys"],
        ),
        op(
            "rename",
            "Object only: rename key `from` (which must exist) to `to` (which must not), keeping its position.",
            json!({ "from": { "type": "string" }, "to": { "type": "string" } }),
            &["from", "to"],
        ),
        op(
            "set",
            "Set the value at an RFC 6901 JSON pointer (\"\" is the whole document). Missing object \
             members on the way are created; an array index replaces, the array's length or \"-\" appends.",
            json!({ "pointer": { "type": "string" }, "value": { "description": "Any JSON value" } }),
            &["pointer", "value"],
        ),
        op(
            "delete",
            "Delete the value at an RFC 6901 JSON pointer; it must exist.",
            json!({ "pointer": { "type": "string" } }),
            &["pointer"],
        ),
        op(
            "flatten",
            "Object only: nested objects become keys joined by `separator` ({\"a\":{\"b\":1}} → {\"a.b\":1}); \
             arrays and empty objects are kept as values; a key produced twice is an error.",
            json!({ "separator": { "type": "string", "default": "." } }),
            &[],
        ),
        op(
            "sort_keys",
            "Sort object keys, recursively (inside arrays too).",
            json!({}),
            &[],
        ),
        op(
            "merge",
            "Object only: deep-merge `value` into the data; objects merge key by key, anything else \
             (null included) replaces.",
            json!({ "value": { "type": "object" } }),
            &["value"],
        ),
        op(
            "map_select",
            "Array only: replace each element by the first match of the JSONPath `path` in it, or null.",
            json!({ "path": { "type": "string", "description": "RFC 9535 JSONPath, e.g. \"$.name\"" } }),
            &["path"],
        ),
    ];
    vec![
        ToolSpec {
            name: "json_select",
            description: "Selects values from JSON data with an RFC 9535 JSONPath expression \
                 (e.g. \"$.store.book[?@.price < 10].title\"); returns {\"matches\": [...]} in document order.",
            schema: json!({
                "type": "object",
                "properties": {
                    "data": { "description": "The JSON value to query (any type)" },
                    "path": { "type": "string", "description": "RFC 9535 JSONPath expression, starting with $" }
                },
                "required": ["data", "path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "json_transform",
            description: "Applies a list of operations to JSON data, in order, and returns \
                 {\"result\": ...}. Operations: pick, omit, rename, set, delete, flatten, sort_keys, \
                 merge, map_select. A failing operation stops the run with an error naming its index.",
            schema: json!({
                "type": "object",
                "properties": {
                    "data": { "description": "The JSON value to transform (any type)" },
                    "operations": {
                        "type": "array",
                        "description": "Operations applied in order; each is an object with \"op\" and that operation's fields",
                        "items": { "oneOf": operations }
                    }
                },
                "required": ["data", "operations"],
                "additionalProperties": false
            }),
        },
    ]
}

/// Runs tool `name` with JSON `params`.
pub fn execute(name: &str, params: &str) -> Result<Value, Error> {
    match name {
        "json_select" => {
            let p: SelectParams = parse(params)?;
            let matches = select(&p.data, &p.path).map_err(Error::InvalidParams)?;
            Ok(json!({ "matches": matches }))
        }
        "json_transform" => {
            let p: TransformParams = parse(params)?;
            let result = transform(p.data, p.operations).map_err(Error::InvalidParams)?;
            Ok(json!({ "result": result }))
        }
        other => Err(Error::UnknownTool(other.to_string())),
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: &str) -> Result<T, Error> {
    serde_json::from_str(params).map_err(|e| Error::InvalidParams(format!("parameters: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectParams {
    data: Value,
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformParams {
    data: Value,
    /// Kept as raw values so each one's error can name its index.
    operations: Vec<Value>,
}

/// Deepest nesting of brackets (`[`, i.e. filters inside filters) a JSONPath
/// may have. serde_json_path's parser backtracks over nested filters, taking
/// about 2.2 times longer per level: 20 levels take seconds, 30 hours.
const MAX_BRACKET_NESTING: usize = 10;
/// Deepest nesting of parentheses; the parser recurses on them.
const MAX_PAREN_NESTING: usize = 32;

/// Parses an RFC 9535 JSONPath; the error carries the parser's message.
pub fn compile_path(path: &str) -> Result<JsonPath, String> {
    let (brackets, parens) = nesting(path);
    if brackets > MAX_BRACKET_NESTING {
        return Err(format!(
            "JSONPath \"{path}\" nests brackets {brackets} deep; at most {MAX_BRACKET_NESTING} are allowed"
        ));
    }
    if parens > MAX_PAREN_NESTING {
        return Err(format!(
            "JSONPath \"{path}\" nests parentheses {parens} deep; at most {MAX_PAREN_NESTING} are allowed"
        ));
    }
    JsonPath::parse(path).map_err(|e| format!("invalid JSONPath \"{path}\": {e}"))
}

/// Deepest nesting of `[` and of `(` outside string literals.
fn nesting(path: &str) -> (usize, usize) {
    let (mut brackets, mut parens) = (0usize, 0usize);
    let (mut deepest_brackets, mut deepest_parens) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in path.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' => {
                    brackets += 1;
                    deepest_brackets = deepest_brackets.max(brackets);
                }
                ']' => brackets = brackets.saturating_sub(1),
                '(' => {
                    parens += 1;
                    deepest_parens = deepest_parens.max(parens);
                }
                ')' => parens = parens.saturating_sub(1),
                _ => {}
            },
        }
    }
    (deepest_brackets, deepest_parens)
}

/// All nodes `path` selects in `data`, in document order.
pub fn select(data: &Value, path: &str) -> Result<Vec<Value>, String> {
    let path = compile_path(path)?;
    Ok(path.query(data).all().into_iter().cloned().collect())
}

/// One `json_transform` operation.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    Pick {
        keys: Vec<String>,
    },
    Omit {
        keys: Vec<String>,
    },
    Rename {
        from: String,
        to: String,
    },
    Set {
        pointer: String,
        value: Value,
    },
    Delete {
        pointer: String,
    },
    Flatten {
        #[serde(default)]
        separator: Option<String>,
    },
    /// A struct variant, not a unit one: serde ignores unknown fields on an
    /// internally tagged unit variant even with `deny_unknown_fields`.
    SortKeys {},
    Merge {
        value: Map<String, Value>,
    },
    MapSelect {
        path: String,
    },
}

impl Operation {
    fn name(&self) -> &'static str {
        match self {
            Operation::Pick { .. } => "pick",
            Operation::Omit { .. } => "omit",
            Operation::Rename { .. } => "rename",
            Operation::Set { .. } => "set",
            Operation::Delete { .. } => "delete",
            Operation::Flatten { .. } => "flatten",
            Operation::SortKeys {} => "sort_keys",
            Operation::Merge { .. } => "merge",
            Operation::MapSelect { .. } => "map_select",
        }
    }
}

/// Parses every operation first (so a malformed one fails before any runs),
/// then applies them in order.
pub fn transform(data: Value, operations: Vec<Value>) -> Result<Value, String> {
    let ops = operations
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            serde_json::from_value::<Operation>(raw).map_err(|e| format!("operations[{i}]: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ops.into_iter().enumerate().try_fold(data, |data, (i, op)| {
        let name = op.name();
        apply(data, op).map_err(|e| format!("operations[{i}] ({name}): {e}"))
    })
}

fn apply(data: Value, op: Operation) -> Result<Value, String> {
    Ok(match op {
        Operation::Pick { keys } => {
            let map = object(data)?;
            Value::Object(map.into_iter().filter(|(k, _)| keys.contains(k)).collect())
        }
        Operation::Omit { keys } => {
            let map = object(data)?;
            Value::Object(map.into_iter().filter(|(k, _)| !keys.contains(k)).collect())
        }
        Operation::Rename { from, to } => {
            let map = object(data)?;
            if !map.contains_key(&from) {
                return Err(format!("the object has no key \"{from}\""));
            }
            if from != to && map.contains_key(&to) {
                return Err(format!(
                    "the object already has a key \"{to}\"; omit it first to overwrite it"
                ));
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| if k == from { (to.clone(), v) } else { (k, v) })
                    .collect(),
            )
        }
        Operation::Set { pointer, value } => {
            let tokens = pointer::parse(&pointer)?;
            let mut data = data;
            pointer::set(&mut data, &tokens, value)?;
            data
        }
        Operation::Delete { pointer } => {
            let tokens = pointer::parse(&pointer)?;
            let mut data = data;
            pointer::delete(&mut data, &tokens)?;
            data
        }
        Operation::Flatten { separator } => {
            let map = object(data)?;
            let separator = separator.as_deref().unwrap_or(".");
            let mut out = Map::new();
            flatten_into(&mut out, None, map, separator)?;
            Value::Object(out)
        }
        Operation::SortKeys {} => {
            let mut data = data;
            sort_keys(&mut data);
            data
        }
        Operation::Merge { value } => {
            let mut map = object(data)?;
            merge(&mut map, value);
            Value::Object(map)
        }
        Operation::MapSelect { path } => {
            let path = compile_path(&path)?;
            let Value::Array(items) = data else {
                return Err(format!(
                    "the data must be an array, but it is {}",
                    type_name(&data)
                ));
            };
            Value::Array(
                items
                    .iter()
                    .map(|item| path.query(item).first().cloned().unwrap_or(Value::Null))
                    .collect(),
            )
        }
    })
}

fn object(data: Value) -> Result<Map<String, Value>, String> {
    match data {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "the data must be an object, but it is {}",
            type_name(&other)
        )),
    }
}

fn flatten_into(
    out: &mut Map<String, Value>,
    prefix: Option<&str>,
    map: Map<String, Value>,
    separator: &str,
) -> Result<(), String> {
    for (key, value) in map {
        let key = match prefix {
            Some(p) => format!("{p}{separator}{key}"),
            None => key,
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                flatten_into(out, Some(&key), inner, separator)?;
            }
            other => {
                if out.contains_key(&key) {
                    return Err(format!(
                        "flattening produces the key \"{key}\" twice; choose another separator"
                    ));
                }
                out.insert(key, other);
            }
        }
    }
    Ok(())
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, v) in entries.iter_mut() {
                sort_keys(v);
            }
            *map = entries.into_iter().collect();
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Object(inner) => {
                if let Some(Value::Object(existing)) = target.get_mut(&key) {
                    merge(existing, inner);
                } else {
                    target.insert(key, Value::Object(inner));
                }
            }
            other => {
                target.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests;
