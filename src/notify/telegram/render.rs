//! Alerts as Telegram HTML: a bold title, the key facts of the kind in a few lines, the estimate
//! caveat for heatmap facts and the alert id; and the split of long texts to Telegram's limit.
//! Pure string building. Every interpolated value goes through [`escape_html`], and every tag
//! opens and closes on one line, so a split at a line boundary always leaves valid HTML.

use serde_json::Value;

use crate::model::{
    Alert, AlertKind, ClusterLabel, DivergenceFacts, ExitFacts, Facts, LevelFacts, SetupFacts,
    Side, TimeMs, format_utc,
};
use crate::notify::escape_html;
use crate::notify::wording::{
    bars, bias, checklist, cluster_summary, distance, divergence_name, estimate_caveat,
    exited_trade, finite, funding, opt_price, range, rows, size,
};
use crate::numbers::{price, usd};

/// Telegram's limit on one message's text, in UTF-16 code units after entity parsing. We count
/// the raw HTML (tags included), which is never shorter, so a piece within it is always accepted.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// Longest text of one interpolated value; the engine's titles are far shorter. Keeps every
/// line well below [`MAX_MESSAGE_LEN`], so splits fall between lines, never inside a tag.
const MAX_VALUE_CHARS: usize = 1000;

/// `text` escaped, and cut to [`MAX_VALUE_CHARS`] with an ellipsis.
pub(super) fn esc(text: &str) -> String {
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => escape_html(&format!("{}…", &text[..cut])),
        None => escape_html(text),
    }
}

/// The alert as one Telegram HTML text (it may exceed [`MAX_MESSAGE_LEN`]; see [`split_message`]).
pub fn render_html(alert: &Alert) -> String {
    render_html_quoting(alert, None)
}

/// [`render_html`] with the kind's measured `track` record as one line under the estimate caveat.
pub fn render_html_quoting(alert: &Alert, track: Option<&str>) -> String {
    let mut lines = vec![format!("<b>{}</b>", esc(&alert.title))];
    let interval = alert.interval.map_or(String::new(), |i| format!(" · {i}"));
    lines.push(format!(
        "{}{} · {} UTC",
        esc(alert.symbol.as_str()),
        interval,
        format_utc(alert.time_ms)
    ));
    lines.push(String::new());
    match &alert.facts {
        Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
            cluster_lines(alert.kind(), f, &mut lines);
        }
        Facts::SetupEntry(f) => setup_lines(f, &mut lines),
        Facts::DivergenceExit(f) => exit_lines(alert, f, &mut lines),
        Facts::RegimeChange(f) => {
            lines.push(format!("Regime: {} → <b>{}</b>", f.from, f.to));
            lines.push(rsi_close(Some(f.bar.rsi), f.bar.close));
        }
        Facts::MidlineCross(f) => {
            lines.push(format!(
                "RSI crossed <b>{} 50</b> against the {} wave",
                f.direction.as_str(),
                f.against
            ));
            lines.push(rsi_close(Some(f.bar.rsi), f.bar.close));
        }
        Facts::Divergence(f) => divergence_lines(f, &mut lines),
        Facts::DailySummary(f) => generic_lines(f.json(), &mut lines),
        // The playbook's newer kinds say what email says, a row a line.
        Facts::Ignition(_)
        | Facts::SecondLeg(_)
        | Facts::SweepReversal(_)
        | Facts::CascadeLoading(_) => row_lines(alert, &mut lines),
    }
    if alert.facts.converged() == Some(false) {
        let bars = bars(&alert.facts).map_or(String::new(), |b| format!(" ({b} bars)"));
        lines.push(format!(
            "<i>RSI still warming up{bars}: values may shift a little.</i>"
        ));
    }
    lines.extend(estimate_caveat(&alert.facts).map(|c| format!("<i>{c}</i>")));
    if let Some(track) = track {
        lines.push(format!("<i>Track record: {}</i>", esc(track)));
    }
    lines.push(String::new());
    lines.push(format!("<i>id</i> <code>{}</code>", esc(alert.id.as_str())));
    lines.join("\n")
}

/// The kind's rows as `Label: value` lines, a multi-line value indented under its label.
fn row_lines(alert: &Alert, lines: &mut Vec<String>) {
    for row in rows(alert) {
        match row.lines.as_slice() {
            [one] => lines.push(format!("{}: {}", row.label, esc(one))),
            many => {
                lines.push(format!("{}:", row.label));
                lines.extend(many.iter().map(|l| format!("  {}", esc(l))));
            }
        }
    }
}

