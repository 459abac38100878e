//! Alerts as Telegram HTML: a bold title, the key facts of the kind in a few lines, the estimate
//! caveat for heatmap facts and the alert id; and the split of long texts to Telegram's limit.
//! Pure string building. Every interpolated value goes through [`escape_html`], and every tag
//! opens and closes on one line, so a split at a line boundary always leaves valid HTML.

use crate::notify::escape_html;
use serde_json::Value;

use crate::model::{Alert, AlertKind, format_utc};
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
    let f = &alert.facts;
    let mut lines = vec![format!("<b>{}</b>", esc(&alert.title))];
    let interval = alert.interval.map_or(String::new(), |i| format!(" · {i}"));
    lines.push(format!(
        "{}{} · {} UTC",
        esc(alert.symbol.as_str()),
        interval,
        format_utc(alert.time_ms)
    ));
    lines.push(String::new());
    match alert.kind {
        AlertKind::ClusterApproach | AlertKind::ClusterEdge | AlertKind::ClusterSwept => {
            cluster_lines(alert.kind, f, &mut lines);
        }
        AlertKind::SetupEntry => setup_lines(f, &mut lines),
        AlertKind::DivergenceExit => exit_lines(alert, f, &mut lines),
        AlertKind::RegimeChange => {
            let from = text(f, &["from"]).unwrap_or("?");
            let to = text(f, &["to"]).unwrap_or("?");
            lines.push(format!("Regime: {} → <b>{}</b>", esc(from), esc(to)));
            lines.push(rsi_close(f));
        }
        AlertKind::MidlineCross => {
            let direction = text(f, &["direction"]).unwrap_or("?");
            let against = text(f, &["against"]).unwrap_or("?");
            lines.push(format!(
                "RSI crossed <b>{} 50</b> against the {} wave",
                esc(direction),
                esc(against)
            ));
            lines.push(rsi_close(f));
        }
        AlertKind::Divergence => {
            let kind = text(f, &["divergence"]).map_or("?".to_owned(), divergence_name);
            lines.push(format!("<b>{}</b> divergence", esc(&kind)));
            lines.push(pivots_line(f));
            if let Some(regime) = text(f, &["regime"]) {
                lines.push(format!("Regime: {}", esc(regime)));
            }
            lines.push(rsi_close(f));
        }
        AlertKind::DailySummary => generic_lines(f, &mut lines),
    }
    if f.get("converged").and_then(Value::as_bool) == Some(false) {
        let bars = num(f, &["bars"]).map_or(String::new(), |b| format!(" ({b} bars)"));
        lines.push(format!(
            "<i>RSI still warming up{bars}: values may shift a little.</i>"
        ));
    }
    if let Some(caveat) = estimate_caveat(f) {
        lines.push(caveat);
    }
    lines.push(String::new());
    lines.push(format!("<i>id</i> <code>{}</code>", esc(alert.id.as_str())));
    lines.join("\n")
}

fn cluster_lines(kind: AlertKind, f: &Value, lines: &mut Vec<String>) {
    let c = f.get("cluster").unwrap_or(&Value::Null);
    let side = text(c, &["side"]);
    let label = text(f, &["label"]).unwrap_or("?");
    let meaning = match label {
        "fuel" => "in the wave's direction",
        "magnet" => "against the wave",
        _ => "",
    };
    let place = match side {
        Some("short") => "short liquidations above price",
        Some("long") => "long liquidations below price",
        _ => "liquidations",
    };
    lines.push(format!(
        "<b>{}</b> ({meaning}): {place}",
        esc(&capitalise(label))
    ));
    let mut zone = format!("Cluster: {}", range(c));
    if let Some(peak) = num(c, &["peak"]) {
        zone.push_str(&format!(" (peak {})", price(peak)));
    }
    lines.push(zone);
    lines.push(format!("Notional: {}", size_line(c)));
    if let Some(at) = num(f, &["price"]) {
        lines.push(format!("Price: {} · {}", price(at), distance(at, c)));
    }
    if kind == AlertKind::ClusterSwept {
        match f.get("next_cluster").filter(|n| n.is_object()) {
            Some(n) => lines.push(format!(
                "Next: {} (~{} est.)",
                range(n),
                num(n, &["notional_usd"]).map_or("?".into(), usd)
            )),
            None => lines.push("Next: none in the window".into()),
        }
    }
    lines.extend(bias_line(f));
    lines.push(funding_line(f));
}

