//! Turning a dataset into the samples a model reads: prompts, then token ids, beside the
//! utterances' media files (decoded later, by the encoders that read them).

use mer_core::encoders::text::{PromptKind, TextEncoderConfig, TextTokenizer};
use mer_core::input::Sample;
use mer_core::input::data::DataConfig;
use mer_core::train::TrainData;
use mer_datasets::prompt::{Prompt, PromptTokens};
use mer_datasets::{Dialogue, LabelSet, Split};

/// The prompt an encoder config asks for, with its tokenizer's own separator and mask tokens.
pub fn prompt(config: &TextEncoderConfig, tokenizer: &TextTokenizer) -> anyhow::Result<Prompt> {
    Ok(match config.prompt {
        PromptKind::Utterance => Prompt::Utterance,
        PromptKind::Dialogue => Prompt::Dialogue(PromptTokens {
            separator: tokenizer.find_token(&["</s>", "[SEP]"]).ok_or_else(|| {
                anyhow::anyhow!("the tokenizer has no separator token (</s> or [SEP])")
            })?,
            mask: tokenizer.find_token(&["<mask>", "[MASK]"]).ok_or_else(|| {
                anyhow::anyhow!("the tokenizer has no mask token (<mask> or [MASK])")
            })?,
        }),
    })
}

/// One sample per utterance of `dialogues`, in order.
pub fn samples(
    dialogues: &[Dialogue],
    prompt: &Prompt,
    tokenizer: &TextTokenizer,
) -> anyhow::Result<Vec<Sample>> {
    let mut out = Vec::new();
    for dialogue in dialogues {
        for (text, utterance) in prompt.texts(dialogue).iter().zip(&dialogue.utterances) {
            out.push(Sample {
                text_ids: tokenizer.encode(text)?,
                label: utterance.label,
                audio: utterance.audio.clone(),
                video: utterance.video.clone(),
            });
        }
    }
    Ok(out)
}

/// How a network's utterances become token ids: its text encoder's tokenizer and prompt, or
/// no tokens for a network without a text encoder.
pub struct Tokenizing(Option<(TextTokenizer, Prompt)>);

impl Tokenizing {
    /// Loads the tokenizer of `text`, once for every split it prepares.
    pub fn new(text: Option<&TextEncoderConfig>) -> anyhow::Result<Self> {
        Ok(Tokenizing(match text {
            Some(encoder) => {
                let tokenizer = encoder.tokenizer()?;
                let prompt = prompt(encoder, &tokenizer)?;
                Some((tokenizer, prompt))
            }
            None => None,
        }))
    }

    /// The id padding takes.
    pub fn pad_id(&self) -> u32 {
        self.0
            .as_ref()
            .map_or(0, |(tokenizer, _)| tokenizer.pad_id())
    }

    /// The samples of `dialogues`, in order.
    pub fn samples(&self, dialogues: &[Dialogue]) -> anyhow::Result<Vec<Sample>> {
        match &self.0 {
            Some((tokenizer, prompt)) => samples(dialogues, prompt, tokenizer),
            None => Ok(dialogues
                .iter()
                .flat_map(|d| &d.utterances)
                .map(|u| Sample {
                    text_ids: Vec::new(),
                    label: u.label,
                    audio: u.audio.clone(),
                    video: u.video.clone(),
                })
                .collect()),
        }
    }
}

/// Reads every split and prepares its samples for a network whose text encoder is `text`.
pub fn load(
    data: &DataConfig,
    text: Option<&TextEncoderConfig>,
) -> anyhow::Result<(TrainData, LabelSet)> {
    let tokenizing = Tokenizing::new(text)?;
    let split = |split| -> anyhow::Result<(Vec<Sample>, LabelSet)> {
        let data = mer_datasets::load(data, split)?;
        Ok((tokenizing.samples(&data.dialogues)?, data.labels))
    };
    let (train, labels) = split(Split::Train)?;
    let (dev, _) = split(Split::Dev)?;
    // The test split is only reported, and some copies of a dataset lack it.
    let test = match mer_datasets::test_split_file(data) {
        Some(path) if !path.exists() => {
            eprintln!(
                "no test split at {}: test figures are not reported",
                path.display()
            );
            Vec::new()
        }
        _ => split(Split::Test)?.0,
    };
    Ok((
        TrainData {
            train,
            dev,
            test,
            pad_id: tokenizing.pad_id(),
            num_classes: labels.len(),
            media: None,
        },
        labels,
    ))
}