fn cluster_lines(kind: AlertKind, f: &LevelFacts, lines: &mut Vec<String>) {
    let c = &f.cluster;
    let (label, meaning) = match f.label {
        ClusterLabel::Fuel => ("Fuel", "in the wave's direction"),
        ClusterLabel::Magnet => ("Magnet", "against the wave"),
    };
    let place = match c.side {
        Side::Short => "short liquidations above price",
        Side::Long => "long liquidations below price",
    };
    lines.push(format!("<b>{label}</b> ({meaning}): {place}"));
    let mut zone = format!("Cluster: {}", range(c));
    if let Some(peak) = finite(c.peak) {
        zone.push_str(&format!(" (peak {})", price(peak)));
    }
    lines.push(zone);
    lines.push(format!("Notional: {}", size(c)));
    if let Some(at) = finite(f.price) {
        lines.push(format!("Price: {} · {}", price(at), distance(at, c)));
    }
    if kind == AlertKind::ClusterSwept {
        match &f.next_cluster {
            Some(n) => lines.push(format!(
                "Next: {} (~{} est.)",
                range(n),
                finite(n.notional_usd).map_or("?".into(), usd)
            )),
            None => lines.push("Next: none in the window".into()),
        }
    }
    lines.push(format!("Bias: {}", bias(&f.bias)));
    lines.push(format!("Funding: {}", funding(&f.funding)));
}

fn setup_lines(f: &SetupFacts, lines: &mut Vec<String>) {
    let mut head = format!("<b>Setup {} {}</b>", f.setup.as_str(), f.direction.as_str());
    if let Some(rsi) = f.rsi.and_then(finite) {
        head.push_str(&format!(" · RSI {rsi:.1}"));
    }
    lines.push(head);
    let mut stop = format!(
        "Entry <b>{}</b> · Stop <b>{}</b>",
        opt_price(Some(f.entry)),
        opt_price(Some(f.stop))
    );
    if let Some(risk) = finite(f.risk_pct) {
        stop.push_str(&format!(" (risk {risk:.2} %)"));
    }
    lines.push(stop);
    lines.push(format!(
        "T1 <b>{}</b> · T2 {}",
        opt_price(Some(f.t1)),
        opt_price(f.t2)
    ));
    if let Some(rr) = finite(f.reward_risk) {
        lines.push(format!("R:R <b>{rr:.1}</b> after fees"));
    }
    lines.push("Checklist:".into());
    for (ok, item) in checklist(&f.checklist) {
        lines.push(format!("{} {}", if ok { "✅" } else { "❌" }, esc(item)));
    }
    lines.push(format!("Funding: {}", funding(&f.funding)));
    lines.push(format!("Target: {}", cluster_summary(&f.cluster)));
    lines.push(format!("Bias: {}", bias(&f.bias)));
}

fn divergence_lines(f: &DivergenceFacts, lines: &mut Vec<String>) {
    // A bullish divergence compares lows, a bearish one highs.
    let extreme = |low: f64, high: f64| {
        Some(if f.divergence.is_bullish() {
            ("low", low)
        } else {
            ("high", high)
        })
    };
    lines.push(format!(
        "<b>{}</b> divergence",
        divergence_name(f.divergence)
    ));
    lines.push(pivots_line(
        Pivot {
            open_ms: f.prev_pivot_open_ms,
            rsi: f.prev_pivot_rsi,
            extreme: extreme(f.prev_pivot_low, f.prev_pivot_high),
        },
        Pivot {
            open_ms: f.pivot_open_ms,
            rsi: f.pivot_rsi,
            extreme: extreme(f.pivot_low, f.pivot_high),
        },
    ));
    lines.push(format!("Regime: {}", f.regime));
    lines.push(rsi_close(Some(f.bar.rsi), f.bar.close));
}

fn exit_lines(alert: &Alert, f: &ExitFacts, lines: &mut Vec<String>) {
    let trade = exited_trade(f.bias.wave);
    let tf = alert.interval.map_or(String::new(), |i| format!(" on {i}"));
    lines.push(format!(
        "<b>Exit {trade}</b>: {} divergence{tf}",
        divergence_name(f.divergence)
    ));
    // An exit carries no pivot prices: the divergence alert before it has them.
    lines.push(pivots_line(
        Pivot {
            open_ms: f.prev_pivot_open_ms,
            rsi: f.prev_pivot_rsi,
            extreme: None,
        },
        Pivot {
            open_ms: f.pivot_open_ms,
            rsi: f.pivot_rsi,
            extreme: None,
        },
    ));
    lines.push(rsi_close(f.rsi, f.close));
    lines.push(format!("Fuel cluster: {}", cluster_summary(&f.cluster)));
    lines.push(format!("Reached: {} UTC", format_utc(f.touched_ms)));
    lines.push(format!("Bias: {}", bias(&f.bias)));
    lines.push(format!("Funding: {}", funding(&f.funding)));
}

