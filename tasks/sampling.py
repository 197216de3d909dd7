"""Seeded subsets of training data (few-shot runs)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def example_label(example: Any) -> Hashable:
    """The label of an InputExample (`.label`) or of a data row (`["label"]`)."""
    return example.label if hasattr(example, "label") else example["label"]


def few_shot_subset(examples: Sequence[T], k_per_class: int, seed: int,
                    label: Callable[[T], Hashable] = example_label) -> list[T]:
    """k examples of every class, drawn with `seed` (each class from its own draw, classes in sorted order, so a
    class's picks do not depend on the others), returned in their original order. Every class must have k."""
    if k_per_class < 1:
        raise ValueError(f"k_per_class must be >= 1, got {k_per_class}")
    by_class: dict[Hashable, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        by_class[label(ex)].append(i)
    short = {c: len(idx) for c, idx in by_class.items() if len(idx) < k_per_class}
    if short:
        raise ValueError(f"{k_per_class} examples per class requested, but classes {short} have fewer (counts shown)")
    chosen: list[int] = []
    for c in sorted(by_class, key=str):
        chosen += random.Random(f"{seed}:{c}").sample(by_class[c], k_per_class)
    return [examples[i] for i in sorted(chosen)]
