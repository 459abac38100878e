//! Deployment: `deploy/install.sh` into a scratch root (the tree it creates, and a second run that
//! keeps the operator's config and secrets), and `systemd/liqwave.service` carrying the settings
//! the daemon relies on. `.ci/run` adds `systemd-analyze verify` and `security` on the unit.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use liqwave::config;

/// Where the unit expects the secrets, and the names `notify::secret` reads.
const CREDENTIALS: [&str; 2] = ["telegram_token", "smtp_password"];
/// The store path the installer writes into a new config: inside `StateDirectory=liqwave`.
const STORE_PATH: &str = "/var/lib/liqwave/db";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    repo().join("deploy/install.sh")
}

fn install(args: &[&str]) -> Output {
    Command::new(script())
        .args(args)
        .output()
        .expect("run deploy/install.sh")
}

fn install_into(root: &Path) -> String {
    let out = install(&[
        "--root",
        root.to_str().unwrap(),
        "--no-build",
        "--binary",
        env!("CARGO_BIN_EXE_liqwave"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "install.sh failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file and directory under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn install_creates_the_tree_and_a_second_run_keeps_the_operators_files() {
    assert!(
        mode(&script()) & 0o111 != 0,
        "deploy/install.sh must be executable"
    );
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let first = install_into(root);
    assert!(
        first.contains("systemd not touched"),
        "a scratch root must not touch systemd:\n{first}"
    );

    assert_eq!(
        tree(root),
        [
            "etc",
            "etc/liqwave",
            "etc/liqwave/credentials",
            "etc/liqwave/credentials/smtp_password",
            "etc/liqwave/credentials/telegram_token",
            "etc/liqwave/liqwave.toml",
            "etc/systemd",
            "etc/systemd/system",
            "etc/systemd/system/liqwave.service",
            "usr",
            "usr/local",
            "usr/local/bin",
            "usr/local/bin/liqwave",
        ],
        "the installed tree (no temporary files left behind)"
    );

    // The binary: the one given, executable by the service's dynamic user.
    let binary = root.join("usr/local/bin/liqwave");
    assert_eq!(mode(&binary), 0o755);
    assert_eq!(
        fs::metadata(&binary).unwrap().len(),
        fs::metadata(env!("CARGO_BIN_EXE_liqwave")).unwrap().len()
    );

    // The config: the documented example with the store in the StateDirectory, valid, readable
    // by the dynamic user (it holds no secrets).
    let config_path = root.join("etc/liqwave/liqwave.toml");
    assert_eq!(mode(&config_path), 0o644);
    let example = fs::read_to_string(repo().join("config/liqwave.toml")).unwrap();
    let commented = format!("# path = \"{STORE_PATH}\"");
    assert_eq!(example.matches(&commented).count(), 1, "{commented}");
    assert_eq!(
        fs::read_to_string(&config_path).unwrap(),
        example.replacen(&commented, &format!("path = \"{STORE_PATH}\""), 1)
    );
    let config = config::load(&config_path).expect("the installed config is valid");
    assert_eq!(config.store.path.as_deref(), Some(Path::new(STORE_PATH)));
    let check = Command::new(&binary)
        .args(["check-config", "--config"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // The secrets: a root-only directory of empty root-only files.
    let creds = root.join("etc/liqwave/credentials");
    assert_eq!(mode(&creds), 0o700);
    for name in CREDENTIALS {
        let file = creds.join(name);
        assert_eq!(mode(&file), 0o600, "{name}");
        assert_eq!(fs::read(&file).unwrap(), b"", "{name}");
    }

    // The unit, as in the repository.
    let unit = root.join("etc/systemd/system/liqwave.service");
    assert_eq!(mode(&unit), 0o644);
    assert_eq!(
        fs::read(&unit).unwrap(),
        fs::read(repo().join("systemd/liqwave.service")).unwrap()
    );

    // The operator edits the config and fills in a secret; an upgrade keeps both.
    let edited = format!(
        "# edited by the operator\n{}",
        fs::read_to_string(&config_path).unwrap()
    )
    .replace("cache_mb = 64", "cache_mb = 32");
    fs::write(&config_path, &edited).unwrap();
    let token = creds.join("telegram_token");
    fs::write(&token, "123456789:operator-token\n").unwrap();
    let second = install_into(root);
    assert_eq!(fs::read_to_string(&config_path).unwrap(), edited);
    assert_eq!(
        fs::read_to_string(&token).unwrap(),
        "123456789:operator-token\n"
    );
    assert_eq!(mode(&token), 0o600);
    for kept in [
        "kept ".to_owned() + config_path.to_str().unwrap(),
        "kept ".to_owned() + token.to_str().unwrap(),
        "kept ".to_owned() + unit.to_str().unwrap() + " (unchanged)",
    ] {
        assert!(second.contains(&kept), "{kept:?} missing from:\n{second}");
    }
    assert_eq!(tree(root).len(), 13, "a second run adds nothing");
}

#[test]
fn install_explains_its_options_and_refuses_bad_ones() {
    let help = install(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for option in ["--root DIR", "--no-build", "--binary PATH"] {
        assert!(text.contains(option), "--help lacks {option}:\n{text}");
    }

    let unknown = install(&["--frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown argument: --frobnicate"));

    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("no-such-binary");
    let out = install(&[
        "--root",
        root.path().to_str().unwrap(),
        "--binary",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no executable binary"));
    assert!(
        tree(root.path()).is_empty(),
        "nothing installed without a binary"
    );

    let out = install(&["--root", missing.to_str().unwrap(), "--no-build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
}

/// `Key=value` lines of the unit (comments and section headers dropped), every value per key.
fn unit_settings() -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string(repo().join("systemd/liqwave.service")).unwrap();
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';', '[']) {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("{line}"));
        settings
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    settings
}

/// A systemd time span such as "30s", "2min 30s" or "1h"; a bare number is seconds.
fn timespan(text: &str) -> Duration {
    text.split_whitespace()
        .map(|part| {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(part.len());
            let (n, unit) = part.split_at(split);
            let n: u64 = n.parse().unwrap_or_else(|_| panic!("time span {text:?}"));
            let secs = match unit {
                "" | "s" | "sec" => 1,
                "min" | "m" => 60,
                "h" | "hr" => 3600,
                other => panic!("unit {other:?} in time span {text:?}"),
            };
            Duration::from_secs(n * secs)
        })
        .sum()
}

#[test]
fn the_unit_has_the_settings_the_daemon_relies_on() {
    let unit = unit_settings();
    let one = |key: &str| -> &str {
        match unit.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("{key}: expected exactly one value, got {other:?}"),
        }
    };

    assert_eq!(one("Type"), "notify");
    assert_eq!(one("NotifyAccess"), "main");
    assert_eq!(one("DynamicUser"), "yes");
    assert_eq!(one("Restart"), "on-failure");
    assert!(timespan(one("WatchdogSec")) > Duration::ZERO);
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(
        one("ExecStart"),
        "/usr/local/bin/liqwave run --config /etc/liqwave/liqwave.toml"
    );
    // "-": `run` exits 78 itself, which RestartPreventExitStatus= sees (ExecStartPre's is not).
    assert_eq!(
        one("ExecStartPre"),
        "-/usr/local/bin/liqwave check-config --for-run --config /etc/liqwave/liqwave.toml"
    );

    // An invalid config never loops.
    let prevent: Vec<&str> = one("RestartPreventExitStatus").split_whitespace().collect();
    assert!(
        prevent.contains(&liqwave::cli::EXIT_CONFIG.to_string().as_str()),
        "{prevent:?}"
    );

    // The store the installer configures is the service's only writable directory.
    let state = one("StateDirectory");
    assert_eq!(
        Path::new("/var/lib").join(state).join("db"),
        Path::new(STORE_PATH)
    );

    // Both secrets from the files the installer creates, each with a default so a missing file
    // is not fatal.
    let loads = &unit["LoadCredential"];
    let sets = &unit["SetCredential"];
    for name in CREDENTIALS {
        let load = format!("{name}:/etc/liqwave/credentials/{name}");
        assert!(loads.contains(&load), "LoadCredential={load} missing");
        assert!(
            sets.iter().any(|s| s.starts_with(&format!("{name}:"))),
            "SetCredential={name}:… missing"
        );
    }
    assert_eq!(loads.len(), CREDENTIALS.len());

    // systemd must not SIGKILL the drain: stop timeout above the default delivery deadline.
    let dir = tempfile::tempdir().unwrap();
    let defaults = config::from_toml_str("", dir.path()).expect("an empty config is valid");
    let deadline = defaults.delivery.shutdown_deadline;
    let stop = timespan(one("TimeoutStopSec"));
    assert!(
        stop > deadline + Duration::from_secs(5),
        "TimeoutStopSec {stop:?} must leave room above the drain deadline {deadline:?}"
    );
}
