//! The backtest report as Markdown (`report.md`, and the console without `--json`): per period the
//! setups, the levels and the signals beside their baselines, the alert volume, and what every
//! column means. Formatting only; never recomputes a number.

use std::fmt::Write;

use super::stats::{Diff, Mean, Rate};
use super::{PeriodReport, Report};
use crate::model::format_utc;

/// The whole report.
pub fn render_markdown(r: &Report) -> String {
    let mut out = String::from("# liqwave backtest\n\n");
    let o = &r.options;
    let _infallible = writeln!(
        out,
        "Every alert of the replay scored on the bars after it: setups walked to their stop, T1 \
         or {} days; cluster approaches and edges followed for {} h (swept: far edge reached; \
         rejected: back beyond the near edge by 1 × ATR1h first); signals by their forward \
         return. Baselines come from the same bars (seed {:#x}, {} random draws per alert).\n",
        o.horizons.trade_ms / 86_400_000,
        o.horizons.level_ms / 3_600_000,
        o.seed,
        o.random_per_alert
    );
    out += "| pair | first bar | last bar | daily bias known from |\n|---|---|---|---|\n";
    for p in &r.summary.pairs {
        let _infallible = writeln!(
            out,
            "| {} | {} | {} | {} |",
            p.symbol,
            format_utc(p.first_ms),
            format_utc(p.last_ms),
            p.bias_known_ms.map_or("never".to_owned(), format_utc)
        );
    }
    out += "\nBefore its bias is known a pair raises no cluster, setup or exit alert: those months \
            are not \"no signal\", they are not measured.\n";
    for p in &r.summary.periods {
        period(&mut out, p);
    }
    if !r.track_record.lines.is_empty() {
        let _infallible = writeln!(
            out,
            "\n## Track record quoted in alerts\n\n({})\n",
            r.track_record.source
        );
        for l in &r.track_record.lines {
            let _infallible = writeln!(out, "- {}", l.text);
        }
    }
    out += LEGEND;
    out
}

fn period(out: &mut String, p: &PeriodReport) {
    let _infallible = writeln!(
        out,
        "\n## {}: {} → {}\n\n{:.0} pair-days of data, {:.0} with a known daily bias.\n",
        p.name,
        format_utc(p.from),
        format_utc(p.to),
        p.pair_days,
        p.bias_pair_days
    );
    out.push_str("| kind | alerts | per pair per day |\n|---|---:|---:|\n");
    for (kind, n) in &p.counts {
        let rate = p.volume.per_pair_day.get(kind).copied().unwrap_or(0.0);
        let _infallible = writeln!(out, "| {kind} | {n} | {rate:.3} |");
    }
    let s = &p.setups;
    let _infallible = writeln!(
        out,
        "\n### Setups ({} scored, {} without an outcome)\n",
        s.n, s.unscored
    );
    out.push_str("| | n | mean R [95 %] | stop | T1 | T2 | timeout | wins |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|\n");
    let rate = |k: &str| s.outcomes.get(k).map_or("-".to_owned(), pct);
    let _infallible = writeln!(
        out,
        "| setup_entry | {} | {} | {} | {} | {} | {} | {} |",
        s.n,
        mean(&s.mean_r, 2),
        rate("stop"),
        rate("t1"),
        rate("t2"),
        rate("timeout"),
        pct(&s.wins)
    );
    for (name, b) in [
        ("bare 4h trigger", &s.trigger_only),
        (
            "4h trigger in the wave (no fuel filter)",
            &s.trigger_in_wave,
        ),
        ("random times, same geometry", &s.random_time),
    ] {
        let _infallible = writeln!(
            out,
            "| {name} | {} | {} | | {} | | | |",
            b.n,
            mean(&b.mean_r, 2),
            pct(&b.t1_rate)
        );
    }
    let _infallible = writeln!(
        out,
        "\nSetups minus the bare trigger: {}; minus the trigger in the wave: {}; minus random \
         times: {}. Mean MFE {} R, MAE {} R, median {} h to the outcome.",
        diff(s.trigger_only.gain_r.as_ref(), " R", 2),
        diff(s.trigger_in_wave.gain_r.as_ref(), " R", 2),
        diff(s.random_time.gain_r.as_ref(), " R", 2),
        s.mean_mfe_r.map_or("-".to_owned(), |x| format!("{x:.2}")),
        s.mean_mae_r.map_or("-".to_owned(), |x| format!("{x:.2}")),
        s.median_hours.map_or("-".to_owned(), |x| format!("{x:.0}"))
    );
    plays(out, p);
    out.push_str("\n### Cluster approaches and edges (24 h)\n\n");
    out.push_str(
        "| kind | label | n | swept | rejected | neither | plain levels swept | gain | ladder swept | gain |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|---:|---|\n");
    for l in &p.levels {
        let _infallible = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} (n {}) | {} | {} (n {}) | {} |",
            l.kind,
            l.label.as_str(),
            l.n,
            pct(&l.swept),
            pct(&l.rejected),
            pct(&l.neither),
            pct(&l.random_bands.swept),
            l.random_bands.n,
            diff(l.random_bands.swept_gain.as_ref(), "", 2),
            pct(&l.ladder.swept),
            l.ladder.n,
            diff(l.ladder.swept_gain.as_ref(), "", 2),
        );
    }
    out.push_str("\n### Signals: forward return in the alert's direction, %\n\n");
    out.push_str("| kind | n | days | mean [95 %] | any day | gain [95 %] |\n");
    out.push_str("|---|---:|---:|---|---:|---|\n");
    for sig in &p.signals {
        for h in &sig.horizons {
            let _infallible = writeln!(
                out,
                "| {} | {} | {} | {} | {:+.2} | {} |",
                sig.kind,
                h.mean_pct.n,
                h.days,
                mean(&h.mean_pct, 2),
                h.baseline_pct,
                mean(&h.gain_pct, 2)
            );
        }
    }
    out.push_str("\n### Per pair\n\n");
    out.push_str(
        "| pair | alerts | setups | mean R | fuel edges swept | magnet edges swept | signals | 7-day return in their direction, % |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &p.per_symbol {
        let opt = |x: Option<f64>, d: usize| x.map_or("-".to_owned(), |x| format!("{x:+.d$}"));
        let rate = |r: &Rate| match r.n {
            0 => "-".to_owned(),
            n => format!("{:.0} % of {n}", 100.0 * r.rate),
        };
        let _infallible = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.symbol,
            r.alerts,
            r.setups,
            opt(r.setup_mean_r, 2),
            rate(&r.fuel_edges),
            rate(&r.magnet_edges),
            r.signals,
            opt(r.signal_7d_pct, 2)
        );
    }
    let v = &p.volume;
    let _infallible = writeln!(
        out,
        "\n### Alert volume at {} pairs (default routes; Telegram digests count as one)\n",
        v.pairs
    );
    out.push_str("| sink | alerts per day | messages per day |\n|---|---:|---:|\n");
    for s in &v.sinks {
        let _infallible = writeln!(
            out,
            "| {} | {:.0} | {:.0} |",
            s.sink, s.alerts_per_day, s.messages_per_day
        );
    }
}

