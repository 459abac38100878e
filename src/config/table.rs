//! One table of the config file as the schema reads it: one call per key naming its type,
//! default and range (`t.int("period", 14, 2..=100)`), which reports a wrong or out-of-range value
//! with its key path and line and falls back to the default. Owns the wording of range and choice
//! problems; must never know what a key means, do I/O or read a secret.

use std::fmt::Display;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::ops::{RangeBounds, RangeInclusive};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::read::{Loc, Reader, join};
use crate::model::{HOUR_MS, Interval, TimeMs, parse_utc};

/// A key as the schema names it, never text from the file.
type Key = &'static str;
type Value<'a> = &'a Spanned<DeValue<'a>>;
/// A TOML type: how a type error names it, and how to read it.
type Kind<'a, T> = (&'static str, fn(&'a DeValue<'a>) -> Option<T>);
/// A parsed value, or the problem with it.
pub(super) type Parsed<T> = Result<T, String>;
/// The integers keys are read into: read as `i64` first, so a negative one gets the range message.
pub(super) trait Int: TryFrom<i64> + PartialOrd + Display + Copy {}
impl<T: TryFrom<i64> + PartialOrd + Display + Copy> Int for T {}

/// A checked value with what relations need: where it is, whether the file set it (a broken
/// relation blames the key the user wrote) and whether it passed its own range (so that it is not
/// reported again through a relation).
#[derive(Debug, Clone)]
pub(super) struct Field<T> {
    pub(super) at: Loc,
    pub(super) value: T,
    pub(super) set: bool,
    pub(super) valid: bool,
}

/// A table of the file, present or not (then every key reads as its default).
pub(super) struct Table<'r, 'a> {
    r: &'r Reader<'a>,
    at: Loc,
    /// The table and its index among those the reader opened.
    inner: Option<(&'a DeTable<'a>, usize)>,
}

impl<'r, 'a> Table<'r, 'a> {
    pub(super) fn new(r: &'r Reader<'a>, at: Loc, inner: Option<(&'a DeTable<'a>, usize)>) -> Self {
        Table { r, at, inner }
    }

    /// Where `key` is; the line is `None` when the file does not have it.
    pub(super) fn loc(&self, key: &str) -> Loc {
        let path = join(&self.at.path, key);
        match self.inner.and_then(|(t, _)| t.get_key_value(key)) {
            Some((key, _)) => self.r.loc(path, key.span().start),
            None => Loc { path, line: None },
        }
    }

    /// Whether the file has `key` here (asking for it is still what makes it a known key).
    pub(super) fn has(&self, key: &str) -> bool {
        self.inner.is_some_and(|(t, _)| t.get(key).is_some())
    }

    pub(super) fn report(&self, at: &Loc, message: impl Into<String>) {
        self.r.report(at, message.into());
    }

    pub(super) fn problem(&self, key: &str, message: impl Into<String>) {
        self.report(&self.loc(key), message);
    }

    /// The value at `key`, which from now on is a known key of this table.
    fn value(&self, key: Key) -> Option<(Loc, Value<'a>)> {
        let (table, id) = self.inner?;
        self.r.know(id, key);
        Some((self.loc(key), table.get(key)?))
    }

