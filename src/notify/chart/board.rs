//! The market-wide regime board ("futures RSI heatmap"): one row per symbol, one cell per
//! timeframe, coloured by regime and shaded by RSI distance from 50. Draws its input in the
//! order given; never sorts, filters or computes RSI.

use plotters::style::RGBAColor;

use super::canvas::{Align, Canvas, encode_png, rgb, rgba};
use super::{BACKGROUND, ChartError, GRID, MUTED, PANEL, TEXT, regime_color};
use crate::analytics::regime::Regime;

/// One timeframe of one symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoardCell {
    /// RSI of the last closed bar; `None` while warming up (drawn as a dash).
    pub rsi: Option<f64>,
    pub regime: Regime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub symbol: String,
    /// One cell per board column, in column order.
    pub cells: Vec<BoardCell>,
    /// The cascade-loading score (`3/4`), drawn in a last column when any row has one.
    pub load: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct BoardInput<'a> {
    /// E.g. `RSI regime board · 2025-04-13 08:00 UTC`.
    pub title: &'a str,
    /// Column headings, e.g. `["1w", "1d", "4h"]`.
    pub columns: &'a [&'a str],
    /// Drawn top to bottom, then in further side-by-side blocks of at most `ROWS_PER_BLOCK`.
    pub rows: &'a [BoardRow],
    pub footer: &'a str,
}

/// Rows beyond this are refused: the image would exceed what chat apps show legibly.
pub const MAX_BOARD_ROWS: usize = 150;
const ROWS_PER_BLOCK: usize = 25;

// Design pixels (the board is always drawn at scale 1).
const MARGIN: u32 = 16;
const TITLE_H: u32 = 50;
const HEADER_H: u32 = 28;
const ROW_H: u32 = 28;
const FOOTER_H: u32 = 52;
const SYMBOL_W: u32 = 124;
const CELL_W: u32 = 76;
const BLOCK_GAP: u32 = 24;
const MIN_WIDTH: u32 = 520;

/// How the rows are split into blocks: (blocks, rows per block).
fn blocks(rows: usize) -> (usize, usize) {
    let blocks = rows.div_ceil(ROWS_PER_BLOCK).max(1);
    (blocks, rows.div_ceil(blocks).max(1))
}

/// The image size `render_board_png` produces for `rows` rows of `columns` cells.
pub fn board_size(rows: usize, columns: usize) -> (u32, u32) {
    let (blocks, per_block) = blocks(rows);
    let block_w = SYMBOL_W + CELL_W * columns as u32;
    let width = 2 * MARGIN + blocks as u32 * block_w + (blocks as u32 - 1) * BLOCK_GAP;
    let height = TITLE_H + HEADER_H + per_block as u32 * ROW_H + FOOTER_H + MARGIN;
    (width.max(MIN_WIDTH), height)
}

/// Renders the regime board as a PNG sized by `board_size` (at most 3,632 × 850 pixels).
pub fn render_board_png(input: &BoardInput<'_>) -> Result<Vec<u8>, ChartError> {
    validate(input)?;
    let (width, height) = board_size(input.rows.len(), drawn_columns(input));
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    {
        let c = Canvas::new(&mut buf, (width, height), BACKGROUND, 1.0)?;
        draw_board(&c, input, (width, height))?;
        c.finish()?;
    }
    encode_png(&buf, width, height)
}

fn validate(input: &BoardInput<'_>) -> Result<(), ChartError> {
    let n = input.rows.len();
    if n == 0 || n > MAX_BOARD_ROWS {
        return Err(ChartError::Input(format!(
            "{n} board rows; expected 1 to {MAX_BOARD_ROWS}"
        )));
    }
    if input.columns.is_empty() || input.columns.len() > 6 {
        return Err(ChartError::Input("a board needs 1 to 6 columns".into()));
    }
    match input
        .rows
        .iter()
        .find(|r| r.cells.len() != input.columns.len())
    {
        Some(row) => Err(ChartError::Input(format!(
            "{} has {} cells for {} columns",
            row.symbol,
            row.cells.len(),
            input.columns.len()
        ))),
        None => Ok(()),
    }
}

/// The RSI columns, and the load column when a row has a score.
pub fn drawn_columns(input: &BoardInput<'_>) -> usize {
    input.columns.len() + usize::from(input.rows.iter().any(|r| r.load.is_some()))
}

/// The cell colour: the regime's hue, stronger the further RSI sits from 50.
fn cell_color(cell: &BoardCell) -> RGBAColor {
    let Some(rsi) = cell.rsi.filter(|v| v.is_finite()) else {
        return rgba(255, 255, 255, 0.04);
    };
    let strength = ((rsi - 50.0).abs() / 30.0).clamp(0.0, 1.0);
    let mut color = regime_color(cell.regime);
    color.3 = match cell.regime {
        Regime::Range => 0.16,
        Regime::Bull | Regime::Bear => 0.28 + 0.62 * strength,
    };
    color
}

