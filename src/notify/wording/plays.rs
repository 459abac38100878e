//! What the playbook's other alerts say: the ignition bar, a second leg's and a reversal's trade,
//! a cascade score signal by signal. Rows like every other kind's; pure string building that
//! must never decide whether an alert is sent.

use super::{NO, Row, YES, bias, cluster_summary, finite, funding, opt_price, utc};
use crate::model::{
    CascadeFacts, EntryDirection, IgnitionFacts, LegChecklist, Reading, SecondLegFacts,
    SweepReversalFacts, TradeLevels,
};

pub(super) fn ignition_rows(f: &IgnitionFacts, rows: &mut Vec<Row>) {
    let way = match f.direction {
        EntryDirection::Long => "up",
        EntryDirection::Short => "down",
    };
    let mut impulse = format!("{way} · range {:.1} ATR", f.range_atr);
    impulse.push_str(&format!(
        " · close at {:.0} % of it",
        100.0 * f.close_position
    ));
    rows.push(Row::new("Impulse", impulse));
    rows.push(Row::new("Bar", bar(f.bar.low, f.bar.high, f.bar.close)));
    let oi = f
        .oi_change_pct
        .and_then(finite)
        .map_or("unknown (no open interest)".into(), |c| {
            format!("{c:+.1} %")
        });
    rows.push(Row::new("OI", oi));
    let into = if f.swept { "swept" } else { "reached" };
    rows.push(Row::new(
        "Cluster",
        format!("{into}: {}", cluster_summary(&f.cluster)),
    ));
    rows.push(Row::new(
        "Next",
        f.next_cluster
            .as_ref()
            .map_or("none in the window".into(), cluster_summary),
    ));
    rows.push(Row::new("Bias", bias(&f.bias)));
}

pub(super) fn second_leg_rows(f: &SecondLegFacts, rows: &mut Vec<Row>) {
    trade_rows(&f.trade, f.counter_trend, rows);
    rows.push(Row::new("Ignition", utc(f.ignition_ms)));
    rows.push(Row::new("Swept", cluster_summary(&f.swept)));
    rows.push(Row::new("Bounce", opt_price(Some(f.bounce))));
    rows.push(Row::new("Target", cluster_summary(&f.target)));
    rows.push(Row {
        label: "Checklist",
        lines: leg_checklist(&f.checklist)
            .into_iter()
            .map(|(ok, item)| format!("{} {item}", if ok { YES } else { NO }))
            .collect(),
    });
    rows.push(Row::new("Bias", bias(&f.bias)));
    rows.push(Row::new("Funding", funding(&f.funding)));
}

pub(super) fn reversal_rows(f: &SweepReversalFacts, rows: &mut Vec<Row>) {
    trade_rows(&f.trade, f.counter_trend, rows);
    rows.push(Row::new(
        "Sweep",
        format!(
            "wick {} beyond the range's {}, closed back inside",
            opt_price(Some(f.wick)),
            opt_price(Some(f.range_level))
        ),
    ));
    let mut swept = cluster_summary(&f.swept);
    if f.convergence {
        swept.push_str(" · leverage convergence");
    }
    rows.push(Row::new("Swept", swept));
    rows.push(Row::new("Target", cluster_summary(&f.target)));
    rows.push(Row::new("Bias", bias(&f.bias)));
    rows.push(Row::new("Funding", funding(&f.funding)));
}

pub(super) fn cascade_rows(f: &CascadeFacts, rows: &mut Vec<Row>) {
    rows.push(Row::new(
        "Score",
        format!(
            "{}/{} signals on (level {:.0} %)",
            f.on,
            f.known,
            100.0 * f.level
        ),
    ));
    rows.push(Row {
        label: "Signals",
        lines: f
            .score
            .signals
            .iter()
            .map(|s| {
                let mark = match s.reading {
                    Reading::On => YES,
                    Reading::Off => NO,
                    Reading::Unknown => "?",
                };
                let value = s
                    .value
                    .and_then(finite)
                    .map_or(String::new(), |v| format!(" ({v:.2})"));
                format!("{mark} {}{value}", s.signal.label())
            })
            .collect(),
    });
    rows.push(Row::new("Pool", cluster_summary(&f.cluster)));
    rows.push(Row::new("Price", opt_price(Some(f.price))));
    rows.push(Row::new("Bias", bias(&f.bias)));
}

fn trade_rows(t: &TradeLevels, counter_trend: bool, rows: &mut Vec<Row>) {
    let mut trade = t.direction.as_str().to_owned();
    if counter_trend {
        trade.push_str(" · counter-trend (against the wave)");
    }
    rows.push(Row::new("Trade", trade));
    rows.push(Row::new("Entry", opt_price(Some(t.entry))));
    let mut stop = opt_price(Some(t.stop));
    if let Some(risk) = finite(t.risk_pct) {
        stop.push_str(&format!(" (risk {risk:.2} %)"));
    }
    rows.push(Row::new("Stop", stop));
    rows.push(Row::new("T1", opt_price(Some(t.t1))));
    rows.push(Row::new("T2", opt_price(t.t2)));
    if let Some(rr) = finite(t.reward_risk) {
        rows.push(Row::new("R:R", format!("{rr:.1} after fees")));
    }
}

fn bar(low: f64, high: f64, close: f64) -> String {
    format!(
        "{}–{} · close {}",
        opt_price(Some(low)),
        opt_price(Some(high)),
        opt_price(Some(close))
    )
}

/// The second leg's checklist with its words.
fn leg_checklist(c: &LegChecklist) -> [(bool, &'static str); 7] {
    [
        (c.first_cluster_swept, "First cluster swept"),
        (c.bounce_held, "Bounce held below the impulse's start"),
        (c.continuation_close, "Continuation close"),
        (c.next_cluster_ahead, "Next cluster ahead"),
        (c.with_the_wave, "With the wave"),
        (c.funding_confirms, "Funding confirms"),
        (c.reward_risk_ok, "R:R at or above the minimum after fees"),
    ]
}
