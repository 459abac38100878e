//! The `[service]` and `[metrics]` schema: how the daemon judges its own health for systemd's
//! watchdog and where it serves Prometheus metrics. Must never do I/O (the listener is bound by
//! the supervisor, not here).

use std::net::SocketAddr;
use std::time::Duration;

use super::check::Checker;
use super::raw::{RawMetrics, RawService};
use super::{MetricsConfig, ServiceConfig};

/// Loopback only by default: the metrics are for a local Prometheus or an SSH tunnel.
const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

impl Checker<'_, '_> {
    pub(super) fn service(&mut self, raw: RawService) -> ServiceConfig {
        let silence = self.int(
            "service.watchdog_silence_secs",
            raw.watchdog_silence_secs,
            120,
            5..=3600,
        );
        let deadline = self.int(
            "service.warmup_deadline_secs",
            raw.warmup_deadline_secs,
            900,
            1..=86_400,
        );
        ServiceConfig {
            watchdog_silence: Duration::from_secs(silence.value as u64),
            warmup_deadline: Duration::from_secs(deadline.value as u64),
        }
    }

    pub(super) fn metrics(&mut self, raw: RawMetrics) -> MetricsConfig {
        let text = raw
            .listen
            .unwrap_or_else(|| DEFAULT_METRICS_LISTEN.to_owned());
        let listen = text.parse::<SocketAddr>().unwrap_or_else(|_| {
            let message = format!(
                "must be an IP address and port such as {DEFAULT_METRICS_LISTEN:?}, got {text:?}"
            );
            self.report_at("metrics.listen", message);
            SocketAddr::from(([127, 0, 0, 1], 9464))
        });
        MetricsConfig {
            enabled: raw.enabled.unwrap_or(true),
            listen,
        }
    }
}