/// Every fact as a `path: value` line, for kinds without a layout of their own.
fn generic_lines(f: &Value, lines: &mut Vec<String>) {
    fn walk(path: &str, v: &Value, lines: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, v, lines);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, lines);
                }
            }
            Value::String(s) => lines.push(format!("{}: {}", esc(path), esc(s))),
            Value::Number(n) => {
                let shown = n
                    .as_f64()
                    .filter(|x| x.fract() != 0.0)
                    .map_or(n.to_string(), |x| format!("{}", (x * 1e6).round() / 1e6));
                lines.push(format!("{}: {}", esc(path), esc(&shown)));
            }
            other => lines.push(format!("{}: {}", esc(path), esc(&other.to_string()))),
        }
    }
    walk("", f, lines);
}

fn rsi_close(rsi: Option<f64>, close: f64) -> String {
    let rsi = rsi
        .and_then(finite)
        .map_or("?".into(), |r| format!("{r:.1}"));
    format!("RSI <b>{rsi}</b> · close {}", opt_price(Some(close)))
}

/// One divergence pivot as shown: when, its RSI, and the price extreme compared, if carried.
struct Pivot {
    open_ms: TimeMs,
    rsi: f64,
    extreme: Option<(&'static str, f64)>,
}

/// Both divergence pivots, the previous one first.
fn pivots_line(prev: Pivot, pivot: Pivot) -> String {
    let show = |p: Pivot| {
        let rsi = finite(p.rsi).map_or("?".into(), |r| format!("{r:.1}"));
        let mut s = format!("{} RSI {rsi}", format_utc(p.open_ms));
        if let Some((name, at)) = p.extreme.filter(|(_, at)| at.is_finite()) {
            s.push_str(&format!(" ({name} {})", price(at)));
        }
        s
    };
    format!("Pivots: {} → {}", show(prev), show(pivot))
}

/// Splits `text` into pieces of at most `limit` UTF-16 code units, at line boundaries (the
/// newline between two pieces is dropped). A single line longer than `limit` is cut as late as
/// possible outside a tag and an `&…;` entity, preferring a space.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(16);
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split('\n') {
        let mut line = line;
        let mut len = utf16_len(line);
        while len > limit {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
                current_len = 0;
            }
            let cut = cut_point(line, limit);
            pieces.push(line[..cut].to_owned());
            line = &line[cut..];
            len = utf16_len(line);
        }
        let extra = if current.is_empty() { len } else { len + 1 };
        if current_len + extra > limit {
            pieces.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if !current.is_empty() {
            current.push('\n');
            current_len += 1;
        }
        current.push_str(line);
        current_len += len;
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    // Telegram rejects empty texts; a piece of only blank lines carries nothing.
    pieces.retain(|p| !p.trim().is_empty());
    pieces
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// A byte index at which `line` (longer than `limit`) can be cut: within `limit` UTF-16 units,
/// not inside `<…>` or `&…;`, at the last space if there is one in the second half.
fn cut_point(line: &str, limit: usize) -> usize {
    let mut units = 0;
    let mut in_tag = false;
    let mut in_entity = false;
    let mut last_safe = 0;
    let mut last_space = None;
    for (i, c) in line.char_indices() {
        if units + c.len_utf16() > limit {
            break;
        }
        if !in_tag && !in_entity {
            last_safe = i;
            if c == ' ' && units >= limit / 2 {
                last_space = Some(i + 1);
            }
        }
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '&' => in_entity = true,
            ';' => in_entity = false,
            _ => {}
        }
        units += c.len_utf16();
        if !in_tag && !in_entity {
            last_safe = i + c.len_utf8();
        }
    }
    let cut = last_space.unwrap_or(last_safe);
    if cut == 0 {
        // Nothing safe within the limit (a giant tag): cut at the limit anyway.
        line.char_indices()
            .scan(0, |u, (i, c)| {
                *u += c.len_utf16();
                Some((i + c.len_utf8(), *u))
            })
            .take_while(|&(_, u)| u <= limit)
            .last()
            .map_or(line.len(), |(i, _)| i)
    } else {
        cut
    }
}

#[cfg(test)]
mod tests;
