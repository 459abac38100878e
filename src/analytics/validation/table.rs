//! Plain-text rendering of a validation report: one metric per row, the model and each baseline
//! as columns, intervals beside their estimates. Formatting only; never recomputes a number.

use super::{Score, ValidationReport};

/// The report as a fixed-width table with a header of counts and a footer of notes.
pub fn render_table(r: &ValidationReport) -> String {
    let c = &r.counts;
    let mut out = format!(
        "Estimated map vs realized liquidations: {} prints, {} scored (before first frame {}, \
         stale {}, no path {}, outside reached {}, invalid {})\n",
        c.events, c.scored, c.before_first_frame, c.stale, c.no_path, c.outside_reached, c.invalid
    );
    out += &format!(
        "Notional {:.0} realized, {:.0} scored; {} frames ({} scored, {} dropped); tolerance ±{} \
         bin(s); horizon {} min; bootstrap {} × {} block(s)\n",
        r.realized_notional,
        r.scored_notional,
        r.frames,
        r.frames_scored,
        r.frames_dropped,
        r.tolerance_bins,
        r.horizon_ms / 60_000,
        r.bootstrap_samples,
        r.bootstrap_blocks
    );
    let mut header = vec!["metric".to_owned(), "model".to_owned()];
    header.extend(r.baselines.iter().map(|b| b.kind.as_str().to_owned()));
    let scores: Vec<&Score> = std::iter::once(&r.model)
        .chain(r.baselines.iter().map(|b| &b.score))
        .collect();
    let row = |name: &str, cell: &dyn Fn(&Score) -> String| -> Vec<String> {
        std::iter::once(name.to_owned())
            .chain(scores.iter().map(|s| cell(s)))
            .collect()
    };
    let mut rows = vec![
        header,
        row("capture (notional)", &|s| fixed(s.capture, 3)),
        row("  95% CI, bootstrap", &|s| interval(s.capture_ci95, 3)),
        row("area (no-info capture)", &|s| fixed(s.area, 3)),
        row("lift = capture/area", &|s| optional(s.lift, 2)),
        row("  95% CI, bootstrap", &|s| interval(s.lift_ci95, 2)),
        row("hit rate (count)", &|s| fixed(s.hit_rate, 3)),
        row("  95% Wilson", &|s| interval(Some(s.hit_rate_wilson95), 3)),
        row("area (count)", &|s| fixed(s.area_by_count, 3)),
    ];
    let mut gain = vec!["model lift gain, 95% CI".to_owned(), "-".to_owned()];
    gain.extend(r.baselines.iter().map(|b| interval(b.lift_gain_ci95, 2)));
    rows.push(gain);
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|col| {
            rows.iter()
                .map(|r| r[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for cells in &rows {
        let mut line = String::new();
        for (col, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[col] - cell.chars().count());
            // Names align left, numbers right, so decimal points line up in each column.
            line += &if col == 0 {
                format!("{cell}{pad}")
            } else {
                format!("  {pad}{cell}")
            };
        }
        out += line.trim_end();
        out.push('\n');
    }
    for note in &r.notes {
        out += &format!("note: {note}\n");
    }
    out
}

fn fixed(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

fn optional(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".to_owned(), |x| fixed(x, digits))
}

fn interval(ci: Option<(f64, f64)>, digits: usize) -> String {
    ci.map_or_else(
        || "-".to_owned(),
        |(lo, hi)| format!("[{lo:.digits$}, {hi:.digits$}]"),
    )
}
