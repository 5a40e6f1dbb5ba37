//! The `memory` capability and the bundled `memory` tool component: the real
//! host, the real built component, a real SQLite workspace.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use ironclaw::capabilities::Grants;
use ironclaw::config::Config;
use ironclaw::memory::MemoryStore;
use ironclaw::memory::embedder::LocalEmbedder;
use ironclaw::registry::manifest::MemoryRequest;
use ironclaw::runtime::{CallError, CallErrorKind, LoadedComponent, Runtime};
use ironclaw::store::sqlite::SqliteDb;
use ironclaw::store::sqlite::memory::SqliteMemory;
use serde_json::{Value, json};
use support::{components_dir, manifest};

/// A fresh workspace and a runtime that serves it.
struct Workspace {
    _dir: tempfile::TempDir,
    store: SqliteMemory,
    runtime: Runtime,
}

async fn workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("ironclaw.db")).unwrap();
    db.migrate().await.unwrap();
    let store = SqliteMemory::new(db, Arc::new(LocalEmbedder::default()));
    let runtime = support::runtime_with(&Config::default()).with_memory(Arc::new(store.clone()));
    Workspace {
        _dir: dir,
        store,
        runtime,
    }
}

impl Workspace {
    /// The bundled component with the grant its manifest requests.
    async fn tool(&self) -> Arc<LoadedComponent> {
        support::load_in(&self.runtime, &components_dir(), "memory").await
    }

    /// The bundled component with another memory grant.
    async fn tool_granted(&self, read: &[&str], write: &[&str]) -> Arc<LoadedComponent> {
        let dir = components_dir();
        let mut m = manifest(&dir, "memory");
        m.capabilities.memory = Some(MemoryRequest {
            read: read.iter().map(|s| s.to_string()).collect(),
            write: write.iter().map(|s| s.to_string()).collect(),
        });
        let grants = self.runtime.grants_as_requested(&m);
        self.runtime
            .load(&dir.join("memory.wasm"), m, grants)
            .await
            .unwrap()
    }

    async fn call(
        &self,
        c: &LoadedComponent,
        tool: &str,
        params: Value,
    ) -> Result<Value, CallError> {
        let out = self
            .runtime
            .call_tool(c, tool, &params.to_string(), &Default::default())
            .await?;
        Ok(serde_json::from_str(&out.output).unwrap())
    }

    async fn ok(&self, c: &LoadedComponent, tool: &str, params: Value) -> Value {
        self.call(c, tool, params.clone())
            .await
            .unwrap_or_else(|e| panic!("{tool}({params}): {e}"))
    }

    async fn err(&self, c: &LoadedComponent, tool: &str, params: Value) -> CallError {
        match self.call(c, tool, params.clone()).await {
            Ok(v) => panic!("{tool}({params}) should fail, got {v}"),
            Err(e) => e,
        }
    }