    /// `value` as `kind`; a value of another type is recorded as such.
    fn typed<T>(&self, (at, value): (Loc, Value<'a>), (name, of): Kind<'a, T>) -> Option<(Loc, T)> {
        let typed = of(value.get_ref()).map(|x| (at.clone(), x));
        typed.or_else(|| self.r.wrong_type(&at, value, name))
    }

    fn get<T>(&self, key: Key, kind: Kind<'a, T>) -> Option<(Loc, T)> {
        self.typed(self.value(key)?, kind)
    }

    /// The elements of the array at `key`, each at `key[i]`, as `kind`.
    fn items<T>(&self, key: Key, kind: Kind<'a, T>) -> Option<Vec<(Loc, T)>> {
        let (at, array) = self.get(key, ("an array", DeValue::as_array))?;
        let element = |(i, v): (usize, Value<'a>)| {
            let at = self.r.loc(format!("{}[{i}]", at.path), v.span().start);
            self.typed((at, v), kind)
        };
        Some(array.iter().enumerate().filter_map(element).collect())
    }

    /// The table at `key`.
    pub(super) fn table(&self, key: Key) -> Table<'r, 'a> {
        let table = self.get(key, ("a table", DeValue::as_table));
        let absent = || Table::new(self.r, self.loc(key), None);
        table.map_or_else(absent, |(at, table)| self.r.open(at, table))
    }

    /// The array of tables at `key` (`[[mutes]]`).
    pub(super) fn tables(&self, key: Key) -> Option<Vec<Table<'r, 'a>>> {
        let tables = self.items(key, ("a table", DeValue::as_table))?.into_iter();
        Some(tables.map(|(at, table)| self.r.open(at, table)).collect())
    }

    /// An integer in `range`, for a relation.
    pub(super) fn int_field<T: Int>(
        &self,
        key: Key,
        default: T,
        range: RangeInclusive<T>,
    ) -> Field<T> {
        let Some((at, raw)) = self.get(key, ("an integer", DeValue::as_integer)) else {
            return Field::new(self.loc(key), default, false, true);
        };
        // One beyond `i64` is beyond every range, so it gets the range message too.
        let int = i64::from_str_radix(raw.as_str(), raw.radix()).ok();
        let value = int
            .and_then(|n| T::try_from(n).ok())
            .filter(|v| range.contains(v));
        if value.is_none() {
            let (lo, hi) = range.into_inner();
            self.report(&at, format!("must be between {lo} and {hi}, got {raw}"));
        }
        Field::new(at, value.unwrap_or(default), true, value.is_some())
    }

    pub(super) fn int<T: Int>(&self, key: Key, default: T, range: RangeInclusive<T>) -> T {
        self.int_field(key, default, range).value
    }

    pub(super) fn secs(&self, key: Key, default: u64, range: RangeInclusive<u64>) -> Duration {
        Duration::from_secs(self.int(key, default, range))
    }

    /// A number in `range`, which may be closed (`0.0..=1.0`), half-open (`0.0..0.5`) or open at
    /// either end (`positive(1000.0)`), for a relation.
    pub(super) fn float_field(&self, key: Key, default: f64, range: impl Range) -> Field<f64> {
        let Some((at, x)) = self.get(key, ("a number", number)) else {
            return Field::new(self.loc(key), default, false, true);
        };
        let valid = self.in_range(&at, x, &range);
        Field::new(at, if valid { x } else { default }, true, valid)
    }

    pub(super) fn float(&self, key: Key, default: f64, range: impl Range) -> f64 {
        self.float_field(key, default, range).value
    }

    /// A `*_pct` key, checked in percent as written, for a relation; [`fraction`] is what it
    /// stands for. The default is rounded to 1e-9 % so that 0.3 reads 30, not 30.000000000000004.
    pub(super) fn percent(&self, key: Key, frac: f64, range: impl Range) -> Field<f64> {
        self.float_field(key, (frac * 1e11).round() / 1e9, range)
    }

    pub(super) fn frac(&self, key: Key, frac: f64, range: impl Range) -> f64 {
        fraction(&self.percent(key, frac, range), frac)
    }

    /// A span written in hours, above 0 and at most `hi`, in milliseconds.
    pub(super) fn hours(&self, key: Key, default_ms: TimeMs, hi: f64) -> TimeMs {
        let h = self.float_field(key, default_ms as f64 / HOUR_MS as f64, positive(hi));
        // The range only excludes 0 itself, so a tiny positive value still gets 1 ms.
        let ms = ((h.value * HOUR_MS as f64).round() as TimeMs).max(1);
        if h.set && h.valid { ms } else { default_ms }
    }

    /// Numbers, each in `range` and reported by its index; when one is out of range the field is
    /// invalid and holds the list as written (its length still counts).
    pub(super) fn floats(&self, key: Key, default: Vec<f64>, range: impl Range) -> Field<Vec<f64>> {
        let Some(items) = self.items(key, ("a number", number)) else {
            return Field::new(self.loc(key), default, false, true);
        };
        let check = |ok, (at, x): &(Loc, f64)| self.in_range(at, *x, &range) && ok;
        let valid = items.iter().fold(true, check);
        let values = items.into_iter().map(|(_, x)| x).collect();
        Field::new(self.loc(key), values, true, valid)
    }

    pub(super) fn bool(&self, key: Key, default: bool) -> bool {
        let bool = self.get(key, ("true or false", DeValue::as_bool));
        bool.map_or(default, |(_, b)| b)
    }

    pub(super) fn string(&self, key: Key) -> Option<&'a str> {
        self.get(key, ("a string", DeValue::as_str)).map(|(_, s)| s)
    }

