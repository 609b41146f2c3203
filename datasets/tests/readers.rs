//! The MELD and IEMOCAP readers on committed, generated and (when present) real files.

use std::path::{Path, PathBuf};

use mer_core::input::data::{DataConfig, Dataset, LabelKind};
use mer_datasets::{DatasetError, Split, load};

fn config(dataset: Dataset, label: LabelKind, root: Option<&Path>) -> DataConfig {
    DataConfig {
        dataset,
        label,
        root: root.map(|r| r.display().to_string()),
    }
}

const MELD_HEADER: &str = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n";

fn meld_folder(train: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("train_sent_emo.csv"),
        format!("{MELD_HEADER}{train}"),
    )
    .unwrap();
    tmp
}

#[test]
fn the_demo_dataset_reads_with_both_label_kinds() {
    let emotions = load(
        &config(Dataset::Demo, LabelKind::Emotion, None),
        Split::Train,
    )
    .unwrap();
    assert_eq!(emotions.len(), 540);
    assert_eq!(emotions.dialogues.len(), 88);
    assert_eq!(emotions.labels.len(), 7);
    let counts = emotions.class_counts();
    assert_eq!(counts.iter().sum::<usize>(), 540);
    assert_eq!(
        counts[0],
        *counts.iter().max().unwrap(),
        "neutral is the majority"
    );
    let sentiments = load(
        &config(Dataset::Demo, LabelKind::Sentiment, None),
        Split::Test,
    )
    .unwrap();
    assert_eq!(sentiments.labels.names, ["neutral", "positive", "negative"]);
    let first = &emotions.dialogues[0].utterances[0];
    assert!(
        first
            .audio
            .as_ref()
            .unwrap()
            .ends_with("audios/train/dia0_utt0.flac")
    );
    assert!(
        first
            .video
            .as_ref()
            .unwrap()
            .ends_with("videos/train/dia0_utt0.mp4")
    );
}

#[test]
fn utterances_are_grouped_by_dialogue_and_ordered() {
    let tmp = meld_folder(
        "1,Second,Ann,joy,positive,0,1,1,1,a,b\n\
         2,First,Bob,neutral,neutral,0,0,1,1,a,b\n\
         3,Other,Cy,anger,negative,5,0,1,1,a,b\n",
    );
    let data = load(
        &config(Dataset::Meld, LabelKind::Emotion, Some(tmp.path())),
        Split::Train,
    )
    .unwrap();
    assert_eq!(data.dialogues.len(), 2);
    let texts: Vec<&str> = data.dialogues[0]
        .utterances
        .iter()
        .map(|u| u.text.as_str())
        .collect();
    assert_eq!(texts, ["First", "Second"]);
    assert_eq!(data.dialogues[1].id, "5");
    assert_eq!(data.dialogues[1].utterances[0].label, 3, "anger");
}

#[test]
fn a_split_of_no_rows_is_an_error_naming_its_file() {
    let tmp = meld_folder("");
    let err = load(
        &config(Dataset::Meld, LabelKind::Emotion, Some(tmp.path())),
        Split::Train,
    )
    .unwrap_err();
    let file = tmp.path().join("train_sent_emo.csv").display().to_string();
    assert_eq!(err.to_string(), format!("{file}: no rows after the header"));
}

#[test]
fn bad_rows_name_file_line_and_column() {
    let cases = [
        (
            "1,Hi,Ann,bored,neutral,0,0,1,1,a,b\n",
            ":2: column 4 (Emotion): unknown label \"bored\"",
        ),
        (
            "1,Hi,Ann,joy,positive,x,0,1,1,a,b\n",
            ":2: column 6 (Dialogue_ID): expected u32, found \"x\"",
        ),
        (
            "1,Hi,Ann,joy,positive,0,0,1,1,a,b\n2,Yo,Bob,joy\n",
            ":3: expected 11 fields, found 4",
        ),
        (
            "1,  ,Ann,joy,positive,0,0,1,1,a,b\n",
            ":2: column 2 (Utterance): empty utterance",
        ),
    ];
    // Real MELD files end their lines with CRLF: the same lines are named.
    let crlf = cases.map(|(rows, expected)| (rows.replace('\n', "\r\n"), expected));
    for (rows, expected) in cases
        .map(|(r, e)| (r.to_owned(), e))
        .into_iter()
        .chain(crlf)
    {
        let tmp = if rows.contains('\r') {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(
                tmp.path().join("train_sent_emo.csv"),
                format!("{}{rows}", MELD_HEADER.replace('\n', "\r\n")),
            )
            .unwrap();
            tmp
        } else {
            meld_folder(&rows)
        };
        let err = load(
            &config(Dataset::Meld, LabelKind::Emotion, Some(tmp.path())),
            Split::Train,
        )
        .unwrap_err();
        let message = err.to_string();
        let file = tmp.path().join("train_sent_emo.csv").display().to_string();
        assert!(message.starts_with(&file), "{message}");
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("train_sent_emo.csv"),
        "Utterance,Speaker\nhi,Ann\n",
    )
    .unwrap();
    let err = load(
        &config(Dataset::Meld, LabelKind::Emotion, Some(tmp.path())),
        Split::Train,
    )
    .unwrap_err();
    assert!(matches!(err, DatasetError::MissingColumn { .. }), "{err}");
    let err = load(
        &config(Dataset::Meld, LabelKind::Emotion, Some(tmp.path())),
        Split::Dev,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("dev_sent_emo.csv: cannot read"),
        "{err}"
    );
}

