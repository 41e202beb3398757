//! The server crate's top-level modules (`access`, `api`, `state`, …; a folder module counts as
//! one) import each other without a circle: no module reaches a module that reaches it back.
//! The graph is read from the sources: every `crate::<module>` path (in `use` lines, grouped
//! `use crate::{…}` included, and in code), `super::` paths that climb to the crate's root,
//! and the names the root re-exports (`crate::AppState` is `state`'s). Comments and strings
//! are left out.
mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The module path of a source file below `src`: `api/writes.rs` is `[api, writes]`,
/// `api/mod.rs` is `[api]`, `lib.rs` is `[]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// One token of Rust source, as far as paths go: an identifier, `::`, or another character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The tokens of `text`, without comments, strings and character literals.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
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
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if (c == 'r' || c == 'b')
            && !matches!(out.last(), Some(Token::Ident(_)))
            && raw_string_at(&chars, i).is_some()
        {
            i = raw_string_at(&chars, i).expect("checked");
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && next == Some(':') {
            out.push(Token::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// Where a raw (byte) string starting at `i` (`r"…"`, `r#"…"#`, `br"…"`) ends, if one does.
fn raw_string_at(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(j)
}

/// The first segments after each `crate::` in `tokens` (each name of a `crate::{a, b::c}`
/// group), and the first segment below the root reached by a `super::` chain, given the module
/// path `at` of the file and the inline modules (`mod tests { … }`) the tokens are in.
fn references(tokens: &[Token], at: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    // The inline modules we are in, each with the brace depth it opened at.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some(Token::Ident(_)), Some(Token::Punct('{'))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push(depth);
                }
            }
            Token::Ident(word) if word == "crate" && tokens.get(i + 1) == Some(&Token::PathSep) => {
                found.extend(first_segments(tokens, i + 2));
            }
            Token::Ident(word)
                if word == "super"
                    && tokens.get(i + 1) == Some(&Token::PathSep)
                    && !matches!(tokens.get(i.wrapping_sub(1)), Some(Token::PathSep)) =>
            {
                // The module we are in: the file's, then its inline modules.
                let mut level = at.len() + inline.len();
                let mut j = i;
                while tokens.get(j) == Some(&Token::Ident("super".into()))
                    && tokens.get(j + 1) == Some(&Token::PathSep)
                {
                    level = level.saturating_sub(1);
                    j += 2;
                }
                if level == 0 {
                    found.extend(first_segments(tokens, j));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The name at `i`, or each first name of the group `{a, b::c, d::{e}}` at `i`.
fn first_segments(tokens: &[Token], i: usize) -> Vec<String> {
    match tokens.get(i) {
        Some(Token::Ident(name)) => vec![name.clone()],
        Some(Token::Punct('{')) => {
            let mut names = Vec::new();
            let mut depth = 0;
            let mut expect_name = true;
            for token in &tokens[i..] {
                match token {
                    Token::Punct('{') => {
                        depth += 1;
                        if depth == 1 {
                            expect_name = true;
                        }
                    }
                    Token::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Punct(',') if depth == 1 => expect_name = true,
                    Token::Ident(name) if depth == 1 && expect_name => {
                        names.push(name.clone());
                        expect_name = false;
                    }
                    _ => {}
                }
            }
            names
        }
        _ => Vec::new(),
    }
}

/// The names the root re-exports (`pub use state::AppState;` makes `AppState` name `state`).
fn reexports(lib: &[Token]) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for (i, window) in lib.windows(3).enumerate() {
        if let [Token::Ident(p), Token::Ident(u), Token::Ident(module)] = window
            && p == "pub"
            && u == "use"
            && lib.get(i + 3) == Some(&Token::PathSep)
        {
            for name in first_segments(lib, i + 4) {
                names.insert(name, module.clone());
            }
        }
    }
    names
}

/// The graph of the crate in `src`: each top-level module and the top-level modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = sources(src);
    let lib = tokens(&std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs"));
    let reexported = reexports(&lib);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let at = module_path(src, file);
        let Some(from) = at.first() else { continue };
        graph.entry(from.clone()).or_default();
        let text = std::fs::read_to_string(file).expect("read a source file");
        for name in references(&tokens(&text), &at) {
            let to = reexported.get(&name).cloned().unwrap_or(name);
            if &to != from && to != "self" {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Names that are no module of the crate (a macro's `crate::` in a string, say) drop out.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for targets in graph.values_mut() {
        targets.retain(|t| modules.contains(t));
    }
    graph
}

/// A shortest path from `from` back to `from` in `graph`, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(node).into_iter().flatten() {
            if next == from {
                let mut path = vec![from.to_owned()];
                let mut at = node;
                while at != from {
                    path.push(at.to_owned());
                    at = came_from[at];
                }
                path.push(from.to_owned());
                path.reverse();
                return Some(path);
            }
            if !came_from.contains_key(next.as_str()) && next != from {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// One cycle for each group of modules that reach each other, as `a → b → a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for module in graph.keys() {
        if seen.contains(module) {
            continue;
        }
        if let Some(cycle) = cycle_through(graph, module) {
            // Every module that reaches `module` and that it reaches is in the same group.
            for other in graph.keys() {
                if cycle_through_pair(graph, module, other) {
                    seen.insert(other.clone());
                }
            }
            found.push(cycle.join(" → "));
        }
    }
    found
}

/// Whether `a` reaches `b` and `b` reaches `a`.
fn cycle_through_pair(graph: &BTreeMap<String, BTreeSet<String>>, a: &str, b: &str) -> bool {
    a == b || (reaches(graph, a, b) && reaches(graph, b, a))
}

/// Whether `from` reaches `to`.
fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::from([from]);
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        for next in graph.get(node).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next) {
                stack.push(next);
            }
        }
    }
    false
}

#[test]
fn no_module_of_the_server_reaches_a_module_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(
        graph.contains_key("state") && graph.contains_key("api"),
        "the modules were read: {graph:?}"
    );
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "the server's modules import each other in a circle:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_reader_finds_paths_groups_and_super_but_not_comments_or_strings() {
    let text = r#"
        use crate::{access::Security, state::{self, AppState}, metrics};
        // crate::commented
        /// [`crate::documented`]
        fn f() { let s = "crate::quoted"; let c = '"'; crate::pages::overview(); }
        use super::root_module;
        mod tests { use super::*; use super::super::grand; }
    "#;
    let mut found = references(&tokens(text), &["here".to_owned()]);
    found.sort();
    assert_eq!(
        found,
        [
            "access",
            "grand",
            "metrics",
            "pages",
            "root_module",
            "state"
        ]
    );
    // In a folder module, `super::` stays inside it.
    assert!(references(&tokens("use super::reads;"), &["api".into(), "x".into()]).is_empty());
}

#[test]
fn a_circle_is_named() {
    let edges = [
        ("access", "routes"),
        ("routes", "api"),
        ("api", "access"),
        ("api", "error"),
    ];
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges {
        graph.entry(from.into()).or_default().insert(to.into());
        graph.entry(to.into()).or_default();
    }
    assert_eq!(cycles(&graph), ["access → routes → api → access"]);
}
