//! The `hook-component` world: react to agent events.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "ironclaw:host/hook-component",
        with: {
            "ironclaw:host/types@0.1.0": crate::bindings::ironclaw::host::types,
            "ironclaw:host/logging@0.1.0": crate::bindings::ironclaw::host::logging,
            "ironclaw:host/config@0.1.0": crate::bindings::ironclaw::host::config,
            "ironclaw:host/db@0.1.0": crate::bindings::ironclaw::host::db,
        },
        pub_export_macro: true,
        export_macro_name: "export_hook",
        default_bindings_module: "ironclaw_sdk::hook::bindings",
        runtime_path: "::wit_bindgen::rt",
    });
}

pub use bindings::exports::ironclaw::host::hook::*;

/// `export!(MyType)` exports `MyType` as this component's implementation.
/// Off wasm it expands to nothing, so a component's logic can be unit-tested
/// natively (`cargo test --target <host triple>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __ironclaw_export_hook {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::hook::bindings::export_hook!($ty with_types_in $crate::hook::bindings);
    };
}
pub use __ironclaw_export_hook as export;

/// The `events` setting: names from `allowed` (kebab-case, as in the WIT),
/// each once, at least one. An unknown name is an error listing `allowed`.
pub fn parse_events(value: &str, allowed: &[EventKind]) -> Result<Vec<EventKind>, String> {
    let mut out = Vec::new();
    for name in crate::settings::list(value) {
        let Some(kind) = allowed.iter().copied().find(|k| event_name(*k) == name) else {
            let names: Vec<&str> = allowed.iter().map(|k| event_name(*k)).collect();
            return Err(format!(
                "`events`: {name:?} is not one of {}",
                names.join(", ")
            ));
        };
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    if out.is_empty() {
        return Err("`events` names no event".to_string());
    }
    Ok(out)
}

/// An event's name as the WIT and the owner's settings spell it.
pub fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::BeforeInbound => "before-inbound",
        EventKind::BeforeOutbound => "before-outbound",
        EventKind::BeforeToolCall => "before-tool-call",
        EventKind::TransformResponse => "transform-response",
        EventKind::SessionStart => "session-start",
        EventKind::SessionEnd => "session-end",
    }
}
