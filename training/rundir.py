"""The run directory every later tool reads: config.json, metrics.jsonl, results.json, predictions, best/.

Format: docs/ARCHITECTURE.md. This file is the one place that writes it (RunDir, used by the drivers) and reads
it back (load_run, read_metrics, assess, used by grid search and reports), so the two cannot drift apart.

Writes that matter (results, checkpoints, sweep records) are atomic: a temporary file in the same directory,
then a rename, so a run killed at any moment leaves either the old or the new file.

One commit point: results.json is written last and names what best/ and the predictions hold (`files`: bytes and
sha256 of each, the step of best/). A reader (assess) treats a directory whose files disagree with it as
incomplete. A process writing a run directory holds an exclusive lock on its `.lock` file (flock: released by the
kernel when the process dies), so a second writer is refused; temporary files of a killed writer are removed when
the next one starts.

Importing this module does not import torch: the reader serves the sweep and report tools, which never load a
model (see atomic_write_text for the one place that reaches the checkpoint code).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

STATUSES = ("finished", "running", "failed", "diverged")
LOCK_FILE = ".lock"
# The files results.json vouches for (see RunDir.write_results).
COMMITTED_FILES = ("best/model.safetensors", "predictions_dev.jsonl", "predictions_test.jsonl")
IDENTITY_KEYS = ("family", "head", "peft", "method")

# The flags that are hyperparameters: what a sweep tunes for a fixed method. Everything else a driver records is
# either identity (what is trained: family, head, PEFT method, model, prompt) or bookkeeping (paths, seeds, log
# intervals, precision). The drivers write config.json's "hyperparameters" from these lists, and reports group
# and sweep-analyse on that mapping only, so a flag that only one driver has (--baseline, --ptuning-v2,
# --source-prefix, --model-name-or-path) can never turn into a grid axis. The seed is not among them: settings
# are averaged over seeds. A new tunable flag is added here once.
HYPERPARAMETER_ARGS = ("lr", "batch_size", "epochs", "warmup", "weight_decay", "lr_decay_style", "lr_decay_ratio",
                       "clip_grad", "adam_beta1", "adam_beta2", "adam_eps", "gradient_accumulation_steps",
                       "label_smoothing", "output_dropout", "hidden_dropout", "few_shot", "max_train_examples")
# Hyperparameters of one PEFT method (identity.peft), recorded only for the runs that use it.
PEFT_HYPERPARAMETER_ARGS: dict[str, tuple[str, ...]] = {
    "prefix": ("pre_seq_len", "prefix_projection", "prefix_hidden_size"),
    "lora": ("lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules"),
    "ptuning": ("num_prompt_tokens", "prefix_prompt", "prompt_func"),
    "prompt_tuning": ("num_prompt_tokens", "prefix_prompt", "prompt_func"),
}


def hyperparameters_of(args: dict[str, Any], peft: str | None) -> dict[str, Any]:
    """The hyperparameters of a run from its resolved flags and its PEFT method: config.json's "hyperparameters"."""
    names = (*HYPERPARAMETER_ARGS, *PEFT_HYPERPARAMETER_ARGS.get(peft or "none", ()))
    return {k: args[k] for k in names if k in args and args[k] is not None}


class RunDirError(ValueError):
    """A run directory that does not follow the run-directory contract; the message names the file."""


# ----------------------------------------------------------------------------------------------------------
# Writing


