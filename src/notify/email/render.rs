//! An alert as the text and HTML parts of a mail: the title and dateline, the kind's facts as a
//! labelled table (words from `notify::wording`, shared with every channel), the notes, the
//! chart inline when there is one, then severity and id. The text part is aligned `Label: value`
//! lines of at most [`TEXT_WIDTH`] columns; the HTML part a table that wraps inside a card of at
//! most 800 px, like the daily summary. Pure string building; every value in the HTML goes
//! through [`escape_html`]. The daily summary has its own layout (`notify::summary`).

use std::fmt::Write as _;

use crate::model::Alert;
use crate::notify::escape_html;
use crate::notify::html::{CARD_END, open_card};
use crate::notify::wording::{self, Row};

/// The widest line of the text part, in columns (mail clients wrap or scroll beyond ~78).
pub const TEXT_WIDTH: usize = 72;

/// `[liqwave] <title>`, on one line.
pub fn alert_subject(alert: &Alert) -> String {
    format!("[liqwave] {}", alert.title)
}

/// The plain-text body: title and dateline, the facts as aligned `Label: value` lines, the notes
/// and the kind's measured track record, then severity and alert id; no line over
/// [`TEXT_WIDTH`] columns.
pub fn render_text(alert: &Alert, track: Option<&str>) -> String {
    let mut out = String::new();
    for line in wrap(&alert.title, TEXT_WIDTH) {
        push_line(&mut out, &line);
    }
    push_line(&mut out, &wording::dateline(alert));
    let rows = wording::rows(alert);
    let footer = footer(alert);
    // One value column for the facts and the footer.
    let indent = (rows.iter().chain(&footer))
        .map(|r| r.label.len())
        .max()
        .unwrap_or(0)
        + 2;
    if !rows.is_empty() {
        out.push('\n');
        aligned(&mut out, &rows, indent);
    }
    for note in notes(alert, track) {
        out.push('\n');
        for line in wrap(&note, TEXT_WIDTH) {
            push_line(&mut out, &line);
        }
    }
    out.push('\n');
    aligned(&mut out, &footer, indent);
    out
}

/// The HTML body: the same content as [`render_text`], the facts as a table.
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
/// with the notes under that.
pub fn render_html_with_image(
    alert: &Alert,
    image: Option<ImageLink<'_>>,
    track: Option<&str>,
) -> String {
    let mut out = String::with_capacity(4096);
    open_card(&mut out, &alert.title);
    let _infallible = write!(
        out,
        "<h1 style=\"font-size:19px;margin:0 0 4px\">{}</h1>\n\
         <p style=\"margin:0 0 12px;color:#57606a\">{}</p>\n",
        escape_html(&alert.title),
        escape_html(&wording::dateline(alert)),
    );
    html_rows(&mut out, &wording::rows(alert), "#1f2328");
    if let Some(image) = image {
        let _infallible = writeln!(
            out,
            "<img src=\"cid:{}\" width=\"760\" alt=\"{}\" \
             style=\"display:block;width:100%;max-width:760px;height:auto;border:0;\
             margin:14px 0 8px\">",
            escape_html(image.content_id),
            escape_html(image.alt)
        );
    }
    for note in notes(alert, track) {
        let _infallible = writeln!(
            out,
            "<p style=\"margin:8px 0;color:#57606a;font-size:13px\"><i>{}</i></p>",
            escape_html(&note)
        );
    }
    out.push_str("<div style=\"margin-top:16px;font-size:12px\">\n");
    html_rows(&mut out, &footer(alert), "#6e7781");
    out.push_str("</div>\n");
    out.push_str(CARD_END);
    out
}

/// `rows` as a two-column table whose values wrap (never wider than the card).
fn html_rows(out: &mut String, rows: &[Row], color: &str) {
    if rows.is_empty() {
        return;
    }
    let _infallible = writeln!(
        out,
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"border-collapse:collapse;width:100%;color:{color}\">"
    );
    for row in rows {
        let value: Vec<String> = row.lines.iter().map(|l| marked(l)).collect();
        let _infallible = writeln!(
            out,
            "<tr><th align=\"left\" valign=\"top\" width=\"90\" style=\"width:90px;\
             padding:4px 12px 4px 0;border-bottom:1px solid #eaeef2;color:#57606a;\
             font-weight:600;white-space:nowrap;vertical-align:top\">{}</th><td style=\"padding:4px 0;border-bottom:1px solid \
             #eaeef2;word-wrap:break-word;overflow-wrap:anywhere\">{}</td></tr>",
            escape_html(row.label),
            value.join("<br>")
        );
    }
    out.push_str("</table>\n");
}

/// `line` escaped, a checklist mark at its start in green or red.
fn marked(line: &str) -> String {
    for (mark, color) in [(wording::YES, "#1a7f37"), (wording::NO, "#cf222e")] {
        if let Some(rest) = line.strip_prefix(mark).and_then(|r| r.strip_prefix(' ')) {
            let rest = escape_html(rest);
            return format!("<span style=\"color:{color};font-weight:700\">{mark}</span> {rest}");
        }
    }
    escape_html(line)
}

/// The notes of the kind, then the measured track record.
fn notes(alert: &Alert, track: Option<&str>) -> Vec<String> {
    let mut notes = wording::notes(alert);
    notes.extend(track.map(|t| format!("Track record: {t}")));
    notes
}

fn footer(alert: &Alert) -> [Row; 2] {
    [
        Row {
            label: "Severity",
            lines: vec![severity_name(alert)],
        },
        Row {
            label: "Alert id",
            lines: vec![alert.id.as_str().to_owned()],
        },
    ]
}

fn severity_name(alert: &Alert) -> String {
    match serde_json::to_value(alert.severity) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{:?}", alert.severity).to_lowercase(),
    }
}

/// `rows` as `Label:  value` lines, values starting at column `indent`, wrapped to
/// [`TEXT_WIDTH`] with continuation lines under the value.
fn aligned(out: &mut String, rows: &[Row], indent: usize) {
    let width = TEXT_WIDTH.saturating_sub(indent).max(20);
    for row in rows {
        let mut first = true;
        for line in row.lines.iter().flat_map(|l| wrap(l, width)) {
            let label = if first {
                format!("{}:", row.label)
            } else {
                String::new()
            };
            first = false;
            push_line(out, &format!("{label:<indent$}{line}"));
        }
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}

/// `text` in lines of at most `width` columns, broken at spaces; a word longer than a line is
/// cut (an id or URL stays readable, and nothing runs off the edge).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word;
        let mut w = columns(word);
        if used > 0 && used + 1 + w <= width {
            line.push(' ');
            line.push_str(word);
            used += 1 + w;
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
        }
        while w > width {
            let (head, tail) = split_at_columns(word, width);
            lines.push(head.to_owned());
            word = tail;
            w = columns(word);
        }
        line.push_str(word);
        used = w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Columns a monospace terminal gives `text`: the checklist's emoji take two.
pub(crate) fn columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

fn char_columns(c: char) -> usize {
    match c {
        '✅' | '❌' | '\u{1F300}'..='\u{1FAFF}' => 2,
        _ => 1,
    }
}

/// `word` cut after at most `width` columns (at least one character).
fn split_at_columns(word: &str, width: usize) -> (&str, &str) {
    let mut used = 0;
    for (i, c) in word.char_indices() {
        used += char_columns(c);
        if used > width && i > 0 {
            return word.split_at(i);
        }
    }
    (word, "")
}
