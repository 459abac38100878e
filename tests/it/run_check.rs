//! `check-config`, `check-config --for-run` and `run` agree: a value wrong for any use is refused
//! by all three, and what `run` needs from its environment at start (a writable store, each
//! enabled sink's secret, its files, its report) by the last two. Every refusal exits 78 (never
//! 1, which systemd would restart) and names each problem by its key path, all at once.
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `run` refuses before it touches the network; a run that starts anyway is killed after this.
const BOUND: Duration = Duration::from_secs(20);

/// The config text (relative paths are in the test's directory, which holds a regular file
/// `not-a-dir`), the environment, whether plain `check-config` refuses it too (a value rule) or
/// only `--for-run` and `run` do, and the start of each problem, in order.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    bool,
    &'static [&'static str],
);

/// One line per rule.
#[rustfmt::skip] // one case per line, however long: adding a case is adding a line
const CASES: &[Case] = &[
    ("[store]\npath = \"db\"", &[], false, &[]),
    // The store: set, and its directory can be made.
    ("", &[], false, &["store.path: is required by liqwave run: the outbox and pair state live there"]),
    ("[store]\npath = \"not-a-dir/db\"", &[], false, &["store.path: cannot write "]),
    // Each enabled sink's secret, from the environment or a credential (an empty one is none).
    ("[store]\npath = \"db\"\n[sinks.telegram]\nchat_ids = [1]", &[], false, &["sinks.telegram.token_env: secret not found: set the environment variable LIQWAVE_TELEGRAM_TOKEN, or give the service the systemd credential telegram_token"]),
    ("[store]\npath = \"db\"\n[sinks.telegram]\nchat_ids = [1]\ntoken_env = \"BOT\"", &[("BOT", "1:x")], false, &[]),
    ("[store]\npath = \"db\"\n[sinks.email]\nsmtp_host = \"smtp.example.com\"\nusername = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", &[], false, &["sinks.email.password_env: secret not found: set the environment variable LIQWAVE_SMTP_PASSWORD"]),
    ("[store]\npath = \"db\"\n[sinks.email]\nsmtp_host = \"smtp.example.com\"\nusername = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", &[("LIQWAVE_SMTP_PASSWORD", "pw")], false, &[]),
    ("[store]\npath = \"db\"\n[sinks.email]\nsmtp_host = \"smtp.example.com\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", &[], false, &[]),
    // The files it appends to, and the report its alerts quote.
    ("[store]\npath = \"db\"\n[sinks.file]\npath = \"no-dir/alerts.jsonl\"", &[], false, &["sinks.file.path: cannot write "]),
    ("[store]\npath = \"db\"\n[sinks.console]\njsonl_path = \"not-a-dir/alerts.jsonl\"", &[], false, &["sinks.console.jsonl_path: cannot write "]),
    ("[store]\npath = \"db\"\n[signal]\nreport = \"no-report.json\"", &[], false, &["signal.report: cannot read the signal report "]),
    // The private CA email trusts: a file of PEM certificates.
    ("[store]\npath = \"db\"\n[sinks.email]\nsmtp_host = \"smtp.example.com\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nca_file = \"no-ca.pem\"", &[], false, &["sinks.email.ca_file: cannot read "]),
    ("[store]\npath = \"db\"\n[sinks.email]\nsmtp_host = \"smtp.example.com\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nca_file = \"not-a-dir\"", &[], false, &["sinks.email.ca_file: no PEM certificate (-----BEGIN CERTIFICATE-----) in "]),
    // All at once.
    ("[sinks.telegram]\nchat_ids = [1]", &[], false, &["store.path: is required", "sinks.telegram.token_env: secret not found"]),
    // Values wrong for any use.
    ("[store]\npath = \"db\"\n[binance]\nws_url = \"wss://fstream.binance.com/ws\"", &[], true, &["line 4: binance.ws_url: must be the routed market endpoint"]),
    ("[store]\npath = \"db\"\n[binance]\nrest_url = \"https://fapi.binance.com/fapi/v1\"", &[], true, &["line 4: binance.rest_url: must have no path"]),
    ("[store]\npath = \"db\"\n[sinks.telegram]\nchat_ids = [1]\napi_url = \"http://api.telegram.org\"", &[("LIQWAVE_TELEGRAM_TOKEN", "1:x")], true, &["line 5: sinks.telegram.api_url: must be https://"]),
    ("[store]\npath = \"db\"\n[sinks.email]\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nusername = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", &[("LIQWAVE_SMTP_PASSWORD", "pw")], true, &["line 5: sinks.email.tls: must not be \"none\" with a username"]),
    ("[store]\npath = \"db\"\n[log]\nfilter = \"verbose\"", &[], true, &["line 4: log.filter: \"verbose\" is neither a level (trace, debug, info, warn, error, off)"]),
    ("[store]\npath = \"db\"\ncache_mb = 99999999999999999999", &[], true, &["line 3: store.cache_mb: must be between 1 and 4096, got 99999999999999999999"]),
];

