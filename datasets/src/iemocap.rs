//! IEMOCAP in TelME's CSV layout: `{train,dev,test}.csv` with columns
//! `Utterance, Speaker, Dialogue_ID, Emotion, Wav_Path, Video_Path` (media paths relative to the
//! root, and below it).

use std::path::Path;

use crate::csvfile::CsvFile;
use crate::paths::within;
use crate::{DatasetError, Dialogue, LabelSet, Split, Utterance};

const COLUMNS: [&str; 6] = [
    "Utterance",
    "Speaker",
    "Dialogue_ID",
    "Emotion",
    "Wav_Path",
    "Video_Path",
];

/// Reads one split's dialogues; rows of a dialogue keep their file order.
pub fn read(root: &Path, split: Split, labels: &LabelSet) -> Result<Vec<Dialogue>, DatasetError> {
    let path = root.join(format!("{split}.csv"));
    let mut dialogues: Vec<Dialogue> = Vec::new();
    CsvFile::open(&path, &COLUMNS)?.for_each(|row| {
        let dialogue = row.get("Dialogue_ID").trim();
        if dialogue.is_empty() {
            return Err(row.error("Dialogue_ID", "empty dialogue id".into()));
        }
        let media = |column: &str| {
            let text = row.get(column).trim();
            match text.is_empty() {
                true => Ok(None),
                false => within(root, text)
                    .map(Some)
                    .map_err(|message| row.error(column, message)),
            }
        };
        let required = |column: &str| {
            let text = row.get(column).trim();
            match text.is_empty() {
                true => Err(row.error(column, format!("empty {}", column.to_lowercase()))),
                false => Ok(text.to_owned()),
            }
        };
        let utterance = Utterance {
            speaker: required("Speaker")?,
            text: required("Utterance")?,
            label: row.label("Emotion", labels)?,
            audio: media("Wav_Path")?,
            video: media("Video_Path")?,
        };
        match dialogues.iter_mut().rev().find(|d| d.id == dialogue) {
            Some(existing) => existing.utterances.push(utterance),
            None => dialogues.push(Dialogue {
                id: dialogue.to_owned(),
                utterances: vec![utterance],
            }),
        }
        Ok(())
    })?;
    Ok(dialogues)
}
