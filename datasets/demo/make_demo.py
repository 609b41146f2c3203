#!/usr/bin/env python3
"""Writes mer's demo dataset: invented dialogues in MELD's layout, and a small tokenizer.

    python3 datasets/demo/make_demo.py

Deterministic (fixed seed): running it again rewrites the same files. Nothing here is MELD's
text; the wording carries the emotion so a small model can learn it in a minute.
"""

import csv
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

SPEAKERS = ["Mara", "Theo", "Jun", "Priya", "Sol", "Ines"]
THINGS = [
    "the apartment", "the coffee shop", "the wedding", "the job interview", "my sister",
    "the museum trip", "the couch", "the audition", "the neighbours", "the old photos",
    "the concert", "the cat", "the exam", "the road trip", "the birthday party", "the garden",
]
TEMPLATES = {
    "neutral": [
        "The keys for {x} are on the table.", "I will call you about {x} later.",
        "We need to sort out {x} by Tuesday.", "Did you take the bags to {x}?",
        "Okay, {x} starts at noon.", "Let me check the times for {x}.",
        "I think {x} is on the second floor.", "Can you pass me the list for {x}?",
    ],
    "joy": [
        "I am so happy about {x}!", "This is wonderful, {x} worked out!",
        "Yes! I love {x}!", "Best news ever, {x} is perfect!", "I'm thrilled about {x}, thank you!",
    ],
    "sadness": [
        "I miss {x} so much.", "I feel so sad about {x}.", "It hurts that {x} is over.",
        "I can't stop crying about {x}.", "Since {x} I just feel lonely.",
    ],
    "anger": [
        "Stop it, you ruined {x} and I'm furious!", "How dare you lie about {x}!",
        "I am so angry about {x}!", "This is outrageous, {x} again!", "Get out, you wrecked {x}!",
    ],
    "fear": [
        "I'm scared of {x}.", "What if {x} goes wrong? I'm terrified.",
        "Please, I'm afraid of {x}.", "Honestly {x} frightens me.", "I'm so nervous about {x}.",
    ],
    "disgust": [
        "Ew, {x} is disgusting.", "That's gross, {x} smells awful.",
        "Yuck, get {x} away from me.", "Honestly {x} is revolting.", "I feel sick thinking about {x}.",
    ],
    "surprise": [
        "Wait, {x}? Really?", "No way, {x}?!", "Wow, I did not expect {x}!",
        "What? {x} is happening now?", "Seriously? {x}?",
    ],
}
# Roughly MELD's balance: neutral first, then joy and surprise, fear and disgust rarest.
WEIGHTS = {"neutral": 40, "joy": 17, "surprise": 12, "anger": 11, "sadness": 9, "fear": 5, "disgust": 6}
NEGATIVE = {"sadness", "anger", "fear", "disgust"}
SPLITS = {"train": 44, "dev": 12, "test": 14}
HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID",
          "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def sentiment(emotion, rng):
    if emotion == "neutral":
        return "neutral"
    if emotion in NEGATIVE:
        return "negative"
    if emotion == "surprise":
        return rng.choice(["positive", "negative"])
    return "positive"


def timestamp(seconds):
    return f"00:{seconds // 60:02d}:{seconds % 60:02d},000"


def write_split(split, dialogues, rng):
    emotions = list(WEIGHTS)
    weights = [WEIGHTS[e] for e in emotions]
    rows, texts = [], []
    for dialogue in range(dialogues):
        cast = rng.sample(SPEAKERS, rng.choice([2, 2, 3, 4]))
        clock = rng.randrange(0, 3000)
        for utterance in range(rng.randrange(4, 9)):
            emotion = rng.choices(emotions, weights)[0]
            text = rng.choice(TEMPLATES[emotion]).format(x=rng.choice(THINGS))
            text = text[0].upper() + text[1:]
            rows.append([len(rows) + 1, text, rng.choice(cast), emotion, sentiment(emotion, rng),
                         dialogue, utterance, 1, dialogue + 1, timestamp(clock), timestamp(clock + 3)])
            texts.append(text)
            clock += 4
    with open(HERE / f"{split}_sent_emo.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return texts


def pre_tokenize(text):
    """What the tokenizer's normaliser and pre-tokeniser do: lowercase, words and punctuation."""
    return re.findall(r"\w+|[^\w\s]+", text.lower())


def write_tokenizer(texts):
    words = sorted({w for t in texts for w in pre_tokenize(t)})
    vocab = {token: i for i, token in enumerate(SPECIAL + words)}
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": t == "<mask>",
              "rstrip": False, "normalized": False, "special": True} for t in SPECIAL]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
    }
    (HERE / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1, ensure_ascii=False) + "\n")
    return len(vocab)


def main():
    rng = random.Random(20261126)
    texts = []
    for split, dialogues in SPLITS.items():
        texts += write_split(split, dialogues, rng)
    size = write_tokenizer(texts)
    print(f"wrote {len(texts)} utterances and a {size}-token vocabulary to {HERE}")


if __name__ == "__main__":
    main()
