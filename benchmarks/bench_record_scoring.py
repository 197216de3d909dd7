#!/usr/bin/env python
"""ReCoRD-size candidate scoring at evaluation: packed and chunked (the toolkit's default) against one row per
candidate (upstream's layout), as a ratio measured in one run.

    python benchmarks/bench_record_scoring.py [--layers 4 --hidden 256 --context 384 --candidates 40 --examples 4]

Both go through the evaluator's own scoring (training.superglue._score_pieces, SuperGlueModule with the
multi-token cloze head): every example's candidates are cut into pieces of --chunk (10, upstream's segment) and
packed after one copy of the context, or laid out as one row per candidate, the context repeated in each. The
scores are the same (printed: the largest difference). Besides time, the attention matrices each layout builds
are counted (elements per layer, all heads), which is what bounds memory for passages with dozens of entities.
Random weights, fp32, eval mode.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from model.glm import GLMConfig, GLMModel  # noqa: E402
from model.heads import MultiTokenClozeHead  # noqa: E402
from tasks import layout  # noqa: E402
from training.superglue import SuperGlueModule, _score_pieces, _width  # noqa: E402


class Ids:
    """The special ids of the real vocabulary: enough for the layout builders."""

    cls_id, eos_id, pad_id, sop_id, eop_id, mask_id = 0, 2, 2, 50265, 50266, 50264


def timed(fn, repeat: int) -> tuple[float, object]:
    out = fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t0) / repeat, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--context", type=int, default=384, help="passage + query tokens")
    p.add_argument("--candidates", type=int, default=40, help="entities per query (ReCoRD dev: about 14 on average, 50+ at most)")
    p.add_argument("--examples", type=int, default=4)
    p.add_argument("--chunk", type=int, default=10)
    p.add_argument("--batch", type=int, default=16, help="pieces (packed) or candidate rows (rows) per forward")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = GLMModel(GLMConfig(num_layers=a.layers, hidden_size=a.hidden, num_attention_heads=a.heads, max_sequence_length=1024))
    module = SuperGlueModule(model, MultiTokenClozeHead(), "cross_entropy").eval()
    g = torch.Generator().manual_seed(1)
    packed, rows = [], []
    for _ in range(a.examples):
        ctx = torch.randint(10, 50000, (a.context - 2,), generator=g).tolist()
        ctx[a.context // 2] = Ids.mask_id
        answers = [torch.randint(10, 50000, (int(torch.randint(1, 5, (1,), generator=g)),), generator=g).tolist() + [Ids.eop_id]
                   for _ in range(a.candidates)]  # fmt: skip
        pieces = [answers[i : i + a.chunk] for i in range(0, len(answers), a.chunk)]
        packed.append([layout.build_packed(ctx, [], piece, Ids, -1) for piece in pieces])
        rows.append([layout.build_candidate_rows(ctx, [], [ans], Ids, -1) for ans in answers])  # one row each
    cpu = torch.device("cpu")
    with torch.no_grad():
        tp, sp = timed(lambda: _score_pieces(module, packed, layout.collate_packed, _width, a.batch, cpu), a.repeat)
        tr, sr = timed(lambda: _score_pieces(module, rows, layout.collate_candidate_rows, _width, a.batch, cpu), a.repeat)
    diff = max(abs(x - y) for ep, er in zip(sp, sr) for x, y in zip(ep, er))
    att_packed = sum(len(piece.input_ids) ** 2 for ex in packed for piece in ex)
    att_rows = sum(len(r.input_ids[0]) ** 2 for ex in rows for r in ex)
    print(f"model: {a.layers} layers x {a.hidden} hidden, {a.threads} thread(s); {a.examples} queries x {a.candidates} candidates "
          f"(1-4 tokens + eop), context {a.context} tokens; packed pieces of {a.chunk} ({math.ceil(a.candidates / a.chunk)} per query)")
    print(f"packed+chunked {tp:7.2f} s   one row per candidate {tr:7.2f} s   speed-up {tr / tp:5.2f}x   (max |score diff| {diff:.1e})")
    print(f"attention elements per layer and head: packed+chunked {att_packed:,}  rows {att_rows:,}  ratio {att_rows / att_packed:5.2f}x")


if __name__ == "__main__":
    main()
