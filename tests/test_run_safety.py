"""Runs that never lie: divergence, one writer per run and per sweep, a fresh start clears the old run, one commit
point, injected write failures, and kills at chosen moments (kill -9 through subprocess signals)."""

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from analysis.runner import SweepLocked, lock_folder, run_sweep
from analysis.sweep import build_sweep
from conftest import ROOT
from finetune_glm import main as finetune
from scripts.make_tiny_checkpoint import make_tiny_checkpoint
from training.rundir import assess

DEMO = ROOT / "data" / "demo" / "ag_news"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


def args(ckpt, save, name, *extra) -> list[str]:
    return ["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
            "--experiment-name", name, "--seq-length", "96", "--batch-size", "8", "--lr", "2e-3", "--warmup", "0.1",
            "--log-interval", "2", "--max-train-examples", "32", "--epochs", "1", "--num-threads", "1",
            *map(str, extra)]


def run(ckpt, save, name, *extra) -> dict:
    return finetune(args(ckpt, save, name, *extra))


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


# ---------------------------------------------------------------------------------------------- divergence
def test_a_huge_learning_rate_ends_the_run_diverged_not_finished(tiny_ckpt, tmp_path):
    with pytest.raises(SystemExit, match="diverged"):
        run(tiny_ckpt, tmp_path, "nan", "--lr", "1e6", "--max-train-examples", "64", "--epochs", "2")
    assert results(tmp_path / "nan")["status"] == "diverged"
    assert assess(tmp_path / "nan").status == "diverged"
    from analysis.runs import load_runs

    assert [r.status for r in load_runs([tmp_path / "nan"])] == ["diverged"]  # the report's view


def test_nan_weights_fail_evaluation_loudly(tiny_ckpt, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_ckpt.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    sd = load_file(str(broken / "model.safetensors"))
    sd["transformer.final_layernorm.weight"] = torch.full_like(sd["transformer.final_layernorm.weight"], float("nan"))
    save_file(sd, str(broken / "model.safetensors"))
    with pytest.raises(SystemExit, match="non-finite scores"):
        run(broken, tmp_path / "runs", "zero", "--epochs", "0")
    res = results(tmp_path / "runs" / "zero")
    assert res["status"] == "diverged" and res["test"] is None and "non-finite scores" in res["error"]


def test_nonfinite_losses_beyond_the_budget_are_read_by_assess(tiny_ckpt, tmp_path):
    run(tiny_ckpt, tmp_path, "ok")
    run_dir = tmp_path / "ok"
    assert assess(run_dir).status == "finished"
    with open(run_dir / "metrics.jsonl", "a") as f:  # what a run that skipped 4 NaN steps would have logged
        for step in range(4):
            f.write(json.dumps({"event": "nonfinite_loss", "step": step, "loss": "nan"}) + "\n")
    status, error, _ = assess(run_dir)
    assert status == "diverged" and "4 non-finite train losses" in error


def test_a_diverged_trial_is_diverged_in_the_sweep(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import json, sys, pathlib\n"
        "run = pathlib.Path(sys.argv[sys.argv.index('--save-dir') + 1]) / sys.argv[sys.argv.index('--experiment-name') + 1]\n"
        "run.mkdir(parents=True, exist_ok=True)\n"
        "(run / 'config.json').write_text(json.dumps({'args': {'lr': 1.0}}))\n"
        "(run / 'results.json').write_text(json.dumps({'status': 'diverged', 'validation_metric': 'accuracy',"
        " 'best': None, 'test': None, 'error': 'dev accuracy is nan at step 2'}))\n"
        "sys.exit('the run diverged')\n")
    spec = {"name": "s", "save_dir": str(tmp_path / "runs"), "grid": {"lr": [1.0]},
            "command": ["{launcher}", str(driver), "{trial_args}", "--experiment-name", "{experiment}", "--save-dir", "{save_dir}"]}
    records = run_sweep(build_sweep(spec, "spec"))
    assert [(r.status, r.error) for r in records.values()] == [("diverged", "dev accuracy is nan at step 2")]


# ---------------------------------------------------------------------------------------------- one writer
def test_multi_process_launch_without_deepspeed_is_refused(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit, match="WORLD_SIZE is 2 but --deepspeed is not given"):
        run(tiny_ckpt, tmp_path, "ddp")
    assert not (tmp_path / "ddp").exists()


def test_a_second_writer_of_a_run_is_refused(tiny_ckpt, tmp_path):
    run_dir = tmp_path / "busy"
    run_dir.mkdir()
    fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT)  # another process holds the run (flock is per open file)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"4242\n", 0)
    (run_dir / "results.json").write_text('{"status": "running"}')
    try:
        with pytest.raises(SystemExit, match=r"busy is being written by another process \(pid 4242\)"):
            run(tiny_ckpt, tmp_path, "busy")
    finally:
        os.close(fd)
    assert (run_dir / "results.json").read_text() == '{"status": "running"}'  # the other writer's files untouched
    assert run(tiny_ckpt, tmp_path, "busy")["status"] == "finished"  # released: the run goes ahead


