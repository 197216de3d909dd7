"""The report on a set of run directories. Per data set (runs of every driver and task that read it, e.g.
`ag_news` and `promptsource:ag_news`): one GLM-first comparison table, the significance of each row against a
reference row, the sensitivity tables, the prompts' spread and rank stability, the full grid, and the plots;
`report.md` on one page, `runs.csv` for every run, and `paper/` with booktabs tables, PDF figures and
findings.md. Layout of the output: docs/GRID_AND_REPORT.md."""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.rundir import RunDirError

import numpy as np

from .compare import Comparison, Row, compare
from .findings import findings
from .peft import has_peft, peft_table
from .plots import PLOTS, SkipPlot, safe_name
from .runs import Run, TaskData, find_run_dirs, load_runs, method_name, reported_test_metrics, task_data
from .sensitivity import method_sensitivity, prompt_spread
from .significance import aligned, paired_bootstrap
from .stats import higher_is_better, summarize
from .sweep import key_rank
from .tables import Interval, Score, Style, last_line, markdown_table, setting_label, write_tables

log = logging.getLogger("report")

ALPHA = 0.05


def default_out(first_path: str) -> Path:
    """reports/<name of the first path>, the name taken without a trailing glob."""
    return Path("reports") / safe_name(Path(first_path.rstrip("/*")).name or "report")


def metric_style(data: TaskData) -> Style:
    """Accuracy-like metrics (fractions) are shown × 100; metrics already on 0-100 (ROUGE) as they are."""
    values = [float(r.dev[data.metric]) for r in data.finished]
    return Style(scale=100.0, digits=1) if values and max(abs(v) for v in values) <= 1.0 else Style(1.0, 1)


def count(n: int | None) -> str:
    if n is None:
        return "-"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _bold_best(rows: list[list[Any]], columns: Sequence[int], higher: bool) -> None:
    for col in columns:
        scored = [(i, row[col]) for i, row in enumerate(rows) if isinstance(row[col], Score)]
        if len(scored) < 2:
            continue
        best = (max if higher else min)(s.mean for _, s in scored)
        if all(s.mean == best for _, s in scored):  # a column where every row ties singles nothing out
            continue
        for i, s in scored:
            if s.mean == best:
                rows[i][col] = Score(s.mean, s.std, s.n, bold=True)


def comparison_table(comp: Comparison, style: Style) -> tuple[list[str], list[list[Any]], str]:
    data = comp.data
    tests = reported_test_metrics(data)
    scale = " ×100" if style.scale == 100 else ""
    headers = ["method", "prompt", "seeds", f"dev {data.metric}{scale}", *(f"test {m}{scale}" for m in tests),
               "test 95% CI", "params (trainable / total)", "best hyperparameters", "time/run (s)"]
    rows = []
    for row in comp.rows:
        s = row.summary
        rows.append([row.label, row.prompt, len(s.seeds), Score.of(s.dev.get(data.metric)),
                     *(Score.of(s.test.get(m)) for m in tests),
                     Interval(*row.interval) if row.interval else None,
                     f"{count(row.first('params_trainable'))} / {count(row.first('params_total'))}",
                     setting_label(row.hyperparameters), _round(row.mean_cost("wall_s"))])
    _bold_best(rows, range(3, 4 + len(tests)), higher_is_better(data.metric))
    unit = "per-example ROUGE-L F1 (whitespace tokens)" if data.kind == "generation" else data.metric
    caption = (f"{data.task}: each method and prompt at its best setting by mean dev {data.metric}; mean ± std "
               f"over seeds (n = seeds; no std for one seed); 95% CI: percentile bootstrap over test examples of "
               f"the {unit}, seeds averaged per example; bold: best mean.")
    return headers, rows, caption


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def significance_table(comp: Comparison, style: Style) -> tuple[list[str], list[list[Any]], str] | None:
    ref = comp.reference
    if ref is None or not ref.scores:
        return None
    rows = []
    for row in comp.rows:
        if row is ref:
            continue
        v, m = row.versus, row.mcnemar
        rows.append([row.label, row.prompt, v.n if v else None, Score(v.delta) if v else None,
                     Interval(v.low, v.high) if v else None, _p(v.p) if v else "-",
                     f"{m.only_a} / {m.only_b}" if m else "-", _p(m.p) if m else "-",
                     ("yes" if v.p < ALPHA else "no") if v else "no predictions"])
    scale = " ×100" if style.scale == 100 else ""
    headers = ["method", "prompt", "test examples", f"Δ vs reference{scale}", "Δ 95% CI", "p (bootstrap)",
               "only this / only ref. right", "p (McNemar)", f"p < {ALPHA}"]
    caption = (f"{comp.data.task}: each row against the reference {ref.label} ({ref.prompt}) on the aligned "
               f"test predictions; paired bootstrap ({_samples(comp)} resamples of examples, two-sided p)"
               + ("; exact McNemar on per-example correctness (majority over seeds)" if comp.data.kind !=
                  "generation" else "; per-example ROUGE-L F1") + ".")
    return headers, rows, caption


