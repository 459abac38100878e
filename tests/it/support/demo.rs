//! The bundled demo as in-process tests replay it: `config/demo.toml` and the events of
//! `tests/fixtures/binance`, loaded once per test binary. Owns no test and never writes.

use std::path::Path;
use std::sync::OnceLock;

use liqwave::config::{self, Config};
use liqwave::model::SymbolEvent;
use liqwave::source::replay::{Dataset, ReplayOptions};

/// The demo config and every recorded event, in replay order.
pub(crate) struct DemoData {
    pub(crate) config: Config,
    pub(crate) events: Vec<SymbolEvent>,
}

pub(crate) fn demo_data() -> &'static DemoData {
    static DATA: OnceLock<DemoData> = OnceLock::new();
    DATA.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = config::load(&root.join("config/demo.toml")).expect("demo config");
        let events = Dataset::load(
            &root.join("tests/fixtures/binance"),
            &ReplayOptions::new(liqwave::clock::wall_ms()),
        )
        .expect("the bundled recordings")
        .into_events();
        DemoData { config, events }
    })
}
