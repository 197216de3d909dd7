"""Grid search: spec expansion and trial ids, resuming, failures, selection, and surviving a kill.

The driver is replaced by a small fake (FAKE_DRIVER) that writes a run directory in the contract's format with
numbers that follow from its flags (the linear head, --no-cloze-eval, scores 0.1 lower), and that can be told
to raise, to produce NaN, or to hang.
"""

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from analysis.runner import RECORDS_FILE, Slot, make_slots, run_sweep
from analysis.stats import Stat
from analysis.summary import summarize_sweep
from analysis.sweep import NEGATABLE_FLAGS, SpecError, build_sweep, load_spec, parse_set, trial_id
from scripts.grid_search import main
from training.rundir import RunDirError, load_run

FAKE_DRIVER = r'''
import argparse, json, math, os, sys, time
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--task", default="fake")
p.add_argument("--lr", type=float, default=1e-5)
p.add_argument("--batch-size", type=int, default=8)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--experiment-name", required=True)
p.add_argument("--save-dir", required=True)
p.add_argument("--calls", required=True)
p.add_argument("--raise-at-lr", type=float)
p.add_argument("--nan-at-lr", type=float)
p.add_argument("--sleep", type=float, default=0.0)
p.add_argument("--cloze-eval", action=argparse.BooleanOptionalAction, default=True)
a = p.parse_args()
with open(a.calls, "a") as f:
    f.write(f"{a.experiment_name} {os.environ.get('CUDA_VISIBLE_DEVICES', '-')} {time.time()}\n")
run = Path(a.save_dir) / a.experiment_name
run.mkdir(parents=True, exist_ok=True)
method = "cloze" if a.cloze_eval else "classifier"
args = {"task": a.task, "lr": a.lr, "batch_size": a.batch_size, "seed": a.seed, "cloze_eval": a.cloze_eval,
        "method": method, "experiment_name": a.experiment_name}
identity = {"family": "glm", "head": method, "peft": "none", "method": method}
(run / "config.json").write_text(json.dumps({"args": args, "identity": identity, "command": sys.argv}))

def results(status, dev=None, test=None):
    best = {"step": 10, "epoch": 1, "dev": {"accuracy": dev}} if dev is not None else None
    (run / "results.json").write_text(json.dumps({
        "status": status, "task": a.task, "validation_metric": "accuracy", "best": best,
        "test": None if test is None else {"accuracy": test}, "error": None}))

results("running")
if os.environ.get("FAKE_BLOCK_SEED") == str(a.seed):
    time.sleep(120)
time.sleep(a.sleep)
if a.raise_at_lr is not None and math.isclose(a.lr, a.raise_at_lr):
    raise RuntimeError("CUDA out of memory (simulated)")
nan = a.nan_at_lr is not None and math.isclose(a.lr, a.nan_at_lr)
dev = float("nan") if nan else round(0.5 + 1000 * a.lr + a.batch_size / 100 + a.seed / 100
                                    - 0.1 * (not a.cloze_eval), 6)
with open(run / "metrics.jsonl", "w") as f:
    f.write(json.dumps({"event": "train", "step": 10, "epoch": 1, "loss": dev if nan else 0.5}) + "\n")
    f.write(json.dumps({"event": "eval", "step": 10, "epoch": 1, "split": "dev", "accuracy": dev}) + "\n")
results("finished", dev, None if nan else round(dev - 0.1, 6))
'''


@pytest.fixture
def fake(tmp_path):
    """Paths of the fake driver and of the file where it logs each invocation."""
    driver = tmp_path / "fake_driver.py"
    driver.write_text(FAKE_DRIVER)
    return driver, tmp_path / "calls.txt"


def fake_spec(fake, tmp_path, grid, **base):
    driver, calls = fake
    return {"name": "sweep", "save_dir": str(tmp_path / "runs"),
            "command": ["{launcher}", str(driver), "{base_args}", "{trial_args}",
                        "--experiment-name", "{experiment}", "--save-dir", "{save_dir}"],
            "base_args": {"calls": str(calls), **base}, "grid": grid}


