#!/usr/bin/env python3
"""Writes mer's demo dataset: invented dialogues in MELD's layout, and a small tokenizer.

    python3 datasets/demo/make_demo.py

Deterministic (fixed seed): running it again rewrites the same files. Nothing here is MELD's
text. The wording narrows the emotion to a pair; the voice and the video (make_media.py) tell
the pair apart, each unreliably, so text alone falls well short of the modalities together.
"""

import csv
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

SPEAKERS = ["Mara", "Theo", "Jun", "Priya", "Sol", "Ines"]
THINGS = [
    "the flat", "the cafe", "the wedding", "the job", "my sister", "the trip", "the couch",
    "the audition", "the neighbours", "the photos", "the concert", "the cat", "the exam",
    "the car", "the party", "the garden",
]
# The words say how an utterance feels only up to a pair of emotions: each template is shared
# by the two emotions of its group. Which of the two it is, the voice says (make_media.py:
# joy, anger and fear are spoken fast and high, surprise, disgust and sadness slow and low) and
# sometimes the video; so the label lies in how the modalities combine.
GROUPS = {
    "neutral": ["neutral"],
    "excited": ["joy", "surprise"],
    "hostile": ["anger", "disgust"],
    "distressed": ["fear", "sadness"],
}
# Short, so that twice MELD-demo's utterances fit the media budget.
TEMPLATES = {
    "neutral": [
        "Keys for {x}.", "Call me about {x}.", "Sort out {x}.", "Bags for {x}?",
        "Okay, {x} at noon.", "Times for {x}?", "{x} is upstairs.", "The list for {x}.",
    ],
    "excited": ["Oh, {x}!", "Wow, {x}!", "Really, {x}?!", "Look, {x}!", "No way, {x}!"],
    "hostile": ["Not {x} again.", "Ugh, {x}!", "Enough of {x}!", "Stop, {x}!", "Take {x} away."],
    "distressed": ["Please, not {x}.", "Oh no, {x}.", "What about {x}?", "I can't, {x}.", "Why {x}?"],
}
GROUP_OF = {emotion: group for group, emotions in GROUPS.items() for emotion in emotions}
# Roughly MELD's balance: neutral first, then joy and surprise, fear and disgust rarest.
WEIGHTS = {"neutral": 40, "joy": 17, "surprise": 12, "anger": 11, "sadness": 9, "fear": 5, "disgust": 6}
NEGATIVE = {"sadness", "anger", "fear", "disgust"}
SPLITS = {"train": 88, "dev": 16, "test": 20}
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
            text = rng.choice(TEMPLATES[GROUP_OF[emotion]]).format(x=rng.choice(THINGS))
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