/// Second legs and sweep reversals, each beside its own geometry at random times.
fn plays(out: &mut String, p: &PeriodReport) {
    out.push_str("\n### Playbook trades: second legs and sweep reversals\n\n");
    if p.plays.is_empty() {
        out.push_str("None in this period.\n");
        return;
    }
    out.push_str("| kind | n | mean R [95 %] | stop | T1 | T2 | timeout | wins | random times: n, mean R | gain |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---|---|\n");
    for play in &p.plays {
        let rate = |k: &str| play.outcomes.get(k).map_or("-".to_owned(), pct);
        let b = &play.random_time;
        let _infallible = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}, {} | {} |",
            play.kind,
            play.n,
            mean(&play.mean_r, 2),
            rate("stop"),
            rate("t1"),
            rate("t2"),
            rate("timeout"),
            pct(&play.wins),
            b.n,
            mean(&b.mean_r, 2),
            diff(b.gain_r.as_ref(), " R", 2),
        );
    }
}

fn pct(r: &Rate) -> String {
    format!(
        "{:.0} % [{:.0}–{:.0}]",
        100.0 * r.rate,
        100.0 * r.ci95.0,
        100.0 * r.ci95.1
    )
}

fn mean(m: &Mean, digits: usize) -> String {
    match m.ci95 {
        Some((lo, hi)) => format!("{:+.digits$} [{lo:+.digits$}, {hi:+.digits$}]", m.mean),
        None if m.n == 0 => "-".to_owned(),
        None => format!("{:+.digits$}", m.mean),
    }
}

/// A difference as text, for the report tables.
fn diff(d: Option<&Diff>, unit: &str, digits: usize) -> String {
    match d {
        Some(Diff {
            value,
            ci95: Some((lo, hi)),
        }) => format!("{value:+.digits$}{unit} [{lo:+.digits$}, {hi:+.digits$}]"),
        Some(d) => format!("{:+.digits$}{unit}", d.value),
        None => "-".to_owned(),
    }
}

const LEGEND: &str = "
## How to read this

- Rates carry Wilson 95 % intervals; means and gains carry 95 % bootstrap intervals that resample
  whole UTC days (alerts of one day share one market). A gain whose interval lies above 0 beats
  its baseline beyond resampling noise; one that spans 0 does not.
- R: one R is the loss at the stop, fees included, so a stopped trade is −1 R and a T1 exit is the
  setup's reward:risk. A bar that touches the stop and a target counts as the stop. T2 means T1
  was reached first and then T2 before the stop (the trade is still booked at T1).
- Bare 4h trigger: every entry trigger of the setup timeframe, with no bias or fuel filter, stopped
  at the same swing rule, target at the minimum reward:risk; in the wave: only those whose daily
  wave agreed (the setup's bias filter without its fuel filter). Random times: each setup's direction,
  stop and targets (as fractions of the entry) entered at random bar closes of the same pair and
  period.
- Plain levels: a band of the alert's size and distance from price at random times of the same
  pair and period, with that time's ATR. Ladder: each UTC day's midnight close anchors the static
  leverage ladder's liquidation levels (the model's tiers, ±its smear); the first touch of a
  band's near edge that day is scored like an alert.
- Any day: the mean return in the alert's direction from every UTC midnight of the period on the
  alert's own pair; the gain is the paired mean of (alert − any day).
";
