//! mer-core is built in layers: each top-level module depends only on the modules below it in
//! [`LAYERS`], and no two files depend on each other, directly or through others.
//!
//! A file's dependencies are the `crate::…` and `super::…` paths in its code (comments and the
//! `#[cfg(test)] mod tests` at its end left out), and the child modules a `mod.rs` re-exports
//! with `pub use child::…`; each path is resolved to the deepest module file it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// mer-core's top-level modules, lowest first.
const LAYERS: &[&str] = &[
    "util",
    "config",
    "input",
    "nn",
    "cache",
    "encoders",
    "architecture",
    "store",
    "run",
    "train",
    "registry",
];

/// The largest a source file may be unless it is listed here as one cohesive thing.
const MAX_LINES: usize = 400;

/// Files allowed past [`MAX_LINES`], and why.
const LONG_FILES: &[(&str, &str)] = &[];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                out.insert(parts.join("::"), path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The code of a file, without comments and without its trailing test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
        // Paths are ASCII; anything else (in strings) only gets in the way of byte indexing.
        .chars()
        .map(|c| if c.is_ascii() { c } else { ' ' })
        .collect()
}

/// Paths starting at `crate::` or `super::`, with `{a, b::c}` groups expanded one level.
fn paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let start = if rest.starts_with("crate::") {
            Some("crate")
        } else if rest.starts_with("super::") {
            Some("super")
        } else {
            None
        };
        let boundary = i == 0 || !is_ident(bytes[i - 1]);
        let (Some(base), true) = (start, boundary) else {
            i += 1;
            continue;
        };
        let mut j = i + base.len();
        let mut segments = Vec::new();
        while code[j..].starts_with("::") {
            j += 2;
            if code[j..].starts_with('{') {
                let close = code[j..].find('}').map_or(code.len(), |c| j + c);
                for item in code[j + 1..close].split(',') {
                    let item = item.split(" as ").next().unwrap().trim();
                    let mut full = segments.clone();
                    full.extend(
                        item.split("::")
                            .map(|s| s.trim().trim_start_matches('{'))
                            .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
                            .map(str::to_owned),
                    );
                    out.push((base.to_owned(), full));
                }
                j = close;
                break;
            }
            let end = code[j..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(code.len(), |e| j + e);
            if end == j {
                break;
            }
            segments.push(code[j..end].to_owned());
            j = end;
        }
        out.push((base.to_owned(), segments));
        i = j.max(i + 1);
    }
    out
}

fn graph() -> Graph {
    let files = sources();
    let resolve = |segments: &[String]| -> Option<String> {
        (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|candidate| files.contains_key(candidate))
    };
    let mut graph = Graph::new();
    for (module, path) in &files {
        let here: Vec<String> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").map(str::to_owned).collect()
        };
        let is_folder = path.ends_with("mod.rs") || path.ends_with("lib.rs");
        // `super` is the enclosing module, for `a/mod.rs` (module `a`) as for `a/b.rs` (`a::b`).
        let parent: Vec<String> = here
            .iter()
            .take(here.len().saturating_sub(1))
            .cloned()
            .collect();
        let code = code(path);
        let mut deps = BTreeSet::new();
        for (base, segments) in paths(&code) {
            let mut full = if base == "crate" {
                Vec::new()
            } else {
                parent.clone()
            };
            full.extend(segments);
            if let Some(target) = resolve(&full)
                && &target != module
                && !target.is_empty()
            {
                deps.insert(target);
            }
        }
        if is_folder {
            for line in code.lines() {
                let line = line.trim();
                let Some(rest) = line.strip_prefix("pub use ").or(line.strip_prefix("use ")) else {
                    continue;
                };
                let child = rest.split("::").next().unwrap_or_default();
                let mut full = here.clone();
                full.push(child.to_owned());
                if let Some(target) = resolve(&full)
                    && &target != module
                {
                    deps.insert(target);
                }
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// Strongly connected components of more than one file (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.graph[v] {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|l| *l == top)
}

#[test]
fn no_file_depends_on_itself_through_others() {
    let found = cycles(&graph());
    assert!(
        found.is_empty(),
        "import cycles in mer-core (each line: files that depend on each other):\n{}",
        found
            .iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn each_layer_depends_only_on_layers_below_it() {
    let graph = graph();
    let mut wrong = Vec::new();
    for (module, deps) in &graph {
        if module.is_empty() {
            continue;
        }
        let Some(own) = layer(module) else {
            wrong.push(format!("{module}: not in a listed layer"));
            continue;
        };
        for dep in deps {
            if layer(dep).is_some_and(|l| l > own) {
                wrong.push(format!("{module} → {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "upward dependencies (layers, lowest first: {}):\n{}",
        LAYERS.join(", "),
        wrong.join("\n")
    );
}

#[test]
fn files_stay_short_unless_cohesive() {
    let mut long = Vec::new();
    for (module, path) in sources() {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        let code_lines = code(&path).lines().count();
        let allowed = LONG_FILES.iter().any(|(m, _)| *m == module);
        if code_lines > MAX_LINES && !allowed {
            long.push(format!("{} ({lines} lines)", path.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines of code:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_finds_a_cycle_and_an_upward_dependency() {
    let mut graph = Graph::new();
    graph.insert("a".into(), ["b".to_owned()].into());
    graph.insert("b".into(), ["c".to_owned()].into());
    graph.insert("c".into(), ["a".to_owned()].into());
    graph.insert("d".into(), BTreeSet::new());
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    let parsed = paths("use crate::x::{y, z::W as V};\nlet q = super::r::s();");
    assert_eq!(
        parsed,
        vec![
            ("crate".to_owned(), vec!["x".to_owned(), "y".to_owned()]),
            (
                "crate".to_owned(),
                vec!["x".to_owned(), "z".to_owned(), "W".to_owned()]
            ),
            ("crate".to_owned(), vec!["x".to_owned()]),
            ("super".to_owned(), vec!["r".to_owned(), "s".to_owned()]),
        ]
    );
}
