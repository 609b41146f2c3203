//! The typed description of a config: what keys exist, their types, defaults and docs.
//!
//! `#[config]` and `#[derive(Architecture)]` implement [`ConfigValue`]; validation
//! ([`crate::config`]), the JSON Schema ([`super::json_schema`]) and the Markdown reference
//! ([`crate::config::reference`]) all read the same [`Kind`], so they cannot disagree.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A type that can stand in a config: it describes itself and round-trips through serde.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a config value: it is neither a scalar nor a `#[config]` type",
    label = "not a config value",
    note = "hyper-parameters are bool, integers, floats, String, Vec or Option of those, or types marked #[config]; a Burn module field needs a role: #[encoder(modality = \"T\")], #[fusion], #[head] or #[teacher]"
)]
pub trait ConfigValue: Serialize + DeserializeOwned + Clone + std::fmt::Debug + PartialEq {
    /// Always `Self`. Generated configs name hyper-parameter fields through it, so a type that
    /// is not a config value fails with this trait's message alone, not serde's.
    type Checked;

    /// The schema of this type.
    fn kind() -> Kind;

    /// Checks what types cannot (`hidden` divisible by `heads`, widths that must agree).
    fn check(&self) -> Result<(), Problem> {
        Ok(())
    }

    /// Fills in what other keys decide (widths, class counts), before [`ConfigValue::check`].
    /// Only a config's root needs it: it sees the keys that decide.
    fn complete(&mut self) -> Result<(), Problem> {
        Ok(())
    }

    /// The named loss terms a part configured by this value adds to the training loss
    /// (`disentangle`, say); `#[config(loss_terms = path)]` names the function that says which.
    fn added_loss_terms(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// A value that has the right type but cannot work, and the key it is at.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The dotted key, relative to the value checked; empty for the value itself.
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same problem seen from the table that holds the value at `field`.
    pub fn within(self, field: &str) -> Self {
        let key = if self.key.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.key)
        };
        Problem { key, ..self }
    }
}

/// The type of a config value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    /// An integer in `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    /// A finite float (an integer is accepted and widened).
    Float,
    String,
    Enum(EnumSchema),
    Table(TableSchema),
    Array(Box<Kind>),
    /// A table whose keys are names the user chooses, each value of the inner kind.
    Map(Box<Kind>),
    /// May be left out; no default.
    Optional(Box<Kind>),
}

/// A table of named fields: a `#[config]` struct or an architecture config.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// The Rust type name (`TextEncoderConfig`).
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: Vec<Field>,
}

/// One key of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub doc: &'static str,
    pub kind: Kind,
    /// The value used when the key is left out.
    pub default: Option<toml::Value>,
    /// Set when the value is derived from other keys (what it is derived from, for people):
    /// left out, it is filled in; written, it must agree.
    pub derived: Option<&'static str>,
    /// Whether the value is part of the identity hash: false for keys that only say where to
    /// find what another key identifies (a teacher's config files, say).
    pub hashed: bool,
    /// The numbers the key accepts (`#[config(range = "...")]`), checked on every config.
    pub range: Option<Range>,
}

/// The numbers a key accepts. Every one of them refuses NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// In [0, 1): a rate that leaves something to keep (dropout).
    Probability,
    /// In [0, 1]: a share of something (warmup).
    Fraction,
    /// Greater than 0 and finite (learning rates, temperatures).
    Positive,
    /// At least 0 and finite (weights, decay, clipping where 0 turns it off).
    NonNegative,
    /// At least 1 (counts and sizes).
    AtLeastOne,
}

impl Range {
    /// The names `#[config(range = "...")]` takes, with their ranges.
    pub const NAMES: [(&'static str, Range); 5] = [
        ("probability", Range::Probability),
        ("fraction", Range::Fraction),
        ("positive", Range::Positive),
        ("non-negative", Range::NonNegative),
        ("at-least-one", Range::AtLeastOne),
    ];

    /// How the range reads in an error and the reference: `in [0, 1)`.
    pub fn describe(self) -> &'static str {
        match self {
            Range::Probability => "in [0, 1)",
            Range::Fraction => "in [0, 1]",
            Range::Positive => "greater than 0",
            Range::NonNegative => "at least 0",
            Range::AtLeastOne => "at least 1",
        }
    }

    pub fn contains(self, value: f64) -> bool {
        value.is_finite()
            && match self {
                Range::Probability => (0.0..1.0).contains(&value),
                Range::Fraction => (0.0..=1.0).contains(&value),
                Range::Positive => value > 0.0,
                Range::NonNegative => value >= 0.0,
                Range::AtLeastOne => value >= 1.0,
            }
    }
}

/// A choice among named strings: a `#[config]` enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumSchema {
    pub name: &'static str,
    pub doc: &'static str,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: &'static str,
    pub doc: &'static str,
}

