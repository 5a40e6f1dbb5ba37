//! RFC 6901 JSON pointers: parsing, setting and deleting.

use serde_json::{Map, Value};

use ironclaw_sdk::params::type_name;

/// The most reference tokens a pointer may have. Inputs nest at most 128
/// deep (serde_json's limit), so this bounds how deep `set` can build.
pub const MAX_TOKENS: usize = 128;

/// Splits a pointer into unescaped reference tokens; "" is the whole document.
pub fn parse(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "JSON pointer \"{pointer}\" must be \"\" (the whole document) or start with '/'"
        ));
    };
    let tokens = rest
        .split('/')
        .map(|token| unescape(token).map_err(|e| format!("JSON pointer \"{pointer}\": {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if tokens.len() > MAX_TOKENS {
        return Err(format!(
            "JSON pointer \"{pointer}\" has {} tokens; at most {MAX_TOKENS} are allowed",
            tokens.len()
        ));
    }
    Ok(tokens)
}

fn unescape(token: &str) -> Result<String, String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => {
                return Err(format!(
                    "invalid escape in \"{token}\": '~' must be followed by 0 ('~') or 1 ('/')"
                ));
            }
        }
    }
    Ok(out)
}

/// The pointer to the first `n` tokens, re-escaped, for messages.
fn prefix(tokens: &[String], n: usize) -> String {
    tokens
        .iter()
        .take(n)
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// An array index token: digits without leading zeros, below `len`
/// (or equal to it, or "-", when `allow_end`, meaning one past the end).
fn index(token: &str, len: usize, allow_end: bool, at: &str) -> Result<usize, String> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let well_formed = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    let i = match token.parse::<usize>() {
        Ok(i) if well_formed => i,
        _ => {
            return Err(format!(
                "\"{at}\" is an array, and \"{token}\" is not an array index"
            ));
        }
    };
    if i < len || (allow_end && i == len) {
        Ok(i)
    } else {
        Err(format!(
            "index {i} is out of bounds for the array at \"{at}\" (length {len})"
        ))
    }
}