fn setup_lines(f: &Value, lines: &mut Vec<String>) {
    let setup = text(f, &["setup"]).unwrap_or("?");
    let direction = text(f, &["direction"]).unwrap_or("?");
    let mut head = format!("<b>Setup {} {}</b>", esc(setup), esc(direction));
    if let Some(rsi) = num(f, &["rsi"]) {
        head.push_str(&format!(" · RSI {rsi:.1}"));
    }
    lines.push(head);
    let mut stop = format!(
        "Entry <b>{}</b> · Stop <b>{}</b>",
        opt_price(f, &["entry"]),
        opt_price(f, &["stop"])
    );
    if let Some(risk) = num(f, &["risk_pct"]) {
        stop.push_str(&format!(" (risk {risk:.2} %)"));
    }
    lines.push(stop);
    lines.push(format!(
        "T1 <b>{}</b> · T2 {}",
        opt_price(f, &["t1"]),
        opt_price(f, &["t2"])
    ));
    if let Some(rr) = num(f, &["reward_risk"]) {
        lines.push(format!("R:R <b>{rr:.1}</b> after fees"));
    }
    if let Some(Value::Object(checks)) = f.get("checklist") {
        lines.push("Checklist:".into());
        // The known items in reading order, then any the rules add later.
        let known = CHECKLIST.iter().map(|(k, _)| *k);
        let extra = checks
            .keys()
            .map(String::as_str)
            .filter(|k| !CHECKLIST.iter().any(|(c, _)| c == k));
        for key in known.chain(extra.collect::<Vec<_>>()) {
            let Some(ok) = checks.get(key).map(|v| v.as_bool() == Some(true)) else {
                continue;
            };
            let label = CHECKLIST.iter().find(|(k, _)| *k == key).map_or_else(
                || capitalise(&key.replace('_', " ")),
                |(_, l)| (*l).to_owned(),
            );
            lines.push(format!("{} {}", if ok { "✅" } else { "❌" }, esc(&label)));
        }
    }
    lines.push(funding_line(f));
    if let Some(c) = f.get("cluster").filter(|c| c.is_object()) {
        lines.push(format!("Target: {}", cluster_summary(c)));
    }
    lines.extend(bias_line(f));
}

const CHECKLIST: [(&str, &str); 7] = [
    ("regime_clear", "Regime clear"),
    (
        "cluster_in_wave_direction",
        "Fuel cluster in the wave's direction",
    ),
    ("thin_approach", "Thin approach"),
    ("trigger_4h", "4h entry trigger"),
    ("funding_confirms", "Funding confirms"),
    ("invalidation_level", "Invalidation level (swing stop)"),
    ("reward_risk_ok", "R:R ≥ 2 after fees"),
];

