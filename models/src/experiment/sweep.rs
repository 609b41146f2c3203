//! An experiment resolved into cells: one run per stage and matrix combination, each named by
//! its checkpoint folder, with the cells it must wait for and whether it is done.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use mer_core::config::RawConfig;

use super::file::{Experiment, ExperimentError};
use crate::cli;

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub stage: String,
    /// The matrix values of this cell, `(key, TOML value)`.
    pub assignment: Vec<(String, String)>,
    pub configs: Vec<String>,
    /// Everything after the files: the experiment's store, the stage's `set`, the matrix.
    pub overrides: Vec<String>,
    /// Its summary label (`1xE--T`).
    pub summary: String,
    pub checkpoint: PathBuf,
    /// The checkpoints of the teachers it learns from.
    pub teachers: Vec<PathBuf>,
    /// Indices of the cells that must finish first (always earlier in the sweep).
    pub after: Vec<usize>,
}

/// What the store holds of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellState {
    /// Trained: its checkpoint is complete.
    Done,
    /// Started: this many epochs are recorded; training it again resumes after them.
    Partial(usize),
    Missing,
}

impl Cell {
    /// `stage seed=1 kind="focal"`: the stage and each matrix value, its key shortened to the
    /// last segment where that is unambiguous.
    pub fn label(&self) -> String {
        self.label_without(None)
    }

    /// The label without `training.seed`: what the cell's seeds have in common.
    pub fn configuration_label(&self) -> String {
        self.label_without(Some("training.seed"))
    }

    fn label_without(&self, left_out: Option<&str>) -> String {
        let short = |key: &str| key.rsplit('.').next().unwrap_or(key).to_owned();
        let mut label = self.stage.clone();
        for (key, value) in &self.assignment {
            if Some(key.as_str()) == left_out {
                continue;
            }
            let shared = self
                .assignment
                .iter()
                .filter(|(other, _)| short(other) == short(key))
                .count();
            let name = if shared > 1 { key.clone() } else { short(key) };
            write!(label, " {name}={value}").unwrap();
        }
        label
    }

    /// A file name for this cell's log: `stage-seed=1-kind=focal`.
    pub fn slug(&self) -> String {
        self.label()
            .chars()
            .map(|c| match c {
                ' ' => '-',
                c if c.is_ascii_alphanumeric() || "-_=.".contains(c) => c,
                _ => '_',
            })
            .collect()
    }

    pub fn state(&self) -> CellState {
        if mer_core::train::is_finished(&self.checkpoint) {
            return CellState::Done;
        }
        match std::fs::read_to_string(self.checkpoint.join("metrics.jsonl")) {
            Ok(text) => CellState::Partial(text.lines().filter(|l| !l.is_empty()).count()),
            Err(_) => CellState::Missing,
        }
    }

    /// The arguments of `mer train` that run this cell.
    pub fn train_args(&self) -> Vec<String> {
        let mut args = vec!["train".to_owned()];
        args.extend(self.configs.iter().cloned());
        for o in &self.overrides {
            args.push("--set".into());
            args.push(o.clone());
        }
        args
    }
}

/// An experiment's cells, each after the cells it waits for.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub experiment: Experiment,
    pub cells: Vec<Cell>,
}

impl Sweep {
    /// Resolves every cell's config (an error names the cell) and matches each cell's teachers
    /// with the cells of the stages it comes after, by checkpoint: one teacher cell serves
    /// every student that names the same teacher run. A cell whose stage comes after a stage
    /// holding none of its teachers waits for all of that stage's cells.
    pub fn plan(experiment: Experiment) -> Result<Self, ExperimentError> {
        let mut cells: Vec<Cell> = Vec::new();
        for stage in &experiment.stages {
            for assignment in combinations(&stage.matrix) {
                let mut overrides = Vec::new();
                if let Some(store) = &experiment.checkpoints {
                    overrides.push(format!(
                        "output.checkpoints={}",
                        toml::Value::String(store.clone())
                    ));
                }
                overrides.extend(stage.set.iter().cloned());
                overrides.extend(assignment.iter().map(|(k, v)| format!("{k}={v}")));
                let mut cell = Cell {
                    stage: stage.name.clone(),
                    assignment,
                    configs: stage.config.clone(),
                    overrides,
                    summary: String::new(),
                    checkpoint: PathBuf::new(),
                    teachers: Vec::new(),
                    after: Vec::new(),
                };
                resolve(&mut cell).map_err(|source| ExperimentError::Cell {
                    path: experiment.path.clone(),
                    cell: cell.label(),
                    source,
                })?;
                cell.after = waits_for(&cell, &stage.after, &cells, &experiment)?;
                if let Some(same) = cells.iter().find(|c| c.checkpoint == cell.checkpoint) {
                    return Err(ExperimentError::Invalid {
                        path: experiment.path.clone(),
                        place: format!("cell {}", cell.label()),
                        message: format!(
                            "the same run as cell {} ({}): a matrix key that changes nothing \
                             the run is named by",
                            same.label(),
                            cell.checkpoint.display()
                        ),
                    });
                }
                cells.push(cell);
            }
        }
        Ok(Sweep { experiment, cells })
    }

