//! `ironclaw component new` (host/scaffold): a crate of every kind, written
//! into a temporary directory with nothing but what the binary carries,
//! builds for wasm32-wasip2 and fits its world in the real host. The tool
//! kind also loads and answers a call, passes its own native `cargo test`,
//! and builds with `cargo component`.
//!
//! Every build shares `target/scaffold-builds`, so wit-bindgen and serde
//! compile once per target; builds are `--offline` (the components'
//! workspace already fetched the same crates) and go online only when the
//! registry cache lacks something.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use ironclaw::capabilities::HostState;
use ironclaw::registry::{ComponentKind, Manifest};
use ironclaw::runtime::{CallErrorKind, LoadedComponent};
use ironclaw::scaffold::{self, Generated, ScaffoldError};
use serde_json::json;
use wit_parser::{Resolve, WorldItem, WorldKey};

/// The target directory every generated crate builds into.
fn target_dir() -> PathBuf {
    support::repo().join("target/scaffold-builds")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.env("CARGO_TARGET_DIR", target_dir());
    cmd
}

/// Runs `cargo <args>` in `dir`, offline first; online only when the
/// registry cache cannot satisfy the build. Panics with the output on failure.
fn run_cargo(dir: &Path, args: &[&str]) -> Output {
    let run = |offline: bool| {
        let mut cmd = cargo();
        cmd.current_dir(dir).args(args);
        if offline {
            cmd.env("CARGO_NET_OFFLINE", "true");
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("cargo {args:?}: {e}"))
    };
    let mut out = run(true);
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("offline") {
        eprintln!("cargo {args:?}: the registry cache lacks a crate; retrying online");
        out = run(false);
    }
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Generates a `kind` crate named `name` afresh in
/// `target/scaffold-builds/crates/` (each test has its own name). A stable
/// path, unlike a temporary directory, lets cargo reuse and overwrite the
/// crate's artifacts instead of piling up a new set on every run; it also
/// sits inside this repository's workspace, which the crate's own
/// `[workspace]` table keeps it out of.
fn generate(kind: ComponentKind, name: &str) -> Generated {
    let parent = target_dir().join("crates");
    std::fs::create_dir_all(&parent).expect("crates dir");
    match std::fs::remove_dir_all(parent.join(name)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("removing the previous {name}: {e}"),
    }
    scaffold::generate(kind, name, &parent).expect("generate")
}

/// Builds the crate for wasm32-wasip2 and returns the component's path.
fn build_wasip2(generated: &Generated) -> PathBuf {
    run_cargo(
        &generated.dir,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    let wasm = target_dir()
        .join("wasm32-wasip2/release")
        .join(generated.wasm_file_name());
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    wasm
}

fn manifest_of(generated: &Generated) -> Manifest {
    Manifest::load(&generated.dir.join("component.toml")).expect("generated manifest")
}

async fn load(wasm: &Path, generated: &Generated) -> Arc<LoadedComponent> {
    let runtime = support::runtime();
    let manifest = manifest_of(generated);
    let grants = runtime.grants_as_requested(&manifest);
    runtime
        .load(wasm, manifest, grants)
        .await
        .unwrap_or_else(|e| panic!("loading {}: {e}", wasm.display()))
}

async fn greet(component: &LoadedComponent, who: &str) -> serde_json::Value {
    let tool = &component.tools[0].name;
    let out = support::runtime()
        .call_tool(
            component,
            tool,
            &json!({ "name": who }).to_string(),
            &Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    serde_json::from_str(&out.output).expect("JSON output")
}

/// The world a kind targets and the interface it exports.
fn world_of(kind: ComponentKind) -> (&'static str, &'static str) {
    match kind {
        ComponentKind::Tool => ("tool-component", "ironclaw:host/tool"),
        ComponentKind::Channel => ("channel-component", "ironclaw:host/channel"),
        ComponentKind::LlmAdapter => ("llm-adapter-component", "ironclaw:host/provider"),
        ComponentKind::SafetyFilter => ("safety-filter-component", "ironclaw:host/safety"),
        ComponentKind::Hook => ("hook-component", "ironclaw:host/hook"),
    }
}

/// Interface names (without versions) of a world's imports or exports.
fn interface_names<'a>(
    resolve: &Resolve,
    items: impl Iterator<Item = (&'a WorldKey, &'a WorldItem)>,
) -> BTreeSet<String> {
    items
        .map(|(key, _)| match key {
            WorldKey::Interface(id) => resolve.id_of(*id).unwrap_or_default(),
            WorldKey::Name(name) => name.clone(),
        })
        .map(|n| n.split('@').next().unwrap_or_default().to_string())
        .collect()
}

/// `(imports, exports)` of `world` in `package` (e.g. `wasi:cli`), from the
/// repository's wit/.
fn repo_world(package: &str, world: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut resolve = Resolve::default();
    resolve
        .push_dir(support::repo().join("wit"))
        .expect("wit/ resolves");
    let pkg = resolve
        .packages
        .iter()
        .find(|(_, p)| format!("{}:{}", p.name.namespace, p.name.name) == package)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no package {package}"));
    let w = &resolve.worlds[resolve.packages[pkg].worlds[world]];
    (
        interface_names(&resolve, w.imports.iter()),
        interface_names(&resolve, w.exports.iter()),
    )
}

/// Whether the built component fits `kind`'s world: it exports exactly the
/// kind's interface; it imports only what the world offers plus the WASI
/// that Rust's standard library uses (`wasi:cli/imports`); and the host's own
/// linker, which serves every capability, links it (types checked).
fn fits_world(wasm: &Path, kind: ComponentKind) -> Result<(), String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("read {}: {e}", wasm.display()))?;
    let (world, export) = world_of(kind);
    let (resolve, world_id) = match wit_component::decode(&bytes) {
        Ok(wit_component::DecodedWasm::Component(resolve, world)) => (resolve, world),
        Ok(wit_component::DecodedWasm::WitPackage(..)) => {
            return Err("a WIT package, not a component".into());
        }
        Err(e) => return Err(format!("not a component: {e:#}")),
    };
    let built = &resolve.worlds[world_id];
    let exports = interface_names(&resolve, built.exports.iter());
    let (world_imports, world_exports) = repo_world("ironclaw:host", world);
    assert_eq!(world_exports, BTreeSet::from([export.to_string()]));
    if exports != world_exports {
        return Err(format!(
            "exports {exports:?}; the {world} world exports {world_exports:?}"
        ));
    }
    let (std_imports, _) = repo_world("wasi:cli", "imports");
    let imports = interface_names(&resolve, built.imports.iter());
    for import in &imports {
        if !world_imports.contains(import) && !std_imports.contains(import) {
            return Err(format!(
                "imports {import}, which neither the {world} world nor wasi:cli/imports \
                 offers (imports: {imports:?})"
            ));
        }
    }

    let runtime = support::runtime();
    let component = wasmtime::component::Component::from_binary(runtime.engine(), &bytes)
        .map_err(|e| format!("the host's engine cannot compile it: {e:#}"))?;
    let mut linker = wasmtime::component::Linker::<HostState>::new(runtime.engine());
    ironclaw::capabilities::add_to_linker(&mut linker).expect("host linker");
    linker
        .instantiate_pre(&component)
        .map_err(|e| format!("the host cannot link it: {e:#}"))?;
    Ok(())
}

