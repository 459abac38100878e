//! The summary as a document before layout: sections of sentences, tables of plain-text cells
//! with a tone, and image references; plus the number and time formats every section shares.
//! Plain strings only: escaping and layout belong to `layout`, content to `sections`.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::model::{TimeMs, format_utc};

/// Width of the HTML content column, in CSS pixels; images are shown at most this wide.
pub(super) const CONTENT_WIDTH: u32 = 752;
/// Appended to a pair still warming up, in every table and on the board.
pub(super) const WARMING_MARK: &str = " *";
/// Marks a pair whose data stopped: its values are of its last data, not of the report.
pub(super) const STALE_MARK: &str = " †";

/// The whole summary.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Doc {
    pub(super) title: String,
    pub(super) lead: Vec<Line>,
    pub(super) sections: Vec<Section>,
    /// The small print at the end: what the report covers.
    pub(super) footer: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Section {
    pub(super) title: String,
    pub(super) lead: Vec<Line>,
    pub(super) table: Option<Table>,
    pub(super) notes: Vec<Line>,
    pub(super) images: Vec<ImageRef>,
}

impl Section {
    pub(super) fn new(title: impl Into<String>) -> Section {
        Section {
            title: title.into(),
            lead: Vec::new(),
            table: None,
            notes: Vec::new(),
            images: Vec::new(),
        }
    }
}

/// A sentence; `Warn` lines stand out.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub(super) text: String,
    pub(super) tone: Tone,
}

impl Line {
    pub(super) fn plain(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            tone: Tone::Plain,
        }
    }

    pub(super) fn muted(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            tone: Tone::Muted,
        }
    }

    pub(super) fn warn(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            tone: Tone::Warn,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Table {
    pub(super) head: Vec<Col>,
    pub(super) rows: Vec<Vec<Cell>>,
    /// False: the HTML part shows the images instead (the board), only the text part the table.
    pub(super) in_html: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Col {
    pub(super) name: &'static str,
    /// Right-aligned (numbers).
    pub(super) numeric: bool,
}

pub(super) const fn col(name: &'static str) -> Col {
    Col {
        name,
        numeric: false,
    }
}

pub(super) const fn num(name: &'static str) -> Col {
    Col {
        name,
        numeric: true,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) tone: Tone,
}

/// How a value reads: bull green, bear red, not applicable grey, worth a look bold or amber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Plain,
    Up,
    Down,
    Muted,
    Strong,
    Warn,
}

pub(super) fn cell(text: impl Into<String>) -> Cell {
    toned(text, Tone::Plain)
}

pub(super) fn toned(text: impl Into<String>, tone: Tone) -> Cell {
    Cell {
        text: text.into(),
        tone,
    }
}

/// An inline image placed in a section.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ImageRef {
    pub(super) content_id: String,
    pub(super) alt: String,
    pub(super) width: u32,
    /// Shown above the image (the charts); the board carries its title inside.
    pub(super) caption: Option<String>,
}

/// Times in the summary's zone; UTC when the zone is unknown.
#[derive(Debug, Clone)]
pub(super) struct Clock {
    tz: Option<TimeZone>,
}

impl Clock {
    pub(super) fn new(tz: &str) -> Clock {
        Clock {
            tz: TimeZone::get(tz).ok(),
        }
    }

    pub(super) fn known(&self) -> bool {
        self.tz.is_some()
    }

    /// `2025-06-11 10:30 UTC`, `2025-06-11 12:30 CEST`.
    pub(super) fn full(&self, t: TimeMs) -> String {
        self.format(t, "%Y-%m-%d %H:%M", true)
            .unwrap_or_else(|| utc(t))
    }

    /// `06-11 10:30`: a row of a 24-hour list.
    pub(super) fn short(&self, t: TimeMs) -> String {
        self.format(t, "%m-%d %H:%M", false)
            .unwrap_or_else(|| format_utc(t)[5..].to_owned())
    }

    fn format(&self, t: TimeMs, pattern: &str, zone: bool) -> Option<String> {
        let tz = self.tz.as_ref()?;
        let at = Timestamp::from_millisecond(t).ok()?;
        let mut text = tz.to_datetime(at).strftime(pattern).to_string();
        if zone {
            text.push(' ');
            text.push_str(tz.to_offset_info(at).abbreviation());
        }
        Some(text)
    }
}

/// `2025-06-11 10:30 UTC`.
pub(super) fn utc(t: TimeMs) -> String {
    format!("{} UTC", format_utc(t))
}

/// A duration for people: `45 min`, `3.5 h`, `2.0 days`.
pub(super) fn age(ms: TimeMs) -> String {
    let minutes = ms as f64 / 60_000.0;
    if minutes < 90.0 {
        format!("{minutes:.0} min")
    } else if minutes < 48.0 * 60.0 {
        format!("{:.1} h", minutes / 60.0)
    } else {
        format!("{:.1} days", minutes / 1440.0)
    }
}

/// `1 pair`, `3 pairs`.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The title without a leading `SYMBOL` and `TF`: the list shows those in their own columns.
pub(super) fn strip_subject<'a>(title: &'a str, symbol: &str, tf: Option<&str>) -> &'a str {
    let word = |text: &'a str, w: &str| -> Option<&'a str> {
        let rest = text.strip_prefix(w)?;
        (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim_start())
    };
    let rest = word(title, symbol).unwrap_or(title);
    let rest = tf.and_then(|tf| word(rest, tf)).unwrap_or(rest);
    if rest.is_empty() { title } else { rest }
}
