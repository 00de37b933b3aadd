//! The library's layers, checked from its source: every `crate::` path (in `use` items and
//! inline, `super::` resolved) of a module's non-test code must be allowed by [`ALLOWED`],
//! and the allowed graph must have no loop. A new module, or a new dependency between
//! modules, is a line in the table, so the layering cannot change silently.
//! ARCHITECTURE.md states the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Modules every layer may use: they depend on nothing else in the crate.
const LEAVES: &[&str] = &["duration", "suggest", "memory"];

/// For each module of the library (`src/lib.rs`), what it may use besides [`LEAVES`] and
/// itself: a module (`"scenario"`: any path under it) or an item (`"budget::Usage"`: that
/// path and what is under it only). Ordered bottom-up.
const ALLOWED: &[(&str, &[&str])] = &[
    ("duration", &[]),
    ("suggest", &[]),
    ("memory", &[]),
    ("workload", &[]),
    ("strategy", &["workload"]),
    // Statistics never see a scenario: what aggregation needs comes in `PoolFacts`.
    ("stats", &["workload", "strategy"]),
    ("scenario", &["workload", "strategy"]),
    ("error", &["scenario"]),
    ("engine", &["scenario", "workload", "strategy", "stats"]),
    // The budget sizes the engine's structures through the one function it exposes.
    ("budget", &["scenario", "workload", "strategy", "stats", "engine::footprint"]),
    ("analysis", &["scenario", "workload", "strategy", "stats", "budget"]),
    ("runner", &["error", "scenario", "workload", "strategy", "stats", "engine", "analysis"]),
    ("point", &["scenario", "workload"]),
    ("remap", &["error", "scenario", "workload", "strategy"]),
    ("plan", &["error", "scenario", "workload", "stats", "budget", "runner", "point"]),
    // The outputs render what they are given: the result types of the commands and of the
    // analysis, never a function that computes them (no runner, engine or estimate).
    (
        "report",
        &[
            "error",
            "scenario",
            "workload",
            "strategy",
            "stats",
            "plan::PlanReport",
            "plan::StrategyPlan",
            "plan::Candidate",
            "plan::Verdict",
            "plan::slo::Slo",
            "plan::slo::Metric",
            "plan::rates::RatesReport",
            // The autoscaled pool's result and the two rules that read it (its pod-seconds,
            // which objectives judge it), not a search.
            "plan::autoscaled",
            "remap::RemapReport",
            "analysis::Preflight",
            "budget::Usage",
        ],
    ),
    ("run", &["error", "scenario", "budget", "analysis", "runner", "report"]),
    ("sweep", &["error", "scenario", "workload", "budget", "point", "runner", "report", "plan::slo::Slo"]),
    // `compare` simulates the compared strategy's replications again to pair them with the
    // measured passes (the function `lbsim run` runs).
    ("real", &["error", "scenario", "workload", "stats", "analysis", "report", "engine::simulate"]),
    // A run's headroom: the run's scenario scaled and rerun, judged by the sweep's judge.
    ("headroom", &["error", "scenario", "stats", "budget", "runner", "report", "plan::slo"]),
];

/// The `pub mod` items of `src/lib.rs`.
fn library_modules(src: &Path) -> Vec<String> {
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    lib.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';').map(str::to_string)).collect()
}

/// The `.rs` files of `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `text` without comments, string literals and its test modules (a `#[cfg(test)]` module
/// at the top level, and what follows it).
fn code(text: &str) -> String {
    let test_module = text.match_indices("\n#[cfg(test)]\n").find(|(i, m)| {
        let next = &text[i + m.len()..];
        ["mod ", "pub(crate) mod ", "pub(super) mod "].iter().any(|p| next.starts_with(p))
    });
    let text = test_module.map_or(text, |(i, _)| &text[..i]);
    let mut out = String::new();
    for line in text.lines() {
        let line = line.find("//").map_or(line, |i| &line[..i]);
        // Drop string literals (paths in messages are not dependencies).
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else { return vec![tree] };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).flat_map(|p| expand(&format!("{prefix}{p}"))).collect()
}

