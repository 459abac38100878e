//! What an alert says, in words every channel can lay out: per kind, the facts a person needs as
//! labelled rows (`Entry` → `1,925.4`), and the notes under them (warm-up, estimate caveat). Times
//! are UTC dates, prices have the pair's precision, RSI one decimal, USD `$42.5M`. Plain text, no
//! markup and no escaping: the channel (email today; Telegram can share the phrases) does both.
//! Pure string building; must never decide whether an alert is sent.

mod plays;

use serde_json::Value;

use crate::model::{
    Alert, BiasFacts, Checklist, ClusterFacts, ClusterLabel, Crowding, DivergenceFacts,
    DivergenceKind, ExitFacts, Facts, FundingFacts, LevelFacts, ModelFacts, Regime, SetupFacts,
    Side, TimeMs, format_utc,
};
use crate::numbers::{price, usd};

/// The checklist's marks: text glyphs one column wide that common fonts have (an emoji font is
/// not everywhere a mail is read).
pub const YES: &str = "✓";
pub const NO: &str = "✗";

/// One labelled fact; a value of several lines (a checklist) keeps them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub label: &'static str,
    pub lines: Vec<String>,
}

impl Row {
    fn new(label: &'static str, value: impl Into<String>) -> Row {
        Row {
            label,
            lines: vec![value.into()],
        }
    }
}

/// `ETHUSDT · 4h · 2025-03-18 00:00 UTC`: what, on which timeframe, when.
pub fn dateline(alert: &Alert) -> String {
    let interval = alert.interval.map_or(String::new(), |i| format!(" · {i}"));
    format!("{}{interval} · {}", alert.symbol, utc(alert.time_ms))
}

/// The facts of `alert` as rows, in the order a trader reads them.
pub fn rows(alert: &Alert) -> Vec<Row> {
    let mut rows = Vec::new();
    match &alert.facts {
        Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
            level_rows(f, matches!(alert.facts, Facts::ClusterSwept(_)), &mut rows);
        }
        Facts::SetupEntry(f) => setup_rows(f, &mut rows),
        Facts::DivergenceExit(f) => exit_rows(alert, f, &mut rows),
        Facts::RegimeChange(f) => {
            rows.push(Row::new("Regime", format!("{} → {}", f.from, f.to)));
            rows.push(rsi_row(Some(f.bar.rsi), f.bar.close));
        }
        Facts::MidlineCross(f) => {
            let cross = format!(
                "RSI crossed {} 50 against the {} wave",
                f.direction.as_str(),
                f.against
            );
            rows.push(Row::new("Cross", cross));
            rows.push(rsi_row(Some(f.bar.rsi), f.bar.close));
        }
        Facts::Divergence(f) => divergence_rows(f, &mut rows),
        Facts::DailySummary(f) => generic_rows(f.json(), &mut rows),
        Facts::Ignition(f) => plays::ignition_rows(f, &mut rows),
        Facts::SecondLeg(f) => plays::second_leg_rows(f, &mut rows),
        Facts::SweepReversal(f) => plays::reversal_rows(f, &mut rows),
        Facts::CascadeLoading(f) => plays::cascade_rows(f, &mut rows),
    }
    rows
}

/// The notes under the facts: RSI still warming up, the heatmap estimate caveat.
pub fn notes(alert: &Alert) -> Vec<String> {
    let mut notes = Vec::new();
    if alert.facts.converged() == Some(false) {
        let bars = bars(&alert.facts).map_or(String::new(), |b| format!(" ({b} bars)"));
        notes.push(format!(
            "RSI still warming up{bars}: values may shift a little."
        ));
    }
    notes.extend(estimate_caveat(&alert.facts));
    notes
}

/// `2025-03-14 16:00 UTC`.
pub fn utc(t: TimeMs) -> String {
    format!("{} UTC", format_utc(t))
}

