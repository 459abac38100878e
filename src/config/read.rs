//! What one read of a config file found, and the error that reports it: every problem with its
//! key path and line, values of the wrong type, and the keys each table was asked for, so that
//! the keys nobody asked for are the unknown ones. Owns `ConfigError`; must never know what a key
//! means (the schema does), stop at the first problem it can report alongside others, or read a
//! secret.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::table::Table;

/// Why a config could not be loaded. Every variant is fatal: the CLI exits 78 (`EX_CONFIG`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or unreadable.
    /// The message leaves the cause to its source, so an error chain names it once.
    #[error("cannot read config file {}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not TOML, or a value has the wrong type (a string where a number belongs):
    /// exactly one, the first in the file.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed TOML with unknown keys or values out of range, all of them, in file order.
    #[error("invalid config, {} problem{}:{}", .0.len(), if .0.len() == 1 { "" } else { "s" },
        .0.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Invalid(Vec<Problem>),
}

/// One thing wrong with the config: the key path, what is wrong, and the line when the key is in
/// the file (a relation broken by a default value has no line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub line: Option<usize>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Where a key or array element is: its path as messages print it (`alerts.regime_timeframes[2]`)
/// and its line, `None` when the file does not have it (a default).
#[derive(Debug, Clone, Default)]
pub(super) struct Loc {
    pub(super) path: String,
    pub(super) line: Option<usize>,
}

/// What the tables of one file share: the text, where relative paths start, and what was found.
pub(super) struct Reader<'a> {
    text: &'a str,
    pub(super) base_dir: &'a Path,
    problems: RefCell<Vec<Problem>>,
    /// Values of the wrong type, by byte offset.
    type_errors: RefCell<Vec<(usize, String)>>,
    /// Every table the schema opened, with the keys it asked for, in that order.
    opened: RefCell<Vec<(String, &'a DeTable<'a>, Vec<&'static str>)>>,
}

impl<'a> Reader<'a> {
    /// Reads `text` with the schema `read`: the text is parsed once into toml's spanned table,
    /// which `read` reads key by key; what it does not like, and every key it never asked for, is
    /// the error.
    pub(super) fn read<T>(
        text: &str,
        base_dir: &Path,
        read: fn(&Table) -> T,
    ) -> Result<T, ConfigError> {
        let root = DeTable::parse(text).map_err(|e| {
            let what = e.message().trim_end().trim_end_matches('.');
            let message = format!("not valid toml: {what}");
            syntax(text, e.span().map_or(0, |s| s.start), message)
        })?;
        let (problems, type_errors, opened) = Default::default();
        let reader = Reader {
            text,
            base_dir,
            problems,
            type_errors,
            opened,
        };
        let value = read(&reader.open(Loc::default(), root.get_ref()));
        reader.finish().map(|()| value)
    }

