//! Imports point down (DESIGN.md §2): a table says which top-level modules each module may use,
//! and every `crate::` path in the library's sources is checked against it; a forbidden one fails
//! with its file and line. Unit tests keep their module's row; only the shared test builders
//! (`model/testing.rs`, which opens stores for tests of every layer) are exempt.

use std::fs;
use std::path::Path;

use crate::tidy::rust_files;

/// Each top-level module, lowest first, with the modules it may use. A module not listed here
/// fails the test, so a new one must take its place in the order.
#[rustfmt::skip]
const MAY_USE: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("numbers", &[]),
    ("clock", &["model"]),
    ("analytics", &["model", "numbers"]),
    ("rules", &["model", "numbers", "analytics"]),
    ("view", &["model", "numbers", "analytics", "rules"]),
    ("config", &["model", "analytics", "rules"]),
    ("schedule", &["model", "config"]),
    ("telemetry", &["config"]),
    // The registry knows none of the components that count into it.
    ("metrics", &[]),
    ("store", &["model", "rules", "view", "metrics"]),
    // Sources emit `model` events in batches of their own type; never the engine's input.
    ("source", &["model", "numbers", "clock", "config", "metrics"]),
    ("engine", &["model", "numbers", "analytics", "rules", "view", "config", "metrics", "store", "source"]),
    // The bot asks the engine (its commands and queries), never the store.
    ("notify", &["model", "numbers", "clock", "analytics", "rules", "view", "config", "metrics", "engine"]),
    ("backtest", &["model", "numbers", "analytics", "rules", "view", "config", "source", "engine", "notify"]),
    ("supervisor", &["model", "numbers", "clock", "analytics", "rules", "view", "config", "schedule",
        "metrics", "store", "source", "engine", "notify"]),
    ("cli", &["model", "numbers", "clock", "analytics", "rules", "view", "config", "schedule",
        "telemetry", "metrics", "store", "source", "engine", "notify", "backtest", "supervisor"]),
];

/// Every `crate::<module>` a line names, with the module.
fn crate_paths(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("crate::").filter_map(move |(at, _)| {
        let rest = &line[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

/// The lines of `text` that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// The shared test builders (`cfg(test)` only), which serve every layer's tests.
fn is_test_file(path: &str) -> bool {
    path.ends_with("/testing.rs")
}

/// The forbidden imports of the tree under `root/src`, as `file:line: text` lines.
fn violations(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Some(module) = rel
            .strip_prefix("src/")
            .and_then(|r| r.split(['/', '.']).next())
            .filter(|m| !matches!(*m, "lib" | "main"))
        else {
            continue;
        };
        if is_test_file(&rel) {
            continue;
        }
        let allowed = match MAY_USE.iter().find(|(m, _)| *m == module) {
            Some((_, allowed)) => *allowed,
            None => {
                found.push(format!("{rel}: module `{module}` has no row in MAY_USE"));
                continue;
            }
        };
        let text = fs::read_to_string(&file).expect("read source");
        for (number, line) in code_lines(&text) {
            for used in crate_paths(line) {
                if used != module && !allowed.contains(&used) {
                    found.push(format!(
                        "{rel}:{number}: `{module}` may not use `{used}`: {}",
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn every_import_points_down() {
    let found = violations(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        found.is_empty(),
        "imports against the layering:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_forbidden_import_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src/rules");
    fs::create_dir_all(&src).unwrap();
    #[rustfmt::skip]
    let cases: &[(&str, &str, Option<&str>)] = &[
        // (file, text, the violation it must report)
        ("mod.rs", "//! rules\nuse crate::model::Alert;\n", None),
        ("mod.rs", "//! rules\n\nuse crate::engine::Engine;\n", Some("src/rules/mod.rs:3: `rules` may not use `engine`")),
        ("mod.rs", "//! rules\nfn f() { crate::store::Store::open(); }\n", Some("src/rules/mod.rs:2: `rules` may not use `store`")),
        ("mod.rs", "//! rules\n// crate::engine in a comment\n", None),
        ("tests.rs", "use crate::engine::Engine;\n", Some("src/rules/tests.rs:1: `rules` may not use `engine`")),
        ("testing.rs", "use crate::engine::Engine;\n", None),
    ];
    for (file, text, want) in cases {
        for old in ["mod.rs", "tests.rs", "testing.rs"] {
            let old = src.join(old);
            if old.exists() {
                fs::remove_file(old).unwrap();
            }
        }
        fs::write(src.join(file), text).unwrap();
        let found = violations(dir.path());
        match want {
            None => assert!(found.is_empty(), "{text:?}: {found:?}"),
            Some(want) => assert!(
                found.len() == 1 && found[0].starts_with(want),
                "{text:?}: want {want}, got {found:?}"
            ),
        }
    }
}
