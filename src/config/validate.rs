//! Turns config text into a checked `Config` or a `ConfigError` listing every problem at once.
//! Owns the error types and the order of the passes (parse, unknown keys, range checks); must
//! never read a secret, and must never stop at the first problem it can report alongside others.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, Deserializer};

use super::Config;
use super::check::Checker;
use super::locate::{Document, KeyPath, Seg, line_col};
use super::raw::{self, RawConfig};

/// Exit status for an invalid configuration (`EX_CONFIG` from BSD `sysexits.h`), so systemd's
/// `ExecStartPre=liqwave check-config` and scripts can tell it from a runtime failure.
const EX_CONFIG: u8 = 78;

/// Why a config could not be loaded. Every variant is fatal and maps to exit code 78.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or unreadable.
    #[error("cannot read config file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not TOML, or a value has the wrong type (a string where a number belongs);
    /// serde stops at the first of these, so there is exactly one.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed TOML with unknown keys or values out of range, all of them, in file order.
    #[error("{}", InvalidList(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The process exit code for this error: always 78 (`EX_CONFIG`).
    pub fn exit_code(&self) -> u8 {
        EX_CONFIG
    }
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

struct InvalidList<'a>(&'a [Problem]);

impl fmt::Display for InvalidList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid config, {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

pub(super) fn validate(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    let root = DeTable::parse(text).map_err(|e| syntax_error(text, None, &e))?;
    let doc = Document::new(text, root);

    // serde_ignored sees every key the structs do not consume, so all typos are reported
    // together; `deny_unknown_fields` would stop at the first.
    let mut unknown = Vec::new();
    let raw: RawConfig = serde_ignored::deserialize(Deserializer::from(doc.root()), |path| {
        unknown.push(key_path(&path))
    })
    .map_err(|e| syntax_error(text, Some(&doc), &e))?;

    let mut checker = Checker::new(&doc);
    for path in &unknown {
        report_unknown(&mut checker, &doc, path);
    }
    let config = checker.config(raw, base_dir);
    let mut problems = checker.problems;
    if problems.is_empty() {
        return Ok(config);
    }
    // File order reads best; problems without a line (broken by a default) go last.
    problems.sort_by_key(|p| (p.line.is_none(), p.line));
    Err(ConfigError::Invalid(problems))
}

/// A parse or type error, located by its span. For a type error the key is recovered from the
/// span, since the toml error itself does not expose its key path.
fn syntax_error(text: &str, doc: Option<&Document<'_>>, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |s| s.start);
    let (line, column) = line_col(text, offset);
    let what = plain_words(error.message().trim_end().trim_end_matches('.'));
    let message = match doc.map(|d| d.path_at(offset)).filter(|p| !p.0.is_empty()) {
        Some(path) => format!("{path}: {what}"),
        None => format!("not valid toml: {what}"),
    };
    ConfigError::Syntax {
        line,
        column,
        message,
    }
}

/// Serde names Rust types in its messages; a config author thinks in TOML types.
fn plain_words(message: &str) -> String {
    let mut out = message
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
        .replace("expected a sequence", "expected an array")
        .replace("expected a boolean", "expected true or false");
    if let Some(at) = out.find("expected struct Raw") {
        out.replace_range(at.., "expected a table");
    }
    out
}

fn key_path(path: &serde_ignored::Path<'_>) -> KeyPath {
    fn push(path: &serde_ignored::Path<'_>, segs: &mut Vec<Seg>) {
        use serde_ignored::Path as P;
        match path {
            P::Root => {}
            P::Seq { parent, index } => {
                push(parent, segs);
                segs.push(Seg::Index(*index));
            }
            P::Map { parent, key } => {
                push(parent, segs);
                segs.push(Seg::Key(key.clone()));
            }
            P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
                push(parent, segs);
            }
        }
    }
    let mut segs = Vec::new();
    push(path, &mut segs);
    KeyPath(segs)
}

const SECRETS_HINT: &str = "secrets are read from the environment, never from the config file";

/// Reports an unknown key with the keys its table does accept, and names any secret-looking key
/// at or below it (a whole unknown `[telegram]` table is one ignored path).
fn report_unknown(checker: &mut Checker<'_, '_>, doc: &Document<'_>, path: &KeyPath) {
    let keys: Vec<&str> = path.keys().collect();
    let parent = &keys[..keys.len().saturating_sub(1)];
    let message = if looks_secret(path) {
        format!("unknown key ({SECRETS_HINT})")
    } else {
        match raw::known_keys(parent) {
            Some(known) => format!("unknown key, expected one of: {}", known.join(", ")),
            None => "unknown key".to_owned(),
        }
    };
    checker.report(path, message);
    for inner in doc.subtree_paths(path).iter().skip(1) {
        if looks_secret(inner) {
            checker.report(inner, format!("unknown key ({SECRETS_HINT})"));
        }
    }
}

fn looks_secret(path: &KeyPath) -> bool {
    const WORDS: [&str; 7] = [
        "token",
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "private_key",
    ];
    path.0.last().is_some_and(|seg| match seg {
        Seg::Key(k) => {
            let k = k.to_ascii_lowercase();
            WORDS.iter().any(|w| k.contains(w))
        }
        Seg::Index(_) => false,
    })
}
