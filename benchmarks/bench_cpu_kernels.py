#!/usr/bin/env python
"""The CPU training paths the toolkit picks by itself, each against the plain one it replaced, in one run.

    python benchmarks/bench_cpu_kernels.py

    dropout      model.glm.inverted_dropout vs F.dropout, forward + backward, [2, 256, 4096] (an MLP's width)
    attention    attention with dropout 0.1: the reference formulation with that mask (what the model runs on a
                 CPU) vs scaled_dot_product_attention's own dropout, forward + backward, 2 x 16 heads x 256 x 256
    adamw        torch's fused AdamW vs its multi-tensor default, one step over 77M parameters (a 50304 x 1024
                 embedding and 24 matrices of 1024 x 1024)
    embedding    a 2 x 256 training step (forward + backward, full-vocabulary loss) of a 2-layer x 1024 GLM with
                 the tied word embedding's gradient sparse (the trainer's CPU setting) vs dense

Every pair is interleaved (alternating order), warmed up, and reported as medians with the ratio. Only the ratios
carry across machines.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.glm import GLMConfig, GLMModel, inverted_dropout, naive_attention  # noqa: E402


def race(plain, fast, rounds: int) -> tuple[float, float]:
    """Median seconds of two callables, interleaved in alternating order after one warm-up each."""
    plain(), fast()
    times: dict[str, list[float]] = {"plain": [], "fast": []}
    for r in range(rounds):
        for name in ("plain", "fast") if r % 2 == 0 else ("fast", "plain"):
            start = time.perf_counter()
            (plain if name == "plain" else fast)()
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["plain"]), statistics.median(times["fast"])


def show(what: str, plain_name: str, fast_name: str, times: tuple[float, float]) -> None:
    plain, fast = times
    print(f"{what:10s} {plain_name:>13s} {plain * 1e3:8.1f} ms   {fast_name:>16s} {fast * 1e3:8.1f} ms   {plain / fast:5.2f}x")


def backward_of(fn, *inputs):
    def run():
        out = fn()
        out.backward(torch.ones_like(out))
        for x in inputs:
            x.grad = None
    return run


def main() -> None:
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}")

    x = torch.randn(2, 256, 4096, requires_grad=True)
    show("dropout", "F.dropout", "inverted_dropout", race(backward_of(lambda: F.dropout(x, 0.1, True), x),
                                                          backward_of(lambda: inverted_dropout(x, 0.1), x), 21))

    q, k, v = (torch.randn(2, 16, 256, 64, requires_grad=True) for _ in range(3))
    mask = torch.ones(256, 256, dtype=torch.bool).tril().view(1, 1, 256, 256)
    sdpa = backward_of(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.1), q, k, v)
    ours = backward_of(lambda: naive_attention(q, k, v, mask, 0.1), q, k, v)
    show("attention", "SDPA dropout", "reference + mask", race(sdpa, ours, 21))

    params = [torch.nn.Parameter(torch.randn(50304, 1024))] + [torch.nn.Parameter(torch.randn(1024, 1024)) for _ in range(24)]
    for p in params:
        p.grad = torch.randn_like(p)
    foreach = torch.optim.AdamW(params, lr=1e-9, foreach=True)
    fused = torch.optim.AdamW(params, lr=1e-9, fused=True)
    show("adamw", "multi-tensor", "fused", race(foreach.step, fused.step, 9))
    del params, foreach, fused

    model = GLMModel(GLMConfig(num_layers=2, hidden_size=1024, num_attention_heads=16, max_sequence_length=512)).train()
    ids, targets = torch.randint(10, 50000, (2, 256)), torch.randint(10, 50000, (2, 256))

    def step(sparse: bool):
        def run():
            model.word_embeddings.sparse = sparse
            logits = model(ids, sep=128).logits
            F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1)).backward()
            model.zero_grad(set_to_none=True)
        return run

    show("embedding", "dense grad", "sparse grad", race(step(False), step(True), 9))


if __name__ == "__main__":
    main()
