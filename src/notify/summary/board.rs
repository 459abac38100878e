//! The summary's regime board images: every pair's 1w/1d/4h RSI and regime, drawn by the chart
//! module in pages of at most [`BOARD_PAGE_ROWS`] pairs. Keeps the engine's pair order (by
//! symbol, easy to look a pair up); never ranks, filters or computes RSI.

use super::InlineImage;
use super::doc::{CONTENT_WIDTH, STALE_MARK, WARMING_MARK, utc};
use crate::analytics::regime::Regime;
use crate::model::{Interval, LoadingScore};
use crate::notify::chart::{
    BoardCell, BoardInput, BoardRow, board_size, drawn_columns, render_board_png,
};
use crate::view::{PairView, SummaryReport};

/// Pairs per board image: two blocks of 25 rows, 760 pixels wide, legible at full size in a mail
/// client (the chart module would take up to 150, but six blocks side by side get scaled down).
pub const BOARD_PAGE_ROWS: usize = 50;
/// Board images at most (600 pairs); the text part still lists every pair.
pub const MAX_BOARD_IMAGES: usize = 12;

/// The board's columns, highest timeframe first.
pub(super) const COLUMNS: [Interval; 3] = [Interval::W1, Interval::D1, Interval::H4];
const COLUMN_NAMES: [&str; 3] = ["1w", "1d", "4h"];

/// The board images, and notes on what they leave out.
pub(super) fn images(report: &SummaryReport) -> (Vec<InlineImage>, Vec<String>) {
    let pairs = &report.market.pairs;
    let shown = pairs.len().min(BOARD_PAGE_ROWS * MAX_BOARD_IMAGES);
    let pages: Vec<&[PairView]> = pairs[..shown].chunks(BOARD_PAGE_ROWS).collect();
    let mut images = Vec::new();
    let mut notes = Vec::new();
    let footer = footer(report);
    for (i, page) in pages.iter().enumerate() {
        let rows: Vec<BoardRow> = page.iter().map(row).collect();
        let (first, last) = (&page[0].symbol, &page[page.len() - 1].symbol);
        let title = if pages.len() == 1 {
            format!("RSI regime board · {}", report.day)
        } else {
            format!(
                "RSI regime board · {} · {}/{}: {first}–{last}",
                report.day,
                i + 1,
                pages.len()
            )
        };
        let input = BoardInput {
            title: &title,
            columns: &COLUMN_NAMES,
            rows: &rows,
            footer: &footer,
        };
        let name = if i == 0 {
            "board".to_owned()
        } else {
            format!("board-{}", i + 1)
        };
        match render_board_png(&input) {
            Ok(png) => images.push(InlineImage {
                file_name: format!("{name}.png"),
                content_id: name,
                alt: format!("{title}: {} pairs, {first} to {last}", page.len()),
                width: board_size(rows.len(), drawn_columns(&input)).0.min(CONTENT_WIDTH),
                png,
            }),
            Err(error) => notes.push(format!(
                "The board of {first}–{last} could not be drawn ({error}); the text part lists them."
            )),
        }
    }
    if shown < pairs.len() {
        notes.push(format!(
            "The board images show the first {shown} of {} pairs; the text part lists every pair.",
            pairs.len()
        ));
    }
    (images, notes)
}

fn footer(report: &SummaryReport) -> String {
    let data = report
        .market
        .health
        .last_event_ms
        .map_or("no data yet".to_owned(), |t| format!("data to {}", utc(t)));
    let warming = report.market.pairs.iter().any(|p| !p.ready && !p.stale);
    if warming {
        format!("{data} ·{WARMING_MARK} still warming up")
    } else {
        data
    }
}

/// A pair's board row; `*` marks a pair still warming up, `†` one whose data stopped.
pub(super) fn row(p: &PairView) -> BoardRow {
    let mark = match (p.ready, p.stale) {
        (_, true) => STALE_MARK,
        (false, false) => WARMING_MARK,
        (true, false) => "",
    };
    BoardRow {
        symbol: format!("{}{mark}", p.symbol),
        cells: COLUMNS.iter().map(|&i| cell(p, i)).collect(),
        load: p.loading.as_ref().map(LoadingScore::ratio),
    }
}

/// The last closed bar of `interval`: its RSI and regime, a dash before any.
pub(super) fn cell(p: &PairView, interval: Interval) -> BoardCell {
    match p.timeframe(interval) {
        Some(tf) => BoardCell {
            rsi: tf.rsi.filter(|v| v.is_finite()),
            regime: tf.regime,
        },
        None => BoardCell {
            rsi: None,
            regime: Regime::Range,
        },
    }
}
