"""The report's plots (PNG): dev metric over lr x batch size, sensitivity curves, prompts at their best
setting, cloze versus linear head, learning curves. A plot the data cannot support raises SkipPlot with the
reason, which the report logs and prints in place of the plot."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from training.rundir import read_metrics  # noqa: E402

from .runs import TaskData, best_per_method_and_prompt  # noqa: E402
from .stats import SettingSummary, best_setting  # noqa: E402
from .tables import format_value, setting_label  # noqa: E402

log = logging.getLogger("report")

DPI = 150


class SkipPlot(Exception):
    """A plot that the data cannot support (a single lr, one method); the message says why."""


def safe_name(text: Any) -> str:
    """Text as a file-name part: letters, digits and "._-" only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "x"


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def plot_heatmap(data: TaskData, folder: Path) -> list[Path]:
    for key in ("lr", "batch_size"):
        found = sorted({r.values[key] for r in data.finished if key in r.values}, key=repr)
        if len(found) < 2:
            shown = ", ".join(map(format_value, found)) or "none"
            raise SkipPlot(f"needs at least two values of {key}, found {shown}")
    df = data.frame()
    paths = []
    methods = sorted(df["method"].unique(), key=str)
    for method in methods:
        part = df[df["method"] == method]
        table = part.pivot_table(index="batch_size", columns="lr", values="dev", aggfunc="mean")
        fig, ax = plt.subplots(figsize=(1.3 * len(table.columns) + 2.5, 0.8 * len(table.index) + 2))
        image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", aspect="auto")
        for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white", fontsize=9,
                        bbox={"facecolor": "black", "alpha": 0.25, "linewidth": 0, "pad": 1})
        ax.set_xticks(range(len(table.columns)), [format_value(v) for v in table.columns])
        ax.set_yticks(range(len(table.index)), [format_value(v) for v in table.index])
        ax.set_xlabel("learning rate")
        ax.set_ylabel("batch size")
        suffix = f" ({method})" if len(methods) > 1 else ""
        ax.set_title(f"{data.task}{suffix}: dev {data.metric}\nmean over seeds and other settings",
                     fontsize=10)
        fig.colorbar(image, ax=ax, label=f"dev {data.metric}")
        name = f"heatmap_lr_batch_size_{safe_name(method)}.png" if len(methods) > 1 else "heatmap_lr_batch_size.png"
        paths.append(_save(fig, folder / name))
    return paths


def plot_sensitivity(data: TaskData, folder: Path) -> list[Path]:
    df = data.frame()
    swept = [k for k in data.keys if df[k].nunique() > 1]
    if not swept:
        raise SkipPlot("no hyperparameter takes two values among the finished runs")
    paths = []
    for key in swept:
        lines = [("all", df)] if key == "method" or df["method"].nunique() < 2 else \
            [(m, df[df["method"] == m]) for m in sorted(df["method"].unique(), key=str)]
        values = sorted(df[key].unique(), key=lambda v: (str(type(v)), v))
        numeric = _is_numeric(df[key])
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for label, part in lines:
            stats = part.groupby(key)["dev"].agg(["mean", "std", "count"]).reindex(values)
            x = np.array(values, dtype=float) if numeric else np.arange(len(values))
            ax.errorbar(x, stats["mean"], yerr=stats["std"].fillna(0.0), marker="o", capsize=4,
                        label=label if len(lines) > 1 else f"dev {data.metric}")
        if numeric and (key == "lr" or min(values) > 0 and max(values) / min(values) >= 10):
            ax.set_xscale("log")
        if numeric:
            ax.set_xticks(np.array(values, dtype=float), [format_value(v) for v in values])
            ax.minorticks_off()
        else:
            ax.set_xticks(range(len(values)), [str(v) for v in values], rotation=20 if len(values) > 3 else 0)
        ax.set_xlabel(key)
        ax.set_ylabel(f"dev {data.metric}")
        ax.set_title(f"{data.task}: sensitivity to {key}\nmean ± std over seeds and other settings", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(title="method" if len(lines) > 1 else None)
        paths.append(_save(fig, folder / f"sensitivity_{safe_name(key)}.png"))
    return paths


def _bars(data: TaskData, entries: list[tuple[str, SettingSummary]], title: str, path: Path) -> Path:
    """Dev and test bars (mean ± std over seeds) with each seed's value as a dot."""
    splits = ["dev", "test"] if all(data.metric in s.test for _, s in entries) else ["dev"]
    width = 0.8 / len(splits)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(entries) * len(splits) + 2), 4.2))
    seed_label: str | None = "seeds"
    for k, split in enumerate(splits):
        offsets = np.arange(len(entries)) + (k - (len(splits) - 1) / 2) * width
        stats = [(s.dev if split == "dev" else s.test)[data.metric] for _, s in entries]
        bars = ax.bar(offsets, [s.mean for s in stats], width * 0.9, yerr=[s.std for s in stats], capsize=4,
                      label=f"{split} (mean ± std)", color=f"C{k}", alpha=0.8)
        ax.bar_label(bars, [f"{s.mean:.3f}" for s in stats], label_type="center", color="white", fontsize=9)
        for x, (_, summary) in zip(offsets, entries):
            points = [(r.dev if split == "dev" else r.test or {})[data.metric] for r in data.by_name(summary.runs)]
            ax.scatter(np.full(len(points), x) + np.linspace(-width / 5, width / 5, len(points)), points,
                       color="black", s=12, zorder=3, label=seed_label)
            seed_label = None
    ax.set_xticks(range(len(entries)), [label for label, _ in entries], rotation=20 if len(entries) > 3 else 0)
    ax.set_ylabel(data.metric)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.18)  # head room for a one-row legend above the bars
    ax.legend(loc="upper left", ncol=3)
    return _save(fig, path)


