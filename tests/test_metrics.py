"""Metrics against hand computations."""

import pytest

from tasks.metrics import accuracy, compute_metrics, macro_f1


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
