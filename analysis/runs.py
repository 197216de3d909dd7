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

from training.rundir import RunDirError, RunResult, assess, load_run

log = logging.getLogger(__name__)

from .stats import Outcome, SettingSummary, best_setting
from .sweep import key_rank

PROMPTSOURCE_PREFIX = "promptsource:"

# Readable names of the methods (identity.method) for tables and plots, in the order comparison tables list
# them: GLM first (the prompt-based cloze head, the linear head, PEFT), then the baselines.
METHOD_NAMES = {
    "cloze": "GLM cloze (prompt)", "seq2seq": "GLM fine-tuned", "classifier": "GLM linear head",
    "ptuning_v2": "GLM P-tuning v2 (cloze)", "classifier_ptuning_v2": "GLM P-tuning v2 (linear head)",
    "seq2seq_ptuning_v2": "GLM P-tuning v2",
    "lora": "GLM LoRA (cloze)", "seq2seq_lora": "GLM LoRA", "classifier_lora": "GLM LoRA (linear head)",
    "ptuning": "GLM P-tuning (cloze)", "prompt_tuning": "GLM prompt tuning (cloze)",
    "roberta_linear": "RoBERTa linear head", "bart_linear": "BART linear head", "bart": "BART", "t5": "T5",
}
FAMILY_ORDER = ("glm", "roberta", "bart", "t5")


def method_name(method: str) -> str:
    return METHOD_NAMES.get(method, method)


def method_rank(method: str, family: str | None) -> tuple:
    known = list(METHOD_NAMES)
    family_rank = FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)
    return (family_rank, known.index(method) if method in known else len(known), method)


def dataset_name(task: str) -> str:
    """The data set a task reads: `promptsource:ag_news` and `ag_news` are one data set, compared in one table."""
    name = task.strip()
    if name.lower().startswith(PROMPTSOURCE_PREFIX):
        name = name[len(PROMPTSOURCE_PREFIX):]
    return name.lower()


@dataclass(frozen=True)
class Run:
    name: str
    path: Path
    task: str  # the task as the driver was given it
    dataset: str  # dataset_name(task): what reports group on
    status: str  # finished | diverged | failed
    error: str | None
    metric: str | None
    seed: Any
    values: dict[str, Any]  # the recorded hyperparameters, plus "method" and "prompt"
    has_args: bool  # False for a run that failed before writing config.json
    dev: dict[str, Any]
    test: dict[str, Any] | None
    family: str | None = None
    kind: str | None = None  # classification | generation
    prompt_text: str | None = None
    params_total: int | None = None
    params_trainable: int | None = None
    cost: dict[str, Any] | None = None

    @property
    def method(self) -> str:
        return self.values["method"]

    @property
    def prompt(self) -> str:
        return self.values["prompt"]


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


def prompt_label(result: RunResult) -> tuple[str, str | None]:
    """The prompt a run's input depends on, and its text: the cloze pattern or generation prompt, the
    promptsource template a linear head or baseline reads its input through; "-" for a linear head or baseline
    on plain texts (it reads no prompt, whatever --pattern-id says)."""
    args, identity = result.args, result.identity
    plain = identity.head in ("classifier", "linear", "text_to_text") and \
        not str(result.task or "").lower().startswith(PROMPTSOURCE_PREFIX)
    if identity.family is not None and identity.family != "glm" and identity.prompt is None:
        plain = True
    if plain or (identity.method == "classifier" and identity.head is None and not args.get("prompt")):
        return "-", None
    if identity.prompt is not None:
        name = identity.prompt.get("name")
        return (str(name) if name not in (None, "") else f"prompt {identity.prompt.get('id')}"), \
            identity.prompt.get("text")
    if args.get("prompt") not in (None, ""):
        return str(args["prompt"]), None
    return (f"p{args['pattern_id']}" if "pattern_id" in args else "-"), None


def _plain(value: Any) -> Any:
    """Lists and mappings in args become text so that settings can be grouped on them."""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """The runs of these directories. Their hyperparameters are what the drivers recorded as such (see
    training.rundir.HYPERPARAMETER_ARGS): identity flags (--baseline, --model-name-or-path, --ptuning-v2,
    prompt choice) and bookkeeping never become grid axes, so mixing drivers needs no list of flags to ignore."""
    names = _short_names(paths)
    runs = []
    for path in paths:
        result = load_run(path)  # a clear error for a directory without results.json
        status, error, _ = assess(path)
        values = {k: _plain(v) for k, v in (result.hyperparameters or {}).items()}
        prompt, text = prompt_label(result)
        values.update(method=result.identity.method or "-", prompt=prompt)
        task = str(result.task or "unknown")
        runs.append(Run(name=names[path], path=path, task=task, dataset=dataset_name(task), status=status,
                        error=error, metric=result.validation_metric, seed=result.args.get("seed"), values=values,
                        has_args=bool(result.args), dev=result.dev, test=result.test,
                        family=result.identity.family or ("glm" if result.args else None), kind=result.kind,
                        prompt_text=text, params_total=result.identity.params_total,
                        params_trainable=result.identity.params_trainable, cost=result.cost))
    return runs