def _samples(comp: Comparison) -> int:
    return next((r.versus.samples for r in comp.rows if r.versus), 0)


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def sensitivity_table(data: TaskData, style: Style) -> tuple[list[str], list[list[Any]], str] | None:
    rows = []
    for method in data.methods:
        sens = method_sensitivity(data, method)
        if sens is None:
            continue
        for axis in sens.axes:
            rows.append([method_name(method), axis.axis, ", ".join(_value(v) for v in axis.values),
                         Score(axis.range), Score(axis.std),
                         _share(axis.share), Score(sens.seed_std) if sens.seed_std is not None else None,
                         _share(sens.seed_share), _share(sens.other_share)])
        if not sens.axes:
            rows.append([method_name(method), "(none swept)", "-", None, None, None,
                         Score(sens.seed_std) if sens.seed_std is not None else None, _share(sens.seed_share),
                         None])
    if not rows:
        return None
    scale = " ×100" if style.scale == 100 else ""
    headers = ["method", "axis", "values (others at best)", f"range{scale}", f"std{scale}", "variance share",
               f"mean seed std{scale}", "seed share", "other share"]
    caption = (f"{data.task}: sensitivity of mean dev {data.metric} to each axis with the other axes at the "
               "method's best setting (range and std of the means over the axis values); variance share: "
               "between-group sum of squares of the axis over all of the method's runs; seed share: within "
               "settings; other: interactions and imbalance.")
    return headers, rows, caption


def _axis_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


_value = _axis_value


def _share(x: float | None) -> str:
    return "-" if x is None else f"{max(0.0, 100 * x) if abs(x) < 5e-3 else 100 * x:.0f}%"


def prompt_table(data: TaskData, style: Style) -> tuple[list[str], list[list[Any]], str] | None:
    rows = []
    for method in data.methods:
        spread = prompt_spread(data, method)
        if spread is None:
            continue
        best = spread.prompts[int(np.argmax(spread.dev))] if higher_is_better(data.metric) else \
            spread.prompts[int(np.argmin(spread.dev))]
        rows.append([method_name(method), len(spread.prompts), best, Score(spread.std), Score(spread.range),
                     Score(spread.seed_std) if spread.seed_std is not None else None, len(spread.seeds),
                     "-" if spread.tau is None else f"{spread.tau:.2f}",
                     f"{spread.best_per_seed.count(best)} / {len(spread.seeds)}" if spread.seeds else "-"])
    if not rows:
        return None
    scale = " ×100" if style.scale == 100 else ""
    headers = ["method", "prompts", "best prompt (dev)", f"std across prompts{scale}", f"range{scale}",
               f"mean seed std{scale}", "shared seeds", "Kendall τ across seeds", "best prompt wins in seeds"]
    caption = (f"{data.task}: spread of mean dev {data.metric} across prompts, each at its best setting, beside "
               "the seed noise; rank stability: Kendall τ-b of the prompts' test ranking between pairs of seeds "
               "(mean), and in how many seeds the best dev prompt is also the best on test.")
    return headers, rows, caption


