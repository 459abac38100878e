//! Test builders, for unit tests here and for the integration tests (`tests/it/support/mod.rs`
//! includes this file): an alert from one line of data, built through [`Alert::new`] with typed
//! facts; a real alert of each kind; a store in a temporary directory. Test code only: compiled
//! under `cfg(test)`, never into the daemon. Paths start at `crate::model` and `crate::store`,
//! which the integration tests' crate root names too.

use std::fmt::Display;
use std::path::Path;

use tempfile::TempDir;

use crate::model::{Alert, AlertKind, Facts, Interval, Severity, SummaryFacts, Symbol, TimeMs};
use crate::store::Store;

/// One alert of each kind but the summary, as `liqwave replay --alerts-out` wrote them: the demo
/// replay's, and for the playbook's kinds (which the short recording is too short to raise) the
/// 14-month history's (`../shared/data/binance-history`).
const DEMO: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/alerts/demo-alerts.jsonl"
));

/// A real alert of `kind`: the demo replay's first (the summary, which a replay does not raise,
/// is a small hand-made one).
pub(crate) fn demo(kind: AlertKind) -> Alert {
    if kind == AlertKind::DailySummary {
        let report = serde_json::json!({"day": "2025-03-26", "tz": "UTC", "alerts_total": 0});
        let facts = Facts::DailySummary(SummaryFacts::from_json(report));
        let title = "Daily regime summary 2025-03-26 (UTC)";
        return alert(facts)
            .symbol("MARKET")
            .at(1_742_976_000_000)
            .trigger("2025-03-26")
            .severity(Severity::Info)
            .title(title)
            .build();
    }
    let line = DEMO
        .lines()
        .find(|l| l.contains(&format!(r#""kind":"{kind}""#)))
        .unwrap_or_else(|| panic!("no {kind} in the fixture"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

/// What a test alert starts from: a kind, meaning that kind's demo facts (real values, full
/// precision), or facts of the test's own.
pub(crate) trait IntoFacts {
    fn into_facts(self) -> Facts;
}

impl IntoFacts for AlertKind {
    fn into_facts(self) -> Facts {
        demo(self).facts
    }
}

impl IntoFacts for Facts {
    fn into_facts(self) -> Facts {
        self
    }
}

/// An alert of `facts` on BTCUSDT, of no timeframe, at time 0, triggered at its time, a warning
/// titled by its kind; the setters change one field each, [`TestAlert::build`] makes the [`Alert`]:
/// `alert(AlertKind::SetupEntry).symbol("ETHUSDT").interval(Interval::H4).at(t).build()`.
pub(crate) fn alert(facts: impl IntoFacts) -> TestAlert {
    let facts = facts.into_facts();
    TestAlert {
        symbol: "BTCUSDT".parse().expect("a symbol"),
        interval: None,
        trigger: None,
        time_ms: 0,
        severity: Severity::Warning,
        title: facts.kind().to_string(),
        facts,
    }
}

/// The arguments of [`Alert::new`], each with a default (see [`alert`]).
#[derive(Debug, Clone)]
pub(crate) struct TestAlert {
    symbol: Symbol,
    interval: Option<Interval>,
    /// `None`: the time, as a bar's close time is a signal's trigger.
    trigger: Option<String>,
    time_ms: TimeMs,
    severity: Severity,
    title: String,
    facts: Facts,
}

impl TestAlert {
    pub(crate) fn symbol(mut self, symbol: &str) -> TestAlert {
        self.symbol = symbol.parse().expect("a symbol");
        self
    }

    pub(crate) fn interval(mut self, interval: Interval) -> TestAlert {
        self.interval = Some(interval);
        self
    }

    /// When the alert became true.
    pub(crate) fn at(mut self, time_ms: TimeMs) -> TestAlert {
        self.time_ms = time_ms;
        self
    }

    /// The id's last part, when it is not the time.
    pub(crate) fn trigger(mut self, trigger: impl Display) -> TestAlert {
        self.trigger = Some(trigger.to_string());
        self
    }

    pub(crate) fn severity(mut self, severity: Severity) -> TestAlert {
        self.severity = severity;
        self
    }

    pub(crate) fn title(mut self, title: impl Into<String>) -> TestAlert {
        self.title = title.into();
        self
    }

    pub(crate) fn build(self) -> Alert {
        let trigger = self.trigger.unwrap_or_else(|| self.time_ms.to_string());
        Alert::new(
            self.symbol,
            self.interval,
            trigger,
            self.time_ms,
            self.severity,
            self.title,
            self.facts,
        )
    }
}

/// A new store in its own temporary directory, deleted when the directory guard drops.
pub(crate) fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open_store(dir.path());
    (dir, store)
}

/// The store at `dir/db`, where the tests' configs put it: new, or as a run left it. The cache is
/// small; what a test checks never depends on it.
pub(crate) fn open_store(dir: &Path) -> Store {
    Store::open(&dir.join("db"), 8 << 20).expect("the store opens")
}

/// Copies the directory tree `from` to `to` (a store as it was, to put back later).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the target directory");
    for e in std::fs::read_dir(from).expect("a readable directory") {
        let e = e.expect("a directory entry");
        match e.file_type().expect("its type").is_dir() {
            true => copy_dir(&e.path(), &to.join(e.file_name())),
            false => drop(std::fs::copy(e.path(), to.join(e.file_name())).expect("a copy")),
        }
    }
}
