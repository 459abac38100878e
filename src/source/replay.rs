//! placeholder replay reader (helper delivering).
use crate::model::{Candle, Interval, Symbol, SymbolEvent};
use std::path::Path;

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub source_interval: Interval,
    pub include: Vec<Symbol>,
    pub exclude: Vec<Symbol>,
}
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub symbols: Vec<Symbol>,
}
impl LoadReport {
    pub fn malformed_rows(&self) -> u64 {
        0
    }
}
#[derive(Debug)]
pub struct Dataset {
    events: Vec<SymbolEvent>,
    report: LoadReport,
}
impl Dataset {
    pub fn load(_dir: &Path, _o: &ReplayOptions) -> anyhow::Result<Dataset> {
        Ok(Dataset {
            events: vec![],
            report: LoadReport::default(),
        })
    }
    pub fn events(&self) -> &[SymbolEvent] {
        &self.events
    }
    pub fn into_events(self) -> Vec<SymbolEvent> {
        self.events
    }
    pub fn report(&self) -> &LoadReport {
        &self.report
    }
}
pub fn read_kline_file(path: &Path) -> anyhow::Result<Vec<Candle>> {
    use std::io::Read;
    let mut text = String::new();
    let f = std::fs::File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f).read_to_string(&mut text)?;
    } else {
        std::io::BufReader::new(f).read_to_string(&mut text)?;
    }
    Ok(text
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            Candle {
                open_time: v[0] as i64,
                open: v[1],
                high: v[2],
                low: v[3],
                close: v[4],
                volume: v[5],
                quote_volume: None,
                taker_buy_quote: None,
            }
        })
        .collect())
}
