"""Metrics against hand computations."""

import pytest

from tasks.metrics import (
    accuracy,
    answer_f1,
    compute_metrics,
    exact_match_per_group,
    f1a,
    macro_f1,
    normalize_answer,
    record_em_f1,
)


def test_accuracy():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == {"accuracy": 0.75}


def test_macro_f1_by_hand():
    # F1 = 2tp / (2tp + fp + fn). class 0: tp 2 fp 1 fn 0 -> 4/5; class 1: tp 1 fp 1 fn 1 -> 1/2;
    # class 2: tp 0 fp 0 fn 1 -> 0.
    result = macro_f1([0, 0, 1, 0, 1], [0, 0, 1, 1, 2])
    assert result["macro_f1"] == pytest.approx((4 / 5 + 1 / 2 + 0) / 3)


def test_macro_f1_counts_classes_only_predicted():
    # class 3 never occurs in the labels but is predicted: F1 0, and it counts.
    assert macro_f1([3, 1], [0, 1])["macro_f1"] == pytest.approx((0 + 1 + 0) / 3)


def test_compute_metrics_merges_in_order():
    result = compute_metrics(["accuracy", "macro_f1"], [0, 1], [0, 1])
    assert list(result) == ["accuracy", "macro_f1"] and result == {"accuracy": 1.0, "macro_f1": 1.0}


def test_metric_errors():
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metrics(["rouge"], [0], [0])
    with pytest.raises(ValueError, match="2 predictions for 1 labels"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="no examples"):
        macro_f1([], [])


# ---------------------------------------------------------------------------------------------- SuperGLUE
def test_f1a_by_hand():
    # class 1: tp 2 (items 0, 3), fp 1 (item 2), fn 1 (item 1) -> 2*2 / (2*2 + 1 + 1) = 2/3
    assert f1a([1, 0, 1, 1, 0], [1, 1, 0, 1, 0]) == {"f1a": pytest.approx(2 / 3)}
    assert f1a([0, 0], [0, 0]) == {"f1a": 0.0}  # no positive anywhere: 0, as scikit-learn's f1_score


def test_exact_match_per_group_by_hand():
    # question a: both options right; question b: one of two wrong; question c: its one option right -> 2/3
    preds, labels, groups = [1, 0, 1, 1, 0], [1, 0, 1, 0, 0], ["a", "a", "b", "b", "c"]
    assert exact_match_per_group(preds, labels, groups) == {"em": pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="2 group ids for 5 labels"):
        exact_match_per_group(preds, labels, ["a", "b"])


def test_normalize_answer_as_squad():
    assert normalize_answer("The  Eiffel-Tower, in Paris!") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("Café Ñandú") == "cafe nandu"  # accents folded, as unidecode does
    assert normalize_answer("\u201cquoted\u201d \u2014 text") == "quoted text"  # Unicode punctuation dropped


def test_answer_f1_by_hand():
    # prediction tokens [new, york, city], gold [new, york]: 2 shared; precision 2/3, recall 1 -> F1 0.8
    assert answer_f1("New York City", "the New York") == pytest.approx(0.8)
    assert answer_f1("Boston", "New York") == 0.0


def test_record_em_f1_max_over_gold_answers():
    predictions = ["New York City", "Barack Obama", "Paris"]
    answers = [["New York", "NYC"], ["Obama", "Barack Obama"], ["London"]]
    # EM: 0, 1, 0 -> 1/3. F1: max(0.8, 0) = 0.8; max(2/3, 1) = 1; 0 -> 1.8/3
    result = record_em_f1(predictions, answers)
    assert result == {"em": pytest.approx(1 / 3), "f1": pytest.approx(1.8 / 3)}
    with pytest.raises(ValueError, match="at least one gold answer"):
        record_em_f1(["x"], [[]])
    with pytest.raises(ValueError, match="1 predictions for 2 answer lists"):
        record_em_f1(["x"], [["x"], ["y"]])


def test_f1a_is_a_registered_metric():
    assert compute_metrics(["f1a", "accuracy"], [1, 0], [1, 1]) == {"f1a": pytest.approx(2 / 3), "accuracy": 0.5}
