"""Report-ready tables and plots from run directories.

    python scripts/report.py runs/demo_grid                      # a sweep folder
    python scripts/report.py "runs/ag_news_*" --out reports/ag_news  # several sweeps or run directories

For each task it writes, under `<out>/<task>/`: the best setting per method and prompt and the full grid as
Markdown, LaTeX (booktabs) and CSV, each with mean ± std over seeds; and PNG plots: a dev-metric heatmap over
lr × batch size, sensitivity curves per hyperparameter, prompt bars with the seed spread, learning curves from
metrics.jsonl, and cloze versus linear head. `<out>/report.md` puts it all on one page and `<out>/runs.csv`
lists every run. A plot whose dimension is missing (a single lr, one prompt) is skipped with the reason logged.

The hyperparameters of a run are its config.json args that differ between the runs of a task, minus
bookkeeping (seed, experiment name, paths): settings are grouped by them and averaged over seeds, and the best
setting is the one with the best mean dev metric, as in grid_search.py.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from scripts.grid_search import (  # noqa: E402
    Outcome, RunDirError, SettingSummary, Stat, assess, best_setting, key_rank, last_line, load_run,
    markdown_table, read_metrics, summarize)

log = logging.getLogger("report")

# config.json args that are bookkeeping, not hyperparameters (they differ between runs of one setting).
# pattern_id and prompt are folded into one "prompt" column.
NOT_HYPERPARAMETERS = frozenset({"seed", "task", "experiment_name", "save", "save_dir", "log_dir", "load",
                                 "local_rank", "pattern_id", "prompt"})
DPI = 150


class SkipPlot(Exception):
    """A plot that the data cannot support (a single lr, one method); the message says why."""


@dataclass(frozen=True)
class Run:
    name: str
    path: Path
    task: str
    status: str  # finished | diverged | failed
    error: str | None
    metric: str | None
    seed: Any
    values: dict[str, Any]  # candidate hyperparameters, including "method" and "prompt"
    has_args: bool  # False for a run that failed before writing config.json
    dev: dict[str, float]
    test: dict[str, float] | None


# ----------------------------------------------------------------------------------------------------------
# Reading


def find_run_dirs(patterns: Sequence[str]) -> list[Path]:
    """Run directories named directly, by glob, or as the children of a sweep folder."""
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise RunDirError(f"{pattern}: no such file or directory")
        for match in map(Path, matches):
            if _is_run_dir(match):
                found.append(match)
                continue
            children = sorted(c for c in match.iterdir() if c.is_dir() and _is_run_dir(c)) \
                if match.is_dir() else []
            if not children:
                raise RunDirError(f"{match}: neither a run directory nor a folder of run directories "
                                  "(no config.json or results.json in it or in its subfolders)")
            found += children
    return list(dict.fromkeys(found))


def _is_run_dir(path: Path) -> bool:
    return (path / "results.json").is_file() or (path / "config.json").is_file()


def prompt_label(args: dict[str, Any]) -> str:
    if args.get("prompt") not in (None, ""):
        return str(args["prompt"])
    return f"pattern {args['pattern_id']}" if "pattern_id" in args else "-"


def _plain(value: Any) -> Any:
    """Lists and mappings in args become text so that settings can be grouped on them."""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def load_runs(paths: Sequence[Path], ignore: frozenset[str] = frozenset()) -> list[Run]:
    names = _short_names(paths)
    runs = []
    for path in paths:
        result = load_run(path)  # a clear error for a directory without results.json
        status, error, _ = assess(path)
        args = result.args
        values = {k: _plain(v) for k, v in args.items() if k not in NOT_HYPERPARAMETERS | ignore}
        values.update(method=args.get("method", "-"), prompt=prompt_label(args))
        runs.append(Run(name=names[path], path=path, task=str(result.task or "unknown"), status=status,
                        error=error, metric=result.validation_metric, seed=args.get("seed"), values=values,
                        has_args=bool(args), dev=result.dev, test=result.test))
    return runs


def _short_names(paths: Sequence[Path]) -> dict[Path, str]:
    """`sweep/trial` names (the last two path parts) for tables; full paths if those would collide."""
    short = {p: "/".join(p.resolve().parts[-2:]) for p in paths}
    if len(set(short.values())) < len(short):
        return {p: str(p) for p in paths}
    return short


# ----------------------------------------------------------------------------------------------------------
# One task's numbers


@dataclass
class TaskData:
    task: str
    metric: str
    runs: list[Run]
    keys: list[str]  # hyperparameters shown and grouped on: method, prompt, then those that vary

    @property
    def finished(self) -> list[Run]:
        return [r for r in self.runs if r.status == "finished"]

    def outcome(self, run: Run) -> Outcome:
        return Outcome(name=run.name, setting=tuple((k, run.values.get(k)) for k in self.keys), seed=run.seed,
                       status=run.status, dev=run.dev, test=run.test)

    def outcomes(self, **fixed: Any) -> list[Outcome]:
        return [self.outcome(r) for r in self.runs if all(r.values.get(k) == v for k, v in fixed.items())]

    def frame(self) -> pd.DataFrame:
        """One row per finished run: its hyperparameters, seed, dev metric and test metrics."""
        rows = [{**{k: r.values.get(k) for k in self.keys}, "seed": r.seed, "dev": r.dev[self.metric],
                 **{f"test {m}": v for m, v in (r.test or {}).items()}} for r in self.finished]
        return pd.DataFrame(rows)

    def by_name(self, names: Sequence[str]) -> list[Run]:
        wanted = set(names)
        return [r for r in self.runs if r.name in wanted]


def task_data(task: str, runs: list[Run]) -> TaskData:
    metrics = sorted({r.metric for r in runs if r.status == "finished" and r.metric})
    if not metrics:
        raise RunDirError(f"task {task!r}: none of its {len(runs)} run(s) finished, nothing to report "
                          f"(first: {runs[0].path})")
    if len(metrics) > 1:
        raise RunDirError(f"task {task!r}: runs select by different validation metrics {metrics}; report them "
                          "separately")
    with_args = [r for r in runs if r.has_args]
    varying = {k for r in with_args for k in r.values
               if len({repr(o.values.get(k)) for o in with_args}) > 1}
    keys = ["method", "prompt", *sorted(varying - {"method", "prompt"}, key=key_rank)]
    return TaskData(task=task, metric=metrics[0], runs=runs, keys=keys)


def reported_test_metrics(data: TaskData) -> list[str]:
    names = {m for r in data.finished for m in (r.test or {})}
    return sorted(names, key=lambda m: (m != data.metric, m))


def best_per_method_and_prompt(data: TaskData) -> list[SettingSummary]:
    pairs = sorted({(r.values["method"], r.values["prompt"]) for r in data.runs}, key=repr)
    best = [best_setting(data.outcomes(method=m, prompt=p), data.metric) for m, p in pairs]
    return [b for b in best if b is not None]


# ----------------------------------------------------------------------------------------------------------
# Tables


def _fmt(value: Any) -> str:
    """Hyperparameter values as people write them: 1e-05, 0.0003, 16."""
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _latex_escape(text: str) -> str:
    replace = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$"}
    return "".join(replace.get(c, c) for c in text)


def _latex_cell(value: Any) -> str:
    if isinstance(value, Stat):
        return f"${value.mean:.4f} \\pm {value.std:.4f}$"
    return _latex_escape(_fmt(value) if not isinstance(value, str) else value)


def _stat_columns(rows: Sequence[Sequence[Any]], width: int) -> list[bool]:
    return [any(isinstance(row[i], Stat) for row in rows) for i in range(width)]


def latex_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str, label: str) -> str:
    """A booktabs table (\\usepackage{booktabs}); text columns left, numbers right."""
    stats = _stat_columns(rows, len(headers))
    align = "".join("r" if stats[i] or rows and all(isinstance(row[i], int | float) for row in rows) else "l"
                    for i in range(len(headers)))
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_latex_escape(caption)}}}",
             rf"\label{{{label}}}", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_latex_escape(h) for h in headers) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _md_cell(value: Any) -> str:
    return str(value) if isinstance(value, Stat | str) else _fmt(value)


def write_tables(stem: Path, headers: list[str], rows: list[list[Any]], caption: str) -> str:
    """Write stem.md, stem.tex and stem.csv (mean and std in their own CSV columns); return the Markdown."""
    md = markdown_table(headers, [[_md_cell(c) for c in row] for row in rows])
    stem.with_suffix(".md").write_text(f"{caption}\n\n{md}")
    label = "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", f"{stem.parent.name}-{stem.name}")
    stem.with_suffix(".tex").write_text(latex_table(headers, rows, caption, label))
    stats = _stat_columns(rows, len(headers))
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([part for h, is_stat in zip(headers, stats)
                         for part in ((f"{h} mean", f"{h} std") if is_stat else (h,))])
        for row in rows:
            writer.writerow([part for c, is_stat in zip(row, stats) for part in
                             ((c.mean, c.std) if isinstance(c, Stat) else ("", "") if is_stat
                              else ("" if c is None else c,))])
    return md


def _setting_text(summary: SettingSummary, skip: Sequence[str]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in summary.setting.items() if k not in skip) or "-"


def write_task_tables(data: TaskData, folder: Path) -> list[str]:
    tests = reported_test_metrics(data)
    headers = ["method", "prompt", "setting", "seeds", f"dev {data.metric}", *(f"test {m}" for m in tests)]
    rows = [[s.setting["method"], s.setting["prompt"], _setting_text(s, ("method", "prompt")), len(s.seeds),
             s.dev[data.metric], *(s.test.get(m) for m in tests)]
            for s in best_per_method_and_prompt(data)]
    best_md = write_tables(folder / "best", headers, rows,
                           f"{data.task}: best setting per method and prompt by mean dev {data.metric}; "
                           "mean ± std over seeds.")
    ranked = summarize([data.outcome(r) for r in data.runs], data.metric)
    headers = ["rank", *data.keys, "seeds", "failed", f"dev {data.metric}", *(f"test {m}" for m in tests)]
    rows = [[i, *(s.setting[k] for k in data.keys), len(s.seeds), len(s.failed),
             s.dev.get(data.metric), *(s.test.get(m) for m in tests)]
            for i, s in enumerate(ranked, start=1)]
    grid_md = write_tables(folder / "grid", headers, rows,
                           f"{data.task}: every setting, best mean dev {data.metric} first; "
                           "mean ± std over seeds.")
    return [best_md, grid_md]


def write_runs_csv(runs: Sequence[Run], path: Path) -> None:
    keys = sorted({k for r in runs for k in r.values}, key=key_rank)
    dev = sorted({m for r in runs for m in r.dev})
    test = sorted({m for r in runs for m in (r.test or {})})
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "task", "status", "seed", *keys, *(f"dev {m}" for m in dev),
                         *(f"test {m}" for m in test), "error", "path"])
        for r in runs:
            writer.writerow([r.name, r.task, r.status, r.seed, *(r.values.get(k) for k in keys),
                             *(r.dev.get(m) for m in dev), *((r.test or {}).get(m) for m in test),
                             r.error or "", r.path])


# ----------------------------------------------------------------------------------------------------------
# Plots


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _safe(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "x"


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def plot_heatmap(data: TaskData, folder: Path) -> list[Path]:
    for key in ("lr", "batch_size"):
        found = sorted({r.values[key] for r in data.finished if key in r.values}, key=repr)
        if len(found) < 2:
            raise SkipPlot(f"needs at least two values of {key}, found {', '.join(map(_fmt, found)) or 'none'}")
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
        ax.set_xticks(range(len(table.columns)), [_fmt(v) for v in table.columns])
        ax.set_yticks(range(len(table.index)), [_fmt(v) for v in table.index])
        ax.set_xlabel("learning rate")
        ax.set_ylabel("batch size")
        suffix = f" ({method})" if len(methods) > 1 else ""
        ax.set_title(f"{data.task}{suffix}: dev {data.metric}\nmean over seeds and other settings",
                     fontsize=10)
        fig.colorbar(image, ax=ax, label=f"dev {data.metric}")
        name = f"heatmap_lr_batch_size_{_safe(method)}.png" if len(methods) > 1 else "heatmap_lr_batch_size.png"
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
            ax.set_xticks(np.array(values, dtype=float), [_fmt(v) for v in values])
            ax.minorticks_off()
        else:
            ax.set_xticks(range(len(values)), [str(v) for v in values], rotation=20 if len(values) > 3 else 0)
        ax.set_xlabel(key)
        ax.set_ylabel(f"dev {data.metric}")
        ax.set_title(f"{data.task}: sensitivity to {key}\nmean ± std over seeds and other settings", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(title="method" if len(lines) > 1 else None)
        paths.append(_save(fig, folder / f"sensitivity_{_safe(key)}.png"))
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
        fig.suptitle(f"{data.task}, {method} at {_setting_text(summary, ('method',))}", fontsize=10)
        paths.append(_save(fig, folder / f"learning_curves_{_safe(method)}.png"))
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


# ----------------------------------------------------------------------------------------------------------
# The report


def write_report(patterns: Sequence[str], out: Path, ignore: frozenset[str] = frozenset()) -> Path:
    runs = load_runs(find_run_dirs(patterns), ignore)
    out.mkdir(parents=True, exist_ok=True)
    write_runs_csv(runs, out / "runs.csv")
    page = [f"# Report on {len(runs)} runs", "", f"Sources: {', '.join(f'`{p}`' for p in patterns)}. "
            "Every run: [runs.csv](runs.csv).", ""]
    for task in sorted({r.task for r in runs}):
        data = task_data(task, [r for r in runs if r.task == task])
        folder = out / _safe(task)
        folder.mkdir(exist_ok=True)
        best_md, grid_md = write_task_tables(data, folder)
        page += [f"## {task}", "", f"{len(data.finished)} of {len(data.runs)} runs finished; settings are "
                 f"chosen by mean dev {data.metric} over seeds.", "", "### Best per method and prompt", "",
                 best_md, "### Full grid", "", grid_md, "### Plots", ""]
        for title, plot in PLOTS.items():
            try:
                paths = plot(data, folder)
            except SkipPlot as reason:
                log.info("%s: skipped %s: %s", task, title, reason)
                page += [f"- {title}: skipped, {reason}.", ""]
                continue
            page += [f"![{title}]({p.relative_to(out).as_posix()})" for p in paths] + [""]
        problems = [r for r in data.runs if r.status != "finished"]
        if problems:
            page += ["### Diverged or failed runs", "",
                     markdown_table(["run", "status", "error"],
                                    [[r.name, r.status, last_line(r.error)] for r in problems])]
    report = out / "report.md"
    report.write_text("\n".join(page))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="run directories, sweep folders or globs of either")
    parser.add_argument("--out", type=Path, help="report folder (default: reports/<first path's name>)")
    parser.add_argument("--ignore-arg", action="append", default=[], metavar="NAME",
                        help="a config.json arg that differs per run but is not a hyperparameter (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    out = args.out or Path("reports") / _safe(Path(args.paths[0].rstrip("/*")).name or "report")
    try:
        report = write_report(args.paths, out, frozenset(args.ignore_arg))
    except RunDirError as exc:
        log.error("%s", exc)
        return 2
    log.info("report: %s", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
