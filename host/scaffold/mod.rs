//! `ironclaw component new`: a new component crate for any kind, ready to
//! build with `cargo build --release --target wasm32-wasip2` or
//! `cargo component build --release`.
//!
//! The crate is self-contained: the WIT package travels inside this binary
//! ([`wit::FILES`]) and is written into the crate's `wit/`, and the crate
//! generates its bindings with wit-bindgen from there. It does not depend on
//! the guest SDK in `components/sdk`, so an author needs no checkout of this
//! repository, only crates.io.

pub mod wit;

use std::path::{Path, PathBuf};

use crate::registry::ComponentKind;
use crate::registry::manifest::{WIT_VERSION, is_component_name};

/// The wit-bindgen the generated crates use: the one `components/` uses,
/// so the bindings match what the host is tested against.
pub const WIT_BINDGEN_VERSION: &str = "0.61.1";

/// Longest component name (the manifest's limit).
pub const MAX_NAME_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("invalid component name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("unknown component kind `{0}`: expected tool, channel, llm, safety or hook")]
    UnknownKind(String),
    #[error("{} already exists; choose another name or remove it first", .0.display())]
    Exists(PathBuf),
    #[error("{}: not a directory to create the crate in", .0.display())]
    NoParent(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One file of a new crate, by its path relative to the crate's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: PathBuf,
    pub contents: String,
}

/// A crate written by [`generate`].
#[derive(Debug, Clone)]
pub struct Generated {
    pub kind: ComponentKind,
    pub name: String,
    /// The crate's directory: `<parent>/<name>`.
    pub dir: PathBuf,
    /// Every file written, relative to `dir`.
    pub files: Vec<PathBuf>,
}

impl Generated {
    /// The built component's file name: `<name with '_' for '-'>.wasm`.
    pub fn wasm_file_name(&self) -> String {
        format!("{}.wasm", lib_name(&self.name))
    }
}

/// `tool`, `channel`, `llm`, `safety`, `hook`, or the manifest's own
/// spellings `llm-adapter` and `safety-filter`.
pub fn parse_kind(kind: &str) -> Result<ComponentKind, ScaffoldError> {
    Ok(match kind {
        "tool" => ComponentKind::Tool,
        "channel" => ComponentKind::Channel,
        "llm" | "llm-adapter" => ComponentKind::LlmAdapter,
        "safety" | "safety-filter" => ComponentKind::SafetyFilter,
        "hook" => ComponentKind::Hook,
        other => return Err(ScaffoldError::UnknownKind(other.to_string())),
    })
}

/// A component name is 1-64 characters of `a-z`, `0-9` and `-`, starting
/// with a letter (the manifest's rule), and must not clash with a Rust
/// keyword or a crate the component builds against.
pub fn validate_name(name: &str) -> Result<(), ScaffoldError> {
    let invalid = |reason: String| ScaffoldError::InvalidName {
        name: name.to_string(),
        reason,
    };
    let Some(first) = name.chars().next() else {
        return Err(invalid("the name is empty".into()));
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Err(invalid(format!(
            "`{}` is not allowed: use lowercase letters a-z, digits 0-9 and '-'",
            bad.escape_debug()
        )));
    }
    if !first.is_ascii_lowercase() {
        return Err(invalid("it must start with a lowercase letter a-z".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "it is {} characters long; the limit is {MAX_NAME_LEN}",
            name.len()
        )));
    }
    let lib = lib_name(name);
    if RESERVED.contains(&lib.as_str()) {
        return Err(invalid(format!(
            "`{lib}` is a Rust keyword or the name of a crate the component builds against"
        )));
    }
    debug_assert!(is_component_name(name));
    Ok(())
}

/// Rust keywords, the standard crates and the generated crate's own
/// dependencies: none of them can name the crate's library.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "serde",
    "serde_json",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "wit_bindgen",
    "yield",
];

/// The crate's library name, which names the `.wasm` (and the tool).
fn lib_name(name: &str) -> String {
    name.replace('-', "_")
}

/// What differs between kinds.
struct KindTemplate {
    /// The WIT world the component targets.
    world: &'static str,
    /// In prose: "tool", "LLM adapter", …
    words: &'static str,
    description: &'static str,
    lib_rs: &'static str,
    /// Extra `[dependencies]` lines.
    dependencies: &'static str,
    /// Commented-out capability requests this kind's world allows.
    capabilities: &'static [&'static str],
    /// `[limits]` wall-clock budget per call.
    wall_ms: u32,
}

