//! Plain-text rendering of a validation report: one metric per row, the model and each baseline
//! as columns, intervals beside their estimates, and the pooled report with one line per symbol
//! and the meaning of every empty cell in words. Formatting only; never recomputes a number.

use super::{BandSource, BaselineKind, BootstrapUnit, Score, ValidationReport};

/// The pooled report first (every symbol as one sample), then one line per symbol, then what
/// the cells mean.
pub fn render_pooled(pooled: &ValidationReport, symbols: &[(&str, &ValidationReport)]) -> String {
    let bands = match pooled.bands {
        BandSource::Clusters => "the clusters alerts act on".to_owned(),
        BandSource::TopMass { share } => format!(
            "the map's top {:.0} % of window bins by estimated mass",
            100.0 * share
        ),
    };
    let mut out = format!(
        "== All {} symbols pooled; model bands = {bands}\n",
        symbols.len()
    );
    out += &render_table(pooled);
    out += "\n== Per symbol (model vs static ladder; details with --per-symbol)\n";
    let mut rows = vec![
        [
            "symbol",
            "scored",
            "steps",
            "capture",
            "area",
            "lift",
            "ladder",
            "l.area",
            "l.lift",
            "gain 95% CI",
            "reading",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for (name, r) in symbols {
        let ladder = r
            .baselines
            .iter()
            .find(|b| b.kind == BaselineKind::StaticLadder);
        let l = ladder.map(|b| &b.score);
        rows.push(vec![
            (*name).to_owned(),
            r.counts.scored.to_string(),
            r.frames_scored.to_string(),
            fixed(r.model.capture, 3),
            fixed(r.model.area, 3),
            optional(r.model.lift, 2),
            l.map_or("-".to_owned(), |s| fixed(s.capture, 3)),
            l.map_or("-".to_owned(), |s| fixed(s.area, 3)),
            l.map_or("-".to_owned(), |s| optional(s.lift, 2)),
            interval(ladder.and_then(|b| b.lift_gain_ci95), 2),
            reading(r).to_owned(),
        ]);
    }
    out += &align(&rows);
    out += &legend(pooled);
    out
}

/// One symbol's result in words.
fn reading(r: &ValidationReport) -> &'static str {
    let ladder = r
        .baselines
        .iter()
        .find(|b| b.kind == BaselineKind::StaticLadder);
    match (
        r.counts.scored,
        r.model.lift,
        ladder.and_then(|b| b.lift_gain_ci95),
    ) {
        (0, _, _) => "no print could be scored",
        (_, None, _) => "no model band where price went: nothing to judge",
        (_, Some(_), None) => "too few resamples for a comparison",
        (_, Some(_), Some((lo, _))) if lo > 0.0 => "model beats the ladder",
        (_, Some(_), Some((_, hi))) if hi < 0.0 => "ladder beats the model",
        _ => "no difference beyond noise",
    }
}

/// What the columns, the dashes and the zeros mean.
fn legend(r: &ValidationReport) -> String {
    let unit = match r.bootstrap_unit {
        BootstrapUnit::Print => "single prints".to_owned(),
        BootstrapUnit::Step => {
            "5-minute steps (prints judged against one step's maps move together, across symbols)"
                .to_owned()
        }
        BootstrapUnit::Block(ms) => format!("blocks of {} min", ms / 60_000),
    };
    format!(
        "\nHow to read this:\n\
         - capture: share of scored notional inside the bands (widened by {tol} bin(s)); area: the \
         share of the bins price reached that the bands cover, i.e. the capture of bands that know \
         nothing; lift = capture / area (1 = no information).\n\
         - Every baseline gets the model's number of bins on each side. When the model put no band \
         on a side, no baseline does either, so uniform and time-shuffled show 0 there too.\n\
         - area 0 and lift '-': the bands covered no bin price reached while their map was the \
         freshest, so capture is 0 by construction: the map was not wrong there, it said nothing.\n\
         - capture 0 with area above 0: the bands covered reached bins and no print landed in them.\n\
         - gain 95% CI: model lift minus the baseline's on the same resamples; above 0 = the model \
         wins beyond resampling noise. '-' = not enough resamples where both lifts exist.\n\
         - Intervals resample {unit}. Prints are Binance forceOrder snapshots (at most one per \
         symbol per second): a lower bound in cascades.\n",
        tol = r.tolerance_bins,
    )
}

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
         bin(s); horizon {} min; bootstrap {} × {} unit(s)\n",
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
    out += &align(&rows);
    for note in &r.notes {
        out += &format!("note: {note}\n");
    }
    out
}

/// Rows as fixed-width lines: the first column left-aligned, the rest right-aligned so decimal
/// points line up.
fn align(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|col| {
            rows.iter()
                .map(|r| r[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for cells in rows {
        let mut line = String::new();
        for (col, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[col] - cell.chars().count());
            line += &if col == 0 {
                format!("{cell}{pad}")
            } else {
                format!("  {pad}{cell}")
            };
        }
        out += line.trim_end();
        out.push('\n');
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
