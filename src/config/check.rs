//! The checking primitives: ranges, percentages, orderings, choices, lists, paths and required
//! keys, each reporting into one list of problems instead of stopping at the first. Owns the
//! wording of problems; must never know which section a key belongs to (that is `sections.rs`,
//! `heatmap.rs` and `rules.rs`), do I/O, or read a secret.

use std::fmt::Display;
use std::ops::Bound::{self, Excluded, Included};
use std::ops::{RangeBounds, RangeInclusive};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use tracing_subscriber::filter::Targets;

use super::Problem;
use super::locate::{Document, KeyPath};
use crate::model::{HOUR_MS, Interval, Symbol, TimeMs};

/// A checked value with what the relation checks need to know about it: whether the file set it
/// (so a broken relation is blamed on the key the user wrote) and whether it passed its own range
/// (so an out-of-range value is not reported a second time through a relation).
#[derive(Debug, Clone, Copy)]
pub(super) struct Field<T> {
    pub(super) path: &'static str,
    pub(super) value: T,
    pub(super) set: bool,
    pub(super) valid: bool,
}

/// Collects problems, each with the line of its key when the file has it.
pub(super) struct Checker<'d, 'i> {
    doc: &'d Document<'i>,
    pub(super) problems: Vec<Problem>,
}

impl<'d, 'i> Checker<'d, 'i> {
    pub(super) fn new(doc: &'d Document<'i>) -> Self {
        Checker {
            doc,
            problems: Vec::new(),
        }
    }

