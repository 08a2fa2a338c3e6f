//! Reading Rust source as text: [`blank`] removes comments and the insides of literals, and
//! `Scan` finds in what is left the module paths used, the test items and modules, and the
//! method calls that run SQL. The graph (`lib.rs`) decides what they mean.
//!
//! Must never: report a path or call that sits in a comment or a string.

use std::collections::BTreeSet;

use crate::Kind;

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
pub(crate) struct Scan {
    toks: Vec<(usize, Tok)>,
}

impl Scan {
    pub(crate) fn new(code: &str) -> Scan {
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
    pub(crate) fn test_ranges(&self) -> Vec<(usize, usize)> {
        self.test_items()
            .into_iter()
            .map(|(a, b)| (self.toks[a].0, self.toks[b].0 + 1))
            .collect()
    }

    /// `#[cfg(test)] mod name;`: modules whose files are test code.
    pub(crate) fn test_module_decls(&self) -> Vec<String> {
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
    pub(crate) fn uses(
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
    pub(crate) fn method_calls(&self, methods: &[&str]) -> Vec<(usize, String)> {
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
    use crate::SQL_METHODS;

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
}
