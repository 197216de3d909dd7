"""Significance on aligned test predictions: per-example scores, the paired bootstrap and McNemar's test.

Two rows of a comparison table (each a setting with its seeds) are compared on the test examples both predicted,
matched by `idx`. A row's score on an example is the mean over its seeds of the per-example score (correct = 1
for classification, ROUGE-L F1 for generation), so seed noise is averaged before examples are resampled.

Written here rather than taken from scipy/statsmodels: the report must run where only numpy and pandas are
installed, and both tests are a few lines whose exact definition the report has to state anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0


def _tokens(text: Any) -> list[str]:
    return str(text or "").lower().split()


def rouge_l_f1(prediction: Any, reference: Any) -> float:
    """ROUGE-L F1 of one example on lower-cased whitespace tokens (longest common subsequence)."""
    a, b = _tokens(prediction), _tokens(reference)
    if not a or not b:
        return float(a == b)
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def example_scores(rows: Sequence[Mapping[str, Any]], kind: str) -> dict[Any, float]:
    """idx -> score of one run's predictions: 1/0 correctness (classification) or ROUGE-L F1 (generation)."""
    scores: dict[Any, float] = {}
    for row in rows:
        if "idx" not in row or "prediction" not in row or row.get("label") is None:
            continue  # an unlabelled test example cannot be scored
        key = row["idx"] if not isinstance(row["idx"], list) else tuple(row["idx"])
        if kind == "generation":
            scores[key] = rouge_l_f1(row["prediction"], row["label"])
        else:
            scores[key] = float(str(row["prediction"]) == str(row["label"]))
    return scores


def seed_mean_scores(per_seed: Sequence[Mapping[Any, float]]) -> dict[Any, float]:
    """Per-example mean over seeds, on the examples every seed scored."""
    if not per_seed:
        return {}
    common = set(per_seed[0]).intersection(*per_seed[1:])
    return {k: float(np.mean([s[k] for s in per_seed])) for k in common}


def example_order(key: Any) -> tuple:
    """Examples in idx order (numbers numerically), so that a resample is reproducible from the files."""
    return (0, key, "") if isinstance(key, int | float) and not isinstance(key, bool) else (1, 0, repr(key))


def aligned(a: Mapping[Any, float], b: Mapping[Any, float]) -> tuple[np.ndarray, np.ndarray]:
    """The two rows' scores on the examples both scored, in idx order."""
    keys = sorted(set(a) & set(b), key=example_order)
    return np.array([a[k] for k in keys], dtype=float), np.array([b[k] for k in keys], dtype=float)


@dataclass(frozen=True)
class Bootstrap:
    delta: float  # mean(a) - mean(b) on the aligned examples
    low: float  # 95% percentile interval of the resampled deltas
    high: float
    p: float  # two-sided: 2 * the smaller share of resampled deltas on either side of 0, at most 1
    n: int  # aligned examples
    samples: int


def paired_bootstrap(a: np.ndarray, b: np.ndarray, samples: int = BOOTSTRAP_SAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> Bootstrap:
    """Resample the aligned examples with replacement `samples` times (numpy default_rng(seed), one
    integers(0, n, (samples, n)) draw) and take the difference of means each time."""
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired bootstrap needs two aligned, non-empty score vectors, got {a.shape} and {b.shape}")
    n = len(a)
    index = np.random.default_rng(seed).integers(0, n, size=(samples, n))
    deltas = a[index].mean(axis=1) - b[index].mean(axis=1)
    low, high = np.percentile(deltas, [2.5, 97.5])
    p = min(1.0, 2 * min(float(np.mean(deltas <= 0)), float(np.mean(deltas >= 0))))
    return Bootstrap(float(a.mean() - b.mean()), float(low), float(high), p, n, samples)


def bootstrap_interval(a: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) \
        -> tuple[float, float]:
    """95% percentile interval of the mean of one score vector over resampled examples."""
    if len(a) == 0:
        raise ValueError("a bootstrap interval needs at least one scored example")
    index = np.random.default_rng(seed).integers(0, len(a), size=(samples, len(a)))
    low, high = np.percentile(a[index].mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class McNemar:
    only_a: int  # examples a gets right and b wrong
    only_b: int
    p: float  # exact two-sided binomial p on only_a + only_b discordant examples
    n: int


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> McNemar:
    """Exact McNemar test on paired 0/1 correctness: p = min(1, 2 * P(X <= min(b, c))), X ~ Bin(b + c, 1/2).
    Scores averaged over seeds are made binary by majority: correct in more than half of the seeds."""
    a, b = np.asarray(a_correct) > 0.5, np.asarray(b_correct) > 0.5
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = only_a + only_b
    if discordant == 0:
        return McNemar(only_a, only_b, 1.0, len(a))
    tail = sum(math.comb(discordant, k) for k in range(min(only_a, only_b) + 1)) / 2 ** discordant
    return McNemar(only_a, only_b, min(1.0, 2 * tail), len(a))


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists over the same items (ties count neither way)."""
    n = len(x)
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator else float("nan")
