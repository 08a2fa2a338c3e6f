//! `modgraph`: prints the engine's module graph (each module with its layer, size and the modules
//! it uses), then every layering rule it breaks. `--check` exits non-zero when there is one.
//! Run through `scripts/modgraph.sh` from anywhere in the repository.

use std::path::PathBuf;
use std::process::ExitCode;

use station_layers::{knots, layer_of, Graph, LAYERS};

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: modgraph [--check] [REPO_ROOT]");
                return ExitCode::SUCCESS;
            }
            other => root = PathBuf::from(other),
        }
    }
    let graph = match Graph::read(&root) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("cannot read the sources under {}: {e}", root.display());
            return ExitCode::FAILURE;
        }
    };
    let sizes = graph.sizes();
    let edges = graph.edges();
    println!("layer  module      files  lines (tests)  uses ((t): only tests do)");
    let mut order: Vec<&String> = sizes.keys().collect();
    order.sort_by_key(|u| (layer_of(u).unwrap_or(usize::MAX), u.to_string()));
    let (mut files, mut lines, mut test_lines, mut edge_count) = (0, 0, 0, 0);
    for unit in order {
        let size = sizes[unit];
        let uses: Vec<String> = edges
            .get(unit)
            .into_iter()
            .flatten()
            .map(|(to, only_test)| {
                if *only_test {
                    format!("{to}(t)")
                } else {
                    to.clone()
                }
            })
            .collect();
        edge_count += uses.len();
        files += size.files;
        lines += size.lines;
        test_lines += size.test_lines;
        let layer = layer_of(unit).map_or("?".to_string(), |l| l.to_string());
        println!(
            "{layer:<6} {unit:<11} {:>5} {:>6} ({:>5})  {}",
            size.files,
            size.lines,
            size.test_lines,
            uses.join(" ")
        );
    }
    println!(
        "total: {} modules, {files} files, {lines} lines ({test_lines} in tests), {edge_count} module uses",
        sizes.len()
    );
    let outside: Vec<_> = graph
        .sql
        .iter()
        .filter(|s| !s.test && s.unit != "store")
        .collect();
    let sql_files: std::collections::BTreeSet<&str> =
        outside.iter().map(|s| s.file.as_str()).collect();
    println!(
        "SQL calls: {} in store, {} outside it (in {} files), {} in test code",
        graph
            .sql
            .iter()
            .filter(|s| !s.test && s.unit == "store")
            .count(),
        outside.len(),
        sql_files.len(),
        graph.sql.iter().filter(|s| s.test).count()
    );
    for knot in knots(&edges) {
        println!(
            "modules that use each other in a circle: {}",
            knot.join(" ")
        );
    }
    let layers: Vec<String> = LAYERS.iter().map(|l| l.join(" ")).collect();
    println!("declared layers, lowest first: {}", layers.join(" | "));
    let violations = graph.violations();
    if violations.is_empty() {
        println!("no layering violation");
        return ExitCode::SUCCESS;
    }
    println!("{} layering violations:", violations.len());
    for v in &violations {
        println!("  {v}");
    }
    if check {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
