//! The `multimodal` binary on the demo dataset's text, audio and video.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{demo, small_demo};

const MULTIMODAL: &str = env!("CARGO_BIN_EXE_multimodal");

fn train(root: &Path, data: &Path, extra: &[&str]) -> Output {
    let settings = [
        "training.epochs=1".to_owned(),
        format!("data.root={:?}", data.display().to_string()),
        format!("output.checkpoints={:?}", root.display().to_string()),
        format!(
            "output.cache={:?}",
            root.join("cache").display().to_string()
        ),
    ];
    let mut command = Command::new(MULTIMODAL);
    command.arg("train");
    for setting in settings
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
    {
        command.args(["--set", setting]);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_demo_trains_on_text_audio_and_video_and_its_checkpoint_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_demo(&tmp.path().join("data"), 3);
    let run = train(&tmp.path().join("out"), &data, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("1xE--A+T+V"), "{}", stderr(&run));
    let dir = stdout(&run)
        .lines()
        .find_map(|l| l.strip_prefix("checkpoint: ").map(PathBuf::from))
        .expect("a checkpoint line");
    for part in ["text", "audio", "video", "fusion", "head"] {
        assert!(
            dir.join(format!("{part}.safetensors")).exists(),
            "{part} saved"
        );
    }
    let eval = Command::new(MULTIMODAL)
        .args(["eval", dir.to_str().unwrap(), "--split", "dev"])
        .output()
        .unwrap();
    assert!(eval.status.success(), "{}", stderr(&eval));
    assert!(stdout(&eval).contains("dev: accuracy"), "{}", stdout(&eval));
}

#[test]
fn frozen_audio_and_video_features_are_computed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_demo(&tmp.path().join("data"), 3);
    let frozen = [
        r#"model.audio.mode="frozen""#,
        r#"model.video.mode="frozen""#,
    ];
    let first = train(&tmp.path().join("out"), &data, &frozen);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains(" 0 features read"),
        "{}",
        stdout(&first)
    );
    // A narrower fusion and head train over the same cached features (another seed would draw
    // other random encoders: other features).
    let again = [
        frozen[0],
        frozen[1],
        "model.fusion.output=32",
        "model.head.input=32",
    ];
    let second = train(&tmp.path().join("out"), &data, &again);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains(" 0 computed"),
        "{}",
        stdout(&second)
    );
    assert!(!stderr(&second).contains("encoding"), "{}", stderr(&second));
}

#[test]
fn a_broken_clip_stops_training_with_exit_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_demo(&tmp.path().join("data"), 2);
    // Real copies of the audio, one of them emptied.
    fs::remove_file(data.join("audios")).unwrap();
    for split in ["train", "dev", "test"] {
        let to = data.join("audios").join(split);
        fs::create_dir_all(&to).unwrap();
        for entry in fs::read_dir(demo().join("audios").join(split)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let broken = data.join("audios/train/dia1_utt0.flac");
    fs::write(&broken, b"").unwrap();
    // `mer check-dataset` finds it before a long run, from the multimodal config.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/multimodal/demo.toml");
    let root = format!("data.root={:?}", data.display().to_string());
    let check = Command::new(env!("CARGO_BIN_EXE_mer"))
        .args(["check-dataset", config.to_str().unwrap(), "--set", &root])
        .output()
        .unwrap();
    assert!(!check.status.success());
    assert!(
        stdout(&check).contains("train 1/0: ") && stdout(&check).contains("dia1_utt0.flac"),
        "{}",
        stdout(&check)
    );
    let run = train(&tmp.path().join("out"), &data, &[]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("audios/train/dia1_utt0.flac"),
        "{}",
        stderr(&run)
    );
}
