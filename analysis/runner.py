"""Running a sweep's trials: one subprocess of the driver per trial, one trial per device slot at a time.

The run directories are the single source of truth: a trial whose run directory assesses as finished (or
diverged) is not run again, so a sweep can be killed at any moment and started again. After every trial the
records (`grid_records.json`) are rewritten atomically.

One sweep at a time per folder: the sweep holds an exclusive lock on `<folder>/.sweep.lock` (flock, released by
the kernel when the sweep dies), so a second sweep on the same folder is refused instead of running every trial
twice at once. A trial never outlives its sweep: SIGTERM or SIGHUP to the sweep is forwarded to the running
trials (which record themselves failed) before the sweep stops, and on Linux a trial is sent SIGTERM by the
kernel when the sweep dies in any other way (analysis/child.py).
"""

from __future__ import annotations

import logging
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from training.rundir import RunDirError, assess, exclusive_lock, mark_failed, prune_best, read_json, write_json

from .stats import higher_is_better
from .sweep import Scalar, SpecError, Sweep, Trial

log = logging.getLogger("grid_search")

RECORDS_FILE = "grid_records.json"
SWEEP_LOCK = ".sweep.lock"
CHILD = Path(__file__).with_name("child.py")
STDERR_TAIL_LINES = 20
DEEPSPEED_BASE_PORT = 29500