def _short_names(paths: Sequence[Path]) -> dict[Path, str]:
    """`sweep/trial` names (the last two path parts) for tables; full paths if those would collide."""
    short = {p: "/".join(p.resolve().parts[-2:]) for p in paths}
    if len(set(short.values())) < len(short):
        return {p: str(p) for p in paths}
    return short


@dataclass
class TaskData:
    """The runs of one data set, across drivers and tasks that read it."""

    task: str  # the data set's name
    metric: str
    runs: list[Run]
    keys: list[str]  # what settings are grouped on: method, prompt, then every hyperparameter that varies
    kind: str = "classification"
    tasks: tuple[str, ...] = ()  # the task names its runs were given

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
        rows = [{**{k: r.values.get(k) for k in self.keys}, "seed": r.seed, "dev": float(r.dev[self.metric]),
                 **{f"test {m}": v for m, v in (r.test or {}).items()}} for r in self.finished]
        return pd.DataFrame(rows)

    def by_name(self, names: Sequence[str]) -> list[Run]:
        wanted = set(names)
        return [r for r in self.runs if r.name in wanted]

    @property
    def methods(self) -> list[str]:
        """The methods with finished runs, GLM first (method_rank)."""
        family = {r.method: r.family for r in self.runs}
        return sorted({r.method for r in self.finished}, key=lambda m: method_rank(m, family.get(m)))

    def axes(self, method: str) -> list[str]:
        """The hyperparameters (and "prompt") that take more than one value among a method's finished runs."""
        own = [r for r in self.finished if r.method == method]
        return [k for k in self.keys if k != "method" and len({repr(r.values.get(k)) for r in own}) > 1]

    def prompt_texts(self) -> dict[str, str]:
        return {r.prompt: r.prompt_text for r in self.runs if r.prompt_text}


def task_data(task: str, runs: list[Run]) -> TaskData:
    """The data set `task` from its runs. They may have selected checkpoints by different dev metrics (a GLM run
    by rougeL, a baseline by its task's first metric): the report then compares them on the metric most of them
    chose, which every run's dev results hold."""
    chosen = [r.metric for r in runs if r.status == "finished" and r.metric]
    if not chosen:
        raise RunDirError(f"data set {task!r}: none of its {len(runs)} run(s) finished, nothing to report "
                          f"(first: {runs[0].path})")
    metric = max(sorted(set(chosen)), key=chosen.count)
    missing = [r for r in runs if r.status == "finished" and metric not in r.dev]
    if missing:
        raise RunDirError(f"data set {task!r}: {missing[0].path} has no dev {metric!r}, which the other runs select "
                          f"by; report them separately")
    # An axis is what varies among one method's runs: a hyperparameter that only differs between methods (the
    # linear head's dropout, a baseline's own default) is part of what the method is, not a grid dimension.
    varying: set[str] = set()
    for method in {r.values["method"] for r in runs if r.has_args}:
        own = [r for r in runs if r.has_args and r.values["method"] == method]
        varying |= {k for r in own for k in r.values if len({repr(o.values.get(k)) for o in own}) > 1}
    keys = ["method", "prompt", *sorted(varying - {"method", "prompt"}, key=key_rank)]
    kinds = {r.kind for r in runs if r.kind}
    kind = "generation" if "generation" in kinds or any("rouge" in m for m in chosen) else "classification"
    return TaskData(task=task, metric=metric, runs=runs, keys=keys, kind=kind,
                    tasks=tuple(sorted({r.task for r in runs})))


def reported_test_metrics(data: TaskData) -> list[str]:
    """The test metrics every finished run reports, the selection metric first; identical columns (rouge and
    rougeL of one implementation) are shown once."""
    finished = [r for r in data.finished if r.test]
    if not finished:
        return []
    names = set.intersection(*({m for m in r.test} for r in finished))
    ordered = sorted(names, key=lambda m: (m != data.metric, m))
    kept: list[str] = []
    for m in ordered:
        if any(all(r.test[m] == r.test[k] for r in finished) for k in kept):
            continue
        kept.append(m)
    return kept


def best_per_method_and_prompt(data: TaskData) -> list[SettingSummary]:
    """Each method and prompt at its best setting, GLM first, prompts in order of name."""
    pairs = sorted({(r.method, r.prompt) for r in data.finished},
                   key=lambda mp: (data.methods.index(mp[0]), str(mp[1])))
    best = [best_setting(data.outcomes(method=m, prompt=p), data.metric) for m, p in pairs]
    return [b for b in best if b is not None]