fn assert_fits_world(wasm: &Path, kind: ComponentKind) {
    if let Err(e) = fits_world(wasm, kind) {
        panic!("{} as {kind:?}: {e}", wasm.display());
    }
}

/// Generates, builds for wasm32-wasip2, checks a kind other than tool
/// against its world, and installs it signed (the host serves those kinds
/// once the agent loop, channels and filters land; installing is already
/// the whole owner path: verify, show, approve, record, copy).
fn builds_and_fits(kind: ComponentKind, name: &str) {
    let generated = generate(kind, name);
    let manifest = manifest_of(&generated);
    assert_eq!(manifest.kind, kind);
    assert_eq!(manifest.name, name);
    let wasm = build_wasip2(&generated);
    assert_fits_world(&wasm, kind);
    installs_and_lists(kind, &wasm, &generated);
}

fn installs_and_lists(kind: ComponentKind, wasm: &Path, generated: &Generated) {
    let name = manifest_of(generated).name;
    let installed = install(wasm, generated);
    let list: serde_json::Value =
        serde_json::from_str(installed.ironclaw(&["component", "list", "--json"]).trim()).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"));
    assert_eq!(row["kind"], kind.as_str(), "{row}");
    assert!(
        installed
            .home
            .join("components")
            .join(format!("{name}.wasm"))
            .is_file()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_crate_builds_loads_and_greets() {
    let generated = generate(ComponentKind::Tool, "scaffold-greeter");
    let wasm = build_wasip2(&generated);
    assert_fits_world(&wasm, ComponentKind::Tool);

    // The check tells kinds apart: a tool is no safety filter.
    let err = fits_world(&wasm, ComponentKind::SafetyFilter).unwrap_err();
    assert!(
        err.contains("safety-filter-component world exports"),
        "{err}"
    );

    let greeter = load(&wasm, &generated).await;
    assert_eq!(greeter.tools.len(), 1);
    let tool = &greeter.tools[0];
    assert_eq!(tool.name, "scaffold_greeter");
    assert!(!tool.requires_approval);
    assert_eq!(tool.parameters_schema["required"], json!(["name"]));
    assert_eq!(
        greet(&greeter, "Ada").await,
        json!({ "greeting": "Hello, Ada!" })
    );

    let err = support::runtime()
        .call_tool(
            &greeter,
            "scaffold_greeter",
            r#"{"nom":"Ada"}"#,
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, CallErrorKind::InvalidParams, "{err}");
    let err = support::runtime()
        .call_tool(
            &greeter,
            "scaffold_greeter",
            r#"{"name":" "}"#,
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        CallErrorKind::InvalidParams,
        "the guest's own check: {err}"
    );

    // And it goes the whole way: signed by its author, installed, called.
    install_and_call(&wasm, &generated);
}

/// A fresh owner's home into which a generated component was installed.
struct Installed {
    _dir: tempfile::TempDir,
    home: PathBuf,
}

impl Installed {
    /// Runs the real binary in this home; panics unless it succeeds.
    fn ironclaw(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
            .args(args)
            .env("IRONCLAW_HOME", &self.home)
            .env_remove("DATABASE_URL")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `keys generate` → `component sign` → `component install --yes`, in a
/// fresh home, with the real binary.
fn install(wasm: &Path, generated: &Generated) -> Installed {
    let dir = tempfile::tempdir().unwrap();
    let (home, stage) = (dir.path().join("home"), dir.path().join("stage"));
    std::fs::create_dir_all(&stage).unwrap();
    let stem = generated
        .wasm_file_name()
        .trim_end_matches(".wasm")
        .to_string();
    let staged = stage.join(generated.wasm_file_name());
    std::fs::copy(wasm, &staged).unwrap();
    std::fs::copy(
        generated.dir.join("component.toml"),
        stage.join(format!("{stem}.toml")),
    )
    .unwrap();
    let installed = Installed { _dir: dir, home };
    let staged = staged.display().to_string();
    installed.ironclaw(&["keys", "generate", "--name", "author", "--trust"]);
    installed.ironclaw(&["component", "sign", &staged, "--key", "author"]);
    installed.ironclaw(&["component", "install", &staged, "--yes"]);
    installed
}

/// Installs the tool and calls it through the binary.
fn install_and_call(wasm: &Path, generated: &Generated) {
    let installed = install(wasm, generated);
    let out = installed.ironclaw(&[
        "tool",
        "call",
        "scaffold_greeter",
        "--params",
        r#"{"name":"Ada"}"#,
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap(),
        json!({ "greeting": "Hello, Ada!" })
    );
}

#[test]
fn tool_crate_unit_tests_pass_natively() {
    let generated = generate(ComponentKind::Tool, "scaffold-native");
    let out = run_cargo(&generated.dir, &["test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("test tests::greets_by_name ... ok")
            && stdout.contains("test result: ok. 3 passed"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_crate_builds_with_cargo_component() {
    let version = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["component", "--version"])
        .output();
    match version {
        Ok(out) if out.status.success() => {}
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("cargo-component is missing: `scripts/setup --test` installs it")
        }
        _ => {
            eprintln!(
                "skipped: cargo-component is not installed (scripts/setup --test installs it)"
            );
            return;
        }
    }
    let generated = generate(ComponentKind::Tool, "scaffold-cc");
    // cargo-component resolves the WIT from wit/ and wit/deps/ (declared in
    // Cargo.toml), builds for wasm32-wasip1 and adapts the module.
    run_cargo(&generated.dir, &["component", "build", "--release"]);
    let wasm = target_dir()
        .join("wasm32-wasip1/release")
        .join(generated.wasm_file_name());
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    assert_fits_world(&wasm, ComponentKind::Tool);
    let greeter = load(&wasm, &generated).await;
    assert_eq!(
        greet(&greeter, "Grace").await,
        json!({ "greeting": "Hello, Grace!" })
    );
}

#[test]
fn channel_crate_builds_fits_its_world_and_installs() {
    builds_and_fits(ComponentKind::Channel, "scaffold-channel");
}

#[test]
fn llm_adapter_crate_builds_fits_its_world_and_installs() {
    builds_and_fits(ComponentKind::LlmAdapter, "scaffold-llm");
}

#[test]
fn safety_filter_crate_builds_fits_its_world_and_installs() {
    builds_and_fits(ComponentKind::SafetyFilter, "scaffold-safety");
}

/// Also: every crate here is generated inside this repository's cargo
/// workspace, and builds on its own all the same: its `[workspace]` table
/// keeps it from attaching to the outer one (without it, cargo refuses to
/// build a package that "believes it's in a workspace when it's not").
#[test]
fn hook_crate_builds_fits_and_installs_even_inside_another_workspace() {
    let generated = generate(ComponentKind::Hook, "scaffold-hook");
    let outer = std::fs::read_to_string(support::repo().join("Cargo.toml")).unwrap();
    assert!(outer.contains("\n[workspace]\n"));
    assert!(generated.dir.starts_with(support::repo()));
    let wasm = build_wasip2(&generated);
    assert_fits_world(&wasm, ComponentKind::Hook);
    installs_and_lists(ComponentKind::Hook, &wasm, &generated);
}

#[test]
fn a_second_generate_refuses_the_existing_crate_and_leaves_it_alone() {
    let parent = tempfile::Builder::new()
        .prefix("ironclaw-scaffold-")
        .tempdir()
        .expect("temp dir");
    let generated =
        scaffold::generate(ComponentKind::SafetyFilter, "twice", parent.path()).expect("generate");
    let lib = std::fs::read_to_string(generated.dir.join("src/lib.rs")).unwrap();
    std::fs::write(generated.dir.join("src/lib.rs"), "// the author's work\n").unwrap();
    let err = scaffold::generate(ComponentKind::Tool, "twice", parent.path()).unwrap_err();
    assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(generated.dir.join("src/lib.rs")).unwrap(),
        "// the author's work\n"
    );
    assert!(lib.contains("safety-filter-component"));
    let err = scaffold::generate(ComponentKind::Tool, "Bad_Name", parent.path()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid component name `Bad_Name`: `B` is not allowed"),
        "{err}"
    );
    assert!(!parent.path().join("Bad_Name").exists());
}
