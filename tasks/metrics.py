"""Classification metrics, in plain Python so results do not depend on which optional packages are installed.

Each metric takes predictions and gold labels (label indices, equal length) and returns a dict, so several
can be merged into one eval record of metrics.jsonl.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def _check(predictions: Sequence[int], labels: Sequence[int]) -> None:
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    if not labels:
        raise ValueError("no examples to score")


def accuracy(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    _check(predictions, labels)
    return {"accuracy": sum(p == y for p, y in zip(predictions, labels)) / len(labels)}


def macro_f1(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """Unweighted mean of per-class F1 over the classes that occur in the labels or the predictions (the
    usual convention, e.g. scikit-learn's default): a class never predicted and never present says nothing."""
    _check(predictions, labels)
    f1s = []
    for cls in sorted(set(labels) | set(predictions)):
        tp = sum(p == cls and y == cls for p, y in zip(predictions, labels))
        fp = sum(p == cls and y != cls for p, y in zip(predictions, labels))
        fn = sum(p != cls and y == cls for p, y in zip(predictions, labels))
        f1s.append(2 * tp / (2 * tp + fp + fn))  # the class occurs, so the denominator is positive
    return {"macro_f1": sum(f1s) / len(f1s)}


METRICS: dict[str, Callable[[Sequence[int], Sequence[int]], dict[str, float]]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
}


def compute_metrics(names: Sequence[str], predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """The named metrics merged into one dict, in the order given (the first is the validation metric)."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; available: {sorted(METRICS)}")
    result: dict[str, float] = {}
    for name in names:
        result.update(METRICS[name](predictions, labels))
    return result
