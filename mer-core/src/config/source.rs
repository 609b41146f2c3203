use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Origin};

/// One TOML text and the name errors show for it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// A merged config tree that remembers where each key and value came from.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    pub(super) root: BTreeMap<String, Entry>,
    /// Names of the sources merged, in order; the last one locates root-level problems.
    sources: Vec<Arc<str>>,
}

/// A key's value and origins.
#[derive(Debug, Clone)]
pub struct Entry {
    pub node: Node,
    /// Where the key was written (for unknown-key errors).
    pub key_origin: Origin,
    /// Where the value was written (for type errors).
    pub value_origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Node {
    Table(BTreeMap<String, Entry>),
    Value(toml::Value),
}

impl Source {
    /// Reads a file, refusing non-UTF-8 text with the position of the first bad byte.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).expect("valid prefix");
            let (line, column) = line_column(valid, valid.len());
            ConfigError::NotUtf8 {
                path: path.to_owned(),
                line,
                column,
            }
        })?;
        Ok(Source {
            name: path.display().to_string(),
            text,
        })
    }

    /// An in-memory source.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    pub(super) fn parse(&self) -> Result<RawConfig, ConfigError> {
        let name: Arc<str> = Arc::from(self.name.as_str());
        let lines = LineIndex::new(&self.text);
        let origin_at = |offset: usize| {
            let (line, column) = lines.line_column(&self.text, offset);
            Origin::File {
                name: name.clone(),
                line,
                column,
            }
        };
        let table = DeTable::parse(&self.text).map_err(|e| ConfigError::Syntax {
            origin: origin_at(e.span().map_or(0, |s| s.start)),
            message: e.message().trim().to_owned(),
        })?;
        Ok(RawConfig {
            root: convert_table(table.get_ref(), &origin_at),
            sources: vec![name.clone()],
        })
    }
}

fn convert_table(
    table: &DeTable<'_>,
    origin_at: &impl Fn(usize) -> Origin,
) -> BTreeMap<String, Entry> {
    table
        .iter()
        .map(|(key, value)| {
            let node = match value.get_ref() {
                DeValue::Table(inner) => Node::Table(convert_table(inner, origin_at)),
                other => Node::Value(to_toml(other)),
            };
            let entry = Entry {
                node,
                key_origin: origin_at(key.span().start),
                value_origin: origin_at(value.span().start),
            };
            (key.get_ref().to_string(), entry)
        })
        .collect()
}

/// A parsed TOML value without its spans.
fn to_toml(value: &DeValue<'_>) -> toml::Value {
    match value {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let (sign, digits) = match digits.strip_prefix('-') {
                Some(rest) => (-1, rest.to_owned()),
                None => (1, digits.trim_start_matches('+').to_owned()),
            };
            let digits = match i.radix() {
                10 => digits,
                _ => digits[2..].to_owned(),
            };
            // The parser has checked the literal; only an out-of-range value lands here, and
            // it saturates so that validation reports it as out of range.
            let magnitude = i64::from_str_radix(&digits, i.radix()).unwrap_or(i64::MAX);
            toml::Value::Integer(sign * magnitude)
        }
        DeValue::Float(f) => {
            let text = f.as_str().replace('_', "");
            let value = match text.trim_start_matches('+') {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                other => other.parse().unwrap_or(f64::NAN),
            };
            toml::Value::Float(value)
        }
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(|item: &Spanned<DeValue<'_>>| to_toml(item.get_ref()))
                .collect(),
        ),
        DeValue::Table(table) => toml::Value::Table(
            table
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_toml(v.get_ref())))
                .collect(),
        ),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_column(text, offset)
}

/// Where each line of a text starts, so that every key's position is found by a binary search
/// instead of a scan from the start (a config of many keys would take quadratic time).
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex(starts)
    }

    /// 1-based line and column (in characters) of byte `offset` of `text`.
    fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.0.partition_point(|&start| start <= offset);
        let start = self.0[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }
}

impl RawConfig {
    /// Merges `later` over `self`: its values win, tables merge key by key.
    pub(super) fn merge(&mut self, later: RawConfig) {
        merge_tables(&mut self.root, later.root);
        self.sources.extend(later.sources);
    }

