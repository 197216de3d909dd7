"""From a model's choices to SuperGLUE metrics, prediction labels and the leaderboard's submission records.

`predictions[i]` is the argmax of example i's scores: a label index for the single-token tasks (RTE, CB, BoolQ,
WiC, MultiRC: one score per label) and a candidate index for the multi-token ones (COPA, WSC, ReCoRD: one score
per answer of `PVP.get_answers`). Metrics are over the labelled examples (an unlabelled split gives {}), named
as in `TASK_INFO[task].metrics`, as fractions.

WSC, as upstream: the prediction is "True" exactly when the first answer (span1, the referent) wins over the
candidates, and accuracy compares that with the example's label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasks.base import InputExample
from tasks.metrics import accuracy, exact_match_per_group, f1a, macro_f1, record_em_f1
from tasks.superglue.processors import PROCESSORS

# The file names the SuperGLUE leaderboard expects in a submission archive.
SUBMISSION_FILES = {"rte": "RTE.jsonl", "cb": "CB.jsonl", "boolq": "BoolQ.jsonl", "wic": "WiC.jsonl", "copa": "COPA.jsonl",
                    "wsc": "WSC.jsonl", "multirc": "MultiRC.jsonl", "record": "ReCoRD.jsonl"}  # fmt: skip


def predicted_labels(task: str, predictions: Sequence[int], examples: Sequence[InputExample]) -> list[str]:
    """The predicted label name of every example (ReCoRD: the predicted entity)."""
    _check(predictions, examples)
    if task == "wsc":
        return ["True" if p == 0 else "False" for p in predictions]
    if task == "record":
        return [e.meta["candidates"][p] for p, e in zip(predictions, examples)]
    labels = PROCESSORS[task]().get_labels()
    return [labels[p] for p in predictions]


def compute_metrics(task: str, predictions: Sequence[int], examples: Sequence[InputExample]) -> dict[str, float]:
    """The task's metrics (validation metric first) over the labelled examples; {} when none is labelled."""
    predicted = predicted_labels(task, predictions, examples)
    if task == "record":
        scored = [(p, e.meta["answers"]) for p, e in zip(predicted, examples) if e.meta.get("answers")]
        return record_em_f1([p for p, _ in scored], [a for _, a in scored]) if scored else {}
    labels = PROCESSORS[task]().get_labels()
    labelled = [(labels.index(p), labels.index(e.label), e) for p, e in zip(predicted, examples) if e.label is not None]
    if not labelled:
        return {}
    preds, golds = [p for p, _, _ in labelled], [g for _, g, _ in labelled]
    if task == "cb":
        return {**accuracy(preds, golds), **macro_f1(preds, golds)}
    if task == "multirc":
        questions = [(e.meta["passage_idx"], e.meta["question_idx"]) for _, _, e in labelled]
        return {**f1a(preds, golds), **exact_match_per_group(preds, golds, questions), **accuracy(preds, golds)}
    return accuracy(preds, golds)


def submission_records(task: str, predictions: Sequence[int], examples: Sequence[InputExample]) -> list[dict[str, Any]]:
    """The lines of the task's SuperGLUE submission file (SUBMISSION_FILES[task]), in example order:
    {"idx", "label"} per example (COPA: label 0/1; ReCoRD: idx = the query id, label = the entity), and for
    MultiRC one line per passage, {"idx", "passage": {"questions": [{"idx", "answers": [{"idx", "label"}]}]}}."""
    predicted = predicted_labels(task, predictions, examples)
    if task == "copa":
        return [{"idx": e.idx, "label": int(p)} for p, e in zip(predicted, examples)]
    if task != "multirc":
        return [{"idx": e.idx, "label": p} for p, e in zip(predicted, examples)]
    passages: dict[Any, dict[Any, list[dict[str, int]]]] = {}
    for p, e in zip(predicted, examples):
        passages.setdefault(e.meta["passage_idx"], {}).setdefault(e.meta["question_idx"], []).append(
            {"idx": e.meta["answer_idx"], "label": int(p)}
        )
    return [{"idx": p, "passage": {"questions": [{"idx": q, "answers": answers} for q, answers in questions.items()]}}
            for p, questions in passages.items()]  # fmt: skip


def _check(predictions: Sequence[int], examples: Sequence[InputExample]) -> None:
    if len(predictions) != len(examples):
        raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
