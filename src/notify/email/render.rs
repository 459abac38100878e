//! An alert as the text and HTML parts of a mail: the title, the facts as `key: value` rows, the
//! time, severity and id, and optionally the alert's chart as an inline image. Pure string
//! building; every value in the HTML goes through [`escape_html`]. The daily summary has its own
//! layout (`notify::summary`).

use std::fmt::Write as _;

use crate::model::{Alert, format_utc};
use crate::notify::escape_html;

/// `[liqwave] <title>`, on one line.
pub fn alert_subject(alert: &Alert) -> String {
    format!("[liqwave] {}", alert.title)
}

/// The plain-text body: the title, the facts as `key: value` lines, the kind's measured track
/// record when there is one, then time, severity and the alert id.
pub fn render_text(alert: &Alert, track: Option<&str>) -> String {
    let mut out = format!("{}\n\n", alert.title);
    for (key, value) in facts(alert) {
        let _infallible = writeln!(out, "{key}: {value}");
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    if let Some(track) = track {
        let _infallible = writeln!(out, "Track record: {track}\n");
    }
    for (key, value) in footer(alert) {
        let _infallible = writeln!(out, "{key}: {value}");
    }
    out
}

/// The HTML body: the same content as [`render_text`], the facts as a small table. Every value
/// (title, keys, facts, id) is escaped.
pub fn render_html(alert: &Alert) -> String {
    render_html_with_image(alert, None, None)
}

/// An image the HTML shows inline: `<img src="cid:CONTENT_ID" alt="ALT">`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLink<'a> {
    pub content_id: &'a str,
    pub alt: &'a str,
}

/// [`render_html`] with `image` (the alert's chart) under the facts and the kind's `track` record
/// under that.
pub fn render_html_with_image(
    alert: &Alert,
    image: Option<ImageLink<'_>>,
    track: Option<&str>,
) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html>\n<body style=\"font-family:sans-serif\">\n");
    let _infallible = writeln!(out, "<h3>{}</h3>", escape_html(&alert.title));
    let rows = facts(alert);
    if !rows.is_empty() {
        out.push_str("<table cellpadding=\"3\" style=\"border-collapse:collapse\">\n");
        for (key, value) in rows {
            let _infallible = writeln!(
                out,
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                escape_html(&key),
                escape_html(&value)
            );
        }
        out.push_str("</table>\n");
    }
    if let Some(image) = image {
        let _infallible = writeln!(
            out,
            "<p><img src=\"cid:{}\" width=\"760\" alt=\"{}\" \
             style=\"display:block;max-width:100%;height:auto;border:0\"></p>",
            escape_html(image.content_id),
            escape_html(image.alt)
        );
    }
    if let Some(track) = track {
        let _infallible = writeln!(out, "<p><i>Track record: {}</i></p>", escape_html(track));
    }
    out.push_str("<p style=\"color:#666;font-size:small\">\n");
    for (key, value) in footer(alert) {
        let _infallible = writeln!(
            out,
            "{}: <code>{}</code><br>",
            escape_html(key),
            escape_html(&value)
        );
    }
    out.push_str("</p>\n</body>\n</html>\n");
    out
}

/// The facts as `(key, value)` rows: their JSON object's fields in key order (sorted; strings
/// unquoted, nested values as compact JSON); any other non-null value as one `facts` row.
fn facts(alert: &Alert) -> Vec<(String, String)> {
    match alert.facts.to_json() {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(key, value)| (key.clone(), fact_value(value)))
            .collect(),
        Ok(serde_json::Value::Null) => Vec::new(),
        Ok(other) => vec![("facts".to_owned(), fact_value(&other))],
        Err(e) => vec![("facts".to_owned(), format!("not readable: {e}"))],
    }
}

fn fact_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn footer(alert: &Alert) -> [(&'static str, String); 3] {
    [
        ("time", format!("{} UTC", format_utc(alert.time_ms))),
        ("severity", severity_name(alert)),
        ("alert id", alert.id.as_str().to_owned()),
    ]
}

fn severity_name(alert: &Alert) -> String {
    match serde_json::to_value(alert.severity) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{:?}", alert.severity).to_lowercase(),
    }
}
