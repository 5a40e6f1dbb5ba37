use std::cell::RefCell;
use std::collections::BTreeMap;

use super::*;

/// An in-memory workspace that refuses writes outside `writable` the way
/// the host does, and records the last search limit.
#[derive(Default)]
struct Fake {
    docs: RefCell<BTreeMap<String, String>>,
    writable: Vec<&'static str>,
    last_limit: RefCell<Option<u32>>,
    refuse: Option<CapabilityError>,
}

impl Fake {
    fn with(docs: &[(&str, &str)]) -> Fake {
        Fake {
            docs: RefCell::new(
                docs.iter()
                    .map(|(p, c)| (p.to_string(), c.to_string()))
                    .collect(),
            ),
            writable: vec!["notes/"],
            ..Fake::default()
        }
    }

    fn refusing(e: CapabilityError) -> Fake {
        Fake {
            refuse: Some(e),
            ..Fake::default()
        }
    }

    fn refused(&self) -> Result<(), CapabilityError> {
        match &self.refuse {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Workspace for Fake {
    fn read(&self, path: &str) -> Result<Option<Document>, CapabilityError> {
        self.refused()?;
        Ok(self.docs.borrow().get(path).map(|c| Document {
            path: path.to_string(),
            content: c.clone(),
            updated_at: 7,
        }))
    }
    fn write(&self, path: &str, content: &str) -> Result<(), CapabilityError> {
        self.refused()?;
        if path.contains("..") {
            return Err(CapabilityError::Invalid(format!("invalid path `{path}`")));
        }
        if !self.writable.iter().any(|w| path.starts_with(w)) {
            return Err(CapabilityError::Denied(format!(
                "memory: write `{path}` is outside this component's write grant (notes/)"
            )));
        }
        self.docs
            .borrow_mut()
            .insert(path.to_string(), content.to_string());
        Ok(())
    }
    fn tree(&self, prefix: &str) -> Result<Vec<String>, CapabilityError> {
        self.refused()?;
        Ok(self
            .docs
            .borrow()
            .keys()
            .filter(|p| p.starts_with(prefix))
            .cloned()
            .collect())
    }
    fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, CapabilityError> {
        self.refused()?;
        *self.last_limit.borrow_mut() = Some(limit);
        Ok(self
            .docs
            .borrow()
            .iter()
            .filter(|(_, c)| c.contains(query))
            .take(limit as usize)
            .map(|(p, c)| SearchHit {
                path: p.clone(),
                snippet: c.clone(),
                score: 0.5,
            })
            .collect())
    }
}

fn run(ws: &Fake, name: &str, params: Value) -> Result<Value, ToolError> {
    execute(name, &params.to_string(), ws)
}

fn invalid_message(r: Result<Value, ToolError>) -> String {
    match r {
        Err(ToolError::InvalidParams(m)) => m,
        other => panic!("expected InvalidParams, got {other:?}"),
    }
}

#[test]
fn four_tools_with_closed_described_schemas() {
    let tools = tools();
    let names: Vec<_> = tools.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "memory_search",
            "memory_read",
            "memory_write",
            "memory_tree"
        ]
    );
    for t in &tools {
        assert_eq!(t.schema["type"], "object", "{}", t.name);
        assert_eq!(t.schema["additionalProperties"], false, "{}", t.name);
        for (prop, spec) in t.schema["properties"].as_object().unwrap() {
            assert!(spec["description"].is_string(), "{}.{prop}", t.name);
        }
    }
    assert_eq!(tools[2].schema["required"], json!(["path", "content"]));
    assert_eq!(
        tools[2].schema["properties"]["mode"]["enum"],
        json!(["replace", "append"])
    );
}

#[test]
fn parameters_are_checked_and_named() {
    let ws = Fake::default();
    let m = invalid_message(run(&ws, "memory_read", json!({})));
    assert!(m.contains("path"), "{m}");
    let m = invalid_message(run(&ws, "memory_read", json!({"path": "a", "pth": "b"})));
    assert!(m.contains("pth"), "{m}");
    let m = invalid_message(run(
        &ws,
        "memory_write",
        json!({"path": "notes/a", "content": "x", "mode": "prepend"}),
    ));
    assert!(m.contains("prepend"), "{m}");
    let m = invalid_message(run(&ws, "memory_write", json!({"path": "notes/a"})));
    assert!(m.contains("content"), "{m}");
    for limit in [json!(0), json!(51)] {
        let m = invalid_message(run(
            &ws,
            "memory_search",
            json!({"query": "x", "limit": limit}),
        ));
        assert!(m.contains("between 1 and 50"), "{m}");
    }
    let m = invalid_message(run(
        &ws,
        "memory_search",
        json!({"query": "x", "limit": -1}),
    ));
    assert!(m.contains("limit") || m.contains("-1"), "{m}");
    assert!(matches!(
        run(&ws, "memory_delete", json!({})),
        Err(ToolError::UnknownTool(t)) if t == "memory_delete"
    ));
}

#[test]
fn read_answers_found_or_not() {
    let ws = Fake::with(&[("notes/a.md", "alpha")]);
    assert_eq!(
        run(&ws, "memory_read", json!({"path": "notes/a.md"})).unwrap(),
        json!({"path": "notes/a.md", "found": true, "content": "alpha", "updated_at_ms": 7})
    );
    assert_eq!(
        run(&ws, "memory_read", json!({"path": "notes/b.md"})).unwrap(),
        json!({"path": "notes/b.md", "found": false})
    );
}

#[test]
fn write_replaces_or_appends_on_a_new_line() {
    let ws = Fake::with(&[("notes/a.md", "one")]);
    let out = run(
        &ws,
        "memory_write",
        json!({"path": "notes/a.md", "content": "two", "mode": "append"}),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"path": "notes/a.md", "mode": "append", "bytes": 7})
    );
    assert_eq!(ws.docs.borrow()["notes/a.md"], "one\ntwo");
    run(
        &ws,
        "memory_write",
        json!({"path": "notes/new.md", "content": "fresh", "mode": "append"}),
    )
    .unwrap();
    assert_eq!(ws.docs.borrow()["notes/new.md"], "fresh");
    let out = run(
        &ws,
        "memory_write",
        json!({"path": "notes/a.md", "content": "three"}),
    )
    .unwrap();
    assert_eq!(out["mode"], "replace");
    assert_eq!(ws.docs.borrow()["notes/a.md"], "three");
    assert_eq!(appended("a\n", "b"), "a\nb");
    assert_eq!(appended("", "b"), "b");
}

