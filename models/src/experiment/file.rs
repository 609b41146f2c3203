//! An experiment file: stages (config stacks with overrides, as `mer train` takes them), a
//! matrix of config values each stage is run over, and which stages come after which.
//!
//! ```toml
//! description = "MAKD against its teacher over three seeds"
//! checkpoints = "runs/makd"             # output.checkpoints of every cell (optional)
//!
//! [matrix]                              # every stage runs over every combination
//! "training.seed" = [0, 42, 114]
//!
//! [[stage]]
//! name = "teacher"
//! config = ["experiments/unimodal/demo.toml"]
//!
//! [[stage]]
//! name = "student"
//! config = ["experiments/makd/demo.toml"]
//! set = ["model.teacher.seed=0"]       # overrides after the files
//! after = ["teacher"]                   # its cells wait for the teacher cells they learn from
//! [stage.matrix]                        # this stage's own keys, beside (or instead of) the above
//! "training.losses.classification.kind" = ["focal", "weighted"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why an experiment file cannot be used; every variant names the file and, where there is
/// one, the stage or key.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Not TOML, or not an experiment's keys (the message has the line and column).
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: {place}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        /// `stage "student"`, `matrix."training.seed"`, …
        place: String,
        message: String,
    },
    /// A cell's config stack is wrong (a missing file, an unknown key, a bad value).
    #[error("{}: cell {cell}: {source:#}", path.display())]
    Cell {
        path: PathBuf,
        cell: String,
        source: anyhow::Error,
    },
}

/// An experiment, as its file declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// The file's stem: `demo-sweep` for `experiments/demo-sweep.toml`.
    pub name: String,
    pub path: PathBuf,
    pub description: String,
    /// `output.checkpoints` of every cell, when the file sets it.
    pub checkpoints: Option<String>,
    /// In an order where every stage comes after the stages it names in `after`.
    pub stages: Vec<StageSpec>,
}

/// One stage: a config stack run over its matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpec {
    pub name: String,
    /// Config files, merged in order (paths as `mer train` takes them: from where mer runs).
    pub config: Vec<String>,
    /// Overrides after the files (`dotted.key=value`).
    pub set: Vec<String>,
    /// Every key this stage varies (the file's `[matrix]` and the stage's own, the stage's
    /// winning), with its values as TOML.
    pub matrix: Vec<(String, Vec<String>)>,
    /// Stages whose cells must finish first.
    pub after: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    #[serde(default)]
    description: String,
    checkpoints: Option<String>,
    #[serde(default)]
    matrix: BTreeMap<String, Vec<toml::Value>>,
    #[serde(rename = "stage", default)]
    stages: Vec<StageForm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageForm {
    name: String,
    config: Vec<String>,
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    matrix: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    after: Vec<String>,
}

