//! The alert charts of the demo as a person gets them: every chart-bearing kind replayed through
//! the engine into a chart-drawing sink's outbox, drawn at the sinks' size and at a phone's
//! 400 px width. Writes them under `target/chart-examples/` to look at (the README's
//! `docs/chart-example*.png` come from there).

use std::path::Path;
use std::sync::Arc;

use liqwave::engine::{Engine, EngineMeter, Inputs, Outlet, Persist, SinkSlot};
use liqwave::model::AlertKind;
use liqwave::notify::chart::{CHART_SIZE, render_png};
use liqwave::rules::{KindFilter, Route, Routes};
use liqwave::store::Store;
use tokio::sync::{Notify, mpsc};

use crate::support::demo::demo_data;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test]
async fn each_alert_chart_of_the_demo_draws_full_size_and_at_phone_width() {
    let root = Path::new(ROOT);
    let (config, events) = (&demo_data().config, &demo_data().events);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state"), 4 << 20).expect("store");
    let outlet = Outlet {
        routes: Routes::new(vec![Route {
            sink: "telegram".into(),
            kinds: AlertKind::ALL.into_iter().map(KindFilter::kind).collect(),
            symbols: Vec::new(),
        }]),
        console: None,
        persist: Some(Persist {
            store: store.clone(),
            sinks: vec![SinkSlot {
                name: "telegram".into(),
                wake: Arc::new(Notify::new()),
                draws_charts: true,
                reaches_people: false,
            }],
            position: 0,
            behind: None,
        }),
        fresh: None,
        meter: EngineMeter::default(),
    };
    let (tx, rx) = mpsc::channel(events.len().div_ceil(2_000));
    for batch in events.chunks(2_000) {
        tx.try_send(batch.to_vec()).expect("room for every batch");
    }
    drop(tx);
    let (_engine, result) = Engine::new(config).run(Inputs::market(rx), outlet).await;
    result.expect("the replay persists");

    let out = root.join("target/chart-examples");
    std::fs::create_dir_all(&out).unwrap();
    let mut drawn = Vec::new();
    for (_, entry) in store.pending("telegram", usize::MAX).unwrap() {
        let (Some(chart), kind) = (&entry.chart, entry.alert.kind()) else {
            continue;
        };
        if drawn.contains(&kind) {
            continue;
        }
        drawn.push(kind);
        let name = format!("alert-{kind}-{}", entry.alert.symbol);
        let full = chart.render().expect("the chart draws");
        assert_eq!(png_size(&full), CHART_SIZE, "{name}");
        let phone = render_png(&chart.input(), 400, 444).expect("draws at phone width");
        assert_eq!(png_size(&phone), (400, 444), "{name}");
        std::fs::write(out.join(format!("{name}.png")), full).unwrap();
        std::fs::write(out.join(format!("{name}-400.png")), phone).unwrap();
    }
    drawn.sort();
    let want = [
        AlertKind::ClusterApproach,
        AlertKind::ClusterEdge,
        AlertKind::ClusterSwept,
        AlertKind::SetupEntry,
    ];
    assert_eq!(drawn, want);
}
