//! What a source tells the supervisor about itself: warm or not, and when market data last
//! arrived (systemd's readiness and watchdog read it). Written by the source, read by the
//! supervisor; plain atomics, so neither ever waits on the other.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use crate::model::TimeMs;

/// How the source is doing, written by the source and read by the watchdog.
#[derive(Debug, Default)]
pub struct SourceHealth {
    ready: AtomicBool,
    /// Wall time of the last market data received; 0 before any.
    last_data_ms: AtomicI64,
}

impl SourceHealth {
    /// Every followed pair has been warmed up once (or tried).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn data_received(&self, at: TimeMs) {
        self.last_data_ms.store(at, Ordering::Relaxed);
    }

    /// Wall time of the last market data received, if any came.
    pub fn last_data(&self) -> Option<TimeMs> {
        let last = self.last_data_ms.load(Ordering::Relaxed);
        (last > 0).then_some(last)
    }

    /// Data is flowing: some arrived within `silence`, or the source is still warming up (REST
    /// only, so no stream data is expected yet).
    pub fn is_healthy(&self, now: TimeMs, silence: Duration) -> bool {
        let last = self.last_data_ms.load(Ordering::Relaxed);
        !self.is_ready() || (last > 0 && now - last <= silence.as_millis() as TimeMs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_while_warming_and_while_data_flows() {
        let silence = Duration::from_secs(60);
        let h = SourceHealth::default();
        assert!(h.is_healthy(1_000_000, silence), "warming up: REST only");
        h.set_ready();
        assert!(!h.is_healthy(1_000_000, silence), "ready but no data yet");
        h.data_received(990_000);
        assert!(h.is_healthy(1_000_000, silence));
        assert!(
            !h.is_healthy(1_061_000, silence),
            "stalled feed: no watchdog"
        );
    }
}
