//! The `channel-component` world: webhooks, polling, responding.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "ironclaw:host/channel-component",
        with: {
            "ironclaw:host/types@0.1.0": crate::bindings::ironclaw::host::types,
            "ironclaw:host/logging@0.1.0": crate::bindings::ironclaw::host::logging,
            "ironclaw:host/config@0.1.0": crate::bindings::ironclaw::host::config,
            "ironclaw:host/secrets@0.1.0": crate::bindings::ironclaw::host::secrets,
            "ironclaw:host/db@0.1.0": crate::bindings::ironclaw::host::db,
            "ironclaw:host/channel-host@0.1.0": crate::bindings::ironclaw::host::channel_host,
            "wasi:http/types@0.2.12": crate::bindings::wasi::http::types,
            "wasi:http/outgoing-handler@0.2.12": crate::bindings::wasi::http::outgoing_handler,
            "wasi:io/error@0.2.12": crate::bindings::wasi::io::error,
            "wasi:io/poll@0.2.12": crate::bindings::wasi::io::poll,
            "wasi:io/streams@0.2.12": crate::bindings::wasi::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": crate::bindings::wasi::clocks::monotonic_clock,
        },
        pub_export_macro: true,
        export_macro_name: "export_channel",
        default_bindings_module: "ironclaw_sdk::channel::bindings",
        runtime_path: "::wit_bindgen::rt",
    });
}

pub use bindings::exports::ironclaw::host::channel::*;

/// `export!(MyType)` exports `MyType` as this component's implementation.
/// Off wasm it expands to nothing, so a component's logic can be unit-tested
/// natively (`cargo test --target <host triple>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __ironclaw_export_channel {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::channel::bindings::export_channel!($ty with_types_in $crate::channel::bindings);
    };
}
pub use __ironclaw_export_channel as export;
