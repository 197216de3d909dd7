#!/usr/bin/env python
"""What each parameter-efficient method saves, as ratios to full fine-tuning measured in one run.

    python benchmarks/bench_peft.py                         # glm-roberta-large width (1024, 16 heads), 6 layers
    python benchmarks/bench_peft.py --layers 24 --steps 3   # the full depth (slow on a CPU)

Methods: full fine-tuning, P-tuning v2 (prefix 16 and 128), LoRA (rank 8 on qkv, attention output, both MLP
projections), prompt tuning (20 prompt tokens after [CLS], frozen backbone, no reparameterisation). One training
step = forward, a single-token cloze loss at the [sop] position over 4 label words, backward and an AdamW step over
the trainable parameters only (so optimizer state is part of what a method saves). Each method runs in its own
subprocess, so its peak memory is its own: peak resident memory (ru_maxrss) on a CPU, CUDA peak allocated memory
on a GPU. Random weights, fp32, training mode with dropout, batch 2 x 256 tokens.

Trainable parameters are counted for the benchmarked depth and, on the meta device (no memory), for the real
glm-roberta-large (24 layers); both as a share of the backbone's parameters.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCAB = 50304
METHODS = {
    "full": None,
    "prefix16": ("prefix", {"length": 16}),
    "prefix128": ("prefix", {"length": 128}),
    "lora8": ("lora", {"rank": 8, "alpha": 16.0}),
    "prompt20": ("prompt", {"prefix_prompt": 20, "func": "none", "freeze_transformer": True, "placeholder_id": VOCAB}),
}


def peft_config(method: str):
    from model.peft import ContinuousPromptConfig, LoraConfig, PrefixConfig

    spec = METHODS[method]
    if spec is None:
        return None
    kind, kwargs = spec
    return {"prefix": PrefixConfig, "lora": LoraConfig, "prompt": ContinuousPromptConfig}[kind](**kwargs)


def build(method: str, layers: int, hidden: int, heads: int, device: str = "cpu"):
    import torch

    from model.glm import GLMConfig, GLMModel
    from model.peft import apply_peft

    cfg = GLMConfig(num_layers=layers, hidden_size=hidden, num_attention_heads=heads, vocab_size=VOCAB, max_sequence_length=512)
    with torch.device(device):
        backbone = GLMModel(cfg)
        model = apply_peft(backbone, peft_config(method))
    return backbone, model


def count(method: str, layers: int, hidden: int, heads: int) -> tuple[int, int]:
    """(trainable parameters, backbone parameters), on the meta device."""
    backbone, model = build(method, layers, hidden, heads, device="meta")
    base = sum(p.numel() for n, p in backbone.named_parameters() if ".lora_" not in n)
    return sum(p.numel() for p in model.parameters() if p.requires_grad), base


def run_method(method: str, layers: int, hidden: int, heads: int, batch: int, seq: int, steps: int) -> dict:
    import torch

    from model.heads import SingleTokenClozeHead, cloze_loss

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.manual_seed(0)
    _, model = build(method, layers, hidden, heads)
    model.to(device).train()
    ids = torch.randint(5, 50000, (batch, seq), device=device)
    if method.startswith("prompt"):
        ids[:, 1 : 1 + METHODS[method][1]["prefix_prompt"]] = VOCAB  # the prompt slots after [CLS]
    pos = torch.stack([torch.arange(seq, device=device).expand(batch, seq), torch.zeros(batch, seq, dtype=torch.long, device=device)], dim=1)
    sop = seq - 1
    batch_d = {"input_ids": ids, "position_ids": pos, "sep": torch.full((batch,), sop, device=device),
               "verbalizer_ids": torch.tensor([[100, 200, 300, 400]], device=device).expand(batch, 4),
               "labels": torch.zeros(batch, dtype=torch.long, device=device)}
    head = SingleTokenClozeHead()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(steps + 1):  # the first step warms up (and creates the optimizer state) and is not timed
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        cloze_loss(head(model, batch_d), batch_d["labels"]).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "s_per_step": sum(times) / len(times), "peak_mb": peak,
            "memory": "CUDA peak allocated" if cuda else "peak RSS", "device": torch.cuda.get_device_name() if cuda else "cpu"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--method", help=argparse.SUPPRESS)  # internal: run one method and print JSON
    a = p.parse_args()
    shape = [str(v) for v in (a.layers, a.hidden, a.heads, a.batch, a.seq, a.steps)]
    if a.method:
        print(json.dumps(run_method(a.method, a.layers, a.hidden, a.heads, a.batch, a.seq, a.steps)))
        return
    rows = {}
    for method in METHODS:
        cmd = [sys.executable, __file__, "--method", method, "--layers", shape[0], "--hidden", shape[1], "--heads", shape[2],
               "--batch", shape[3], "--seq", shape[4], "--steps", shape[5]]
        rows[method] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        rows[method]["trainable"], rows[method]["backbone"] = count(method, a.layers, a.hidden, a.heads)
        rows[method]["trainable_24"], rows[method]["backbone_24"] = count(method, 24, a.hidden, a.heads)
    full = rows["full"]
    print(f"shape: {a.layers} layers x {a.hidden} hidden, {a.heads} heads (glm-roberta-large: 24 x 1024, 16 heads), "
          f"vocab {VOCAB}, batch {a.batch} x {a.seq} tokens, fp32, {a.steps} timed steps; device {full['device']}; "
          f"memory = {full['memory']}")
    print(f"| method | trainable ({a.layers} layers) | % of backbone | % at 24 layers | peak memory (MB) | memory / full FT | step (s) | time / full FT |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, r in rows.items():
        print(f"| {method} | {r['trainable']:,} | {100 * r['trainable'] / r['backbone']:.3f} | "
              f"{100 * r['trainable_24'] / r['backbone_24']:.3f} | {r['peak_mb']:.0f} | {r['peak_mb'] / full['peak_mb']:.2f} | "
              f"{r['s_per_step']:.2f} | {r['s_per_step'] / full['s_per_step']:.2f} |")
    if a.json:
        a.json.write_text(json.dumps({"shape": vars(a) | {"json": None}, "rows": rows}, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