fn exit_lines(alert: &Alert, f: &Value, lines: &mut Vec<String>) {
    let trade = match text(f, &["bias", "wave"]) {
        Some("bull") => "long",
        Some("bear") => "short",
        _ => "position",
    };
    let kind = text(f, &["divergence"]).map_or("?".to_owned(), divergence_name);
    let tf = alert.interval.map_or(String::new(), |i| format!(" on {i}"));
    lines.push(format!(
        "<b>Exit {trade}</b>: {} divergence{tf}",
        esc(&kind)
    ));
    lines.push(pivots_line(f));
    lines.push(rsi_close(f));
    if let Some(c) = f.get("cluster").filter(|c| c.is_object()) {
        lines.push(format!("Fuel cluster: {}", cluster_summary(c)));
    }
    if let Some(t) = num(f, &["touched_ms"]) {
        lines.push(format!("Reached: {} UTC", format_utc(t as i64)));
    }
    lines.extend(bias_line(f));
    lines.push(funding_line(f));
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

/// The caveat every heatmap-derived alert carries: the levels are a model's estimate.
fn estimate_caveat(f: &Value) -> Option<String> {
    let model = f.get("model").filter(|m| m.is_object());
    let estimate = model
        .and_then(|m| m.get("estimate"))
        .and_then(Value::as_bool)
        == Some(true);
    if !estimate && !f.get("cluster").is_some_and(Value::is_object) {
        return None;
    }
    let mut how = String::new();
    if let Some(m) = model {
        let mode = text(m, &["mode"]).unwrap_or("unknown");
        let coverage =
            num(m, &["coverage"]).map_or("n/a".into(), |c| format!("{:.0} %", 100.0 * c));
        how = format!(" (mode {}, coverage {})", esc(mode), coverage);
    }
    Some(format!(
        "<i>Estimate: liquidation levels come from the heatmap model{how}, not from exchange data.</i>"
    ))
}

fn rsi_close(f: &Value) -> String {
    let rsi = num(f, &["rsi"]).map_or("?".into(), |r| format!("{r:.1}"));
    format!("RSI <b>{rsi}</b> · close {}", opt_price(f, &["close"]))
}

/// Both divergence pivots: when, their RSI, and the price extreme the divergence compares.
fn pivots_line(f: &Value) -> String {
    let bull = text(f, &["divergence"]).is_some_and(|d| d.ends_with("bull"));
    let extreme = if bull { "low" } else { "high" };
    let pivot = |prefix: &str| {
        let at = num(f, &[&format!("{prefix}pivot_open_ms")])
            .map_or("?".into(), |t| format_utc(t as i64));
        let rsi =
            num(f, &[&format!("{prefix}pivot_rsi")]).map_or("?".into(), |r| format!("{r:.1}"));
        let mut s = format!("{at} RSI {rsi}");
        if let Some(p) = num(f, &[&format!("{prefix}pivot_{extreme}")]) {
            s.push_str(&format!(" ({extreme} {})", price(p)));
        }
        s
    };
    format!("Pivots: {} → {}", pivot("prev_"), pivot(""))
}

fn divergence_name(kind: &str) -> String {
    match kind {
        "regular_bull" => "regular bullish".into(),
        "regular_bear" => "regular bearish".into(),
        "hidden_bull" => "hidden bullish".into(),
        "hidden_bear" => "hidden bearish".into(),
        other => other.replace('_', " "),
    }
}

fn bias_line(f: &Value) -> Option<String> {
    let b = f.get("bias").filter(|b| b.is_object())?;
    let wave = text(b, &["wave"]).unwrap_or("?");
    let mut s = format!("Bias: {} wave", esc(wave));
    let detail: Vec<String> = [
        text(b, &["timeframe"]).map(|t| {
            format!(
                "{} regime {}",
                esc(t),
                esc(text(b, &["regime"]).unwrap_or("?"))
            )
        }),
        text(b, &["higher_regime"]).map(|h| format!("higher {}", esc(h))),
        text(b, &["conviction"]).map(|c| format!("{} conviction", esc(c))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !detail.is_empty() {
        s.push_str(&format!(" ({})", detail.join(", ")));
    }
    Some(s)
}

fn funding_line(f: &Value) -> String {
    let fu = f.get("funding").unwrap_or(&Value::Null);
    let Some(rate) = num(fu, &["rate"]) else {
        return "Funding: no data".into();
    };
    let crowded = match text(fu, &["crowded"]) {
        Some("longs") => "longs crowded".to_owned(),
        Some("shorts") => "shorts crowded".to_owned(),
        Some(other) => esc(other),
        None => "?".to_owned(),
    };
    let confirms = if fu.get("confirms").and_then(Value::as_bool) == Some(true) {
        "confirms the wave"
    } else {
        "does not confirm"
    };
    format!("Funding: {:+.4} % · {crowded} · {confirms}", 100.0 * rate)
}

/// `long-liquidation cluster 1,813.9–1,819.4 · ~$14.7M est. · density 3.1`
fn cluster_summary(c: &Value) -> String {
    let side = text(c, &["side"]).map_or(String::new(), |s| format!("{}-liquidation ", esc(s)));
    format!("{side}cluster {} · {}", range(c), size_line(c))
}

/// `~$106M est. · density 3.9 · share 29 %`
fn size_line(c: &Value) -> String {
    let mut s = format!(
        "~{} est.",
        num(c, &["notional_usd"]).map_or("?".into(), usd)
    );
    if let Some(d) = num(c, &["density"]) {
        s.push_str(&format!(" · density {d:.1}"));
    }
    if let Some(share) = num(c, &["share"]) {
        s.push_str(&format!(" · share {:.0} %", 100.0 * share));
    }
    s
}

fn range(c: &Value) -> String {
    match (num(c, &["near_edge"]), num(c, &["far_edge"])) {
        (Some(a), Some(b)) => format!("{}–{}", price(a.min(b)), price(a.max(b))),
        _ => "?".into(),
    }
}

/// Where `at` stands against the cluster: short pools lie above price, long pools below.
fn distance(at: f64, c: &Value) -> String {
    let (Some(near), Some(far)) = (num(c, &["near_edge"]), num(c, &["far_edge"])) else {
        return "distance ?".into();
    };
    let above = far >= near;
    let (before, beyond) = if above {
        (at < near, at > far)
    } else {
        (at > near, at < far)
    };
    if before && at != 0.0 {
        format!("{:.2} % from the near edge", 100.0 * (near - at).abs() / at)
    } else if beyond {
        "beyond the far edge".into()
    } else {
        "inside the cluster".into()
    }
}

fn opt_price(f: &Value, path: &[&str]) -> String {
    num(f, path).map_or("—".into(), price)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(c).collect()
    })
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    get(v, path)
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
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