def calls(fake) -> list[str]:
    path = fake[1]
    return [line.split()[0].split("/")[1] for line in path.read_text().splitlines()] if path.exists() else []


def records(sweep) -> dict:
    data = json.loads((sweep.folder / RECORDS_FILE).read_text())
    return {r["trial_id"]: r for r in data["trials"]}


# ---------------------------------------------------------------------------------------------------------
# Expansion and ids


def test_ids_are_stable_unique_and_independent_of_key_order():
    grid = {"lr": [1e-5, "2e-5"], "batch_size": [8, 16], "epochs": [3], "pattern_id": [0, 1],
            "seed": [1234, 5678]}
    reordered = {"--seed": [1234, 5678], "pattern-id": [0, 1], "--batch-size": [8, 16], "epochs": 3,
                 "lr": ["1e-05", 2e-5]}
    a = build_sweep({"name": "s", "grid": grid}, "a.yaml")
    b = build_sweep({"name": "s", "grid": reordered}, "b.yaml")
    ids = [t.trial_id for t in a.trials]
    assert ids == [t.trial_id for t in b.trials]
    assert len(ids) == len(set(ids)) == 2 * 2 * 2 * 2
    # The id is a function of the values alone, spelled the same on every machine and every run.
    assert ids[:3] == ["lr1e-05-bs8-ep3-p0-s1234", "lr1e-05-bs8-ep3-p0-s5678", "lr1e-05-bs8-ep3-p1-s1234"]
    assert trial_id({"seed": 1, "prompt": "GPT-3 style", "lr": 2e-05}) == "lr2e-05-prGPT_3_style-s1"
    first = a.trials[0]
    assert first.setting == {"lr": 1e-05, "batch_size": 8, "epochs": 3, "pattern_id": 0}
    assert a.command_for(first, ["python"]) == [
        "python", "finetune_glm.py", "--batch-size", "8", "--epochs", "3", "--lr", "1e-05", "--pattern-id",
        "0", "--seed", "1234", "--experiment-name", "s/lr1e-05-bs8-ep3-p0-s1234", "--save-dir", "runs"]


def test_set_flags_add_and_replace_axes_and_booleans_toggle_flags():
    axes = parse_set(["lr=1e-5,3e-5", "fp16=true,false", "prompt=a,b"])
    assert axes == {"lr": [1e-05, 3e-05], "fp16": [True, False], "prompt": ["a", "b"]}
    sweep = build_sweep({"name": "s", "grid": {"lr": [1.0], "seed": [1]}}, "x.yaml", overrides=axes,
                        extra_args=["--task", "rte"])
    assert len(sweep.trials) == 2 * 2 * 2
    on, off = (t for t in sweep.trials if t.params["lr"] == 1e-05 and t.params["prompt"] == "a")
    assert "--fp16" in on.args and "--fp16" not in off.args
    assert on.trial_id == "lr1e-05-pra-fp16on-s1"
    assert sweep.command_for(on, ["python"])[2:4] == ["--task", "rte"]
    with pytest.raises(SpecError, match="x.yaml: --lr is swept by the grid and also given after '--'"):
        build_sweep({"name": "s", "grid": {"lr": [1.0]}}, "x.yaml", extra_args=["--lr=3"])


def test_boolean_axes_spell_false_the_way_the_driver_reads_it():
    # cloze_eval is a --cloze-eval/--no-cloze-eval flag that is on by default: leaving it out would run the
    # trial recorded as off with the cloze head. fp16 is a store_true flag: off means leaving it out.
    sweep = build_sweep({"name": "s", "grid": {"fp16": [True, False], "cloze_eval": [True, False]},
                         "base_args": {"mask_pad_token": False, "prefix_projection": False}}, "x.yaml")
    assert [(t.trial_id, t.args) for t in sweep.trials] == [
        ("clozeon-fp16on", ("--cloze-eval", "--fp16")), ("clozeon-fp16off", ("--cloze-eval",)),
        ("clozeoff-fp16on", ("--no-cloze-eval", "--fp16")), ("clozeoff-fp16off", ("--no-cloze-eval",))]
    assert sweep.base_args == ("--no-mask-pad-token",)
    with pytest.raises(SpecError, match="x.yaml: --no-cloze-eval is swept by the grid and also given after"):
        build_sweep({"name": "s", "grid": {"cloze_eval": [True, False]}}, "x.yaml", extra_args=["--no-cloze-eval"])


