//! The log lines a test's code wrote, for tests that check what was logged. There is one
//! subscriber for the whole process, installed once: a scoped one races with tests on other
//! threads (tracing caches each callsite's interest globally). It formats events only while some
//! test captures, and keeps only the lines naming a capture's marker, so the other tests' logs
//! neither pile up in memory nor cost formatting.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::prelude::*;

/// Markers of the captures under way, and the lines that named one of them.
struct Captures {
    markers: Vec<String>,
    lines: Vec<String>,
}

static CAPTURES: Mutex<Captures> = Mutex::new(Captures {
    markers: Vec::new(),
    lines: Vec::new(),
});

/// How many captures are under way; none means every event is off.
static CAPTURING: AtomicUsize = AtomicUsize::new(0);

fn captures() -> MutexGuard<'static, Captures> {
    // A test that panicked mid-capture must not fail the others.
    CAPTURES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Receives one formatted event per write (the fmt layer writes each line whole).
struct Sink;

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let line = String::from_utf8_lossy(bytes);
        let mut captures = captures();
        if captures.markers.iter().any(|m| line.contains(m.as_str())) {
            captures.lines.push(line.trim_end_matches('\n').to_owned());
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn install_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // INFO and up, plain text: what `tracing_subscriber::fmt()` writes by default. A dynamic
        // filter, asked at every event: a plain `filter_fn` caches its first answer per callsite,
        // so a callsite first hit while nothing captures would stay off for later captures.
        let on = dynamic_filter_fn(|meta, _| {
            CAPTURING.load(Ordering::Relaxed) > 0 && *meta.level() <= tracing::Level::INFO
        })
        .with_max_level_hint(LevelFilter::INFO);
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| Sink)
            .with_filter(on);
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("no other global subscriber in the test binary");
    });
}

/// Runs `f` and returns the log lines written meanwhile that mention `marker` (a path unique to
/// the test), joined by newlines.
pub(crate) fn capture<T>(marker: &Path, f: impl FnOnce() -> T) -> (T, String) {
    install_once();
    let marker = marker.display().to_string();
    captures().markers.push(marker.clone());
    CAPTURING.fetch_add(1, Ordering::Relaxed);
    let out = f();
    CAPTURING.fetch_sub(1, Ordering::Relaxed);
    let mut captures = captures();
    if let Some(i) = captures.markers.iter().position(|m| *m == marker) {
        captures.markers.swap_remove(i);
    }
    let (ours, others) = captures
        .lines
        .drain(..)
        .partition(|l: &String| l.contains(&marker));
    captures.lines = others;
    (out, ours.join("\n"))
}
