"""Seeded subsets of training data (few-shot runs)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
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


def fraction_subset(examples: Sequence[T], fraction: float, seed: int,
                    label: Callable[[T], Hashable] = example_label) -> list[T]:
    """round(fraction * n) examples of every class of n (at least one), each class from its own seeded draw;
    unlabelled examples (generation) form one class. Returned in their original order."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    by_class: dict[Hashable, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        by_class[label(ex)].append(i)
    chosen: list[int] = []
    for c in sorted(by_class, key=str):
        members = by_class[c]
        take = max(1, min(len(members), int(fraction * len(members) + 0.5)))
        chosen += random.Random(f"{seed}:fraction:{c}").sample(members, take)
    return [examples[i] for i in sorted(chosen)]


@dataclass(frozen=True)
class TrainSubset:
    """Which part of train a run uses: all of it, the first N rows, or k seeded examples of every class."""

    first: int = 0
    per_class: int = 0
    seed: int = 0
    fraction: float = 0.0  # a stratified share of every class (0: off)

    def __post_init__(self) -> None:
        if self.first < 0 or self.per_class < 0:
            raise ValueError(f"train subset sizes must be >= 0, got first={self.first}, per_class={self.per_class}")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"--train-fraction must be in (0, 1], got {self.fraction}")
        if sum(bool(x) for x in (self.first, self.per_class, self.fraction)) > 1:
            raise ValueError("--max-train-examples, --few-shot and --train-fraction cannot be combined: choose one")

    def select(self, train: Sequence[T], label: Callable[[T], Hashable] = example_label) -> tuple[list[T], dict | None]:
        """The chosen rows (in their file order) and config.json's record of the choice (None when all are used)."""
        if self.per_class:
            labels = [label(ex) for ex in train]
            if any(lab is None for lab in labels):
                raise ValueError("--few-shot needs a label on every training example (a generation task has none: "
                                 "use --max-train-examples)")
            chosen = few_shot_subset(train, self.per_class, self.seed, label)
            return chosen, {"kind": "few_shot", "per_class": self.per_class, "seed": self.seed,
                            "classes": len(set(map(str, labels))), "of": len(train), "size": len(chosen)}
        if self.fraction:
            chosen = fraction_subset(train, self.fraction, self.seed, label)
            return chosen, {"kind": "fraction", "fraction": self.fraction, "seed": self.seed,
                            "classes": len({str(label(ex)) for ex in train}), "of": len(train), "size": len(chosen)}
        if self.first:
            chosen = list(train[: self.first])
            return chosen, {"kind": "first", "first": self.first, "of": len(train), "size": len(chosen)}
        return list(train), None
