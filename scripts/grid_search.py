"""Hyperparameter grid search over the fine-tuning driver.

A sweep spec (YAML or JSON) names the flags to sweep; every combination becomes a trial with a stable id,
run as its own subprocess of the normal driver into its own run directory (`<save_dir>/<sweep>/<trial-id>/`).
The run directories stay the single source of truth: a trial whose results.json says `finished` is never run
again, so a sweep can be killed at any moment and simply started again. After every trial the sweep's
records (`grid_records.json`) are rewritten atomically, and at the end the best setting is chosen by its mean
dev metric over seeds and reported with test mean ± std (`summary.json`, `summary.md`).

    python scripts/grid_search.py --spec config_tasks/grid_demo.yaml
    python scripts/grid_search.py --spec config_tasks/grid_superglue_style.yaml --name rte_grid \\
        --gpus 0,1,2,3 -- --task rte --data-dir data/rte
    python scripts/grid_search.py --name quick --set lr=1e-5,2e-5 --set seed=1,2 --dry-run -- --task ag_news

Spec keys: `name`, `description`, `save_dir`, `command`, `base_args`, `grid`. Grid and base_args keys are
flag dest names (`batch_size`) or flags spelled out (`--deepspeed_config`); values are numbers, strings or
booleans (true adds a store_true flag, false leaves it out). `--set key=v1,v2` adds or replaces a grid axis.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import queue
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.rundir import atomic_write_text  # noqa: E402

import yaml
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

log = logging.getLogger("grid_search")

Scalar = str | int | float | bool

SPEC_KEYS = ("name", "description", "save_dir", "command", "base_args", "grid")
DEFAULT_COMMAND = ("{launcher}", "finetune_glm.py", "{base_args}", "{trial_args}",
                   "--experiment-name", "{experiment}", "--save-dir", "{save_dir}")
# Trial-id components in this order (then any other key alphabetically, the seed last), so that an id does
# not depend on how the spec happens to order its keys.
ID_ORDER = {"lr": "lr", "batch_size": "bs", "epochs": "ep", "warmup": "wu", "weight_decay": "wd",
            "pattern_id": "p", "prompt": "pr", "method": "m"}
RECORDS_FILE = "grid_records.json"
STDERR_TAIL_LINES = 20
DEEPSPEED_BASE_PORT = 29500


class SpecError(ValueError):
    """A sweep spec that cannot be expanded; the message names the file and the key."""


class RunDirError(ValueError):
    """A run directory that does not follow the run-directory contract; the message names the file."""


# ----------------------------------------------------------------------------------------------------------
# Spec -> trials


@dataclass(frozen=True)
class Trial:
    """One point of the grid: its id, its swept values by dest name, and the flags that set them."""

    trial_id: str
    params: dict[str, Scalar]
    args: tuple[str, ...]

    @property
    def setting(self) -> dict[str, Scalar]:
        """The hyperparameters other than the seed: trials sharing a setting are averaged over seeds."""
        return {k: v for k, v in self.params.items() if k != "seed"}


@dataclass(frozen=True)
class Sweep:
    name: str
    save_dir: Path
    command: tuple[str, ...]
    base_args: tuple[str, ...]
    trials: tuple[Trial, ...]

    @property
    def folder(self) -> Path:
        return self.save_dir / self.name

    def run_dir(self, trial: Trial) -> Path:
        return self.folder / trial.trial_id

    def command_for(self, trial: Trial, launcher: Sequence[str]) -> list[str]:
        """The driver's argv for a trial: the template with its placeholders filled in."""
        fill = {"{experiment}": f"{self.name}/{trial.trial_id}", "{save_dir}": str(self.save_dir),
                "{run_dir}": str(self.run_dir(trial))}
        argv: list[str] = []
        for part in self.command:
            if part == "{launcher}":
                argv += launcher
            elif part == "{base_args}":
                argv += self.base_args
            elif part == "{trial_args}":
                argv += trial.args
            else:
                for placeholder, value in fill.items():
                    part = part.replace(placeholder, value)
                argv.append(part)
        return argv


