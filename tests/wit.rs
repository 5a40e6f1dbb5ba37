//! The WIT package: every world of DESIGN §2, with the imports each kind may use.

use std::collections::BTreeSet;

use wit_parser::{Resolve, WorldItem, WorldKey};

fn package() -> (Resolve, wit_parser::PackageId) {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wit"))
        .expect("wit/ parses with its vendored deps");
    (resolve, pkg)
}

fn names(resolve: &Resolve, items: &indexmap_like::Items) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|(key, item)| match (key, item) {
            (WorldKey::Interface(id), WorldItem::Interface { .. }) => resolve.id_of(*id),
            (WorldKey::Name(n), _) => Some(n.clone()),
            _ => None,
        })
        .map(|n| n.split('@').next().unwrap_or(&n).to_string())
        .collect()
}

mod indexmap_like {
    pub type Items = Vec<(wit_parser::WorldKey, wit_parser::WorldItem)>;
}

fn world(
    resolve: &Resolve,
    pkg: wit_parser::PackageId,
    name: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let id = resolve.packages[pkg].worlds[name];
    let w = &resolve.worlds[id];
    let imports: indexmap_like::Items = w
        .imports
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let exports: indexmap_like::Items = w
        .exports
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (names(resolve, &imports), names(resolve, &exports))
}

#[test]
fn package_is_ironclaw_host_0_1_0() {
    let (resolve, pkg) = package();
    assert_eq!(
        resolve.packages[pkg].name.to_string(),
        "ironclaw:host@0.1.0"
    );
}

#[test]
fn capability_worlds_import_just_their_capability() {
    let (resolve, pkg) = package();
    for (world_name, iface) in [
        ("logging-capability", "ironclaw:host/logging"),
        ("config-capability", "ironclaw:host/config"),
        ("secrets-capability", "ironclaw:host/secrets"),
        ("db-capability", "ironclaw:host/db"),
        ("memory-capability", "ironclaw:host/memory"),
        ("llm-capability", "ironclaw:host/llm"),
        ("http-outbound-capability", "wasi:http/outgoing-handler"),
    ] {
        let (imports, exports) = world(&resolve, pkg, world_name);
        assert!(imports.contains(iface), "{world_name}: {imports:?}");
        assert!(exports.is_empty(), "{world_name}");
        let own: Vec<_> = imports
            .iter()
            .filter(|i| {
                i.starts_with("ironclaw:host/")
                    && !i.ends_with("/types")
                    && !i.ends_with("/llm-types")
            })
            .collect();
        assert!(
            own.len() <= 1,
            "{world_name} imports more than its capability: {own:?}"
        );
    }
}

#[test]
fn component_worlds_import_what_their_kind_may_use_and_export_their_interface() {
    let (resolve, pkg) = package();
    let cases: [(&str, &[&str], &[&str], &str); 5] = [
        (
            "tool-component",
            &[
                "logging",
                "config",
                "secrets",
                "db",
                "memory",
                "llm",
                "wasi:http/outgoing-handler",
            ],
            &["channel-host", "llm-stream"],
            "ironclaw:host/tool",
        ),
        (
            "channel-component",
            &[
                "logging",
                "config",
                "secrets",
                "db",
                "channel-host",
                "wasi:http/outgoing-handler",
            ],
            &["memory", "llm", "llm-stream"],
            "ironclaw:host/channel",
        ),
        (
            "llm-adapter-component",
            &[
                "logging",
                "config",
                "secrets",
                "llm-stream",
                "wasi:http/outgoing-handler",
            ],
            &["db", "memory", "llm", "channel-host"],
            "ironclaw:host/provider",
        ),
        (
            "safety-filter-component",
            &["logging", "config", "db"],
            &["wasi:http/outgoing-handler", "secrets", "llm"],
            "ironclaw:host/safety",
        ),
        (
            "hook-component",
            &["logging", "config", "db"],
            &["wasi:http/outgoing-handler", "secrets", "llm"],
            "ironclaw:host/hook",
        ),
    ];
    for (name, must, must_not, export) in cases {
        let (imports, exports) = world(&resolve, pkg, name);
        let full = |i: &str| {
            if i.contains(':') {
                i.to_string()
            } else {
                format!("ironclaw:host/{i}")
            }
        };
        for i in must {
            assert!(
                imports.contains(&full(i)),
                "{name} must import {i}: {imports:?}"
            );
        }
        for i in must_not {
            assert!(!imports.contains(&full(i)), "{name} must not import {i}");
        }
        assert_eq!(exports, BTreeSet::from([export.to_string()]), "{name}");
    }
}
