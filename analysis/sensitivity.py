"""Sensitivity computed, not only drawn: per method, how much the dev metric moves along each axis with the
other axes held at the best setting, how much seeds move it, the share of variance each axis explains, the
spread across prompts and how stable the prompts' ranking is across seeds."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .runs import TaskData
from .significance import kendall_tau
from .stats import best_setting, summarize


@dataclass(frozen=True)
class AxisSensitivity:
    axis: str
    values: list[Any]  # the axis values found with the other axes at their best
    means: list[float]  # mean dev over seeds at each of them
    seeds: list[int]  # seeds behind each mean
    range: float  # max - min of the means
    std: float  # sample std of the means (0 with one value)
    share: float | None  # share of the method's dev variance this axis explains (main effect)


@dataclass(frozen=True)
class MethodSensitivity:
    method: str
    best: dict[str, Any]
    axes: list[AxisSensitivity]
    seed_std: float | None  # mean over settings with two or more seeds of the std over seeds
    seed_share: float | None  # share of variance within settings (seeds)
    other_share: float | None  # what neither a main effect nor seeds explain (interactions, imbalance)
    runs: int


def variance_shares(frame: pd.DataFrame, axes: list[str], value: str = "dev") -> tuple[dict[str, float], float, float]:
    """Sums of squares of `value` over the rows (one row per run): each axis's main effect (between its value
    groups), the seeds' (within settings, a setting being every axis fixed), and the rest; each as a share of
    the total. For a balanced full grid of additive effects the axis shares and the seed share add up to 1."""
    y = frame[value].astype(float)
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return {a: 0.0 for a in axes}, 0.0, 0.0
    shares = {}
    for axis in axes:
        groups = frame.groupby(frame[axis].map(repr))[value]
        shares[axis] = float((groups.count() * (groups.mean() - y.mean()) ** 2).sum()) / total
    if axes:
        setting = frame[axes].apply(lambda row: repr(tuple(row)), axis=1)
        within = float(frame.groupby(setting)[value].transform(lambda g: (g - g.mean()) ** 2).sum()) / total
    else:
        within = 1.0
    return shares, within, 1.0 - within - sum(shares.values())


def method_sensitivity(data: TaskData, method: str) -> MethodSensitivity | None:
    best = best_setting(data.outcomes(method=method), data.metric)
    if best is None:
        return None
    axes = data.axes(method)
    ranked = summarize(data.outcomes(method=method), data.metric)
    frame = data.frame()
    frame = frame[frame["method"] == method]
    shares, within, other = variance_shares(frame, axes) if len(frame) > 1 else ({}, None, None)
    rows = []
    for axis in axes:
        held = [s for s in ranked if data.metric in s.dev and
                all(s.setting[k] == best.setting[k] for k in axes if k != axis)]
        held.sort(key=lambda s: (str(type(s.setting[axis])), s.setting[axis]))
        means = [s.dev[data.metric].mean for s in held]
        rows.append(AxisSensitivity(axis, [s.setting[axis] for s in held], means, [len(s.seeds) for s in held],
                                    max(means) - min(means), statistics.stdev(means) if len(means) > 1 else 0.0,
                                    shares.get(axis)))
    stds = [s.dev[data.metric].std for s in ranked if data.metric in s.dev and s.dev[data.metric].n > 1]
    return MethodSensitivity(method, {k: best.setting[k] for k in axes}, rows,
                             statistics.fmean(stds) if stds else None, within, other, len(frame))


@dataclass(frozen=True)
class PromptSpread:
    method: str
    prompts: list[str]
    dev: list[float]  # mean dev at each prompt's best setting
    test: list[float | None]
    std: float  # sample std across prompts of the dev means
    range: float
    seed_std: float | None  # mean seed std at those settings, for scale
    # rank stability across seeds (test metric at each prompt's best setting, seeds all prompts share)
    seeds: list[Any]
    tau: float | None  # mean Kendall tau over pairs of seeds
    best_per_seed: list[str]


def prompt_spread(data: TaskData, method: str, split: str = "test") -> PromptSpread | None:
    prompts = sorted({r.prompt for r in data.finished if r.method == method})
    if len(prompts) < 2:
        return None
    best = {p: best_setting(data.outcomes(method=method, prompt=p), data.metric) for p in prompts}
    dev = [best[p].dev[data.metric].mean for p in prompts]
    test = [best[p].test[data.metric].mean if data.metric in best[p].test else None for p in prompts]
    seed_stds = [best[p].dev[data.metric].std for p in prompts if best[p].dev[data.metric].n > 1]
    per_prompt: dict[str, dict[Any, float]] = {}
    for p in prompts:
        values = {}
        for run in data.by_name(best[p].runs):
            numbers = run.test if split == "test" else run.dev
            if numbers and data.metric in numbers:
                values[run.seed] = float(numbers[data.metric])
        per_prompt[p] = values
    seeds = sorted(set.intersection(*(set(v) for v in per_prompt.values())), key=repr)
    taus = [kendall_tau([per_prompt[p][a] for p in prompts], [per_prompt[p][b] for p in prompts])
            for a, b in itertools.combinations(seeds, 2)]
    taus = [t for t in taus if t == t]
    winners = [max(prompts, key=lambda p: per_prompt[p][s]) for s in seeds]
    return PromptSpread(method, prompts, dev, test, statistics.stdev(dev), max(dev) - min(dev),
                        statistics.fmean(seed_stds) if seed_stds else None, seeds,
                        statistics.fmean(taus) if taus else None, winners)
