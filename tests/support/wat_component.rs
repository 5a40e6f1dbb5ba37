//! Builds a component from a hand-written core module in WebAssembly text.
//!
//! Some attacks cannot be written in stable Rust (`table.grow`, for one), so
//! their fixtures are core modules in WAT that implement a world's canonical
//! ABI by hand (see `tests/fixtures/table-growth/table_growth.wat`). This
//! embeds the world's type information into the module and encodes it as a
//! component, as `wit-component` does for a Rust guest.

use std::path::Path;

use anyhow::Context;
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

/// Parses the WAT module at `wat_path`, embeds the component type of `world`
/// (for example `"tool-component"` or `"ironclaw:host/tool-component"`) from
/// the WIT package in `wit_dir` (with its `deps/`), and returns the encoded,
/// validated component.
pub fn component_from_wat(wat_path: &Path, wit_dir: &Path, world: &str) -> anyhow::Result<Vec<u8>> {
    let mut module =
        wat::parse_file(wat_path).with_context(|| format!("parsing {}", wat_path.display()))?;

    let mut resolve = Resolve::default();
    let (package, _sources) = resolve
        .push_dir(wit_dir)
        .with_context(|| format!("parsing the WIT package in {}", wit_dir.display()))?;
    let world_id = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("selecting world `{world}`"))?;

    embed_component_metadata(&mut module, &resolve, world_id, StringEncoding::UTF8)
        .with_context(|| format!("embedding the type of world `{world}`"))?;

    ComponentEncoder::default()
        .module(&module)
        .context("reading the core module")?
        .validate(true)
        .encode()
        .with_context(|| format!("encoding {} as a component", wat_path.display()))
}
