use std::path::PathBuf;

/// Why a dataset could not be read; every variant names the file and, for content, the row
/// (line in the file) and column.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}:{line}: column {column}: {message}", path.display())]
    Field {
        path: PathBuf,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}: no column `{column}` in the header", path.display())]
    MissingColumn { path: PathBuf, column: String },
    #[error("{}: no rows after the header", .0.display())]
    NoRows(PathBuf),
    #[error("{0} has no {1} labels")]
    NoLabels(&'static str, &'static str),
    #[error("data.root is required for {0} (only the demo dataset is built in)")]
    NoRoot(&'static str),
}