    pub(super) fn report(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
            line: self.doc.line_of(path),
        });
    }

    pub(super) fn report_at(&mut self, path: &str, message: impl Into<String>) {
        self.report(&KeyPath::parse(path), message);
    }

    /// Reports a required key the file left out, on the line of the table that lacks it (the
    /// key itself has no line).
    pub(super) fn missing(&mut self, path: &str) {
        let path = KeyPath::parse(path);
        let mut table = path.clone();
        table.0.pop();
        self.problems.push(Problem {
            path: path.to_string(),
            message: "is required".to_owned(),
            line: self.doc.line_of(&table),
        });
    }

    pub(super) fn int(
        &mut self,
        path: &'static str,
        raw: Option<i64>,
        default: usize,
        range: RangeInclusive<usize>,
    ) -> Field<usize> {
        let Some(raw) = raw else {
            return Field {
                path,
                value: default,
                set: false,
                valid: true,
            };
        };
        match usize::try_from(raw) {
            Ok(value) if range.contains(&value) => Field {
                path,
                value,
                set: true,
                valid: true,
            },
            _ => {
                let (lo, hi) = range.into_inner();
                self.report_at(path, format!("must be between {lo} and {hi}, got {raw}"));
                Field {
                    path,
                    value: default,
                    set: true,
                    valid: false,
                }
            }
        }
    }

    /// A number in `range`, which may be closed (`0.0..=1.0`), half-open (`0.0..0.5`) or open
    /// at either end (`(Excluded(0.0), Included(1000.0))`); the message says which.
    pub(super) fn float(
        &mut self,
        path: &'static str,
        raw: Option<f64>,
        default: f64,
        range: impl RangeBounds<f64>,
    ) -> Field<f64> {
        let Some(value) = raw else {
            return Field {
                path,
                value: default,
                set: false,
                valid: true,
            };
        };
        let valid = self.in_range(path, value, &range);
        Field {
            path,
            value: if valid { value } else { default },
            set: true,
            valid,
        }
    }

    /// A `*_pct` key: checked in percent, as written; see [`fraction`] for the model's value.
    pub(super) fn percent(
        &mut self,
        path: &'static str,
        raw: Option<f64>,
        default_frac: f64,
        range: impl RangeBounds<f64>,
    ) -> Field<f64> {
        self.float(path, raw, percent_of(default_frac), range)
    }

    /// A list of numbers, each in `range` and reported by its index. When an element is out of
    /// range the field is invalid and its value holds the list as written.
    pub(super) fn floats(
        &mut self,
        path: &'static str,
        raw: Option<Vec<f64>>,
        default: Vec<f64>,
        range: impl RangeBounds<f64>,
    ) -> Field<Vec<f64>> {
        let Some(values) = raw else {
            return Field {
                path,
                value: default,
                set: false,
                valid: true,
            };
        };
        let mut valid = true;
        for (i, &value) in values.iter().enumerate() {
            valid &= self.in_range(&format!("{path}[{i}]"), value, &range);
        }
        Field {
            path,
            value: values,
            set: true,
            valid,
        }
    }

    /// Reports `value` unless it lies in `range`; `contains` is false for NaN, so `nan` is
    /// rejected along with the out-of-range.
    fn in_range(&mut self, path: &str, value: f64, range: &impl RangeBounds<f64>) -> bool {
        let inside = range.contains(&value);
        if !inside {
            let words = range_words(range);
            self.report_at(path, format!("must be {words}, got {value}"));
        }
        inside
    }

    /// Requires `lo < hi` (strict) or `lo ≤ hi`, blaming the key the file set: when only `hi`
    /// was written, the message is about `hi`, since that is what the user must change.
    pub(super) fn order<T: PartialOrd + Display + Copy>(
        &mut self,
        lo: Field<T>,
        hi: Field<T>,
        strict: bool,
    ) {
        let holds = if strict {
            lo.value < hi.value
        } else {
            lo.value <= hi.value
        };
        if holds || !lo.valid || !hi.valid {
            return;
        }
        let (below, above) = if strict {
            ("below", "above")
        } else {
            ("at most", "at least")
        };
        if lo.set || !hi.set {
            let message = format!(
                "must be {below} {} ({}), got {}",
                hi.path, hi.value, lo.value
            );
            self.report_at(lo.path, message);
        } else {
            let message = format!(
                "must be {above} {} ({}), got {}",
                lo.path, lo.value, hi.value
            );
            self.report_at(hi.path, message);
        }
    }

    pub(super) fn timeframes(
        &mut self,
        path: &str,
        raw: Option<Vec<String>>,
        default: &[Interval],
    ) -> Vec<Interval> {
        let Some(raw) = raw else {
            return default.to_vec();
        };
        let mut out = Vec::with_capacity(raw.len());
        for (i, text) in raw.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match Interval::from_str(text) {
                Ok(tf) if Interval::SIGNAL.contains(&tf) => {
                    if out.contains(&tf) {
                        self.report_at(&at, format!("duplicate timeframe {text:?}"));
                    } else {
                        out.push(tf);
                    }
                }
                _ => self.report_at(
                    &at,
                    format!("must be one of \"4h\", \"1d\", \"1w\", got {text:?}"),
                ),
            }
        }
        out
    }

    pub(super) fn symbols(&mut self, path: &str, raw: Option<Vec<String>>) -> Vec<Symbol> {
        let mut out: Vec<Symbol> = Vec::new();
        for (i, text) in raw.unwrap_or_default().iter().enumerate() {
            let at = format!("{path}[{i}]");
            match Symbol::from_str(text) {
                Ok(s) if out.contains(&s) => self.report_at(&at, format!("duplicate symbol {s}")),
                Ok(s) => out.push(s),
                Err(e) => self.report_at(&at, e.to_string()),
            }
        }
        out
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        path: &str,
        raw: Option<String>,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(raw) = raw else { return default };
        self.one_of(path, &raw, options).unwrap_or(default)
    }

    /// The option named `raw`, or `None` after reporting the names it could have been.
    pub(super) fn one_of<T: Copy>(
        &mut self,
        path: &str,
        raw: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        if let Some(&(_, value)) = options.iter().find(|(name, _)| *name == raw) {
            return Some(value);
        }
        let names: Vec<String> = options
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        self.report_at(
            path,
            format!("must be one of {}, got {raw:?}", names.join(", ")),
        );
        None
    }

    /// A value parsed by its own `FromStr`, whose error is the message.
    pub(super) fn parsed<T: FromStr>(&mut self, path: &str, raw: &str) -> Option<T>
    where
        T::Err: Display,
    {
        raw.parse()
            .map_err(|e: T::Err| self.report_at(path, e.to_string()))
            .ok()
    }

    /// A span written in hours, above 0 and at most `hi` hours, to milliseconds; the default
    /// stays as it is when the key is absent.
    pub(super) fn hours(
        &mut self,
        path: &'static str,
        raw: Option<f64>,
        default_ms: TimeMs,
        hi: f64,
    ) -> TimeMs {
        let hour = HOUR_MS as f64;
        let hours = self.float(path, raw, default_ms as f64 / hour, positive(hi));
        if !hours.set || !hours.valid {
            return default_ms;
        }
        // The range only excludes 0 itself, so a tiny positive value still gets 1 ms.
        ((hours.value * hour).round() as TimeMs).max(1)
    }

    /// A path from the file; relative ones are resolved against the config file's directory so
    /// the daemon does not depend on its working directory.
    pub(super) fn dir(
        &mut self,
        path: &str,
        raw: Option<String>,
        base_dir: &Path,
    ) -> Option<PathBuf> {
        let raw = raw?;
        if raw.is_empty() {
            self.report_at(path, "must not be empty (leave the key out instead)");
            return None;
        }
        Some(base_dir.join(raw))
    }

    /// A wall-clock time of day written `HH:MM` (24-hour clock, two digits each).
    pub(super) fn clock_time(&mut self, path: &str, raw: Option<String>, default: Time) -> Time {
        let Some(raw) = raw else { return default };
        match hh_mm(&raw) {
            Some(time) => time,
            None => {
                let message =
                    format!("must be a time of day \"HH:MM\" (00:00 to 23:59), got {raw:?}");
                self.report_at(path, message);
                default
            }
        }
    }

    /// An IANA time zone name such as "Europe/Berlin", looked up in the tz database bundled
    /// into the binary (no file is read). The default is looked up the same way, so that a file
    /// spelling out the default gives an equal `Config`.
    pub(super) fn time_zone(&mut self, path: &str, raw: Option<String>, default: &str) -> TimeZone {
        let name = raw.as_deref().unwrap_or(default);
        TimeZone::get(name).unwrap_or_else(|_| {
            let message = format!(
                "must be an IANA time zone name such as \"UTC\" or \"Europe/Berlin\", got {name:?}"
            );
            self.report_at(path, message);
            TimeZone::UTC
        })
    }

    pub(super) fn log_filter(&mut self, path: &str, raw: Option<String>, default: &str) -> String {
        let Some(raw) = raw else {
            return default.to_owned();
        };
        // An empty filter parses but silences every log line, which is never what was meant.
        if raw.trim().is_empty() {
            self.report_at(path, "must not be empty (use \"off\" to silence logging)");
        } else if let Err(e) = Targets::from_str(&raw) {
            self.report_at(path, format!("invalid filter {raw:?}: {e}"));
        }
        raw
    }
}

