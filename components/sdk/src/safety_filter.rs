//! The `safety-filter-component` world: inspect content at a pipeline stage.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "ironclaw:host/safety-filter-component",
        with: {
            "ironclaw:host/types@0.1.0": crate::bindings::ironclaw::host::types,
            "ironclaw:host/logging@0.1.0": crate::bindings::ironclaw::host::logging,
            "ironclaw:host/config@0.1.0": crate::bindings::ironclaw::host::config,
            "ironclaw:host/db@0.1.0": crate::bindings::ironclaw::host::db,
        },
        pub_export_macro: true,
        export_macro_name: "export_safety_filter",
        default_bindings_module: "ironclaw_sdk::safety_filter::bindings",
        runtime_path: "::wit_bindgen::rt",
    });
}

pub use bindings::exports::ironclaw::host::safety::*;

/// `export!(MyType)` exports `MyType` as this component's implementation.
/// Off wasm it expands to nothing, so a component's logic can be unit-tested
/// natively (`cargo test --target <host triple>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __ironclaw_export_safety_filter {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::safety_filter::bindings::export_safety_filter!($ty with_types_in $crate::safety_filter::bindings);
    };
}
pub use __ironclaw_export_safety_filter as export;