fn level_rows(f: &LevelFacts, swept: bool, rows: &mut Vec<Row>) {
    let c = &f.cluster;
    rows.push(Row::new("Level", level_meaning(f.label, c.side)));
    let mut zone = range(c);
    if let Some(peak) = finite(c.peak) {
        zone.push_str(&format!(" (peak {})", price(peak)));
    }
    rows.push(Row::new("Cluster", zone));
    rows.push(Row::new("Size", size(c)));
    if let Some(at) = finite(f.price) {
        rows.push(Row::new(
            "Price",
            format!("{} · {}", price(at), distance(at, c)),
        ));
    }
    if swept {
        let next = f
            .next_cluster
            .as_ref()
            .map_or("none in the window".into(), |n| {
                let notional = finite(n.notional_usd).map_or("?".into(), usd);
                format!("{} (~{notional} est.)", range(n))
            });
        rows.push(Row::new("Next", next));
    }
    rows.push(Row::new("Bias", bias(&f.bias)));
    rows.push(Row::new("Funding", funding(&f.funding)));
}

fn setup_rows(f: &SetupFacts, rows: &mut Vec<Row>) {
    let mut setup = format!("{} {}", f.setup.as_str(), f.direction.as_str());
    if let Some(rsi) = f.rsi.and_then(finite) {
        setup.push_str(&format!(" · RSI {rsi:.1}"));
    }
    rows.push(Row::new("Setup", setup));
    rows.push(Row::new("Entry", opt_price(Some(f.entry))));
    let mut stop = opt_price(Some(f.stop));
    if let Some(risk) = finite(f.risk_pct) {
        stop.push_str(&format!(" (risk {risk:.2} %)"));
    }
    rows.push(Row::new("Stop", stop));
    rows.push(Row::new("T1", opt_price(Some(f.t1))));
    rows.push(Row::new("T2", opt_price(f.t2)));
    if let Some(rr) = finite(f.reward_risk) {
        rows.push(Row::new("R:R", format!("{rr:.1} after fees")));
    }
    rows.push(Row {
        label: "Checklist",
        lines: checklist(&f.checklist)
            .into_iter()
            .map(|(ok, item)| format!("{} {item}", if ok { YES } else { NO }))
            .collect(),
    });
    rows.push(Row::new("Target", cluster_summary(&f.cluster)));
    rows.push(Row::new("Bias", bias(&f.bias)));
    rows.push(Row::new("Funding", funding(&f.funding)));
}

fn divergence_rows(f: &DivergenceFacts, rows: &mut Vec<Row>) {
    // A bullish divergence compares lows, a bearish one highs.
    let extreme = |low: f64, high: f64| match f.divergence.is_bullish() {
        true => Some(("low", low)),
        false => Some(("high", high)),
    };
    let name = divergence_name(f.divergence);
    rows.push(Row::new("Divergence", name));
    let prev = (f.prev_pivot_open_ms, f.prev_pivot_rsi);
    let prev_extreme = extreme(f.prev_pivot_low, f.prev_pivot_high);
    rows.push(Row::new("Pivot 1", pivot(prev, prev_extreme)));
    let now = (f.pivot_open_ms, f.pivot_rsi);
    rows.push(Row::new(
        "Pivot 2",
        pivot(now, extreme(f.pivot_low, f.pivot_high)),
    ));
    rows.push(Row::new("Regime", f.regime.as_str()));
    rows.push(rsi_row(Some(f.bar.rsi), f.bar.close));
}

/// The trade a divergence exit closes: the wave's direction.
pub fn exited_trade(wave: Regime) -> &'static str {
    match wave {
        Regime::Bull => "long",
        Regime::Bear => "short",
        Regime::Range => "position",
    }
}

fn exit_rows(alert: &Alert, f: &ExitFacts, rows: &mut Vec<Row>) {
    let trade = exited_trade(f.bias.wave);
    let tf = alert.interval.map_or(String::new(), |i| format!(" on {i}"));
    let why = format!("{} divergence{tf}", divergence_name(f.divergence));
    rows.push(Row::new("Exit", format!("{trade}: {why}")));
    // An exit carries no pivot prices: the divergence alert before it has them.
    rows.push(Row::new(
        "Pivot 1",
        pivot((f.prev_pivot_open_ms, f.prev_pivot_rsi), None),
    ));
    rows.push(Row::new(
        "Pivot 2",
        pivot((f.pivot_open_ms, f.pivot_rsi), None),
    ));
    rows.push(rsi_row(f.rsi, f.close));
    rows.push(Row::new("Fuel", cluster_summary(&f.cluster)));
    rows.push(Row::new("Reached", utc(f.touched_ms)));
    rows.push(Row::new("Bias", bias(&f.bias)));
    rows.push(Row::new("Funding", funding(&f.funding)));
}

