//! Line-level reading of plain or gzip text files and header-driven column lookup.
//! No allocation per row here: one reused line buffer per file, fields borrowed from it. Memory
//! is bounded: a line longer than [`MAX_LINE_BYTES`] stops the read with an error, and a `.gz` file
//! is decompressed as it is read, one buffer at a time.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::error::{ReplayError, RowError};
use super::report::FileReport;

/// Read buffer size: large enough that the decoder and the parser see long runs of bytes, small
/// enough for a streaming replay that keeps three files per pair open (gzip adds its own 32 KiB and its window).
const BUF_BYTES: usize = 32 * 1024;

/// The longest line read, line end included: thousands of times a real row (about 100 bytes),
/// small enough that a file without line ends (or a gzip bomb of one) cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

enum Source {
    Plain(BufReader<File>),
    Gz(BufReader<MultiGzDecoder<File>>),
}

/// One line: its 1-based number in the file and its text, or why it has none (not UTF-8).
pub(super) type Line<'a> = (usize, Result<&'a str, RowError>);

/// Reads a file line by line into one reused buffer; `.gz` files are decompressed on the fly.
pub(super) struct LineReader {
    source: Source,
    buf: Vec<u8>,
    line: usize,
    path: PathBuf,
}

impl LineReader {
    pub(super) fn open(path: &Path) -> Result<Self, ReplayError> {
        let file = File::open(path).map_err(|source| ReplayError::Read {
            path: path.to_owned(),
            source,
        })?;
        let source = if path.extension().is_some_and(|e| e == "gz") {
            Source::Gz(BufReader::with_capacity(
                BUF_BYTES,
                MultiGzDecoder::new(file),
            ))
        } else {
            Source::Plain(BufReader::with_capacity(BUF_BYTES, file))
        };
        Ok(LineReader {
            source,
            buf: Vec::with_capacity(256),
            line: 0,
            path: path.to_owned(),
        })
    }

    /// The next non-blank line with its 1-based number, line end stripped; `None` at the end.
    /// A line that is not UTF-8 comes back as a row error, so the caller can count and skip it;
    /// a line longer than [`MAX_LINE_BYTES`] is an error naming the file and line.
    pub(super) fn next_line(&mut self) -> Result<Option<Line<'_>>, ReplayError> {
        let end = loop {
            self.buf.clear();
            let cap = MAX_LINE_BYTES as u64;
            let n = match &mut self.source {
                Source::Plain(r) => r.by_ref().take(cap).read_until(b'\n', &mut self.buf),
                Source::Gz(r) => r.by_ref().take(cap).read_until(b'\n', &mut self.buf),
            }
            .map_err(|e| self.read_error(e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if n == MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
                return Err(ReplayError::LineTooLong {
                    path: self.path.clone(),
                    line: self.line,
                    limit: MAX_LINE_BYTES,
                });
            }
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if !self.buf[..end].iter().all(u8::is_ascii_whitespace) {
                break end;
            }
        };
        let text = std::str::from_utf8(&self.buf[..end]).map_err(|_| RowError::Utf8);
        Ok(Some((self.line, text)))
    }

    fn read_error(&self, source: io::Error) -> ReplayError {
        let path = self.path.clone();
        let corrupt = matches!(
            source.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
        );
        match self.source {
            Source::Gz(_) if corrupt => ReplayError::Gzip {
                path,
                line: self.line + 1,
                source,
            },
            _ => ReplayError::Read { path, source },
        }
    }
}

/// A column a file format knows: its canonical name and other header spellings accepted for it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    pub(super) name: &'static str,
    pub(super) aliases: &'static [&'static str],
    pub(super) required: bool,
}

impl Column {
    pub(super) const fn required(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Column {
            name,
            aliases,
            required: true,
        }
    }

    pub(super) const fn optional(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Column {
            name,
            aliases,
            required: false,
        }
    }

