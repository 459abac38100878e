//! `liqwave status`: what the store holds, for an operator — pairs and their regimes, the last
//! processed bar, outbox depth per sink, dead letters, mutes and the last deliveries. Owns the
//! layout only; it reads the store and never writes it.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;

use super::{load_config, store_held};
use crate::config::{self, LogFormat};
use crate::engine::PairSnapshot;
use crate::model::{Interval, format_utc};
use crate::store::{Store, StoreError};
use crate::telemetry;

/// Dead letters and deliveries listed at most.
const LIST: usize = 10;

pub(super) fn run(config_path: &Path) -> anyhow::Result<()> {
    telemetry::init("warn", LogFormat::Auto);
    let config = load_config(config_path)?;
    let path = config
        .store
        .path
        .as_deref()
        .context("the config has no store.path: there is no state to show")?;
    let store = Store::open_existing(path, config.store.cache_bytes).map_err(|e| match e {
        // sled takes an exclusive lock: a second process cannot read it, not even read-only.
        StoreError::Locked { holder, .. } => store_held(
            path,
            holder,
            "stop it, or run status on a copy of the directory",
        ),
        // The advice of run and replay names a flag status lacks.
        StoreError::NewerSchema { .. } => anyhow::anyhow!("{}; upgrade", e.problem()),
        StoreError::Corrupt { .. } | StoreError::Decode { .. } => anyhow::anyhow!(
            "{}; `liqwave run --reset-state` moves it aside and starts empty",
            e.problem()
        ),
        e => e.into(),
    })?;
    print(&store, &config, &mut io::stdout().lock())
}

fn print(store: &Store, config: &config::Config, out: &mut impl Write) -> anyhow::Result<()> {
    let pairs = store.pair_snapshots()?;
    writeln!(
        out,
        "store            {}",
        config
            .store
            .path
            .as_deref()
            .map_or(String::new(), |p| p.display().to_string())
    )?;
    writeln!(out, "events processed {}", store.position()?.unwrap_or(0))?;
    if let Some(rollback) = store.rollback() {
        writeln!(out, "ROLLED BACK      {rollback}")?;
    }
    writeln!(out, "pairs tracked    {}", pairs.len())?;
    if !pairs.is_empty() {
        writeln!(
            out,
            "\n{:<12} {:<17} {:>12} {:>12} {:>12}",
            "pair", "last bar (UTC)", "4h", "1d", "1w"
        )?;
        for p in &pairs {
            writeln!(out, "{}", pair_line(p))?;
        }
    }
    let depth = store.outbox_depth()?;
    writeln!(out, "\noutbox")?;
    if depth.is_empty() {
        writeln!(out, "  empty")?;
    }
    for (sink, n) in &depth {
        writeln!(out, "  {sink:<10} {n} waiting")?;
    }
    let dead = store.dead_letters()?;
    writeln!(out, "\ndead letters     {}", dead.len())?;
    for d in dead.iter().rev().take(LIST) {
        // A chat's part names the chat: the sink's other chats got the alert.
        let part = match d.recipients.as_slice() {
            [] => String::new(),
            to => format!(" (to {})", to.join(", ")),
        };
        writeln!(
            out,
            "  {}  {:<9} {}{part}  {}",
            format_utc(d.at),
            d.sink,
            d.alert.id,
            d.error
        )?;
    }
    if !dead.is_empty() {
        writeln!(
            out,
            "  (`liqwave dead-letters` lists, retries or drops them)"
        )?;
    }
    let mutes = store.mutes()?;
    writeln!(out, "\nmutes")?;
    let mut any = false;
    for m in mutes.iter() {
        any = true;
        let kind = m.kind.map_or("every kind".to_owned(), |k| k.to_string());
        writeln!(
            out,
            "  {:<12} {kind:<16} until {}",
            m.symbol,
            format_utc(m.until)
        )?;
    }
    if !any {
        writeln!(out, "  none")?;
    }
    writeln!(out, "\nlast deliveries")?;
    let recent = store.recent_sent(LIST)?;
    if recent.is_empty() {
        writeln!(out, "  none")?;
    }
    for r in recent {
        writeln!(out, "  {}  {:<9} {}", format_utc(r.sent_at), r.sink, r.id)?;
    }
    Ok(())
}

/// `BTCUSDT      2025-04-13 07:15   bull 61.2   range 48.0   —`
fn pair_line(p: &PairSnapshot) -> String {
    let state = &p.state;
    let last = state.last_source_open().map_or("—".to_owned(), format_utc);
    let tf = |interval: Interval| {
        let t = state.timeframe(interval);
        t.rsi()
            .map_or("—".to_owned(), |v| format!("{} {:.1}", t.regime(), v.rsi))
    };
    format!(
        "{:<12} {:<17} {:>12} {:>12} {:>12}",
        state.symbol().as_str(),
        last,
        tf(Interval::H4),
        tf(Interval::D1),
        tf(Interval::W1)
    )
}
