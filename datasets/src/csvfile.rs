//! CSV files with named columns, whose every error names the file, line and column.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{DatasetError, LabelSet};

/// An open CSV file whose header has every column a reader needs.
pub struct CsvFile {
    path: PathBuf,
    reader: csv::Reader<File>,
    columns: HashMap<String, usize>,
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
        let file = File::open(path).map_err(|error| DatasetError::Read {
            path: path.to_owned(),
            error,
        })?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
        let header = reader.headers().map_err(|e| csv_error(path, e))?;
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
        })
    }

    /// Calls `each` on every record, in file order.
    pub fn for_each(
        mut self,
        mut each: impl FnMut(&Row<'_>) -> Result<(), DatasetError>,
    ) -> Result<(), DatasetError> {
        for record in self.reader.records() {
            let record = record.map_err(|e| csv_error(&self.path, e))?;
            let line = record.position().map_or(0, |p| p.line());
            each(&Row {
                path: &self.path,
                line,
                record,
                columns: &self.columns,
            })?;
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

fn csv_error(path: &Path, error: csv::Error) -> DatasetError {
    let line = error.position().map_or(0, |p| p.line());
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