fn draw_board(
    c: &Canvas<'_>,
    input: &BoardInput<'_>,
    (width, height): (u32, u32),
) -> Result<(), ChartError> {
    let m = MARGIN as i32;
    c.text(
        input.title,
        (m, TITLE_H as i32 / 2 + 2),
        20.0,
        TEXT,
        Align::Left,
    )?;
    let (_, per_block) = blocks(input.rows.len());
    let load = drawn_columns(input) > input.columns.len();
    let block_w = (SYMBOL_W + CELL_W * drawn_columns(input) as u32 + BLOCK_GAP) as i32;
    for (b, rows) in input.rows.chunks(per_block).enumerate() {
        draw_block(c, input.columns, rows, load, m + b as i32 * block_w)?;
    }
    let legend_y = height as i32 - FOOTER_H as i32 + 8;
    draw_legend(c, (m, legend_y))?;
    let footer_y = height as i32 - MARGIN as i32 - 4;
    c.footer(input.footer, m, width as i32 - m, footer_y)
}

fn draw_block(
    c: &Canvas<'_>,
    columns: &[&str],
    rows: &[BoardRow],
    load: bool,
    left: i32,
) -> Result<(), ChartError> {
    let (row_h, cell_w) = (ROW_H as i32, CELL_W as i32);
    let cells_left = left + SYMBOL_W as i32;
    let load_x = cells_left + cell_w * columns.len() as i32;
    let right = load_x + if load { cell_w } else { 0 };
    let header_y = TITLE_H as i32 + HEADER_H as i32 / 2;
    c.text("symbol", (left + 8, header_y), 12.0, MUTED, Align::Left)?;
    for (i, name) in columns.iter().enumerate() {
        let x = cells_left + cell_w * i as i32 + cell_w / 2;
        c.text(name, (x, header_y), 13.0, MUTED, Align::Center)?;
    }
    if load {
        c.text(
            "load",
            (load_x + cell_w / 2, header_y),
            13.0,
            MUTED,
            Align::Center,
        )?;
    }
    let top = (TITLE_H + HEADER_H) as i32;
    for (r, row) in rows.iter().enumerate() {
        let y0 = top + r as i32 * row_h;
        let mid = y0 + row_h / 2;
        let stripe = if r % 2 == 0 { PANEL } else { rgb(21, 26, 36) };
        c.fill((left, y0), (right - 1, y0 + row_h - 1), stripe)?;
        c.text(&row.symbol, (left + 8, mid), 14.0, TEXT, Align::Left)?;
        for (i, cell) in row.cells.iter().enumerate() {
            let x0 = cells_left + cell_w * i as i32;
            c.fill(
                (x0 + 2, y0 + 2),
                (x0 + cell_w - 3, y0 + row_h - 3),
                cell_color(cell),
            )?;
            let (text, color) = match cell.rsi.filter(|v| v.is_finite()) {
                Some(v) => (format!("{v:.1}"), TEXT),
                None => ("–".to_owned(), MUTED),
            };
            c.text(&text, (x0 + cell_w / 2, mid), 13.0, color, Align::Center)?;
        }
        if load {
            let (text, color) = row.load.as_deref().map_or(("–", MUTED), |l| (l, TEXT));
            c.text(text, (load_x + cell_w / 2, mid), 13.0, color, Align::Center)?;
        }
    }
    let bottom = top + rows.len() as i32 * row_h;
    for i in 0..=columns.len() as i32 {
        let x = cells_left + cell_w * i;
        c.fill((x, top), (x, bottom - 1), GRID)?;
    }
    Ok(())
}

/// Swatches for the three regimes and what a cell shows.
fn draw_legend(c: &Canvas<'_>, (mut x, y): (i32, i32)) -> Result<(), ChartError> {
    for regime in [Regime::Bull, Regime::Bear, Regime::Range] {
        let cell = BoardCell {
            rsi: Some(match regime {
                Regime::Bull => 75.0,
                Regime::Bear => 25.0,
                Regime::Range => 50.0,
            }),
            regime,
        };
        c.fill((x, y - 6), (x + 14, y + 6), cell_color(&cell))?;
        c.text(regime.as_str(), (x + 20, y), 12.0, TEXT, Align::Left)?;
        x += 20 + c.text_width(regime.as_str(), 12.0) + 16;
    }
    let note = "RSI(14), last closed bar · deeper = further from 50";
    c.text(note, (x + 4, y), 12.0, MUTED, Align::Left)
}
