"""A sweep's summary: the best setting by mean dev metric over seeds, test mean ± std there, every setting
ranked, and the trials that diverged or failed (`summary.json`, `summary.md` in the sweep folder)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.rundir import RunDirError, atomic_write_text, load_run, write_json

from .runner import TrialRecord
from .stats import Outcome, SettingSummary, Stat, summarize
from .sweep import LABEL, Sweep, key_rank
from .tables import last_line, markdown_table

log = logging.getLogger("grid_search")


def summarize_sweep(sweep: Sweep, records: Mapping[str, TrialRecord]) -> dict[str, Any]:
    """Pick the best setting by mean dev metric over seeds and write summary.json and summary.md."""
    ours = [records[t.trial_id] for t in sweep.trials if t.trial_id in records]
    metrics = sorted({r.validation_metric for r in ours if r.status == "finished" and r.validation_metric})
    if len(metrics) > 1:
        log.warning("trials disagree on the validation metric (%s); selecting by %s", metrics, metrics[0])
    metric = metrics[0] if metrics else None
    outcomes = [Outcome(name=r.trial_id, setting=tuple(sorted((k, v) for k, v in r.params.items()
                                                              if k != "seed")),
                        seed=r.params.get("seed"), status=r.status, dev=r.dev or {}, test=r.test)
                for r in ours]
    ranked = summarize(outcomes, metric) if metric else []
    best = ranked[0] if ranked and metric in ranked[0].dev else None
    # A sweep over several methods (a zip group of drivers and heads) has a best setting per method too: the
    # method is each run's recorded identity, never one of the swept values.
    methods = {r.trial_id: _method(r) for r in ours}
    per_method = {}
    for method in sorted({m for m in methods.values() if m}):
        own = summarize([o for o in outcomes if methods.get(o.name) == method], metric) if metric else []
        if own and metric in own[0].dev:
            per_method[method] = own[0].to_json()
    counts = {status: sum(r.status == status for r in ours) for status in ("finished", "diverged", "failed")}
    summary = {"sweep": sweep.name, "validation_metric": metric, "trials": len(sweep.trials), **counts,
               "not_run": len(sweep.trials) - len(ours),
               "best": best.to_json() if best else None,
               "best_per_method": per_method,
               "settings": [s.to_json() for s in ranked],
               "problems": [{"trial": r.trial_id, "status": r.status, "error": r.error}
                            for r in ours if r.status != "finished"]}
    write_json(sweep.folder / "summary.json", summary)
    atomic_write_text(sweep.folder / "summary.md", _summary_markdown(summary, ranked, metric))
    return summary


def _method(record: TrialRecord) -> str | None:
    try:
        return load_run(Path(record.run_dir)).identity.method
    except RunDirError:
        return None


def setting_text(setting: Mapping[str, Any], hidden: frozenset[str] = frozenset()) -> str:
    return ", ".join(f"{k}={setting[k]}" for k in sorted(setting, key=key_rank) if k not in hidden)


def named_by_label(settings: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Keys a zip group's `_label` already names: they differ between settings, but their value follows from the
    label (the driver, head and model path of a method), so tables show the label instead of them."""
    labelled = [s for s in settings if LABEL in s]
    if not labelled:
        return frozenset()
    keys = {k for s in labelled for k in s} - {LABEL}
    return frozenset(k for k in keys
                     if len({repr(s.get(k)) for s in labelled}) > 1  # a value shared by all stays in view
                     and all(len({repr(s.get(k)) for s in labelled if s[LABEL] == label}) == 1
                             for label in {s[LABEL] for s in labelled}))


def best_line(summary: Mapping[str, Any]) -> str | None:
    """One line for the log: the best setting with its dev and test mean ± std (None without a best)."""
    best = summary["best"]
    if not best:
        return None
    metric = summary["validation_metric"]
    tests = "; ".join(f"test {m} {Stat(**s)}" for m, s in best["test"].items())
    return (f"best {setting_text(best['setting'])}: dev {metric} {Stat(**best['dev'][metric])}; "
            f"{tests or 'no test results'}")


def _summary_markdown(summary: Mapping[str, Any], ranked: Sequence[SettingSummary], metric: str | None) -> str:
    lines = [f"# Sweep `{summary['sweep']}`", "",
             f"{summary['trials']} trials: {summary['finished']} finished, {summary['diverged']} diverged, "
             f"{summary['failed']} failed, {summary['not_run']} not run.", ""]
    best = ranked[0] if summary["best"] else None
    hidden = named_by_label([s.setting for s in ranked])
    if best is None or metric is None:
        lines.append("No finished trial yet, so no best setting.")
    else:
        lines += [f"Best setting by mean dev {metric} over {best.dev[metric].n} seed(s): "
                  f"**{setting_text(best.setting, hidden)}**", "",
                  f"- dev {metric}: {best.dev[metric]}"]
        lines += [f"- test {m}: {s}" for m, s in best.test.items()]
        if len(summary.get("best_per_method") or {}) > 1:
            lines += ["", "## Best setting per method", "",
                      markdown_table(["method", "setting", "seeds", f"dev {metric}", f"test {metric}"],
                                     [[m, setting_text(b["setting"], hidden), len(b["seeds"]), Stat(**b["dev"][metric]),
                                       Stat(**b["test"][metric]) if metric in b["test"] else "-"]
                                      for m, b in summary["best_per_method"].items()]).rstrip()]
        keys = sorted({k for s in ranked for k in s.setting} - hidden, key=key_rank)
        lines += ["", "## All settings (best first)", "",
                  markdown_table([*keys, "seeds", "failed", f"dev {metric}", f"test {metric}"],
                                 [[s.setting.get(k, "") for k in keys] + [len(s.seeds), len(s.failed),
                                   s.dev.get(metric, "-"), s.test.get(metric, "-")] for s in ranked]).rstrip()]
    if summary["problems"]:
        lines += ["", "## Diverged or failed trials", "",
                  markdown_table(["trial", "status", "error"],
                                 [[p["trial"], p["status"], last_line(p["error"])]
                                  for p in summary["problems"]]).rstrip()]
    return "\n".join(lines) + "\n"