const SERDE_DEPENDENCIES: &str = "serde = { version = \"1\", features = [\"derive\"] }\n\
                                  serde_json = \"1\"\n";

const CAP_DB: &str =
    "# db = { quota-bytes = 1_048_576 }             # a key-value store of its own\n";
const CAP_MEMORY: &str =
    "# memory = { read = [\"notes/\"], write = [] }   # workspace documents under these prefixes\n";
const CAP_LLM: &str =
    "# llm = { complete = true, embed = false }     # completions through the host's adapters\n";
const CAP_HTTP: &str = concat!(
    "# [capabilities.http]                          # outbound HTTP: every request matches a rule\n",
    "# allow = [{ host = \"api.example.com\", methods = [\"GET\", \"POST\"] }]\n",
);
const CAP_SECRETS: &str = concat!(
    "# [[capabilities.secrets]]                     # the host injects it; the component never reads it\n",
    "# name = \"EXAMPLE_API_KEY\"\n",
    "# hosts = [\"api.example.com\"]\n",
    "# inject = { kind = \"bearer\" }\n",
);

fn template(kind: ComponentKind) -> KindTemplate {
    match kind {
        ComponentKind::Tool => KindTemplate {
            world: "tool-component",
            words: "tool",
            description: "A tool that greets someone by name.",
            lib_rs: include_str!("templates/tool.rs.in"),
            dependencies: SERDE_DEPENDENCIES,
            capabilities: &[CAP_DB, CAP_MEMORY, CAP_LLM, CAP_HTTP, CAP_SECRETS],
            wall_ms: 1_000,
        },
        ComponentKind::Channel => KindTemplate {
            world: "channel-component",
            words: "channel",
            description: "A channel that takes messages from a JSON webhook.",
            lib_rs: include_str!("templates/channel.rs.in"),
            dependencies: SERDE_DEPENDENCIES,
            capabilities: &[CAP_DB, CAP_HTTP, CAP_SECRETS],
            wall_ms: 10_000,
        },
        ComponentKind::LlmAdapter => KindTemplate {
            world: "llm-adapter-component",
            words: "LLM adapter",
            description: "An LLM adapter, not connected to a provider yet.",
            lib_rs: include_str!("templates/llm.rs.in"),
            dependencies: "",
            capabilities: &[CAP_HTTP, CAP_SECRETS],
            wall_ms: 60_000,
        },
        ComponentKind::SafetyFilter => KindTemplate {
            world: "safety-filter-component",
            words: "safety filter",
            description: "A safety filter that allows everything until it has rules.",
            lib_rs: include_str!("templates/safety.rs.in"),
            dependencies: "",
            capabilities: &[CAP_DB],
            wall_ms: 1_000,
        },
        ComponentKind::Hook => KindTemplate {
            world: "hook-component",
            words: "hook",
            description: "A hook that lets every event continue until it has logic.",
            lib_rs: include_str!("templates/hook.rs.in"),
            dependencies: "",
            capabilities: &[CAP_DB],
            wall_ms: 1_000,
        },
    }
}

/// Replaces every `{{key}}` of `vars` in `text`.
fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// The files of a new `kind` crate named `name`, without touching the disk.
pub fn render(kind: ComponentKind, name: &str) -> Result<Vec<File>, ScaffoldError> {
    validate_name(name)?;
    let t = template(kind);
    let lib = lib_name(name);
    let component_dependencies: String = wit::dependencies()
        .iter()
        .map(|(package, dir)| format!("\"{package}\" = {{ path = \"{dir}\" }}\n"))
        .collect();
    let vars: [(&str, &str); 11] = [
        ("name", name),
        ("lib", &lib),
        ("tool", &lib),
        ("world", t.world),
        ("kind", kind.as_str()),
        ("kind_words", t.words),
        ("description", t.description),
        ("world_version", WIT_VERSION),
        ("wit_bindgen", WIT_BINDGEN_VERSION),
        ("dependencies", t.dependencies),
        ("component_dependencies", &component_dependencies),
    ];
    let run = match kind {
        ComponentKind::Tool => include_str!("templates/run-tool.md.in"),
        _ => include_str!("templates/run-other.md.in"),
    };
    let run = fill(run, &vars);
    let manifest = format!(
        "# What this component is and what it asks the owner for. The owner\n\
         # approves these capabilities at install; anything not asked for is\n\
         # refused with a typed `denied` error. Uncomment what the code uses.\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         kind = \"{kind}\"\n\
         world-version = \"{WIT_VERSION}\"\n\
         description = \"{description}\"\n\
         \n\
         [capabilities]\n\
         logging = true\n\
         {capabilities}\
         \n\
         # Budgets per call; the host clamps them to the owner's maxima.\n\
         [limits]\n\
         fuel = 50_000_000\n\
         memory-mib = 16\n\
         wall-ms = {wall_ms}\n",
        kind = kind.as_str(),
        description = t.description,
        capabilities = t.capabilities.concat(),
        wall_ms = t.wall_ms,
    );
    let mut files = vec![
        File {
            path: "Cargo.toml".into(),
            contents: fill(include_str!("templates/Cargo.toml.in"), &vars),
        },
        File {
            path: ".gitignore".into(),
            contents: include_str!("templates/gitignore.in").to_string(),
        },
        File {
            path: "component.toml".into(),
            contents: manifest,
        },
        File {
            path: "README.md".into(),
            contents: fill(
                &include_str!("templates/README.md.in").replace("{{run}}", &run),
                &vars,
            ),
        },
        File {
            path: "src/lib.rs".into(),
            contents: fill(t.lib_rs, &vars),
        },
    ];
    for (path, text) in wit::crate_files() {
        files.push(File {
            path: Path::new("wit").join(path),
            contents: text,
        });
    }
    Ok(files)
}

