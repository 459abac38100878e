//! Alerts as JSON: today's lines (one real alert of each kind from the demo or history replay, in
//! `tests/fixtures/alerts/demo-alerts.jsonl`) read into typed facts and write back byte for byte;
//! facts that are not their kind's are refused.

use super::*;
use crate::model::testing::demo;
use crate::model::{ClusterLabel, EntryDirection, HeatmapMode, Regime, SetupLetter};

/// One alert of each kind but the summary, as `liqwave replay --alerts-out` wrote them before
/// facts were typed.
const DEMO: &str = include_str!("../../../tests/fixtures/alerts/demo-alerts.jsonl");

#[test]
fn todays_json_reads_into_typed_facts_and_writes_back_unchanged() {
    for line in DEMO.lines() {
        let alert: Alert = serde_json::from_str(line).expect(line);
        assert_eq!(serde_json::to_string(&alert).unwrap(), line);
    }
    let setup = demo(AlertKind::SetupEntry);
    let Facts::SetupEntry(f) = &setup.facts else {
        panic!("{setup:?}")
    };
    // The line's values, typed (setup_entry:ETHUSDT:4h:1742356800000).
    assert_eq!(
        (f.setup, f.direction),
        (SetupLetter::A, EntryDirection::Short)
    );
    assert_eq!((f.entry, f.stop), (1931.21, 1951.76));
    assert!(f.checklist.trigger_4h && !f.checklist.funding_confirms);
    assert_eq!(f.model.mode, HeatmapMode::VolumeProxy);
    assert_eq!(f.bias.wave, Regime::Bear);
    assert!(f.next_cluster.is_some());
}

#[test]
fn an_alert_of_each_kind_round_trips_through_json() {
    for kind in AlertKind::ALL {
        let alert = demo(kind);
        assert_eq!(alert.kind(), kind);
        let json = serde_json::to_string(&alert).unwrap();
        let back: Alert = serde_json::from_str(&json).expect(&json);
        assert_eq!(back, alert, "{kind}");
        assert_eq!(serde_json::to_string(&back).unwrap(), json, "{kind}");
    }
}

#[test]
fn the_kind_is_the_facts_and_names_the_id() {
    let edge = demo(AlertKind::ClusterEdge);
    let Facts::ClusterEdge(level) = edge.facts.clone() else {
        panic!("{edge:?}")
    };
    let swept = Alert::new(
        edge.symbol.clone(),
        None,
        "long@4836:484042",
        edge.time_ms,
        edge.severity,
        edge.title.clone(),
        Facts::ClusterSwept(level),
    );
    assert_eq!(swept.kind(), AlertKind::ClusterSwept);
    assert_eq!(
        swept.id.as_str(),
        "cluster_swept:SOLUSDT:-:long@4836:484042"
    );
    assert_eq!(swept.brief().kind, AlertKind::ClusterSwept);
    assert_eq!(swept.facts.label(), Some(ClusterLabel::Magnet));
}

#[test]
fn facts_that_are_not_the_kinds_are_refused() {
    let regime = DEMO.lines().next().unwrap();
    let setup = DEMO
        .lines()
        .find(|l| l.contains("\"setup_entry\""))
        .unwrap();
    // (line, kind written in place of the real one)
    let cases = [
        (regime, "setup_entry"),
        (regime, "cluster_edge"),
        (regime, "divergence"),
        (setup, "divergence_exit"),
        (setup, "regime_change"),
    ];
    for (line, wrong) in cases {
        let real = serde_json::from_str::<Alert>(line).unwrap().kind();
        let edited = line.replace(
            &format!(r#""kind":"{real}""#),
            &format!(r#""kind":"{wrong}""#),
        );
        let error = serde_json::from_str::<Alert>(&edited).unwrap_err();
        assert!(
            error.to_string().contains(&format!("no {wrong} facts")),
            "{real} as {wrong}: {error}"
        );
    }
    let unknown = regime.replace(r#""kind":"regime_change""#, r#""kind":"nonsense""#);
    assert!(serde_json::from_str::<Alert>(&unknown).is_err());
}
