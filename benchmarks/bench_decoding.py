"""Seq2seq speed on a small random GLM: decoding with and without the key/value cache, and training throughput.

    python benchmarks/bench_decoding.py [--layers 4 --hidden 256 --src-len 128 --new-tokens 64 --beams 4]

Decoding: beam search over a batch of source+[sop] prompts in the padding-excluded layout, exactly `--new-tokens`
tokens per beam (min_length = max_length, so no hypothesis stops early and both paths do the same work). The
cached path feeds one token per step; the recomputing path runs the whole sequence every step. Beam search is
also timed with the prompt's cache copied per beam (`share_prompt_cache=False`) against the default that keeps it
once per prompt. Both must give the
same tokens, which is checked. Training: forward + backward of the label-smoothed seq2seq loss on
teacher-forcing batches of `--src-len` + `--tgt-len` tokens, no optimizer step. Figures are wall-clock on this
machine; compare ratios, not absolute numbers, across machines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.decoding import GenerationConfig, generate  # noqa: E402
from model.glm import GLMConfig, GLMModel  # noqa: E402
from model.heads import token_loss  # noqa: E402
from tasks.seq2seq.layout import seq2seq_attention  # noqa: E402

SOP, EOP, MASK = 50265, 50266, 50264


def prompt_batch(batch: int, src_len: int, gen: torch.Generator):
    """Random sources of lengths src_len/2 .. src_len with a [MASK] at the end, padded, then [sop]."""
    lengths = torch.randint(src_len // 2, src_len + 1, (batch,), generator=gen)
    lengths[0] = src_len
    ids = torch.full((batch, src_len + 1), 2)
    pos = torch.zeros(batch, 2, src_len + 1, dtype=torch.long)
    for row, n in enumerate(lengths.tolist()):
        ids[row, :n] = torch.randint(4, 50000, (n,), generator=gen)
        ids[row, n - 1] = MASK
        pos[row, 0, :n] = torch.arange(n)
        pos[row, 0, src_len] = n - 1
    ids[:, src_len] = SOP
    pos[:, 1, src_len] = 1
    return ids, pos, seq2seq_attention(lengths, src_len, src_len + 1, original_layout=False)


def time_decoding(model: GLMModel, prompt, config: GenerationConfig, repeats: int) -> tuple[float, list[list[int]]]:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = generate(model, *prompt, config)
        best = min(best, time.perf_counter() - start)
    return best, out


def time_training(model: GLMModel, batch: int, src_len: int, tgt_len: int, steps: int, gen: torch.Generator) -> float:
    """Seconds per forward+backward of the seq2seq loss on a [batch, src_len + tgt_len] teacher-forcing batch."""
    total = src_len + tgt_len
    ids = torch.randint(4, 50000, (batch, total), generator=gen)
    targets = torch.randint(4, 50000, (batch, total), generator=gen)
    pos = torch.stack([torch.cat([torch.arange(src_len), torch.full((tgt_len,), src_len - 1)]),
                       torch.cat([torch.zeros(src_len, dtype=torch.long), torch.arange(1, tgt_len + 1)])])
    pos = pos.expand(batch, 2, total)  # [B, 2, T]
    mask = seq2seq_attention(torch.full((batch,), src_len), src_len, total, original_layout=False)
    loss_mask = torch.zeros(batch, total)
    loss_mask[:, src_len:] = 1.0
    model.train()
    times = []
    for _ in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        hidden = model(ids, pos, attention_mask=mask, output_logits=False).hidden_states  # [B, T, H]
        token_loss(model, hidden, targets, loss_mask, 0.1).backward()  # projects only the target rows
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    model.eval()
    return sorted(times[1:])[len(times[1:]) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--batch", type=int, default=2, help="prompts per decoding call (x beams rows)")
    p.add_argument("--src-len", type=int, default=128)
    p.add_argument("--tgt-len", type=int, default=64, help="target length of the training batches")
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--train-batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    cfg = GLMConfig(num_layers=args.layers, hidden_size=args.hidden, num_attention_heads=args.heads,
                    max_sequence_length=max(args.src_len + args.tgt_len, args.src_len + args.new_tokens + 2))
    model = GLMModel(cfg).eval()
    print(f"model: {args.layers} layers, hidden {args.hidden}, vocab {cfg.vocab_size}, "
          f"{model.num_parameters / 1e6:.1f}M parameters; torch {torch.__version__}, {torch.get_num_threads()} threads")

    prompt = prompt_batch(args.batch, args.src_len, gen)
    n = args.new_tokens
    for beams in sorted({1, args.beams}):
        rows = args.batch * beams
        timings, outputs = {}, {}
        for use_cache in (True, False):
            config = GenerationConfig(max_length=n, min_length=n, num_beams=beams, use_cache=use_cache)
            timings[use_cache], outputs[use_cache] = time_decoding(model, prompt, config, args.repeats)
        if outputs[True] != outputs[False]:
            raise SystemExit("cached and recomputed decoding disagree")
        label = "greedy" if beams == 1 else f"beam {beams}"
        print(f"decode {label:7s} batch {args.batch} src {args.src_len} +{n} tokens: "
              f"cached {rows * n / timings[True]:8.1f} tok/s ({timings[True]:.2f} s), "
              f"recomputed {rows * n / timings[False]:8.1f} tok/s ({timings[False]:.2f} s), "
              f"cached/recomputed = {timings[False] / timings[True]:.1f}x")
        if beams > 1:  # the prompt's keys/values once per prompt (the default) against a copy per beam, interleaved
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(max(args.repeats, 3)):
                for share in (True, False):
                    config = GenerationConfig(max_length=n, min_length=n, num_beams=beams, share_prompt_cache=share)
                    seconds, out = time_decoding(model, prompt, config, 1)
                    if out != outputs[True]:
                        raise SystemExit("the shared and the per-beam prompt cache disagree")
                    times[share].append(seconds)
            shared, per_beam = statistics.median(times[True]), statistics.median(times[False])
            print(f"  prompt cache once per prompt {rows * n / shared:8.1f} tok/s ({shared:.2f} s), copied per beam "
                  f"{rows * n / per_beam:8.1f} tok/s ({per_beam:.2f} s): {per_beam / shared:.2f}x (interleaved medians)")

    seconds = time_training(model, args.train_batch, args.src_len, args.tgt_len, steps=5, gen=gen)
    total = args.train_batch * (args.src_len + args.tgt_len)
    print(f"train  batch {args.train_batch} x ({args.src_len} + {args.tgt_len}) tokens, forward+backward: "
          f"{total / seconds:8.1f} tok/s ({args.train_batch * args.tgt_len / seconds:.1f} target tok/s, "
          f"{seconds * 1000:.0f} ms/step)")


if __name__ == "__main__":
    main()
