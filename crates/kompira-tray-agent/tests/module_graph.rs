//! The agent's modules form no circle, and only the top names the agent itself: every part
//! takes a `dyn Shell` (shell.rs) instead of `agent.rs`. The window depends on the contract
//! crate, not on this one. Read from the sources, so a new `use crate::…` that closes a circle
//! fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The files (module names) allowed to name `agent`: the top that builds it and serves windows.
const TOP: [&str; 2] = ["lib", "server"];

fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Module → the crate modules its files refer to (`crate::x`, `crate::{x, y}`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let module = module_of(path.strip_prefix(&src).unwrap());
            let text = std::fs::read_to_string(&path).unwrap();
            let uses = graph.entry(module.clone()).or_default();
            for (at, _) in text.match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    group[..group.find('}').unwrap()].split(',').map(|n| n.trim().split("::").next().unwrap()).collect()
                } else {
                    vec![rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap()]
                };
                for name in names {
                    if !name.is_empty() && name != module && name.chars().next().unwrap().is_lowercase() {
                        uses.insert(name.to_owned());
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn the_agents_modules_form_no_circle() {
    let graph = graph();
    // Depth-first search for a back edge; the path found is the circle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            panic!("a circle of modules: {} -> {node}", path[at..].join(" -> "));
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
    assert!(graph["state"].is_empty(), "state.rs is plain data: {:?}", graph["state"]);
}

#[test]
fn only_the_top_names_the_agent() {
    let naming: Vec<String> =
        graph().into_iter().filter(|(_, uses)| uses.contains("agent")).map(|(module, _)| module).collect();
    for module in &naming {
        assert!(TOP.contains(&module.as_str()), "{module} names crate::agent; take a dyn Shell instead");
    }
}

#[test]
fn the_window_depends_on_the_contract_not_on_the_agent() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src-tauri/Cargo.toml");
    let text = std::fs::read_to_string(manifest).unwrap();
    assert!(text.contains("kompira-tray-ipc"), "src-tauri should depend on kompira-tray-ipc");
    assert!(!text.contains("kompira-tray-agent"), "src-tauri must not depend on kompira-tray-agent");
}
