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

/// Trains `experiments/multimodal/pretrained-media.toml` for an epoch with `audio` as the audio
/// folder, under `root/out` with its cache in `root/cache`.
fn train_pretrained(root: &Path, data: &Path, audio: &str, extra: &[&str]) -> Output {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = workspace.join("experiments/multimodal/pretrained-media.toml");
    let folder = |name: &str| {
        workspace
            .join("tests/fixtures")
            .join(name)
            .display()
            .to_string()
    };
    let mut command = Command::new(MULTIMODAL);
    command.args(["train", config.to_str().unwrap()]);
    let settings = [
        "training.epochs=1".to_owned(),
        format!("data.root={:?}", data.display().to_string()),
        format!(
            "output.checkpoints={:?}",
            root.join("out").display().to_string()
        ),
        format!(
            "output.cache={:?}",
            root.join("cache").display().to_string()
        ),
        format!("model.audio.pretrained={:?}", folder(audio)),
        format!("model.video.pretrained={:?}", folder("tiny-videomae")),
    ];
    for setting in settings
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
    {
        command.args(["--set", setting]);
    }
    command.output().unwrap()
}

fn checkpoint_of(run: &Output) -> PathBuf {
    stdout(run)
        .lines()
        .find_map(|l| l.strip_prefix("checkpoint: ").map(PathBuf::from))
        .expect("a checkpoint line")
}

#[test]
fn pretrained_audio_and_video_folders_train_frozen_and_with_lora() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_demo(&tmp.path().join("data"), 3);
    let first = train_pretrained(tmp.path(), &data, "tiny-data2vec-audio", &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let dir = checkpoint_of(&first);
    assert!(dir.join("video.safetensors").exists());
    exported_folders_compute_the_trained_encoders(&tmp.path().join("out"), &dir);
    // The frozen data2vec-audio's features are cached: a second fusion reuses them.
    let again = ["model.fusion.output=32", "model.head.input=32"];
    let second = train_pretrained(tmp.path(), &data, "tiny-data2vec-audio", &again);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains(" 0 computed"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn a_weight_normed_wav2vec2_with_lora_exports_its_merged_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_demo(&tmp.path().join("data"), 2);
    let run = train_pretrained(
        tmp.path(),
        &data,
        "tiny-wav2vec2",
        &[r#"model.audio.mode="lora""#],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    exported_folders_compute_the_trained_encoders(&tmp.path().join("out"), &checkpoint_of(&run));
}

/// `mer export --merge-lora` of a trained checkpoint: its `audio-hf/` and `video-hf/` folders
/// load back (by Hugging Face names) to encoders computing what the trained ones (with their
/// LoRA adapters) compute.
fn exported_folders_compute_the_trained_encoders(root: &Path, checkpoint: &Path) {
    use burn::backend::NdArray;
    use burn::tensor::{Distribution, Int, Tensor};
    use mer_core::config::RawConfig;
    use mer_core::run::RunConfig;
    use mer_core::store::Store;
    use models::MultimodalConfig;
    type B = NdArray<f32>;

    let store = Store::new(root.to_owned());
    let dest = root.join("export");
    models::export::export_merged(&store, checkpoint, &dest).unwrap();
    let raw = RawConfig::load(&[&checkpoint.join("config.toml")], &[] as &[&str]).unwrap();
    let run: RunConfig<MultimodalConfig> = raw.resolve().unwrap();
    let device = Default::default();
    let trained = store
        .load(checkpoint, run.model.init::<B>(&device))
        .unwrap();
    assert!(
        !mer_core::nn::lora::adapters(&trained.video).is_empty(),
        "video has adapters"
    );

    let mut audio = run.model.audio.config.clone();
    audio.pretrained = Some(
        dest.join(models::export::AUDIO_HF_DIR)
            .display()
            .to_string(),
    );
    let (exported_audio, report) = audio.try_init::<B>(&device).unwrap();
    // Only what the base model has and mer does not use (training-time masking) is left over.
    assert_eq!(report.unwrap().unused, ["masked_spec_embed"]);
    let waves = Tensor::<B, 2>::random([2, 4000], Distribution::Default, &device);
    let mask = Tensor::<B, 2, Int>::ones([2, 4000], &device);
    let diff: f32 = (trained.audio.forward(waves.clone(), mask.clone())
        - exported_audio.forward(waves, mask))
    .abs()
    .max()
    .into_scalar();
    assert!(diff < 1e-4, "audio export (Δ {diff})");

    let mut video = run.model.video.config.clone();
    video.pretrained = Some(
        dest.join(models::export::VIDEO_HF_DIR)
            .display()
            .to_string(),
    );
    let (exported_video, report) = video.try_init::<B>(&device).unwrap();
    let report = report.unwrap();
    assert!(
        report.unused.is_empty() && report.initialised.is_empty(),
        "{report:?}"
    );
    let pixels = Tensor::<B, 5>::random([2, 4, 3, 32, 32], Distribution::Default, &device);
    let diff: f32 = (trained.video.forward(pixels.clone()) - exported_video.forward(pixels))
        .abs()
        .max()
        .into_scalar();
    assert!(diff < 1e-4, "video export with merged adapters (Δ {diff})");
}
