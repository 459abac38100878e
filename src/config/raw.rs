//! Raw serde mirror of the TOML file: every key optional, nothing checked, no defaults applied.
//! Owns the shape of the file only; must never hold a value the rest of the crate consumes (the
//! validator turns these into `Config`) and must never grow a field for a secret.
//!
//! Integers are read as `i64` and floats as `f64` so that a negative or oversized number reaches
//! the range checks and gets a "must be between" message instead of a serde type error.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawConfig {
    pub(super) symbols: RawSymbols,
    pub(super) rsi: RawRsi,
    pub(super) regime: RawRegime,
    pub(super) entry: RawEntry,
    pub(super) divergence: RawDivergence,
    pub(super) alerts: RawAlerts,
    pub(super) replay: RawReplay,
    pub(super) sinks: RawSinks,
    pub(super) store: RawStore,
    pub(super) delivery: RawDelivery,
    pub(super) summary: RawSummary,
    pub(super) log: RawLog,
    pub(super) engine: RawEngine,
    pub(super) heatmap: RawHeatmap,
    pub(super) rules: RawRules,
    /// `[[mutes]]`; absent and empty alike mean no mutes.
    pub(super) mutes: Option<Vec<RawMute>>,
    /// `[[routes]]`; absent means the default routes, present replaces them.
    pub(super) routes: Option<Vec<RawRoute>>,
    pub(super) binance: RawBinance,
    pub(super) service: RawService,
    pub(super) metrics: RawMetrics,
    pub(super) signal: RawSignal,
}

/// `[signal]`: where the measured track record comes from.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSignal {
    pub(super) report: Option<String>,
}

/// `[binance]`: endpoints, the REST weight budget, warm-up lookback and poll intervals.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawBinance {
    pub(super) rest_url: Option<String>,
    pub(super) ws_url: Option<String>,
    pub(super) weight_limit_per_min: Option<i64>,
    pub(super) weight_share: Option<f64>,
    pub(super) warmup_days: Option<i64>,
    pub(super) request_timeout_secs: Option<i64>,
    pub(super) streams_per_connection: Option<i64>,
    pub(super) discovery_interval_secs: Option<i64>,
    pub(super) open_interest_interval_secs: Option<i64>,
}