/// Every fact as a `path: value` row, numbers rounded, for kinds without a layout of their own.
fn generic_rows(facts: &Value, rows: &mut Vec<Row>) {
    let mut lines = Vec::new();
    if !facts.is_null() {
        walk("", facts, &mut lines);
    }
    if !lines.is_empty() {
        rows.push(Row {
            label: "Facts",
            lines,
        });
    }
}

fn walk(path: &str, v: &Value, lines: &mut Vec<String>) {
    let key = |k: &str| match path.is_empty() {
        true => k.to_owned(),
        false => format!("{path}.{k}"),
    };
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| walk(&key(k), v, lines)),
        Value::Array(items) => {
            (items.iter().enumerate()).for_each(|(i, v)| walk(&format!("{path}[{i}]"), v, lines))
        }
        Value::String(s) => lines.push(format!("{path}: {s}")),
        Value::Number(n) => {
            let shown = (n.as_f64().filter(|x| x.fract() != 0.0))
                .map_or(n.to_string(), |x| format!("{}", (x * 1e4).round() / 1e4));
            lines.push(format!("{path}: {shown}"));
        }
        Value::Null => lines.push(format!("{path}: —")),
        Value::Bool(b) => lines.push(format!("{path}: {}", if *b { "yes" } else { "no" })),
    }
}

/// The seven points of the setup checklist with their words.
pub fn checklist(c: &Checklist) -> [(bool, &'static str); 7] {
    [
        (c.regime_clear, "Regime clear"),
        (
            c.cluster_in_wave_direction,
            "Fuel cluster in the wave's direction",
        ),
        (c.thin_approach, "Thin approach"),
        (c.trigger_4h, "4h entry trigger"),
        (c.funding_confirms, "Funding confirms"),
        (c.invalidation_level, "Invalidation level (swing stop)"),
        (c.reward_risk_ok, "R:R ≥ 2 after fees"),
    ]
}

/// `Magnet (against the wave): long liquidations below price`.
pub fn level_meaning(label: ClusterLabel, side: Side) -> String {
    let (label, meaning) = match label {
        ClusterLabel::Fuel => ("Fuel", "in the wave's direction"),
        ClusterLabel::Magnet => ("Magnet", "against the wave"),
    };
    let place = match side {
        Side::Short => "short liquidations above price",
        Side::Long => "long liquidations below price",
    };
    format!("{label} ({meaning}): {place}")
}

/// The bar count a warming-up note names: alerts of a closed bar carry it.
pub fn bars(facts: &Facts) -> Option<u64> {
    match facts {
        Facts::RegimeChange(f) => Some(f.bar.bars),
        Facts::MidlineCross(f) => Some(f.bar.bars),
        Facts::Divergence(f) => Some(f.bar.bars),
        Facts::SetupEntry(f) => Some(f.bars),
        Facts::Ignition(f) => Some(f.bar.bars),
        Facts::SecondLeg(f) => Some(f.bar.bars),
        Facts::SweepReversal(f) => Some(f.bar.bars),
        _ => None,
    }
}

/// The caveat every heatmap-derived alert carries: the levels are a model's estimate, named with
/// its mode and coverage when the alert has them (an exit names only its cluster).
pub fn estimate_caveat(facts: &Facts) -> Option<String> {
    let model: Option<&ModelFacts> = match facts {
        Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
            Some(&f.model)
        }
        Facts::SetupEntry(f) => Some(&f.model),
        Facts::Ignition(f) => Some(&f.model),
        Facts::SecondLeg(f) => Some(&f.model),
        Facts::SweepReversal(f) => Some(&f.model),
        Facts::CascadeLoading(f) => Some(&f.model),
        Facts::DivergenceExit(_) => None,
        _ => return None,
    };
    let how = model.map_or(String::new(), |m| {
        let coverage =
            (m.coverage.and_then(finite)).map_or("n/a".into(), |c| format!("{:.0} %", 100.0 * c));
        format!(" (mode {}, coverage {coverage})", m.mode.as_str())
    });
    Some(format!(
        "Estimate: a cluster is where the heatmap model{how} piles up estimated liquidations, \
         not exchange data; on real Binance prints it has not beaten a plain leverage ladder."
    ))
}

