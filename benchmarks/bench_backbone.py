#!/usr/bin/env python
"""Forward+backward throughput and peak memory of the GLM backbone: fused SDPA vs the naive masked softmax.

    python benchmarks/bench_backbone.py                       # glm-roberta-large shape: 24 x 1024, batch 2, seq 256
    python benchmarks/bench_backbone.py --layers 4 --steps 2  # quicker

Each variant runs in its own subprocess so that its peak resident memory (ru_maxrss) is its own. The mask is GLM's
blank-infilling one (Part A bidirectional, Part B causal). Random weights, fp32, training mode with dropout.
Prints tokens/s and peak memory per variant and the ratios, which are what to report.
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


def run_variant(kernel: str, layers: int, hidden: int, heads: int, batch: int, seq: int, steps: int) -> dict:
    import torch

    from model.glm import GLMConfig, GLMModel, SelfAttention, naive_attention

    if kernel == "naive":
        SelfAttention.kernel = staticmethod(naive_attention)
    torch.manual_seed(0)
    cfg = GLMConfig(num_layers=layers, hidden_size=hidden, num_attention_heads=heads, max_sequence_length=512)
    model = GLMModel(cfg).train()
    ids = torch.randint(0, 50000, (batch, seq))
    pos = torch.stack([torch.arange(seq).expand(batch, seq), torch.zeros(batch, seq, dtype=torch.long)], dim=1)
    sep = torch.full((batch,), seq // 2)
    times = []
    for step in range(steps + 1):  # the first step warms up and is not timed
        t0 = time.perf_counter()
        hidden_states = model(ids, pos, sep=sep, output_logits=False).hidden_states
        hidden_states.float().square().mean().backward()
        model.zero_grad(set_to_none=True)
        if step:
            times.append(time.perf_counter() - t0)
    per_step = sum(times) / len(times)
    return {
        "kernel": kernel,
        "tokens_per_s": batch * seq / per_step,
        "s_per_step": per_step,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=24)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one variant and print JSON
    a = p.parse_args()
    shape = (a.layers, a.hidden, a.heads, a.batch, a.seq, a.steps)
    if a.variant:
        print(json.dumps(run_variant(a.variant, *shape)))
        return
    results = {}
    for kernel in ("sdpa", "naive"):
        cmd = [sys.executable, __file__, "--variant", kernel, "--layers", str(a.layers), "--hidden", str(a.hidden),
               "--heads", str(a.heads), "--batch", str(a.batch), "--seq", str(a.seq), "--steps", str(a.steps)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[kernel] = json.loads(out.strip().splitlines()[-1])
        r = results[kernel]
        print(f"{kernel:>6}: {r['tokens_per_s']:8.1f} tokens/s  ({r['s_per_step']:.2f} s/step)  peak RSS {r['peak_rss_mb']:.0f} MB")
    s, n = results["sdpa"], results["naive"]
    print(f"shape: {a.layers} layers x {a.hidden} hidden, {a.heads} heads, batch {a.batch}, seq {a.seq}, fp32, train mode")
    print(f"throughput ratio sdpa/naive: {s['tokens_per_s'] / n['tokens_per_s']:.2f}x; "
          f"peak memory ratio sdpa/naive: {s['peak_rss_mb'] / n['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
