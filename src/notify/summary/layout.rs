//! The summary document laid out twice: as plain text (wrapped sentences, aligned columns) and as
//! email-safe HTML (tables, inline CSS only, no scripts, no external resources, images by `cid:`).
//! Every string that reaches the HTML goes through [`escape_html`]; nothing here decides content.

use std::fmt::Write as _;

use super::doc::{Cell, Doc, ImageRef, Line, Section, Table, Tone};
use crate::notify::escape_html;
use crate::notify::html::{CARD_END, open_card};

/// Plain-text line width for sentences (tables are never wrapped).
const TEXT_WIDTH: usize = 78;

pub(super) fn text(doc: &Doc) -> String {
    let mut out = heading(&doc.title, '=');
    out.push_str(&lines(&doc.lead));
    for s in &doc.sections {
        let mut blocks = vec![lines(&s.lead)];
        blocks.extend(s.table.as_ref().map(text_table));
        blocks.push(
            s.images
                .iter()
                .map(|i| format!("[image in the HTML part: {}]\n", i.alt))
                .collect(),
        );
        blocks.push(lines(&s.notes));
        blocks.retain(|b| !b.is_empty());
        out.push('\n');
        out.push_str(&heading(&s.title, '-'));
        out.push_str(&blocks.join("\n"));
    }
    out.push('\n');
    out.push_str(&lines(&[Line::muted(doc.footer.clone())]));
    out
}

fn heading(title: &str, rule: char) -> String {
    let underline: String = std::iter::repeat_n(rule, title.chars().count()).collect();
    format!("{title}\n{underline}\n")
}

/// The lines wrapped, each ending in a newline; a warning starts with `!`.
fn lines(lines: &[Line]) -> String {
    let mut out = String::new();
    for line in lines {
        let text = match line.tone {
            Tone::Warn => format!("! {}", line.text),
            _ => line.text.clone(),
        };
        for piece in wrap(&text, TEXT_WIDTH) {
            out.push_str(&piece);
            out.push('\n');
        }
    }
    out
}

/// Greedy word wrap; a word longer than `width` stays whole on its own line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = current.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The table with aligned columns (numbers to the right), a rule under the head, indented.
fn text_table(t: &Table) -> String {
    let widths: Vec<usize> = (0..t.head.len())
        .map(|i| {
            t.rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.text.chars().count())
                .chain([t.head[i].name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let row = |cells: Vec<&str>| -> String {
        let mut line = String::from(" ");
        for (i, text) in cells.iter().enumerate().take(widths.len()) {
            let pad: String = " ".repeat(widths[i].saturating_sub(text.chars().count()));
            line.push(' ');
            if t.head[i].numeric {
                line.push_str(&pad);
                line.push_str(text);
            } else {
                line.push_str(text);
                line.push_str(&pad);
            }
            line.push(' ');
        }
        format!("{}\n", line.trim_end())
    };
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = row(t.head.iter().map(|c| c.name).collect());
    out.push_str(&row(rules.iter().map(String::as_str).collect()));
    for r in &t.rows {
        out.push_str(&row(r.iter().map(|c| c.text.as_str()).collect()));
    }
    out
}

pub(super) fn html(doc: &Doc) -> String {
    let mut out = String::with_capacity(16 * 1024);
    open_card(&mut out, &doc.title);
    let _infallible = writeln!(
        out,
        "<h1 style=\"font-size:22px;margin:0 0 10px\">{}</h1>",
        escape_html(&doc.title),
    );
    html_lines(&mut out, &doc.lead);
    for s in &doc.sections {
        html_section(&mut out, s);
    }
    let _infallible = write!(
        out,
        "<p style=\"margin:24px 0 0;color:#6e7781;font-size:12px\">{}</p>\n{CARD_END}",
        escape_html(&doc.footer)
    );
    out
}

fn html_section(out: &mut String, s: &Section) {
    let _infallible = writeln!(
        out,
        "<h2 style=\"font-size:16px;margin:22px 0 6px;padding-bottom:4px;\
         border-bottom:2px solid #d0d7de\">{}</h2>",
        escape_html(&s.title)
    );
    html_lines(out, &s.lead);
    if let Some(t) = s.table.as_ref().filter(|t| t.in_html) {
        html_table(out, t);
    }
    for image in &s.images {
        html_image(out, image);
    }
    html_lines(out, &s.notes);
}

fn html_lines(out: &mut String, lines: &[Line]) {
    for line in lines {
        let style = match line.tone {
            Tone::Warn => {
                "margin:6px 0;padding:6px 10px;background:#fff8c5;border-left:3px solid #d4a72c;\
                 color:#4d3800"
            }
            Tone::Muted => "margin:6px 0;color:#6e7781;font-size:13px",
            _ => "margin:6px 0",
        };
        let _infallible = writeln!(out, "<p style=\"{style}\">{}</p>", escape_html(&line.text));
    }
}

fn html_table(out: &mut String, t: &Table) {
    out.push_str(
        "<table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;\
         margin:8px 0 10px;font-size:13px\">\n<tr>",
    );
    for c in &t.head {
        let align = if c.numeric { "right" } else { "left" };
        let _infallible = write!(
            out,
            "<th align=\"{align}\" style=\"padding:4px 8px;border-bottom:1px solid #d0d7de;\
             color:#57606a;font-weight:600;white-space:nowrap\">{}</th>",
            escape_html(c.name)
        );
    }
    out.push_str("</tr>\n");
    let last = t.head.len().saturating_sub(1);
    for (r, row) in t.rows.iter().enumerate() {
        let background = if r % 2 == 1 { "#f6f8fa" } else { "#ffffff" };
        out.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let numeric = t.head.get(i).is_some_and(|h| h.numeric);
            html_cell(out, c, numeric, i == last && !numeric, background);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn html_cell(out: &mut String, c: &Cell, numeric: bool, wraps: bool, background: &str) {
    let align = if numeric { "right" } else { "left" };
    let wrap = if wraps { "" } else { "white-space:nowrap;" };
    let tone = match c.tone {
        Tone::Plain => "",
        Tone::Up => "color:#1a7f37;",
        Tone::Down => "color:#cf222e;",
        Tone::Muted => "color:#6e7781;",
        Tone::Strong => "font-weight:700;",
        Tone::Warn => "color:#9a6700;font-weight:700;",
    };
    let _infallible = write!(
        out,
        "<td align=\"{align}\" style=\"padding:3px 8px;border-bottom:1px solid #eaeef2;\
         background:{background};{wrap}{tone}\">{}</td>",
        escape_html(&c.text)
    );
}

fn html_image(out: &mut String, image: &ImageRef) {
    if let Some(caption) = &image.caption {
        let _infallible = writeln!(
            out,
            "<p style=\"margin:14px 0 4px;color:#57606a;font-size:12px\">{}</p>",
            escape_html(caption)
        );
    }
    let _infallible = writeln!(
        out,
        "<img src=\"cid:{}\" width=\"{}\" alt=\"{}\" style=\"display:block;max-width:100%;\
         height:auto;border:0;margin:4px 0 8px\">",
        escape_html(&image.content_id),
        image.width,
        escape_html(&image.alt)
    );
}
