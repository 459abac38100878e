//! What goes out for one text: the messages of a text alone, or a photo whose caption carries the
//! text's head with the rest following as messages; and the digest of many alerts of one bar as
//! one text. Pure string building; never sends, never draws the chart.

use super::api::Outgoing;
use super::render::{esc, split_message};
use crate::model::{Alert, AlertKind, Severity, format_utc};

/// Telegram's limit on a photo caption, counted like [`super::MAX_MESSAGE_LEN`].
pub const MAX_CAPTION_LEN: usize = 1024;

/// `html` as messages within [`super::MAX_MESSAGE_LEN`].
pub(super) fn text_only(html: &str) -> Vec<Outgoing> {
    split_message(html, super::MAX_MESSAGE_LEN)
        .into_iter()
        .map(Outgoing::Text)
        .collect()
}

/// `png` with as many whole lines of `html` as fit in a caption, then the rest as messages.
pub(super) fn with_photo(html: &str, png: Vec<u8>) -> Vec<Outgoing> {
    let (caption, rest) = caption_split(html);
    let mut out = vec![Outgoing::Photo {
        png,
        caption: caption.to_owned(),
    }];
    out.extend(text_only(rest));
    out
}

/// `html` cut into a caption of the whole lines that fit in [`MAX_CAPTION_LEN`] and the rest.
/// A first line too long for a caption leaves the caption empty: a cut inside a line could
/// split a tag, and Telegram refuses unbalanced HTML.
pub fn caption_split(html: &str) -> (&str, &str) {
    let mut cut = 0;
    let mut units = 0;
    let mut start = 0;
    for line in html.split('\n') {
        let len = line.encode_utf16().count() + usize::from(start > 0);
        if units + len > MAX_CAPTION_LEN {
            break;
        }
        units += len;
        cut = start + line.len();
        start = cut + 1;
    }
    let (caption, rest) = html.split_at(cut);
    (caption.trim_end(), rest.trim_start_matches('\n'))
}

/// The alerts of one bar as one HTML text: a header with their number and time, then one section
/// per kind (in the order the kinds first appear) with a line per alert in queue order.
pub fn render_digest(alerts: &[Alert]) -> String {
    let Some(head) = alerts.first() else {
        return String::new();
    };
    let interval = head
        .interval
        .filter(|i| alerts.iter().all(|a| a.interval == Some(*i)));
    let when = format_utc(head.time_ms);
    let mut lines = vec![match interval {
        Some(i) => format!(
            "<b>{} alerts on the {i} bar closed {when} UTC</b>",
            alerts.len()
        ),
        None => format!("<b>{} alerts at {when} UTC</b>", alerts.len()),
    }];
    let mut kinds: Vec<AlertKind> = Vec::new();
    for alert in alerts {
        if !kinds.contains(&alert.kind()) {
            kinds.push(alert.kind());
        }
    }
    for kind in kinds {
        let of_kind: Vec<&Alert> = alerts.iter().filter(|a| a.kind() == kind).collect();
        lines.push(String::new());
        lines.push(format!("<b>{}</b> ({})", kind_heading(kind), of_kind.len()));
        for alert in of_kind {
            let tf = match (interval, alert.interval) {
                (None, Some(i)) => format!(" {i}"),
                _ => String::new(),
            };
            // Titles open with the symbol, which the line already shows in bold.
            let symbol = alert.symbol.as_str();
            let title = alert.title.strip_prefix(symbol).unwrap_or(&alert.title);
            lines.push(format!(
                "• <b>{}</b>{tf} · {}",
                esc(symbol),
                esc(title.trim_start())
            ));
        }
    }
    lines.push(String::new());
    lines.push("<i>Details of a pair: /pair SYMBOL</i>".to_owned());
    lines.join("\n")
}

/// A digest rings only when one of its alerts would.
pub(super) fn digest_is_silent(alerts: &[Alert]) -> bool {
    alerts.iter().all(|a| a.severity == Severity::Info)
}

fn kind_heading(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::RegimeChange => "Regime changes",
        AlertKind::MidlineCross => "Midline crosses",
        AlertKind::Divergence => "Divergences",
        AlertKind::ClusterApproach => "Cluster approaches",
        AlertKind::ClusterEdge => "Cluster edges reached",
        AlertKind::ClusterSwept => "Clusters swept",
        AlertKind::SetupEntry => "Setups",
        AlertKind::DivergenceExit => "Divergence exits",
        AlertKind::DailySummary => "Daily summaries",
        AlertKind::Ignition => "Ignitions",
        AlertKind::SecondLeg => "Second legs",
        AlertKind::SweepReversal => "Sweep reversals",
        AlertKind::CascadeLoading => "Cascades loading",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lines` lines of `width` characters each, `\n`-joined.
    fn text(lines: usize, width: usize) -> String {
        (0..lines)
            .map(|i| format!("{i:03}{}", "x".repeat(width - 3)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_caption_takes_whole_lines_and_the_rest_follows() {
        let accents = vec!["é".repeat(100); 20].join("\n");
        // (text, caption bytes, rest bytes)
        #[rustfmt::skip]
        let cases: Vec<(String, usize, usize)> = vec![
            (text(3, 100), 302, 0),                                 // fits whole
            (text(20, 100), 10 * 101 - 1, 10 * 101 - 1),            // ten lines and the rest
            (accents, 10 * 201 - 1, 10 * 201 - 1),                  // counted in UTF-16, not bytes
            (format!("{}\nnext", "y".repeat(1500)), 0, 1505),       // a first line too long
            (format!("<b>{}</b>\nz", "a ".repeat(600)), 0, 1209),   // never cut inside a tag
        ];
        for (html, caption_len, rest_len) in cases {
            let (caption, rest) = caption_split(&html);
            assert_eq!(
                (caption.len(), rest.len()),
                (caption_len, rest_len),
                "{html:.40}"
            );
            assert!(caption.encode_utf16().count() <= MAX_CAPTION_LEN);
            let lines = |t: &str| t.lines().filter(|l| !l.is_empty()).count();
            assert_eq!(lines(caption) + lines(rest), lines(&html), "nothing lost");
        }
    }

    #[test]
    fn a_photo_plan_is_the_photo_then_the_rest() {
        let plan = with_photo(&text(20, 100), vec![1, 2]);
        assert_eq!(plan.len(), 2);
        assert!(plan[0].is_photo());
        assert!(matches!(&plan[1], Outgoing::Text(t) if t.starts_with("010x")));
        assert_eq!(with_photo("short", vec![1]).len(), 1);
    }
}
