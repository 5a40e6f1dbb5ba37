//! Bindings for every import a component may use, generated once from the
//! `guest-imports` world and shared by all kind modules (which map their
//! imports here with `with:`). A built component only imports what it calls.

wit_bindgen::generate!({
    path: "../../wit",
    world: "ironclaw:host/guest-imports",
    generate_all,
    runtime_path: "::wit_bindgen::rt",
});
