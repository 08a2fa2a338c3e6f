//! The engine's module graph, read from its sources: which top-level module of
//! `crates/station/src` uses which (the `station` binary counts as `cli`, the desktop shell in
//! `src-tauri` as `desktop`), where SQL statements run, and how big each module is.
//! `scripts/modgraph.sh` prints it; the layering test (`tests/layering.rs`) checks it against
//! [`LAYERS`], the order docs/ARCHITECTURE.md describes.
//!
//! It reads text, not the compiler's view: comments and the insides of string and character
//! literals are blanked first, test code (`#[cfg(test)]` items and the files of test modules)
//! is told apart, and a module counts as used where `crate::m` (in the library), `station::m`
//! (in the binary and the desktop shell) or a `super::` that climbs to the crate root names it.
//! That is enough for an engine whose paths are written out; it never needs the code to build.
//!
//! Must never: count a path written in a comment or a string, or stop at the first problem it
//! finds (every violation is listed, so one run shows all that is left to fix).

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

mod scan;

pub use scan::blank;
use scan::Scan;

/// The engine's layers, lowest first. A module may use modules of its own layer or of layers
/// below it, never one above; within a layer the uses must not form a cycle.
pub const LAYERS: &[&[&str]] = &[
    // Protocol: PS3.5/3.7/3.10 encodings, character sets, DIMSE messages, waveforms, UIDs;
    // durable writes on any system's disk; the daily log file.
    &["dicom", "disk", "logfile"],
    // Plain values: the configuration; synthetic device output for demos and tests.
    &["config", "demo"],
    // Every SQL statement and the states its CHECKs allow.
    &["store"],
    // The engine's event bus, the one ingest path, registration and matching, users.
    &["events", "ingest", "registry", "auth"],
    // Device exports turned into DICOM (through ingest).
    &["convert"],
    // Services: the DICOM listener, watched folders, the hub client and sync, reports,
    // the study lifecycle, the change feed; what the center's monitoring reads of them
    // (metrics from the store, readiness); storage upkeep (backup, integrity check).
    &[
        "scp",
        "watch",
        "upstream",
        "reports",
        "lifecycle",
        "changes",
        "metrics",
        "diagnose",
        "storage",
    ],
    // The operation layer: every state change a person makes, audited, with its event.
    &["actions"],
    // The typed API with its role checks.
    &["api"],
    // Adapters and assembly: HTTP, command-line options, the running station.
    &["http", "options", "serve"],
    // The programs: the `station` command and the desktop shell.
    &["cli", "desktop"],
];

/// The only module that may run SQL.
pub const SQL_OWNER: &str = "store";

/// Methods of rusqlite's `Connection`, `Transaction` and `Statement` that run SQL text.
const SQL_METHODS: &[&str] = &[
    "execute",
    "execute_batch",
    "prepare",
    "prepare_cached",
    "query_row",
    "query_map",
    "query_one",
    "pragma_update",
    "pragma_query_value",
];

/// The layer of `unit`, if it is declared.
pub fn layer_of(unit: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&unit))
}

/// One source file, read and classified.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative to the repository root, with `/`.
    pub path: String,
    /// Top-level module (`dicom`, `store`...), `cli` or `desktop`; `lib` for the crate root.
    pub unit: String,
    /// The whole file is test code.
    pub test: bool,
    /// Lines in the file.
    pub lines: usize,
    /// Of those, lines of test code.
    pub test_lines: usize,
}

/// One place a unit names another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    /// The unit whose code names another.
    pub from: String,
    /// The unit named.
    pub to: String,
    /// Named from test code.
    pub test: bool,
    /// Where, relative to the repository root.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
}

/// One SQL call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlCall {
    /// The unit whose code runs it.
    pub unit: String,
    /// Where, relative to the repository root.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// The rusqlite method called (`execute`, `query_row`...).
    pub method: String,
    /// Called from test code.
    pub test: bool,
}

