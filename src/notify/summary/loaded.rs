//! The summary's "Cascades loading" section: the pairs whose cascade-loading score is highest,
//! with the signals that are on. Reads the score the views carry; never computes a signal nor
//! says more than the score does (unknown signals are left out, not counted as off).

use super::doc::{Line, Section, Table, cell, col, num};
use crate::model::Reading;
use crate::view::{PairView, SummaryReport};

/// Pairs listed at most.
const LOADED_ROWS: usize = 10;

/// The most loaded pairs (signals on over known, then more known first), at least one on.
pub(super) fn loaded(report: &SummaryReport) -> Section {
    let mut s = Section::new("Cascades loading");
    let mut scored: Vec<(&PairView, f64, usize)> = (report.market.pairs.iter())
        .filter_map(|p| {
            let score = p.loading.as_ref()?;
            (score.on() > 0).then(|| (p, score.fraction(), score.known()))
        })
        .collect();
    if scored.is_empty() {
        s.lead.push(Line::plain("No pair has a loading signal on."));
        return s;
    }
    scored.sort_by(|a, b| {
        (b.1.total_cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then_with(|| a.0.symbol.cmp(&b.0.symbol))
    });
    s.lead.push(Line::plain(
        "Signals on over signals known, highest first; a signal without its data is unknown and \
         not counted. Each pair's full reading is in /pair.",
    ));
    let rows = (scored.iter().take(LOADED_ROWS))
        .map(|(p, _, _)| {
            let score = p.loading.as_ref().expect("filtered on a score");
            let on: Vec<&str> = (score.signals.iter())
                .filter(|r| r.reading == Reading::On)
                .map(|r| r.signal.label())
                .collect();
            vec![
                cell(p.symbol.as_str()),
                cell(score.ratio()),
                cell(on.join(" · ")),
            ]
        })
        .collect();
    s.table = Some(Table {
        head: vec![col("pair"), num("score"), col("on")],
        rows,
        in_html: true,
    });
    if scored.len() > LOADED_ROWS {
        s.notes.push(Line::muted(format!(
            "{} more with a signal on, not listed.",
            scored.len() - LOADED_ROWS
        )));
    }
    s
}
