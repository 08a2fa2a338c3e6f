//! Tauri's build step: the app manifest (which commands get permissions), the capabilities
//! and the bundled config, checked and compiled in before the desktop shell builds.

fn main() {
    // The app's own commands get permissions, so a capability can allow a remote origin (a
    // station service's page, src/attached.rs) exactly the two it needs and not `api_call`.
    let manifest =
        tauri_build::AppManifest::new().commands(&["api_call", "attached_links", "attached_event"]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build: {e:#}");
    }
}
