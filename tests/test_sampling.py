from collections import Counter

import pytest

from tasks.base import InputExample
from tasks.sampling import few_shot_subset


def rows(counts: dict[int, int]) -> list[dict]:
    return [{"text": f"{label}-{i}", "label": label} for label, n in counts.items() for i in range(n)]


def test_stratified_seeded_and_in_order():
    data = rows({0: 50, 1: 30, 2: 40})
    sub = few_shot_subset(data, 8, seed=3)
    assert Counter(r["label"] for r in sub) == {0: 8, 1: 8, 2: 8}
    assert sub == [r for r in data if r in sub]  # original order kept
    assert few_shot_subset(data, 8, seed=3) == sub
    assert few_shot_subset(data, 8, seed=4) != sub
    # a class's draw does not depend on the other classes
    only_1 = [r for r in few_shot_subset(rows({1: 30, 0: 50, 2: 40}), 8, seed=3) if r["label"] == 1]
    assert only_1 == [r for r in sub if r["label"] == 1]


def test_input_examples_and_errors():
    exs = [InputExample(guid=str(i), text_a="t", label="a" if i % 3 else "b") for i in range(12)]
    assert Counter(e.label for e in few_shot_subset(exs, 4, seed=0)) == {"a": 4, "b": 4}
    with pytest.raises(ValueError, match=r"'b': 4"):
        few_shot_subset(exs, 5, seed=0)
    with pytest.raises(ValueError, match=">= 1"):
        few_shot_subset(exs, 0, seed=0)


def test_train_subset_records_what_it_chose():
    from tasks.sampling import TrainSubset

    data = rows({0: 20, 1: 20, 2: 20})
    chosen, record = TrainSubset(per_class=4, seed=5).select(data)
    assert Counter(r["label"] for r in chosen) == {0: 4, 1: 4, 2: 4}
    assert record == {"kind": "few_shot", "per_class": 4, "seed": 5, "classes": 3, "of": 60, "size": 12}
    first, record = TrainSubset(first=7).select(data)
    assert first == data[:7] and record == {"kind": "first", "first": 7, "of": 60, "size": 7}
    assert TrainSubset().select(data) == (data, None)


def test_train_subset_refuses_what_it_cannot_do():
    from tasks.sampling import TrainSubset

    with pytest.raises(ValueError, match="cannot be combined"):
        TrainSubset(first=8, per_class=2)
    with pytest.raises(ValueError, match="needs a label"):
        TrainSubset(per_class=2).select([{"label": None}, {"label": None}])
