//! `liqwave dead-letters`: the operator's hand on what failed for good — list the dead letters,
//! move them back into the outbox (the daemon's worker then delivers them, once: the sent log
//! still drops an alert its sink already has) or drop them. Owns the wording and the checks of
//! the ids; the moves themselves are the store's, each one transaction. Never sends anything.
//!
//! sled lets one process at a time open the store, so this command needs the daemon stopped:
//! with the store held it refuses and says so, and changes nothing. Retried alerts go out when
//! the daemon starts again.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use super::{load_config, store_held};
use crate::config::LogFormat;
use crate::model::format_utc;
use crate::store::{DeadLetter, Store, StoreError};
use crate::telemetry;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file whose store.path holds the dead letters.
    #[arg(long)]
    config: PathBuf,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
enum Action {
    /// List every dead letter with its id (the default).
    List,
    /// Move the named dead letters (all when none is named) back into the outbox, due at once;
    /// the daemon delivers them when it starts, to the chats each names only.
    Retry {
        /// Dead-letter ids, as `list` shows them.
        ids: Vec<u64>,
    },
    /// Delete the named dead letters for good.
    Drop {
        /// Dead-letter ids, as `list` shows them.
        ids: Vec<u64>,
        /// Delete every dead letter (instead of naming them).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    telemetry::init("warn", LogFormat::Auto);
    let config = load_config(&args.config)?;
    let path = config
        .store
        .path
        .as_deref()
        .context("the config has no store.path: there are no dead letters to show")?;
    let store = open(path, config.store.cache_bytes)?;
    let out = &mut io::stdout().lock();
    let letters = store.dead_letters_by_id()?;
    let config = args.config.display();
    match args.action.clone().unwrap_or(Action::List) {
        Action::List => list(&letters, &config.to_string(), out)?,
        Action::Retry { ids } => {
            let ids = chosen(&letters, ids)?;
            let moved = store.retry_dead(&ids)?;
            flush(&store)?;
            writeln!(
                out,
                "{moved} dead letters moved back into the outbox; the daemon delivers them when it starts"
            )?;
        }
        Action::Drop { ids, all } => {
            if ids.is_empty() && !all {
                anyhow::bail!(
                    "name the dead letters to drop (ids from `liqwave dead-letters --config {config} list`), or pass --all; nothing changed"
                );
            }
            let ids = chosen(&letters, ids)?;
            let dropped = store.drop_dead(&ids)?;
            flush(&store)?;
            writeln!(out, "{dropped} dead letters dropped")?;
        }
    }
    Ok(())
}

/// The store, or an error that tells the operator what to do.
fn open(path: &Path, cache_bytes: u64) -> anyhow::Result<Store> {
    Store::open_existing(path, cache_bytes).map_err(|e| match e {
        StoreError::Locked { holder, .. } => store_held(
            path,
            holder,
            "stop the daemon (systemctl stop liqwave), run this again, then start it: retried \
             alerts go out on start. Nothing changed",
        ),
        e => anyhow::Error::new(e).context(format!("opening the store {}", path.display())),
    })
}

/// The ids to act on: all of them when none is named; an unknown id is an error, and nothing
/// changes.
fn chosen(letters: &[(u64, DeadLetter)], mut ids: Vec<u64>) -> anyhow::Result<Vec<u64>> {
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(letters.iter().map(|(id, _)| *id).collect());
    }
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !letters.iter().any(|(known, _)| known == *id))
        .map(u64::to_string)
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!(
            "no dead letter with id {} (`list` shows the ids); nothing changed",
            unknown.join(", ")
        );
    }
    Ok(ids)
}

/// sled's writes made durable before the command says they are done.
fn flush(store: &Store) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(store.flush())?;
    Ok(())
}

/// One header line, then per dead letter one line of facts and the alert id and error below it.
fn list(letters: &[(u64, DeadLetter)], config: &str, out: &mut impl Write) -> io::Result<()> {
    if letters.is_empty() {
        return writeln!(out, "no dead letters");
    }
    writeln!(
        out,
        "{} dead letters (retry: liqwave dead-letters --config {config} retry [ID…]; drop: … drop ID…)\n",
        letters.len()
    )?;
    writeln!(
        out,
        "{:<8} {:<9} {:<16} {:<17} {:<17} {:<12} {:<17} {:>5}",
        "ID", "SINK", "TO", "ALERT TIME (UTC)", "KIND", "SYMBOL", "DEAD SINCE (UTC)", "TRIES"
    )?;
    for (id, d) in letters {
        let to = match d.recipients.as_slice() {
            [] => "all".to_owned(),
            chats if d.sink == "telegram" => format!("chat {}", chats.join(", ")),
            named => named.join(", "),
        };
        writeln!(
            out,
            "{id:<8} {:<9} {to:<16} {:<17} {:<17} {:<12} {:<17} {:>5}",
            d.sink,
            format_utc(d.alert.time_ms),
            d.alert.kind().as_str(),
            d.alert.symbol.as_str(),
            format_utc(d.at),
            d.attempts
        )?;
        writeln!(out, "{:<8} alert {}", "", d.alert.id)?;
        writeln!(out, "{:<8} error {}", "", d.error)?;
    }
    Ok(())
}
