//! systemd's notify protocol: `READY=1` once the source is warm (or its warm-up deadline passed),
//! `WATCHDOG=1` only while the engine runs and market data keeps arriving, `STOPPING=1` on
//! shutdown. A datagram to `$NOTIFY_SOCKET`; without it (not under systemd) nothing is sent.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::clock::wall_ms;
use crate::config::ServiceConfig;
use crate::source::SourceHealth;

/// Sends one notification; `Ok(false)` when not running under systemd.
pub(super) fn notify(state: &str) -> std::io::Result<bool> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(path) => notify_to(&path, state).map(|()| true),
        None => Ok(false),
    }
}

/// Sends `state` to the notify socket at `path` (`@name`: the abstract namespace).
fn notify_to(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        socket.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`), if any.
pub(super) fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Says READY=1 once `health` is ready (or the warm-up deadline passed) and pets the watchdog at
/// half its interval while `alive()` and the data is healthy. Runs until `shutdown`.
pub(super) async fn supervise(
    health: &SourceHealth,
    service: &ServiceConfig,
    alive: impl Fn() -> bool,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let started = tokio::time::Instant::now();
    let period = watchdog_interval().map_or(Duration::from_secs(5), |w| w / 2);
    let mut told_ready = false;
    loop {
        if !told_ready && (health.is_ready() || started.elapsed() >= service.warmup_deadline) {
            told_ready = true;
            let _sent = notify("READY=1\nSTATUS=Following the market.");
            tracing::info!(warm = health.is_ready(), "Ready.");
        }
        if watchdog_interval().is_some()
            && alive()
            && health.is_healthy(wall_ms(), service.watchdog_silence)
        {
            let _sent = notify("WATCHDOG=1");
        }
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = shutdown.cancelled() => {
                let _sent = notify("STOPPING=1");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
