"""scripts/reproduce_superglue.py: the lr chosen by mean dev over seeds, mean ± std, the paper's numbers and
average (pairs first), unfinished runs listed and kept out of the means, resumability (finished runs are not
run again). The runs themselves are the entry script's (test_superglue_entry.py)."""

import json
import statistics

import pytest

from scripts import reproduce_superglue as rs


def write_run(root, task, lr, seed, dev, status="finished", metric=None):
    run = root / task / rs.run_name(lr, seed)
    run.mkdir(parents=True)
    metric = metric or next(iter(dev), "accuracy")
    (run / "results.json").write_text(json.dumps({"status": status, "validation_metric": metric,
                                                  "best": {"step": 1, "epoch": 1, "dev": dev} if dev else None}))


def test_the_table_chooses_the_lr_by_mean_dev_and_averages_the_papers_way(tmp_path):
    write_run(tmp_path, "rte", 1e-5, 1, {"accuracy": 0.80})
    write_run(tmp_path, "rte", 1e-5, 2, {"accuracy": 0.70})  # mean 0.75
    write_run(tmp_path, "rte", 2e-5, 1, {"accuracy": 0.90})
    write_run(tmp_path, "rte", 2e-5, 2, {"accuracy": 0.50})  # mean 0.70: not chosen although it has the best run
    write_run(tmp_path, "cb", 1e-5, 1, {"accuracy": 0.9, "macro_f1": 0.8})
    write_run(tmp_path, "cb", 1e-5, 2, {}, status="failed")
    write_run(tmp_path, "cb", 2e-5, 1, {"accuracy": 0.5, "macro_f1": 0.5})
    rows = [rs.collect(tmp_path, t, [1e-5, 2e-5], [1, 2]) for t in ("rte", "cb")]
    assert rows[0].lr == 1e-5 and rows[0].metrics["accuracy"].mean == pytest.approx(75.0)
    assert rows[0].metrics["accuracy"].std == pytest.approx(statistics.stdev([80.0, 70.0]))
    assert rows[1].lr == 1e-5 and rows[1].seeds == [1] and rows[1].unfinished == ["lr1e-05-s2 (failed)", "lr2e-05-s2 (not run)"]
    text, record = rs.table(rows, "glm_tiny")
    assert "| RTE | Acc | 75.0 ± 7.1 | 87.7 | -12.7 | 1e-05 | 2 |" in text
    assert "| CB | F1 | 80.0 ± 0.0 | 98.7 | -18.7 | 1e-05 | 1 |" in text
    assert record["average"] is None and "n/a (no result for ReCoRD, COPA, WSC, BoolQ, WiC, MultiRC)" in text
    assert "CB lr1e-05-s2 (failed)" in text
    assert "pairs first): 82.91" in text  # the paper's rows give its 82.9


def test_the_average_over_all_eight_tasks(tmp_path):
    dev = {"record": {"em": 0.5, "f1": 0.7}, "copa": {"accuracy": 0.6}, "wsc": {"accuracy": 0.6}, "rte": {"accuracy": 0.6},
           "boolq": {"accuracy": 0.6}, "wic": {"accuracy": 0.6}, "cb": {"accuracy": 0.8, "macro_f1": 0.4},
           "multirc": {"f1a": 0.9, "em": 0.3, "accuracy": 0.5}}
    for task, metrics in dev.items():
        write_run(tmp_path, task, 1e-5, 1, metrics)
    text, record = rs.table([rs.collect(tmp_path, t, [1e-5], [1]) for t in rs.TASKS], "m")
    assert record["average"] == pytest.approx(60.0)  # every task's pair averages to 60
    assert "| **Average** | | 60.0 | 82.9 | -22.9 | | |" in text


def test_finished_runs_are_not_run_again(tmp_path, monkeypatch):
    write_run(tmp_path, "rte", 1e-5, 1, {"accuracy": 0.8})
    monkeypatch.setattr(rs.subprocess, "run", lambda *a, **k: pytest.fail("a finished run was started again"))
    assert rs.run_task("rte", "m.sh", tmp_path, "data", 1e-5, 1, []) == "skipped"


def test_unknown_tasks_and_task_args_are_errors(tmp_path):
    with pytest.raises(SystemExit, match="unknown task"):
        rs.main(["--model", "m.sh", "--tasks", "rte,mnli", "--save-dir", str(tmp_path), "--report-only"])
    with pytest.raises(SystemExit, match="'mnli' is not one of"):
        rs.main(["--model", "m.sh", "--task-args", "mnli=--x", "--save-dir", str(tmp_path), "--report-only"])