/// `HH:MM` as written (exactly two digits each side), or `None`.
fn hh_mm(text: &str) -> Option<Time> {
    let (hour, minute) = text.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hour) || !two_digits(minute) {
        return None;
    }
    Time::new(hour.parse().ok()?, minute.parse().ok()?, 0, 0).ok()
}

/// Above 0 (a width, scale or rate that must not vanish) and at most `hi`.
pub(super) fn positive(hi: f64) -> (Bound<f64>, Bound<f64>) {
    (Excluded(0.0), Included(hi))
}

/// `frac` in percent for messages, rounded to 1e-9 % so that the default 0.3 reads 30, not
/// 30.000000000000004.
fn percent_of(frac: f64) -> f64 {
    (frac * 1e11).round() / 1e9
}

/// The fraction a percent key stands for; the model's default when the key is absent, so a
/// default is never round-tripped through percent.
pub(super) fn fraction(field: Field<f64>, default: f64) -> f64 {
    if field.set {
        field.value / 100.0
    } else {
        default
    }
}

/// A range as a message says it: "between 0 and 1", "strictly between 0 and 100", "above 0 and
/// at most 1000", "at least 0 and below 0.5".
fn range_words(range: &impl RangeBounds<f64>) -> String {
    use Bound::Unbounded;
    match (range.start_bound(), range.end_bound()) {
        (Included(lo), Included(hi)) => format!("between {lo} and {hi}"),
        (Excluded(lo), Excluded(hi)) => format!("strictly between {lo} and {hi}"),
        (start, end) => {
            let lower = match start {
                Included(lo) => Some(format!("at least {lo}")),
                Excluded(lo) => Some(format!("above {lo}")),
                Unbounded => None,
            };
            let upper = match end {
                Included(hi) => Some(format!("at most {hi}")),
                Excluded(hi) => Some(format!("below {hi}")),
                Unbounded => None,
            };
            let words: Vec<String> = lower.into_iter().chain(upper).collect();
            words.join(" and ")
        }
    }
}
