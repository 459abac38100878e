//! House rules that the compiler does not check (DESIGN.md §2): every module says what it owns,
//! the analytic core stays pure, only the supervisor spawns tasks, and the integration tests stay
//! one binary.

use std::fs;
use std::path::{Path, PathBuf};

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read_to_string(&p).expect("read source"))
        })
        .collect()
}

fn is_test_file(path: &str) -> bool {
    path.ends_with("/tests.rs")
}

#[test]
fn every_module_opens_with_what_it_owns() {
    for (path, text) in sources().iter().filter(|(p, _)| !is_test_file(p)) {
        assert!(
            text.starts_with("//! "),
            "{path} must open with a //! line saying what it owns"
        );
    }
}

#[test]
fn analytics_and_rules_stay_pure() {
    let forbidden = [
        "tokio::",
        "sled::",
        "teloxide::",
        "lettre::",
        "reqwest::",
        "tungstenite::",
        "std::fs",
        "std::net",
        "SystemTime::now",
        "Instant::now",
        "Utc::now",
        "thread_rng",
    ];
    for (path, text) in sources() {
        // Unit tests beside the code may read fixtures; the code itself may not.
        let core = path.starts_with("src/analytics/")
            || path.starts_with("src/rules/")
            || ["src/view.rs", "src/schedule.rs"].contains(&path.as_str());
        if !core || is_test_file(&path) {
            continue;
        }
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{path} mentions {word}: analytics, rules, views and the schedule do no I/O and read no clock"
            );
        }
    }
}

#[test]
fn only_the_supervisor_spawns_tasks() {
    for (path, text) in sources() {
        // The supervisor and its own modules (`src/supervisor/`) spawn; nothing else does.
        if path.starts_with("src/supervisor") {
            continue;
        }
        for word in [
            "tokio::spawn",
            "task::spawn",
            "spawn_blocking",
            "std::thread::spawn",
        ] {
            assert!(
                !text.contains(word),
                "{path} spawns ({word}); only src/supervisor.rs may"
            );
        }
    }
}

#[test]
fn no_debugging_leftovers() {
    for (path, text) in sources() {
        for word in ["dbg!(", "todo!(", "unimplemented!("] {
            assert!(!text.contains(word), "{path} contains {word}");
        }
    }
}

#[test]
fn the_integration_tests_stay_one_binary() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for entry in fs::read_dir(&tests).expect("read tests") {
        let path = entry.expect("dir entry").path();
        // Cargo makes each tests/*.rs a binary of its own, linking the whole library again.
        assert!(
            path.extension().is_none_or(|e| e != "rs"),
            "{}: make it a module of tests/it/main.rs",
            path.display()
        );
    }
    let mut files = Vec::new();
    rust_files(&tests.join("it"), &mut files);
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy();
        if name == "main" || name == "mod" {
            continue;
        }
        // A file no module declares is never compiled: its tests would silently not run.
        let dir = path.parent().unwrap();
        let parents = [
            dir.with_extension("rs"),
            dir.join("mod.rs"),
            dir.join("main.rs"),
        ];
        let declared = parents.iter().any(|parent| {
            fs::read_to_string(parent).is_ok_and(|text| {
                text.lines()
                    .any(|l| l.trim_start().ends_with(&format!("mod {name};")))
            })
        });
        assert!(
            declared,
            "{} is not a module of the test binary",
            path.display()
        );
    }
}
