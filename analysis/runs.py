"""Run directories as the report sees them: each run's hyperparameters, status and numbers, grouped by task.

The hyperparameters of a run are its config.json args that differ between the runs of a task, minus
bookkeeping (seed, experiment name, paths): settings are grouped by them and averaged over seeds. The method
comes from the run's identity (training.rundir.RunIdentity), the prompt from pattern_id or prompt.
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from training.rundir import RunDirError, assess, load_run

log = logging.getLogger(__name__)

from .stats import Outcome, SettingSummary, best_setting
from .sweep import key_rank

# config.json args that are bookkeeping, not hyperparameters (they differ between runs of one setting).
# pattern_id and prompt are folded into one "prompt" column.
NOT_HYPERPARAMETERS = frozenset({"seed", "task", "experiment_name", "save", "save_dir", "log_dir", "load",
                                 "local_rank", "pattern_id", "prompt"})
# Flags that choose what is trained (head, PEFT, model family): the run's identity names them in the method
# column, so a sweep over `cloze_eval: [true, false]` compares methods instead of adding a redundant column.
IDENTITY_ARGS = frozenset({"method", "cloze_eval", "ptuning_v2", "baseline", "peft", "lora", "continuous_prompt",
                           "freeze_transformer"})


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
    dev: dict[str, Any]
    test: dict[str, Any] | None


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
            if not children:  # a leftover folder or file among the runs: said, and left out
                log.warning("%s: skipped, neither a run directory nor a folder of run directories (no config.json "
                            "or results.json in it or in its subfolders)", match)
                continue
            found += children
    if not found:
        raise RunDirError(f"{', '.join(patterns)}: neither a run directory nor a folder of run directories (no "
                          "config.json or results.json in it or in its subfolders)")
    return list(dict.fromkeys(found))


def _is_run_dir(path: Path) -> bool:
    return (path / "results.json").is_file() or (path / "config.json").is_file()


def prompt_label(args: dict[str, Any]) -> str:
    if args.get("prompt") not in (None, ""):
        return str(args["prompt"])
    return f"pattern {args['pattern_id']}" if "pattern_id" in args else "-"


def _template_name(run_dir: Path) -> str | None:
    """A promptsource run's template name (config.json identity.prompt.name), so tables name prompts by it."""
    try:
        config = json.loads((run_dir / "config.json").read_text())
        identity = config.get("identity") or {}
        if str(identity.get("task", "")).startswith("promptsource:"):
            return str(identity["prompt"]["name"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _plain(value: Any) -> Any:
    """Lists and mappings in args become text so that settings can be grouped on them."""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def load_runs(paths: Sequence[Path], ignore: frozenset[str] = frozenset()) -> list[Run]:
    names = _short_names(paths)
    skip = NOT_HYPERPARAMETERS | IDENTITY_ARGS | ignore
    runs = []
    for path in paths:
        result = load_run(path)  # a clear error for a directory without results.json
        status, error, _ = assess(path)
        args = result.args
        values = {k: _plain(v) for k, v in args.items() if k not in skip}
        values.update(method=result.identity.method or "-", prompt=_template_name(path) or prompt_label(args))
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
