#!/usr/bin/env python3
"""Makes the reference outputs mer's text encoders are tested against, with PyTorch transformers.

    pip install torch transformers safetensors
    python3 scripts/reference/make_text_fixtures.py [MINILM_DIR]

Writes, under tests/fixtures/:
- tiny-roberta/: a randomly initialised RoBERTa (masked-LM checkpoint: `roberta.` prefixes and an
  LM head mer must ignore) with the demo tokenizer, and reference.safetensors;
- minilm/reference.safetensors: all-MiniLM-L6-v2's outputs (MINILM_DIR defaults to the folder
  scripts/fetch-minilm unpacks).

Each reference holds input_ids, attention_mask and last_hidden_state as transformers' AutoModel
returns them for a padded batch (padding=True).
"""

import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import (AutoModel, AutoTokenizer, PreTrainedTokenizerFast, RobertaConfig,
                          RobertaForMaskedLM)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

MINILM_TEXTS = [
    "This is an example sentence",
    "Each sentence is converted",
    "mer reads a dialogue one utterance at a time, and this one is longer than the others.",
]
DEMO_TEXTS = [
    "I am so happy about the wedding!",
    "Ew, the couch is disgusting.",
    "<s0> Wait, the concert? Really? </s> Now <s0> feels <mask>",
]


def reference(model, tokenizer, texts, path):
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    save_file({
        "input_ids": batch["input_ids"].contiguous(),
        "attention_mask": batch["attention_mask"].contiguous(),
        "last_hidden_state": out.last_hidden_state.contiguous(),
    }, str(path))


def tiny_roberta():
    folder = FIXTURES / "tiny-roberta"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "datasets" / "demo" / "tokenizer.json", folder / "tokenizer.json")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"), bos_token="<s>", eos_token="</s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    tokenizer.add_special_tokens({"additional_special_tokens": [f"<s{k}>" for k in range(9)]})
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    model = RobertaForMaskedLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    reference(model.roberta, tokenizer, DEMO_TEXTS, folder / "reference.safetensors")


def minilm(folder):
    out = FIXTURES / "minilm"
    out.mkdir(parents=True, exist_ok=True)
    reference(AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder),
              MINILM_TEXTS, out / "reference.safetensors")


def main():
    tiny_roberta()
    minilm(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "models" / "all-MiniLM-L6-v2")
    print(f"wrote fixtures under {FIXTURES}")


if __name__ == "__main__":
    main()
