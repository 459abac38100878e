//! Where things are in the config text: key paths to line numbers and byte offsets to key paths,
//! from the spans the `toml` parser keeps. Owns position lookup only; must never judge a value.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// A key path as written in messages: `rsi.period`, `alerts.regime_timeframes[2]`. Keys that are
/// not bare TOML keys are quoted so the path can be pasted back into the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct KeyPath(pub(super) Vec<Seg>);

impl KeyPath {
    /// Parses the simple paths the validator builds (bare keys, dots, `[n]` indices).
    pub(super) fn parse(path: &str) -> KeyPath {
        let mut segs = Vec::new();
        for part in path.split('.') {
            let (key, indices) = part.split_once('[').unwrap_or((part, ""));
            segs.push(Seg::Key(key.to_owned()));
            for index in indices.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    segs.push(Seg::Index(i));
                }
            }
        }
        KeyPath(segs)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if bare {
                        f.write_str(k)?
                    } else {
                        write!(f, "{k:?}")?
                    }
                }
            }
        }
        Ok(())
    }
}

/// The parsed document with its spans, kept beside the text for line lookups.
#[derive(Debug)]
pub(super) struct Document<'i> {
    text: &'i str,
    span: Range<usize>,
    /// Always a `DeValue::Table`; held as a value so the walks below start like any other step.
    root: DeValue<'i>,
}

impl<'i> Document<'i> {
    pub(super) fn new(text: &'i str, root: Spanned<DeTable<'i>>) -> Self {
        let span = root.span();
        Document {
            text,
            span,
            root: DeValue::Table(root.into_inner()),
        }
    }

    /// Line of the key at `path`, or of the array element for an index step (arrays may span
    /// several lines). `None` when the path is not in the file, e.g. a default that was never set.
    pub(super) fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let mut value = &self.root;
        let mut offset = None;
        for seg in &path.0 {
            let (span, next) = match (seg, value) {
                (Seg::Key(k), DeValue::Table(t)) => {
                    let (key, v) = t.get_key_value(k.as_str())?;
                    (key.span(), v)
                }
                (Seg::Index(i), DeValue::Array(a)) => {
                    let v = a.get(*i)?;
                    (v.span(), v)
                }
                _ => return None,
            };
            offset = Some(span.start);
            value = next.get_ref();
        }
        offset.map(|o| line_col(self.text, o).0)
    }

    /// Value at `path`, if the file has one there.
    pub(super) fn value_at(&self, path: &KeyPath) -> Option<&DeValue<'i>> {
        let mut value = &self.root;
        for seg in &path.0 {
            value = match (seg, value) {
                (Seg::Key(k), DeValue::Table(t)) => t.get(k.as_str())?.get_ref(),
                (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?.get_ref(),
                _ => return None,
            };
        }
        Some(value)
    }

    /// The deepest key path whose value contains byte `offset`, used to name the key of a serde
    /// type error (whose span covers the offending value). The whole tree is searched because a
    /// `[table]` header's span does not cover the keys below it.
    pub(super) fn path_at(&self, offset: usize) -> KeyPath {
        let mut best = KeyPath::default();
        walk(&self.root, &KeyPath::default(), &mut |path, span| {
            if span.contains(&offset) && path.0.len() > best.0.len() {
                best = path.clone();
            }
        });
        best
    }

    /// Every key path at or below `path` (the path itself included), for scanning an unknown
    /// table for secrets.
    pub(super) fn subtree_paths(&self, path: &KeyPath) -> Vec<KeyPath> {
        let mut out = vec![path.clone()];
        if let Some(value) = self.value_at(path) {
            walk(value, path, &mut |inner, _| out.push(inner.clone()));
        }
        out
    }

    /// A copy of the parsed tree for the serde pass, so the text is parsed only once.
    pub(super) fn root(&self) -> Spanned<DeTable<'i>> {
        let table = match &self.root {
            DeValue::Table(t) => t.clone(),
            _ => DeTable::default(),
        };
        Spanned::new(self.span.clone(), table)
    }
}

/// Calls `visit` with the path and value span of every entry below `value`, depth first.
fn walk(value: &DeValue<'_>, at: &KeyPath, visit: &mut impl FnMut(&KeyPath, Range<usize>)) {
    let mut step = |seg: Seg, child: &Spanned<DeValue<'_>>| {
        let mut path = at.clone();
        path.0.push(seg);
        visit(&path, child.span());
        walk(child.get_ref(), &path, visit);
    };
    match value {
        DeValue::Table(t) => t
            .iter()
            .for_each(|(k, v)| step(Seg::Key(k.get_ref().to_string()), v)),
        DeValue::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| step(Seg::Index(i), v)),
        _ => {}
    }
}

/// 1-based line and column (in characters) of a byte offset into `text`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
