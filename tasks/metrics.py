"""Classification metrics, in plain Python so results do not depend on which optional packages are installed.

Each metric takes predictions and gold labels (label indices, equal length) and returns a dict, so several
can be merged into one eval record of metrics.jsonl. The SuperGLUE metrics that need more than labels (MultiRC's
EM per question, ReCoRD's EM/F1 over answer strings) take what they need explicitly; values are fractions
(upstream prints percentages).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Sequence


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


def pearson_r(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's correlation coefficient; 0.0 when either side is constant (no linear relation measurable)."""
    if len(xs) != len(ys) or not xs:
        raise ValueError(f"{len(xs)} values against {len(ys)}; need equal, non-zero lengths")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else 0.0


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank (as Spearman's coefficient needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman_r(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's r of the (tie-averaged) ranks."""
    return pearson_r(_ranks(xs), _ranks(ys))


def pearson(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """For ordered classes (ratings): the correlation of predicted and gold class ids."""
    _check(predictions, labels)
    return {"pearson": pearson_r([float(p) for p in predictions], [float(y) for y in labels])}


def spearman(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    _check(predictions, labels)
    return {"spearman": spearman_r([float(p) for p in predictions], [float(y) for y in labels])}


METRICS: dict[str, Callable[[Sequence[int], Sequence[int]], dict[str, float]]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "pearson": pearson,
    "spearman": spearman,
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


# ---------------------------------------------------------------------------------------------- SuperGLUE
def f1a(predictions: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """MultiRC's F1a: binary F1 of class 1 ("this answer option is correct") over all answer options, as
    scikit-learn's f1_score(labels, predictions) upstream computes it (0 when class 1 is never predicted nor gold)."""
    _check(predictions, labels)
    tp = sum(p == 1 and y == 1 for p, y in zip(predictions, labels))
    fp = sum(p == 1 and y != 1 for p, y in zip(predictions, labels))
    fn = sum(p != 1 and y == 1 for p, y in zip(predictions, labels))
    return {"f1a": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0}


METRICS["f1a"] = f1a


def exact_match_per_group(predictions: Sequence[int], labels: Sequence[int], groups: Sequence[Hashable]) -> dict[str, float]:
    """MultiRC's EM: the fraction of questions (`groups`, one id per answer option) whose options are all
    predicted right."""
    _check(predictions, labels)
    if len(groups) != len(labels):
        raise ValueError(f"{len(groups)} group ids for {len(labels)} labels")
    right: dict[Hashable, bool] = {}
    for p, y, g in zip(predictions, labels, groups):
        right[g] = right.get(g, True) and p == y
    return {"em": sum(right.values()) / len(right)}


def normalize_answer(text: str) -> str:
    """SQuAD/ReCoRD answer normalisation: lower case, accents folded, punctuation and the articles a/an/the
    removed, whitespace collapsed. (The official script folds with `unidecode`; here accents are removed by
    Unicode decomposition and every Unicode punctuation mark is dropped, which agrees with it on Latin text.
    Letters without an ASCII decomposition, such as ß or Cyrillic, are kept rather than transliterated.)"""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    no_punctuation = "".join(c for c in folded if c not in string.punctuation and not unicodedata.category(c).startswith("P"))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", no_punctuation).split())


def answer_f1(prediction: str, gold: str) -> float:
    """Token-level F1 between two normalised answers (SQuAD's definition)."""
    predicted, truth = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(predicted) & Counter(truth)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(truth)
    return 2 * precision * recall / (precision + recall)


def record_em_f1(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    """ReCoRD's EM and F1: per query the best score over its gold answers, averaged over queries. `predictions`
    are the predicted entity strings, `answers` each query's gold answers (non-empty)."""
    if len(predictions) != len(answers):
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} answer lists")
    if not answers:
        raise ValueError("no examples to score")
    if any(not gold for gold in answers):
        raise ValueError("every query needs at least one gold answer")
    em = sum(max(float(normalize_answer(p) == normalize_answer(g)) for g in gold) for p, gold in zip(predictions, answers))
    f1 = sum(max(answer_f1(p, g) for g in gold) for p, gold in zip(predictions, answers))
    return {"em": em / len(answers), "f1": f1 / len(answers)}


def squad_em_f1(predictions: Sequence[str], golds: Sequence[str]) -> dict[str, float]:
    """SQuAD's exact match and token F1 of normalised answers, one gold answer per prediction, as fractions."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} answers")
    if not golds:
        raise ValueError("no examples to score")
    em = sum(float(normalize_answer(p) == normalize_answer(g)) for p, g in zip(predictions, golds))
    f1 = sum(answer_f1(p, g) for p, g in zip(predictions, golds))
    return {"squad_em": em / len(golds), "squad_f1": f1 / len(golds)}