impl Kind {
    /// Whether a missing value can be filled in without the user: optional, or a table whose
    /// every key has a default.
    pub fn is_defaultable(&self) -> bool {
        match self {
            Kind::Optional(_) | Kind::Map(_) => true,
            Kind::Table(table) => table.fields.iter().all(|f| !f.is_required()),
            _ => false,
        }
    }

    /// The table schema, for kinds that are tables.
    pub fn as_table(&self) -> Option<&TableSchema> {
        match self {
            Kind::Table(table) => Some(table),
            _ => None,
        }
    }

    /// A short human name: `integer ≥ 1`, `one of "ce", "focal"`.
    pub fn describe(&self) -> String {
        match self {
            Kind::Bool => "a boolean".into(),
            Kind::Integer { min, max } if *min == 0 && *max == i64::MAX => {
                "a non-negative integer".into()
            }
            Kind::Integer { .. } => "an integer".into(),
            Kind::Float => "a float".into(),
            Kind::String => "a string".into(),
            Kind::Enum(e) => format!(
                "one of {}",
                e.variants
                    .iter()
                    .map(|v| format!("\"{}\"", v.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Kind::Table(_) => "a table".into(),
            Kind::Array(inner) => format!("an array of {}", inner.plural()),
            Kind::Map(inner) => format!("a table of {}", inner.plural()),
            Kind::Optional(inner) => inner.describe(),
        }
    }

    fn plural(&self) -> String {
        match self {
            Kind::Bool => "booleans".into(),
            Kind::Integer { .. } => "integers".into(),
            Kind::Float => "floats".into(),
            Kind::String | Kind::Enum(_) => "strings".into(),
            Kind::Table(_) | Kind::Map(_) => "tables".into(),
            Kind::Array(_) => "arrays".into(),
            Kind::Optional(inner) => inner.plural(),
        }
    }
}

impl Field {
    /// Neither defaulted nor fillable: the user must write it.
    pub fn is_required(&self) -> bool {
        self.default.is_none() && !self.kind.is_defaultable()
    }
}

/// A field default as a TOML value; used by the generated schemas.
pub fn default_value<T: Serialize>(value: T) -> toml::Value {
    toml::Value::try_from(value).expect("a config default serialises to TOML")
}

/// A config built from its schema's defaults alone, when every key has one.
pub fn defaults<T: ConfigValue + serde::de::DeserializeOwned>() -> Option<T> {
    fn fill(table: &TableSchema) -> Option<toml::Table> {
        let mut out = toml::Table::new();
        for field in &table.fields {
            match (&field.default, &field.kind) {
                (Some(value), _) => {
                    out.insert(field.name.to_owned(), value.clone());
                }
                (None, Kind::Optional(_)) => {}
                (None, Kind::Map(_)) => {
                    out.insert(
                        field.name.to_owned(),
                        toml::Value::Table(toml::Table::new()),
                    );
                }
                (None, Kind::Table(inner)) => {
                    out.insert(field.name.to_owned(), toml::Value::Table(fill(inner)?));
                }
                (None, _) => return None,
            }
        }
        Some(out)
    }
    let table = fill(T::kind().as_table()?)?;
    toml::Value::Table(table).try_into().ok()
}

macro_rules! integer_kinds {
    ($($ty:ty),*) => {$(
        impl ConfigValue for $ty {
            type Checked = Self;
            fn kind() -> Kind {
                Kind::Integer {
                    min: i64::try_from(<$ty>::MIN).unwrap_or(i64::MIN),
                    max: i64::try_from(<$ty>::MAX).unwrap_or(i64::MAX),
                }
            }
        }
    )*};
}
integer_kinds!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl ConfigValue for bool {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::Bool
    }
}
impl ConfigValue for f32 {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::Float
    }
}
impl ConfigValue for f64 {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::Float
    }
}
impl ConfigValue for String {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::String
    }
}
impl ConfigValue for PathBuf {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::String
    }
}
impl<T: ConfigValue> ConfigValue for Vec<T> {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::Array(Box::new(T::kind()))
    }
    fn check(&self) -> Result<(), Problem> {
        for (i, item) in self.iter().enumerate() {
            item.check().map_err(|p| Problem {
                key: format!("[{i}]{}{}", if p.key.is_empty() { "" } else { "." }, p.key),
                ..p
            })?;
        }
        Ok(())
    }
}
impl<T: ConfigValue> ConfigValue for std::collections::BTreeMap<String, T> {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::Map(Box::new(T::kind()))
    }
    fn check(&self) -> Result<(), Problem> {
        for (name, item) in self {
            item.check().map_err(|p| p.within(name))?;
        }
        Ok(())
    }
}
impl<T: ConfigValue> ConfigValue for Option<T> {
    type Checked = Self;
    fn kind() -> Kind {
        Kind::Optional(Box::new(T::kind()))
    }
    fn check(&self) -> Result<(), Problem> {
        self.as_ref().map_or(Ok(()), T::check)
    }
}
