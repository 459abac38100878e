//! Dead letters end to end, with the real binary, the real store and the fake Bot API: a chat
//! that blocked the bot dead-letters only its own deliveries while the other chat gets every
//! alert once; `dead-letters` lists them naming the chat, refuses unknown ids and a held store
//! without changing anything, and `retry` puts them back so that the next run delivers each to
//! that chat only, once — and the run after that sends nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{fixtures, root};
use crate::support::fake_bot_api::{Call, FakeBotApi, TOKEN};
use crate::support::testing::open_store;

/// The demo with a store and Telegram to chats 1 and 2 for regime changes only (a few alerts).
fn write_config(dir: &Path, api: &str) -> PathBuf {
    let demo = std::fs::read_to_string(root().join("config/demo.toml")).unwrap();
    let text = format!(
        "{demo}\n[store]\npath = \"db\"\n\n[delivery]\nbackoff_initial_ms = 10\n\n\
         [sinks.telegram]\nchat_ids = [1, 2]\napi_url = \"{api}\"\ncommands = false\n\n\
         [[routes]]\nsink = \"telegram\"\nkinds = [\"regime_change\"]\n"
    );
    let path = dir.join("liqwave.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn liqwave(config: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_liqwave"));
    match args.first() {
        Some(&"replay") => command
            .args(["replay", "--quiet", "--config"])
            .arg(config)
            .arg("--data")
            .arg(fixtures()),
        _ => command
            .arg("dead-letters")
            .arg("--config")
            .arg(config)
            .args(args),
    };
    command
        .env("RUST_LOG", "warn")
        .env("LIQWAVE_TELEGRAM_TOKEN", TOKEN)
        .output()
        .expect("run liqwave")
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "must be refused: {stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(
        stderr.contains("nothing changed") || stderr.contains("Nothing changed"),
        "{stderr}"
    );
}

/// The texts of the sends in `calls` to `chat` (messages and photo captions), sorted.
fn texts(calls: &[Call], chat: i64) -> Vec<String> {
    let mut texts: Vec<String> = calls
        .iter()
        .filter(|c| c.is_send() && c.chat() == Some(chat))
        .map(|c| c.text().to_owned())
        .collect();
    texts.sort();
    texts
}

#[test]
fn a_blocked_chat_dead_letters_only_its_part_and_a_retry_delivers_it_once() {
    let api = FakeBotApi::start(Vec::new());
    api.block_chat(2, true);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &api.url);

    ok(&liqwave(&config, &["replay"]));
    let first = api.calls();
    let to_chat_1 = texts(&first, 1);
    assert!(!to_chat_1.is_empty(), "the demo raises regime changes");
    let letters = {
        let store = open_store(dir.path());
        let letters = store.dead_letters().unwrap();
        assert!(!letters.is_empty());
        for letter in &letters {
            assert_eq!(letter.recipients, ["2"], "only chat 2's part: {letter:?}");
            assert!(letter.error.contains("blocked"), "{}", letter.error);
            assert!(!letter.error.contains(TOKEN), "{}", letter.error);
            assert!(store.is_sent("telegram", &letter.alert.id).unwrap());
        }
        assert!(store.outbox_depth().unwrap().is_empty());
        letters.len()
    };

    let listed = ok(&liqwave(&config, &[]));
    assert!(
        listed.starts_with(&format!("{letters} dead letters")),
        "{listed}"
    );
    assert_eq!(
        listed.matches("telegram  chat 2 ").count(),
        letters,
        "{listed}"
    );

    // Unknown ids and a held store change nothing.
    refused(
        &liqwave(&config, &["retry", "999999999"]),
        "no dead letter with id 999999999",
    );
    refused(&liqwave(&config, &["drop"]), "--all");
    {
        let _held = open_store(dir.path());
        refused(&liqwave(&config, &["retry"]), "stop the daemon");
    }
    assert_eq!(
        open_store(dir.path()).dead_letters().unwrap().len(),
        letters
    );

    // Unblocked and retried: the next run sends chat 2 exactly what chat 1 got, nothing more.
    api.block_chat(2, false);
    let moved = ok(&liqwave(&config, &["retry"]));
    assert!(
        moved.starts_with(&format!("{letters} dead letters moved back")),
        "{moved}"
    );
    ok(&liqwave(&config, &["replay"]));
    let second = &api.calls()[first.len()..];
    assert_eq!(
        texts(second, 1),
        Vec::<String>::new(),
        "chat 1 has them all already"
    );
    assert_eq!(texts(second, 2), to_chat_1, "chat 2 gets each once");
    assert_eq!(ok(&liqwave(&config, &["list"])).trim(), "no dead letters");

    let before = api.calls().len();
    ok(&liqwave(&config, &["replay"]));
    assert_eq!(api.calls().len(), before, "another run sends nothing again");
}
