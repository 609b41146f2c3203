//! The identity hash that names checkpoints.
//!
//! It is the first 8 hex digits of SHA-256 over a canonical text of the architecture config:
//! keys sorted, every default filled in (the typed config has them all), integers in decimal and
//! floats in Rust's shortest round-trip exponent form (`1e-1`, `1.25e2`), so that one value has
//! one text. Reordering keys, comments, or writing a default explicitly cannot change it; any
//! architecture value does. Settings outside `model` (seed, batch size, data) are not part of it;
//! the training settings that change the weights have a hash of their own, computed the same
//! way, beside it in the run's folder name (`RunConfig::training_identity`).

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::schema::Kind;

/// Bumped only if the canonical form itself has to change; golden vectors guard it.
const DOMAIN: &str = "mer-architecture-v1";

/// An architecture identity: 8 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Identity(String);

impl Identity {
    /// The hash of architecture `name` configured by `model`.
    pub fn of(name: &str, model: &impl Serialize) -> Self {
        Self::of_value(
            name,
            &toml::Value::try_from(model).expect("configs serialise"),
        )
    }

    /// The hash of architecture `name` configured by `model`, of schema `kind`: keys the
    /// schema marks as not hashed (where to find something, not what it is) are left out.
    pub fn of_config(name: &str, model: &impl Serialize, kind: &Kind) -> Self {
        let value = toml::Value::try_from(model).expect("configs serialise");
        Self::of_value(name, &hashed_part(value, kind))
    }

    fn of_value(name: &str, value: &toml::Value) -> Self {
        let canonical = canonical_form(value);
        let mut hasher = Sha256::new();
        for part in [DOMAIN, name, &canonical] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        Identity(hex(&hasher.finalize())[..8].to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `value` (of schema `kind`) without the keys the schema marks as not hashed.
fn hashed_part(value: toml::Value, kind: &Kind) -> toml::Value {
    match (value, kind) {
        (value, Kind::Optional(inner)) => hashed_part(value, inner),
        (toml::Value::Table(table), Kind::Table(schema)) => toml::Value::Table(
            table
                .into_iter()
                .filter_map(
                    |(key, value)| match schema.fields.iter().find(|f| f.name == key) {
                        Some(field) if !field.hashed => None,
                        Some(field) => Some((key, hashed_part(value, &field.kind))),
                        None => Some((key, value)),
                    },
                )
                .collect(),
        ),
        (toml::Value::Table(table), Kind::Map(inner)) => toml::Value::Table(
            table
                .into_iter()
                .map(|(key, value)| (key, hashed_part(value, inner)))
                .collect(),
        ),
        (toml::Value::Array(items), Kind::Array(inner)) => toml::Value::Array(
            items
                .into_iter()
                .map(|item| hashed_part(item, inner))
                .collect(),
        ),
        (value, _) => value,
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical JSON text of a config value (see the module docs).
pub fn canonical_form(value: &toml::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &toml::Value, out: &mut String) {
    match value {
        toml::Value::String(s) => {
            out.push_str(&serde_json::to_string(s).expect("strings serialise"));
        }
        toml::Value::Integer(i) => out.push_str(&i.to_string()),
        toml::Value::Float(f) => out.push_str(&format!("{f:e}")),
        toml::Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        toml::Value::Datetime(d) => {
            out.push_str(&serde_json::to_string(&d.to_string()).expect("strings serialise"));
        }
        toml::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        toml::Value::Table(table) => {
            // Sorted explicitly: the map's order depends on a cargo feature of `toml`.
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("strings serialise"));
                out.push(':');
                write_canonical(&table[key], out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_and_writes_one_text_per_number() {
        let value: toml::Value = toml::from_str("b = 0.1\na = 2\n[c]\nz = 1.0\ny = \"s\"").unwrap();
        assert_eq!(
            canonical_form(&value),
            r#"{"a":2,"b":1e-1,"c":{"y":"s","z":1e0}}"#
        );
    }

    #[test]
    fn floats_that_print_alike_in_decimal_stay_distinct() {
        let a = canonical_form(&toml::Value::Float(0.1 + 0.2));
        let b = canonical_form(&toml::Value::Float(0.3));
        assert_ne!(a, b);
    }
}