/// Writes a new `kind` crate named `name` into `<parent>/<name>`. Refuses an
/// existing `<parent>/<name>`; on a failed write, removes what it created.
pub fn generate(
    kind: ComponentKind,
    name: &str,
    parent: &Path,
) -> Result<Generated, ScaffoldError> {
    let files = render(kind, name)?;
    if !parent.is_dir() {
        return Err(ScaffoldError::NoParent(parent.to_path_buf()));
    }
    let dir = parent.join(name);
    // create_dir (not create_dir_all): an existing directory is refused, and
    // nothing of someone else's is ever overwritten.
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists(dir));
        }
        Err(source) => return Err(ScaffoldError::Io { path: dir, source }),
    }
    let written = write_all(&dir, &files);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(Generated {
        kind,
        name: name.to_string(),
        dir,
        files: files.into_iter().map(|f| f.path).collect(),
    })
}

fn write_all(dir: &Path, files: &[File]) -> Result<(), ScaffoldError> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ScaffoldError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, &file.contents)
            .map_err(|source| ScaffoldError::Io { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Manifest;

    const KINDS: [ComponentKind; 5] = [
        ComponentKind::Tool,
        ComponentKind::Channel,
        ComponentKind::LlmAdapter,
        ComponentKind::SafetyFilter,
        ComponentKind::Hook,
    ];

    fn file<'a>(files: &'a [File], path: &str) -> &'a str {
        &files
            .iter()
            .find(|f| f.path == Path::new(path))
            .unwrap_or_else(|| panic!("no {path}"))
            .contents
    }

    #[test]
    fn names_follow_the_manifest_rule_with_specific_errors() {
        for ok in ["hello", "a", "my-tool-2", &"a".repeat(64)] {
            validate_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, says) in [
            ("", "empty"),
            ("Hello", "`H` is not allowed"),
            ("my_tool", "`_` is not allowed"),
            ("my tool", "` ` is not allowed"),
            ("héllo", "`é` is not allowed"),
            ("2fast", "must start with a lowercase letter"),
            ("-x", "must start with a lowercase letter"),
            (&"a".repeat(65), "65 characters long; the limit is 64"),
            ("std", "Rust keyword or the name of a crate"),
            ("serde-json", "`serde_json`"),
            ("fn", "Rust keyword"),
        ] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
            assert!(err.starts_with("invalid component name"), "{err}");
        }
    }

    #[test]
    fn kinds_parse_in_short_and_manifest_spellings() {
        assert_eq!(parse_kind("llm").unwrap(), ComponentKind::LlmAdapter);
        assert_eq!(
            parse_kind("llm-adapter").unwrap(),
            ComponentKind::LlmAdapter
        );
        assert_eq!(parse_kind("safety").unwrap(), ComponentKind::SafetyFilter);
        for kind in KINDS {
            assert_eq!(parse_kind(kind.as_str()).unwrap(), kind);
        }
        let err = parse_kind("filter").unwrap_err().to_string();
        assert!(
            err.contains("`filter`") && err.contains("tool, channel"),
            "{err}"
        );
    }

    #[test]
    fn every_kind_renders_a_manifest_the_host_accepts() {
        for kind in KINDS {
            let files = render(kind, "my-thing").unwrap();
            let text = file(&files, "component.toml");
            let manifest = Manifest::parse(text, "component.toml")
                .unwrap_or_else(|e| panic!("{kind:?}: {e}\n{text}"));
            assert_eq!(manifest.kind, kind);
            assert_eq!(manifest.name, "my-thing");
            assert_eq!(manifest.world_version.to_string(), WIT_VERSION);
            assert!(manifest.capabilities.logging);
            assert!(
                manifest.capabilities.db.is_none(),
                "examples stay commented"
            );
            // The commented examples are valid too, once uncommented.
            let uncommented: String = text
                .split_inclusive('\n')
                .scan(false, |in_caps, line| {
                    if line.starts_with('[') {
                        *in_caps = line.starts_with("[capabilities]");
                    }
                    let toml_line = |rest: &str| {
                        rest.starts_with('[')
                            || rest.split_once(" = ").is_some_and(|(key, _)| {
                                key.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                            })
                    };
                    Some(match line.strip_prefix("# ") {
                        Some(rest) if *in_caps && toml_line(rest) => rest.to_string(),
                        _ => line.to_string(),
                    })
                })
                .collect();
            Manifest::parse(&uncommented, "uncommented")
                .unwrap_or_else(|e| panic!("{kind:?}: {e}\n{uncommented}"));
        }
    }

    #[test]
    fn every_kind_targets_its_world_and_carries_the_wit_package() {
        for (kind, world, export) in [
            (ComponentKind::Tool, "tool-component", "host::tool::"),
            (
                ComponentKind::Channel,
                "channel-component",
                "host::channel::",
            ),
            (
                ComponentKind::LlmAdapter,
                "llm-adapter-component",
                "host::provider::",
            ),
            (
                ComponentKind::SafetyFilter,
                "safety-filter-component",
                "host::safety::",
            ),
            (ComponentKind::Hook, "hook-component", "host::hook::"),
        ] {
            let files = render(kind, "x-y").unwrap();
            let lib = file(&files, "src/lib.rs");
            assert!(lib.contains(&format!("world: \"{world}\"")), "{kind:?}");
            assert!(
                lib.contains(&format!("exports::ironclaw::{export}")),
                "{kind:?}"
            );
            let cargo = file(&files, "Cargo.toml");
            assert!(cargo.contains(&format!("world = \"{world}\"")), "{kind:?}");
            assert!(cargo.contains("\n[workspace]\n"), "{kind:?}");
            assert!(!cargo.contains("ironclaw-sdk"), "self-contained");
            for f in &files {
                assert!(
                    !f.contents.contains("{{"),
                    "{kind:?}: unfilled placeholder in {}",
                    f.path.display()
                );
            }
            assert_eq!(
                files.iter().filter(|f| f.path.starts_with("wit")).count(),
                wit::FILES.len()
            );
            assert!(file(&files, "README.md").contains("x_y.wasm"), "{kind:?}");
        }
    }

    #[test]
    fn wit_bindgen_is_the_version_the_components_workspace_uses() {
        let workspace = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("components/Cargo.toml"),
        )
        .unwrap();
        let line = workspace
            .lines()
            .find(|l| l.starts_with("wit-bindgen"))
            .expect("components/Cargo.toml names wit-bindgen");
        assert!(
            line.contains(&format!("version = \"{WIT_BINDGEN_VERSION}\"")),
            "components use {line}; the scaffold uses {WIT_BINDGEN_VERSION}"
        );
    }

    #[test]
    fn generate_refuses_an_existing_directory_and_a_missing_parent() {
        let parent = std::env::temp_dir().join(format!("ironclaw-scaffold-{}", std::process::id()));
        std::fs::create_dir_all(parent.join("taken")).unwrap();
        std::fs::write(parent.join("taken/keep.txt"), "mine").unwrap();
        let err = generate(ComponentKind::Tool, "taken", &parent).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(
            std::fs::read_to_string(parent.join("taken/keep.txt")).unwrap(),
            "mine"
        );
        let err = generate(ComponentKind::Tool, "new", &parent.join("missing")).unwrap_err();
        assert!(matches!(err, ScaffoldError::NoParent(_)), "{err}");
        let g = generate(ComponentKind::Hook, "fresh", &parent).unwrap();
        assert_eq!(g.dir, parent.join("fresh"));
        assert_eq!(g.wasm_file_name(), "fresh.wasm");
        assert!(g.dir.join("wit/deps/http/http.wit").is_file());
        assert!(g.dir.join(".gitignore").is_file());
        std::fs::remove_dir_all(&parent).unwrap();
    }
}
