use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a config value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A position in a TOML source (1-based line and column).
    File {
        name: Arc<str>,
        line: usize,
        column: usize,
    },
    /// A `--set` argument.
    Override { arg: Arc<str> },
    /// No source at all (nothing was loaded).
    Nowhere,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { name, line, column } => write!(f, "{name}:{line}:{column}"),
            Origin::Override { arg } => write!(f, "--set {arg}"),
            Origin::Nowhere => f.write_str("<no config>"),
        }
    }
}

/// Why a config could not be loaded; every variant names where.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}:{line}:{column}: not valid UTF-8", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("{origin}: {message}")]
    Syntax { origin: Origin, message: String },
    #[error("{origin}: {}{message}", key_prefix(key))]
    Invalid {
        origin: Origin,
        /// The dotted key path (`model.fusion.alpha`); empty for the root.
        key: String,
        message: String,
    },
    #[error("--set {arg}: {message}")]
    Override { arg: String, message: String },
    /// No config was given where one is needed.
    #[error("{0}")]
    Missing(String),
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

impl ConfigError {
    /// Bad input exits with 2, like a usage error.
    pub const EXIT_CODE: i32 = 2;
}