#[test]
fn host_refusals_become_tool_errors_that_say_why() {
    let ws = Fake::with(&[]);
    match run(
        &ws,
        "memory_write",
        json!({"path": "SOUL.md", "content": "x"}),
    ) {
        Err(ToolError::Denied(d)) => {
            assert!(d.starts_with("memory: ") && d.contains("SOUL.md"), "{d}")
        }
        other => panic!("{other:?}"),
    }
    assert!(ws.docs.borrow().is_empty(), "nothing stored");
    let m = invalid_message(run(
        &ws,
        "memory_write",
        json!({"path": "notes/../x", "content": "x"}),
    ));
    assert!(m.contains("invalid path"), "{m}");

    let ws = Fake::refusing(CapabilityError::NotAvailable("memory".into()));
    match run(&ws, "memory_tree", json!({})) {
        Err(ToolError::Failed(m)) => assert_eq!(m, "capability `memory` is not available"),
        other => panic!("{other:?}"),
    }
    let ws = Fake::refusing(CapabilityError::Denied("memory".into()));
    assert!(matches!(
        run(&ws, "memory_search", json!({"query": "x"})),
        Err(ToolError::Denied(d)) if d == "memory"
    ));
}

#[test]
fn search_and_tree_pass_through_what_the_host_answers() {
    let ws = Fake::with(&[
        ("notes/a.md", "tomatoes"),
        ("notes/b.md", "carrots"),
        ("daily/x.md", "tomatoes again"),
    ]);
    let out = run(&ws, "memory_search", json!({"query": "tomatoes"})).unwrap();
    assert_eq!(*ws.last_limit.borrow(), Some(DEFAULT_LIMIT));
    let paths: Vec<&str> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["daily/x.md", "notes/a.md"]);
    assert_eq!(out["results"][0]["score"], 0.5);
    run(&ws, "memory_search", json!({"query": "x", "limit": 50})).unwrap();
    assert_eq!(*ws.last_limit.borrow(), Some(50));

    let out = run(&ws, "memory_tree", json!({"prefix": "notes/"})).unwrap();
    assert_eq!(
        out,
        json!({"prefix": "notes/", "paths": ["notes/a.md", "notes/b.md"]})
    );
    let out = run(&ws, "memory_tree", json!({})).unwrap();
    assert_eq!(out["paths"].as_array().unwrap().len(), 3);
}