    /// Applies one `dotted.key=value` override.
    pub(super) fn set(&mut self, arg: &str) -> Result<(), ConfigError> {
        let fail = |message: String| ConfigError::Override {
            arg: arg.to_owned(),
            message,
        };
        let (key, text) = arg
            .split_once('=')
            .ok_or_else(|| fail("expected `dotted.key=value`".into()))?;
        let path: Vec<&str> = key.trim().split('.').collect();
        if path.iter().any(|segment| segment.is_empty()) {
            return Err(fail(format!("`{key}` is not a dotted key")));
        }
        // `--set data.root=../meld` should not need TOML quotes: what is not a TOML value is a
        // string.
        let origin = Origin::Override {
            arg: Arc::from(arg),
        };
        // An inline table (`--set 'model.text.lora={ r = 4 }'`) merges like a table in a file.
        let node = match DeValue::parse(text.trim()) {
            Ok(parsed) => match parsed.get_ref() {
                DeValue::Table(table) => Node::Table(convert_table(table, &|_| origin.clone())),
                other => Node::Value(to_toml(other)),
            },
            Err(_) => Node::Value(toml::Value::String(text.to_owned())),
        };
        let mut table = &mut self.root;
        for (depth, segment) in path.iter().enumerate() {
            if depth + 1 == path.len() {
                let entry = Entry {
                    node,
                    key_origin: origin.clone(),
                    value_origin: origin,
                };
                merge_tables(table, BTreeMap::from([(segment.to_string(), entry)]));
                return Ok(());
            }
            let entry = table.entry(segment.to_string()).or_insert_with(|| Entry {
                node: Node::Table(BTreeMap::new()),
                key_origin: origin.clone(),
                value_origin: origin.clone(),
            });
            table = match &mut entry.node {
                Node::Table(inner) => inner,
                Node::Value(_) => {
                    return Err(fail(format!(
                        "`{}` is a value, not a table",
                        path[..=depth].join(".")
                    )));
                }
            };
        }
        unreachable!("the loop returns at the last segment")
    }

    /// The origin of a dotted key's value, if the key was written.
    pub fn origin_of(&self, key: &str) -> Option<&Origin> {
        let mut table = &self.root;
        let mut segments = key.split('.').peekable();
        while let Some(segment) = segments.next() {
            let entry = table.get(segment)?;
            if segments.peek().is_none() {
                return Some(&entry.value_origin);
            }
            match &entry.node {
                Node::Table(inner) => table = inner,
                Node::Value(_) => return None,
            }
        }
        None
    }

    /// A top-level string value and where it was written (`architecture = "unimodal"`).
    pub fn top_level_str(&self, key: &str) -> Result<Option<(String, Origin)>, ConfigError> {
        match self.root.get(key) {
            None => Ok(None),
            Some(Entry {
                node: Node::Value(toml::Value::String(s)),
                value_origin,
                ..
            }) => Ok(Some((s.clone(), value_origin.clone()))),
            Some(entry) => Err(ConfigError::Invalid {
                origin: entry.value_origin.clone(),
                key: key.to_owned(),
                message: "expected a string".into(),
            }),
        }
    }

    /// Sets a top-level string unless the sources already set it.
    pub fn set_default_str(&mut self, key: &str, value: &str) {
        self.root.entry(key.to_owned()).or_insert_with(|| Entry {
            node: Node::Value(toml::Value::String(value.to_owned())),
            key_origin: Origin::Nowhere,
            value_origin: Origin::Nowhere,
        });
    }

    /// Where problems with the whole config are reported: the last source merged.
    pub fn root_origin(&self) -> Origin {
        match self.sources.last() {
            Some(name) => Origin::File {
                name: name.clone(),
                line: 1,
                column: 1,
            },
            None => Origin::Nowhere,
        }
    }
}

fn merge_tables(base: &mut BTreeMap<String, Entry>, later: BTreeMap<String, Entry>) {
    for (key, entry) in later {
        match (base.get_mut(&key), entry.node) {
            (
                Some(Entry {
                    node: Node::Table(existing),
                    ..
                }),
                Node::Table(overlay),
            ) => merge_tables(existing, overlay),
            (_, node) => {
                base.insert(
                    key,
                    Entry {
                        node,
                        key_origin: entry.key_origin,
                        value_origin: entry.value_origin,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_positions_match_a_scan_from_the_start() {
        let text = "a = 1\r\n# café\nb = \"é\"\n\n[t]\nc = 2";
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[start..].chars().count() + 1;
            assert_eq!(
                index.line_column(text, offset),
                (line, column),
                "at {offset}"
            );
        }
    }
}
