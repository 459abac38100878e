//! SIGTERM, SIGINT and SIGHUP, listened for from the very start of a command (before the store
//! opens or a dataset loads), so that a signal at any moment stops the process cleanly instead of
//! killing it. Owns only the listening; what a signal stops is the pipeline's business.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::{CancellationToken, DropGuard};

/// A listener for the stopping signals, until it is dropped. liqwave has no reload: SIGHUP stops
/// it like SIGTERM (a new config needs a restart).
#[derive(Debug)]
pub(super) struct Signals {
    received: CancellationToken,
    _listening: DropGuard,
}

impl Signals {
    /// Starts listening. Without signal handlers (never on Linux) a warning says so and only
    /// SIGKILL stops the process.
    pub(super) fn listen() -> Signals {
        let (received, done) = (CancellationToken::new(), CancellationToken::new());
        let kinds = [
            SignalKind::terminate(),
            SignalKind::interrupt(),
            SignalKind::hangup(),
        ];
        match kinds.map(signal) {
            [Ok(term), Ok(int), Ok(hup)] => {
                tokio::spawn(watch([term, int, hup], received.clone(), done.clone()));
            }
            _ => tracing::warn!("Cannot listen for signals; stop with SIGKILL only."),
        }
        Signals {
            received,
            _listening: done.drop_guard(),
        }
    }

    /// Cancelled when a stopping signal arrives.
    pub(super) fn received(&self) -> CancellationToken {
        self.received.clone()
    }
}

/// Cancels `received` at the first signal and keeps the handlers installed (so later signals are
/// not fatal) until `done`.
async fn watch(
    [mut term, mut int, mut hup]: [Signal; 3],
    received: CancellationToken,
    done: CancellationToken,
) {
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
        () = done.cancelled() => return,
    };
    tracing::info!(signal = name, "Shutting down.");
    received.cancel();
    done.cancelled().await;
}
