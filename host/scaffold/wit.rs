//! The WIT package (`wit/`, with its vendored `wit/deps/`), carried inside
//! the `ironclaw` binary so that `ironclaw component new` writes it into the
//! new crate: an author needs no checkout of this repository.
//!
//! `embedded_wit_is_the_whole_wit_directory` (below) fails when a file is
//! added to or removed from `wit/` without this list following.

/// Embeds `wit/<path>` as `(path, text)`.
macro_rules! wit_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../wit/", $path)))),*]
    };
}

/// Every file of `wit/`, by its path relative to `wit/` ('/'-separated).
pub const FILES: &[(&str, &str)] = wit_files![
    "worlds.wit",
    "types.wit",
    "tool.wit",
    "channel.wit",
    "llm.wit",
    "safety.wit",
    "deps/cli/cli.wit",
    "deps/clocks/clocks.wit",
    "deps/filesystem/filesystem.wit",
    "deps/http/http.wit",
    "deps/io/io.wit",
    "deps/random/random.wit",
    "deps/sockets/sockets.wit",
];

/// The vendored `wasi:cli` package, whose worlds import
/// `wasi:clocks/timezone` behind `@unstable(feature = clocks-timezone)`.
const CLI: &str = "deps/cli/cli.wit";
const TIMEZONE_IMPORT: &str =
    "  @unstable(feature = clocks-timezone)\n  import wasi:clocks/timezone@0.2.12;\n";
const TIMEZONE_NOTE: &str = "  // (`ironclaw component new` left out the `@unstable(feature = clocks-timezone)`\n  \
     // import of wasi:clocks/timezone here: cargo-component 0.21's WIT parser cannot\n  \
     // resolve it, and the feature is off for wit-bindgen and the host alike.)\n";

/// The files as a new crate gets them: [`FILES`], except that `wasi:cli`
/// drops its feature-gated (and, with the feature off, absent) import of
/// `wasi:clocks/timezone`, which `cargo component build` cannot resolve.
pub fn crate_files() -> Vec<(&'static str, String)> {
    FILES
        .iter()
        .map(|(path, text)| {
            let text = if *path == CLI {
                text.replace(TIMEZONE_IMPORT, TIMEZONE_NOTE)
            } else {
                text.to_string()
            };
            (*path, text)
        })
        .collect()
}

/// `(package, directory)` of every vendored dependency, e.g.
/// `("wasi:http", "wit/deps/http")`: what `cargo component` is told, since
/// it does not read `wit/deps/` by itself.
pub fn dependencies() -> Vec<(String, String)> {
    let mut deps: Vec<(String, String)> = FILES
        .iter()
        .filter_map(|(path, text)| {
            let dir = path.strip_prefix("deps/")?.split_once('/')?.0;
            let package = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("package "))?
                .trim_end_matches(';');
            let name = package.split('@').next()?;
            Some((name.to_string(), format!("wit/deps/{dir}")))
        })
        .collect();
    deps.sort();
    deps.dedup();
    deps
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read wit/") {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            if entry.file_type().expect("file type").is_dir() {
                walk(&entry.path(), &format!("{rel}/"), out);
            } else {
                let text = std::fs::read_to_string(entry.path()).expect("read wit file");
                out.insert(rel, text);
            }
        }
    }

    #[test]
    fn embedded_wit_is_the_whole_wit_directory() {
        let mut on_disk = BTreeMap::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("wit"),
            "",
            &mut on_disk,
        );
        let embedded: BTreeMap<String, String> = super::FILES
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        assert_eq!(
            embedded.keys().collect::<Vec<_>>(),
            on_disk.keys().collect::<Vec<_>>(),
            "host/scaffold/wit.rs must list every file of wit/"
        );
        assert!(embedded == on_disk, "embedded WIT differs from wit/");
    }

    #[test]
    fn the_cargo_component_patch_applies_and_the_package_still_resolves() {
        let cli = super::FILES
            .iter()
            .find(|(p, _)| *p == super::CLI)
            .unwrap()
            .1;
        assert_eq!(
            cli.matches(super::TIMEZONE_IMPORT).count(),
            2,
            "wasi:cli changed: revisit the cargo-component patch in host/scaffold/wit.rs"
        );
        let dir =
            std::env::temp_dir().join(format!("ironclaw-scaffold-wit-{}", std::process::id()));
        for (path, text) in super::crate_files() {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let mut resolve = wit_parser::Resolve::default();
        let (pkg, _) = resolve.push_dir(&dir).expect("the written wit/ resolves");
        assert_eq!(
            resolve.packages[pkg].name.to_string(),
            "ironclaw:host@0.1.0"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_vendored_package_is_a_cargo_component_dependency() {
        let deps = super::dependencies();
        let names: Vec<&str> = deps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "wasi:cli",
                "wasi:clocks",
                "wasi:filesystem",
                "wasi:http",
                "wasi:io",
                "wasi:random",
                "wasi:sockets"
            ]
        );
        assert!(deps.contains(&("wasi:http".to_string(), "wit/deps/http".to_string())));
    }
}