def test_negatable_flags_are_the_drivers_boolean_optional_flags():
    """NEGATABLE_FLAGS must name exactly the flags the drivers accept as --X/--no-X (their --help says so)."""
    found = set()
    for driver in ("finetune_glm.py", "finetune_baseline.py"):
        text = subprocess.run([sys.executable, str(ROOT / driver), "--help"], capture_output=True, text=True,
                              check=True, env={**os.environ, "COLUMNS": "200"}).stdout
        found |= {flag.replace("-", "_") for flag in re.findall(r"--([a-z0-9][a-z0-9-]*), --no-\1\b", text)}
    assert found == NEGATABLE_FLAGS


@pytest.mark.parametrize("spec, message", [
    ({"name": "s", "grdi": {"lr": [1]}}, "grid.yaml: unknown key 'grdi'"),
    ({"name": "s", "grid": {"lr": [{"a": 1}]}}, "grid.yaml: grid key 'lr': expected a number"),
    ({"name": "s", "grid": {"lr": [[1e-5, 2e-5]]}}, "grid.yaml: grid key 'lr': expected a number"),
    ({"name": "s", "grid": {"lr": None}}, "grid.yaml: grid key 'lr': expected a number"),
    ({"name": "s", "grid": {}}, "grid.yaml: the grid is empty"),
    ({"name": "s", "grid": {"lr": []}}, "grid.yaml: grid key 'lr': the list of values is empty"),
    ({"name": "s", "grid": {"lr": [1e-5, "1e-05"]}}, "grid.yaml: grid key 'lr': a value is listed twice"),
    ({"name": "s", "grid": {"prompt": ["a b", "a_b"]}}, "give the same trial id 'pra_b'"),
    ({"name": "s", "grid": {"lr": [1]}, "base_args": {"--lr": 2}}, "key '--lr' is both in base_args"),
    ({"grid": {"lr": [1]}}, "grid.yaml: the sweep needs a name"),
    ({"name": "s", "grid": {"lr": [1]}, "command": ["python", "x.py", "{trial_args}"]}, "lacks {experiment}"),
])
def test_bad_specs_name_the_file_and_key(tmp_path, spec, message):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as info:
        build_sweep(load_spec(path), str(path))
    assert message in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("name, count, axes", [
    ("grid_superglue_style.yaml", 9, {"lr": [6e-06, 1e-05, 2e-05], "seed": [1234, 5678, 3456]}),
    ("grid_seq2seq.yaml", 18, {"lr": [5e-06, 1e-05, 2e-05], "batch_size": [4, 8, 12], "epochs": [5, 10]}),
    ("grid_demo.yaml", 16, None),
])
def test_default_grids_expand(name, count, axes):
    path = ROOT / "config_tasks" / name
    sweep = build_sweep(load_spec(path), str(path))
    assert len(sweep.trials) == count
    if axes:
        for key, values in axes.items():
            assert sorted({t.params[key] for t in sweep.trials}) == sorted(values)


# ---------------------------------------------------------------------------------------------------------
# Running, resuming, failures