def atomic_write_text(path: Path, text: str) -> None:
    # The fsync-and-rename primitive lives with checkpoint saving in model/checkpoint.py, which imports torch.
    # Importing it here, when a file is written, keeps the reader below (and every tool that only reads run
    # directories) free of torch, while checkpoints, run files and sweep records share one writer.
    from model.checkpoint import atomic_write_bytes

    atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _clean(value: Any) -> Any:
    """NaN and ±inf become the strings "nan", "inf", "-inf".

    JSON has no NaN (Python would write a bare `NaN` that strict parsers reject), and the value must never turn
    into a number. A string rather than null because null already means "not measured" in this format (`test`
    without a test split, `best` before the first evaluation): a diverged run recorded as null would read as a
    run with no numbers, while "nan" says what happened and `assess` reads it as divergence."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _dumps(obj: Any, **kwargs: Any) -> str:
    # allow_nan=False: anything non-finite that _clean did not reach is an error here, not a bare NaN on disk.
    return json.dumps(_clean(obj), allow_nan=False, **kwargs)


def write_json(path: Path, obj: Any) -> None:
    """The one JSON writer for run files and sweep files: atomic, NaN/inf as strings (see _clean)."""
    atomic_write_text(path, _dumps(obj, indent=2) + "\n")


class RunLocked(RunDirError):
    """Another live process writes this run directory."""


def exclusive_lock(path: Path) -> tuple[int | None, str]:
    """Take the exclusive flock of `path` (created if missing) and write this process's pid into it: (the open
    descriptor, which holds the lock until it is closed or the process dies, ""), or (None, the holder's pid as
    the file says) when another live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None, holder
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd, ""


def run_path(save: str | Path, name: str, what: str = "--experiment-name") -> Path:
    """<save>/<name>, refusing a name that would leave <save> (absolute, `..`, empty parts): every file a run
    writes stays under --save."""
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or any(p in ("..", ".", "") for p in parts) or name.startswith("./") or "\\" in name:
        raise RunDirError(f"{what} {name!r}: must be a relative name inside --save {str(save)!r} "
                          "(no leading '/', no '..' or '.' parts); choose another name")
    return Path(save) / name


