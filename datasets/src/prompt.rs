//! Dialogue prompts, as the original codebase built them: each speaker becomes a special token
//! (`<s0>`, `<s1>`, … in order of first appearance within the dialogue), the input is the
//! dialogue so far, and a question is put after the current utterance:
//!
//! ```text
//! <s0> Hi! <s1> Oh no, not you again. </s> Now <s1> feels <mask>
//! ```
//!
//! When the tokens do not fit, the encoder keeps the last ones, so the current utterance and the
//! question survive.

use std::collections::HashMap;

pub use mer_core::encoders::text::{SPEAKER_TOKENS, speaker_token};

use crate::Dialogue;

/// The tokenizer's own separator and mask tokens (`</s>`/`<mask>` for RoBERTa,
/// `[SEP]`/`[MASK]` for BERT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTokens {
    pub separator: String,
    pub mask: String,
}

/// How an utterance becomes the encoder's input text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// The utterance alone.
    Utterance,
    /// The dialogue so far with speaker tokens, then `{sep} Now <sK> feels {mask}`.
    Dialogue(PromptTokens),
}

impl Prompt {
    /// One input text per utterance of `dialogue`, in order.
    pub fn texts(&self, dialogue: &Dialogue) -> Vec<String> {
        match self {
            Prompt::Utterance => dialogue.utterances.iter().map(|u| u.text.clone()).collect(),
            Prompt::Dialogue(tokens) => {
                let mut speakers: HashMap<&str, usize> = HashMap::new();
                let mut context = String::new();
                dialogue
                    .utterances
                    .iter()
                    .map(|utterance| {
                        let next = speakers.len();
                        let k = *speakers.entry(utterance.speaker.as_str()).or_insert(next);
                        let speaker = speaker_token(k);
                        if !context.is_empty() {
                            context.push(' ');
                        }
                        context.push_str(&format!("{speaker} {}", utterance.text));
                        format!(
                            "{context} {} Now {speaker} feels {}",
                            tokens.separator, tokens.mask
                        )
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Utterance;

    fn utterance(speaker: &str, text: &str) -> Utterance {
        Utterance {
            speaker: speaker.into(),
            text: text.into(),
            label: 0,
            audio: None,
            video: None,
        }
    }

    #[test]
    fn speakers_are_numbered_by_first_appearance_and_context_grows() {
        let dialogue = Dialogue {
            id: "0".into(),
            utterances: vec![
                utterance("Ross", "Hi!"),
                utterance("Rachel", "Oh no."),
                utterance("Ross", "What?"),
            ],
        };
        let prompt = Prompt::Dialogue(PromptTokens {
            separator: "</s>".into(),
            mask: "<mask>".into(),
        });
        assert_eq!(
            prompt.texts(&dialogue),
            vec![
                "<s0> Hi! </s> Now <s0> feels <mask>",
                "<s0> Hi! <s1> Oh no. </s> Now <s1> feels <mask>",
                "<s0> Hi! <s1> Oh no. <s0> What? </s> Now <s0> feels <mask>",
            ]
        );
        assert_eq!(Prompt::Utterance.texts(&dialogue)[1], "Oh no.");
    }

    #[test]
    fn speaker_tokens_wrap_after_the_last() {
        assert_eq!(speaker_token(0), "<s0>");
        assert_eq!(speaker_token(SPEAKER_TOKENS), "<s0>");
    }
}
