//! What every `#[encoder]` field gets from the DSL: a `mode` key beside its own settings.

use burn::module::Module;
use burn::tensor::backend::Backend;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schema::{ConfigValue, Field, Kind, default_value};

/// How an encoder takes part in training.
#[crate::config]
pub enum EncoderMode {
    /// Every weight trains.
    Trainable,
    /// No weight trains; the encoder runs without gradients.
    Frozen,
}

/// An encoder's config `C` plus the keys the DSL adds to every encoder.
///
/// In TOML they sit side by side: `[model.text] hidden = 256` and `mode = "frozen"`.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSlot<C> {
    pub mode: EncoderMode,
    pub config: C,
}

impl<C> EncoderSlot<C> {
    /// Builds the encoder with `build` and applies the mode.
    pub fn init_with<B: Backend, M: Module<B>>(&self, build: impl FnOnce(&C) -> M) -> M {
        let module = build(&self.config);
        match self.mode {
            EncoderMode::Trainable => module,
            EncoderMode::Frozen => module.no_grad(),
        }
    }
}

const MODE_KEY: &str = "mode";

impl<C: ConfigValue> ConfigValue for EncoderSlot<C> {
    type Checked = Self;

    fn kind() -> Kind {
        let Kind::Table(mut table) = C::kind() else {
            panic!("an encoder config is a #[config] struct");
        };
        table.fields.push(Field {
            name: MODE_KEY,
            doc: "How the encoder trains: \"trainable\" (every weight) or \"frozen\" (none).",
            kind: EncoderMode::kind(),
            default: Some(default_value(EncoderMode::Trainable)),
        });
        Kind::Table(table)
    }

    fn check(&self) -> Result<(), crate::schema::Problem> {
        self.config.check()
    }
}

impl<C: Serialize> Serialize for EncoderSlot<C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = match toml::Value::try_from(&self.config).map_err(S::Error::custom)? {
            toml::Value::Table(table) => table,
            _ => return Err(S::Error::custom("an encoder config is a table")),
        };
        table.insert(MODE_KEY.into(), default_value(self.mode));
        table.serialize(serializer)
    }
}

impl<'de, C: serde::de::DeserializeOwned> Deserialize<'de> for EncoderSlot<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(deserializer)?;
        let mode = match table.remove(MODE_KEY) {
            Some(value) => value.try_into().map_err(D::Error::custom)?,
            None => EncoderMode::Trainable,
        };
        let config = toml::Value::Table(table)
            .try_into()
            .map_err(D::Error::custom)?;
        Ok(EncoderSlot { mode, config })
    }
}