    /// Every cell's state, in sweep order.
    pub fn states(&self) -> Vec<CellState> {
        self.cells.iter().map(Cell::state).collect()
    }
}

/// Fills in the cell's summary, checkpoint and teachers from its config stack: from the
/// config alone, as a student's must be known before its teacher is trained.
fn resolve(cell: &mut Cell) -> anyhow::Result<()> {
    let raw = RawConfig::load(&cell.configs, &cell.overrides)?;
    let registration = cli::registration(&raw, None)?;
    let inputs = (registration.inputs)(&raw)?;
    cell.summary = inputs.summary;
    cell.checkpoint = normal(&inputs.checkpoint_dir);
    cell.teachers = inputs
        .teachers
        .iter()
        .map(|t| normal(&t.checkpoint))
        .collect();
    Ok(())
}

/// `./a/b` and `a/b` are one folder.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The earlier cells `cell` waits for: of each stage in `after`, the cells that are its
/// teachers, or all of them when none is.
fn waits_for(
    cell: &Cell,
    after: &[String],
    earlier: &[Cell],
    experiment: &Experiment,
) -> Result<Vec<usize>, ExperimentError> {
    for teacher in &cell.teachers {
        let Some(source) = earlier.iter().find(|c| &c.checkpoint == teacher) else {
            continue;
        };
        if !after.contains(&source.stage) {
            return Err(ExperimentError::Invalid {
                path: experiment.path.clone(),
                place: format!("stage {:?}.after", cell.stage),
                message: format!(
                    "cell {} learns from cell {}: add {:?} to `after`",
                    cell.label(),
                    source.label(),
                    source.stage
                ),
            });
        }
    }
    let mut waits = Vec::new();
    for stage in after {
        let of_stage: Vec<usize> = (0..earlier.len())
            .filter(|&i| &earlier[i].stage == stage)
            .collect();
        let teachers: Vec<usize> = of_stage
            .iter()
            .copied()
            .filter(|&i| cell.teachers.contains(&earlier[i].checkpoint))
            .collect();
        waits.extend(if teachers.is_empty() {
            of_stage
        } else {
            teachers
        });
    }
    Ok(waits)
}

/// Every combination of the matrix's values, the last key varying fastest; one empty
/// combination for an empty matrix.
fn combinations(matrix: &[(String, Vec<String>)]) -> Vec<Vec<(String, String)>> {
    let mut all = vec![Vec::new()];
    for (key, values) in matrix {
        all = all
            .into_iter()
            .flat_map(|prefix: Vec<(String, String)>| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((key.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_the_cartesian_product() {
        let matrix = vec![
            ("a".to_owned(), vec!["1".to_owned(), "2".to_owned()]),
            (
                "b".to_owned(),
                vec!["x".to_owned(), "y".to_owned(), "z".to_owned()],
            ),
        ];
        let all = combinations(&matrix);
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[1],
            vec![("a".into(), "1".into()), ("b".into(), "y".into())]
        );
        assert_eq!(combinations(&[]), vec![Vec::new()]);
    }

    #[test]
    fn labels_and_slugs() {
        let cell = Cell {
            stage: "student".into(),
            assignment: vec![
                ("training.seed".into(), "1".into()),
                (
                    "training.losses.classification.kind".into(),
                    "\"focal\"".into(),
                ),
            ],
            configs: vec![],
            overrides: vec![],
            summary: String::new(),
            checkpoint: PathBuf::new(),
            teachers: vec![],
            after: vec![],
        };
        assert_eq!(cell.label(), "student seed=1 kind=\"focal\"");
        assert_eq!(cell.configuration_label(), "student kind=\"focal\"");
        let mut both = cell.clone();
        both.assignment
            .push(("model.teacher.seed".into(), "7".into()));
        assert!(
            both.label().contains(" training.seed=1"),
            "{}",
            both.label()
        );
        assert!(
            both.label().contains(" model.teacher.seed=7"),
            "{}",
            both.label()
        );
        assert_eq!(cell.slug(), "student-seed=1-kind=_focal_");
    }
}
