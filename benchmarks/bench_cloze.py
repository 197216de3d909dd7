#!/usr/bin/env python
"""Multi-token cloze scoring, packed vs one row per candidate; and the cloze training-step throughput.

    python benchmarks/bench_cloze.py [--layers 4 --hidden 256 --heads 4 --seq 256]

Packed: the context once, each candidate's block after it, an explicit mask (tasks.layout.build_packed).
Rows: upstream's layout, the context repeated for every candidate. Same scores (tests/test_heads.py); the ratio
is what to report. Random weights, fp32, eval mode for scoring; train mode for the training step.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from model.glm import GLMConfig, GLMModel  # noqa: E402
from model.heads import MultiTokenClozeHead, SingleTokenClozeHead, cloze_loss  # noqa: E402
from tasks import layout  # noqa: E402


class Ids:
    """The special ids of the real vocabulary: enough for the layout builders."""

    cls_id, eos_id, pad_id, sop_id, eop_id, mask_id = 0, 2, 2, 50265, 50266, 50264


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq", type=int, default=256, help="context length")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--answer-len", type=int, default=4, help="tokens per candidate (eop included)")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    torch.manual_seed(0)
    model = GLMModel(GLMConfig(num_layers=a.layers, hidden_size=a.hidden, num_attention_heads=a.heads, max_sequence_length=1024)).eval()
    head = MultiTokenClozeHead()
    g = torch.Generator().manual_seed(1)
    print(f"model: {a.layers} layers x {a.hidden} hidden; context {a.seq} tokens; batch {a.batch}; answers {a.answer_len} tokens")
    for n_cand in (4, 14):
        packed, rows = [], []
        for b in range(a.batch):
            ctx = torch.randint(10, 50000, (a.seq - 3,), generator=g).tolist()
            ctx[a.seq // 2] = Ids.mask_id
            answers = [torch.randint(10, 50000, (a.answer_len - 1,), generator=g).tolist() + [Ids.eop_id] for _ in range(n_cand)]
            packed.append(layout.build_packed(ctx, [], answers, Ids, 0))
            rows.append(layout.build_candidate_rows(ctx, [], answers, Ids, 0))
        pb, rb = layout.collate_packed(packed), layout.collate_candidate_rows(rows)
        with torch.no_grad():
            tp = timed(lambda: head(model, pb), a.repeat)
            tr = timed(lambda: head(model, rb), a.repeat)
            diff = (head(model, pb) - head(model, rb)).abs().max().item()
        print(f"{n_cand:>2} candidates: packed {tp * 1000:8.1f} ms  rows {tr * 1000:8.1f} ms  speed-up {tr / tp:5.2f}x  "
              f"(max |score diff| {diff:.1e})")

    # training-step throughput of the single-token cloze path
    model.train()
    single = SingleTokenClozeHead()
    samples = [layout.build_single_token(torch.randint(10, 50000, (a.seq - 3,), generator=g).tolist() + [Ids.mask_id], [], Ids,
                                         [100, 200, 300, 400], 0) for _ in range(a.batch)]
    batch = layout.collate_single_token(samples)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step():
        loss = cloze_loss(single(model, batch), batch["labels"])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    t = timed(step, a.repeat)
    print(f"cloze training step: {t * 1000:.1f} ms, {a.batch * a.seq / t:.0f} tokens/s (batch {a.batch} x seq {a.seq})")


if __name__ == "__main__":
    main()