    pub(super) fn ints(&self, key: Key) -> Option<Vec<i64>> {
        let ints = self.items(key, ("an integer", integer))?.into_iter();
        Some(ints.map(|(_, n)| n).collect())
    }

    /// A string turned into a value by `parse`, whose error is the message.
    pub(super) fn parse<T>(&self, key: Key, parse: impl FnOnce(&str) -> Parsed<T>) -> Option<T> {
        let (at, text) = self.get(key, ("a string", DeValue::as_str))?;
        parse(text).map_err(|e| self.report(&at, e)).ok()
    }

    /// One of `options`, by name.
    pub(super) fn choice<T: Copy>(&self, key: Key, default: T, options: &[(&str, T)]) -> T {
        let choice = self.parse(key, |text| one_of(text, options));
        choice.unwrap_or(default)
    }

    /// A path; a relative one is resolved against the config file's directory, so the daemon does
    /// not depend on its working directory.
    pub(super) fn path(&self, key: Key) -> Option<PathBuf> {
        self.parse(key, |text| match text {
            "" => Err("must not be empty (leave the key out instead)".to_owned()),
            _ => Ok(self.r.base_dir.join(text)),
        })
    }

    /// A UTC date and time, written as a string or as a bare TOML datetime.
    pub(super) fn utc(&self, key: Key) -> Option<TimeMs> {
        let ((at, value), example) = (self.value(key)?, "such as \"2025-07-01T00:00:00Z\"");
        let what = format!("a date and time {example}");
        let text = match value.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            _ => return self.r.wrong_type(&at, value, &what),
        };
        let time = parse_utc(&text);
        if time.is_none() {
            let message = format!("must be a UTC date and time {example}, got {text:?}");
            self.report(&at, message);
        }
        time
    }

    /// `read(self, key)`, with the key reported as required when the file left it out (on the
    /// line of this table, since the key has none).
    pub(super) fn required<T>(&self, key: Key, read: fn(&Self, Key) -> Option<T>) -> Option<T> {
        if self.inner.is_some() && !self.has(key) {
            let (path, line) = (join(&self.at.path, key), self.at.line);
            self.report(&Loc { path, line }, "is required");
        }
        read(self, key)
    }

    /// Strings, each turned into a value by `parse` (which sees those before it, to refuse a
    /// duplicate) or reported by its index; `empty` is the problem with `[]`.
    pub(super) fn list<T, P>(&self, key: Key, empty: Option<&str>, mut parse: P) -> Option<Vec<T>>
    where
        P: FnMut(&str, &[T]) -> Parsed<T>,
    {
        let items = self.items(key, ("a string", DeValue::as_str))?;
        if let (true, Some(message)) = (items.is_empty(), empty) {
            self.problem(key, message);
        }
        let mut values = Vec::new();
        for (at, text) in items {
            match parse(text, &values) {
                Ok(value) => values.push(value),
                Err(message) => self.report(&at, message),
            }
        }
        Some(values)
    }

    /// Requires `lo < hi` (`lt`) or `lo ≤ hi`, blaming the key the file set: when only `hi` was
    /// written, the message is about `hi`, since that is what the user must change.
    pub(super) fn order<T: PartialOrd + Display>(&self, lo: &Field<T>, hi: &Field<T>, lt: bool) {
        let holds = lo.value < hi.value || !lt && lo.value <= hi.value;
        let (blamed, other, word) = match (lo.set || !hi.set, lt) {
            (true, true) => (lo, hi, "below"),
            (true, false) => (lo, hi, "at most"),
            (false, true) => (hi, lo, "above"),
            (false, false) => (hi, lo, "at least"),
        };
        let (path, bound, value) = (&other.at.path, &other.value, &blamed.value);
        let message = format!("must be {word} {path} ({bound}), got {value}");
        if !holds && lo.valid && hi.valid {
            self.report(&blamed.at, message);
        }
    }

    /// Reports `value` unless it lies in `range`; `contains` is false for NaN, so `nan` is
    /// refused too.
    fn in_range(&self, at: &Loc, value: f64, range: &impl Range) -> bool {
        let inside = range.contains(&value);
        if !inside {
            self.report(at, format!("must be {}, got {value}", range_words(range)));
        }
        inside
    }
}

