use super::*;

fn run(name: &str, params: Value) -> Result<Value, Error> {
    execute(name, &params.to_string())
}

fn invalid_message(r: Result<Value, Error>) -> String {
    match r {
        Err(Error::InvalidParams(m)) => m,
        other => panic!("expected InvalidParams, got {other:?}"),
    }
}

fn transform_ok(data: Value, ops: Value) -> Value {
    let out = run("json_transform", json!({"data": data, "operations": ops})).unwrap();
    out["result"].clone()
}

fn transform_err(data: Value, ops: Value) -> String {
    invalid_message(run(
        "json_transform",
        json!({"data": data, "operations": ops}),
    ))
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn tools_have_closed_object_schemas() {
    let tools = tools();
    let names: Vec<_> = tools.iter().map(|t| t.name).collect();
    assert_eq!(names, ["json_select", "json_transform"]);
    for t in &tools {
        assert_eq!(t.schema["type"], "object", "{}", t.name);
        assert_eq!(t.schema["additionalProperties"], false, "{}", t.name);
        assert_eq!(t.schema["required"][0], "data", "{}", t.name);
    }
    let ops = tools[1].schema["properties"]["operations"]["items"]["oneOf"]
        .as_array()
        .unwrap();
    let op_names: Vec<_> = ops
        .iter()
        .map(|o| o["properties"]["op"]["const"].clone())
        .collect();
    assert_eq!(
        op_names,
        json!([
            "pick",
            "omit",
            "rename",
            "set",
            "delete",
            "flatten",
            "sort_keys",
            "merge",
            "map_select"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    for o in ops {
        assert_eq!(o["additionalProperties"], false);
        assert_eq!(o["required"][0], "op");
    }
}

#[test]
fn unknown_tool() {
    assert_eq!(
        run("json_query", json!({})),
        Err(Error::UnknownTool("json_query".into()))
    );
}

#[test]
fn select_rfc9535() {
    let data = json!({"store": {"book": [
        {"title": "A", "price": 8, "tags": ["x"]},
        {"title": "B", "price": 12},
        {"title": "C", "price": 5, "tags": []}
    ]}});
    let m = |path: &str| {
        run("json_select", json!({"data": data, "path": path})).unwrap()["matches"].clone()
    };
    assert_eq!(m("$.store.book[*].title"), json!(["A", "B", "C"]));
    assert_eq!(m("$.store.book[?@.price < 10].title"), json!(["A", "C"]));
    assert_eq!(m("$..price"), json!([8, 12, 5]));
    assert_eq!(m("$.store.book[-1].title"), json!(["C"]));
    assert_eq!(m("$.store.book[?length(@.tags) > 0].title"), json!(["A"]));
    assert_eq!(
        m("$.store.book[?match(@.title, '[AB]')].title"),
        json!(["A", "B"])
    );
    assert_eq!(m("$.nothing"), json!([]));
    assert_eq!(m("$"), json!([data]));
}

#[test]
fn select_errors() {
    let msg = invalid_message(run(
        "json_select",
        json!({"data": {}, "path": "store.book"}),
    ));
    assert!(
        msg.starts_with("invalid JSONPath \"store.book\": "),
        "{msg}"
    );
    let msg = invalid_message(run(
        "json_select",
        json!({"data": {}, "path": "$[?nope(@)]"}),
    ));
    assert!(msg.contains("invalid JSONPath"), "{msg}");
    let msg = invalid_message(run("json_select", json!({"path": "$"})));
    assert!(msg.contains("missing field `data`"), "{msg}");
    let msg = invalid_message(run("json_select", json!({"data": 1, "path": "$", "x": 1})));
    assert!(msg.contains("unknown field `x`"), "{msg}");
    let deep = format!("$[?{}@.a{}]", "(".repeat(200), ")".repeat(200));
    let msg = invalid_message(run("json_select", json!({"data": {}, "path": deep})));
    assert!(msg.contains("parentheses 200 deep; at most 32"), "{msg}");
    let nested = format!("${} == 1{}", "[?@".repeat(11), "]".repeat(11));
    let msg = invalid_message(run("json_select", json!({"data": {}, "path": nested})));
    assert!(msg.contains("brackets 11 deep; at most 10"), "{msg}");
    let nested = format!("${} == 1{}", "[?@".repeat(10), "]".repeat(10));
    assert_eq!(select(&json!([[[1]]]), &nested), Ok(vec![]));
}

#[test]
fn nesting_ignores_string_literals() {
    assert_eq!(nesting("$['[[[']"), (1, 0));
    assert_eq!(nesting("$[\"a\\\"((\"]"), (1, 0));
    assert_eq!(nesting("$[?(@.a[0])]"), (2, 1));
}

#[test]
fn pick_omit_rename_keep_order() {
    let data = json!({"z": 1, "a": 2, "m": 3});
    assert_eq!(
        compact(&transform_ok(
            data.clone(),
            json!([{"op": "pick", "keys": ["m", "z", "missing"]}])
        )),
        r#"{"z":1,"m":3}"#
    );
    assert_eq!(
        compact(&transform_ok(
            data.clone(),
            json!([{"op": "omit", "keys": ["a"]}])
        )),
        r#"{"z":1,"m":3}"#
    );
    assert_eq!(
        compact(&transform_ok(
            data.clone(),
            json!([{"op": "rename", "from": "a", "to": "b"}])
        )),
        r#"{"z":1,"b":2,"m":3}"#
    );
    assert_eq!(
        transform_ok(
            data.clone(),
            json!([{"op": "rename", "from": "a", "to": "a"}])
        ),
        data
    );
}

#[test]
fn set_delete_through_pointers() {
    let out = transform_ok(
        json!({"a": {"b": [1, 2]}}),
        json!([
            {"op": "set", "pointer": "/a/b/-", "value": 3},
            {"op": "set", "pointer": "/a/c/d", "value": null},
            {"op": "delete", "pointer": "/a/b/0"}
        ]),
    );
    assert_eq!(out, json!({"a": {"b": [2, 3], "c": {"d": null}}}));
}

#[test]
fn flatten_sort_merge() {
    let data = json!({"b": {"y": 1, "x": {"k": [1, {"q": 2}]}}, "a": {}, "c": 3});
    assert_eq!(
        compact(&transform_ok(data.clone(), json!([{"op": "flatten"}]))),
        r#"{"b.y":1,"b.x.k":[1,{"q":2}],"a":{},"c":3}"#
    );
    assert_eq!(
        compact(&transform_ok(
            data.clone(),
            json!([{"op": "flatten", "separator": "/"}])
        )),
        r#"{"b/y":1,"b/x/k":[1,{"q":2}],"a":{},"c":3}"#
    );
    assert_eq!(
        compact(&transform_ok(
            json!({"z": [{"b": 1, "a": 2}], "a": {"d": 1, "c": 2}}),
            json!([{"op": "sort_keys"}])
        )),
        r#"{"a":{"c":2,"d":1},"z":[{"a":2,"b":1}]}"#
    );
    assert_eq!(
        transform_ok(
            json!({"a": {"x": 1, "y": {"p": 1}}, "b": [1]}),
            json!([{"op": "merge", "value": {"a": {"y": {"q": 2}, "z": null}, "b": {"new": true}}}])
        ),
        json!({"a": {"x": 1, "y": {"p": 1, "q": 2}, "z": null}, "b": {"new": true}})
    );
}

#[test]
fn map_select_elements() {
    assert_eq!(
        transform_ok(
            json!([{"user": {"name": "ann"}}, {"user": {}}, 3]),
            json!([{"op": "map_select", "path": "$.user.name"}])
        ),
        json!(["ann", null, null])
    );
}

#[test]
fn operations_chain_in_order() {
    let out = transform_ok(
        json!({"users": [{"n": "a", "age": 3}, {"n": "b", "age": 4}], "meta": {"v": 1}}),
        json!([
            {"op": "omit", "keys": ["meta"]},
            {"op": "set", "pointer": "", "value": [{"n": "x"}]},
            {"op": "map_select", "path": "$.n"}
        ]),
    );
    assert_eq!(out, json!(["x"]));
    assert_eq!(transform_ok(json!(5), json!([])), json!(5));
}

#[test]
fn errors_name_the_operation() {
    let cases = [
        (
            json!([1]),
            json!([{"op": "pick", "keys": ["a"]}]),
            "operations[0] (pick): the data must be an object, but it is an array",
        ),
        (
            json!({}),
            json!([{"op": "sort_keys"}, {"op": "omit", "keys": ["a"]}, {"op": "map_select", "path": "$.a"}]),
            "operations[2] (map_select): the data must be an array, but it is an object",
        ),
        (
            json!({}),
            json!([{"op": "rename", "from": "a", "to": "b"}]),
            "operations[0] (rename): the object has no key \"a\"",
        ),
        (
            json!({"a": 1, "b": 2}),
            json!([{"op": "rename", "from": "a", "to": "b"}]),
            "operations[0] (rename): the object already has a key \"b\"",
        ),
        (
            json!({"a": 1}),
            json!([{"op": "set", "pointer": "a", "value": 1}]),
            "operations[0] (set): JSON pointer \"a\" must be",
        ),
        (
            json!({"a": 1}),
            json!([{"op": "set", "pointer": "/a/b", "value": 1}]),
            "operations[0] (set): \"/a\" is a number, which has no member \"b\"",
        ),
        (
            json!({"a": 1}),
            json!([{"op": "delete", "pointer": "/b"}]),
            "operations[0] (delete): the object at \"\" has no member \"b\"",
        ),
        (
            json!({"a.b": 1, "a": {"b": 2}}),
            json!([{"op": "flatten"}]),
            "operations[0] (flatten): flattening produces the key \"a.b\" twice",
        ),
        (
            json!("s"),
            json!([{"op": "merge", "value": {}}]),
            "operations[0] (merge): the data must be an object, but it is a string",
        ),
        (
            json!([]),
            json!([{"op": "map_select", "path": "$["}]),
            "operations[0] (map_select): invalid JSONPath \"$[\": ",
        ),
        (
            json!({}),
            json!([{"op": "sort_keys"}, {"op": "explode"}]),
            "operations[1]: unknown variant `explode`, expected one of",
        ),
        (
            json!({}),
            json!([{"op": "pick", "keys": ["a"], "extra": 1}]),
            "operations[0]: unknown field `extra`",
        ),
        (
            json!({}),
            json!([{"op": "sort_keys", "deep": true}]),
            "operations[0]: unknown field `deep`",
        ),
        (
            json!({}),
            json!([{"keys": ["a"]}]),
            "operations[0]: missing field `op`",
        ),
        (
            json!({}),
            json!([{"op": "set", "pointer": "/a"}]),
            "operations[0]: missing field `value`",
        ),
        (
            json!({}),
            json!([{"op": "merge", "value": [1]}]),
            "operations[0]: invalid type: sequence, expected a map",
        ),
        (
            json!({}),
            json!(["pick"]),
            "operations[0]: invalid type: string \"pick\"",
        ),
        (
            json!({}),
            json!([{"op": "pick", "keys": "a"}]),
            "operations[0]: invalid type: string \"a\", expected a sequence",
        ),
    ];
    for (data, ops, expected) in cases {
        let msg = transform_err(data, ops.clone());
        assert!(
            msg.starts_with(expected),
            "{ops}:\n  got      {msg}\n  expected {expected}"
        );
    }
    // A malformed operation fails before any operation runs.
    let msg = transform_err(
        json!([1]),
        json!([{"op": "pick", "keys": []}, {"op": "nope"}]),
    );
    assert!(msg.starts_with("operations[1]: unknown variant"), "{msg}");
}

#[test]
fn set_value_may_be_null() {
    assert_eq!(
        transform_ok(
            json!({}),
            json!([{"op": "set", "pointer": "/a", "value": null}])
        ),
        json!({"a": null})
    );
}

#[test]
fn transform_param_errors() {
    let msg = invalid_message(run("json_transform", json!({"data": {}})));
    assert!(msg.contains("missing field `operations`"), "{msg}");
    let msg = invalid_message(run("json_transform", json!({"data": {}, "operations": {}})));
    assert!(
        msg.contains("invalid type: map, expected a sequence"),
        "{msg}"
    );
}