/// `[service]`: the daemon's own health judgement (systemd watchdog, readiness).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawService {
    pub(super) watchdog_silence_secs: Option<i64>,
    pub(super) warmup_deadline_secs: Option<i64>,
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawMetrics {
    pub(super) enabled: Option<bool>,
    pub(super) listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSymbols {
    pub(super) include: Option<Vec<String>>,
    pub(super) exclude: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRsi {
    pub(super) period: Option<i64>,
    pub(super) warmup_bars: Option<i64>,
    pub(super) min_warmup_bars: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRegime {
    pub(super) bull_enter: Option<f64>,
    pub(super) bull_exit: Option<f64>,
    pub(super) bear_enter: Option<f64>,
    pub(super) bear_exit: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawEntry {
    pub(super) rearm_gap: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawDivergence {
    pub(super) lookback_left: Option<i64>,
    pub(super) lookback_right: Option<i64>,
    pub(super) range_lower: Option<i64>,
    pub(super) range_upper: Option<i64>,
    pub(super) lookback_right_by_interval: RawLookbackByInterval,
}

/// Per-timeframe overrides of `lookback_right`; a struct rather than a map so that any other key
/// is reported as unknown by the same mechanism as every other typo.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawLookbackByInterval {
    #[serde(rename = "4h")]
    pub(super) h4: Option<i64>,
    #[serde(rename = "1d")]
    pub(super) d1: Option<i64>,
    #[serde(rename = "1w")]
    pub(super) w1: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawAlerts {
    pub(super) regime_timeframes: Option<Vec<String>>,
    pub(super) midline_timeframes: Option<Vec<String>>,
    pub(super) divergence_timeframes: Option<Vec<String>>,
    pub(super) hidden_divergences: Option<bool>,
    pub(super) allow_unconverged: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawReplay {
    pub(super) data_dir: Option<String>,
    pub(super) source_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSinks {
    pub(super) console: RawConsoleSink,
    pub(super) file: RawFileSink,
    pub(super) telegram: RawTelegramSink,
    pub(super) email: RawEmailSink,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawConsoleSink {
    pub(super) enabled: Option<bool>,
    pub(super) format: Option<String>,
    pub(super) jsonl_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawLog {
    pub(super) filter: Option<String>,
    pub(super) format: Option<String>,
}

/// `[sinks.file]`: alerts appended to a JSONL file, synced after each (the durable local sink).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawFileSink {
    pub(super) path: Option<String>,
    pub(super) delay_ms: Option<i64>,
}

/// `[sinks.telegram]`: the Bot API sink. The token is never here (see `token_env`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTelegramSink {
    pub(super) chat_ids: Option<Vec<i64>>,
    pub(super) api_url: Option<String>,
    pub(super) token_env: Option<String>,
    pub(super) timeout_secs: Option<i64>,
    pub(super) commands: Option<bool>,
}

/// `[sinks.email]`: the SMTP sink. The password is never here (see `password_env`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawEmailSink {
    pub(super) smtp_host: Option<String>,
    pub(super) smtp_port: Option<i64>,
    pub(super) tls: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<Vec<String>>,
    pub(super) timeout_secs: Option<i64>,
}

/// `[store]`: the sled database.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawStore {
    pub(super) path: Option<String>,
    pub(super) cache_mb: Option<i64>,
}

/// `[delivery]`: retries and the shutdown deadline of the sink workers.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawDelivery {
    pub(super) max_attempts: Option<i64>,
    pub(super) backoff_initial_ms: Option<i64>,
    pub(super) backoff_max_secs: Option<i64>,
    pub(super) shutdown_deadline_secs: Option<i64>,
    pub(super) sent_log_days: Option<i64>,
}

/// `[summary]`: when the daily regime summary is due, as a local time in an IANA time zone.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSummary {
    pub(super) enabled: Option<bool>,
    pub(super) at: Option<String>,
    pub(super) tz: Option<String>,
    pub(super) grace_minutes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawEngine {
    pub(super) input_capacity: Option<i64>,
}

/// `[heatmap]`: the model, in the units a config author thinks in (hours, not milliseconds).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawHeatmap {
    pub(super) bin_bp: Option<f64>,
    pub(super) window_bins: Option<i64>,
    pub(super) reanchor_margin: Option<f64>,
    pub(super) leverage_tiers: Option<Vec<f64>>,
    pub(super) tier_weights: Option<Vec<f64>>,
    pub(super) smear: Option<f64>,
    pub(super) smear_min_bins: Option<f64>,
    pub(super) smear_cutoff_sigmas: Option<f64>,
    pub(super) taker_kappa: Option<f64>,
    pub(super) taker_share_min: Option<f64>,
    pub(super) taker_share_max: Option<f64>,
    pub(super) half_life_hours: Option<f64>,
    pub(super) volume_proxy_factor: Option<f64>,
    pub(super) clusters: RawClusters,
}

/// `[heatmap.clusters]`: cluster extraction; `*_pct` keys are percent (fractions in the model).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawClusters {
    pub(super) window_atr_mult: Option<f64>,
    pub(super) window_min_pct: Option<f64>,
    pub(super) window_max_pct: Option<f64>,
    pub(super) fallback_atr_pct: Option<f64>,
    pub(super) hot_background_mult: Option<f64>,
    pub(super) hot_percentile: Option<f64>,
    pub(super) background_min_count: Option<i64>,
    pub(super) merge_gap_bins: Option<i64>,
    pub(super) min_share_pct: Option<f64>,
    pub(super) isolation_cap: Option<f64>,
    pub(super) fuel_atr_mult: Option<f64>,
    pub(super) id_match_bins: Option<i64>,
}

/// `[rules]`: the heatmap and setup rules, in the units a config author thinks in (minutes,
/// hours, percent).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRules {
    pub(super) bias_timeframe: Option<String>,
    pub(super) cooldown_minutes: Option<i64>,
    pub(super) clusters: RawRuleClusters,
    pub(super) setup: RawSetup,
    pub(super) exit: RawExit,
    pub(super) funding: RawFunding,
}

/// `[rules.clusters]`: which clusters are worth an alert; `*_pct` keys are percent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRuleClusters {
    pub(super) min_density: Option<f64>,
    pub(super) min_share_pct: Option<f64>,
    pub(super) min_age_steps: Option<i64>,
    pub(super) approach_pct: Option<f64>,
    pub(super) approach_atr_mult: Option<f64>,
    pub(super) rearm_mult: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawSetup {
    pub(super) timeframe: Option<String>,
    pub(super) min_reward_risk: Option<f64>,
    pub(super) fee_pct: Option<f64>,
    pub(super) min_thin_approach: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawExit {
    pub(super) timeframe: Option<String>,
    pub(super) touch_window_hours: Option<f64>,
}

/// `[rules.funding]`: funding-rate thresholds in percent per funding interval.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawFunding {
    pub(super) crowded_longs_above_pct: Option<f64>,
    pub(super) crowded_shorts_below_pct: Option<f64>,
}

/// One `[[mutes]]` entry. `symbol` and `until` are required, but optional here so that a missing
/// one is reported with the others instead of stopping the parse.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawMute {
    pub(super) symbol: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) until: Option<RawTime>,
}

