"""Selection: runs grouped by setting (hyperparameters without the seed), mean ± std over seeds, and the best
setting by mean dev metric. Shared by the sweep summary and the report so that both pick the same setting."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float  # sample standard deviation over seeds; 0.0 for a single seed (n says so)
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f}"


def mean_std(values: Sequence[float]) -> Stat:
    return Stat(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


@dataclass(frozen=True)
class Outcome:
    """One run as selection sees it: its setting (hyperparameters without the seed) and its numbers."""

    name: str
    setting: tuple[tuple[str, Any], ...]
    seed: Any
    status: str  # finished | diverged | failed; only finished runs enter the means
    dev: Mapping[str, Any] = field(default_factory=dict)
    test: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SettingSummary:
    setting: dict[str, Any]
    runs: list[str]  # the finished runs, by name
    seeds: list[Any]
    failed: list[str]  # the diverged or failed runs, by name
    dev: dict[str, Stat]
    test: dict[str, Stat]

    def to_json(self) -> dict[str, Any]:
        """The summary.json form: each Stat as {"mean", "std", "n"}."""
        return {"setting": self.setting, "seeds": self.seeds, "runs": self.runs, "failed": self.failed,
                "dev": {m: asdict(s) for m, s in self.dev.items()},
                "test": {m: asdict(s) for m, s in self.test.items()}}


def higher_is_better(metric: str) -> bool:
    return not ("loss" in metric or metric in ("ppl", "perplexity"))


def _aggregate(dicts: list[Mapping[str, Any]]) -> dict[str, Stat]:
    """Mean ± std of every metric that all runs report, so that each mean has the same n."""
    if not dicts:
        return {}
    common = [m for m in dicts[0] if all(m in d for d in dicts)]
    return {m: mean_std([float(d[m]) for d in dicts]) for m in common}


def summarize(outcomes: Iterable[Outcome], metric: str) -> list[SettingSummary]:
    """Group runs by setting, best mean dev `metric` first; settings without a finished run come last."""
    groups: dict[tuple, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.setting, []).append(outcome)
    summaries = []
    for setting, members in groups.items():
        done = [o for o in members if o.status == "finished"]
        tested = [o.test for o in done if o.test]
        summaries.append(SettingSummary(
            setting=dict(setting), runs=[o.name for o in done], seeds=[o.seed for o in done],
            failed=[o.name for o in members if o.status != "finished"],
            dev=_aggregate([o.dev for o in done]), test=_aggregate(tested)))
    sign = -1.0 if higher_is_better(metric) else 1.0

    def rank(s: SettingSummary) -> tuple:
        return (metric not in s.dev, sign * s.dev[metric].mean if metric in s.dev else 0.0, repr(s.setting))

    return sorted(summaries, key=rank)


def best_setting(outcomes: Iterable[Outcome], metric: str) -> SettingSummary | None:
    ranked = summarize(outcomes, metric)
    return ranked[0] if ranked and metric in ranked[0].dev else None
