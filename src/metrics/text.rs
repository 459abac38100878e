//! The Prometheus text exposition format 0.0.4 and the fixed-bucket histogram it prints. Owns the
//! escaping and number formatting rules; knows no metric names and never blocks (atomics only).

use std::sync::atomic::{AtomicU64, Ordering};

/// The type line of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    const fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: counters print as integers, measured values as floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

/// One scrape's text, written family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        for line in [
            ["# HELP ", name, " ", &help],
            ["# TYPE ", name, " ", kind.as_str()],
        ] {
            self.text.extend(line);
            self.text.push('\n');
        }
    }

    /// One sample line: `name{label="value",…} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(label);
                self.text.push_str("=\"");
                escape_label(value, &mut self.text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        match value.into() {
            Value::Int(v) => self.text.push_str(&v.to_string()),
            Value::Float(v) => self.text.push_str(&float(v)),
        }
        self.text.push('\n');
    }

    /// A whole histogram family: cumulative `_bucket` lines up to `+Inf`, then `_sum` and `_count`.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.family(name, Kind::Histogram, help);
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (bound, count) in histogram.bounds.iter().zip(&histogram.counts) {
            cumulative += count.load(Ordering::Relaxed);
            self.sample(&bucket, &[("le", &float(*bound))], cumulative);
        }
        cumulative += histogram.counts[histogram.bounds.len()].load(Ordering::Relaxed);
        self.sample(&bucket, &[("le", "+Inf")], cumulative);
        self.sample(&format!("{name}_sum"), &[], histogram.sum());
        self.sample(&format!("{name}_count"), &[], cumulative);
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

/// A label value as the format wants it: backslash, double quote and line feed escaped.
pub fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
}

/// A float as Prometheus parses it: `+Inf`, `-Inf`, `NaN`, otherwise Rust's shortest round-trip
/// decimal (never an exponent).
pub fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        v.to_string()
    }
}

/// Observations counted into fixed buckets (upper bounds, inclusive, ascending), plus their sum.
/// Each observation is a few relaxed atomic adds; a scrape may see one observation half counted,
/// which the next scrape corrects.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, then the overflow (above the last bound). Not cumulative.
    counts: Box<[AtomicU64]>,
    /// The sum of observations, as f64 bits.
    sum_bits: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.is_sorted(), "histogram bounds must ascend");
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn observe(&self, v: f64) {
        let bucket = self.bounds.partition_point(|b| *b < v);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        // A lost race retries with the newer sum; the only writer is one task, so it rarely loops.
        let _always_some =
            self.sum_bits
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                    Some((f64::from_bits(bits) + v).to_bits())
                });
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum_bits.load(Ordering::Relaxed))
    }
}