    fn matches(&self, header_name: &str) -> bool {
        let h = header_name.trim().trim_start_matches('\u{feff}');
        h.eq_ignore_ascii_case(self.name) || self.aliases.iter().any(|a| h.eq_ignore_ascii_case(a))
    }
}

/// Where each known column sits in a file, found by name from its header line.
pub(super) struct Columns<const N: usize> {
    /// For each position in a row: the index into the caller's column list, if it is one of them.
    slot_at: Vec<Option<usize>>,
}

impl<const N: usize> Columns<N> {
    /// Maps the header; a missing required column is an error naming the file.
    pub(super) fn from_header(
        path: &Path,
        header: &str,
        columns: &[Column; N],
    ) -> Result<Self, ReplayError> {
        let mut present = [false; N];
        let slot_at = header
            .split(',')
            .map(|name| {
                let slot = columns
                    .iter()
                    .position(|c| c.matches(name))
                    .filter(|&i| !present[i]);
                if let Some(i) = slot {
                    present[i] = true;
                }
                slot
            })
            .collect();
        if let Some(missing) = columns.iter().zip(present).find(|(c, p)| c.required && !p) {
            return Err(ReplayError::MissingColumn {
                path: path.to_owned(),
                column: missing.0.name,
            });
        }
        Ok(Columns { slot_at })
    }

    /// The row's fields in the caller's column order (`""` for a column the header lacks).
    pub(super) fn split<'a>(&self, line: &'a str) -> Result<[&'a str; N], RowError> {
        let mut out = [""; N];
        let mut found = 0;
        for field in line.split(',') {
            if let Some(Some(slot)) = self.slot_at.get(found) {
                out[*slot] = field;
            }
            found += 1;
        }
        if found == self.slot_at.len() {
            Ok(out)
        } else {
            Err(RowError::ColumnCount {
                expected: self.slot_at.len(),
                found,
            })
        }
    }
}

/// A CSV file whose first line is its header, read row by row.
pub(super) struct CsvReader<const N: usize> {
    lines: LineReader,
    columns: Columns<N>,
}

impl<const N: usize> CsvReader<N> {
    /// Opens `path` and maps its header onto `columns`.
    pub(super) fn open(path: &Path, columns: &[Column; N]) -> Result<Self, ReplayError> {
        let mut lines = LineReader::open(path)?;
        let missing_header = || ReplayError::MissingHeader {
            path: path.to_owned(),
        };
        let (_, header) = lines.next_line()?.ok_or_else(missing_header)?;
        let columns = Columns::from_header(path, header.map_err(|_| missing_header())?, columns)?;
        Ok(CsvReader { lines, columns })
    }

    /// Hands each row's fields (in `columns` order) to `row` until it makes an event, which is
    /// counted in `report`; a row it rejects is counted as malformed. `None` at the end.
    pub(super) fn next_event<T>(
        &mut self,
        report: &mut FileReport,
        mut row: impl FnMut([&str; N], &mut FileReport) -> Result<T, RowError>,
    ) -> Result<Option<T>, ReplayError> {
        while let Some((line, text)) = self.lines.next_line()? {
            match text
                .and_then(|t| self.columns.split(t))
                .and_then(|fields| row(fields, report))
            {
                Ok(event) => {
                    report.events += 1;
                    return Ok(Some(event));
                }
                Err(error) => report.malformed(line, error),
            }
        }
        Ok(None)
    }
}

/// A required number; `column` names it in the error.
pub(super) fn number(field: &str, column: &'static str) -> Result<f64, RowError> {
    field.parse().map_err(|_| RowError::Number { column })
}

/// An optional number: an empty field is `None`, anything else must parse.
pub(super) fn optional_number(field: &str, column: &'static str) -> Result<Option<f64>, RowError> {
    if field.is_empty() {
        Ok(None)
    } else {
        number(field, column).map(Some)
    }
}

/// A time in epoch milliseconds.
pub(super) fn millis(field: &str, column: &'static str) -> Result<i64, RowError> {
    field.parse().map_err(|_| RowError::Number { column })
}
