//! Every configured venue as the one source the supervisor runs: Binance always, Bybit and OKX
//! when `[venues.*]` enables them, side by side in one future on the supervisor's task. Owns
//! how the config becomes each venue's options and how the venues share one context; must never
//! spawn, and never merges or reorders events (each venue orders its own pairs; pairs of
//! different venues are different symbols).

use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::source::binance::live::{LiveOptions, run_live};
use crate::source::bybit::{BybitOptions, run_bybit};
use crate::source::okx::{OkxOptions, run_okx};
use crate::source::{SourceContext, SourceHealth};

/// Each venue's options: Binance's always, the others' when enabled.
#[derive(Debug, Clone)]
pub struct VenueOptions {
    pub binance: LiveOptions,
    pub bybit: Option<BybitOptions>,
    pub okx: Option<OkxOptions>,
}

impl VenueOptions {
    /// The daemon's: the wall clock and each venue's configured endpoints.
    pub fn from_config(config: &Config) -> VenueOptions {
        let (bybit, okx) = (&config.venues.bybit, &config.venues.okx);
        VenueOptions {
            binance: LiveOptions::new(&config.binance),
            bybit: bybit.enabled.then(|| BybitOptions {
                pairs: bybit.include.clone(),
                streams_per_connection: bybit.streams_per_connection,
                ..BybitOptions::new(&bybit.rest_url, &bybit.ws_url)
            }),
            okx: okx.enabled.then(|| OkxOptions {
                pairs: okx.include.clone(),
                streams_per_connection: okx.streams_per_connection,
                ..OkxOptions::new(&okx.rest_url, &okx.ws_url)
            }),
        }
    }
}

/// Runs Binance's source and every enabled venue's until shutdown. Binance's health is the
/// daemon's (its watchdog and readiness); the other venues keep their own, so a quiet venue
/// never hides a stalled Binance feed. The first venue that cannot start at all ends the run.
pub async fn run_venues(
    config: &Config,
    cx: SourceContext,
    options: VenueOptions,
) -> anyhow::Result<()> {
    let bybit = options.bybit.map(|o| (o, beside(&cx)));
    let okx = options.okx.map(|o| (o, beside(&cx)));
    let binance = async {
        (run_live(config, cx, options.binance).await).context("the Binance source cannot start")
    };
    let bybit = async {
        let Some((options, cx)) = bybit else {
            return Ok(());
        };
        (run_bybit(options, cx).await).context("the Bybit source cannot start")
    };
    let okx = async {
        let Some((options, cx)) = okx else {
            return Ok(());
        };
        (run_okx(options, cx).await).context("the OKX source cannot start")
    };
    tokio::try_join!(binance, bybit, okx)?;
    Ok(())
}

/// A context for a venue beside the home one: the same engine input, shutdown, metrics and
/// resume points, its own health.
fn beside(cx: &SourceContext) -> SourceContext {
    SourceContext {
        events: cx.events.clone(),
        shutdown: cx.shutdown.clone(),
        health: Arc::new(SourceHealth::default()),
        metrics: Arc::clone(&cx.metrics),
        resume: cx.resume.clone(),
    }
}