/// One `[[routes]]` entry; `sink` and `kinds` are required (see [`RawMute`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRoute {
    pub(super) sink: Option<String>,
    pub(super) kinds: Option<Vec<String>>,
    pub(super) symbols: Option<Vec<String>>,
}

/// A time as written: a string (`"2025-07-01T00:00:00Z"`) or a bare TOML datetime
/// (`2025-07-01T00:00:00Z`), which the toml deserializer presents as a map that only
/// `toml::value::Datetime` knows how to read. Either way only the text is kept; the validator
/// parses it.
#[derive(Debug)]
pub(super) struct RawTime(pub(super) String);

impl<'de> Deserialize<'de> for RawTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};

        struct TimeVisitor;

        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = RawTime;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a date and time such as \"2025-07-01T00:00:00Z\"")
            }

            fn visit_str<E: Error>(self, s: &str) -> Result<RawTime, E> {
                Ok(RawTime(s.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTime, A::Error> {
                // Any other table (an inline `{ ... }`) gets the same words as other wrong types.
                let map = serde::de::value::MapAccessDeserializer::new(map);
                let time = toml::value::Datetime::deserialize(map).map_err(|_: A::Error| {
                    Error::invalid_type(serde::de::Unexpected::Map, &self)
                })?;
                Ok(RawTime(time.to_string()))
            }
        }

        deserializer.deserialize_any(TimeVisitor)
    }
}

/// The keys a table accepts, for the "expected one of" hint on an unknown key. `table` is the
/// path of the table (empty for the top level); `None` when that path is not a known table.
pub(super) fn known_keys(table: &[&str]) -> Option<&'static [&'static str]> {
    let keys = match table {
        [] => field_names::<RawConfig>(),
        ["symbols"] => field_names::<RawSymbols>(),
        ["rsi"] => field_names::<RawRsi>(),
        ["regime"] => field_names::<RawRegime>(),
        ["entry"] => field_names::<RawEntry>(),
        ["divergence"] => field_names::<RawDivergence>(),
        ["divergence", "lookback_right_by_interval"] => field_names::<RawLookbackByInterval>(),
        ["alerts"] => field_names::<RawAlerts>(),
        ["replay"] => field_names::<RawReplay>(),
        ["sinks"] => field_names::<RawSinks>(),
        ["sinks", "console"] => field_names::<RawConsoleSink>(),
        ["sinks", "file"] => field_names::<RawFileSink>(),
        ["sinks", "telegram"] => field_names::<RawTelegramSink>(),
        ["sinks", "email"] => field_names::<RawEmailSink>(),
        ["store"] => field_names::<RawStore>(),
        ["delivery"] => field_names::<RawDelivery>(),
        ["summary"] => field_names::<RawSummary>(),
        ["log"] => field_names::<RawLog>(),
        ["engine"] => field_names::<RawEngine>(),
        ["heatmap"] => field_names::<RawHeatmap>(),
        ["heatmap", "clusters"] => field_names::<RawClusters>(),
        ["rules"] => field_names::<RawRules>(),
        ["rules", "clusters"] => field_names::<RawRuleClusters>(),
        ["rules", "setup"] => field_names::<RawSetup>(),
        ["rules", "exit"] => field_names::<RawExit>(),
        ["rules", "funding"] => field_names::<RawFunding>(),
        // Array indices are not keys, so `mutes[2].x` has the parent `["mutes"]`.
        ["mutes"] => field_names::<RawMute>(),
        ["routes"] => field_names::<RawRoute>(),
        ["binance"] => field_names::<RawBinance>(),
        ["service"] => field_names::<RawService>(),
        ["metrics"] => field_names::<RawMetrics>(),
        ["signal"] => field_names::<RawSignal>(),
        _ => return None,
    };
    Some(keys)
}

/// The field names serde derived for `T`, read back by offering it a deserializer that records
/// the `fields` argument of `deserialize_struct` and then fails. This keeps the hint in step with
/// the structs above without a second hand-written list.
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::value::Error;
    use serde::de::{Deserializer, Error as _, Visitor};

    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Error> {
            *self.0 = fields;
            Err(Error::custom("probe"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // The probe always errs by design; only the recorded field list matters.
    let _probe_error = T::deserialize(Probe(&mut fields)).err();
    fields
}
