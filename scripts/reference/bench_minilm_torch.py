"""PyTorch side of the encoder-throughput comparison in `mer bench meld-text`.

Encodes MELD train's utterances with a Hugging Face encoder the way the original codebase did:
batches of 64 in file order, padded to the longest, truncated at 128 tokens, 2 threads, no
gradients. Batches are tokenised before the clock starts, as mer's figure times the encoder
alone. Prints utterances per second (with --sorted, batches formed by length, as mer forms
them).

    python scripts/reference/bench_minilm_torch.py --meld ../shared/data/meld \
        --model target/models/all-MiniLM-L6-v2 [--sorted] [--threads 2]
"""

import argparse
import csv
import time

import torch
from transformers import AutoModel, AutoTokenizer


def utterances(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [row["Utterance"].strip() for row in csv.DictReader(f)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meld", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--sorted", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    texts = utterances(f"{args.meld}/train_sent_emo.csv")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model).eval()
    if args.sorted:
        lengths = [len(tokenizer(t, truncation=True, max_length=128)["input_ids"]) for t in texts]
        texts = [t for _, t in sorted(zip(lengths, texts), key=lambda p: p[0])]

    # Tokenised before timing: mer's figure is the encoder alone (its tokenizer runs when the
    # data is loaded), so this one is too.
    batches = [
        tokenizer(
            texts[i : i + args.batch],
            padding="longest",
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )
        for i in range(0, len(texts), args.batch)
    ]
    started = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            model(**batch).last_hidden_state
    seconds = time.perf_counter() - started
    order = "sorted by length" if args.sorted else "file order"
    print(
        f"pytorch {torch.__version__}, {args.threads} threads, batch {args.batch} ({order}): "
        f"{len(texts)} utterances in {seconds:.1f} s = {len(texts) / seconds:.1f} utterances/s"
    )


if __name__ == "__main__":
    main()
