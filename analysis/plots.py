"""The report's figures, each as PNG and PDF sized for a two-column paper (3.4 in one column, 7 in both).

Rules every plot keeps, so that a figure cannot say more than the runs do:
- nothing is averaged over groups that differ: the heatmap is faceted by method and prompt, and refuses
  (UnequalGroups) to pool another axis unless every cell covers the same values of it; sensitivity curves hold
  the other axes at the method's best setting instead of averaging over them;
- every cell, point and bar says how many runs (seeds) are behind it, and error bars are the seed std at one
  fixed setting;
- one colour scale per figure, shared by its panels; log axes say so in their label; categorical axes get
  markers, never lines; value axes are zoomed to the data, and say so when they do not start at 0.

A plot the data cannot support raises SkipPlot with the reason, which the report prints in its place."""

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

from .compare import compare  # noqa: E402
from .runs import TaskData, best_per_method_and_prompt, method_name  # noqa: E402
from .stats import best_setting, summarize  # noqa: E402
from .tables import format_value, setting_label  # noqa: E402

log = logging.getLogger("report")

DPI = 200
ONE_COLUMN, TWO_COLUMNS = 3.4, 7.0  # inches
AXIS_LABELS = {"lr": "learning rate", "batch_size": "batch size", "epochs": "epochs", "warmup": "warmup fraction",
               "weight_decay": "weight decay", "pre_seq_len": "prefix length", "prompt": "prompt"}
plt.rcParams.update({"font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "xtick.labelsize": 6,
                     "ytick.labelsize": 6, "legend.fontsize": 6, "pdf.fonttype": 42})


class SkipPlot(Exception):
    """A plot that the data cannot support (a single lr, one method); the message says why."""


class UnequalGroups(SkipPlot):
    """Averaging would mix groups that hold different runs (e.g. cells covering different prompts)."""


def safe_name(text: Any) -> str:
    """Text as a file-name part: letters, digits and "._-" only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "x"


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    # tight: long method names and titles are never clipped (the width grows a little past the nominal size)
    fig.savefig(path.with_suffix(".png"), dpi=DPI, bbox_inches="tight")
    fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight")
    plt.close(fig)
    return path.with_suffix(".png")


def _is_numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _log_axis(key: str, values: list[Any]) -> bool:
    return _is_numeric(values) and min(values) > 0 and (key == "lr" or max(values) / min(values) >= 10)


def _label(key: str, log_scale: bool = False) -> str:
    return AXIS_LABELS.get(key, key) + (" (log scale)" if log_scale else "")


def _facet_name(method: str, prompt: str) -> str:
    return method_name(method) + ("" if prompt == "-" else f"\nprompt {prompt}")


def cell_means(frame: pd.DataFrame, rows: str, cols: str, pooled: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and count of `dev` per (rows, cols) cell, averaging over seeds and over the `pooled` axes, which is
    allowed only when every filled cell holds the same combinations of them (else UnequalGroups)."""
    if pooled:
        covered = frame.groupby([rows, cols]).apply(
            lambda g: frozenset(map(tuple, g[pooled].astype(str).to_numpy())), include_groups=False)
        if covered.nunique() > 1:
            sizes = sorted({len(c) for c in covered})
            raise UnequalGroups(f"cells would average over different {'/'.join(pooled)} values "
                                f"({' vs '.join(map(str, sizes))} combinations); facet by them instead")
    grouped = frame.groupby([rows, cols])["dev"]
    return grouped.mean().unstack(cols), grouped.count().unstack(cols)


