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

/// Reads every split and prepares its samples.
pub fn load(
    data: &DataConfig,
    encoder: &TextEncoderConfig,
) -> anyhow::Result<(TrainData, LabelSet)> {
    let tokenizer = encoder.tokenizer()?;
    let prompt = prompt(encoder, &tokenizer)?;
    let split = |split| -> anyhow::Result<(Vec<Sample>, LabelSet)> {
        let data = mer_datasets::load(data, split)?;
        Ok((samples(&data.dialogues, &prompt, &tokenizer)?, data.labels))
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
            pad_id: tokenizer.pad_id(),
            num_classes: labels.len(),
            media: None,
        },
        labels,
    ))
}