def test_a_second_sweep_on_one_folder_is_refused(tmp_path):
    sweep = build_sweep({"name": "s", "save_dir": str(tmp_path), "grid": {"lr": [1]},
                         "command": ["{launcher}", "-c", "pass", "{trial_args}", "{experiment}"]}, "spec")
    fd = lock_folder(sweep.folder)
    try:
        with pytest.raises(SweepLocked, match=f"another sweep \\(pid {os.getpid()}\\) is running"):
            run_sweep(sweep)
    finally:
        os.close(fd)
    assert not (sweep.folder / "lr1").exists()


SLEEPER = r'''
import os, signal, sys, time, pathlib
run = pathlib.Path(sys.argv[sys.argv.index("--save-dir") + 1]) / sys.argv[sys.argv.index("--experiment-name") + 1]
run.mkdir(parents=True, exist_ok=True)
def stop(signum, frame):
    (run / "got_signal").write_text(signal.Signals(signum).name)
    sys.exit(1)
signal.signal(signal.SIGTERM, stop)
(run / "pid").write_text(str(os.getpid()))
if os.environ.get("BLOCK") == "1":
    time.sleep(60)
import json
(run / "config.json").write_text(json.dumps({"args": {}}))
(run / "metrics.jsonl").write_text("")
(run / "results.json").write_text(json.dumps({"status": "finished", "validation_metric": "accuracy",
    "best": {"step": 1, "dev": {"accuracy": 0.5}}, "test": {"accuracy": 0.5}, "error": None}))
with open(run.parent / "starts.txt", "a") as f:
    f.write(run.name + "\n")
'''


