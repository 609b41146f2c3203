//! `telme` and `makd` as a user runs them: every missing network trained first, in order; what
//! exists reused; a teacher's weights untouched and its outputs computed once per input.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{experiments, small_demo};
use sha2::{Digest, Sha256};

const TELME: &str = env!("CARGO_BIN_EXE_telme");
const MAKD: &str = env!("CARGO_BIN_EXE_makd");

/// Runs `bin` in `dir` with its checkpoints in `dir/store`: the teachers' runs go there too.
fn run(bin: &str, dir: &Path, args: &[&str]) -> (String, String) {
    let output: Output = Command::new(bin)
        .args(args)
        .args(["--set", "output.checkpoints=\"store\""])
        .current_dir(dir)
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(output.status.success(), "{out}\n{err}");
    (out, err)
}

/// The side-by-side table's row for `network`: its cells.
fn row<'a>(table: &'a str, network: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{network} ")))
        .unwrap_or_else(|| panic!("no row for {network} in\n{table}"))
        .split_whitespace()
        .collect()
}

/// Every weight file of checkpoint `dir` (links into the store's blobs), by part, with the
/// SHA-256 of its bytes.
fn weights(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .map(|p| {
            let digest = Sha256::digest(fs::read(&p).unwrap());
            (p, format!("{digest:x}"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn telme_trains_its_stages_in_order_then_reuses_them_and_makd_reuses_the_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_demo(&tmp.path().join("data"), 4);
    let dir = tmp.path().join("work");
    experiments(&dir, &data, 1);

    // First run: the teacher, then each student (the teacher it names is the one just trained),
    // then the fusion.
    let (table, log) = run(TELME, &dir, &["train", "experiments/telme/demo.toml"]);
    let order: Vec<usize> = [
        "training the teacher `teacher`",
        "reusing the teacher `audio_student.teacher`",
        "training the teacher `audio_student`",
        "training the teacher `video_student`",
        "training 1xE--A+T+V",
    ]
    .iter()
    .map(|step| {
        log.find(step)
            .unwrap_or_else(|| panic!("no {step:?} in\n{log}"))
    })
    .collect();
    assert!(order.is_sorted(), "{order:?}\n{log}");
    // The teacher's outputs are computed for the first student, once per split, and read from
    // the cache by the second.
    assert_eq!(
        log.matches("inputs with the teacher `teacher`").count(),
        3,
        "{log}"
    );
    for network in ["teacher", "audio_student", "video_student"] {
        assert_eq!(row(&table, network)[5], "trained", "{table}");
    }
    assert_eq!(row(&table, "telme")[1], "(this");
    let teacher = PathBuf::from(*row(&table, "teacher").last().unwrap());
    assert!(
        teacher.starts_with("store/training"),
        "{}",
        teacher.display()
    );
    let teacher = dir.join(teacher);
    let before = weights(&teacher);
    assert!(!before.is_empty());

    // Second run: every source network reused, none trained.
    let (table, log) = run(TELME, &dir, &["train", "experiments/telme/demo.toml"]);
    assert!(!log.contains("training the teacher"), "{log}");
    for network in ["teacher", "audio_student", "video_student"] {
        assert_eq!(row(&table, network)[5], "reused", "{table}");
    }

    // MAKD's student distils from the same teacher: reused, its outputs read from the cache,
    // for this seed and another.
    for seed in ["42", "7"] {
        let seed = format!("training.seed={seed}");
        let (table, log) = run(
            MAKD,
            &dir,
            &["train", "experiments/makd/demo.toml", "--set", &seed],
        );
        assert!(log.contains("reusing the teacher `teacher`"), "{log}");
        assert_eq!(row(&table, "teacher")[5], "reused", "{table}");
        assert!(!log.contains("with the teacher"), "{log}");
        assert_eq!(row(&table, "makd")[1], "(this");
    }

    // The students trained around the teacher left its weights as they were.
    assert_eq!(weights(&teacher), before);
}