impl Experiment {
    /// Reads and checks an experiment file: stage names unique, `after` naming stages, no
    /// cycle, every matrix key with at least one value.
    pub fn read(path: &Path) -> Result<Self, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|error| ExperimentError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse(path, &text)
    }

    /// [`Experiment::read`] on text already read; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ExperimentError> {
        let form: FileForm = toml::from_str(text).map_err(|e| ExperimentError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let invalid = |place: String, message: String| ExperimentError::Invalid {
            path: path.to_owned(),
            place,
            message,
        };
        if form.stages.is_empty() {
            return Err(invalid(
                "stage".into(),
                "no [[stage]]: an experiment runs at least one".into(),
            ));
        }
        let mut names = BTreeSet::new();
        for stage in &form.stages {
            if stage.name.is_empty() || stage.name.contains(['/', ' ']) {
                return Err(invalid(
                    format!("stage {:?}", stage.name),
                    "a stage's name is a non-empty word (no `/` or space): it names log files"
                        .into(),
                ));
            }
            if !names.insert(stage.name.as_str()) {
                return Err(invalid(
                    format!("stage {:?}", stage.name),
                    "two stages have this name".into(),
                ));
            }
            if stage.config.is_empty() {
                return Err(invalid(
                    format!("stage {:?}.config", stage.name),
                    "empty: a stage runs at least one config file".into(),
                ));
            }
        }
        let render = |place: String, values: &[toml::Value]| {
            if values.is_empty() {
                return Err(invalid(
                    place,
                    "no values: a matrix key has at least one".into(),
                ));
            }
            Ok(values.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        let mut stages = Vec::new();
        for stage in &form.stages {
            for after in &stage.after {
                if !names.contains(after.as_str()) || after == &stage.name {
                    return Err(invalid(
                        format!("stage {:?}.after", stage.name),
                        format!("{after:?} is not another stage of this file"),
                    ));
                }
            }
            let mut matrix = BTreeMap::new();
            for (key, values) in &form.matrix {
                matrix.insert(key.clone(), render(format!("matrix.{key:?}"), values)?);
            }
            for (key, values) in &stage.matrix {
                let place = format!("stage {:?}.matrix.{key:?}", stage.name);
                matrix.insert(key.clone(), render(place, values)?);
            }
            stages.push(StageSpec {
                name: stage.name.clone(),
                config: stage.config.clone(),
                set: stage.set.clone(),
                matrix: matrix.into_iter().collect(),
                after: stage.after.clone(),
            });
        }
        let stages = in_dependency_order(stages).map_err(|cycle| {
            invalid(
                format!("stage {cycle:?}.after"),
                "the stages' `after` lists form a cycle".into(),
            )
        })?;
        Ok(Experiment {
            name: path
                .file_stem()
                .map_or("experiment".into(), |s| s.to_string_lossy().into_owned()),
            path: path.to_owned(),
            description: form.description,
            checkpoints: form.checkpoints,
            stages,
        })
    }
}

/// The stages with each after those it names, otherwise in file order; on a cycle, the name of
/// a stage in it.
fn in_dependency_order(mut left: Vec<StageSpec>) -> Result<Vec<StageSpec>, String> {
    let mut ordered: Vec<StageSpec> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|s| s.after.iter().all(|a| ordered.iter().any(|o| &o.name == a)))
            .ok_or_else(|| left[0].name.clone())?;
        ordered.push(left.remove(ready));
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, ExperimentError> {
        Experiment::parse(Path::new("x.toml"), text)
    }

    #[test]
    fn stages_are_ordered_by_after_and_matrices_merge() {
        let e = parse(
            r#"
            [matrix]
            "training.seed" = [1, 2]
            "training.epochs" = [3]
            [[stage]]
            name = "student"
            config = ["s.toml"]
            after = ["teacher"]
            [stage.matrix]
            "training.epochs" = [4, 5]
            "training.losses.classification.kind" = ["focal"]
            [[stage]]
            name = "teacher"
            config = ["t.toml"]
            "#,
        )
        .unwrap();
        assert_eq!(e.name, "x");
        assert_eq!(e.stages[0].name, "teacher");
        assert_eq!(e.stages[1].name, "student");
        assert_eq!(
            e.stages[1].matrix,
            vec![
                ("training.epochs".into(), vec!["4".into(), "5".into()]),
                (
                    "training.losses.classification.kind".into(),
                    vec!["\"focal\"".into()]
                ),
                ("training.seed".into(), vec!["1".into(), "2".into()]),
            ]
        );
    }

    #[test]
    fn mistakes_name_their_place() {
        let message = |text: &str| parse(text).unwrap_err().to_string();
        assert!(message("[[stage]]\nname = \"a\"\nconfig = []").contains("stage \"a\".config"));
        assert!(
            message("[[stage]]\nname = \"a\"\nconfig = [\"a.toml\"]\nafter = [\"b\"]")
                .contains("\"b\" is not another stage")
        );
        assert!(
            message(
                "[[stage]]\nname = \"a\"\nconfig = [\"a\"]\nafter = [\"b\"]\n\
             [[stage]]\nname = \"b\"\nconfig = [\"b\"]\nafter = [\"a\"]"
            )
            .contains("cycle")
        );
        assert!(
            message("[matrix]\nk = []\n[[stage]]\nname = \"a\"\nconfig = [\"a\"]")
                .contains("matrix.\"k\": no values")
        );
        let unknown = message("[[stage]]\nname = \"a\"\nconfig = [\"a\"]\nsets = []");
        assert!(unknown.contains("line 4"), "{unknown}");
        assert!(message("description = \"nothing\"").contains("no [[stage]]"));
    }
}