def grid_table(data: TaskData, style: Style) -> tuple[list[str], list[list[Any]], str]:
    tests = reported_test_metrics(data)
    ranked = summarize([data.outcome(r) for r in data.runs], data.metric)
    scale = " ×100" if style.scale == 100 else ""
    keys = [k for k in data.keys]
    headers = ["rank", *keys, "seeds", "failed", f"dev {data.metric}{scale}", *(f"test {m}{scale}" for m in tests)]
    rows = [[i, *(method_name(s.setting[k]) if k == "method" else s.setting[k] for k in keys), len(s.seeds),
             len(s.failed), Score.of(s.dev.get(data.metric)), *(Score.of(s.test.get(m)) for m in tests)]
            for i, s in enumerate(ranked, start=1)]
    caption = f"{data.task}: every setting, best mean dev {data.metric} first; mean ± std over seeds."
    return headers, rows, caption


def write_runs_csv(runs: Sequence[Run], path: Path) -> None:
    keys = sorted({k for r in runs for k in r.values}, key=key_rank)
    dev = sorted({m for r in runs for m in r.dev})
    test = sorted({m for r in runs for m in (r.test or {})})
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "task", "dataset", "status", "seed", *keys, *(f"dev {m}" for m in dev),
                         *(f"test {m}" for m in test), "family", "params_total", "params_trainable", "wall_s",
                         "tokens_seen", "error", "path"])
        for r in runs:
            cost = r.cost or {}
            writer.writerow([r.name, r.task, r.dataset, r.status, r.seed, *(r.values.get(k) for k in keys),
                             *(r.dev.get(m) for m in dev), *((r.test or {}).get(m) for m in test), r.family,
                             r.params_total, r.params_trainable, cost.get("wall_s"), cost.get("tokens_seen"),
                             r.error or "", r.path])


def by_dataset_and_metric(runs: Sequence[Run]) -> list[tuple[str, list[Run]]]:
    """Runs grouped by data set. Runs that selected by different dev metrics stay in one table when every
    finished one also holds the metric most of them chose (a GLM run by rougeL, a baseline by its task's first
    metric); otherwise (e.g. promptsource templates declaring unrelated metrics) the data set becomes one group
    per metric, named "data set [metric]"."""
    groups: list[tuple[str, list[Run]]] = []
    for task in sorted({r.dataset for r in runs}):
        task_runs = [r for r in runs if r.dataset == task]
        finished = [r for r in task_runs if r.status == "finished" and r.metric]
        metrics = sorted({r.metric for r in finished})
        chosen = max(metrics, key=[r.metric for r in finished].count) if metrics else None
        if len(metrics) <= 1 or all(chosen in r.dev for r in finished):
            groups.append((task, task_runs))
            continue
        for m in metrics:
            groups.append((f"{task} [{m}]", [r for r in task_runs if r.metric == m or (r.metric is None and m == metrics[0])]))
    return groups


def contrast(a: Row, b: Row):
    """Paired bootstrap of row a minus row b on their aligned test examples (None without predictions)."""
    x, y = aligned(a.scores, b.scores)
    return paired_bootstrap(x, y) if len(x) else None


