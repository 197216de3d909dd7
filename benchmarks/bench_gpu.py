#!/usr/bin/env python
"""GPU measurements at glm-roberta-large's shape (24 layers x 1024, 16 heads, vocab 50304, random weights).

    python benchmarks/bench_gpu.py attention        # GLM-mask attention kernels: SDPA (bool / additive mask), FlexAttention, reference
    python benchmarks/bench_gpu.py train --seq 256  # bf16 training tokens/s and MFU (fused AdamW, single-token cloze loss)
    python benchmarks/bench_gpu.py memory           # peak memory of full fine-tuning at 16 x 256, +/- activation checkpointing, and P-tuning v2
    python benchmarks/bench_gpu.py decode           # cached beam-search tokens/s
    benchmarks/gpu_suite.sh runs them all in under 10 minutes on one GPU.

`--device cpu --layers 1` runs the same code on a CPU for a quick check of the script itself (memory figures need
CUDA). MFU = model FLOPs per second / the card's dense bf16 peak, with model FLOPs = 6 x (non-embedding
parameters + the output projection) x tokens + the attention's 12 x layers x hidden x seq per token (the
PaLM-paper accounting); the peak is a measured large bf16 GEMM and, for known cards, the datasheet figure too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.glm import GLMConfig, GLMModel, SelfAttention, naive_attention, sdpa_attention  # noqa: E402
from model.heads import SingleTokenClozeHead, cloze_loss  # noqa: E402
from tasks import layout  # noqa: E402
from training.optim import build_optimizer  # noqa: E402

# Dense bf16 datasheet peaks (TFLOP/s, no sparsity), matched by substring of torch.cuda.get_device_name().
DATASHEET_BF16 = {"H200": 989.0, "H100 SXM": 989.0, "H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 756.0,
                  "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 70.0, "A10": 125.0, "V100": 0.0}


class Ids:
    cls_id, eos_id, pad_id, sop_id, eop_id, mask_id = 0, 2, 2, 50265, 50266, 50264


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - start)
    return out


def model_for(a, device, **kw) -> GLMModel:
    torch.manual_seed(0)
    cfg = GLMConfig(num_layers=a.layers, hidden_size=a.hidden, num_attention_heads=a.hidden // 64,
                    max_sequence_length=512, **kw)
    return GLMModel(cfg).to(device)


def cloze_batch(batch: int, seq: int, device: torch.device) -> dict:
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(batch):
        text = torch.randint(10, 50000, (seq - 3,), generator=g).tolist()
        text[-2] = Ids.mask_id
        samples.append(layout.build_single_token(text, [], Ids, [1000, 2000, 3000, 4000], 1))
    return {k: v.to(device) for k, v in layout.collate_single_token(samples).items()}


def device_peak(device: torch.device) -> tuple[float, float | None]:
    """(measured bf16 GEMM FLOP/s, datasheet FLOP/s or None)."""
    n = 8192 if device.type == "cuda" else 512
    x = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    y = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    x @ y
    best = min(timed(lambda: x @ y, device, 10))
    sheet = None
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, tflops in DATASHEET_BF16.items():
            if key in name and tflops:
                sheet = tflops * 1e12
                break
    return 2 * n**3 / best, sheet


# ---------------------------------------------------------------------------------------------- attention
def flex_kernel():
    """FlexAttention with a GLM block mask (Part A columns < sep, the rest causal), or None where unavailable."""
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError:
        return None
    compiled = torch.compile(flex_attention, dynamic=False)

    def run(q, k, v, sep):
        def glm(b, h, qi, ki):
            return (ki <= qi) | (ki < sep[b])

        block = create_block_mask(glm, q.shape[0], None, q.shape[2], k.shape[2], device=q.device)
        return compiled(q, k, v, block_mask=block)

    return run


def cmd_attention(a, device) -> None:
    b, n, t, d = 16, a.hidden // 64, a.seq, 64
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    g = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (torch.randn(b, n, t, d, generator=g).to(device, dtype) for _ in range(3))
    sep = torch.randint(t // 4, t, (b,), generator=g).to(device)
    cols = torch.arange(t, device=device)
    mask = ((cols.view(1, 1, 1, t) <= cols.view(1, 1, t, 1)) | (cols.view(1, 1, 1, t) < sep.view(b, 1, 1, 1)))  # [B, 1, T, T]
    additive = torch.zeros(mask.shape, device=device, dtype=dtype).masked_fill(~mask, float("-inf"))
    kernels = {
        "reference": lambda: naive_attention(q, k, v, mask, 0.0),
        "sdpa-bool": lambda: sdpa_attention(q, k, v, mask, 0.0),
        "sdpa-additive": lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=additive),
    }
    flex = flex_kernel() if device.type == "cuda" else None
    if flex is not None:
        kernels["flex"] = lambda: flex(q, k, v, sep)
    ref = kernels["reference"]().float()
    for name, fn in kernels.items():
        try:
            err = (fn().float() - ref).abs().max().item()
        except Exception as exc:  # a kernel this torch/card lacks: say so, measure the others
            print(f"attention {name}: unavailable ({type(exc).__name__}: {str(exc)[:120]})")
            kernels[name] = None
            continue
        print(f"attention {name}: largest difference to the reference {err:.2e} ({dtype})")
    kernels = {k: f for k, f in kernels.items() if f is not None}
    times = {k: [] for k in kernels}
    for f in kernels.values():
        f()
    for r in range(a.repeats):
        for name in list(kernels)[r % len(kernels):] + list(kernels)[: r % len(kernels)]:
            times[name] += timed(kernels[name], device, 5)
    base = statistics.median(times["sdpa-bool"])
    for name, ts in times.items():
        print(f"attention {name:14s} batch {b} x {n} heads x seq {t}: {statistics.median(ts) * 1e3:8.3f} ms "
              f"(sdpa-bool / this = {base / statistics.median(ts):.2f}x)")


# ---------------------------------------------------------------------------------------------- training
def train_flops_per_token(cfg: GLMConfig, seq: int) -> float:
    h, layers = cfg.hidden_size, cfg.num_layers
    dense = layers * 12 * h * h  # QKV, attention output, MLP weights
    return 6 * dense + 12 * layers * h * seq  # the cloze head reads one row: no full-vocabulary projection


def cmd_train(a, device) -> None:
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float16 if a.precision == "fp16" else None
    model = model_for(a, device).train()
    if a.compile:
        for layer in model.transformer.layers:
            layer.compile()
    head = SingleTokenClozeHead()
    batch = cloze_batch(a.batch, a.seq, device)
    opt = build_optimizer(model, 1e-5, 0.01, fused=device.type == "cuda")
    scaler = torch.amp.GradScaler(device.type, enabled=a.precision == "fp16")

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = cloze_loss(head(model, batch), batch["labels"])
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)

    start = time.perf_counter()
    for _ in range(3):
        step()
    sync(device)
    warm = time.perf_counter() - start
    ts = timed(step, device, a.steps)
    per_step = statistics.median(ts)
    tokens = a.batch * a.seq / per_step
    measured, sheet = device_peak(device)
    achieved = train_flops_per_token(model.config, a.seq) * tokens
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    line = (f"train {a.precision} {'compiled ' if a.compile else ''}{a.layers} x {a.hidden}, batch {a.batch} x {a.seq} on {where}: "
            f"{tokens:,.0f} tokens/s ({per_step * 1e3:.0f} ms/step, median of {a.steps}; warm-up {warm:.1f} s); "
            f"{achieved / 1e12:.1f} TFLOP/s = MFU {achieved / measured:.1%} of the measured bf16 GEMM ({measured / 1e12:.0f} TFLOP/s)")
    if sheet:
        line += f", {achieved / sheet:.1%} of the datasheet {sheet / 1e12:.0f} TFLOP/s"
    print(line)


# ---------------------------------------------------------------------------------------------- memory
def peak_of(a, device, checkpointing: bool, ptuning: bool) -> float:
    from model.peft import PrefixConfig, apply_peft

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    backbone = model_for(a, device, checkpoint_activations=checkpointing)
    module = apply_peft(backbone, PrefixConfig(16) if ptuning else None).to(device).train()
    head = SingleTokenClozeHead()
    batch = cloze_batch(16, 256, device)
    opt = build_optimizer(module, 1e-5, 0.01, fused=device.type == "cuda")
    for _ in range(2):  # the second step holds the optimizer state too
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = cloze_loss(head(module, batch), batch["labels"])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync(device)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    del module, backbone, opt
    return peak


def cmd_memory(a, device) -> None:
    full = peak_of(a, device, False, False)
    ckpt = peak_of(a, device, True, False)
    prefix = peak_of(a, device, False, True)
    print(f"peak memory, bf16 autocast, batch 16 x 256, {a.layers} x {a.hidden}, AdamW, two steps: "
          f"full fine-tuning {full:.2f} GiB; with activation checkpointing {ckpt:.2f} GiB ({ckpt / full:.2f}x); "
          f"P-tuning v2 (16 prefixes) {prefix:.2f} GiB ({prefix / full:.2f}x of full fine-tuning)")


# ---------------------------------------------------------------------------------------------- decoding
def cmd_decode(a, device) -> None:
    from benchmarks.bench_decoding import prompt_batch
    from model.decoding import GenerationConfig, generate

    model = model_for(a, device).eval()
    prompt = tuple(x.to(device) for x in prompt_batch(a.batch, a.src_len, torch.Generator().manual_seed(0)))
    n = a.new_tokens
    # the prompt's keys/values once per prompt (the default) in fp32 and bf16, then bf16 with a copy per beam
    for dtype, share in ((None, True), (torch.bfloat16, True), (torch.bfloat16, False)):
        config = GenerationConfig(max_length=n, min_length=n, num_beams=a.beams, share_prompt_cache=share)

        def run():
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                generate(model, *prompt, config)

        run()
        ts = timed(run, device, a.repeats)
        rows = a.batch * a.beams
        cache = "prompt cache once per prompt" if share else "prompt cache copied per beam"
        print(f"decode {'bf16' if dtype else 'fp32'} {a.layers} x {a.hidden}, {a.batch} prompts x {a.beams} beams, "
              f"source {a.src_len}, {n} new tokens, {cache}: {rows * n / statistics.median(ts):,.0f} tokens/s "
              f"({statistics.median(ts):.2f} s per call, median of {a.repeats})", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("attention", "train", "memory", "decode"))
    p.add_argument("--device", default="cuda")
    p.add_argument("--layers", type=int, default=24)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--precision", choices=("bf16", "fp16", "fp32"), default="bf16")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--src-len", type=int, default=384)
    p.add_argument("--new-tokens", type=int, default=64)
    a = p.parse_args()
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("SKIPPED: no CUDA device here (torch.cuda.is_available() is False)")
        return
    {"attention": cmd_attention, "train": cmd_train, "memory": cmd_memory, "decode": cmd_decode}[a.what](a, device)


if __name__ == "__main__":
    main()
