//! The crate's top-level modules form no cycle: each names (`crate::x`)
//! only modules below it, so the layout reads from the leaves
//! (`architecture`, `error`, `planar`) up to `stylizer` and `video`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, BTreeSet<String>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "tests" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let deps = out.entry(top.clone()).or_default();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for part in line.split("crate::").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top {
                        deps.insert(name);
                    }
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    // `crate::SimdLevel` names a module through lib.rs's re-exports:
    // resolved to the module, so such an edge is not lost.
    let exports = reexports(&std::fs::read_to_string(root.join("lib.rs")).unwrap());
    for (module, deps) in &mut out {
        *deps = std::mem::take(deps)
            .into_iter()
            .filter_map(|d| match exports.get(&d) {
                Some(m) if m == module => None,
                Some(m) => Some(m.clone()),
                None => Some(d),
            })
            .collect();
    }
    out
}

/// The items lib.rs re-exports from the crate's own modules (`pub use
/// module::{A, b::C};`): item -> module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for statement in lib.split(';') {
        let statement = statement
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join(" ");
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        if module == "burn" || module.starts_with("stylize_") {
            continue;
        }
        for word in items.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with(|c: char| c.is_ascii_uppercase()) || word.contains('_') {
                out.insert(word.to_string(), module.to_string());
            }
        }
    }
    out
}

#[test]
fn top_level_modules_form_no_cycle() {
    let g = graph();
    assert!(g.len() > 15, "found only {:?}", g.keys());
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(i) = path.iter().position(|p| p == m) {
            panic!("module cycle: {} -> {m}", path[i..].join(" -> "));
        }
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if g.contains_key(d) {
                visit(d, g, path, done);
            }
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        visit(m, &g, &mut Vec::new(), &mut done);
    }
    // The leaf the network description lives in names nothing else.
    assert!(g["architecture"].is_empty(), "{:?}", g["architecture"]);
    // Re-exports resolve to their modules: the engine interface names the
    // SIMD level (`crate::SimdLevel` in its code) through its leaf.
    assert!(g["engine"].contains("simd_level"), "{:?}", g["engine"]);
    assert!(g["simd_level"].is_empty(), "{:?}", g["simd_level"]);
}
