//! Numbers for people: prices with about five significant digits and grouped thousands, USD
//! estimates with a unit. Pure string building; must never decide what to show (callers do).

/// `v` with `decimals` places and thin-space-free thousands commas: `84,123.5`.
pub fn group(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), ""), |(i, f)| (i, f));
    let mut out = String::with_capacity(text.len() + 4);
    if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A price with about five significant digits: `84,123`, `2,345.6`, `0.52340`.
pub fn price(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    group(v, (4 - magnitude).clamp(0, 10) as usize)
}

/// `$675k`, `$61M`, `$1.2B`: notional estimates are rough, three digits say enough.
pub fn usd(x: f64) -> String {
    let (value, unit) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, "B"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    let digits = if value.abs() >= 100.0 { 0 } else { 1 };
    format!("${value:.digits$}{unit}")
}
