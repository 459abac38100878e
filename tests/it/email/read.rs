//! What a person reads in an alert mail, from the demo replay's real alerts: the text part of
//! each kind pinned as an insta snapshot (aligned rows within 72 columns, no raw JSON or epoch
//! numbers) and a setup's whole HTML part; the latter also feeds `docs/screenshots.sh`.

use std::path::Path;
use std::sync::OnceLock;

use crate::support::demo::demo_data;
use liqwave::engine::Engine;
use liqwave::model::Alert;
use liqwave::notify::email::{
    ImageLink, TEXT_WIDTH, alert_subject, render_html, render_html_with_image, render_text,
};

/// Runs a snapshot assertion with the snapshot kept in `tests/it/snapshots/`, beside the others.
fn pinned(assert: impl FnOnce()) {
    insta::with_settings!({ snapshot_path => "../snapshots" }, { assert() });
}

/// The demo replay's alerts (every one, in order). Made once per test binary.
fn demo_alerts() -> &'static [Alert] {
    static ALERTS: OnceLock<Vec<Alert>> = OnceLock::new();
    ALERTS.get_or_init(|| {
        let demo = demo_data();
        let mut engine = Engine::new(&demo.config);
        let mut alerts = Vec::new();
        for ev in &demo.events {
            engine.handle(ev, &mut alerts);
        }
        alerts
    })
}

/// The text part of the first demo alert of each kind, as a mail client shows it: a change to
/// the wording or layout is a reviewable diff (`snapshots/it__email__read__email_text_of_each_kind.snap`).
#[test]
fn email_text_of_each_kind() {
    let mut seen = std::collections::BTreeSet::new();
    let firsts: Vec<&Alert> = demo_alerts()
        .iter()
        .filter(|a| seen.insert(a.kind()))
        .collect();
    assert_eq!(
        firsts.len(),
        11,
        "every kind but the daily summary and second_leg (the demo raises none)"
    );
    let mut rendered = Vec::new();
    for alert in firsts {
        let text = render_text(alert, None);
        for line in text.lines() {
            assert!(
                line.chars().count() <= TEXT_WIDTH,
                "{}: {line:?}",
                alert.kind()
            );
        }
        rendered.push(format!(
            "── {} ──\n{}\n{text}",
            alert.kind(),
            alert_subject(alert)
        ));
    }
    pinned(|| insta::assert_snapshot!(rendered.join("\n")));
}

/// The HTML part of the demo's first setup, whole: the card, the table that wraps, the notes.
/// With `LIQWAVE_DOCS_DIR` set, also writes it with its chart (as of the alert's moment) for
/// `docs/screenshots.sh`.
#[test]
fn email_html_of_a_setup() {
    let setup = demo_alerts()
        .iter()
        .find(|a| a.kind() == liqwave::model::AlertKind::SetupEntry)
        .expect("the demo has a setup");
    pinned(|| insta::assert_snapshot!(render_html(setup)));
    if let Some(dir) = std::env::var_os("LIQWAVE_DOCS_DIR") {
        let dir = Path::new(&dir);
        let demo = demo_data();
        let mut engine = Engine::new(&demo.config);
        for ev in (demo.events.iter()).filter(|e| e.event.known_at() <= setup.time_ms) {
            engine.handle(ev, &mut Vec::new());
        }
        let chart = engine.alert_chart(setup, setup.time_ms).expect("a chart");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("alert-chart.png"), chart.render().unwrap()).unwrap();
        let link = ImageLink {
            content_id: "CHART",
            alt: "ETHUSDT 4h chart",
        };
        let html =
            render_html_with_image(setup, Some(link), None).replace("cid:CHART", "alert-chart.png");
        std::fs::write(dir.join("alert-email.html"), html).unwrap();
    }
}