    async fn search_paths(&self, c: &LoadedComponent, query: &str, limit: u32) -> Vec<String> {
        let out = self
            .ok(c, "memory_search", json!({"query": query, "limit": limit}))
            .await;
        out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["path"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_offers_four_tools() {
    let w = workspace().await;
    let c = w.tool().await;
    let names: Vec<&str> = c.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "memory_search",
            "memory_read",
            "memory_write",
            "memory_tree"
        ]
    );
    assert!(c.tools.iter().all(|t| !t.requires_approval));
}

#[tokio::test(flavor = "multi_thread")]
async fn write_then_read_append_and_tree_through_the_component() {
    let w = workspace().await;
    let c = w.tool().await;
    let out = w
        .ok(
            &c,
            "memory_write",
            json!({"path": "notes/garden.md", "content": "# Garden\n\nWater the tomatoes."}),
        )
        .await;
    assert_eq!(out["mode"], "replace");
    let out = w
        .ok(
            &c,
            "memory_write",
            json!({"path": "notes/garden.md", "content": "Feed them on Sunday.", "mode": "append"}),
        )
        .await;
    assert_eq!(out["mode"], "append");

    let expected = "# Garden\n\nWater the tomatoes.\nFeed them on Sunday.";
    let out = w
        .ok(&c, "memory_read", json!({"path": "notes/garden.md"}))
        .await;
    assert_eq!(out["found"], true);
    assert_eq!(out["content"], expected);
    assert!(out["updated_at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    let stored = w.store.read("notes/garden.md").await.unwrap().unwrap();
    assert_eq!(
        stored.content, expected,
        "the store has what the tool wrote"
    );

    let out = w
        .ok(&c, "memory_read", json!({"path": "notes/none.md"}))
        .await;
    assert_eq!(out, json!({"path": "notes/none.md", "found": false}));

    w.ok(
        &c,
        "memory_write",
        json!({"path": "daily/2026-03-10.md", "content": "Met Ada."}),
    )
    .await;
    let out = w.ok(&c, "memory_tree", json!({"prefix": "notes/"})).await;
    assert_eq!(out["paths"], json!(["notes/garden.md"]));
    let out = w.ok(&c, "memory_tree", json!({})).await;
    assert_eq!(
        out["paths"],
        json!(["daily/2026-03-10.md", "notes/garden.md"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_a_written_document() {
    let w = workspace().await;
    let c = w.tool().await;
    w.ok(
        &c,
        "memory_write",
        json!({"path": "notes/car.md", "content": "# Car\n\nThe car service is due in March; book the garage."}),
    )
    .await;
    w.store
        .write("notes/soup.md", "# Soup\n\nRoast tomatoes and garlic.")
        .await
        .unwrap();
    let out = w
        .ok(
            &c,
            "memory_search",
            json!({"query": "garage service", "limit": 1}),
        )
        .await;
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{out}");
    assert_eq!(results[0]["path"], "notes/car.md");
    assert!(results[0]["snippet"].as_str().unwrap().contains("garage"));
    assert!(results[0]["score"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_outside_the_write_grant_is_denied_and_stores_nothing() {
    let w = workspace().await;
    let c = w.tool().await;
    for path in [
        "SOUL.md",
        "secret/plans.md",
        "notes-old/x.md",
        "MEMORY.md.bak",
    ] {
        let e = w
            .err(
                &c,
                "memory_write",
                json!({"path": path, "content": "obey me"}),
            )
            .await;
        assert_eq!(e.kind, CallErrorKind::Denied, "{path}: {e}");
        assert!(
            e.message.contains("capability `memory` denied")
                && e.message.contains(&format!("`{path}`"))
                && e.message
                    .contains("write grant (notes/, daily/, MEMORY.md)"),
            "{path}: {e}"
        );
        assert!(
            w.store.read(path).await.unwrap().is_none(),
            "{path} was stored"
        );
    }
    // Append checks the write grant too, even though it reads first.
    w.store.write("SOUL.md", "# Soul").await.unwrap();
    let e = w
        .err(
            &c,
            "memory_write",
            json!({"path": "SOUL.md", "content": "more", "mode": "append"}),
        )
        .await;
    assert_eq!(e.kind, CallErrorKind::Denied, "{e}");
    assert_eq!(
        w.store.read("SOUL.md").await.unwrap().unwrap().content,
        "# Soul"
    );
    // MEMORY.md is granted as one document.
    w.ok(
        &c,
        "memory_write",
        json!({"path": "MEMORY.md", "content": "Ada likes tea."}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn read_tree_and_search_never_reach_outside_the_read_grant() {
    let w = workspace().await;
    let c = w.tool_granted(&["notes/"], &["notes/"]).await;
    // Private documents rank higher for the query than the one granted note.
    for i in 0..6 {
        w.store
            .write(
                &format!("private/diary-{i}.md"),
                "Zebra xylophone quartz: zebra xylophone quartz, zebra xylophone.",
            )
            .await
            .unwrap();
    }
    w.store
        .write("notes/zoo.md", "At the zoo we saw a zebra.")
        .await
        .unwrap();
    w.store
        .write("notes/music.md", "A xylophone solo.")
        .await
        .unwrap();

    let paths = w.search_paths(&c, "zebra xylophone quartz", 2).await;
    assert_eq!(
        paths.len(),
        2,
        "granted hits are not crowded out: {paths:?}"
    );
    assert!(paths.iter().all(|p| p.starts_with("notes/")), "{paths:?}");
    let unscoped = w.store.search("zebra xylophone quartz", 2).await.unwrap();
    assert!(
        unscoped.iter().all(|h| h.path.starts_with("private/")),
        "the test needs private docs to outrank the notes"
    );

    let e = w
        .err(&c, "memory_read", json!({"path": "private/diary-0.md"}))
        .await;
    assert_eq!(e.kind, CallErrorKind::Denied, "{e}");
    assert!(
        e.message
            .contains("outside this component's read grant (notes/)"),
        "{e}"
    );
    assert!(!e.message.contains("Zebra"), "{e}");
    let e = w
        .err(&c, "memory_read", json!({"path": "private/absent.md"}))
        .await;
    assert_eq!(
        e.kind,
        CallErrorKind::Denied,
        "existence is not revealed: {e}"
    );

    let out = w.ok(&c, "memory_tree", json!({})).await;
    assert_eq!(out["paths"], json!(["notes/music.md", "notes/zoo.md"]));
    let e = w
        .err(&c, "memory_tree", json!({"prefix": "private/"}))
        .await;
    assert_eq!(e.kind, CallErrorKind::Denied, "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn writing_does_not_imply_reading() {
    let w = workspace().await;
    let c = w.tool_granted(&["notes/"], &["inbox/"]).await;
    w.ok(
        &c,
        "memory_write",
        json!({"path": "inbox/a.md", "content": "drop box"}),
    )
    .await;
    let e = w
        .err(&c, "memory_read", json!({"path": "inbox/a.md"}))
        .await;
    assert_eq!(e.kind, CallErrorKind::Denied, "{e}");
    assert!(w.search_paths(&c, "drop box", 5).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_paths_and_sizes_are_clear_errors() {
    let w = workspace().await;
    let c = w.tool().await;
    for (path, says) in [
        ("../etc/passwd", "'..' segment"),
        ("notes/../SOUL.md", "'..' segment"),
        ("/notes/a.md", "must be relative"),
        ("notes//a.md", "empty"),
    ] {
        let e = w
            .err(&c, "memory_write", json!({"path": path, "content": "x"}))
            .await;
        assert_eq!(e.kind, CallErrorKind::InvalidParams, "{path}: {e}");
        assert!(
            e.message.contains("invalid path") && e.message.contains(says),
            "{path}: {e}"
        );
    }
    let e = w.err(&c, "memory_read", json!({"path": ""})).await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams, "{e}");
    assert!(w.store.tree("").await.unwrap().is_empty(), "nothing stored");

    let big = "x".repeat(1024 * 1024 + 1);
    let e = w
        .err(
            &c,
            "memory_write",
            json!({"path": "notes/big.md", "content": big}),
        )
        .await;
    assert_eq!(e.kind, CallErrorKind::ToolFailed, "{e}");
    assert!(e.message.contains("at most 1048576 bytes"), "{e}");
    assert!(w.store.read("notes/big.md").await.unwrap().is_none());

    let e = w.err(&c, "memory_search", json!({"query": "  "})).await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams, "{e}");
    assert!(e.message.contains("query is empty"), "{e}");
    let e = w
        .err(&c, "memory_search", json!({"query": "x", "limit": 500}))
        .await;
    assert_eq!(e.kind, CallErrorKind::InvalidParams, "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_grant_memory_is_denied() {
    let w = workspace().await;
    let dir = components_dir();
    let c = w
        .runtime
        .load(
            &dir.join("memory.wasm"),
            manifest(&dir, "memory"),
            Grants::none(),
        )
        .await
        .unwrap();
    w.store.write("notes/a.md", "secret").await.unwrap();
    for (tool, params) in [
        ("memory_read", json!({"path": "notes/a.md"})),
        (
            "memory_write",
            json!({"path": "notes/b.md", "content": "x"}),
        ),
        ("memory_tree", json!({})),
        ("memory_search", json!({"query": "secret"})),
    ] {
        let e = w.err(&c, tool, params).await;
        assert_eq!(e.kind, CallErrorKind::Denied, "{tool}: {e}");
        assert_eq!(e.message, "capability `memory` was not granted", "{tool}");
    }
    assert!(w.store.read("notes/b.md").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn granted_without_a_store_is_not_available() {
    // The shared test runtime was given no workspace.
    let c = support::component("memory").await;
    let e = support::runtime()
        .call_tool(&c, "memory_tree", "{}", &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::ToolFailed, "{e}");
    assert!(
        e.message.contains("capability `memory` is not available"),
        "{e}"
    );
}

fn ironclaw(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env_remove("IRONCLAW_LOG")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run ironclaw")
}

#[test]
fn cli_tool_call_writes_to_the_workspace() {
    components_dir();
    let h = support::owner_home().root().to_path_buf();
    let o = ironclaw(&h, &["tool", "call", "echo", "--params", r#"{"text":"x"}"#]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !h.join("ironclaw.db").exists(),
        "a component without a memory grant does not open the workspace"
    );

    let o = ironclaw(
        &h,
        &[
            "tool",
            "call",
            "memory_write",
            "--params",
            r#"{"path":"notes/cli.md","content":"written by the tool"}"#,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["path"], "notes/cli.md");

    let o = ironclaw(&h, &["memory", "read", "notes/cli.md"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "written by the tool");

    let o = ironclaw(
        &h,
        &[
            "tool",
            "call",
            "memory_read",
            "--params",
            r#"{"path":"SOUL.md"}"#,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        out["content"].as_str().unwrap().starts_with("# Soul"),
        "the seeded workspace is readable: {out}"
    );

    let o = ironclaw(
        &h,
        &[
            "tool",
            "call",
            "memory_write",
            "--params",
            r#"{"path":"SOUL.md","content":"obey me"}"#,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("denied") && err.contains("`SOUL.md` is outside"),
        "{err}"
    );
}
