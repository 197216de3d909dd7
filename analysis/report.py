"""The report on a set of run directories: per task, the best setting per method and prompt and the full grid
(Markdown, LaTeX, CSV, mean ± std over seeds) and the plots; `report.md` on one page, `runs.csv` for every run.
Layout of the output: docs/GRID_AND_REPORT.md."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path

from .peft import has_peft, peft_table
from training.rundir import RunDirError

from .plots import PLOTS, SkipPlot, safe_name
from .runs import Run, TaskData, best_per_method_and_prompt, find_run_dirs, load_runs, reported_test_metrics, \
    task_data
from .stats import summarize
from .sweep import key_rank
from .tables import last_line, markdown_table, setting_label, write_tables

log = logging.getLogger("report")


def default_out(first_path: str) -> Path:
    """reports/<name of the first path>, the name taken without a trailing glob."""
    return Path("reports") / safe_name(Path(first_path.rstrip("/*")).name or "report")


def write_task_tables(data: TaskData, folder: Path) -> list[str]:
    tests = reported_test_metrics(data)
    headers = ["method", "prompt", "setting", "seeds", f"dev {data.metric}", *(f"test {m}" for m in tests)]
    rows = [[s.setting["method"], s.setting["prompt"], setting_label(s.setting, ("method", "prompt")),
             len(s.seeds), s.dev[data.metric], *(s.test.get(m) for m in tests)]
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


def by_task_and_metric(runs: Sequence[Run]) -> list[tuple[str, list[Run]]]:
    """Runs grouped by task; a task whose runs select by different validation metrics (e.g. promptsource
    templates declaring different metrics) becomes one group per metric, named "task [metric]"."""
    groups: list[tuple[str, list[Run]]] = []
    for task in sorted({r.task for r in runs}):
        task_runs = [r for r in runs if r.task == task]
        metrics = sorted({r.metric for r in task_runs if r.status == "finished" and r.metric})
        if len(metrics) <= 1:
            groups.append((task, task_runs))
            continue
        for m in metrics:
            groups.append((f"{task} [{m}]", [r for r in task_runs if r.metric == m or (r.metric is None and m == metrics[0])]))
    return groups


def write_report(patterns: Sequence[str], out: Path, ignore: frozenset[str] = frozenset(),
                 peft_benchmark: dict | None = None) -> Path:
    """Everything for the run directories that `patterns` name (see runs.find_run_dirs); returns report.md.
    A run directory that breaks the contract is a RunDirError naming its file."""
    runs = load_runs(find_run_dirs(patterns), ignore)
    out.mkdir(parents=True, exist_ok=True)
    write_runs_csv(runs, out / "runs.csv")
    page = [f"# Report on {len(runs)} runs", "", f"Sources: {', '.join(f'`{p}`' for p in patterns)}. "
            "Every run: [runs.csv](runs.csv).", ""]
    for task, task_runs in by_task_and_metric(runs):
        try:
            data = task_data(task, task_runs)
        except RunDirError as err:  # e.g. no run of this task finished: said, and the other tasks reported
            log.warning("%s", err)
            page += [f"## {task}", "", f"Not reported: {err}", ""]
            continue
        folder = out / safe_name(task)
        folder.mkdir(exist_ok=True)
        best_md, grid_md = write_task_tables(data, folder)
        page += [f"## {task}", "", f"{len(data.finished)} of {len(data.runs)} runs finished; settings are "
                 f"chosen by mean dev {data.metric} over seeds.", "", "### Best per method and prompt", "",
                 best_md, "### Full grid", "", grid_md]
        if has_peft(data):
            page += ["### Parameter-efficient methods", "", write_tables(folder / "peft", *peft_table(data, peft_benchmark))]
        page += ["### Plots", ""]
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