#[test]
fn iemocap_reads_telme_layout() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("train.csv"),
        "Utterance,Speaker,Dialogue_ID,Emotion,Wav_Path,Video_Path\n\
         I am fine.,M,Ses01F_impro01,neu,wav/a.wav,video/a.mp4\n\
         No you are not!,F,Ses01F_impro01,ang,wav/b.wav,\n\
         Great news,F,Ses02M_script01,exc,./c.wav,video/c.mp4\n",
    )
    .unwrap();
    let data = load(
        &config(Dataset::Iemocap, LabelKind::Emotion, Some(tmp.path())),
        Split::Train,
    )
    .unwrap();
    assert_eq!(data.dialogues.len(), 2);
    let first = &data.dialogues[0].utterances;
    assert_eq!(first[1].label, 1, "ang");
    assert_eq!(
        first[0].audio.as_deref(),
        Some(tmp.path().join("wav/a.wav").as_path())
    );
    assert_eq!(first[1].video, None);
    assert_eq!(
        data.dialogues[1].utterances[0].audio.as_deref(),
        Some(tmp.path().join("./c.wav").as_path())
    );
    let err = load(
        &config(Dataset::Iemocap, LabelKind::Sentiment, Some(tmp.path())),
        Split::Train,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "IEMOCAP has no sentiment labels");
}

#[test]
fn iemocap_rows_stay_below_the_root_and_name_who_says_what() {
    let header = "Utterance,Speaker,Dialogue_ID,Emotion,Wav_Path,Video_Path\n";
    for (row, expected) in [
        (
            "Hi.,M,S1,neu,../../../../etc/passwd,\n",
            "train.csv:2: column 5 (Wav_Path): \"../../../../etc/passwd\" climbs out",
        ),
        (
            "Hi.,M,S1,neu,,/elsewhere/clip.mp4\n",
            "column 6 (Video_Path): \"/elsewhere/clip.mp4\" is absolute",
        ),
        (
            "  ,M,S1,neu,a.wav,\n",
            "column 1 (Utterance): empty utterance",
        ),
        ("Hi.,,S1,neu,a.wav,\n", "column 2 (Speaker): empty speaker"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("train.csv"), format!("{header}{row}")).unwrap();
        let err = load(
            &config(Dataset::Iemocap, LabelKind::Emotion, Some(tmp.path())),
            Split::Train,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(expected), "{row}: {err}");
    }
}

fn shared_meld() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/meld");
    if dir.join("train_sent_emo.csv").exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: no MELD CSVs at {} (../shared is absent)",
            dir.display()
        );
        None
    }
}

#[test]
fn real_meld_reads_whole() {
    let Some(dir) = shared_meld() else { return };
    let train = load(
        &config(Dataset::Meld, LabelKind::Emotion, Some(&dir)),
        Split::Train,
    )
    .unwrap();
    assert_eq!(train.len(), 9989);
    assert_eq!(train.dialogues.len(), 1038);
    let dev = load(
        &config(Dataset::Meld, LabelKind::Sentiment, Some(&dir)),
        Split::Dev,
    )
    .unwrap();
    assert_eq!(dev.len(), 1109);
    assert_eq!(dev.dialogues.len(), 114);
    let counts = train.class_counts();
    assert_eq!(
        counts[0],
        *counts.iter().max().unwrap(),
        "neutral is MELD's majority class"
    );
}