    /// Starts reading `table`, found at `at`: from now on its keys are unknown unless the schema
    /// asks for them. Opening it again continues the same reading.
    pub(super) fn open<'r>(&'r self, at: Loc, table: &'a DeTable<'a>) -> Table<'r, 'a> {
        let mut opened = self.opened.borrow_mut();
        let found = opened.iter().position(|(path, ..)| *path == at.path);
        let id = found.unwrap_or_else(|| {
            opened.push((at.path.clone(), table, Vec::new()));
            opened.len() - 1
        });
        Table::new(self, at, Some((table, id)))
    }

    /// Marks `key` of the opened table `id` as known.
    pub(super) fn know(&self, id: usize, key: &'static str) {
        let known = &mut self.opened.borrow_mut()[id].2;
        if !known.contains(&key) {
            known.push(key);
        }
    }

    /// `path` on the line of byte `offset`.
    pub(super) fn loc(&self, path: String, offset: usize) -> Loc {
        let line = Some(line_col(self.text, offset).0);
        Loc { path, line }
    }

    pub(super) fn report(&self, at: &Loc, message: String) {
        let (path, line) = (at.path.clone(), at.line);
        self.problems.borrow_mut().push(Problem {
            path,
            message,
            line,
        });
    }

    /// Records `v` at `at` as not of the type `what`, for a reader that then gives `None`.
    pub(super) fn wrong_type<T>(&self, at: &Loc, v: &Spanned<DeValue>, what: &str) -> Option<T> {
        let found = match v.get_ref() {
            DeValue::String(s) => format!("string {s:?}"),
            DeValue::Integer(i) => format!("integer `{i}`"),
            DeValue::Float(f) => format!("floating point `{f}`"),
            DeValue::Boolean(b) => format!("boolean `{b}`"),
            // serde's words, which the toml crate used to give (it shows a datetime as a map).
            DeValue::Array(_) => "sequence".to_owned(),
            _ => "map".to_owned(),
        };
        let message = format!("{}: invalid type: {found}, expected {what}", at.path);
        let offset = v.span().start;
        self.type_errors.borrow_mut().push((offset, message));
        None
    }

    /// The outcome. A value of the wrong type is a `Syntax` error on its own (the first in the
    /// file, as when serde stopped at it); otherwise every problem in file order, unknown keys
    /// first on their line, those without a line (a relation broken by a default) last.
    fn finish(self) -> Result<(), ConfigError> {
        if let Some((offset, message)) = self.type_errors.take().into_iter().min_by_key(|e| e.0) {
            return Err(syntax(self.text, offset, message));
        }
        let found = self.problems.take();
        for (path, table, known) in self.opened.take() {
            let hint = format!("expected one of: {}", known.join(", "));
            for (key, value) in table.iter() {
                if !known.contains(&&**key.get_ref()) {
                    let at = self.loc(join(&path, key.get_ref()), key.span().start);
                    self.unknown(&at, value.get_ref(), Some(&hint));
                }
            }
        }
        let mut problems = self.problems.take();
        problems.extend(found);
        problems.sort_by_key(|p| (p.line.is_none(), p.line));
        match problems.is_empty() {
            true => Ok(()),
            false => Err(ConfigError::Invalid(problems)),
        }
    }

    /// Reports an unknown key, and every secret-looking key below it: a whole unknown `[telegram]`
    /// table is one unknown key, but its `bot_token` deserves the environment hint too.
    fn unknown(&self, at: &Loc, value: &DeValue<'_>, hint: Option<&str>) {
        let key = at.path.rsplit('.').next().unwrap_or_default();
        let key = key.to_ascii_lowercase();
        let words = "token password passwd secret api_key apikey private_key";
        if !key.ends_with(']') && words.split(' ').any(|w| key.contains(w)) {
            self.report(at, format!("unknown key ({SECRETS_HINT})"));
        } else if let Some(hint) = hint {
            self.report(at, format!("unknown key, {hint}"));
        }
        let below = |path: String, offset: usize, value: &Spanned<DeValue<'_>>| {
            self.unknown(&self.loc(path, offset), value.get_ref(), None);
        };
        let index = |i| format!("{}[{i}]", at.path);
        match value {
            DeValue::Table(t) => t
                .iter()
                .for_each(|(k, v)| below(join(&at.path, k.get_ref()), k.span().start, v)),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| below(index(i), v.span().start, v)),
            _ => {}
        }
    }
}

const SECRETS_HINT: &str = "secrets are read from the environment, never from the config file";

fn syntax(text: &str, offset: usize, message: String) -> ConfigError {
    let (line, column) = line_col(text, offset);
    ConfigError::Syntax {
        line,
        column,
        message,
    }
}

/// `table.key`, with a key that is not a bare TOML key quoted so the path can be pasted back.
pub(super) fn join(table: &str, key: &str) -> String {
    let bare = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let key = match !key.is_empty() && key.bytes().all(bare) {
        true => key.to_owned(),
        false => format!("{key:?}"),
    };
    match table {
        "" => key,
        _ => format!("{table}.{key}"),
    }
}

/// 1-based line and column (in characters) of a byte offset into `text`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
