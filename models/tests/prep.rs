//! `mer prep meld` on a MELD-layout folder of real and generated clips: conversion, MELD.Raw's
//! folders, broken clips, resuming after a kill; `mer check-dataset`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mer_datasets::media::audio::decode_mono;

const MER: &str = env!("CARGO_BIN_EXE_mer");

fn mer(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(MER);
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// A 1-second clip with a 440 Hz tone, made by the `ffmpeg` tool.
fn make_clip(path: &Path) -> bool {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=24",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100",
            "-t",
            "1",
        ])
        .args([
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
        ])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// A MELD folder: generated clips in `videos/train`, MELD.Raw's dev folder, real clips when
/// `../shared/media` is there, and broken ones.
fn meld_folder(root: &Path) -> Option<usize> {
    let mut good = 0;
    for u in 0..4 {
        if !make_clip(&root.join(format!("videos/train/dia0_utt{u}.mp4"))) {
            eprintln!("skipping: the `ffmpeg` tool cannot make test clips");
            return None;
        }
        good += 1;
    }
    for u in 0..2 {
        make_clip(&root.join(format!("dev/dev_splits_complete/dia1_utt{u}.mp4")));
        good += 1;
    }
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/media");
    if media.join("bigbuckbunny.mp4").exists() {
        // Real H.264/AAC with six channels; bikes.mp4 has no audio stream.
        fs::copy(
            media.join("bigbuckbunny.mp4"),
            root.join("videos/train/dia2_utt0.mp4"),
        )
        .unwrap();
        good += 1;
        fs::copy(
            media.join("bikes.mp4"),
            root.join("videos/train/dia2_utt1.mp4"),
        )
        .unwrap();
    } else {
        eprintln!("no ../shared/media: real clips left out");
        fs::write(root.join("videos/train/dia2_utt1.mp4"), b"").unwrap();
    }
    let clip = fs::read(root.join("videos/train/dia0_utt0.mp4")).unwrap();
    fs::write(
        root.join("videos/train/dia3_utt0.mp4"),
        &clip[..clip.len() / 3],
    )
    .unwrap();
    fs::write(root.join("videos/train/dia3_utt1.mp4"), b"").unwrap();
    Some(good)
}

fn flacs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for split in ["train", "dev", "test"] {
        if let Ok(entries) = fs::read_dir(root.join("audios").join(split)) {
            out.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out.sort();
    out
}

#[test]
fn prep_converts_links_skips_broken_clips_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("MELD");
    let Some(good) = meld_folder(&root) else {
        return;
    };
    let root_arg = root.to_str().unwrap();

    // Killed after two clips (one worker, so exactly two are done).
    let killed = mer(
        &["prep", "meld", "--root", root_arg, "--workers", "1"],
        &[("MER_ABORT_AFTER_CLIPS", "2")],
    );
    assert!(!killed.status.success());
    assert_eq!(flacs(&root).len(), 2);

    let out = mer(&["prep", "meld", "--root", root_arg], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = format!("{} converted, 2 already done", good - 2);
    assert!(stdout.contains(&summary), "{stdout}");
    assert!(
        stdout.contains("0 linked") || stdout.contains("2 linked") || stdout.contains(" linked")
    );
    // Broken clips are named and counted; none leaves a file.
    for broken in ["dia2_utt1.mp4", "dia3_utt1.mp4"] {
        assert!(stdout.contains(broken), "{broken} not reported: {stdout}");
    }
    let files = flacs(&root);
    assert_eq!(files.len(), good, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| !f.file_name().unwrap().to_string_lossy().starts_with('.'))
    );
    assert!(
        root.join("videos/dev/dia1_utt0.mp4").exists(),
        "MELD.Raw's dev clips are linked"
    );
    assert!(root.join("audios/dev/dia1_utt1.flac").exists());

    // The FLAC files hold 16 kHz mono audio of the clip's length.
    let samples = decode_mono(&root.join("audios/train/dia0_utt1.flac"), 16_000).unwrap();
    assert!(
        (samples.len() as i64 - 16_000).abs() < 800,
        "{}",
        samples.len()
    );
    let peak = samples.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(peak > 0.05, "the tone is there");

    // Nothing left to do.
    let again = mer(&["prep", "meld", "--root", root_arg], &[]);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains(&format!("0 converted, {good} already done"))
    );

    // A folder without clips is bad input.
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    assert_eq!(
        mer(&["prep", "meld", "--root", empty.to_str().unwrap()], &[])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn check_dataset_lists_missing_and_undecodable_media() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("MELD");
    let header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n";
    let row = |n: usize, d: usize, u: usize| {
        format!("{n},Hello there.,Ann,joy,positive,{d},{u},1,1,\"00:00:01,000\",\"00:00:02,000\"\n")
    };
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("train_sent_emo.csv"),
        format!("{header}{}{}", row(1, 0, 0), row(2, 0, 1)),
    )
    .unwrap();
    fs::write(
        root.join("dev_sent_emo.csv"),
        format!("{header}{}", row(1, 0, 0)),
    )
    .unwrap();
    if !make_clip(&root.join("videos/train/dia0_utt0.mp4")) {
        eprintln!("skipping: the `ffmpeg` tool cannot make test clips");
        return;
    }
    make_clip(&root.join("videos/dev/dia0_utt0.mp4"));
    fs::write(root.join("videos/train/dia0_utt1.mp4"), b"not a video").unwrap();
    let prep = mer(&["prep", "meld", "--root", root.to_str().unwrap()], &[]);
    assert!(prep.status.success());

    let config = tmp.path().join("meld.toml");
    let demo = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/unimodal/demo.toml"),
    )
    .unwrap();
    fs::write(
        &config,
        demo.replace("dataset = \"demo\"", "dataset = \"meld\""),
    )
    .unwrap();
    let set = format!("data.root={}", root.display());
    let out = mer(
        &["check-dataset", config.to_str().unwrap(), "--set", &set],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    // The broken clip: its video does not decode and its audio was never written.
    assert!(
        stdout.contains("videos/train/dia0_utt1.mp4: ") && stdout.contains("cannot open"),
        "{stdout}"
    );
    assert!(
        stdout.contains("audios/train/dia0_utt1.flac: missing"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}