@dataclass(frozen=True)
class Slot:
    """Where one trial runs: no devices (inherit the environment), one GPU, or several through deepspeed."""

    devices: tuple[str, ...] = ()
    port: int = DEEPSPEED_BASE_PORT
    threads: int = 0  # OMP_NUM_THREADS for the trial when the environment sets none (0: leave unset)

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
        if self.threads and "OMP_NUM_THREADS" not in env:
            env["OMP_NUM_THREADS"] = str(self.threads)
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
    side_by_side = len(devices) // gpus_per_trial > 1  # trials sharing the CPUs get one thread each
    return [Slot(tuple(devices[i:i + gpus_per_trial]), DEEPSPEED_BASE_PORT + i // gpus_per_trial, int(side_by_side))
            for i in range(0, len(devices), gpus_per_trial)]


def planned_commands(sweep: Sweep, slots: Sequence[Slot]) -> list[str]:
    """What a run would do, one shell line per trial (slots taken in turn); finished trials are commented out."""
    lines = []
    for i, trial in enumerate(sweep.trials):
        slot = slots[i % len(slots)]
        done = assess(sweep.run_dir(trial)).status != "failed"
        env = f"CUDA_VISIBLE_DEVICES={slot.devices[0]} " if len(slot.devices) == 1 else ""
        lines.append(f"{'# finished, skipped: ' if done else ''}{env}"
                     f"{shlex.join(sweep.command_for(trial, slot.launcher()))}")
    return lines


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
    dev: dict[str, Any] | None = None
    test: dict[str, Any] | None = None
    error: str | None = None


def load_records(folder: Path) -> dict[str, TrialRecord]:
    path = folder / RECORDS_FILE
    if not path.is_file():
        return {}
    data = read_json(path)
    try:
        return {r["trial_id"]: TrialRecord(**r) for r in data["trials"]}
    except (KeyError, TypeError) as exc:
        raise RunDirError(f"{path}: not a grid records file ({exc})") from exc


def _record(trial: Trial, run_dir: Path, *, returncode: int | None = None, stderr_tail: str = "",
            **fields: Any) -> TrialRecord:
    status, error, run = assess(run_dir)
    if returncode not in (None, 0) and status != "diverged":  # a driver that stops a diverged run exits non-zero
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


class SweepLocked(RunDirError):
    """Another live sweep works in this folder."""


class SweepStopped(KeyboardInterrupt):
    """The sweep received SIGTERM/SIGHUP; its running trials were told to stop too."""


class _Children:
    """The trial processes running now, so that a signal to the sweep reaches them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self.stopping = threading.Event()

    def start(self, command: list[str], **kwargs: Any) -> subprocess.Popen:
        with self._lock:
            if self.stopping.is_set():
                raise SweepStopped("the sweep is stopping")
            proc = subprocess.Popen([sys.executable, str(CHILD), str(os.getpid()), *command], **kwargs)
            self._running.add(proc)
            return proc

    def done(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(proc)

    def forward(self, signum: int) -> None:
        with self._lock:
            self.stopping.set()
            for proc in self._running:
                try:
                    proc.send_signal(signum)
                except ProcessLookupError:
                    pass


_CHILDREN = _Children()


def lock_folder(folder: Path) -> int:
    """Take the sweep folder's lock (an open file descriptor; closing it, or dying, releases it)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, holder = exclusive_lock(folder / SWEEP_LOCK)
    if fd is None:
        raise SweepLocked(f"{folder}: another sweep (pid {holder}) is running in this folder; wait for it "
                          "to end or stop it, then start this one again")
    return fd


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
        proc = _CHILDREN.start(command, stdout=out, stderr=err, env=slot.env())
        try:
            returncode = proc.wait()
        finally:
            _CHILDREN.done(proc)
    record = _record(trial, run_dir, command=command, returncode=returncode,
                     seconds=round(time.monotonic() - start, 3), stderr_tail=_tail(err_path))
    if record.status == "failed":
        mark_failed(run_dir, record.error or "failed")
    level = logging.INFO if record.status == "finished" else logging.WARNING
    log.log(level, "%s %s in %.1fs%s", trial.trial_id, record.status, record.seconds,
            f": {record.error}" if record.error else "")
    return record


def run_sweep(sweep: Sweep, slots: Sequence[Slot] = (Slot(),)) -> dict[str, TrialRecord]:
    """Run every trial that has no finished run directory, one per slot at a time, and rewrite the records
    after each; return the records of all trials."""
    folder_lock = lock_folder(sweep.folder)
    try:
        return _run_locked(sweep, slots)
    finally:
        os.close(folder_lock)


def _forward_signals() -> dict[int, Any]:
    """Install handlers that pass SIGTERM/SIGHUP on to the running trials and stop the sweep; returns the old
    handlers (nothing is installed off the main thread, where Python allows no handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: Any) -> None:
        log.warning("received %s: stopping the running trials", signal.Signals(signum).name)
        _CHILDREN.forward(signum)
        raise SweepStopped(f"stopped by {signal.Signals(signum).name}")

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}


def _run_locked(sweep: Sweep, slots: Sequence[Slot]) -> dict[str, TrialRecord]:
    records = load_records(sweep.folder)
    lock = threading.Lock()
    _CHILDREN.stopping.clear()

    def save() -> None:
        order = [t.trial_id for t in sweep.trials]
        ordered = sorted(records.values(), key=lambda r: order.index(r.trial_id) if r.trial_id in order
                         else len(order))
        write_json(sweep.folder / RECORDS_FILE, {"sweep": sweep.name, "trials": [asdict(r) for r in ordered]})

    todo = []
    for trial in sweep.trials:
        run_dir = sweep.run_dir(trial)
        status = assess(run_dir).status
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
            if _CHILDREN.stopping.is_set():
                return  # the sweep is stopping: no new trial starts
            record = run_trial(sweep, trial, slot)
        finally:
            free.put(slot)
        with lock:
            records[trial.trial_id] = record
            save()
            prune_checkpoints(sweep, records)
            progress.update()

    previous = _forward_signals()
    pool = ThreadPoolExecutor(max_workers=len(slots))
    try:
        for future in as_completed([pool.submit(work, t) for t in todo]):
            future.result()
    except BaseException:
        _CHILDREN.stopping.set()  # e.g. Ctrl-C: the terminal sent SIGINT to the trials as well
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # the running trials end (they were signalled) first
        progress.close()
        for sig, old in previous.items():
            signal.signal(sig, old)
    return records


def prune_checkpoints(sweep: Sweep, records: dict[str, TrialRecord]) -> list[Path]:
    """Apply the spec's keep_best after a trial: `trial` keeps every trial's best/ (the drivers' default),
    `none` deletes best/ of every finished trial (predictions and results stay), `sweep` deletes best/ of the
    trials of every complete setting (all its seeds run) whose mean dev metric is strictly worse than the best
    complete setting's. A complete setting's mean no longer changes, so the setting that is best at the end
    keeps all its checkpoints; incomplete and tied settings keep theirs until they lose. Returns the folders
    deleted."""
    if sweep.keep_best == "trial":
        return []
    done = {tid: r for tid, r in records.items() if r.status in ("finished", "diverged")}
    doomed = set(done)
    if sweep.keep_best == "sweep":
        doomed = set()
        settings: dict[str, list[str]] = {}
        for trial in sweep.trials:
            settings.setdefault(repr(sorted(trial.setting.items(), key=repr)), []).append(trial.trial_id)
        complete = [ids for ids in settings.values() if all(i in records for i in ids)]
        metrics = sorted({r.validation_metric for r in done.values() if r.validation_metric})
        means = {}
        for ids in complete:
            values = [done[i].dev[metrics[0]] for i in ids if i in done and done[i].status == "finished"
                      and done[i].dev and isinstance(done[i].dev.get(metrics[0]), int | float)] if metrics else []
            if values:
                means[tuple(ids)] = sum(values) / len(values)
        if means:
            sign = 1 if higher_is_better(metrics[0]) else -1
            best = max(sign * m for m in means.values())
            doomed = {i for ids, m in means.items() if sign * m < best for i in ids}
            doomed |= {i for ids in complete if tuple(ids) not in means for i in ids}  # no finished seed at all
    deleted = []
    for tid in sorted(doomed & set(done)):
        folder = Path(done[tid].run_dir) / "best"
        if prune_best(folder.parent, f"keep_best: {sweep.keep_best} (sweep {sweep.name})"):
            deleted.append(folder)
            log.info("keep_best %s: deleted %s", sweep.keep_best, folder)
    return deleted
