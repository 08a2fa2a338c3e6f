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

/// The engine's layers, lowest first. A module may use modules of its own layer or of layers
/// below it, never one above; within a layer the uses must not form a cycle.
pub const LAYERS: &[&[&str]] = &[
    // Protocol: PS3.5/3.7/3.10 encodings, character sets, DIMSE messages, waveforms, UIDs.
    &["dicom"],
    // Plain values: the configuration; synthetic device output for demos and tests.
    &["config", "demo"],
    // Every SQL statement and the states its CHECKs allow.
    &["store"],
    // The engine's event bus, the one ingest path, registration and matching, users.
    &["events", "ingest", "registry", "auth"],
    // Device exports turned into DICOM (through ingest).
    &["convert"],
    // Services: the DICOM listener, watched folders, the hub client and sync, reports,
    // the study lifecycle, the change feed.
    &[
        "scp",
        "watch",
        "upstream",
        "reports",
        "lifecycle",
        "changes",
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

/// Rust source with comments removed and the contents of string and character literals
/// replaced by spaces (line breaks kept), so code can be searched without false hits.
pub fn blank(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let keep_lines = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && ident(chars[i - 1]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    keep_lines(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if let Some((start, hashes)) = raw_string_at(&chars, i).filter(|_| !prev_ident) {
            // Raw string: r"...", r#"..."#, br"...".
            out.push('"');
            i = start;
            while i < chars.len() {
                if chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|h| **h == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                keep_lines(&mut out, chars[i]);
                i += 1;
            }
            out.push('"');
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    keep_lines(&mut out, ch);
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{..}') or a lifetime ('a, 'static).
            let literal_end = if next == Some('\\') {
                chars
                    .get(i + 3..)
                    .and_then(|rest| rest.iter().position(|ch| *ch == '\''))
                    .map(|p| i + 3 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match literal_end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where the text of a raw string starting at `i` begins, and its number of `#`s.
fn raw_string_at(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let after_r = match (chars.get(i), chars.get(i + 1)) {
        (Some('r'), _) => i + 1,
        (Some('b'), Some('r')) => i + 2,
        _ => return None,
    };
    let hashes = chars
        .get(after_r..)?
        .iter()
        .take_while(|h| **h == '#')
        .count();
    (chars.get(after_r + hashes) == Some(&'"')).then_some((after_r + hashes + 1, hashes))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Sym(char),
}

/// Tokens of blanked code, with their byte offsets.
struct Scan {
    toks: Vec<(usize, Tok)>,
}

impl Scan {
    fn new(code: &str) -> Scan {
        let mut toks = Vec::new();
        let bytes: Vec<(usize, char)> = code.char_indices().collect();
        let mut i = 0;
        while i < bytes.len() {
            let (at, c) = bytes[i];
            if c.is_alphabetic() || c == '_' {
                let mut s = String::new();
                while i < bytes.len() && (bytes[i].1.is_alphanumeric() || bytes[i].1 == '_') {
                    s.push(bytes[i].1);
                    i += 1;
                }
                toks.push((at, Tok::Ident(s)));
                continue;
            }
            if c.is_ascii_digit() {
                while i < bytes.len() && (bytes[i].1.is_alphanumeric() || bytes[i].1 == '_') {
                    i += 1;
                }
                continue;
            }
            if c == ':' && bytes.get(i + 1).map(|b| b.1) == Some(':') {
                toks.push((at, Tok::Sep));
                i += 2;
                continue;
            }
            if !c.is_whitespace() {
                toks.push((at, Tok::Sym(c)));
            }
            i += 1;
        }
        Scan { toks }
    }

    fn ident(&self, i: usize) -> Option<&str> {
        match self.toks.get(i) {
            Some((_, Tok::Ident(s))) => Some(s),
            _ => None,
        }
    }

    fn is(&self, i: usize, tok: &Tok) -> bool {
        self.toks.get(i).map(|t| &t.1) == Some(tok)
    }

    /// Index of the token closing the bracket opened at `open`.
    fn closing(&self, open: usize) -> usize {
        let (o, c) = match self.toks.get(open) {
            Some((_, Tok::Sym('{'))) => ('{', '}'),
            Some((_, Tok::Sym('('))) => ('(', ')'),
            Some((_, Tok::Sym('['))) => ('[', ']'),
            _ => return open,
        };
        let mut depth = 0;
        for (i, (_, t)) in self.toks.iter().enumerate().skip(open) {
            if *t == Tok::Sym(o) {
                depth += 1;
            } else if *t == Tok::Sym(c) {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
        }
        self.toks.len().saturating_sub(1)
    }

    /// Token index ranges of the items under `#[cfg(test)]`.
    fn test_items(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.toks.len() {
            let cfg_test = self.is(i, &Tok::Sym('#'))
                && self.is(i + 1, &Tok::Sym('['))
                && self.ident(i + 2) == Some("cfg")
                && self.is(i + 3, &Tok::Sym('('))
                && self.ident(i + 4) == Some("test")
                && self.is(i + 5, &Tok::Sym(')'))
                && self.is(i + 6, &Tok::Sym(']'));
            if !cfg_test {
                i += 1;
                continue;
            }
            let start = i;
            let mut j = i + 7;
            // The item ends at its first `;` or at the end of its first `{...}`.
            while j < self.toks.len() {
                match &self.toks[j].1 {
                    Tok::Sym(';') => break,
                    Tok::Sym('{') => {
                        j = self.closing(j);
                        break;
                    }
                    Tok::Sym('#') if self.is(j + 1, &Tok::Sym('[')) => j = self.closing(j + 1) + 1,
                    _ => j += 1,
                }
            }
            out.push((start, j.min(self.toks.len().saturating_sub(1))));
            i = j + 1;
        }
        out
    }

    /// Byte ranges of test code.
    fn test_ranges(&self) -> Vec<(usize, usize)> {
        self.test_items()
            .into_iter()
            .map(|(a, b)| (self.toks[a].0, self.toks[b].0 + 1))
            .collect()
    }

    /// `#[cfg(test)] mod name;`: modules whose files are test code.
    fn test_module_decls(&self) -> Vec<String> {
        self.test_items()
            .into_iter()
            .filter_map(|(a, b)| {
                let body = a + 7..=b;
                let m = body.clone().find(|i| self.ident(*i) == Some("mod"))?;
                (self.is(b, &Tok::Sym(';')) && m + 2 == b)
                    .then(|| self.ident(m + 1).map(String::from))
                    .flatten()
            })
            .collect()
    }

    /// Top-level modules named by paths (offset, module), for a file at `module` of a crate
    /// of this `kind`; only names in `units` count.
    fn uses(
        &self,
        kind: Kind,
        module: &[String],
        units: &BTreeSet<String>,
    ) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        // Inline `mod x { ... }` blocks deepen the module path until their brace closes.
        let mut inline: Vec<(usize, String)> = Vec::new();
        let mut depth = 0usize;
        let root_word = match kind {
            Kind::Library => "crate",
            Kind::Program => "station",
        };
        let mut i = 0;
        while i < self.toks.len() {
            match &self.toks[i].1 {
                Tok::Sym('{') => depth += 1,
                Tok::Sym('}') => {
                    depth = depth.saturating_sub(1);
                    if inline.last().is_some_and(|(d, _)| *d == depth) {
                        inline.pop();
                    }
                }
                Tok::Ident(w) if w == "mod" => {
                    if let (Some(name), true) = (self.ident(i + 1), self.is(i + 2, &Tok::Sym('{')))
                    {
                        inline.push((depth, name.to_string()));
                    }
                }
                _ => {}
            }
            let after_path = i > 0 && (self.is(i - 1, &Tok::Sep) || self.is(i - 1, &Tok::Sym('$')));
            let word = self.ident(i);
            if after_path || !self.is(i + 1, &Tok::Sep) {
                i += 1;
                continue;
            }
            let offset = self.toks[i].0;
            if word == Some(root_word) {
                for name in self.names_after(i + 2) {
                    if units.contains(&name) {
                        out.push((offset, name));
                    }
                }
            } else if word == Some("super") && kind == Kind::Library {
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(_, n)| n.clone()));
                let mut j = i;
                while self.ident(j) == Some("super") && self.is(j + 1, &Tok::Sep) {
                    here.pop();
                    j += 2;
                }
                if here.is_empty() {
                    for name in self.names_after(j) {
                        if units.contains(&name) {
                            out.push((offset, name));
                        }
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The first name of the path at token `i`, or of each path in a `{a::b, c}` group.
    fn names_after(&self, i: usize) -> Vec<String> {
        if let Some(name) = self.ident(i) {
            return vec![name.to_string()];
        }
        if !self.is(i, &Tok::Sym('{')) {
            return Vec::new();
        }
        let end = self.closing(i);
        let mut names = Vec::new();
        let mut depth = 0;
        let mut expect = true;
        for j in i..end {
            match &self.toks[j].1 {
                Tok::Sym('{') => {
                    depth += 1;
                    expect = depth == 1;
                }
                Tok::Sym('}') => depth -= 1,
                Tok::Sym(',') if depth == 1 => expect = true,
                Tok::Ident(name) if expect && depth == 1 => {
                    names.push(name.clone());
                    expect = false;
                }
                _ => {
                    if depth == 1 {
                        expect = false;
                    }
                }
            }
        }
        names
    }

    /// Calls `.m(` of the given methods: (offset, method).
    fn method_calls(&self, methods: &[&str]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for i in 1..self.toks.len() {
            if let Some(m) = self.ident(i) {
                if self.is(i - 1, &Tok::Sym('.'))
                    && self.is(i + 1, &Tok::Sym('('))
                    && methods.contains(&m)
                {
                    out.push((self.toks[i].0, m.to_string()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn comments_and_strings_name_nothing() {
        let src = r##"
// use crate::api;
/* crate::http /* nested */ crate::serve */
const A: &str = "crate::upstream";
const B: &str = r#"crate::reports "quoted""#;
const C: char = '"';
fn f<'a>(x: &'a str) {}
use crate::store;
"##;
        let code = blank(src);
        let scan = Scan::new(&code);
        let all = units(&["api", "http", "serve", "upstream", "reports", "store"]);
        let found: Vec<String> = scan
            .uses(Kind::Library, &["config".into()], &all)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        assert_eq!(found, ["store"]);
    }

    #[test]
    fn groups_super_and_test_items() {
        let src = "use crate::{config::Config, store::{self, Store}, events};
use super::dicom::header;
#[cfg(test)]
mod tests {
    use super::super::api;
    use crate::http;
    fn f(c: &rusqlite::Connection) { c.execute(\"\", []); }
}
#[cfg(test)]
mod more;
fn g(c: &rusqlite::Connection) { c.query_row(\"x\", [], |r| r.get(0)); }
";
        let code = blank(src);
        let scan = Scan::new(&code);
        let all = units(&["config", "store", "events", "dicom", "api", "http"]);
        let uses = scan.uses(Kind::Library, &["ingest".into()], &all);
        let names: Vec<&str> = uses.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(names, ["config", "store", "events", "dicom", "api", "http"]);
        let ranges = scan.test_ranges();
        let in_test = |o: usize| ranges.iter().any(|r| r.0 <= o && o < r.1);
        let tested: Vec<bool> = uses.iter().map(|(o, _)| in_test(*o)).collect();
        assert_eq!(tested, [false, false, false, false, true, true]);
        assert_eq!(scan.test_module_decls(), ["more"]);
        let sql: Vec<(bool, String)> = scan
            .method_calls(SQL_METHODS)
            .into_iter()
            .map(|(o, m)| (in_test(o), m))
            .collect();
        assert_eq!(
            sql,
            [
                (true, "execute".to_string()),
                (false, "query_row".to_string())
            ]
        );
    }

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