def write_report(patterns: Sequence[str], out: Path, reference: str | None = None,
                 peft_benchmark: dict | None = None) -> Path:
    """Everything for the run directories that `patterns` name (see runs.find_run_dirs); returns report.md.
    A run directory that breaks the contract is a RunDirError naming its file. `reference` names the row the
    significance tests compare against (`method` or `method:prompt`; default: the best row on dev)."""
    runs = load_runs(find_run_dirs(patterns))
    out.mkdir(parents=True, exist_ok=True)
    paper = out / "paper"
    (paper / "figures").mkdir(parents=True, exist_ok=True)
    write_runs_csv(runs, out / "runs.csv")
    page = [f"# Report on {len(runs)} runs", "", f"Sources: {', '.join(f'`{p}`' for p in patterns)}. "
            "Every run: [runs.csv](runs.csv). Paper-ready tables and figures: [paper/](paper/), "
            "findings: [paper/findings.md](paper/findings.md).", ""]
    found: list[str] = []
    for dataset, group in by_dataset_and_metric(runs):
        try:
            data = task_data(dataset, group)
        except RunDirError as err:  # e.g. no run of this data set finished: said, and the others reported
            log.warning("%s", err)
            page += [f"## {dataset}", "", f"Not reported: {err}", ""]
            continue
        folder = out / safe_name(dataset)
        folder.mkdir(exist_ok=True)
        style = metric_style(data)
        paper_style = style
        comp = compare(data, reference)
        page += [f"## {dataset}", "", f"{len(data.finished)} of {len(data.runs)} runs finished (tasks: "
                 f"{', '.join(data.tasks)}); settings are chosen by mean dev {data.metric} over seeds.", ""]
        sections = [("comparison", "Methods side by side", comparison_table(comp, style)),
                    ("significance", "Significance against the reference", significance_table(comp, style)),
                    ("sensitivity", "Sensitivity", sensitivity_table(data, style)),
                    ("prompts", "Prompts: spread and rank stability", prompt_table(data, style)),
                    ("grid", "Full grid", grid_table(data, style))]
        if has_peft(data):
            sections.append(("peft", "Parameter-efficient methods", peft_table(data, peft_benchmark)))
        for stem, title, table in sections:
            if table is None:
                page += [f"### {title}", "", "Not computed: "
                         + ("no test predictions to align." if stem == "significance" else
                            "fewer than two prompts for every method." if stem == "prompts" else "no runs."), ""]
                continue
            headers, rows, caption = table
            md = write_tables(folder / stem, headers, rows, caption, style)
            write_tables(paper / f"{safe_name(dataset)}_{stem}", headers, rows, caption, paper_style)
            page += [f"### {title}", "", caption, "", md]
        texts = data.prompt_texts()
        if texts:
            page += ["### Prompts", ""] + [f"- `{name}`: `{' '.join(text.split())}`" for name, text in
                                          sorted(texts.items())] + [""]
            rows = [[name, " ".join(text.split())] for name, text in sorted(texts.items())]
            write_tables(paper / f"{safe_name(dataset)}_templates", ["prompt", "template"], rows,
                         f"{dataset}: the prompts (templates) of the runs.", style)
        page += ["### Plots", ""]
        for title, plot in PLOTS.items():
            try:
                paths = plot(data, folder)
            except SkipPlot as reason:
                log.info("%s: skipped %s: %s", dataset, title, reason)
                page += [f"- {title}: skipped, {reason}.", ""]
                continue
            for p in paths:
                pdf = p.with_suffix(".pdf")
                if pdf.is_file():
                    shutil.copy(pdf, paper / "figures" / f"{safe_name(dataset)}_{pdf.name}")
            page += [f"![{title}]({p.relative_to(out).as_posix()})" for p in paths] + [""]
        problems = [r for r in data.runs if r.status != "finished"]
        if problems:
            page += ["### Diverged or failed runs", "",
                     markdown_table(["run", "status", "error"],
                                    [[r.name, r.status, last_line(r.error)] for r in problems])]
        found += findings(comp, style, contrast, ALPHA)
    (paper / "findings.md").write_text("# Findings\n\n" + "\n".join(found) + "\n")
    report = out / "report.md"
    report.write_text("\n".join(page))
    return report
