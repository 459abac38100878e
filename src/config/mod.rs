//! Configuration: the validated `Config` every other module receives, and loading it from TOML.
//! Owns every default and every range check; must never read secrets (they come from the
//! environment or systemd credentials, read by the sinks that need them).
//!
//! Each key is declared once, where it is read: a field of a public struct with its doc, and one
//! reader call naming its key, default and range (`section!`, or a function for the structs other
//! modules own). The reader marks every key it asks for, so the keys of the file nobody asked for
//! are the unknown ones, and it records every problem with its key path and line.
//!
//! What each key means, its default and its range are documented for operators in
//! `config/liqwave.toml`; the docs here add only what a developer needs (units, semantics, why).

/// Declares a section of the file: its public struct (`Debug`, `Clone`, `PartialEq` and the
/// derives given), each field with its doc, and `read`, which builds it from the section's table
/// `$t` with one expression per field. The fields are read in order (the order an unknown key is
/// told the keys it could have been), and each expression may use the fields before it.
macro_rules! section {
    ($(#[$m:meta])* pub struct $name:ident($t:ident) {
        $($(#[$f:meta])* pub $field:ident: $ty:ty = $read:expr,)*
    }) => {
        #[derive(Debug, Clone, PartialEq)]
        $(#[$m])*
        pub struct $name {
            $($(#[$f])* pub $field: $ty,)*
        }

        impl $name {
            pub(in crate::config) fn read($t: &Table) -> Self {
                $(let $field: $ty = $read;)*
                $name { $($field),* }
            }
        }
    };
}

mod cascade;
mod read;
mod rules;
mod sections;
mod sinks;
mod table;
#[cfg(test)]
mod tests;
mod venues;

use std::path::Path;

use crate::analytics::SignalParams;
use crate::analytics::loading::CalendarEntry;
use crate::rules::{Mutes, Routes, RuleParams};
use table::Table;

pub use crate::rules::AlertSwitches;
pub use cascade::CascadeConfig;
pub use read::{ConfigError, Problem};
pub use rules::HeatmapConfig;
pub use sections::{DeliveryConfig, EngineConfig, LogConfig, LogFormat, ReplayConfig};
pub use sections::{SignalConfig, StoreConfig, SummaryConfig, SymbolFilter};
pub use sinks::TelegramSinkConfig;
pub use sinks::{BinanceConfig, MetricsConfig, ServiceConfig, SinksConfig, SmtpTls, SpotConfig};
pub use sinks::{ConsoleFormat, ConsoleSinkConfig, EmailSinkConfig, FileSinkConfig};
pub use venues::{VenueConfig, VenuesConfig};

section! {
    /// The checked configuration. Built only by [`load`] / [`from_toml_str`]; there is no
    /// `Default`.
    pub struct Config(t) {
        pub symbols: SymbolFilter = SymbolFilter::read(&t.table("symbols")),
        /// `[rsi]`, `[regime]`, `[entry]` and `[divergence]`.
        pub signals: SignalParams = sections::signals(t),
        pub alerts: AlertSwitches = sections::alerts(&t.table("alerts")),
        pub replay: ReplayConfig = ReplayConfig::read(&t.table("replay")),
        pub sinks: SinksConfig = SinksConfig::read(&t.table("sinks")),
        pub store: StoreConfig = StoreConfig::read(&t.table("store")),
        pub delivery: DeliveryConfig = DeliveryConfig::read(&t.table("delivery")),
        pub summary: SummaryConfig = SummaryConfig::read(&t.table("summary")),
        pub log: LogConfig = LogConfig::read(&t.table("log")),
        pub engine: EngineConfig = EngineConfig::read(&t.table("engine")),
        pub heatmap: HeatmapConfig = HeatmapConfig::read(&t.table("heatmap")),
        pub rules: RuleParams = rules::rules(&t.table("rules")),
        pub mutes: Mutes = rules::mutes(t),
        pub routes: Routes = rules::routes(t),
        pub binance: BinanceConfig = BinanceConfig::read(&t.table("binance")),
        /// `[spot]`: hourly spot klines beside the perpetuals, off by default.
        pub spot: SpotConfig = SpotConfig::read(&t.table("spot")),
        /// `[venues.bybit]`, `[venues.okx]`: the same markets on other venues, off by default.
        pub venues: VenuesConfig = VenuesConfig::read(&t.table("venues")),
        pub service: ServiceConfig = ServiceConfig::read(&t.table("service")),
        pub metrics: MetricsConfig = MetricsConfig::read(&t.table("metrics")),
        pub signal: SignalConfig = SignalConfig::read(&t.table("signal")),
        /// `[cascade]`: the cascade-loading score.
        pub cascade: CascadeConfig = CascadeConfig::read(&t.table("cascade")),
        /// `[[calendar]]`: known volatility windows, by time.
        pub calendar: Vec<CalendarEntry> = cascade::calendar(t),
    }
}

/// Reads and validates a config file; every problem is reported at once.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    from_toml_str(&text, path.parent().unwrap_or(Path::new(".")))
}

/// Validates TOML text; relative paths are resolved against `base_dir`.
pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    read::Reader::read(text, base_dir, Config::read)
}