def test_sweep_runs_every_trial_once_and_resume_skips_finished(fake, tmp_path):
    sweep = build_sweep(fake_spec(fake, tmp_path, {"lr": [1e-4, 2e-4], "seed": [1, 2]}), "spec")
    first = run_sweep(sweep)
    assert sorted(calls(fake)) == sorted(t.trial_id for t in sweep.trials)
    assert {r.status for r in first.values()} == {"finished"}
    assert first["lr0.0002-s2"].dev == {"accuracy": 0.8}  # 0.5 + 0.2 + 0.08 + 0.02

    second = run_sweep(sweep)
    assert len(calls(fake)) == 4, "finished trials must not run again"
    assert {k: v.dev for k, v in second.items()} == {k: v.dev for k, v in first.items()}

    summary = summarize_sweep(sweep, second)
    assert summary["best"]["setting"] == {"lr": 0.0002}
    assert summary["best"]["dev"]["accuracy"]["mean"] == pytest.approx(0.795)
    assert summary["best"]["test"]["accuracy"]["mean"] == pytest.approx(0.695)
    assert summary["best"]["test"]["accuracy"]["std"] == pytest.approx(math.sqrt(0.00005))
    assert "lr=0.0002" in (sweep.folder / "summary.md").read_text()


def test_raising_and_nan_trials_are_recorded_and_the_sweep_goes_on(fake, tmp_path):
    spec = fake_spec(fake, tmp_path, {"lr": [1e-4, 2e-4, 3e-4, 4e-4]}, raise_at_lr=2e-4, nan_at_lr=3e-4)
    sweep = build_sweep(spec, "spec")
    out = run_sweep(sweep)
    assert len(calls(fake)) == 4, "the trials after a failure still run"
    assert {k: r.status for k, r in out.items()} == {
        "lr0.0001": "finished", "lr0.0002": "failed", "lr0.0003": "diverged", "lr0.0004": "finished"}
    failed = out["lr0.0002"]
    assert failed.returncode == 1
    assert failed.error.startswith("exit code 1:") and "RuntimeError: CUDA out of memory" in failed.error
    assert out["lr0.0003"].error == "train loss is nan at step 10"
    # The run directory now says failed, as the contract has it, instead of the driver's stale "running".
    results = json.loads((sweep.run_dir(sweep.trials[1]) / "results.json").read_text())
    assert results["status"] == "failed" and "out of memory" in results["error"]
    assert set(records(sweep)) == set(out)
    # The records are strict JSON: the diverged trial's NaN is the string "nan", never a bare NaN or a number.
    strict = json.loads((sweep.folder / RECORDS_FILE).read_text(),
                        parse_constant=lambda c: pytest.fail(f"{RECORDS_FILE} holds a bare {c}"))
    assert {r["trial_id"]: r["dev"] for r in strict["trials"]}["lr0.0003"] == {"accuracy": "nan"}

    summary = summarize_sweep(sweep, out)
    assert summary["best"]["setting"] == {"lr": 0.0004}
    assert (summary["finished"], summary["failed"], summary["diverged"]) == (2, 1, 1)
    assert [p["trial"] for p in summary["problems"]] == ["lr0.0002", "lr0.0003"]

    # A rerun retries the crash (it may have been transient) but not the finished-yet-diverged run.
    run_sweep(sweep)
    assert calls(fake).count("lr0.0002") == 2 and calls(fake).count("lr0.0003") == 1


def test_missing_launcher_is_a_failed_trial_not_a_crashed_sweep(tmp_path):
    spec = {"name": "s", "save_dir": str(tmp_path), "grid": {"lr": [1, 2]},
            "command": ["no-such-program-here", "{trial_args}", "{experiment}"]}
    out = run_sweep(build_sweep(spec, "spec"))
    assert [r.status for r in out.values()] == ["failed", "failed"]
    assert "could not start 'no-such-program-here'" in out["lr1"].error


def test_a_trial_killed_by_a_signal_says_so(tmp_path):
    spec = {"name": "s", "save_dir": str(tmp_path), "grid": {"lr": [1]},
            "command": ["bash", "-c", "echo loading >&2; kill -9 $$", "{trial_args}", "{experiment}"]}
    record = run_sweep(build_sweep(spec, "spec"))["lr1"]
    assert (record.status, record.returncode) == ("failed", -9)
    assert record.error == "killed by SIGKILL (often the out-of-memory killer): loading"