/// Sets the value at `tokens`. Missing object members on the way are created
/// as empty objects; array elements must exist, except that the last token may
/// be the array's length or "-" to append.
pub fn set(root: &mut Value, tokens: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = tokens.split_last() else {
        *root = value;
        return Ok(());
    };
    let mut current = root;
    for (depth, token) in parents.iter().enumerate() {
        let at = prefix(tokens, depth);
        current = match current {
            Value::Object(map) => map
                .entry(token.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => {
                let i = index(token, items.len(), false, &at)?;
                items
                    .get_mut(i)
                    .ok_or_else(|| format!("index {i} is out of bounds at \"{at}\""))?
            }
            other => {
                return Err(format!(
                    "\"{at}\" is {}, which has no member \"{token}\"",
                    type_name(other)
                ));
            }
        };
    }
    let at = prefix(tokens, parents.len());
    match current {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(items) => {
            let i = index(last, items.len(), true, &at)?;
            match items.get_mut(i) {
                Some(slot) => *slot = value,
                None => items.push(value),
            }
        }
        other => {
            return Err(format!(
                "\"{at}\" is {}, which has no member \"{last}\"",
                type_name(other)
            ));
        }
    }
    Ok(())
}

/// Removes the value at `tokens`, which must exist; returns it.
pub fn delete(root: &mut Value, tokens: &[String]) -> Result<Value, String> {
    let Some((last, parents)) = tokens.split_last() else {
        return Err("the pointer \"\" is the whole document, which cannot be deleted".to_string());
    };
    let mut current = root;
    for (depth, token) in parents.iter().enumerate() {
        let at = prefix(tokens, depth);
        current = step(current, token, &at)?;
    }
    let at = prefix(tokens, parents.len());
    match current {
        Value::Object(map) => map
            .shift_remove(last.as_str())
            .ok_or_else(|| format!("the object at \"{at}\" has no member \"{last}\"")),
        Value::Array(items) => {
            let i = index(last, items.len(), false, &at)?;
            if i < items.len() {
                Ok(items.remove(i))
            } else {
                Err(format!("index {i} is out of bounds at \"{at}\""))
            }
        }
        other => Err(format!(
            "\"{at}\" is {}, which has no member \"{last}\"",
            type_name(other)
        )),
    }
}

fn step<'a>(current: &'a mut Value, token: &str, at: &str) -> Result<&'a mut Value, String> {
    match current {
        Value::Object(map) => map
            .get_mut(token)
            .ok_or_else(|| format!("the object at \"{at}\" has no member \"{token}\"")),
        Value::Array(items) => {
            let i = index(token, items.len(), false, at)?;
            items
                .get_mut(i)
                .ok_or_else(|| format!("index {i} is out of bounds at \"{at}\""))
        }
        other => Err(format!(
            "\"{at}\" is {}, which has no member \"{token}\"",
            type_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tokens(p: &str) -> Vec<String> {
        parse(p).unwrap()
    }

    #[test]
    fn parses_and_unescapes() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("/"), Ok(vec!["".to_string()]));
        assert_eq!(
            parse("/a~1b/c~0d/~01"),
            Ok(vec!["a/b".into(), "c~d".into(), "~1".into()])
        );
        assert!(parse("a/b").unwrap_err().contains("start with '/'"));
        assert!(parse("/a~2").unwrap_err().contains("invalid escape"));
        assert!(parse("/a~").unwrap_err().contains("invalid escape"));
        assert!(
            parse(&"/a".repeat(MAX_TOKENS + 1))
                .unwrap_err()
                .contains("at most 128")
        );
        assert_eq!(
            parse(&"/a".repeat(MAX_TOKENS)).map(|t| t.len()),
            Ok(MAX_TOKENS)
        );
    }

    #[test]
    fn set_creates_objects_and_appends() {
        let mut v = json!({"a": [1, 2]});
        set(&mut v, &tokens("/b/c/d"), json!(true)).unwrap();
        set(&mut v, &tokens("/a/0"), json!(10)).unwrap();
        set(&mut v, &tokens("/a/2"), json!(3)).unwrap();
        set(&mut v, &tokens("/a/-"), json!(4)).unwrap();
        set(&mut v, &tokens("/a~1b"), json!("slash")).unwrap();
        assert_eq!(
            v,
            json!({"a": [10, 2, 3, 4], "b": {"c": {"d": true}}, "a/b": "slash"})
        );
        set(&mut v, &[], json!(null)).unwrap();
        assert_eq!(v, json!(null));
    }

    #[test]
    fn set_errors() {
        let mut v = json!({"a": [1], "s": "x"});
        assert!(
            set(&mut v, &tokens("/a/5"), json!(0))
                .unwrap_err()
                .contains("out of bounds")
        );
        assert!(
            set(&mut v, &tokens("/a/01"), json!(0))
                .unwrap_err()
                .contains("not an array index")
        );
        assert!(
            set(&mut v, &tokens("/a/x/y"), json!(0))
                .unwrap_err()
                .contains("not an array index")
        );
        assert!(
            set(&mut v, &tokens("/a/-/y"), json!(0))
                .unwrap_err()
                .contains("not an array index")
        );
        let e = set(&mut v, &tokens("/s/t"), json!(0)).unwrap_err();
        assert_eq!(e, "\"/s\" is a string, which has no member \"t\"");
        assert_eq!(v, json!({"a": [1], "s": "x"}));
    }

    #[test]
    fn delete_members_and_elements() {
        let mut v = json!({"a": [1, 2, 3], "b": {"c": 1, "d": 2}, "e": 0});
        assert_eq!(delete(&mut v, &tokens("/a/1")), Ok(json!(2)));
        assert_eq!(delete(&mut v, &tokens("/b/c")), Ok(json!(1)));
        assert_eq!(delete(&mut v, &tokens("/b")), Ok(json!({"d": 2})));
        assert_eq!(v, json!({"a": [1, 3], "e": 0}));
        // Order is kept (shift, not swap, removal).
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"a":[1,3],"e":0}"#);
    }

    #[test]
    fn delete_errors() {
        let mut v = json!({"a": [1], "b": {}});
        assert!(delete(&mut v, &[]).unwrap_err().contains("whole document"));
        assert!(
            delete(&mut v, &tokens("/x"))
                .unwrap_err()
                .contains("no member \"x\"")
        );
        assert!(
            delete(&mut v, &tokens("/a/1"))
                .unwrap_err()
                .contains("out of bounds")
        );
        assert!(
            delete(&mut v, &tokens("/a/-"))
                .unwrap_err()
                .contains("not an array index")
        );
        assert!(
            delete(&mut v, &tokens("/b/c/d"))
                .unwrap_err()
                .contains("\"/b\" has no member \"c\"")
        );
        assert!(
            delete(&mut v, &tokens("/a/0/z"))
                .unwrap_err()
                .contains("\"/a/0\" is a number")
        );
    }
}
