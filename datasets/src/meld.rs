//! MELD: `{train,dev,test}_sent_emo.csv`, one row per utterance, clips beside them.
//!
//! Columns read: `Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID`. Media:
//! `audios/{split}/dia{D}_utt{U}.flac` and `videos/{split}/dia{D}_utt{U}.mp4` under the root.

use std::path::Path;

use mer_core::input::data::LabelKind;

use crate::csvfile::CsvFile;
use crate::paths::within;
use crate::{DatasetError, Dialogue, LabelSet, Split, Utterance};

const COLUMNS: [&str; 6] = [
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
];

/// Reads one split's dialogues, in file order, utterances ordered by `Utterance_ID`.
pub fn read(
    root: &Path,
    split: Split,
    kind: LabelKind,
    labels: &LabelSet,
) -> Result<Vec<Dialogue>, DatasetError> {
    let path = root.join(format!("{split}_sent_emo.csv"));
    let label_column = match kind {
        LabelKind::Emotion => "Emotion",
        LabelKind::Sentiment => "Sentiment",
    };
    let mut dialogues: Vec<(u32, Vec<(u32, Utterance)>)> = Vec::new();
    CsvFile::open(&path, &COLUMNS)?.for_each(|row| {
        let dialogue: u32 = row.parse("Dialogue_ID")?;
        let index: u32 = row.parse("Utterance_ID")?;
        let text = row.get("Utterance").trim();
        if text.is_empty() {
            return Err(row.error("Utterance", "empty utterance".into()));
        }
        let clip = format!("dia{dialogue}_utt{index}");
        let media = |folder: &str, ext: &str| {
            within(root, &format!("{folder}/{split}/{clip}.{ext}"))
                .map_err(|message| row.error("Dialogue_ID", message))
        };
        let utterance = Utterance {
            speaker: row.get("Speaker").trim().to_owned(),
            text: text.to_owned(),
            label: row.label(label_column, labels)?,
            audio: Some(media("audios", "flac")?),
            video: Some(media("videos", "mp4")?),
        };
        match dialogues.last_mut() {
            Some((id, utterances)) if *id == dialogue => utterances.push((index, utterance)),
            _ => dialogues.push((dialogue, vec![(index, utterance)])),
        }
        Ok(())
    })?;
    Ok(dialogues
        .into_iter()
        .map(|(id, mut utterances)| {
            utterances.sort_by_key(|(index, _)| *index);
            Dialogue {
                id: id.to_string(),
                utterances: utterances.into_iter().map(|(_, u)| u).collect(),
            }
        })
        .collect())
}