def file_digest(path: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


# Lock files this process holds, by path: a process runs one run at a time, so a lock it still holds from an
# earlier run (one that raised before releasing it, in a test or a notebook) is released when it opens the next.
_HELD: dict[Path, int] = {}


class RunDir:
    """runs/<experiment-name>/ of one run. Only rank 0 writes (`enabled=False` elsewhere)."""

    def __init__(self, root: str | Path, enabled: bool = True):
        self.path = Path(root)
        self.enabled = enabled
        self._lock_fd: int | None = None
        if enabled:
            self.path.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ ownership
    def lock(self) -> None:
        """Take the run directory's exclusive lock, or raise RunLocked naming the process that holds it."""
        if not self.enabled or self._lock_fd is not None:
            return
        path = (self.path / LOCK_FILE).resolve()
        if path in _HELD:
            os.close(_HELD.pop(path))
        fd, holder = exclusive_lock(path)
        if fd is None:
            raise RunLocked(f"{self.path} is being written by another process (pid {holder}); wait for it to "
                            "end, stop it, or choose another --experiment-name")
        self._lock_fd = fd
        _HELD[path] = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            _HELD.pop((self.path / LOCK_FILE).resolve(), None)
            os.close(self._lock_fd)
            self._lock_fd = None

    def remove_temp_files(self) -> list[Path]:
        """Remove what writers killed mid-write left: the hidden temporary files of atomic writes and hidden
        temporary checkpoint directories (in the run directory, best/, hf/ and checkpoints/)."""
        removed = []
        for folder in (self.path, self.path / "best", self.path / "hf", self.path / "checkpoints"):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.name.startswith(".") and entry.name != LOCK_FILE:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                    removed.append(entry)
        return removed

    def clear(self) -> None:
        """Remove every file of an earlier run (keeping the lock): a new run starts from an empty directory, so
        nothing of the old one (results, best/, predictions, checkpoints) can be read as the new one's."""
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE:
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    @property
    def best_dir(self) -> Path:
        return self.path / "best"

    def write_config(self, config: dict) -> None:
        if self.enabled:
            write_json(self.path / "config.json", config)

    def log(self, event: str, **values: Any) -> None:
        """Append one line to metrics.jsonl (flushed at once, so a crash loses nothing logged before it)."""
        if not self.enabled:
            return
        record = {"event": event, "time": round(time.time(), 3), **values}
        line = (_dumps(record) + "\n").encode("utf-8")
        fd = os.open(self.path / "metrics.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
            except OSError:
                os.ftruncate(fd, size)  # never half a line: the log stays readable after a full disk
                raise
        finally:
            os.close(fd)

    def manifest(self, best_step: int | None) -> dict[str, dict]:
        """What results.json vouches for: bytes and sha256 of each committed file present (and best/'s step)."""
        files = {}
        for name in COMMITTED_FILES:
            path = self.path / name
            if path.is_file():
                files[name] = file_digest(path)
                if name.startswith("best/"):
                    files[name]["step"] = best_step
        return files

    def write_results(self, results: dict) -> dict:
        """The commit point: written after everything it names, with their sizes and hashes (`files`); returns
        what was written."""
        if not self.enabled:
            return results
        best = results.get("best") or {}
        committed = {**results, "files": self.manifest(best.get("step"))}
        write_json(self.path / "results.json", committed)
        return committed

    def write_predictions(self, split: str, rows: list[dict]) -> Path:
        path = self.path / f"predictions_{split}.jsonl"
        if self.enabled:
            atomic_write_text(path, "".join(_dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return path

    def read_results(self) -> dict | None:
        f = self.path / "results.json"
        return read_json(f) if f.is_file() else None


def mark_failed(run_dir: Path, error: str) -> None:
    """Leave a run directory saying `failed` with `error` when its driver could not (a crash mid-training leaves
    `running`, a crash before training leaves nothing); a run already marked failed keeps its own error."""
    path = run_dir / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        results = {"task": None, "validation_metric": None, "best": None, "test": None}
    if results.get("status") in ("failed", "diverged") and results.get("error"):
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, {**results, "status": "failed", "error": error})


# ----------------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class RunIdentity:
    """What a run trained: config.json's `identity`. `method` is the label reports compare by (cloze,
    classifier, ptuning_v2, classifier_ptuning_v2, seq2seq, roberta_linear, bart_linear, bart, t5), derived by
    the driver from the other three. Run directories written before `identity` existed give only the method,
    from args.method; the other fields are then None rather than guessed."""

    method: str | None
    family: str | None = None  # glm | roberta | bart | t5
    head: str | None = None  # cloze | classifier | lm | text_to_text | ...
    peft: str | None = None  # none | prefix | ...
    # Recorded since the drivers write them (None for older run directories):
    model: str | None = None  # the checkpoint the run started from
    prompt: dict[str, Any] | None = None  # {"id", "name", "text"}: the pattern or template and its text
    params_total: int | None = None
    params_trainable: int | None = None


@dataclass(frozen=True)
class RunResult:
    """What a run directory's results.json and config.json say. A non-finite metric is the string "nan" or
    "inf" (see _clean) or, in files written by other tools, a float NaN."""

    run_dir: Path
    status: str
    task: str | None
    validation_metric: str | None
    dev: dict[str, Any]
    test: dict[str, Any] | None
    error: str | None
    args: dict[str, Any]
    identity: RunIdentity
    # config.json's "hyperparameters" (for older run directories: derived from args by hyperparameters_of)
    hyperparameters: dict[str, Any] = None  # type: ignore[assignment]
    # results.json's "cost": wall_s (training and test), tokens_seen (input positions fed in training)
    cost: dict[str, Any] | None = None
    kind: str | None = None  # classification | generation (identity.kind), when recorded


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunDirError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from exc


def _identity(config: dict[str, Any], args: dict[str, Any], path: Path) -> RunIdentity:
    raw = config.get("identity")
    if raw is None:
        method = args.get("method")
        return RunIdentity(method=str(method) if method not in (None, "") else None)
    if not isinstance(raw, dict):
        raise RunDirError(f"{path}: key 'identity' must be a mapping with keys {', '.join(IDENTITY_KEYS)}")
    for key in IDENTITY_KEYS:
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise RunDirError(f"{path}: identity.{key} must be a non-empty string, got {raw.get(key)!r}")
    if "method" in args and args["method"] != raw["method"]:
        raise RunDirError(f"{path}: identity.method {raw['method']!r} and args.method {args['method']!r} "
                          "disagree; both must hold the same derived label")
    params = raw.get("params") if isinstance(raw.get("params"), dict) else {}
    prompt = raw.get("prompt") if isinstance(raw.get("prompt"), dict) and raw.get("prompt") else None
    return RunIdentity(**{key: raw[key] for key in IDENTITY_KEYS}, model=raw.get("model"), prompt=prompt,
                       params_total=params.get("total"), params_trainable=params.get("trainable"))


def _legacy_peft(args: dict[str, Any]) -> str:
    return "prefix" if args.get("ptuning_v2") else "none"


def load_run(run_dir: Path) -> RunResult:
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise RunDirError(f"{results_path}: not found; {run_dir} is not a (finished or failed) run directory")
    results = read_json(results_path)
    if not isinstance(results, dict) or results.get("status") not in STATUSES:
        raise RunDirError(f"{results_path}: key 'status' must be one of {', '.join(STATUSES)}")
    best = results.get("best") or {}
    dev = best.get("dev") or {}
    config_path = run_dir / "config.json"
    if config_path.is_file():
        config = read_json(config_path)
        args = config.get("args") if isinstance(config, dict) else None
        if not isinstance(args, dict):
            raise RunDirError(f"{config_path}: key 'args' must be a mapping of the resolved flags")
        identity = _identity(config, args, config_path)
        hyper = config.get("hyperparameters")
        if hyper is None:
            hyper = hyperparameters_of(args, identity.peft or _legacy_peft(args))
        elif not isinstance(hyper, dict):
            raise RunDirError(f"{config_path}: key 'hyperparameters' must be a mapping of flag -> value")
        raw_identity = config.get("identity") if isinstance(config.get("identity"), dict) else {}
        kind = raw_identity.get("kind")
    elif results["status"] == "failed":
        args, identity = {}, RunIdentity(method=None)  # a driver that died while parsing its flags wrote none
        hyper, kind = {}, None
    else:
        raise RunDirError(f"{config_path}: not found, but {results_path} says {results['status']!r}")
    cost = results.get("cost")
    return RunResult(run_dir=run_dir, status=results["status"], task=results.get("task") or args.get("task"),
                     validation_metric=results.get("validation_metric"), dev=dict(dev),
                     test=results.get("test"), error=results.get("error"), args=args, identity=identity,
                     hyperparameters=dict(hyper), cost=cost if isinstance(cost, dict) else None, kind=kind)


def read_jsonl(path: Path) -> list[Any]:
    """The records of a JSON-lines file of a run ([] when it is absent); a bad line is a RunDirError naming it."""
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return records


def read_predictions(run_dir: Path, split: str) -> list[dict[str, Any]]:
    """The rows of predictions_<split>.jsonl ({"idx", "label", "prediction", ...}); [] when absent."""
    return read_jsonl(run_dir / f"predictions_{split}.jsonl")


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The events of metrics.jsonl ([] when the file is absent)."""
    return read_jsonl(run_dir / "metrics.jsonl")


def is_bad_number(value: Any) -> bool:
    """NaN/inf, as a float or as the string ("nan", "inf") that write_json records because JSON has neither."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, float) and not math.isfinite(value)


def verify_files(run_dir: Path, results: dict) -> str | None:
    """None when the committed files are exactly what results.json names; otherwise what differs. A results.json
    without `files` (written before the commit record existed) is taken as is."""
    files = results.get("files")
    if files is None:
        return None
    if not isinstance(files, dict):
        return f"{run_dir / 'results.json'}: key 'files' must be a mapping of file name -> bytes and sha256"
    pruned = results.get("pruned") if isinstance(results.get("pruned"), dict) else {}
    for name in COMMITTED_FILES:
        path = run_dir / name
        named = files.get(name)
        if named is None and name in pruned:  # deleted on purpose after the run (a sweep's keep_best)
            named = pruned[name]
            if not path.is_file():
                continue
        if named is None:
            if path.is_file():
                return f"{path} is not named by results.json: written after the run's last commit (incomplete run)"
            continue
        if not path.is_file():
            return f"{path}: results.json names it ({named.get('bytes')} bytes) but it is missing"
        actual = file_digest(path)
        if actual["bytes"] != named.get("bytes") or actual["sha256"] != named.get("sha256"):
            return (f"{path}: holds {actual['bytes']} bytes sha256 {actual['sha256'][:12]}..., results.json names "
                    f"{named.get('bytes')} bytes sha256 {str(named.get('sha256'))[:12]}...: written after the run's "
                    "last commit (incomplete run)")
    return None


def prune_best(run_dir: Path, why: str) -> bool:
    """Delete a committed run's best/ on purpose (a sweep keeping only its best setting's checkpoints) without
    making the run look incomplete: results.json first moves best/'s entry from `files` to `pruned` (with the
    reason), then the folder goes. A kill in between leaves a best/ that still matches its recorded digest, which
    readers accept. Returns whether anything was deleted."""
    folder = run_dir / "best"
    results_path = run_dir / "results.json"
    if not folder.is_dir():
        return False
    if results_path.is_file():
        results = read_json(results_path)
        files = results.get("files")
        if isinstance(files, dict) and "best/model.safetensors" in files:
            entry = files.pop("best/model.safetensors")
            results.setdefault("pruned", {})["best/model.safetensors"] = {**entry, "why": why}
            write_json(results_path, results)
    shutil.rmtree(folder)
    return True


def nonfinite_budget(args: dict[str, Any], config: dict[str, Any] | None) -> int:
    train = (config or {}).get("train") if isinstance(config, dict) else None
    value = train.get("max_nonfinite_losses") if isinstance(train, dict) else None
    return value if isinstance(value, int) else 0


class Assessment(NamedTuple):
    status: str  # finished | diverged | failed
    error: str | None
    run: RunResult | None  # None when the directory could not be read


def assess(run_dir: Path) -> Assessment:
    """`finished`, `diverged` (a NaN/inf loss or metric) or `failed` (anything else, with the reason).

    A run whose best dev point came before its loss blew up still counts as diverged: its numbers would
    otherwise sit in a table beside stable runs as if nothing had happened."""
    try:
        run = load_run(run_dir)
        events = read_metrics(run_dir)
    except RunDirError as exc:
        return Assessment("failed", str(exc), None)
    if run.status == "diverged":
        return Assessment("diverged", run.error or "results.json says diverged", run)
    if run.status != "finished":
        return Assessment("failed", run.error or f"results.json says status {run.status!r}", run)
    try:
        results = read_json(run_dir / "results.json")
        config = read_json(run_dir / "config.json")
    except RunDirError as exc:
        return Assessment("failed", str(exc), run)
    problem = verify_files(run_dir, results)
    if problem:
        return Assessment("failed", problem, run)
    nonfinite = [e for e in events if e.get("event") == "nonfinite_loss"]
    if len(nonfinite) > nonfinite_budget(run.args, config):
        return Assessment("diverged", f"{len(nonfinite)} non-finite train losses (first at step "
                          f"{nonfinite[0].get('step')}), more than the run's budget", run)
    for event in events:
        if event.get("event") == "train" and is_bad_number(event.get("loss")):
            return Assessment("diverged", f"train loss is {event['loss']} at step {event.get('step')}", run)
    for split, metrics in (("dev", run.dev), ("test", run.test or {})):
        for metric, value in metrics.items():
            if is_bad_number(value):
                return Assessment("diverged", f"{split} {metric} is {value}", run)
    if not run.validation_metric or run.validation_metric not in run.dev:
        return Assessment("failed", f"results.json has no best dev value for {run.validation_metric!r}", run)
    return Assessment("finished", None, run)