def _sweep(tmp_path, block: bool) -> tuple[subprocess.Popen, Path]:
    driver = tmp_path / "sleeper.py"
    driver.write_text(SLEEPER)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "s", "save_dir": str(tmp_path / "runs"), "grid": {"seed": [1, 2]},
                                "command": ["{launcher}", str(driver), "{trial_args}", "--experiment-name",
                                            "{experiment}", "--save-dir", "{save_dir}"]}))
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "grid_search.py"), "--spec", str(spec)],
                            env={**os.environ, "BLOCK": "1" if block else "0"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, tmp_path / "runs" / "s"


def _wait_for(path: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear")
        time.sleep(0.05)


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_sweep_killed_twice_takes_its_trial_down_and_loses_or_duplicates_no_trial(tmp_path):
    for attempt in range(2):
        proc, folder = _sweep(tmp_path, block=True)
        _wait_for(folder / "s1" / "pid")
        child = int((folder / "s1" / "pid").read_text())
        proc.send_signal(signal.SIGKILL)  # the sweep alone: its trial must not outlive it
        proc.wait()
        assert _gone(child), f"kill {attempt + 1}: the trial outlived its sweep"
        (folder / "s1" / "pid").unlink()
    proc, folder = _sweep(tmp_path, block=False)
    assert proc.wait(timeout=60) == 0
    assert (folder / "starts.txt").read_text().split() == ["s1", "s2"]  # each trial completed once
    records = json.loads((folder / "grid_records.json").read_text())["trials"]
    assert [(r["trial_id"], r["status"]) for r in records] == [("s1", "finished"), ("s2", "finished")]


def test_sigterm_to_the_sweep_reaches_its_trial(tmp_path):
    proc, folder = _sweep(tmp_path, block=True)
    _wait_for(folder / "s1" / "pid")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    assert (folder / "s1" / "got_signal").read_text() == "SIGTERM"
    assert not (folder / "s2").exists()  # no new trial starts while the sweep stops


# ---------------------------------------------------------------------------------------------- a fresh start
def test_overwrite_clears_the_old_run_even_when_the_new_one_dies_early(tiny_ckpt, tmp_path, monkeypatch):
    from test_pretrain import Killed, crash_after

    run(tiny_ckpt, tmp_path, "r")
    with monkeypatch.context() as m:
        crash_after(m, 1)
        with pytest.raises(Killed):
            run(tiny_ckpt, tmp_path, "r", "--overwrite")
    res = results(tmp_path / "r")
    assert res["status"] == "failed" and res["best"] is None
    assert not (tmp_path / "r" / "best").exists() and not (tmp_path / "r" / "predictions_test.jsonl").exists()


def test_epochs_zero_overwrite_evaluates_the_model_not_the_old_best(tiny_ckpt, tmp_path):
    zero_shot = run(tiny_ckpt, tmp_path, "zs", "--epochs", "0")
    run(tiny_ckpt, tmp_path, "r", "--epochs", "2", "--max-train-examples", "64")
    again = run(tiny_ckpt, tmp_path, "r", "--epochs", "0", "--overwrite")
    assert again["test"] == zero_shot["test"] and again["best"]["dev"] == zero_shot["best"]["dev"]


def test_temporary_files_of_a_killed_writer_are_removed_on_the_next_start(tiny_ckpt, tmp_path):
    run_dir = tmp_path / "r"
    (run_dir / "best").mkdir(parents=True)
    (run_dir / "checkpoints" / ".tmp-step_00000003").mkdir(parents=True)
    leftovers = [run_dir / ".results.json.k2j3", run_dir / "best" / ".model.safetensors.x8a1",
                 run_dir / "checkpoints" / ".tmp-step_00000003" / "optimizer.pt"]
    for f in leftovers:
        f.write_bytes(b"partial")
    run(tiny_ckpt, tmp_path, "r")
    assert not any(f.exists() for f in leftovers) and not (run_dir / "checkpoints" / ".tmp-step_00000003").exists()


# ---------------------------------------------------------------------------------------------- the commit point
def test_results_name_best_and_predictions_and_a_mismatch_is_incomplete(tiny_ckpt, tmp_path):
    res = run(tiny_ckpt, tmp_path, "r")
    run_dir = tmp_path / "r"
    files = results(run_dir)["files"]
    assert set(files) == {"best/model.safetensors", "predictions_dev.jsonl", "predictions_test.jsonl"}
    assert files["best/model.safetensors"]["step"] == res["best"]["step"]
    assert files["predictions_test.jsonl"]["bytes"] == (run_dir / "predictions_test.jsonl").stat().st_size
    # best/ of a later step beside results.json of an earlier one (a kill between the two writes)
    sd = load_file(str(run_dir / "best" / "model.safetensors"))
    save_file({k: v + 1 for k, v in sd.items()}, str(run_dir / "best" / "model.safetensors"))
    status, error, _ = assess(run_dir)
    assert status == "failed" and "best/model.safetensors" in error and "incomplete" in error


def test_disk_full_during_a_metrics_append_leaves_no_half_line_and_a_failure_record(tiny_ckpt, tmp_path, monkeypatch):
    import training.rundir

    real_write, calls = os.write, {"n": 0}

    def full_disk(fd, data):
        calls["n"] += 1
        if calls["n"] == 4:  # the fourth metrics line: half of it reaches the disk, then ENOSPC
            real_write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(training.rundir.os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run(tiny_ckpt, tmp_path, "r", "--eval-interval", "2")
    monkeypatch.undo()
    run_dir = tmp_path / "r"
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    res = results(run_dir)
    assert res["status"] == "failed" and "No space left" in res["error"]


def test_a_failed_best_save_leaves_the_record_naming_what_best_holds(tiny_ckpt, tmp_path, monkeypatch):
    import training.loop

    real, saves = training.loop.save_trainable, {"n": 0}

    def second_save_fails(*a, **k):
        saves["n"] += 1
        if saves["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*a, **k)

    monkeypatch.setattr(training.loop, "save_trainable", second_save_fails)
    with pytest.raises(OSError):
        # dev every step with a rising accuracy: the second new best fails to save
        run(tiny_ckpt, tmp_path, "r", "--eval-interval", "1", "--max-train-examples", "64", "--epochs", "2")
    run_dir = tmp_path / "r"
    res = results(run_dir)
    meta = _metadata(run_dir / "best" / "model.safetensors")
    assert res["status"] == "failed" and saves["n"] == 2
    assert res["best"]["step"] == int(meta["step"])


def _metadata(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.metadata()


# ---------------------------------------------------------------------------------------------- kill -9, then resume
KILLER = r'''
import itertools, os, signal, sys
sys.path.insert(0, sys.argv[1])
import model.checkpoint, training.loop, training.resume
moment, n = os.environ.get("KILL_AT", ""), int(os.environ.get("KILL_N", "0"))
count = itertools.count(1)

def tick():
    if next(count) == n:
        if moment == "hold":
            import time
            time.sleep(60)
        os.kill(os.getpid(), signal.SIGKILL)

if moment == "write":  # the n-th atomic write: its temporary file is complete, the rename has not happened
    real = model.checkpoint.atomic_write_bytes
    def atomic(path, write):
        def then_die(tmp):
            write(tmp)
            tick()
        real(path, then_die)
    model.checkpoint.atomic_write_bytes = training.resume.atomic_write_bytes = atomic
elif moment in ("batch", "hold"):  # while collating the n-th training batch: die, or hold the run a while
    class Dying(training.loop.Trainer):
        def fit(self, samples, collate):
            return super().fit(samples, lambda b: (tick(), collate(b))[1])
    training.loop.Trainer = Dying
from finetune_glm import main
main(sys.argv[2:])
'''


def _killed_run(tmp_path, ckpt, name, moment="", n=0) -> int:
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    argv = args(ckpt, tmp_path, name, "--max-train-examples", "48", "--epochs", "2", "--save-interval", "2",
                "--eval-interval", "3")
    env = {**os.environ, "KILL_AT": moment, "KILL_N": str(n), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(script), str(ROOT), *argv], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE).returncode


def _same_run(a: Path, b: Path) -> None:
    from test_pretrain import events

    assert events(a) == events(b)
    ra, rb = results(a), results(b)
    assert (ra["status"], ra["best"], ra["test"], ra["files"]) == (rb["status"], rb["best"], rb["test"], rb["files"])
    for name in ("predictions_dev.jsonl", "predictions_test.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    x, y = load_file(str(a / "best" / "model.safetensors")), load_file(str(b / "best" / "model.safetensors"))
    assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def uninterrupted(tiny_ckpt, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("full")
    assert _killed_run(tmp, tiny_ckpt, "full") == 0
    return tmp / "full"


KILL_MOMENTS = [("batch", 8), ("write", 3), ("write", 9), ("batch", 11), ("write", 14)]


@pytest.mark.parametrize("moment, n", [pytest.param(m, n, marks=[] if i == 0 else pytest.mark.slow)
                                       for i, (m, n) in enumerate(KILL_MOMENTS)])
def test_kill_9_at_a_chosen_moment_then_the_same_command_reproduces_the_uninterrupted_run(
        tiny_ckpt, tmp_path, uninterrupted, moment, n):
    assert _killed_run(tmp_path, tiny_ckpt, "r", moment, n) == -signal.SIGKILL
    assert assess(tmp_path / "r").status == "failed"  # never finished-looking after the kill
    assert _killed_run(tmp_path, tiny_ckpt, "r") == 0  # the same command again: continues (or restarts) it
    _same_run(tmp_path / "r", uninterrupted)


@pytest.mark.slow
def test_two_drivers_on_one_run_the_second_is_refused(tiny_ckpt, tmp_path):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    argv = [sys.executable, str(script), str(ROOT), *args(tiny_ckpt, tmp_path, "r")]
    first = subprocess.Popen(argv, env={**os.environ, "KILL_AT": "hold", "KILL_N": "2"}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        _wait_for(tmp_path / "r" / "metrics.jsonl", 60)  # the first driver is training
        second = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
        assert second.returncode == 1
        assert f"r is being written by another process (pid {first.pid})" in second.stderr
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_disk_full_while_saving_a_checkpoint_then_the_same_command_continues_exactly(tiny_ckpt, tmp_path, monkeypatch):
    import training.resume

    common = ("--max-train-examples", "48", "--epochs", "2", "--save-interval", "2", "--eval-interval", "3")
    full = run(tiny_ckpt, tmp_path, "full", *common)
    real, writes = training.resume.atomic_write_bytes, {"n": 0}

    def full_disk(path, write):
        if path.name == "trainer.json":
            writes["n"] += 1
            if writes["n"] == 3:  # the third checkpoint (step 6) runs out of space
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, write)

    with monkeypatch.context() as m:
        m.setattr(training.resume, "atomic_write_bytes", full_disk)
        with pytest.raises(OSError, match="No space left"):
            run(tiny_ckpt, tmp_path, "r", *common)
    assert results(tmp_path / "r")["status"] == "failed"
    assert (tmp_path / "r" / "checkpoints" / ".tmp-step_00000006").is_dir()  # the half-written checkpoint
    again = run(tiny_ckpt, tmp_path, "r", *common)  # removes it and continues from step 4
    assert not (tmp_path / "r" / "checkpoints" / ".tmp-step_00000006").exists()
    assert again["best"] == full["best"] and again["test"] == full["test"]
    _same_run(tmp_path / "r", tmp_path / "full")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_real_sweep_killed_twice_mid_trial_reproduces_the_uninterrupted_sweep(tiny_ckpt, tmp_path):
    base = args(tiny_ckpt, tmp_path, "unused", "--max-train-examples", "48", "--epochs", "2", "--save-interval", "2",
                "--eval-interval", "3")
    base = [tok for tok in base if tok not in ("--save", str(tmp_path), "--experiment-name", "unused")]

    def spec(save: Path) -> Path:
        path = save.parent / f"{save.name}.json"
        path.write_text(json.dumps({"name": "g", "save_dir": str(save), "base_args": base, "grid": {"seed": [1, 2]},
                                    "command": ["{launcher}", str(ROOT / "finetune_glm.py"), "{base_args}", "{trial_args}",
                                                "--experiment-name", "{experiment}", "--save", "{save_dir}"]}))
        return path

    def sweep(save: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "grid_search.py"), "--spec", str(spec(save))],
                                env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    assert sweep(tmp_path / "full").wait(timeout=600) == 0
    save = tmp_path / "killed"
    for trial, step in (("s1", "step_00000004"), ("s2", "step_00000002")):  # the second kill lands in the second trial
        proc = sweep(save)
        _wait_for(save / "g" / trial / "checkpoints" / step, 300)
        child = int((save / "g" / trial / ".lock").read_text())
        proc.kill()
        proc.wait()
        assert _gone(child), "the trial outlived its sweep"
    assert sweep(save).wait(timeout=600) == 0
    for trial in ("s1", "s2"):
        _same_run(save / "g" / trial, tmp_path / "full" / "g" / trial)
    records = json.loads((save / "g" / "grid_records.json").read_text())["trials"]
    assert [(r["trial_id"], r["status"]) for r in records] == [("s1", "finished"), ("s2", "finished")]


def test_a_pruned_best_keeps_the_run_finished_and_a_changed_one_does_not(tiny_ckpt, tmp_path):
    """keep_best deletes best/ of a committed run: results.json records it as pruned, so the run stays finished;
    any other change to best/ is still an incomplete run."""
    from training.rundir import prune_best

    run(tiny_ckpt, tmp_path, "r")
    run_dir = tmp_path / "r"
    assert assess(run_dir).status == "finished"
    weights = (run_dir / "best" / "model.safetensors").read_bytes()
    assert prune_best(run_dir, "keep_best: sweep (test)")
    assert not (run_dir / "best").exists() and assess(run_dir).status == "finished"
    committed = results(run_dir)
    assert "best/model.safetensors" not in committed["files"]
    assert committed["pruned"]["best/model.safetensors"]["why"] == "keep_best: sweep (test)"
    (run_dir / "best").mkdir()  # a kill between the commit and the deletion leaves the same bytes behind
    (run_dir / "best" / "model.safetensors").write_bytes(weights)
    assert assess(run_dir).status == "finished"
    (run_dir / "best" / "model.safetensors").write_bytes(weights[:-8])  # anything else is not the run's best/
    assert assess(run_dir).status == "failed"
