"""findings.md: what the runs of one data set show, in sentences with numbers and intervals, generated from
the comparison (analysis.compare), the prompts' spread (analysis.sensitivity) and paired bootstraps. Every
claim of a difference carries its interval and p, and the differences that are not significant are listed."""

from __future__ import annotations

from collections.abc import Callable

from .compare import Comparison, Row
from .runs import method_name
from .sensitivity import prompt_spread
from .significance import Bootstrap
from .stats import higher_is_better
from .tables import Style


def _stat(row: Row, split: str, metric: str, style: Style) -> str:
    stats = getattr(row.summary, split)
    if metric not in stats:
        return "n/a"
    s = stats[metric]
    spread = f" ± {style.number(s.std)}" if s.n > 1 else ""
    return f"{style.number(s.mean)}{spread} (n={s.n})"


def _name(row: Row) -> str:
    return row.label if row.prompt == "-" else f"{row.label} with prompt `{row.prompt}`"


def _delta(b: Bootstrap | None, style: Style, alpha: float) -> str:
    if b is None:
        return "no aligned test predictions, not tested"
    verdict = "significant" if b.p < alpha else "not significant"
    return (f"Δ = {style.number(b.delta)}, 95% CI [{style.number(b.low)}, {style.number(b.high)}], "
            f"p {'< 0.001' if b.p < 0.001 else f'= {b.p:.3f}'}, {verdict} (paired bootstrap over {b.n} test examples)")


def findings(comp: Comparison, style: Style, contrast: Callable[[Row, Row], Bootstrap | None],
             alpha: float) -> list[str]:
    data, rows = comp.data, comp.rows
    if not rows:
        return []
    metric = data.metric
    unit = f"{metric} ×100" if style.scale == 100 else metric
    out = [f"## {data.task}", "", f"Metric: {unit}; mean ± std over n seeds, each method at its best setting by "
           f"mean dev {metric}.", ""]
    best_dev = max(rows, key=lambda r: r.summary.dev[metric].mean)
    interval = f", test 95% CI [{style.number(best_dev.interval[0])}, {style.number(best_dev.interval[1])}]" \
        if best_dev.interval else ""
    out.append(f"- Best on dev: {_name(best_dev)}: dev {_stat(best_dev, 'dev', metric, style)}, test "
               f"{_stat(best_dev, 'test', metric, style)}{interval}.")
    for method in data.methods:
        spread = prompt_spread(data, method)
        if spread is None:
            continue
        sign = 1 if higher_is_better(metric) else -1
        best = max(spread.prompts, key=lambda p: sign * spread.dev[spread.prompts.index(p)])  # first of ties
        worst = min(spread.prompts, key=lambda p: sign * spread.dev[spread.prompts.index(p)])
        order = [(spread.dev[spread.prompts.index(worst)], worst), (spread.dev[spread.prompts.index(best)], best)]
        seeds = (f"; the dev-best prompt is best on test in {spread.best_per_seed.count(best)} of "
                 f"{len(spread.seeds)} seeds, Kendall τ between seeds {spread.tau:.2f}"
                 if spread.seeds and spread.tau is not None else "")
        noise = f" against a mean seed std of {style.number(spread.seed_std)}" if spread.seed_std is not None else ""
        out.append(f"- Prompts ({method_name(method)}, {len(spread.prompts)} prompts): dev from "
                   f"{style.number(order[0][0])} (`{order[0][1]}`) to {style.number(order[-1][0])} "
                   f"(`{order[-1][1]}`), std across prompts {style.number(spread.std)}{noise}{seeds}.")

    def best_of(methods: set[str]) -> Row | None:
        found = [r for r in rows if r.method in methods]
        return max(found, key=lambda r: r.summary.dev[metric].mean) if found else None

    def versus(title: str, a: Row | None, b: Row | None) -> None:
        if a is None or b is None or a is b:
            return
        out.append(f"- {title}: {_name(a)} test {_stat(a, 'test', metric, style)} vs {_name(b)} "
                   f"{_stat(b, 'test', metric, style)}: {_delta(contrast(a, b), style, alpha)}.")

    versus("Prompt vs linear head", best_of({"cloze", "ptuning_v2"}), best_of({"classifier"}))
    versus("PEFT vs full fine-tuning", best_of({"ptuning_v2"}), best_of({"cloze"}))
    versus("PEFT vs full fine-tuning (linear head)", best_of({"classifier_ptuning_v2"}), best_of({"classifier"}))
    versus("PEFT vs full fine-tuning (generation)", best_of({"seq2seq_ptuning_v2"}), best_of({"seq2seq"}))
    glm = best_of({r.method for r in rows if r.first("family") == "glm"})
    for row in rows:
        if row.first("family") not in (None, "glm"):
            versus(f"GLM vs {row.label}", glm, row)
    ref = comp.reference
    if ref is not None:
        same = [r for r in rows if r.versus is not None and r.versus.p >= alpha]
        untested = [r for r in rows if r is not ref and r.versus is None]
        if same:
            out.append(f"- Not significantly different from the reference {_name(ref)} (p ≥ {alpha}): "
                       + "; ".join(f"{_name(r)} ({_delta(r.versus, style, alpha)})" for r in same) + ".")
        if untested:
            out.append("- Without aligned test predictions, not tested: " + ", ".join(map(_name, untested)) + ".")
    n_seeds = sorted({len(r.summary.seeds) for r in rows})
    if n_seeds and n_seeds[0] < 3:
        out.append(f"- Caution: rows have {', '.join(map(str, n_seeds))} seed(s); a std from two seeds is a rough "
                   "estimate, and the intervals above cover test-example noise, not seed noise.")
    return out + [""]