/// Everything read from the sources.
#[derive(Debug, Default)]
pub struct Graph {
    /// Every source file read.
    pub files: Vec<SourceFile>,
    /// Every place a unit names another, sorted.
    pub uses: Vec<Use>,
    /// Every SQL call.
    pub sql: Vec<SqlCall>,
}

/// Size of one unit.
#[derive(Debug, Default, Clone, Copy)]
pub struct Size {
    /// Source files.
    pub files: usize,
    /// Lines in them.
    pub lines: usize,
    /// Files that are test code throughout.
    pub test_files: usize,
    /// Lines of test code.
    pub test_lines: usize,
}

/// What breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    /// A module that is not in [`LAYERS`].
    Undeclared {
        /// The module.
        unit: String,
    },
    /// `from` uses `to`, which is in a higher layer.
    Upward {
        /// The lower module.
        from: String,
        /// The higher module it uses.
        to: String,
        /// Where, as `file:line`.
        at: Vec<String>,
    },
    /// Modules of one layer that use each other round in a circle.
    Cycle {
        /// The modules in order, the first repeated at the end.
        units: Vec<String>,
    },
    /// SQL run outside `store` (test code excepted: tests may look into the database).
    Sql {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// The rusqlite method called.
        method: String,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::Undeclared { unit } => {
                write!(f, "module `{unit}` is in no layer: add it to LAYERS")
            }
            Violation::Upward { from, to, at } => write!(
                f,
                "`{from}` (layer {}) uses `{to}` (layer {}), which is above it: {}",
                layer_of(from).unwrap_or(0),
                layer_of(to).unwrap_or(0),
                at.join(", ")
            ),
            Violation::Cycle { units } => {
                write!(
                    f,
                    "modules use each other in a circle: {}",
                    units.join(" -> ")
                )
            }
            Violation::Sql { file, line, method } => {
                write!(
                    f,
                    "{file}:{line}: `.{method}(` runs SQL outside `{SQL_OWNER}`"
                )
            }
        }
    }
}

