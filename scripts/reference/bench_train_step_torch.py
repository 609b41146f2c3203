"""PyTorch side of `mer bench train-step`: one training step (forward, loss, backward, AdamW) of
the same encoders at the same shapes, batches and dropout, in three precisions: eager fp32,
fp32 with TF32 matrix products, and bf16 autocast.

mer passes its cases as JSON (`--cases`), as for `bench_encoders_torch.py`, whose model
builders this reuses. Prints one JSON line last:
{"device": ..., "cases": [{name, fp32_ms, tf32_ms, bf16_ms}]}, each the median of --steps timed
steps after --warmup untimed ones, the device synchronised after each step.

    python scripts/reference/bench_train_step_torch.py --cases '[...]' [--device cuda]
        [--steps 20] [--warmup 5] [--threads 2]

On the CPU, TF32 does not exist (tf32_ms is null) and bf16 autocast is measured as it runs.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_encoders_torch import build  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_ms(case, device, precision, steps, warmup):
    torch.manual_seed(7)
    model, pooled = build(case, device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32

    def step():
        if precision == "bf16":
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = pooled(model).float().pow(2).mean()
        else:
            loss = pooled(model).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)

    for _ in range(warmup):
        step()
    times = []
    for _ in range(max(steps, 1)):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000.0)
    del model, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True, help="mer's cases as JSON")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    out = []
    for case in json.loads(args.cases):
        row = {"name": case["name"]}
        for precision in ["fp32", "tf32", "bf16"]:
            if precision == "tf32" and device.type != "cuda":
                row["tf32_ms"] = None
                continue
            row[f"{precision}_ms"] = step_ms(case, device, precision, args.steps, args.warmup)
            print(f"{case['name']} {precision}: {row[f'{precision}_ms']:.1f} ms/step",
                  file=sys.stderr)
        out.append(row)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps({"device": name, "torch": torch.__version__, "cases": out}))


if __name__ == "__main__":
    main()