/// The crate paths (`engine::footprint`, without `crate::`) that the code of `file` names;
/// `depth` is how many modules deep the file is (1 for `src/run.rs` and `src/engine/mod.rs`).
fn crate_paths(code: &str, depth: usize) -> Vec<String> {
    let mut paths = Vec::new();
    // `use` items, with their braces; the rest of the code is searched for inline paths.
    let mut others = String::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let boundary = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
        let after = &rest[i + 4..];
        let Some(end) = after.find(';') else { break };
        if boundary {
            others.push_str(&rest[..i]);
            paths.extend(expand(&after[..end]));
        } else {
            others.push_str(&rest[..i + 4 + end]);
        }
        rest = &after[end..];
    }
    others.push_str(rest);
    // Inline paths.
    let mut rest = others.as_str();
    while let Some(i) = rest.find("crate::") {
        let tail = &rest[i..];
        let len = tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
        paths.push(tail[..len].to_string());
        rest = &rest[i + 7..];
    }
    paths
        .into_iter()
        .filter_map(|p| {
            let p = p.trim_start_matches("pub(crate)").trim_start_matches("::");
            if let Some(p) = p.strip_prefix("crate::") {
                return Some(p.to_string());
            }
            // `super::` chains that climb out of the top-level module.
            let mut p = p;
            let mut up = 0;
            while let Some(q) = p.strip_prefix("super::") {
                p = q;
                up += 1;
            }
            (up >= depth).then(|| p.to_string())
        })
        .map(|p| p.trim_end_matches("::").to_string())
        .filter(|p| !p.is_empty() && !p.starts_with('*'))
        .collect()
}

/// The top-level module a path names (`Result` and `Error` are `error`'s, re-exported).
fn target(path: &str) -> &str {
    let first = path.split("::").next().unwrap();
    if first == "Result" || first == "Error" { "error" } else { first }
}

#[test]
fn every_crate_path_follows_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let table: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let modules = library_modules(&src);
    for m in &modules {
        assert!(table.contains_key(m.as_str()), "module `{m}` is not in the layer table (tests/it/layers.rs)");
    }
    let mut broken = BTreeSet::new();
    let mut all = Vec::new();
    files(&src, &mut all);
    for file in all {
        let rel = file.strip_prefix(&src).unwrap();
        let parts: Vec<&str> = rel.iter().map(|c| c.to_str().unwrap()).collect();
        let module = parts[0].trim_end_matches(".rs");
        let name = parts[parts.len() - 1];
        if !table.contains_key(module) || name == "tests.rs" || name.ends_with("_tests.rs") {
            // The binary's files (main.rs, cli.rs, …), lib.rs and test-only files.
            continue;
        }
        // src/run.rs and src/engine/mod.rs are one module deep, src/engine/sim.rs two.
        let depth = parts.len() - usize::from(name == "mod.rs");
        let allowed = table[module];
        for path in crate_paths(&code(&fs::read_to_string(&file).unwrap()), depth) {
            let to = target(&path);
            if to == module || LEAVES.contains(&to) {
                continue;
            }
            let ok = allowed.iter().any(|a| path == *a || path.starts_with(&format!("{a}::")) || *a == to);
            if !ok {
                broken.insert(format!("{}: crate::{path}", rel.display()));
            }
        }
    }
    assert!(broken.is_empty(), "paths across the layers that tests/it/layers.rs does not allow:\n{broken:#?}");
}

#[test]
fn the_layer_table_has_no_loop() {
    let table: BTreeMap<&str, Vec<&str>> =
        ALLOWED.iter().map(|(m, deps)| (*m, deps.iter().map(|d| d.split("::").next().unwrap()).collect())).collect();
    // Each module may only use modules listed above it.
    let order: Vec<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    for (i, (m, deps)) in ALLOWED.iter().enumerate() {
        for d in deps.iter().map(|d| d.split("::").next().unwrap()) {
            let j = order.iter().position(|o| *o == d).unwrap_or_else(|| panic!("{m} uses `{d}`, not in the table"));
            assert!(j < i, "{m} may use {d}, which is listed after it: the layers would have a loop");
            assert!(table.contains_key(d));
        }
    }
}

#[test]
fn the_path_reader_sees_uses_and_inline_paths() {
    let text = "use crate::{a::{B, c}, d};\nuse super::super::e::F;\nfn f() { crate::g::h(); }\n\
                // crate::comment\nlet s = \"crate::string\";\nfn reuse() {}\n\
                #[cfg(test)]\nmod tests { use crate::t; }\n";
    let paths = crate_paths(&code(text), 2);
    assert_eq!(paths, ["a::B", "a::c", "d", "e::F", "g::h"]);
    assert_eq!(crate_paths("use super::x;\n", 2), Vec::<String>::new());
}