def write_run(folder: Path, name: str, args: dict, dev: float | str, test: float) -> Path:
    run = folder / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"args": args, "command": []}))
    (run / "results.json").write_text(json.dumps({
        "status": "finished", "task": "t", "validation_metric": "accuracy",
        "best": {"step": 1, "epoch": 1, "dev": {"accuracy": dev}}, "test": {"accuracy": test}, "error": None}))
    return run


def test_selection_by_mean_dev_with_test_mean_and_std_on_hand_made_runs(tmp_path):
    # Setting lr=1 has the single best run (0.90) but the lower mean; lr=2 wins on the mean over seeds.
    # The driver writes NaN as the string "nan" (JSON has no NaN); lr=3 seed 1 diverged that way.
    values = {("1", 1): (0.80, 0.70), ("1", 2): (0.90, 0.72), ("2", 1): (0.84, 0.75), ("2", 2): (0.88, 0.79),
              ("3", 1): ("nan", 0.1)}
    spec = {"name": "hand", "save_dir": str(tmp_path), "grid": {"lr": [1, 2, 3], "seed": [1, 2]},
            "command": ["false", "{trial_args}", "{experiment}"]}
    sweep = build_sweep(spec, "spec")
    for (lr, seed), (dev, test) in values.items():
        write_run(sweep.folder, f"lr{lr}-s{seed}", {"lr": int(lr), "seed": seed}, dev, test)
    out = run_sweep(sweep)  # only lr3-s2 has no run directory; `false` makes it fail
    assert out["lr3-s2"].status == "failed"
    assert (out["lr3-s1"].status, out["lr3-s1"].error) == ("diverged", "dev accuracy is nan")

    summary = summarize_sweep(sweep, out)
    best = summary["best"]
    assert best["setting"] == {"lr": 2} and best["seeds"] == [1, 2]
    assert best["dev"]["accuracy"] == {"mean": pytest.approx(0.86), "std": pytest.approx(0.0282843, abs=1e-6),
                                       "n": 2}
    assert best["test"]["accuracy"] == {"mean": pytest.approx(0.77), "std": pytest.approx(0.0282843, abs=1e-6),
                                        "n": 2}
    assert [s["setting"]["lr"] for s in summary["settings"]] == [2, 1, 3]
    assert summary["settings"][1]["dev"]["accuracy"]["std"] == pytest.approx(0.0707107, abs=1e-6)
    assert summary["settings"][2]["failed"] == ["lr3-s1", "lr3-s2"]
    md = (sweep.folder / "summary.md").read_text()
    assert "dev accuracy: 0.8600 ± 0.0283" in md and "test accuracy: 0.7700 ± 0.0283" in md