impl Graph {
    /// Reads the engine crate, its binary and the desktop shell under the repository `root`.
    pub fn read(root: &Path) -> io::Result<Graph> {
        let mut graph = Graph::default();
        let lib = root.join("crates/station/src");
        let mut lib_files = Vec::new();
        walk(&lib, &mut lib_files)?;
        lib_files.sort();
        // The binary: `src/main.rs` with the files it includes, or `src/bin/`.
        let is_bin = |rel: &[String]| {
            matches!(rel.first().map(String::as_str), Some("bin" | "cli"))
                || rel == ["main.rs".to_string()]
        };
        let units: BTreeSet<String> = lib_files
            .iter()
            .filter_map(|p| relative(&lib, p))
            .filter(|rel| !is_bin(rel))
            .filter_map(|rel| unit_name(&rel))
            .collect();
        let mut sources = Vec::new();
        for path in &lib_files {
            let Some(rel) = relative(&lib, path) else {
                continue;
            };
            let (unit, kind) = if is_bin(&rel) {
                ("cli".to_string(), Kind::Program)
            } else {
                (
                    unit_name(&rel).unwrap_or_else(|| "lib".into()),
                    Kind::Library,
                )
            };
            sources.push((path.clone(), module_path(&rel), unit, kind));
        }
        let desktop = root.join("src-tauri/src");
        let mut desktop_files = Vec::new();
        if desktop.is_dir() {
            walk(&desktop, &mut desktop_files)?;
        }
        desktop_files.sort();
        for path in desktop_files {
            if let Some(rel) = relative(&desktop, &path) {
                sources.push((path, module_path(&rel), "desktop".into(), Kind::Program));
            }
        }

        // First pass: which modules are test modules (`#[cfg(test)] mod x;`).
        let mut texts = Vec::new();
        let mut test_modules: BTreeSet<(String, Vec<String>)> = BTreeSet::new();
        for (path, module, unit, kind) in sources {
            let text = fs::read_to_string(&path)?;
            let code = blank(&text);
            let scan = Scan::new(&code);
            for decl in scan.test_module_decls() {
                let mut child = module.clone();
                child.push(decl);
                test_modules.insert((root_of(&unit, kind), child));
            }
            texts.push((path, module, unit, kind, text, code));
        }

        for (path, module, unit, kind, text, code) in texts {
            let file = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let crate_root = root_of(&unit, kind);
            let whole_test = test_modules
                .iter()
                .any(|(r, m)| *r == crate_root && module.starts_with(m));
            let scan = Scan::new(&code);
            let test_ranges = scan.test_ranges();
            let in_test = |offset: usize| {
                whole_test || test_ranges.iter().any(|r| r.0 <= offset && offset < r.1)
            };
            let lines = text.lines().count();
            let test_lines = if whole_test {
                lines
            } else {
                test_ranges
                    .iter()
                    .map(|(a, b)| code[*a..*b].matches('\n').count() + 1)
                    .sum()
            };
            graph.files.push(SourceFile {
                path: file.clone(),
                unit: unit.clone(),
                test: whole_test,
                lines,
                test_lines,
            });
            let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
            for (offset, to) in scan.uses(kind, &module, &units) {
                if to != unit {
                    graph.uses.push(Use {
                        from: unit.clone(),
                        to,
                        test: in_test(offset),
                        file: file.clone(),
                        line: line_of(offset),
                    });
                }
            }
            for (offset, method) in scan.method_calls(SQL_METHODS) {
                graph.sql.push(SqlCall {
                    unit: unit.clone(),
                    file: file.clone(),
                    line: line_of(offset),
                    method,
                    test: in_test(offset),
                });
            }
        }
        graph.uses.sort();
        graph.uses.dedup();
        Ok(graph)
    }

    /// `from` → the units it uses, each with whether only test code uses it.
    pub fn edges(&self) -> BTreeMap<String, BTreeMap<String, bool>> {
        let mut edges: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for unit in self.sizes().keys() {
            edges.entry(unit.clone()).or_default();
        }
        for u in &self.uses {
            let only_test = edges
                .entry(u.from.clone())
                .or_default()
                .entry(u.to.clone())
                .or_insert(true);
            *only_test &= u.test;
        }
        edges
    }

    /// Files and lines per unit (the crate root `lib` left out).
    pub fn sizes(&self) -> BTreeMap<String, Size> {
        let mut sizes: BTreeMap<String, Size> = BTreeMap::new();
        for f in self.files.iter().filter(|f| f.unit != "lib") {
            let s = sizes.entry(f.unit.clone()).or_default();
            s.files += 1;
            s.lines += f.lines;
            s.test_lines += f.test_lines;
            s.test_files += usize::from(f.test);
        }
        sizes
    }

    /// Every rule broken: undeclared modules, uses pointing up (test code included), cycles
    /// within a layer, SQL outside `store` (test code excepted).
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        let edges = self.edges();
        for unit in edges.keys() {
            if layer_of(unit).is_none() {
                out.push(Violation::Undeclared { unit: unit.clone() });
            }
        }
        for (from, tos) in &edges {
            for to in tos.keys() {
                let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
                    continue;
                };
                if b > a {
                    let at = self
                        .uses
                        .iter()
                        .filter(|u| u.from == *from && u.to == *to)
                        .map(|u| format!("{}:{}", u.file, u.line))
                        .collect();
                    out.push(Violation::Upward {
                        from: from.clone(),
                        to: to.clone(),
                        at,
                    });
                }
            }
        }
        out.extend(cycles(&edges));
        for s in self.sql.iter().filter(|s| !s.test && s.unit != SQL_OWNER) {
            out.push(Violation::Sql {
                file: s.file.clone(),
                line: s.line,
                method: s.method.clone(),
            });
        }
        out
    }
}