def plot_prompts(data: TaskData, folder: Path) -> list[Path]:
    best = best_per_method_and_prompt(data)
    prompts = {s.setting["prompt"] for s in best}
    if len(prompts) < 2:
        raise SkipPlot(f"needs at least two prompts with finished runs, found {sorted(prompts)}")
    several_methods = len({s.setting["method"] for s in best}) > 1
    entries = [(f"{s.setting['method']}\n{s.setting['prompt']}" if several_methods else str(s.setting["prompt"]),
                s) for s in best]
    return [_bars(data, entries, f"{data.task}: prompts at their best setting (by mean dev {data.metric})",
                  folder / "prompts.png")]


def plot_cloze_vs_classifier(data: TaskData, folder: Path) -> list[Path]:
    methods = {r.values["method"] for r in data.finished}
    if not {"cloze", "classifier"} <= methods:
        raise SkipPlot(f"needs finished runs of both methods cloze and classifier, found {sorted(methods)}")
    entries = []
    for method, label in (("cloze", "cloze (prompt + verbalizer)"), ("classifier", "linear head")):
        summary = best_setting(data.outcomes(method=method), data.metric)
        if summary is not None:  # always: the method has finished runs
            entries.append((label, summary))
    return [_bars(data, entries, f"{data.task}: cloze vs linear head, each at its best setting",
                  folder / "cloze_vs_classifier.png")]


def plot_learning_curves(data: TaskData, folder: Path) -> list[Path]:
    paths = []
    methods = sorted({r.values["method"] for r in data.finished}, key=str)
    for method in methods:
        summary = best_setting(data.outcomes(method=method), data.metric)
        if summary is None:
            continue
        curves = [(run, read_metrics(run.path)) for run in data.by_name(summary.runs)]
        if not any(events for _, events in curves):
            log.info("%s: no metrics.jsonl events for %s", data.task, method)
            continue
        fig, (loss_ax, dev_ax) = plt.subplots(1, 2, figsize=(10, 4))
        for k, (run, events) in enumerate(curves):
            train = [(e["step"], e["loss"]) for e in events if e.get("event") == "train" and "loss" in e]
            dev = [(e["step"], e[data.metric]) for e in events
                   if e.get("event") == "eval" and e.get("split", "dev") == "dev" and data.metric in e]
            label = f"seed {run.seed}"
            if train:
                loss_ax.plot(*zip(*train), color=f"C{k}", label=label)
            if dev:
                dev_ax.plot(*zip(*dev), color=f"C{k}", marker="o", markersize=3, label=label)
        loss_ax.set(xlabel="step", ylabel="train loss", title="train loss")
        dev_ax.set(xlabel="step", ylabel=f"dev {data.metric}", title=f"dev {data.metric}")
        for ax in (loss_ax, dev_ax):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        fig.suptitle(f"{data.task}, {method} at {setting_label(summary.setting, ('method',))}", fontsize=10)
        paths.append(_save(fig, folder / f"learning_curves_{safe_name(method)}.png"))
    if not paths:
        raise SkipPlot("no run at a best setting has metrics.jsonl events")
    return paths


PLOTS: dict[str, Callable[[TaskData, Path], list[Path]]] = {
    "heatmap over lr x batch size": plot_heatmap,
    "sensitivity curves": plot_sensitivity,
    "prompt comparison": plot_prompts,
    "cloze vs linear head": plot_cloze_vs_classifier,
    "learning curves": plot_learning_curves,
}