def dest_and_flag(key: str) -> tuple[str, str]:
    """`batch_size` and `--batch-size` both mean dest `batch_size`; a key spelled as a flag is kept verbatim
    because a few upstream flags (`--deepspeed_config`) use underscores."""
    if key.startswith("--"):
        return key[2:].replace("-", "_"), key
    return key.replace("-", "_"), "--" + key.replace("_", "-")


def to_scalar(value: Any, where: str) -> Scalar:
    """Numbers written as strings become numbers: PyYAML reads `1e-5` as a string, and the trial id and the
    grouping must not depend on how a number was spelled."""
    if isinstance(value, bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"{where}: {value!r} is not a usable value")
        return value
    if isinstance(value, str) and value:
        for parse in (int, float):
            try:
                number = parse(value)
            except ValueError:
                continue
            if math.isfinite(number):
                return number
        return value
    raise SpecError(f"{where}: expected a number, a non-empty string or a boolean, "
                    f"got {type(value).__name__} {value!r}")


def flag_tokens(flag: str, value: Scalar) -> list[str]:
    if value is True:
        return [flag]
    if value is False:
        return []
    return [flag, str(value)]


def _id_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)  # the shortest exact spelling: 1e-05, 0.0003
    # "-" separates components and "/" would nest folders: strings keep only letters, digits and "._+".
    return "".join(c if c.isalnum() or c in "._+" else "_" for c in value)


def key_rank(key: str) -> tuple:
    """Sort key for hyperparameter names: the ID_ORDER names first, then the rest alphabetically, seed last."""
    return (key == "seed", key not in ID_ORDER, list(ID_ORDER).index(key) if key in ID_ORDER else 0, key)


def trial_id(params: Mapping[str, Scalar]) -> str:
    """A short name such as `lr1e-05-bs8-ep3-p0-s1234`, the same whatever order the spec lists its keys."""
    short = {**ID_ORDER, "seed": "s"}
    return "-".join(f"{short.get(k, k)}{_id_value(params[k])}" for k in sorted(params, key=key_rank))


def _axis_values(values: Any, where: str) -> list[Scalar]:
    items = values if isinstance(values, list) else [values]
    if not items:
        raise SpecError(f"{where}: the list of values is empty")
    scalars = [to_scalar(v, where) for v in items]
    if len(set(map(repr, scalars))) != len(scalars):
        raise SpecError(f"{where}: a value is listed twice: {scalars}")
    return scalars


