#!/usr/bin/env python
"""Training throughput on short inputs: padded batches vs length buckets vs several examples per row, and bf16
autocast vs fp32 on CPU with its accuracy cost.

    python benchmarks/bench_packing.py                         # 2 layers x 1024 (glm-roberta-large's width), batch 8
    python benchmarks/bench_packing.py --layers 24 --batches 8 # the full depth (slow on a small CPU)

Data: single-token cloze samples whose lengths follow an AG News-like distribution (log-normal, median about 45
tokens, 12..250, plus the pattern's tokens) against a 256-token budget. One epoch = `--batches` batches of
`--batch` examples in the seeded order; every variant trains on the same examples in the same batches:

    pad-256      every row padded to the 256-token budget (padding="max_length", as the HF port's examples do)
    pad-longest  each batch padded to its longest example (this toolkit's default collate)
    buckets      --length-buckets 8: batches drawn from length-sorted windows, padded to their longest
    packed       --pack-examples: several examples per 256-token row, block-diagonal masks
    packed-bf16  packed, under CPU bf16 autocast (timed only where the CPU has bf16 instructions: AVX512-BF16 or
                 AMX; elsewhere autocast emulates bf16, 0.02x the fp32 step on an AVX2 CPU, and is reported so)

Timing: forward + backward of the training loss (the optimizer step is the same for every variant and is left
out), in train mode with dropout 0.1, the word embedding's gradient sparse as the trainer builds it on CPU. The
variants are interleaved batch by batch, in a rotating order, after a warm-up of each; an epoch's time is summed
per round, and the median and minimum over rounds are reported. Only the ratios mean anything across machines.

bf16's accuracy cost: (1) on the benchmark model, the largest score difference and the loss difference against
fp32 on the same batches; (2) the tiny demo GLM fine-tuned on the demo AG News data in fp32 and in bf16
(same seed), dev and test accuracy (skip with --no-finetune).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from model.glm import GLMConfig, GLMModel  # noqa: E402
from model.heads import SingleTokenClozeHead, cloze_loss  # noqa: E402
from tasks import layout, packing  # noqa: E402
from training.loop import cpu_computes_natively, epoch_batches, sparse_embedding_grads  # noqa: E402


class Ids:
    cls_id, eos_id, pad_id, sop_id, eop_id, mask_id = 0, 2, 2, 50265, 50266, 50264


def ag_news_like(n: int, budget: int, gen: torch.Generator) -> list[layout.SingleTokenSample]:
    """Samples of AG News-like length (text tokens log-normal, median 45, clipped 12..250) + a 6-token pattern."""
    lengths = torch.exp(torch.randn(n, generator=gen) * 0.4 + 3.8).round().clamp(12, 250).long().tolist()
    samples = []
    for n_text in lengths:
        n_text = min(n_text, budget - 9)
        text = torch.randint(10, 50000, (n_text + 6,), generator=gen).tolist()
        text[-2] = Ids.mask_id  # "... News: [MASK] ."
        samples.append(layout.build_single_token(text, [], Ids, [1000, 2000, 3000, 4000], int(torch.randint(0, 4, (1,), generator=gen))))
    return samples


def pad_to(batch: dict, width: int, pad_id: int = 2) -> dict:
    """A pad-longest single-token batch padded further to `width` (padding after <sop>, unseen by real tokens)."""
    extra = width - batch["input_ids"].shape[1]
    out = dict(batch)
    out["input_ids"] = torch.nn.functional.pad(batch["input_ids"], (0, extra), value=pad_id)
    out["position_ids"] = torch.nn.functional.pad(batch["position_ids"], (0, extra), value=0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--batches", type=int, default=4, help="batches per epoch")
    p.add_argument("--budget", type=int, default=256, help="--seq-length: the padding width and the packing capacity")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--no-finetune", action="store_true", help="skip the demo fine-tuning accuracy check of bf16")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    n = a.batch * a.batches
    samples = ag_news_like(n, a.budget, gen)
    torch.manual_seed(0)
    model = GLMModel(GLMConfig(num_layers=a.layers, hidden_size=a.hidden, num_attention_heads=a.heads,
                               max_sequence_length=a.budget)).train()
    head = SingleTokenClozeHead()
    sparse_embedding_grads(model)  # as the trainer does on CPU

    plain = epoch_batches(n, a.batch, seed=1234, epoch=0)
    lengths = [len(s.input_ids) for s in samples]
    bucketed = packing.bucketed_order(lengths, plain, 8, seed=1234, epoch=0)
    variants = {
        "pad-256": [pad_to(layout.collate_single_token([samples[i] for i in b]), a.budget) for b in plain],
        "pad-longest": [layout.collate_single_token([samples[i] for i in b]) for b in plain],
        "buckets": [layout.collate_single_token([samples[i] for i in b]) for b in bucketed],
        "packed": [packing.collate_packed_single_token([samples[i] for i in b], capacity=a.budget) for b in plain],
    }
    native_bf16 = cpu_computes_natively("bf16")
    if native_bf16:
        variants["packed-bf16"] = variants["packed"]
    real = sum(lengths)
    fed = {k: sum(b["input_ids"].numel() for b in v) for k, v in variants.items()}

    def step(name: str, batch: dict) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=name.endswith("bf16")):
            loss = cloze_loss(head(model, batch), batch["labels"])
        loss.backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    names = list(variants)
    for name in names:  # warm-up
        step(name, variants[name][0])
    epoch_time = {k: [] for k in names}
    for r in range(a.rounds):
        spent = dict.fromkeys(names, 0.0)
        for j in range(a.batches):
            shift = (r * a.batches + j) % len(names)
            for name in names[shift:] + names[:shift]:
                spent[name] += step(name, variants[name][j])
        for k in names:
            epoch_time[k].append(spent[k])

    print(f"model: {a.layers} layers x {a.hidden} hidden ({a.heads} heads), vocab 50304, train mode, dropout 0.1; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"data: {n} AG News-like examples (mean {real / n:.0f} tokens, max {max(lengths)}), batch {a.batch}, "
          f"budget {a.budget}; forward+backward per epoch, {a.rounds} interleaved rounds")
    ref = statistics.median(epoch_time["pad-256"])
    print(f"{'variant':12s} {'tokens fed':>10s} {'padding':>8s} {'epoch s (median)':>17s} {'min':>7s} "
          f"{'real tok/s':>10s} {'vs pad-256':>10s} {'vs pad-longest':>14s}")
    for k in names:
        med = statistics.median(epoch_time[k])
        print(f"{k:12s} {fed[k]:10d} {1 - real / fed[k]:8.0%} {med:17.2f} {min(epoch_time[k]):7.2f} {real / med:10.0f} "
              f"{ref / med:9.2f}x {statistics.median(epoch_time['pad-longest']) / med:13.2f}x")

    # bf16's accuracy cost on the benchmark model, the same packed batches
    model.eval()
    worst, losses = 0.0, []
    with torch.no_grad():
        for batch in variants["packed"]:
            s32 = head(model, batch)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                s16 = head(model, batch).float()
            worst = max(worst, ((s16 - s32).abs().max() / s32.abs().max()).item())
            losses.append((cloze_loss(s32, batch["labels"]).item(), cloze_loss(s16, batch["labels"]).item()))
    rel_loss = max(abs(b - f) / f for f, b in losses)
    speed = (f"speed-up {statistics.median(epoch_time['packed']) / statistics.median(epoch_time['packed-bf16']):.2f}x (training step)"
             if native_bf16 else "packed-bf16 not timed: this CPU has no bf16 matrix instructions (oneDNN reports none), "
             "so bf16 is emulated (see the linear layer below)")
    print(f"bf16 vs fp32 (benchmark model, eval): {speed}; largest score difference {worst:.2%} of the largest score; "
          f"largest loss difference {rel_loss:.2%}")
    x, w = torch.randn(2048, a.hidden), torch.randn(4 * a.hidden, a.hidden)
    linear = {}
    for name, on in (("fp32", False), ("bf16", True), ("fp32", False), ("bf16", True)):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=on):
            torch.nn.functional.linear(x, w)
            start = time.perf_counter()
            torch.nn.functional.linear(x, w)
            linear.setdefault(name, []).append(time.perf_counter() - start)
    print(f"for scale, one 2048 x {a.hidden} x {4 * a.hidden} linear layer under bf16 autocast: "
          f"{min(linear['fp32']) / min(linear['bf16']):.1f}x the fp32 speed (the step's other work does not speed up)")
    if not a.no_finetune:
        finetune_accuracy()


def finetune_accuracy() -> None:
    """The tiny demo GLM fine-tuned on the demo AG News data in fp32 and in bf16: the accuracy cost of bf16."""
    import io
    import logging
    from contextlib import redirect_stderr, redirect_stdout

    from finetune_glm import main as finetune
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = make_tiny_checkpoint(Path(tmp) / "glm-tiny", vocab="demo")
        rows = []
        for flag in ([], ["--bf16"]):
            args = ["--task", "ag_news", "--data-dir", str(ROOT / "data" / "demo" / "ag_news"), "--load-pretrained", str(ckpt),
                    "--save", tmp, "--experiment-name", f"acc{len(rows)}", "--seq-length", "96", "--batch-size", "16",
                    "--epochs", "4", "--lr", "3e-3", "--warmup", "0.1", "--pack-examples", *flag]
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):  # the driver's progress bars
                res = finetune(args)
            rows.append((flag[0][2:] if flag else "fp32", res["best"]["dev"]["accuracy"], res["test"]["accuracy"]))
    for name, dev, test in rows:
        print(f"demo fine-tune (tiny GLM, AG News demo, 4 epochs, packed) {name}: dev accuracy {dev:.3f}, test accuracy {test:.3f}")


if __name__ == "__main__":
    main()
