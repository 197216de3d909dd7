#!/usr/bin/env python
"""Truncating one long example to the input length: the token-by-token rule (each step copied the part it cut,
quadratic in the text length) against tasks.base.truncate (the same rule on counts, linear).

    python benchmarks/bench_truncation.py                 # 5,000 to 80,000 tokens
    python benchmarks/bench_truncation.py --sizes 200000  # the length that once ran for minutes

Prints the seconds of each at each length and the ratio; both give the same parts (checked).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.base import truncate  # noqa: E402


def token_by_token(parts_a, parts_b, max_tokens):
    """The former implementation, kept here as the reference the new one is measured against."""
    a = [(list(ids), short) for ids, short in parts_a]
    b = [(list(ids), short) for ids, short in parts_b]

    def shortenable(parts):
        return sum(len(ids) for ids, short in parts if short)

    for _ in range(sum(len(ids) for ids, _ in a + b) - max_tokens):
        side = a if shortenable(a) > shortenable(b) else b
        last = max(i for i, (ids, short) in enumerate(side) if short and ids)
        side[last] = (side[last][0][:-1], True)
    return a, b


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 80_000])
    p.add_argument("--max-tokens", type=int, default=256)
    args = p.parse_args()
    for n in args.sizes:
        parts_a = [(list(range(n)), True), ([1, 2, 3], False)]
        parts_b = [(list(range(n // 3)), True)]
        times = {}
        for name, fn in (("token_by_token", token_by_token), ("truncate", truncate)):
            start = time.perf_counter()
            out = fn(parts_a, parts_b, args.max_tokens)
            times[name] = time.perf_counter() - start
            times[name + "_out"] = out
        assert times["token_by_token_out"] == times["truncate_out"]
        print(f"{n:>8} tokens: token by token {times['token_by_token']:.3f} s, truncate {times['truncate']:.4f} s, "
              f"ratio {times['token_by_token'] / times['truncate']:.0f}x")


if __name__ == "__main__":
    main()
