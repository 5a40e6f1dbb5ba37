//! Host-side bindings of the WIT package.
//!
//! `imports` is generated once from the `guest-imports` world (every host
//! capability); each component world maps its imports onto it with `with`,
//! so one set of `Host` impls serves every kind.

pub mod imports {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ironclaw:host/guest-imports",
        imports: { default: async | trappable },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi": wasmtime_wasi::p2::bindings,
        },
    });
}

pub mod tool {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ironclaw:host/tool-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi": wasmtime_wasi::p2::bindings,
            "ironclaw:host/types": super::imports::ironclaw::host::types,
            "ironclaw:host/logging": super::imports::ironclaw::host::logging,
            "ironclaw:host/config": super::imports::ironclaw::host::config,
            "ironclaw:host/secrets": super::imports::ironclaw::host::secrets,
            "ironclaw:host/db": super::imports::ironclaw::host::db,
            "ironclaw:host/memory": super::imports::ironclaw::host::memory,
            "ironclaw:host/llm-types": super::imports::ironclaw::host::llm_types,
            "ironclaw:host/llm": super::imports::ironclaw::host::llm,
        },
    });
}

pub mod llm_adapter {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ironclaw:host/llm-adapter-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi": wasmtime_wasi::p2::bindings,
            "ironclaw:host/types": super::imports::ironclaw::host::types,
            "ironclaw:host/logging": super::imports::ironclaw::host::logging,
            "ironclaw:host/config": super::imports::ironclaw::host::config,
            "ironclaw:host/secrets": super::imports::ironclaw::host::secrets,
            "ironclaw:host/llm-types": super::imports::ironclaw::host::llm_types,
            "ironclaw:host/llm-stream": super::imports::ironclaw::host::llm_stream,
        },
    });
}

pub mod safety_filter {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ironclaw:host/safety-filter-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "ironclaw:host/types": super::imports::ironclaw::host::types,
            "ironclaw:host/logging": super::imports::ironclaw::host::logging,
            "ironclaw:host/config": super::imports::ironclaw::host::config,
            "ironclaw:host/db": super::imports::ironclaw::host::db,
        },
    });
}

pub mod hook {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ironclaw:host/hook-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "ironclaw:host/types": super::imports::ironclaw::host::types,
            "ironclaw:host/logging": super::imports::ironclaw::host::logging,
            "ironclaw:host/config": super::imports::ironclaw::host::config,
            "ironclaw:host/db": super::imports::ironclaw::host::db,
        },
    });
}

pub mod channel {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ironclaw:host/channel-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi": wasmtime_wasi::p2::bindings,
            "ironclaw:host/types": super::imports::ironclaw::host::types,
            "ironclaw:host/logging": super::imports::ironclaw::host::logging,
            "ironclaw:host/config": super::imports::ironclaw::host::config,
            "ironclaw:host/secrets": super::imports::ironclaw::host::secrets,
            "ironclaw:host/db": super::imports::ironclaw::host::db,
            "ironclaw:host/channel-host": super::imports::ironclaw::host::channel_host,
        },
    });
}
