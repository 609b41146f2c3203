//! Schema-driven validation: every key known, every type right, defaults filled in.

use std::collections::BTreeMap;

use super::error::{ConfigError, Origin};
use super::source::{Entry, Node};
use crate::config::schema::{Kind, TableSchema};

/// Validates `entries` against `schema`, returning the complete table (defaults filled in).
pub fn table(
    schema: &TableSchema,
    entries: &BTreeMap<String, Entry>,
    path: &str,
    origin: &Origin,
) -> Result<toml::Table, ConfigError> {
    let known: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
    if let Some((key, entry)) = entries.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(ConfigError::Invalid {
            origin: entry.key_origin.clone(),
            key: join(path, key),
            message: format!("unknown key (expected one of: {})", known.join(", ")),
        });
    }
    let mut out = toml::Table::new();
    for field in &schema.fields {
        let key = join(path, field.name);
        match entries.get(field.name) {
            Some(entry) => {
                if let Some(value) = node(&field.kind, &entry.node, &key, &entry.value_origin)? {
                    out.insert(field.name.to_owned(), value);
                }
            }
            None => {
                if let Some(default) = &field.default {
                    out.insert(field.name.to_owned(), default.clone());
                } else if let Kind::Map(_) = &field.kind {
                    out.insert(
                        field.name.to_owned(),
                        toml::Value::Table(toml::Table::new()),
                    );
                } else if let Kind::Table(inner) = &field.kind
                    && field.kind.is_defaultable()
                {
                    let filled = table(inner, &BTreeMap::new(), &key, origin)?;
                    out.insert(field.name.to_owned(), toml::Value::Table(filled));
                } else if !matches!(field.kind, Kind::Optional(_)) {
                    return Err(ConfigError::Invalid {
                        origin: origin.clone(),
                        key,
                        message: format!("missing required key ({})", field.kind.describe()),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// `Ok(None)` only for an optional value that is absent, which cannot happen for a node that
/// exists; kept as `Option` so tables and values share one path.
fn node(
    kind: &Kind,
    node: &Node,
    key: &str,
    origin: &Origin,
) -> Result<Option<toml::Value>, ConfigError> {
    match (kind, node) {
        (Kind::Optional(inner), node) => self::node(inner, node, key, origin),
        (Kind::Table(schema), Node::Table(entries)) => Ok(Some(toml::Value::Table(table(
            schema, entries, key, origin,
        )?))),
        (Kind::Map(inner), Node::Table(entries)) => {
            let mut out = toml::Table::new();
            for (name, entry) in entries {
                let item_key = join(key, name);
                if let Some(value) = self::node(inner, &entry.node, &item_key, &entry.value_origin)?
                {
                    out.insert(name.clone(), value);
                }
            }
            Ok(Some(toml::Value::Table(out)))
        }
        (Kind::Table(_) | Kind::Map(_), Node::Value(value)) => {
            Err(mismatch(kind, value, key, origin))
        }
        (kind, Node::Table(_)) => Err(ConfigError::Invalid {
            origin: origin.clone(),
            key: key.to_owned(),
            message: format!("expected {}, found a table", kind.describe()),
        }),
        (kind, Node::Value(value)) => scalar(kind, value, key, origin).map(Some),
    }
}

fn scalar(
    kind: &Kind,
    value: &toml::Value,
    key: &str,
    origin: &Origin,
) -> Result<toml::Value, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        origin: origin.clone(),
        key: key.to_owned(),
        message,
    };
    match (kind, value) {
        (Kind::Bool, toml::Value::Boolean(_)) | (Kind::String, toml::Value::String(_)) => {
            Ok(value.clone())
        }
        (Kind::Integer { min, max }, toml::Value::Integer(i)) => {
            if i < min || i > max {
                Err(invalid(if *min == 0 && *max == i64::MAX {
                    format!("expected a non-negative integer, found {i}")
                } else {
                    format!("expected an integer in {min}..={max}, found {i}")
                }))
            } else {
                Ok(value.clone())
            }
        }
        (Kind::Float, toml::Value::Integer(i)) => Ok(toml::Value::Float(*i as f64)),
        (Kind::Float, toml::Value::Float(f)) => {
            if f.is_finite() {
                Ok(value.clone())
            } else {
                Err(invalid(format!("expected a finite float, found {f}")))
            }
        }
        (Kind::Enum(e), toml::Value::String(s)) => {
            if e.variants.iter().any(|v| v.name == s) {
                Ok(value.clone())
            } else {
                Err(invalid(format!(
                    "expected {}, found \"{s}\"",
                    kind.describe()
                )))
            }
        }
        (Kind::Array(inner), toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let item_key = format!("{key}[{i}]");
                match (inner.as_ref(), item) {
                    (Kind::Table(schema), toml::Value::Table(t)) => {
                        let entries = value_table_entries(t, origin);
                        table(schema, &entries, &item_key, origin).map(toml::Value::Table)
                    }
                    (inner, item) => scalar(inner, item, &item_key, origin),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(toml::Value::Array),
        (Kind::Optional(inner), value) => scalar(inner, value, key, origin),
        (kind, value) => Err(mismatch(kind, value, key, origin)),
    }
}

/// Tables inside arrays carry no positions of their own: they take the array's.
fn value_table_entries(t: &toml::Table, origin: &Origin) -> BTreeMap<String, Entry> {
    t.iter()
        .map(|(k, v)| {
            let node = match v {
                toml::Value::Table(inner) => Node::Table(value_table_entries(inner, origin)),
                other => Node::Value(other.clone()),
            };
            let entry = Entry {
                node,
                key_origin: origin.clone(),
                value_origin: origin.clone(),
            };
            (k.clone(), entry)
        })
        .collect()
}

fn mismatch(kind: &Kind, value: &toml::Value, key: &str, origin: &Origin) -> ConfigError {
    let found = match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    };
    ConfigError::Invalid {
        origin: origin.clone(),
        key: key.to_owned(),
        message: format!("expected {}, found {found}", kind.describe()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