def test_kill_mid_sweep_keeps_finished_records_and_rerun_completes(fake, tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(fake_spec(fake, tmp_path, {"lr": [1e-4], "seed": [1, 2, 3]})))
    command = [sys.executable, str(ROOT / "scripts" / "grid_search.py"), "--spec", str(spec_path)]
    proc = subprocess.Popen(command, cwd=tmp_path, env={**os.environ, "FAKE_BLOCK_SEED": "2"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    records_path = tmp_path / "runs" / "sweep" / RECORDS_FILE
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until trial 1 is recorded and trial 2 hangs
            if records_path.exists() and "lr0.0001-s2" in calls(fake):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the sweep did not reach its second trial")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its driver, with no chance to clean up
        proc.wait()

    kept = json.loads(records_path.read_text())["trials"]
    assert [(r["trial_id"], r["status"]) for r in kept] == [("lr0.0001-s1", "finished")]

    sweep = build_sweep(yaml.safe_load(spec_path.read_text()), "spec")
    out = run_sweep(sweep)
    assert {k: r.status for k, r in out.items()} == {f"lr0.0001-s{s}": "finished" for s in (1, 2, 3)}
    assert calls(fake) == ["lr0.0001-s1", "lr0.0001-s2", "lr0.0001-s2", "lr0.0001-s3"]


def test_gpus_run_trials_side_by_side_one_device_each(fake, tmp_path):
    sweep = build_sweep(fake_spec(fake, tmp_path, {"lr": [1e-4, 2e-4], "seed": [1, 2]}, sleep=0.6), "spec")
    run_sweep(sweep, make_slots("0,1", 1))
    lines = [line.split() for line in fake[1].read_text().splitlines()]
    assert {device for _, device, _ in lines} == {"0", "1"}
    starts = sorted(float(t) for _, _, t in lines)
    assert starts[1] - starts[0] < 0.5, "the first two trials should start together"


def test_several_gpus_per_trial_go_through_deepspeed(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    slots = make_slots("0,1,2,3", 2)
    assert [s.launcher() for s in slots] == [
        ["deepspeed", "--include", "localhost:0,1", "--master_port", "29500"],
        ["deepspeed", "--include", "localhost:2,3", "--master_port", "29501"]]
    assert "CUDA_VISIBLE_DEVICES" not in slots[0].env()  # the launcher sets it from --include
    assert make_slots("3", 1)[0].env()["CUDA_VISIBLE_DEVICES"] == "3"
    assert make_slots(None, 1) == [Slot()]
    with pytest.raises(SpecError, match="3 devices, which do not split into trials of 2"):
        make_slots("0,1,2", 2)
    with pytest.raises(SpecError, match="needs --gpus"):
        make_slots(None, 2)


def test_dry_run_prints_commands_and_runs_nothing(tmp_path, capsys):
    code = main(["--name", "dry", "--save-dir", str(tmp_path / "runs"), "--set", "lr=1e-5,2e-5",
                 "--gpus", "0,1", "--dry-run", "--", "--task", "rte"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("CUDA_VISIBLE_DEVICES=0 ") and lines[1].startswith("CUDA_VISIBLE_DEVICES=1 ")
    assert lines[1].endswith(f"finetune_glm.py --task rte --lr 2e-05 --experiment-name dry/lr2e-05 "
                             f"--save-dir {tmp_path / 'runs'}")
    assert not (tmp_path / "runs").exists()


def test_run_dir_without_results_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(RunDirError, match=re.escape(f"{tmp_path / 'results.json'}: not found")):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(RunDirError, match="results.json: not valid JSON"):
        load_run(tmp_path)


def test_a_sweep_folder_reports_the_same_best_setting(fake, tmp_path):
    from analysis.report import write_report

    spec = fake_spec(fake, tmp_path, {"lr": [1e-4, 2e-4], "batch_size": [8, 16], "seed": [1, 2]},
                     raise_at_lr=1e-4)
    sweep = build_sweep(spec, "spec")
    summary = summarize_sweep(sweep, run_sweep(sweep))
    assert summary["best"]["setting"] == {"lr": 0.0002, "batch_size": 16}

    report = write_report([str(sweep.folder)], tmp_path / "report")
    with open(report.parent / "fake" / "comparison.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    dev, test = (Stat(**summary["best"][split]["accuracy"]) for split in ("dev", "test"))
    assert (row["method"], row["best hyperparameters"], row["seeds"]) == ("GLM cloze (prompt)",
                                                                          "lr=0.0002, batch_size=16", "2")
    assert float(row["dev accuracy ×100 mean"]) == pytest.approx(dev.mean)
    assert float(row["test accuracy ×100 std"]) == pytest.approx(test.std)
    page = report.read_text()
    assert "| sweep/lr0.0001-bs8-s1 | failed | RuntimeError: CUDA out of memory (simulated) |" in page


def test_a_cloze_eval_axis_compares_the_linear_head_in_the_report(fake, tmp_path):
    from analysis.report import write_report

    sweep = build_sweep(fake_spec(fake, tmp_path, {"cloze_eval": [True, False], "seed": [1, 2]}, lr=1e-4), "spec")
    out = run_sweep(sweep)
    assert {r.status for r in out.values()} == {"finished"}
    # --no-cloze-eval reached the driver: its run directories record the linear head.
    methods = {t.trial_id: json.loads((sweep.run_dir(t) / "config.json").read_text())["identity"]["method"]
               for t in sweep.trials}
    assert methods == {"clozeon-s1": "cloze", "clozeon-s2": "cloze",
                       "clozeoff-s1": "classifier", "clozeoff-s2": "classifier"}
    summary = summarize_sweep(sweep, out)
    assert summary["best"]["setting"] == {"cloze_eval": True}
    assert summary["best"]["dev"]["accuracy"]["mean"] == pytest.approx(0.695)  # 0.5 + 0.1 + 0.08 + 0.015
    per_method = summary["best_per_method"]  # by the runs' identity, not by the swept flag
    assert sorted(per_method) == ["classifier", "cloze"]
    assert per_method["classifier"]["dev"]["accuracy"]["mean"] == pytest.approx(0.595)
    assert "## Best setting per method" in (sweep.folder / "summary.md").read_text()

    report = write_report([str(sweep.folder)], tmp_path / "report")
    folder = report.parent / "fake"
    best = (folder / "comparison.md").read_text()
    assert "| GLM cloze (prompt) | - | 2 | **69.5 ± 0.7** | **59.5 ± 0.7** |" in best
    assert "| GLM linear head | - | 2 | 59.5 ± 0.7 | 49.5 ± 0.7 |" in best
    # The flag is the method column, not a second column beside it.
    assert "cloze_eval" not in (folder / "grid.csv").read_text()
    assert (folder / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_the_library_needs_no_torch_and_the_clis_run_from_anywhere(tmp_path):
    code = ("import sys, analysis.report, analysis.summary, training.rundir; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'model', 'tasks'}))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", "analysis/ and the run-directory reader must not load torch"
    for script in ("grid_search.py", "report.py"):
        shown = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--help"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout
        assert shown.startswith(f"usage: {script}")


def test_shell_wrapper_passes_the_spec_and_options_through(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "w", "grid": {"lr": [1e-5]}}))
    out = subprocess.run(["bash", str(ROOT / "scripts" / "grid_search.sh"), str(spec), "--dry-run", "--",
                          "--task", "rte"], env={**os.environ, "PYTHON": sys.executable}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("finetune_glm.py --task rte --lr 1e-05 --experiment-name w/lr1e-05 "
                                "--save-dir runs")


def test_commands_find_the_driver_and_repo_paths_from_another_directory(tmp_path, monkeypatch):
    from analysis.sweep import REPO_ROOT, build_sweep

    monkeypatch.chdir(tmp_path)
    sweep = build_sweep({"name": "away", "base_args": {"task": "ag_news", "data_dir": "data/demo/ag_news",
                                                        "save": "mine"}, "grid": {"lr": [1e-3]}}, "test")
    argv = sweep.command_for(sweep.trials[0], ["python"])
    assert str(REPO_ROOT / "finetune_glm.py") in argv and str(REPO_ROOT / "data" / "demo" / "ag_news") in argv
    assert "mine" in argv  # not a repository path: left as the user wrote it
# ---------------------------------------------------------------------------------------------------------
# Zipped axes, placeholders, overrides, keep_best


def test_zip_axes_pair_values_and_placeholders_fill_the_command():
    spec = {"name": "methods",
            "command": ["{launcher}", "{driver}", "{base_args}", "{trial_args}", "--experiment-name", "{experiment}"],
            "grid": {"lr": [1e-3, 2e-3], "seed": [1, 2]},
            "zip": [{"driver": ["finetune_glm.py", "finetune_baseline.py"],
                     "baseline": [None, "roberta"], "model_name_or_path": [None, "checkpoints/roberta-tiny"]}]}
    sweep = build_sweep(spec, "spec.yaml")
    assert len(sweep.trials) == 2 * 2 * 2
    glm = next(t for t in sweep.trials if t.params["driver"] == "finetune_glm.py")
    base = next(t for t in sweep.trials if t.params["baseline"] == "roberta")
    assert glm.args == ("--lr", "0.001", "--seed", "1") and "--baseline" not in sweep.command_for(glm, ["py"])
    assert sweep.command_for(base, ["py"])[:2] == ["py", "finetune_baseline.py"]
    assert "--model-name-or-path" in base.args and "checkpoints/roberta-tiny" in base.args
    assert "driver" not in " ".join(base.args), "a key used as a placeholder is not also a flag"
    assert len({t.trial_id for t in sweep.trials}) == 8
    with pytest.raises(SpecError, match="every key needs a list of the same length"):
        build_sweep({**spec, "zip": [{"baseline": ["roberta", "bart"], "model_name_or_path": ["r"]}]}, "s")
    with pytest.raises(SpecError, match="key 'lr' is swept twice"):
        build_sweep({**spec, "zip": [{"lr": [1, 2], "seed_x": [1, 2]}]}, "s")


def test_arguments_after_the_separator_replace_base_arguments_instead_of_duplicating_them():
    spec = {"name": "x", "base_args": {"task": "ag_news", "epochs": 4, "cloze_eval": True}, "grid": {"lr": [1e-3]}}
    sweep = build_sweep(spec, "s", extra_args=["--epochs", "6", "--no-cloze-eval"])
    assert sweep.base_args == ("--task", "ag_news", "--epochs", "6", "--no-cloze-eval")


def test_keep_best_prunes_checkpoints_of_all_but_the_sweeps_best_setting(fake, tmp_path):
    from analysis.runner import prune_checkpoints

    spec = fake_spec(fake, tmp_path, {"lr": [1e-4, 2e-4], "seed": [1, 2]})
    with pytest.raises(SpecError, match="keep_best' must be one of trial, sweep, none"):
        build_sweep({**spec, "keep_best": "all"}, "s")
    sweep = build_sweep({**spec, "keep_best": "sweep"}, "spec")
    out = run_sweep(sweep)
    for trial in sweep.trials:  # the fake driver writes no checkpoint; give each finished trial one
        (sweep.run_dir(trial) / "best").mkdir(exist_ok=True)
    partial = {k: v for k, v in out.items() if k != "lr0.0002-s2"}  # the best setting has one seed to go
    assert prune_checkpoints(sweep, partial) == [], "an incomplete setting is not judged yet"
    prune_checkpoints(sweep, out)
    kept = sorted(t.trial_id for t in sweep.trials if (sweep.run_dir(t) / "best").is_dir())
    assert kept == ["lr0.0002-s1", "lr0.0002-s2"]  # dev grows with lr
    assert all((sweep.run_dir(t) / "results.json").is_file() for t in sweep.trials)
    none = build_sweep({**spec, "keep_best": "none"}, "spec")
    prune_checkpoints(none, out)
    assert not any((sweep.run_dir(t) / "best").exists() for t in sweep.trials)


def test_summary_names_zipped_methods_by_their_label():
    from analysis.summary import named_by_label

    settings = [{"_label": "glm", "driver": "finetune_glm.py", "lr": 1e-3, "epochs": 4},
                {"_label": "glm", "driver": "finetune_glm.py", "lr": 2e-3, "epochs": 4},
                {"_label": "bart", "driver": "finetune_baseline.py", "lr": 1e-3, "epochs": 4}]
    assert named_by_label(settings) == {"driver"}  # lr varies within a label; epochs is the same everywhere
    assert named_by_label([{k: v for k, v in s.items() if k != "_label"} for s in settings]) == frozenset()


def test_output_paths_stay_where_the_sweep_runs_even_if_the_repository_has_them(tmp_path, monkeypatch):
    from analysis.sweep import REPO_ROOT, build_sweep

    monkeypatch.chdir(tmp_path)
    sweep = build_sweep({"name": "away", "base_args": {"task": "ag_news", "data_dir": "data/demo/ag_news",
                                                        "save": "data"}, "grid": {"lr": [1e-3]}}, "test")
    argv = sweep.command_for(sweep.trials[0], ["python"])
    assert str(REPO_ROOT / "data" / "demo" / "ag_news") in argv  # an input: the repository's
    assert argv[argv.index("--save") + 1] == "data"  # an output: here, although the repository has data/ too
