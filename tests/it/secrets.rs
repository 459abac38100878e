//! Secrets stay secret: a replay whose Telegram and SMTP peers are down logs every failed
//! delivery, and neither the bot token nor the SMTP password appears anywhere in its output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::net::ClosedPort;

#[test]
fn failing_sinks_never_log_the_token_or_the_password() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(root.join("config/demo.toml")).unwrap();
    let (telegram, smtp) = (ClosedPort::new(), ClosedPort::new());
    let text = format!(
        "{demo}\n[sinks.telegram]\nchat_ids = [42]\napi_url = \"http://127.0.0.1:{}\"\n\
         timeout_secs = 2\n\n[sinks.email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\n\
         tls = \"none\"\nusername = \"alerts@example.com\"\nfrom = \"alerts@example.com\"\n\
         to = [\"trader@example.com\"]\ntimeout_secs = 2\n\n[store]\npath = \"db\"\n\n\
         [delivery]\nshutdown_deadline_secs = 2\nbackoff_initial_ms = 50\n\n[log]\nfilter = \"debug\"\n",
        telegram.port(),
        smtp.port()
    );
    std::fs::write(dir.path().join("liqwave.toml"), text).unwrap();
    let token = "987654321:SECRET-token-AAbbCCddEEff";
    let password = "pa55-SECRET-word";
    let child = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(["replay", "--config"])
        .arg(dir.path().join("liqwave.toml"))
        .arg("--data")
        .arg(root.join("tests/fixtures/binance"))
        .env("LIQWAVE_TELEGRAM_TOKEN", token)
        .env("LIQWAVE_SMTP_PASSWORD", password)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every alert would be retried until it is a dead letter; a few seconds of failures are
    // enough, then SIGTERM leaves the rest in the outbox (2 s deadline).
    std::thread::sleep(Duration::from_secs(4));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(kill.unwrap().success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Delivery failed"),
        "the failures are logged: {stderr}"
    );
    for (what, secret) in [
        ("token", token),
        ("password", password),
        ("token tail", "AAbbCCddEEff"),
    ] {
        assert!(!stdout.contains(secret), "the {what} is on stdout");
        assert!(!stderr.contains(secret), "the {what} is in the logs");
    }
}
