//! The engine's layering, checked on every test run: no module uses one in a higher layer
//! (`station_layers::LAYERS`, described in docs/ARCHITECTURE.md), modules of one layer do not
//! use each other in a circle, and no SQL runs outside `store` (the desktop shell and the
//! `station` binary included; test code may look into the database).

use std::path::Path;

use station_layers::{Graph, Violation};

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Graph::read(&root).expect("the sources are readable")
}

#[test]
fn every_module_is_in_a_layer_and_uses_only_its_layer_or_those_below() {
    let graph = graph();
    // The reader found the engine (a broken path would find nothing and pass).
    let sizes = graph.sizes();
    for unit in ["dicom", "store", "api", "cli", "desktop"] {
        assert!(
            sizes.contains_key(unit),
            "no module `{unit}` found: {sizes:?}"
        );
    }
    let wrong: Vec<String> = graph
        .violations()
        .iter()
        .filter(|v| !matches!(v, Violation::Sql { .. }))
        .map(ToString::to_string)
        .collect();
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn only_store_runs_sql() {
    let graph = graph();
    assert!(
        graph.sql.iter().any(|s| s.unit == "store"),
        "the reader found no SQL in store: it is not reading the engine"
    );
    let wrong: Vec<String> = graph
        .violations()
        .iter()
        .filter(|v| matches!(v, Violation::Sql { .. }))
        .map(ToString::to_string)
        .collect();
    assert!(wrong.is_empty(), "SQL outside store:\n{}", wrong.join("\n"));
}