def plot_heatmap(data: TaskData, folder: Path) -> list[Path]:
    df = data.frame()
    facets = []
    for (method, prompt), part in df.groupby(["method", "prompt"], sort=False):
        if all(k in part and part[k].nunique() > 1 for k in ("lr", "batch_size")):
            facets.append((method, prompt, part))
    if not facets:
        found = {k: sorted({r.values[k] for r in data.finished if k in r.values}) for k in ("lr", "batch_size")}
        missing = [k for k, v in found.items() if len(v) < 2]
        shown = ", ".join(map(format_value, found[missing[0]])) or "none"
        raise SkipPlot(f"needs at least two values of {missing[0]} within one method and prompt, found {shown}")
    order = {m: i for i, m in enumerate(data.methods)}
    facets.sort(key=lambda f: (order.get(f[0], 99), str(f[1])))
    tables = []
    for method, prompt, part in facets:
        others = [k for k in data.axes(method) if k not in ("lr", "batch_size", "prompt")]
        mean, n = cell_means(part, "batch_size", "lr", others)
        tables.append((method, prompt, mean, n, others))
    values = np.concatenate([t[2].to_numpy(dtype=float).ravel() for t in tables])
    vmin, vmax = np.nanmin(values), np.nanmax(values)
    cols = min(3, len(tables))
    rows_n = int(np.ceil(len(tables) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(TWO_COLUMNS if cols > 1 else ONE_COLUMN, 2.0 * rows_n + 0.6),
                             squeeze=False, layout="constrained")
    image = None
    for ax, (method, prompt, mean, n, others) in zip(axes.ravel(), tables):
        grid = mean.to_numpy(dtype=float)
        image = ax.imshow(grid, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            count = n.to_numpy()[i, j]
            text = "n=0" if not np.isfinite(value) else f"{value:.3f}\nn={int(count)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=5.5,
                    color="white" if not np.isfinite(value) or value < (vmin + vmax) / 2 else "black")
        ax.set_xticks(range(len(mean.columns)), [format_value(v) for v in mean.columns],
                      rotation=30 if len(mean.columns) > 3 else 0)
        ax.set_yticks(range(len(mean.index)), [format_value(v) for v in mean.index])
        ax.set_xlabel("learning rate")
        ax.set_ylabel("batch size")
        pooled = f"\nmean over seeds and {', '.join(others)}" if others else "\nmean over seeds"
        ax.set_title(_facet_name(method, prompt) + pooled)
    for ax in axes.ravel()[len(tables):]:
        ax.axis("off")
    fig.colorbar(image, ax=axes.ravel().tolist(), label=f"dev {data.metric}", shrink=0.9)
    fig.suptitle(f"{data.task}: dev {data.metric} over lr × batch size (one colour scale)", fontsize=7)
    fig.savefig(folder / "heatmap_lr_batch_size.png", dpi=DPI, bbox_inches="tight")
    fig.savefig(folder / "heatmap_lr_batch_size.pdf", bbox_inches="tight")
    plt.close(fig)
    return [folder / "heatmap_lr_batch_size.png"]


def plot_sensitivity(data: TaskData, folder: Path) -> list[Path]:
    """Per axis: the mean dev of each method at each value with the other axes at that method's best setting;
    error bars are the seed std there, n beside each point."""
    per_axis: dict[str, list[tuple[str, list]]] = {}
    for method in data.methods:
        outcomes = data.outcomes(method=method)
        best = best_setting(outcomes, data.metric)
        axes = data.axes(method)
        ranked = [s for s in summarize(outcomes, data.metric) if data.metric in s.dev]
        for axis in axes:
            held = [s for s in ranked if all(s.setting[k] == best.setting[k] for k in axes if k != axis)]
            if len(held) > 1:
                prompt = best.setting.get("prompt", "-")
                label = method_name(method) + ("" if axis == "prompt" or prompt == "-" else f" · {prompt}")
                per_axis.setdefault(axis, []).append((label, held))
    if not per_axis:
        raise SkipPlot("no hyperparameter takes two values within a method among the finished runs")
    paths = []
    for axis, lines in per_axis.items():
        values = sorted({s.setting[axis] for _, held in lines for s in held}, key=lambda v: (str(type(v)), v))
        numeric = _is_numeric(values)
        log_scale = _log_axis(axis, values)
        fig, ax = plt.subplots(figsize=(ONE_COLUMN, 2.4 + 0.15 * len(lines)))
        for k, (method, held) in enumerate(lines):
            held = sorted(held, key=lambda s: values.index(s.setting[axis]))
            x = np.array([s.setting[axis] if numeric else values.index(s.setting[axis]) for s in held], dtype=float)
            if not numeric:
                x = x + (k - (len(lines) - 1) / 2) * 0.08  # side by side, not on top of each other
            mean = [s.dev[data.metric].mean for s in held]
            std = [s.dev[data.metric].std for s in held]
            ax.errorbar(x, mean, yerr=std, marker="o", markersize=3, capsize=2, color=f"C{k}",
                        linestyle="-" if numeric else "none", label=method)
            for xi, yi, s in zip(x, mean, held):
                ax.annotate(f"n={len(s.seeds)}", (xi, yi), textcoords="offset points", xytext=(3, -7 + 10 * (k % 2)),
                            fontsize=4.5, color=f"C{k}")
        if log_scale:
            ax.set_xscale("log")
        if numeric:
            ax.set_xticks(np.array(values, dtype=float), [format_value(v) for v in values],
                          rotation=30 if len(values) > 3 else 0)
            ax.minorticks_off()
        else:
            ax.set_xticks(range(len(values)), [str(v) for v in values], rotation=30 if len(values) > 2 else 0)
            ax.set_xlim(-0.5, len(values) - 0.5)
        ax.margins(x=0.12)
        ax.set_xlabel(_label(axis, log_scale))
        ax.set_ylabel(f"dev {data.metric}")
        ax.set_title(f"{data.task}: {AXIS_LABELS.get(axis, axis)}, other axes at each method's best\n"
                     "mean ± seed std at fixed settings")
        ax.grid(alpha=0.3)
        fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2 if len(lines) > 1 else 1,
                   frameon=False)  # below the panel: never over the points
        fig.tight_layout(rect=(0, 0.07 * ((len(lines) + 1) // 2) + 0.02, 1, 1))
        fig.savefig(folder / f"sensitivity_{safe_name(axis)}.png", dpi=DPI, bbox_inches="tight")
        fig.savefig(folder / f"sensitivity_{safe_name(axis)}.pdf", bbox_inches="tight")
        plt.close(fig)
        paths.append(folder / f"sensitivity_{safe_name(axis)}.png")
    return paths


def plot_prompts(data: TaskData, folder: Path) -> list[Path]:
    """Each method and prompt at its best setting: dev and test bars (mean ± seed std), each seed as a dot,
    n on each bar; the value axis is zoomed to the data."""
    best = best_per_method_and_prompt(data)
    prompts = {s.setting["prompt"] for s in best if s.setting["prompt"] != "-"}
    if len(prompts) < 2:
        raise SkipPlot(f"needs at least two prompts with finished runs, found {sorted(prompts)}")
    splits = ["dev", "test"] if all(data.metric in s.test for s in best) else ["dev"]
    width = 0.8 / len(splits)
    fig, ax = plt.subplots(figsize=(TWO_COLUMNS, 2.6))
    everything = []
    for k, split in enumerate(splits):
        x = np.arange(len(best)) + (k - (len(splits) - 1) / 2) * width
        stats = [getattr(s, split)[data.metric] for s in best]
        ax.bar(x, [s.mean for s in stats], width * 0.9, yerr=[s.std for s in stats], capsize=2,
               label=f"{split} (mean ± seed std)", color=f"C{k}", alpha=0.75)
        for xi, s, summary in zip(x, stats, best):
            points = [float((r.dev if split == "dev" else r.test or {})[data.metric])
                      for r in data.by_name(summary.runs)]
            everything += points + [s.mean - s.std, s.mean + s.std]
            ax.scatter(np.full(len(points), xi), points, color="black", s=5, zorder=3,
                       label="seeds" if (k, xi) == (0, x[0]) else None)
            ax.annotate(f"n={s.n}", (xi, s.mean + s.std), textcoords="offset points", xytext=(0, 2),
                        ha="center", fontsize=5)
    low, high = min(everything), max(everything)
    margin = max(0.1 * (high - low), 1e-3)
    if all(0 <= v <= 1 for v in everything):  # a fraction: no axis room beyond 1 but what the legend needs
        high = min(high, 1.0)
    ax.set_ylim(low - margin, high + 2.5 * margin)
    labels = [f"{method_name(s.setting['method'])}\n"
              + ("(no prompt)" if s.setting["prompt"] == "-" else str(s.setting["prompt"])) for s in best]
    ax.set_xticks(range(len(best)), labels, rotation=0 if len(best) <= 5 else 30, ha="center" if len(best) <= 5
                  else "right")
    ax.set_ylabel(data.metric + ("" if low - margin <= 0 else " (axis does not start at 0)"))
    ax.set_title(f"{data.task}: each method and prompt at its best setting by mean dev {data.metric}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", ncol=3)
    return [_save(fig, folder / "prompts")]


def plot_comparison(data: TaskData, folder: Path) -> list[Path]:
    """The comparison table as a figure: test mean per row with its 95% bootstrap interval over test examples
    (thick) and the seed std (thin), GLM first."""
    comp = compare(data)
    rows = [r for r in comp.rows if data.metric in r.summary.test]
    if len(rows) < 2:
        raise SkipPlot("needs at least two methods or prompts with test results")
    fig, ax = plt.subplots(figsize=(ONE_COLUMN, 0.28 * len(rows) + 0.9))
    y = np.arange(len(rows))[::-1]
    # a fraction (accuracy, F1) cannot pass 1 or 0: the seed-std bar stops at the bound instead of suggesting it
    bounded = all(0 <= row.summary.test[data.metric].mean <= 1 for row in rows)
    for yi, row in zip(y, rows):
        stat = row.summary.test[data.metric]
        color = "C0" if row.first("family") == "glm" else "C1"
        if row.interval and data.kind != "generation":
            ax.plot(row.interval, [yi, yi], color=color, linewidth=3, alpha=0.4, solid_capstyle="butt")
        std = stat.std or 0.0
        low, high = (min(std, stat.mean), min(std, 1 - stat.mean)) if bounded else (std, std)
        ax.errorbar(stat.mean, yi, xerr=[[low], [high]], fmt="o", color=color, markersize=3, capsize=2)
        ax.annotate(f"n={stat.n}", (stat.mean, yi), textcoords="offset points", xytext=(0, 4), fontsize=5,
                    ha="center")
    ax.set_yticks(y, [r.label + ("" if r.prompt == "-" else f" · {r.prompt}") for r in rows])
    ax.set_xlabel(f"test {data.metric}")
    band = "\nband: 95% CI over test examples" if data.kind != "generation" else ""
    ax.set_title(f"{data.task}: test {data.metric}\ndot ± seed std{band}")
    ax.grid(axis="x", alpha=0.3)
    return [_save(fig, folder / "comparison")]


def plot_learning_curves(data: TaskData, folder: Path) -> list[Path]:
    paths = []
    for method in data.methods:
        summary = best_setting(data.outcomes(method=method), data.metric)
        if summary is None:
            continue
        curves = [(run, read_metrics(run.path)) for run in data.by_name(summary.runs)]
        if not any(events for _, events in curves):
            log.info("%s: no metrics.jsonl events for %s", data.task, method)
            continue
        fig, (loss_ax, dev_ax) = plt.subplots(1, 2, figsize=(TWO_COLUMNS, 2.2))
        for k, (run, events) in enumerate(curves):
            train = [(e["step"], e["loss"]) for e in events if e.get("event") == "train" and "loss" in e]
            dev = [(e["step"], e[data.metric]) for e in events
                   if e.get("event") == "eval" and e.get("split", "dev") == "dev" and data.metric in e]
            label = f"seed {run.seed}"
            if train:
                loss_ax.plot(*zip(*train), color=f"C{k}", label=label)
            if dev:
                dev_ax.plot(*zip(*dev), color=f"C{k}", marker="o", markersize=3, label=label)
        loss_ax.set(xlabel="optimizer step", ylabel="train loss", title="train loss")
        dev_ax.set(xlabel="optimizer step", ylabel=f"dev {data.metric}", title=f"dev {data.metric}")
        for ax in (loss_ax, dev_ax):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        shown = setting_label(summary.setting, ("method",) if summary.setting.get("prompt") != "-" else
                              ("method", "prompt"))
        fig.suptitle(f"{data.task}, {method_name(method)} at {shown}", fontsize=7)
        paths.append(_save(fig, folder / f"learning_curves_{safe_name(method)}"))
    if not paths:
        raise SkipPlot("no run at a best setting has metrics.jsonl events")
    return paths


PLOTS: dict[str, Callable[[TaskData, Path], list[Path]]] = {
    "comparison": plot_comparison,
    "heatmap over lr x batch size": plot_heatmap,
    "sensitivity curves": plot_sensitivity,
    "prompt comparison": plot_prompts,
    "learning curves": plot_learning_curves,
}
