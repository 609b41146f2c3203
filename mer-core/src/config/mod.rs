//! Loading a run's config: TOML files merged in order, `--set` overrides, then validation
//! against the schema with every error located (`file:line:column: key.path: message`).
//!
//! ```text
//! experiments/x.toml:12:9: model.fusion.alpha: expected a float, found a string
//! ```

pub mod checks;
mod error;
pub mod identity;
pub mod json_schema;
pub mod reference;
pub mod schema;
mod source;
mod validate;
pub mod wiring;

pub use error::{ConfigError, Origin};
pub use source::{Entry, Node, RawConfig, Source};

use schema::Kind;

impl RawConfig {
    /// Reads and merges `files` in order (later wins, tables merge recursively), then applies
    /// `overrides` (`dotted.key=value`, the value parsed as TOML, else taken as a string).
    pub fn load(
        files: &[impl AsRef<std::path::Path>],
        overrides: &[impl AsRef<str>],
    ) -> Result<Self, ConfigError> {
        let sources = files
            .iter()
            .map(|path| Source::read(path.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_sources(&sources, overrides)
    }

    /// Like [`RawConfig::load`], from sources already in memory (a built-in default, a test).
    pub fn from_sources(
        sources: &[Source],
        overrides: &[impl AsRef<str>],
    ) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::default();
        for source in sources {
            raw.merge(source.parse()?);
        }
        for arg in overrides {
            raw.set(arg.as_ref())?;
        }
        Ok(raw)
    }

    /// Validates against `T`'s schema, fills in defaults and builds the typed config.
    pub fn resolve<T: schema::ConfigValue>(&self) -> Result<T, ConfigError> {
        self.resolve_kind(&T::kind())
    }

    fn resolve_kind<T: schema::ConfigValue>(&self, kind: &Kind) -> Result<T, ConfigError> {
        let table = kind
            .as_table()
            .expect("a config root is a table (a #[config] struct)");
        let value = validate::table(table, &self.root, "", &self.root_origin())?;
        // Validation has checked every key and type, so serde failing here is a schema bug;
        // it is still reported, not unwrapped.
        let mut typed =
            T::deserialize(toml::Value::Table(value)).map_err(|e| ConfigError::Invalid {
                origin: self.root_origin(),
                key: String::new(),
                message: e.to_string(),
            })?;
        // A key that was left out is located at the nearest table around it that was written.
        let located = |problem: schema::Problem| {
            let mut key = problem.key.as_str();
            let origin = loop {
                if let Some(origin) = self.origin_of(key) {
                    break origin.clone();
                }
                match key.rsplit_once('.') {
                    Some((parent, _)) => key = parent,
                    None => break self.root_origin(),
                }
            };
            ConfigError::Invalid {
                origin,
                key: problem.key,
                message: problem.message,
            }
        };
        typed.complete().map_err(located)?;
        typed.check().map_err(located)?;
        Ok(typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fusion block's settings.
    #[crate::config]
    struct Fusion {
        /// Mixing weight.
        #[config(default = 0.5)]
        alpha: f64,
        /// Dropout rate.
        #[config(default = 0.1, range = "probability")]
        dropout: f64,
        /// Layers.
        layers: usize,
        #[config(default = Style::Sum)]
        style: Style,
    }

    #[crate::config]
    enum Style {
        Sum,
        CrossAttention,
    }

    #[crate::config]
    struct Root {
        fusion: Fusion,
        #[config(default = "run")]
        name: String,
        tags: Option<Vec<String>>,
    }

    fn load(sources: &[(&str, &str)], overrides: &[&str]) -> Result<Root, ConfigError> {
        let sources: Vec<Source> = sources.iter().map(|(n, t)| Source::new(*n, *t)).collect();
        RawConfig::from_sources(&sources, overrides)?.resolve()
    }

    #[test]
    fn a_value_out_of_its_range_is_refused_where_it_was_written() {
        let file = "[fusion]\nlayers = 2\ndropout = 1.5\n";
        let error = load(&[("a.toml", file)], &[]).unwrap_err().to_string();
        assert_eq!(
            error,
            "a.toml:3:11: fusion.dropout: must be in [0, 1), found 1.5"
        );
        let file = "[fusion]\nlayers = 2\n";
        let error = load(&[("a.toml", file)], &["fusion.dropout=-0.1"]).unwrap_err();
        assert!(
            error.to_string().contains("must be in [0, 1), found -0.1"),
            "{error}"
        );
        assert_eq!(
            load(&[("a.toml", file)], &["fusion.dropout=0.0"])
                .unwrap()
                .fusion
                .dropout,
            0.0
        );
    }

    #[test]
    fn later_files_win_and_tables_merge_key_by_key() {
        let root = load(
            &[
                (
                    "a.toml",
                    "name = \"a\"\n[fusion]\nlayers = 2\nalpha = 0.1\n",
                ),
                ("b.toml", "[fusion]\nalpha = 0.9\n"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.fusion.layers, 2, "kept from a.toml");
        assert_eq!(root.fusion.alpha, 0.9, "b.toml wins");
        assert_eq!(root.fusion.style, Style::Sum, "default filled in");
        assert_eq!(root.tags, None);
    }

    #[test]
    fn an_inline_table_override_merges_like_a_table() {
        let root = load(
            &[("a.toml", "[fusion]\nlayers = 2\nalpha = 0.1\n")],
            &["fusion={ alpha = 0.7, style = \"cross-attention\" }"],
        )
        .unwrap();
        assert_eq!(root.fusion.layers, 2, "kept from a.toml");
        assert_eq!(root.fusion.alpha, 0.7);
        assert_eq!(root.fusion.style, Style::CrossAttention);
        let unknown = load(
            &[("a.toml", "[fusion]\nlayers = 2\n")],
            &["fusion={ beta = 1 }"],
        )
        .unwrap_err()
        .to_string();
        assert!(
            unknown.contains("fusion.beta") && unknown.contains("--set"),
            "{unknown}"
        );
    }

    #[test]
    fn overrides_apply_after_files_and_parse_as_toml_or_string() {
        let root = load(
            &[("a.toml", "[fusion]\nlayers = 2\n")],
            &[
                "fusion.layers=4",
                "fusion.style=cross-attention",
                "name=../some/path",
                "tags=[\"x\", \"y\"]",
            ],
        )
        .unwrap();
        assert_eq!(root.fusion.layers, 4);
        assert_eq!(root.fusion.style, Style::CrossAttention);
        assert_eq!(root.name, "../some/path");
        assert_eq!(root.tags, Some(vec!["x".into(), "y".into()]));
    }

    #[test]
    fn integers_widen_to_floats() {
        let root = load(&[("a.toml", "[fusion]\nlayers = 1\nalpha = 1\n")], &[]).unwrap();
        assert_eq!(root.fusion.alpha, 1.0);
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let cases: [(&str, &str, &str); 5] = [
            (
                "[fusion]\nlayers = 1\nalpha = \"high\"\n",
                "x.toml:3:9: fusion.alpha: expected a float, found a string",
                "wrong type",
            ),
            (
                "[fusion]\nlayers = 1\nbeta = 2\n",
                "x.toml:3:1: fusion.beta: unknown key (expected one of: alpha, dropout, layers, style)",
                "unknown key",
            ),
            (
                "name = \"n\"\n[fusion]\nalpha = 0.2\n",
                "x.toml:2:1: fusion.layers: missing required key (a non-negative integer)",
                "missing key",
            ),
            (
                "[fusion]\nlayers = -1\n",
                "x.toml:2:10: fusion.layers: expected a non-negative integer, found -1",
                "out of range",
            ),
            (
                "[fusion]\nlayers = 1\nstyle = \"mean\"\n",
                "x.toml:3:9: fusion.style: expected one of \"sum\", \"cross-attention\", found \"mean\"",
                "unknown choice",
            ),
        ];
        for (text, expected, what) in cases {
            let err = load(&[("x.toml", text)], &[]).unwrap_err();
            assert_eq!(err.to_string(), expected, "{what}");
        }
    }

    #[test]
    fn override_errors_name_the_argument() {
        let err = load(
            &[("x.toml", "[fusion]\nlayers = 1\n")],
            &["fusion.layers=many"],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--set fusion.layers=many: fusion.layers: expected a non-negative integer, found a string"
        );
        let err = load(&[("x.toml", "name = \"n\"\n")], &["name.inner=1"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--set name.inner=1: `name` is a value, not a table"
        );
        let err = load(&[], &["novalue"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--set novalue: expected `dotted.key=value`"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = load(&[("x.toml", "[fusion]\nlayers = = 1\n")], &[]).unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2:"), "{err}");
    }

    #[test]
    fn unreadable_and_non_utf8_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let err = RawConfig::load(&[&missing], &[] as &[&str]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: cannot read", missing.display()))
        );

        let binary = dir.path().join("binary.toml");
        std::fs::write(&binary, b"name = \"ok\"\nx = \"\xff\"\n").unwrap();
        let err = RawConfig::load(&[&binary], &[] as &[&str]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:2:6: not valid UTF-8", binary.display())
        );
    }
}