/// The ranges a number may be checked against.
pub(super) trait Range: RangeBounds<f64> {}
impl<R: RangeBounds<f64>> Range for R {}

impl<T> Field<T> {
    fn new(at: Loc, value: T, set: bool, valid: bool) -> Self {
        Field {
            at,
            value,
            set,
            valid,
        }
    }
}

/// An integer; one beyond TOML's own `i64` range is refused like a value of another type.
fn integer(value: &DeValue) -> Option<i64> {
    let int = value.as_integer()?;
    i64::from_str_radix(int.as_str(), int.radix()).ok()
}

/// A float, or an integer read as one; `1e400` reads as infinity and fails its range.
fn number(value: &DeValue) -> Option<f64> {
    match value.as_float() {
        Some(float) => float.as_str().parse().ok(),
        None => integer(value).map(|n| n as f64),
    }
}

/// The option named `text`, or the message naming those it could have been.
pub(super) fn one_of<T: Copy>(text: &str, options: &[(&str, T)]) -> Parsed<T> {
    let found = options.iter().find(|(name, _)| *name == text).map(|o| o.1);
    let names: Vec<_> = options.iter().map(|o| format!("{:?}", o.0)).collect();
    found.ok_or_else(|| format!("must be one of {}, got {text:?}", names.join(", ")))
}

/// Intervals as the options of a choice, by name.
pub(super) fn intervals(options: &[Interval]) -> Vec<(&'static str, Interval)> {
    options.iter().map(|&i| (i.as_str(), i)).collect()
}

/// A value parsed by its own `FromStr`, whose error is the message.
pub(super) fn parsed<T: FromStr<Err: Display>>(text: &str) -> Parsed<T> {
    text.parse().map_err(|e: T::Err| e.to_string())
}

/// Above 0 (a width, scale or rate that must not vanish) and at most `hi`.
pub(super) fn positive(hi: f64) -> (Bound<f64>, Bound<f64>) {
    (Excluded(0.0), Included(hi))
}

/// The fraction a percent field stands for; `default` itself when the key is absent, so a default
/// is never round-tripped through percent.
pub(super) fn fraction(pct: &Field<f64>, default: f64) -> f64 {
    if pct.set { pct.value / 100.0 } else { default }
}

/// A range as a message says it: "between 0 and 1", "strictly between 0 and 100", "above 0 and
/// at most 1000", "at least 0 and below 0.5".
fn range_words(range: &impl Range) -> String {
    let words = |bound, included, excluded| match bound {
        Included(x) => Some(format!("{included} {x}")),
        Excluded(x) => Some(format!("{excluded} {x}")),
        Unbounded => None,
    };
    match (range.start_bound(), range.end_bound()) {
        (Included(lo), Included(hi)) => format!("between {lo} and {hi}"),
        (Excluded(lo), Excluded(hi)) => format!("strictly between {lo} and {hi}"),
        (lo, hi) => [
            words(lo, "at least", "above"),
            words(hi, "at most", "below"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" and "),
    }
}