#[test]
fn check_config_for_run_and_run_refuse_the_same_problems() {
    for &(text, env, plain, problems) in CASES {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
        // As the unit's SetCredential= defaults: a lone newline, which is no secret.
        let creds = dir.path().join("credentials");
        std::fs::create_dir(&creds).unwrap();
        for name in ["telegram_token", "smtp_password"] {
            std::fs::write(creds.join(name), "\n").unwrap();
        }
        let config = dir.path().join("liqwave.toml");
        std::fs::write(&config, text).unwrap();
        let command = |args: &[&str]| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_liqwave"));
            command.args(args).arg("--config").arg(&config).env_clear();
            command
                .env("CREDENTIALS_DIRECTORY", &creds)
                .envs(env.iter().copied());
            command
        };
        let plain_problems = if plain { problems } else { &[] };
        let checked = command(&["check-config"]).output().unwrap();
        assert_refused(&checked, plain_problems, &format!("check-config: {text}"));
        let for_run = command(&["check-config", "--for-run"]).output().unwrap();
        assert_refused(
            &for_run,
            problems,
            &format!("check-config --for-run: {text}"),
        );
        if !problems.is_empty() {
            let run = bounded(command(&["run"]));
            assert_refused(&run, problems, &format!("run: {text}"));
        }
        assert!(
            !dir.path().join("db").exists(),
            "no check creates a database: {text}"
        );
    }
}

/// Exit 0 without problems; else 78 with every problem, in order, at the start of a line.
fn assert_refused(out: &Output, problems: &[&str], case: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = if problems.is_empty() { 0 } else { 78 };
    assert_eq!(out.status.code(), Some(want), "{case}: {stderr}");
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let mut found = lines
        .iter()
        .filter(|l| problems.iter().any(|p| l.starts_with(p)));
    for problem in problems {
        let line = found.next();
        assert!(
            line.is_some_and(|l| l.starts_with(problem)),
            "{case}: {problem:?} in order in {stderr}"
        );
    }
    let count = format!(", {} problem", problems.len());
    assert!(
        problems.is_empty() || stderr.contains(&count),
        "{case}: {count:?} in {stderr}"
    );
}

/// Runs `command` to its end, killing it after [`BOUND`].
fn bounded(mut command: Command) -> Output {
    let mut child = (command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn())
    .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > BOUND {
            child.kill().unwrap();
            panic!("{command:?} still runs after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_shipped_example_is_ready_to_run_once_it_has_a_store() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/liqwave.toml");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example).unwrap();
    let text = text.replacen("# path = \"/var/lib/liqwave/db\"", "path = \"db\"", 1);
    let config = dir.path().join("liqwave.toml");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(["check-config", "--for-run", "--config"])
        .arg(&config)
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.ends_with("valid, ready to run\n"), "{stdout}");
}
