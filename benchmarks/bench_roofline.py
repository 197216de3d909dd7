#!/usr/bin/env python
"""Cached beam-search decoding against its rooflines, on this machine, in one run.

    python benchmarks/bench_roofline.py                      # 6 layers x 512, 2 prompts x 4 beams, source 128, 64 new tokens
    python benchmarks/bench_roofline.py --layers 24 --hidden 1024 --heads 16

One cached step feeds R = prompts x beams tokens. Its matrix work, with H hidden, V vocabulary rows, K keys so far:
    per layer  2*R*H*3H (QKV) + 2*R*H*H (attention output) + 2*R*H*8H (MLP) + 4*R*K*H (scores and values)
    logits     2*R*H*V (the tied output projection)
The FLOP bound is that work at the machine's measured matrix-multiply rate (the best of a large fp32 GEMM, timed
here); the memory bound is the bytes a step must read (every weight once, plus the key/value cache: beam search
keeps the prompt's positions once per prompt and the generated ones per beam, `BeamKVCache`) at the measured copy
bandwidth. With few rows a step is memory-bound, so both are printed; the step is judged against
the larger of the two (the real roofline) and against the FLOP bound alone. The step's matrix products are also timed
alone, at the step's shapes on preallocated operands: the floor this machine's BLAS sets for the step; the gap
between that floor and the step is what is not matrix work (cache writes, masks, the beam scorer).

The measured step time is (beam search of N tokens - beam search of 1 token) / (N - 1): the prompt pass cancels
and what is left is everything one decoding step costs (model, cache bookkeeping, beam scorer). The model's own
cached forward is timed separately on a cache of the average length, which splits that into model and the rest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_decoding import prompt_batch  # noqa: E402
from model.decoding import GenerationConfig, generate  # noqa: E402
from model.decoding import _project  # noqa: E402
from model.glm import BeamKVCache, GLMConfig, GLMModel  # noqa: E402


def best_of(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_rate(n: int = 1024, repeats: int = 5) -> float:
    """FLOP/s of a square fp32 matrix product (the machine's practical matrix peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / best_of(lambda: a @ b, repeats)


def copy_bandwidth(mb: int = 256, repeats: int = 5) -> float:
    """Bytes/s of a large tensor copy (read + write counted)."""
    src = torch.empty(mb * 2**18)  # fp32
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / best_of(lambda: dst.copy_(src), repeats)


def step_flops(cfg: GLMConfig, rows: int, keys: float) -> float:
    h = cfg.hidden_size
    per_layer = 2 * rows * h * 3 * h + 2 * rows * h * h + 2 * rows * h * 8 * h + 4 * rows * keys * h
    return cfg.num_layers * per_layer + 2 * rows * h * cfg.vocab_size


def step_bytes(model: GLMModel, prompts: int, prompt_len: int, rows: int, generated: float) -> float:
    cfg = model.config
    weights = sum(p.numel() for n, p in model.named_parameters() if "position_embeddings" not in n) * 4
    positions = prompts * prompt_len + rows * generated  # the prompt's once per prompt, the generated per beam
    cache = 2 * cfg.num_layers * positions * cfg.hidden_size * 4  # keys and values, read once
    return weights + cache


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--batch", type=int, default=2, help="prompts (x beams = rows per step)")
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--src-len", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = GLMConfig(num_layers=a.layers, hidden_size=a.hidden, num_attention_heads=a.heads,
                    max_sequence_length=a.src_len + a.new_tokens + 2)
    model = GLMModel(cfg).eval()
    prompt = prompt_batch(a.batch, a.src_len, torch.Generator().manual_seed(0))
    rows, n = a.batch * a.beams, a.new_tokens

    def beam(tokens: int):
        return generate(model, *prompt, GenerationConfig(max_length=tokens, min_length=tokens, num_beams=a.beams))

    # interleaved: full decode, one-token decode, the bare model step, the machine probes
    mean_keys = a.src_len + 1 + n / 2
    head = a.hidden // a.heads
    prompt_len, done = a.src_len + 1, n // 2
    cache = BeamKVCache([(torch.randn(a.batch, a.heads, prompt_len, head),) * 2 for _ in range(a.layers)],
                        a.beams, capacity=done + 1)
    generated = torch.randn(rows, a.heads, done, head)
    for layer in range(a.layers):
        cache.generated.extend(layer, generated, generated)
    cache.advance(done)
    token = torch.randint(4, 50000, (rows, 1))
    pos = torch.zeros(rows, 2, 1, dtype=torch.long)
    visible = torch.ones(rows, 1, 1, cache.length + 1, dtype=torch.bool)

    def bare_step():
        with torch.no_grad():
            out = model(token, pos, attention_mask=visible, past_key_values=cache, use_cache=True, output_logits=False)
            cache.generated.length -= 1  # the same cache length every time
            _project(model, out.hidden_states)

    # the step's matrix products alone, at its shapes, on preallocated operands: what the BLAS does with them
    x_h, x_4h = torch.randn(rows, a.hidden), torch.randn(rows, 4 * a.hidden)
    # attention: a prompt's beams against its keys together, each row against its own generated keys
    q_prompt, kv_prompt = torch.randn(a.batch, a.heads, a.beams, head), torch.randn(a.batch, a.heads, prompt_len, head)
    p_prompt = torch.randn(a.batch, a.heads, a.beams, prompt_len)
    q_own, kv_own, p_own = torch.randn(rows, a.heads, 1, head), torch.randn(rows, a.heads, done + 1, head), torch.randn(rows, a.heads, 1, done + 1)

    def gemms_only():
        with torch.no_grad():
            for layer in model.transformer.layers:  # every layer's own weights: they are read from memory, as in a step
                torch.nn.functional.linear(x_h, layer.attention.query_key_value.weight, layer.attention.query_key_value.bias)
                torch.nn.functional.linear(x_h, layer.attention.dense.weight, layer.attention.dense.bias)
                torch.nn.functional.linear(x_h, layer.mlp.dense_h_to_4h.weight, layer.mlp.dense_h_to_4h.bias)
                torch.nn.functional.linear(x_4h, layer.mlp.dense_4h_to_h.weight, layer.mlp.dense_4h_to_h.bias)
                q_prompt @ kv_prompt.transpose(-1, -2), p_prompt @ kv_prompt
                q_own @ kv_own.transpose(-1, -2), p_own @ kv_own
            _project(model, x_h.unsqueeze(1))

    full, one, bare, kernels, rate, bandwidth = [], [], [], [], [], []
    beam(n), beam(1), bare_step(), gemms_only()  # warm-up
    for _ in range(a.repeats):
        full.append(best_of(lambda: beam(n), 1))
        one.append(best_of(lambda: beam(1), 1))
        bare.append(best_of(bare_step, 3))
        kernels.append(best_of(gemms_only, 3))
        rate.append(gemm_rate())
        bandwidth.append(copy_bandwidth())
    step = (statistics.median(full) - statistics.median(one)) / (n - 1)
    peak, bw = max(rate), max(bandwidth)
    flops, nbytes = step_flops(cfg, rows, mean_keys), step_bytes(model, a.batch, prompt_len, rows, n / 2)
    flop_bound, mem_bound = flops / peak, nbytes / bw
    roof = max(flop_bound, mem_bound)
    model_step, kernel_time = statistics.median(bare), statistics.median(kernels)
    print(f"model: {a.layers} layers x {a.hidden} hidden, vocab {cfg.vocab_size}, {model.num_parameters / 1e6:.1f}M parameters; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"work: {a.batch} prompts x {a.beams} beams = {rows} rows, source {a.src_len}, {n} new tokens, "
          f"{a.repeats} interleaved rounds (medians; machine probes: best)")
    print(f"machine: fp32 GEMM {peak / 1e9:.1f} GFLOP/s, copy bandwidth {bw / 1e9:.1f} GB/s")
    print(f"one cached step: {flops / 1e9:.3f} GFLOP, {nbytes / 1e6:.0f} MB to read")
    print(f"  FLOP bound {flop_bound * 1000:7.2f} ms   memory bound {mem_bound * 1000:7.2f} ms   roofline {roof * 1000:7.2f} ms")
    print(f"  measured   {step * 1000:7.2f} ms per step ({rows / step:.0f} tokens/s)  = {step / roof:.2f}x the roofline, "
          f"{step / flop_bound:.2f}x the FLOP bound")
    print(f"  of which the model's cached forward {model_step * 1000:.2f} ms ({model_step / step:.0%}), "
          f"beam scorer and cache bookkeeping {max(step - model_step, 0) * 1000:.2f} ms")
    print(f"  the step's matrix products alone (same shapes, on preallocated operands) {kernel_time * 1000:.2f} ms: "
          f"{kernel_time / roof:.2f}x the roofline; the step is {step / kernel_time:.2f}x its own matrix work")


if __name__ == "__main__":
    main()
