//! Real alerts of each kind for the sink tests: the demo replay's lines in
//! `tests/fixtures/alerts/demo-alerts.jsonl`, read back through the alert's own JSON.

use liqwave::model::{Alert, AlertKind};

const DEMO: &str = include_str!("../fixtures/alerts/demo-alerts.jsonl");

/// The demo's first alert of `kind`; there is none of the daily summary, which a replay does
/// not raise.
pub(crate) fn demo(kind: AlertKind) -> Alert {
    let line = DEMO
        .lines()
        .find(|l| l.contains(&format!(r#""kind":"{kind}""#)))
        .unwrap_or_else(|| panic!("no {kind} in the fixture"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{kind}: {e}"))
}
