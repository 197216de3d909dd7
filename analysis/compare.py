"""One data set's methods side by side: each method and prompt at its best setting (by mean dev metric), with
mean ± std over seeds, a 95% interval over test examples, parameters, cost, the best hyperparameters, and a
paired bootstrap and McNemar test against a reference row on the aligned test predictions."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.rundir import read_predictions

from .runs import Run, TaskData, best_per_method_and_prompt, method_name
from .significance import Bootstrap, McNemar, aligned, bootstrap_interval, example_order, example_scores, mcnemar, \
    paired_bootstrap, seed_mean_scores
from .stats import SettingSummary, higher_is_better


@dataclass
class Row:
    method: str
    prompt: str
    summary: SettingSummary
    runs: list[Run]
    hyperparameters: dict[str, Any]  # the method's swept hyperparameters at its best setting
    scores: dict[Any, float] = field(default_factory=dict)  # idx -> per-example test score, mean over seeds
    interval: tuple[float, float] | None = None  # 95% bootstrap interval of the mean test score
    versus: Bootstrap | None = None  # this row minus the reference row
    mcnemar: McNemar | None = None

    @property
    def label(self) -> str:
        return method_name(self.method)

    @property
    def key(self) -> str:
        """`method` or `method:prompt`: how --reference names a row."""
        return self.method if self.prompt == "-" else f"{self.method}:{self.prompt}"

    def first(self, attribute: str) -> Any:
        values = [getattr(r, attribute) for r in self.runs if getattr(r, attribute) is not None]
        return values[0] if values else None

    def mean_cost(self, key: str) -> float | None:
        values = [r.cost[key] for r in self.runs if r.cost and isinstance(r.cost.get(key), int | float)]
        return statistics.fmean(values) if values else None


@dataclass
class Comparison:
    data: TaskData
    rows: list[Row]
    reference: Row | None
    note: str = ""

    def best_row(self, split: str = "test") -> Row | None:
        metric = self.data.metric
        sign = 1 if higher_is_better(metric) else -1
        ranked = [r for r in self.rows if metric in getattr(r.summary, split)]
        return max(ranked, key=lambda r: sign * getattr(r.summary, split)[metric].mean) if ranked else None


def _test_scores(runs: list[Run], kind: str, factor: float = 1.0) -> dict[Any, float]:
    per_seed = [{k: factor * v for k, v in example_scores(read_predictions(r.path, "test"), kind).items()}
                for r in runs]
    per_seed = [s for s in per_seed if s]
    return seed_mean_scores(per_seed) if len(per_seed) == len(runs) else {}


def compare(data: TaskData, reference: str | None = None) -> Comparison:
    """The comparison rows of a data set. `reference` names a row (`method` or `method:prompt`); by default the
    row with the best mean dev metric is the reference (so the test comparison is not chosen on test)."""
    rows = []
    # per-example ROUGE-L F1 is a fraction; on the scale of the runs' own ROUGE (0-100) when they use that one
    factor = 100.0 if data.kind == "generation" and any(float(r.dev[data.metric]) > 1 for r in data.finished) else 1.0
    for summary in best_per_method_and_prompt(data):
        method, prompt = summary.setting["method"], summary.setting["prompt"]
        runs = data.by_name(summary.runs)
        # every grid dimension that applies to the method, swept for it or not (a baseline's fixed lr is shown)
        shown = {k: summary.setting[k] for k in data.keys if k not in ("method", "prompt")
                 and summary.setting.get(k) is not None}
        row = Row(method, prompt, summary, runs, shown)
        row.scores = _test_scores(runs, data.kind, factor)
        if row.scores:
            row.interval = bootstrap_interval(np.array([row.scores[k] for k in sorted(row.scores, key=example_order)]))
        rows.append(row)
    note = ""
    ref = None
    if reference:
        ref = next((r for r in rows if r.key == reference or (r.method == reference and r.prompt == "-")), None)
        if ref is None:
            candidates = [r for r in rows if r.method == reference]
            if candidates:
                ref = max(candidates, key=lambda r: r.summary.dev[data.metric].mean)
        if ref is None:
            raise ValueError(f"--reference {reference!r} names no row of {data.task}; rows: "
                             f"{', '.join(r.key for r in rows)}")
    elif rows:
        sign = 1 if higher_is_better(data.metric) else -1
        ref = max(rows, key=lambda r: sign * r.summary.dev[data.metric].mean)
        note = "reference: the row with the best mean dev metric"
    if ref is not None and ref.scores:
        for row in rows:
            if row is ref or not row.scores:
                continue
            a, b = aligned(row.scores, ref.scores)
            if len(a):
                row.versus = paired_bootstrap(a, b)
                if data.kind != "generation":
                    row.mcnemar = mcnemar(a, b)
    return Comparison(data, rows, ref, note)