/// Groups of units that use each other round in a circle, whatever their layers (each group a
/// strongly connected component of two or more units): what must be untangled before layers
/// can point one way.
pub fn knots(edges: &BTreeMap<String, BTreeMap<String, bool>>) -> Vec<Vec<String>> {
    let reach = |from: &String| {
        let mut seen: BTreeSet<&String> = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            for next in edges.get(at).map(|m| m.keys()).into_iter().flatten() {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<&String>> =
        edges.keys().map(|u| (u, reach(u))).collect();
    let mut knots: BTreeSet<Vec<String>> = BTreeSet::new();
    for (u, from_u) in &reachable {
        let knot: Vec<String> = from_u
            .iter()
            .filter(|v| reachable.get(*v).is_some_and(|r| r.contains(u)))
            .map(|v| v.to_string())
            .collect();
        if knot.len() > 1 {
            knots.insert(knot);
        }
    }
    knots.into_iter().collect()
}

/// Cycles among units of the same layer (across layers none can exist once nothing points up).
fn cycles(edges: &BTreeMap<String, BTreeMap<String, bool>>) -> Vec<Violation> {
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first from `start`, only through units of its layer, looking for `start`.
        let layer = layer_of(start);
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).map(|m| m.keys()).into_iter().flatten() {
                if layer_of(next) != layer {
                    continue;
                }
                if next == start {
                    let mut cycle = path.clone();
                    // The same cycle found from each of its units: keep one rotation.
                    let min = cycle
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, u)| *u)
                        .map(|(i, _)| i);
                    cycle.rotate_left(min.unwrap_or(0));
                    cycle.push(cycle[0].clone());
                    found.insert(cycle);
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found
        .into_iter()
        .map(|units| Violation::Cycle { units })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The engine library: `crate::m` names its modules.
    Library,
    /// A program over it (the `station` binary, the desktop shell): `station::m` does.
    Program,
}

/// Which crate a unit's `crate::` means, for telling test modules of one crate from another's.
fn root_of(unit: &str, kind: Kind) -> String {
    match kind {
        Kind::Library => "station".into(),
        Kind::Program => unit.into(),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> Option<Vec<String>> {
    let rel = path.strip_prefix(root).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect(),
    )
}

/// The top-level module a file of the library belongs to (`None`: the crate root).
fn unit_name(rel: &[String]) -> Option<String> {
    match rel {
        [one] if one == "lib.rs" => None,
        [one] => Some(one.trim_end_matches(".rs").to_string()),
        [dir, ..] => Some(dir.clone()),
        [] => None,
    }
}

/// The module path of a file: `a/b/c.rs` and `a/b/c/mod.rs` are `a::b::c`; the crate roots
/// (`lib.rs`, `main.rs`) are empty.
fn module_path(rel: &[String]) -> Vec<String> {
    let mut path: Vec<String> = rel.to_vec();
    if let Some(last) = path.pop() {
        match last.as_str() {
            "mod.rs" | "lib.rs" | "main.rs" => {}
            other => path.push(other.trim_end_matches(".rs").to_string()),
        }
    }
    // `src/bin/<name>/main.rs`: the program's own root.
    if path.first().map(String::as_str) == Some("bin") {
        path.drain(..path.len().min(2));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_within_a_layer_and_an_upward_use_are_found() {
        let mut edges: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        let mut add = |a: &str, b: &str| {
            edges.entry(a.into()).or_default().insert(b.into(), false);
            edges.entry(b.into()).or_default();
        };
        add("ingest", "registry");
        add("registry", "ingest");
        add("ingest", "store");
        let found = cycles(&edges);
        assert_eq!(
            found,
            [Violation::Cycle {
                units: vec!["ingest".into(), "registry".into(), "ingest".into()]
            }]
        );
    }
}
