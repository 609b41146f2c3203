//! CSV files with named columns, whose every error names the file, line and column.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{DatasetError, LabelSet};

/// An open CSV file whose header has every column a reader needs.
pub struct CsvFile {
    path: PathBuf,
    reader: csv::Reader<Cursor<Vec<u8>>>,
    columns: HashMap<String, usize>,
    lines: Lines,
}

/// Where the file's line breaks are, to number lines by byte offset: the csv crate counts a
/// CRLF file's lines one short (real MELD files end their lines with CRLF).
struct Lines(Vec<u64>);

impl Lines {
    fn new(bytes: &[u8]) -> Self {
        Lines(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i as u64)
                .collect(),
        )
    }

    /// The 1-based line of the record the csv crate says starts at byte `start`. In a CRLF
    /// file that byte can be the `\n` ending the line before, which belongs to that line.
    fn of(&self, start: u64) -> u64 {
        self.0.partition_point(|&newline| newline <= start) as u64 + 1
    }
}

/// One record and where it is.
pub struct Row<'a> {
    path: &'a Path,
    line: u64,
    record: csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl CsvFile {
    pub fn open(path: &Path, required: &[&str]) -> Result<Self, DatasetError> {
        let bytes = std::fs::read(path).map_err(|error| DatasetError::Read {
            path: path.to_owned(),
            error,
        })?;
        let lines = Lines::new(&bytes);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(Cursor::new(bytes));
        let header = reader.headers().map_err(|e| csv_error(path, e, &lines))?;
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim().trim_start_matches('\u{feff}').to_owned(), i))
            .collect();
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(DatasetError::MissingColumn {
                path: path.to_owned(),
                column: (*missing).to_owned(),
            });
        }
        Ok(CsvFile {
            path: path.to_owned(),
            reader,
            columns,
            lines,
        })
    }

    /// Calls `each` on every record, in file order; a file of no records is an error.
    pub fn for_each(
        mut self,
        mut each: impl FnMut(&Row<'_>) -> Result<(), DatasetError>,
    ) -> Result<(), DatasetError> {
        let mut rows = 0;
        for record in self.reader.records() {
            rows += 1;
            let record = record.map_err(|e| csv_error(&self.path, e, &self.lines))?;
            let line = record.position().map_or(0, |p| self.lines.of(p.byte()));
            each(&Row {
                path: &self.path,
                line,
                record,
                columns: &self.columns,
            })?;
        }
        if rows == 0 {
            return Err(DatasetError::NoRows(self.path));
        }
        Ok(())
    }
}

impl Row<'_> {
    /// A column's text; the column is known to exist.
    pub fn get(&self, column: &str) -> &str {
        self.record.get(self.columns[column]).unwrap_or("")
    }

    pub fn parse<T: FromStr>(&self, column: &str) -> Result<T, DatasetError> {
        let text = self.get(column).trim();
        text.parse().map_err(|_| {
            self.error(
                column,
                format!("expected {}, found {text:?}", std::any::type_name::<T>()),
            )
        })
    }

    /// A label column, as an index into `labels`.
    pub fn label(&self, column: &str, labels: &LabelSet) -> Result<usize, DatasetError> {
        let text = self.get(column);
        labels.index(text).ok_or_else(|| {
            self.error(
                column,
                format!("unknown label {text:?} (expected {})", labels.describe()),
            )
        })
    }

    pub fn error(&self, column: &str, message: String) -> DatasetError {
        DatasetError::Field {
            path: self.path.to_owned(),
            line: self.line,
            column: format!("{} ({column})", self.columns[column] + 1),
            message,
        }
    }
}

fn csv_error(path: &Path, error: csv::Error, lines: &Lines) -> DatasetError {
    let line = error.position().map_or(0, |p| lines.of(p.byte()));
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        _ => error.to_string(),
    };
    DatasetError::Row {
        path: path.to_owned(),
        line,
        message,
    }
}