fn rsi_row(rsi: Option<f64>, close: f64) -> Row {
    let rsi = (rsi.and_then(finite)).map_or("?".into(), |r| format!("{r:.1}"));
    Row::new("RSI", format!("{rsi} · close {}", opt_price(Some(close))))
}

/// `2025-03-09 20:00 UTC · RSI 20.9 · low 549.84`.
fn pivot((open_ms, rsi): (TimeMs, f64), extreme: Option<(&str, f64)>) -> String {
    let rsi = finite(rsi).map_or("?".into(), |r| format!("{r:.1}"));
    let mut s = format!("{} · RSI {rsi}", utc(open_ms));
    if let Some((name, at)) = extreme.filter(|(_, at)| at.is_finite()) {
        s.push_str(&format!(" · {name} {}", price(at)));
    }
    s
}

pub fn divergence_name(kind: DivergenceKind) -> &'static str {
    match kind {
        DivergenceKind::RegularBull => "regular bullish",
        DivergenceKind::RegularBear => "regular bearish",
        DivergenceKind::HiddenBull => "hidden bullish",
        DivergenceKind::HiddenBear => "hidden bearish",
    }
}

/// `bear wave (4h regime bear, normal conviction)`.
pub fn bias(b: &BiasFacts) -> String {
    let regime = b.regime.map_or("?", Regime::as_str);
    let mut detail = vec![format!("{} regime {regime}", b.timeframe)];
    detail.extend(b.higher_regime.map(|h| format!("higher {h}")));
    detail.push(format!("{} conviction", b.conviction.as_str()));
    format!("{} wave ({})", b.wave, detail.join(", "))
}

/// `+0.0053 % · neutral · does not confirm`, or `no data`.
pub fn funding(fu: &FundingFacts) -> String {
    let Some(rate) = fu.rate.and_then(finite) else {
        return "no data".into();
    };
    let crowded = match fu.crowded {
        Some(Crowding::Longs) => "longs crowded",
        Some(Crowding::Shorts) => "shorts crowded",
        Some(Crowding::Neutral) => "neutral",
        None => "?",
    };
    let confirms = match fu.confirms {
        true => "confirms the wave",
        false => "does not confirm",
    };
    format!("{:+.4} % · {crowded} · {confirms}", 100.0 * rate)
}

/// `long-liquidation cluster 1,813.9–1,819.4 · ~$14.7M est. · density 3.1 · share 11 %`.
pub fn cluster_summary(c: &ClusterFacts) -> String {
    format!(
        "{}-liquidation cluster {} · {}",
        c.side.as_str(),
        range(c),
        size(c)
    )
}

/// `~$106M est. · density 3.9 · share 29 %`.
pub fn size(c: &ClusterFacts) -> String {
    let mut s = format!("~{} est.", finite(c.notional_usd).map_or("?".into(), usd));
    if let Some(d) = finite(c.density) {
        s.push_str(&format!(" · density {d:.1}"));
    }
    if let Some(share) = finite(c.share) {
        s.push_str(&format!(" · share {:.0} %", 100.0 * share));
    }
    s
}

/// `1,813.9–1,819.4`, low to high.
pub fn range(c: &ClusterFacts) -> String {
    match (finite(c.near_edge), finite(c.far_edge)) {
        (Some(a), Some(b)) => format!("{}–{}", price(a.min(b)), price(a.max(b))),
        _ => "?".into(),
    }
}

/// Where `at` stands against the cluster: short pools lie above price, long pools below.
pub fn distance(at: f64, c: &ClusterFacts) -> String {
    let (Some(near), Some(far)) = (finite(c.near_edge), finite(c.far_edge)) else {
        return "distance ?".into();
    };
    let (before, beyond) = match far >= near {
        true => (at < near, at > far),
        false => (at > near, at < far),
    };
    if before && at != 0.0 {
        format!("{:.2} % from the near edge", 100.0 * (near - at).abs() / at)
    } else if beyond {
        "beyond the far edge".into()
    } else {
        "inside the cluster".into()
    }
}

pub fn opt_price(x: Option<f64>) -> String {
    x.and_then(finite).map_or("—".into(), price)
}

/// A number worth showing: NaN and infinities (which JSON writes as null) show as unknown.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
