"""PyTorch side of `mer bench encoders`: the same encoders, shapes, batches, dropout and thread
count through transformers, on random weights and inputs.

mer passes its cases as JSON (`--cases`): each a name, modality, batch, length (tokens or
samples) and mer's resolved encoder table, whose `shape` is mapped here onto the transformers
config of the same network. Prints one JSON line last: {"cases": [{name, forward_ms,
train_step_ms}]}, the median of --steps timed calls after one warm-up.

    python scripts/reference/bench_encoders_torch.py --cases '[...]' [--steps 5] [--threads 2]

Forward: eval mode, no gradients. Training step: train mode (dropout on), forward, loss = mean of
the squared pooled output, backward, AdamW (lr 1e-4), as mer's step.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import transformers as tf


def text_model(table):
    s = table["shape"]
    common = dict(
        vocab_size=s["vocab_size"],
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        intermediate_size=s["intermediate"],
        max_position_embeddings=s["max_positions"],
        type_vocab_size=s["type_vocab_size"],
        layer_norm_eps=s["layer_norm_eps"],
        pad_token_id=s["pad_token_id"],
        hidden_dropout_prob=table["dropout"],
        attention_probs_dropout_prob=table["dropout"],
    )
    if s["family"] == "roberta":
        return tf.RobertaModel(tf.RobertaConfig(**common), add_pooling_layer=False), s["vocab_size"]
    return tf.BertModel(tf.BertConfig(**common), add_pooling_layer=False), s["vocab_size"]


def audio_model(table):
    s = table["shape"]
    p = table["dropout"]
    common = dict(
        conv_dim=s["conv_dim"],
        conv_kernel=s["conv_kernel"],
        conv_stride=s["conv_stride"],
        conv_bias=s["conv_bias"],
        feat_extract_norm=s["feature_norm"],
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        intermediate_size=s["intermediate"],
        num_conv_pos_embedding_groups=s["pos_conv_groups"],
        layer_norm_eps=s["layer_norm_eps"],
        # mer's dropouts: after the feature projection, on attention weights, after each
        # residual branch; none inside the feed-forward block.
        feat_proj_dropout=p,
        attention_dropout=p,
        hidden_dropout=p,
        activation_dropout=0.0,
        layerdrop=0.0,
        mask_time_prob=0.0,
        apply_spec_augment=False,
    )
    kind = s["kind"]
    if kind == "data2vec-audio":
        config = tf.Data2VecAudioConfig(
            conv_pos_kernel_size=s["pos_conv_kernel"],
            num_conv_pos_embeddings=s["pos_conv_layers"],
            **common,
        )
        return tf.Data2VecAudioModel(config)
    common.update(num_conv_pos_embeddings=s["pos_conv_kernel"])
    if kind == "hubert":
        return tf.HubertModel(tf.HubertConfig(**common))
    config = tf.Wav2Vec2Config(do_stable_layer_norm=s["stable_layer_norm"], **common)
    return tf.Wav2Vec2Model(config)


def video_model(table):
    s = table["shape"]
    p = table["dropout"]
    common = dict(
        image_size=table["image_size"],
        patch_size=s["patch_size"],
        num_channels=3,
        num_frames=table["frames"],
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        intermediate_size=s["intermediate"],
        hidden_dropout_prob=p,
        attention_probs_dropout_prob=p,
        layer_norm_eps=s["layer_norm_eps"],
    )
    if s["kind"] == "timesformer":
        return tf.TimesformerModel(tf.TimesformerConfig(**common))
    config = tf.VideoMAEConfig(
        tubelet_size=s["tubelet_size"],
        qkv_bias=s["qkv_bias"],
        use_mean_pooling=s["use_mean_pooling"],
        **common,
    )
    return tf.VideoMAEModel(config)


def build(case, device="cpu"):
    """The model on `device`, and a function from it to pooled [N, H] states on fixed random
    inputs (`bench_train_step_torch.py` builds its models here too)."""
    n, table = case["batch"], case["config"]
    if case["modality"] == "text":
        model, vocab = text_model(table)
        ids = torch.randint(3, vocab, (n, case["length"]), device=device)
        mask = torch.ones_like(ids)
        pooled = lambda m: m(input_ids=ids, attention_mask=mask).last_hidden_state.mean(1)
    elif case["modality"] == "audio":
        model = audio_model(table)
        waves = torch.randn(n, case["length"], device=device)
        # Processors return a mask only for layer-norm feature encoders; mer always has one.
        mask = torch.ones(n, case["length"], dtype=torch.long, device=device)
        pooled = lambda m: m(waves, attention_mask=mask).last_hidden_state.mean(1)
    else:
        model = video_model(table)
        size = table["image_size"]
        pixels = torch.randn(n, table["frames"], 3, size, size, device=device)
        pooled = lambda m: m(pixels).last_hidden_state.mean(1)
    return model.to(device), pooled


def median_ms(steps, call):
    call()
    times = []
    for _ in range(max(steps, 1)):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def measure(case, steps):
    torch.manual_seed(7)
    model, pooled = build(case)
    model.eval()
    with torch.no_grad():
        forward_ms = median_ms(steps, lambda: pooled(model))
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        loss = pooled(model).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return {"name": case["name"], "forward_ms": forward_ms, "train_step_ms": median_ms(steps, step)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True, help="mer's cases as JSON")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = []
    for case in json.loads(args.cases):
        figures = measure(case, args.steps)
        print(f"{case['name']}: forward {figures['forward_ms']:.1f} ms, "
              f"train step {figures['train_step_ms']:.1f} ms", file=sys.stderr)
        out.append(figures)
    print(json.dumps({"cases": out}))


if __name__ == "__main__":
    main()