def parse_set(items: Iterable[str]) -> dict[str, list[Scalar]]:
    """`--set lr=1e-5,2e-5` -> {"lr": [1e-05, 2e-05]}; `true`/`false` become booleans."""
    axes: dict[str, list[Scalar]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key:
            raise SpecError(f"--set {item!r}: expected key=value1,value2,...")
        words = [{"true": True, "false": False}.get(w.strip().lower(), w.strip()) for w in values.split(",")]
        axes[key] = _axis_values(words, f"--set {key}")
    return axes


def load_spec(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text())  # JSON is YAML too
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the sweep spec ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: a sweep spec must be a mapping with a 'grid' key")
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        raise SpecError(f"{path}: unknown key {unknown[0]!r} (known keys: {', '.join(SPEC_KEYS)})")
    return spec


def build_sweep(spec: Mapping[str, Any], source: str, *, overrides: Mapping[str, list[Scalar]] | None = None,
                extra_args: Sequence[str] = (), name: str | None = None,
                save_dir: str | None = None) -> Sweep:
    """Expand a spec (plus `--set` axes and extra driver flags) into trials, checking everything that would
    otherwise surface as a confusing failure halfway through a long sweep."""
    sweep_name = name or spec.get("name")
    if not sweep_name or not isinstance(sweep_name, str):
        raise SpecError(f"{source}: the sweep needs a name (spec key 'name' or --name)")

    command = spec.get("command", DEFAULT_COMMAND)
    if not isinstance(command, list | tuple) or not all(isinstance(p, str) for p in command):
        raise SpecError(f"{source}: key 'command' must be a list of strings")
    for needed in ("{trial_args}", "{experiment}"):
        if not any(needed in part for part in command):
            raise SpecError(f"{source}: key 'command' lacks {needed}; without it trials would share a run")

    raw_grid = spec.get("grid") or {}
    if not isinstance(raw_grid, dict):
        raise SpecError(f"{source}: key 'grid' must be a mapping of flag -> list of values")
    axes: dict[str, tuple[str, list[Scalar]]] = {}
    for key, values in [*raw_grid.items(), *(overrides or {}).items()]:
        dest, flag = dest_and_flag(str(key))
        axes[dest] = (flag, _axis_values(values, f"{source}: grid key {key!r}"))
    if not axes:
        raise SpecError(f"{source}: the grid is empty; give at least one key under 'grid' or a --set")

    base_args = _base_args(spec.get("base_args"), source, axes)
    swept_flags = {flag for flag, _ in axes.values()}
    overridden = [tok for tok in extra_args if tok.split("=")[0] in swept_flags]
    if overridden:
        raise SpecError(f"{source}: {overridden[0].split('=')[0]} is swept by the grid and also given after "
                        "'--'; the grid's value would win silently")
    dests = sorted(axes)
    trials = []
    for combo in product(*(axes[d][1] for d in dests)):
        params = dict(zip(dests, combo))
        args = tuple(tok for d in dests for tok in flag_tokens(axes[d][0], params[d]))
        trials.append(Trial(trial_id(params), params, args))
    trials.sort(key=lambda t: _order_key(t.params, axes))
    ids = [t.trial_id for t in trials]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise SpecError(f"{source}: different grid points give the same trial id {clashes[0]!r}; "
                        "rename the string values so that they differ in letters or digits")
    return Sweep(name=sweep_name, save_dir=Path(save_dir or spec.get("save_dir") or "runs"),
                 command=tuple(command), base_args=(*base_args, *extra_args), trials=tuple(trials))


def _order_key(params: Mapping[str, Scalar], axes: Mapping[str, tuple[str, list[Scalar]]]) -> tuple:
    """Run trials in id-component order with values in the order the spec lists them: all seeds of the first
    setting come first, so an early look at the records already shows a complete mean ± std."""
    return tuple(axes[k][1].index(params[k]) for k in sorted(params, key=key_rank))


def _base_args(raw: Any, source: str, axes: Mapping[str, Any]) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        if not all(isinstance(tok, str | int | float) and not isinstance(tok, bool) for tok in raw):
            raise SpecError(f"{source}: key 'base_args' as a list must hold command-line tokens (strings)")
        return [str(tok) for tok in raw]
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: key 'base_args' must be a mapping of flag -> value or a list of tokens")
    tokens: list[str] = []
    for key, value in raw.items():
        dest, flag = dest_and_flag(str(key))
        if dest in axes:
            raise SpecError(f"{source}: key {key!r} is both in base_args and in the grid")
        tokens += flag_tokens(flag, to_scalar(value, f"{source}: base_args key {key!r}"))
    return tokens


# ----------------------------------------------------------------------------------------------------------
# Reading run directories (shared with report.py)


@dataclass(frozen=True)
class RunResult:
    """What a run directory's results.json and config.json say."""

    run_dir: Path
    status: str
    task: str | None
    validation_metric: str | None
    dev: dict[str, float]
    test: dict[str, float] | None
    error: str | None
    args: dict[str, Any]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunDirError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from exc


def load_run(run_dir: Path) -> RunResult:
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise RunDirError(f"{results_path}: not found; {run_dir} is not a (finished or failed) run directory")
    results = _read_json(results_path)
    if not isinstance(results, dict) or results.get("status") not in ("finished", "running", "failed"):
        raise RunDirError(f"{results_path}: key 'status' must be 'finished', 'running' or 'failed'")
    best = results.get("best") or {}
    dev = best.get("dev") or {}
    config_path = run_dir / "config.json"
    if config_path.is_file():
        args = _read_json(config_path).get("args")
        if not isinstance(args, dict):
            raise RunDirError(f"{config_path}: key 'args' must be a mapping of the resolved flags")
    elif results["status"] == "failed":
        args = {}  # a driver that died while parsing its flags never wrote one
    else:
        raise RunDirError(f"{config_path}: not found, but {results_path} says {results['status']!r}")
    return RunResult(run_dir=run_dir, status=results["status"], task=results.get("task") or args.get("task"),
                     validation_metric=results.get("validation_metric"), dev=dict(dev),
                     test=results.get("test"), error=results.get("error"), args=args)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The events of metrics.jsonl ([] when the file is absent)."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    events = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return events


def _is_bad_number(value: Any) -> bool:
    """NaN/inf, as a float or as the string ("nan", "inf") that the driver writes because JSON has neither."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, float) and not math.isfinite(value)


def assess(run_dir: Path) -> tuple[str, str | None, RunResult | None]:
    """(status, error, run): `finished`, `diverged` (a NaN/inf loss or metric) or `failed`.

    A run whose best dev point came before its loss blew up still counts as diverged: its numbers would
    otherwise sit in a table beside stable runs as if nothing had happened."""
    try:
        run = load_run(run_dir)
        events = read_metrics(run_dir)
    except RunDirError as exc:
        return "failed", str(exc), None
    if run.status != "finished":
        return "failed", run.error or f"results.json says status {run.status!r}", run
    for event in events:
        if event.get("event") == "train" and _is_bad_number(event.get("loss")):
            return "diverged", f"train loss is {event['loss']} at step {event.get('step')}", run
    for split, metrics in (("dev", run.dev), ("test", run.test or {})):
        for metric, value in metrics.items():
            if _is_bad_number(value):
                return "diverged", f"{split} {metric} is {value}", run
    if not run.validation_metric or run.validation_metric not in run.dev:
        return "failed", f"results.json has no best dev value for {run.validation_metric!r}", run
    return "finished", None, run


# ----------------------------------------------------------------------------------------------------------
# Selection: best setting by mean dev metric over seeds (shared with report.py)


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float  # sample standard deviation over seeds; 0.0 for a single seed (n says so)
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f}"


def mean_std(values: Sequence[float]) -> Stat:
    return Stat(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


@dataclass(frozen=True)
class Outcome:
    """One run as selection sees it: its setting (hyperparameters without the seed) and its numbers."""

    name: str
    setting: tuple[tuple[str, Any], ...]
    seed: Any
    status: str
    dev: Mapping[str, float] = field(default_factory=dict)
    test: Mapping[str, float] | None = None


@dataclass(frozen=True)
class SettingSummary:
    setting: dict[str, Any]
    runs: list[str]
    seeds: list[Any]
    failed: list[str]
    dev: dict[str, Stat]
    test: dict[str, Stat]


def higher_is_better(metric: str) -> bool:
    return not ("loss" in metric or metric in ("ppl", "perplexity"))


def _aggregate(dicts: list[Mapping[str, float]]) -> dict[str, Stat]:
    """Mean ± std of every metric that all runs report, so that each mean has the same n."""
    if not dicts:
        return {}
    common = [m for m in dicts[0] if all(m in d for d in dicts)]
    return {m: mean_std([float(d[m]) for d in dicts]) for m in common}


def summarize(outcomes: Iterable[Outcome], metric: str) -> list[SettingSummary]:
    """Group runs by setting, best mean dev `metric` first; settings without a finished run come last."""
    groups: dict[tuple, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.setting, []).append(outcome)
    summaries = []
    for setting, members in groups.items():
        done = [o for o in members if o.status == "finished"]
        tested = [o.test for o in done if o.test]
        summaries.append(SettingSummary(
            setting=dict(setting), runs=[o.name for o in done], seeds=[o.seed for o in done],
            failed=[o.name for o in members if o.status != "finished"],
            dev=_aggregate([o.dev for o in done]), test=_aggregate(tested)))
    sign = -1.0 if higher_is_better(metric) else 1.0

    def rank(s: SettingSummary) -> tuple:
        return (metric not in s.dev, sign * s.dev[metric].mean if metric in s.dev else 0.0, repr(s.setting))

    return sorted(summaries, key=rank)


def best_setting(outcomes: Iterable[Outcome], metric: str) -> SettingSummary | None:
    ranked = summarize(outcomes, metric)
    return ranked[0] if ranked and metric in ranked[0].dev else None


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------
# Running trials


@dataclass(frozen=True)
class Slot:
    """Where one trial runs: no devices (inherit the environment), one GPU, or several through deepspeed."""

    devices: tuple[str, ...] = ()
    port: int = DEEPSPEED_BASE_PORT

    def launcher(self) -> list[str]:
        if len(self.devices) > 1:
            # Each slot gets its own rendezvous port: trials side by side must not join each other's group.
            return ["deepspeed", "--include", f"localhost:{','.join(self.devices)}",
                    "--master_port", str(self.port)]
        return [sys.executable]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if len(self.devices) == 1:
            env["CUDA_VISIBLE_DEVICES"] = self.devices[0]
        return env


def make_slots(gpus: str | None, gpus_per_trial: int) -> list[Slot]:
    if gpus_per_trial < 1:
        raise SpecError(f"--gpus-per-trial must be at least 1, got {gpus_per_trial}")
    if not gpus:
        if gpus_per_trial > 1:
            raise SpecError("--gpus-per-trial above 1 needs --gpus to list the devices")
        return [Slot()]
    devices = [d.strip() for d in gpus.split(",") if d.strip()]
    if len(devices) % gpus_per_trial:
        raise SpecError(f"--gpus lists {len(devices)} devices, which do not split into trials of "
                        f"{gpus_per_trial}")
    return [Slot(tuple(devices[i:i + gpus_per_trial]), DEEPSPEED_BASE_PORT + i // gpus_per_trial)
            for i in range(0, len(devices), gpus_per_trial)]


@dataclass
class TrialRecord:
    trial_id: str
    params: dict[str, Scalar]
    status: str  # finished | diverged | failed
    run_dir: str
    command: list[str] | None = None
    returncode: int | None = None
    seconds: float | None = None
    validation_metric: str | None = None
    dev: dict[str, float] | None = None
    test: dict[str, float] | None = None
    error: str | None = None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file and rename it over the target: a reader (or a killed sweep) sees the old
    file or the new one, never half of one."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def load_records(folder: Path) -> dict[str, TrialRecord]:
    path = folder / RECORDS_FILE
    if not path.is_file():
        return {}
    data = _read_json(path)
    try:
        return {r["trial_id"]: TrialRecord(**r) for r in data["trials"]}
    except (KeyError, TypeError) as exc:
        raise RunDirError(f"{path}: not a grid records file ({exc})") from exc


def _record(trial: Trial, run_dir: Path, *, returncode: int | None = None, stderr_tail: str = "",
            **fields: Any) -> TrialRecord:
    status, error, run = assess(run_dir)
    if returncode not in (None, 0):
        # A driver that exits with an error is not trusted even if it wrote results first.
        how = f"exit code {returncode}" if returncode > 0 else f"killed by {signal.Signals(-returncode).name}"
        if returncode == -signal.SIGKILL:
            how += " (often the out-of-memory killer)"
        status, error = "failed", f"{how}: {stderr_tail or error or 'no stderr'}"
    return TrialRecord(trial_id=trial.trial_id, params=dict(trial.params), status=status, run_dir=str(run_dir),
                       returncode=returncode, validation_metric=run.validation_metric if run else None,
                       dev=run.dev if run else None, test=run.test if run else None, error=error, **fields)


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _mark_failed(run_dir: Path, error: str) -> None:
    """Leave the run directory saying `failed` (the contract's status) when the driver could not: a crash
    mid-training leaves `running`, a crash before training leaves nothing."""
    path = run_dir / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        results = {"task": None, "validation_metric": None, "best": None, "test": None}
    if results.get("status") == "failed" and results.get("error"):
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {**results, "status": "failed", "error": error})


def run_trial(sweep: Sweep, trial: Trial, slot: Slot) -> TrialRecord:
    run_dir = sweep.run_dir(trial)
    command = sweep.command_for(trial, slot.launcher())
    logs = sweep.folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{trial.trial_id}.out", logs / f"{trial.trial_id}.err"
    log.info("start %s on %s: %s", trial.trial_id, ",".join(slot.devices) or "default device",
             shlex.join(command))
    start = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        try:
            returncode = subprocess.run(command, stdout=out, stderr=err, env=slot.env()).returncode
        except OSError as exc:  # the launcher itself is missing or not executable
            err.write(f"could not start {command[0]!r}: {exc}\n")
            returncode = 127
    record = _record(trial, run_dir, command=command, returncode=returncode,
                     seconds=round(time.monotonic() - start, 3), stderr_tail=_tail(err_path))
    if record.status == "failed":
        _mark_failed(run_dir, record.error or "failed")
    level = logging.INFO if record.status == "finished" else logging.WARNING
    log.log(level, "%s %s in %.1fs%s", trial.trial_id, record.status, record.seconds,
            f": {record.error}" if record.error else "")
    return record


def run_sweep(sweep: Sweep, slots: Sequence[Slot] = (Slot(),)) -> dict[str, TrialRecord]:
    """Run every trial that has no finished run directory, one per slot at a time, and rewrite the records
    after each; return the records of all trials."""
    sweep.folder.mkdir(parents=True, exist_ok=True)
    records = load_records(sweep.folder)
    lock = threading.Lock()

    def save() -> None:
        order = [t.trial_id for t in sweep.trials]
        ordered = sorted(records.values(), key=lambda r: order.index(r.trial_id) if r.trial_id in order
                         else len(order))
        write_json_atomic(sweep.folder / RECORDS_FILE,
                          {"sweep": sweep.name, "trials": [asdict(r) for r in ordered]})

    todo = []
    for trial in sweep.trials:
        run_dir = sweep.run_dir(trial)
        status, _, _ = assess(run_dir)
        if status == "failed":
            todo.append(trial)
            continue
        previous = records.get(trial.trial_id)
        if previous is None or previous.status != status:
            records[trial.trial_id] = _record(trial, run_dir)
        log.info("skip %s: its run directory says finished (%s)", trial.trial_id, status)
    save()

    free: queue.Queue[Slot] = queue.Queue()
    for slot in slots:
        free.put(slot)
    progress = tqdm(total=len(sweep.trials), initial=len(sweep.trials) - len(todo), desc=sweep.name,
                    unit="trial", file=sys.stderr)

    def work(trial: Trial) -> None:
        slot = free.get()
        try:
            record = run_trial(sweep, trial, slot)
        finally:
            free.put(slot)
        with lock:
            records[trial.trial_id] = record
            save()
            progress.update()

    pool = ThreadPoolExecutor(max_workers=len(slots))
    try:
        for future in as_completed([pool.submit(work, t) for t in todo]):
            future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
    return records


# ----------------------------------------------------------------------------------------------------------
# Summary


def _stats_json(stats: Mapping[str, Stat]) -> dict[str, dict[str, float]]:
    return {m: asdict(s) for m, s in stats.items()}


def _summary_json(s: SettingSummary) -> dict[str, Any]:
    return {"setting": s.setting, "seeds": s.seeds, "runs": s.runs, "failed": s.failed,
            "dev": _stats_json(s.dev), "test": _stats_json(s.test)}


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
    counts = {status: sum(r.status == status for r in ours) for status in ("finished", "diverged", "failed")}
    summary = {"sweep": sweep.name, "validation_metric": metric, "trials": len(sweep.trials), **counts,
               "not_run": len(sweep.trials) - len(ours),
               "best": _summary_json(best) if best else None,
               "settings": [_summary_json(s) for s in ranked],
               "problems": [{"trial": r.trial_id, "status": r.status, "error": r.error}
                            for r in ours if r.status != "finished"]}
    write_json_atomic(sweep.folder / "summary.json", summary)
    (sweep.folder / "summary.md").write_text(_summary_markdown(summary, ranked, metric))
    return summary


def setting_text(setting: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={setting[k]}" for k in sorted(setting, key=key_rank))


def last_line(text: str | None) -> str:
    """The line of an error that says what went wrong (a traceback ends with it)."""
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _summary_markdown(summary: Mapping[str, Any], ranked: Sequence[SettingSummary], metric: str | None) -> str:
    lines = [f"# Sweep `{summary['sweep']}`", "",
             f"{summary['trials']} trials: {summary['finished']} finished, {summary['diverged']} diverged, "
             f"{summary['failed']} failed, {summary['not_run']} not run.", ""]
    best = ranked[0] if summary["best"] else None
    if best is None or metric is None:
        lines.append("No finished trial yet, so no best setting.")
    else:
        lines += [f"Best setting by mean dev {metric} over {best.dev[metric].n} seed(s): "
                  f"**{setting_text(best.setting)}**", "",
                  f"- dev {metric}: {best.dev[metric]}"]
        lines += [f"- test {m}: {s}" for m, s in best.test.items()]
        keys = sorted({k for s in ranked for k in s.setting}, key=key_rank)
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


# ----------------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:  # everything after -- goes to the driver unchanged
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, help="sweep spec (YAML or JSON)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                        help="add or replace a grid axis (repeatable)")
    parser.add_argument("--name", help="sweep name (default: the spec's 'name')")
    parser.add_argument("--save-dir", help="folder of run directories (default: the spec's or 'runs')")
    parser.add_argument("--gpus", help="comma-separated device ids; trials run side by side")
    parser.add_argument("--gpus-per-trial", type=int, default=1,
                        help="above 1, each trial is launched with deepspeed on that many of --gpus")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and run nothing")
    return parser.parse_args(argv), extra


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        spec = load_spec(args.spec) if args.spec else {}
        sweep = build_sweep(spec, str(args.spec or "command line"), overrides=parse_set(args.set),
                            extra_args=extra, name=args.name, save_dir=args.save_dir)
        slots = make_slots(args.gpus, args.gpus_per_trial)
    except SpecError as exc:
        log.error("%s", exc)
        return 2

    if args.dry_run:
        for i, trial in enumerate(sweep.trials):
            slot = slots[i % len(slots)]
            done = assess(sweep.run_dir(trial))[0] != "failed"
            env = f"CUDA_VISIBLE_DEVICES={slot.devices[0]} " if len(slot.devices) == 1 else ""
            print(f"{'# finished, skipped: ' if done else ''}{env}"
                  f"{shlex.join(sweep.command_for(trial, slot.launcher()))}")
        return 0

    sweep.folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(sweep.folder / "grid_search.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    log.info("sweep %s: %d trials, %d slot(s), runs in %s", sweep.name, len(sweep.trials), len(slots),
             sweep.folder)
    with logging_redirect_tqdm():
        records = run_sweep(sweep, slots)
    summary = summarize_sweep(sweep, records)
    best = summary["best"]
    if best:
        metric = summary["validation_metric"]
        tests = "; ".join(f"test {m} {Stat(**s)}" for m, s in best["test"].items())
        log.info("best %s: dev %s %s; %s", setting_text(best["setting"]), metric, Stat(**best["dev"][metric]),
                 tests or "no test results")
    log.info("summary: %s", sweep.folder / "summary.md")
    return 0 if summary["finished"] else 1


if __name__ == "__main__":
    sys.exit(main())
