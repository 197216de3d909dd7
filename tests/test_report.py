"""The report on hand-made run directories: tables hold the right numbers, plots are real PNGs, plots whose
dimension is missing are skipped with a reason, the method comes from the run's identity, bad input is a clear
error."""

import csv
import json
import logging
import re
from pathlib import Path

import pytest

from analysis.report import write_report
from scripts.report import main
from training.rundir import RunDirError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


HEADS = {"cloze": "cloze", "classifier": "classifier"}


def write_run(root: Path, name: str, method: str, args: dict, dev: float, test: float, *, curve: bool = True,
              style: str = "driver") -> Path:
    """A run directory as the drivers write it: the method both in `identity` and as args.method (style
    "driver"), only in `identity` ("identity"), or only as args.method, as before identity existed ("legacy")."""
    run = root / name
    run.mkdir(parents=True)
    config = {"args": {"task": "ag_news", "experiment_name": name, "warmup": 0.1, **args}, "command": []}
    if style in ("driver", "legacy"):
        config["args"]["method"] = method
    if style in ("driver", "identity"):
        config["identity"] = {"family": "glm", "head": HEADS[method], "peft": "none", "method": method}
    (run / "config.json").write_text(json.dumps(config))
    (run / "results.json").write_text(json.dumps({
        "status": "finished", "task": "ag_news", "validation_metric": "accuracy",
        "best": {"step": 40, "epoch": 2, "dev": {"accuracy": dev, "f1_macro": round(dev - 0.01, 6)}},
        "test": {"accuracy": test, "f1_macro": round(test - 0.01, 6)}, "error": None}))
    if curve:
        with open(run / "metrics.jsonl", "w") as f:
            for step in range(0, 41, 10):
                f.write(json.dumps({"event": "train", "step": step, "epoch": step // 20,
                                    "loss": round(1.4 / (1 + step / 10) + 0.01 * args["seed"], 6),
                                    "lr": args["lr"]}) + "\n")
                if step in (20, 40):
                    f.write(json.dumps({"event": "eval", "step": step, "epoch": step // 20, "split": "dev",
                                        "accuracy": dev if step == 40 else round(dev - 0.1, 6)}) + "\n")
    return run


def dev_value(method: str, pattern: int, lr: float, bs: int, seed: int) -> float:
    """Cloze beats the linear head by 0.10, pattern 1 beats pattern 0 by 0.02, lr 2e-5 adds 0.04, batch 8
    adds 0.01, seed 2 adds 0.02; so every best setting is lr 2e-5, batch 8 with std 0.02/sqrt(2)."""
    return round(0.70 + 0.10 * (method == "cloze") + 0.02 * pattern + 0.04 * (lr == 2e-5) + 0.01 * (bs == 8)
                 + 0.02 * (seed == 2), 6)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A full grid: cloze with patterns 0 and 1 and the linear head, lr x batch size x 2 seeds, plus one
    diverged run and one run that failed before writing its config."""
    root = tmp_path_factory.mktemp("runs") / "ag_grid"
    for method, patterns in (("cloze", (0, 1)), ("classifier", (0,))):
        for pattern in patterns:
            for lr in (1e-5, 2e-5):
                for bs in (8, 16):
                    for seed in (1, 2):
                        dev = dev_value(method, pattern, lr, bs, seed)
                        write_run(root, f"{method}-p{pattern}-lr{lr}-bs{bs}-s{seed}", method,
                                  {"pattern_id": pattern, "lr": lr, "batch_size": bs, "seed": seed},
                                  dev, round(dev - 0.05, 6))
    write_run(root, "cloze-p0-lr2e-05-bs16-s3", "cloze", {"pattern_id": 0, "lr": 2e-5, "batch_size": 16,
                                                          "seed": 3}, float("nan"), 0.1, curve=False)
    crashed = root / "crashed"
    crashed.mkdir()
    (crashed / "results.json").write_text(json.dumps({
        "status": "failed", "task": "ag_news", "validation_metric": None, "best": None, "test": None,
        "error": "Traceback (most recent call last):\nRuntimeError: CUDA out of memory"}))
    (root / "logs").mkdir()  # sweep folders hold other things too
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_png(path: Path, min_bytes: int = 15_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > min_bytes, f"{path} is suspiciously small ({len(data)} bytes)"


@pytest.fixture(scope="module")
def report(sweep) -> Path:
    return write_report([str(sweep)], sweep.parent / "report")


def test_report_tables_hold_best_settings_with_mean_and_std(report):
    out = report.parent
    folder = out / "ag_news"

    best = {(r["method"], r["prompt"]): r for r in read_csv(folder / "best.csv")}
    assert set(best) == {("cloze", "pattern 0"), ("cloze", "pattern 1"), ("classifier", "pattern 0")}
    expected = {("cloze", "pattern 1"): 0.88, ("cloze", "pattern 0"): 0.86, ("classifier", "pattern 0"): 0.76}
    for key, dev in expected.items():
        row = best[key]
        assert row["setting"] == "lr=2e-05, batch_size=8" and row["seeds"] == "2"
        assert float(row["dev accuracy mean"]) == pytest.approx(dev)
        assert float(row["dev accuracy std"]) == pytest.approx(0.02 / 2 ** 0.5)
        assert float(row["test accuracy mean"]) == pytest.approx(dev - 0.05)
        assert float(row["test f1_macro mean"]) == pytest.approx(dev - 0.06)

    md = (folder / "best.md").read_text()
    assert "| cloze | pattern 1 | lr=2e-05, batch_size=8 | 2 | 0.8800 ± 0.0141 | 0.8300 ± 0.0141 |" in md
    tex = (folder / "best.tex").read_text()
    assert r"\begin{tabular}{lllrrrr}" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    assert "±" not in tex and r"mean $\pm$ std over seeds" in tex
    assert r"cloze & pattern 1 & lr=2e-05, batch\_size=8 & 2 & $0.8800 \pm 0.0141$ & $0.8300 \pm 0.0141$" in tex

    grid = read_csv(folder / "grid.csv")
    assert len(grid) == 3 * 2 * 2 + 1  # every setting, and the crashed run's unknown one
    assert (grid[0]["rank"], grid[0]["method"], grid[0]["prompt"], grid[0]["lr"], grid[0]["batch_size"]) == \
        ("1", "cloze", "pattern 1", "2e-05", "8")
    diverged_setting = next(r for r in grid if (r["method"], r["prompt"], r["lr"], r["batch_size"]) ==
                            ("cloze", "pattern 0", "2e-05", "16"))
    assert (diverged_setting["seeds"], diverged_setting["failed"]) == ("2", "1")
    assert "warmup" not in grid[0], "a constant arg is not a grid dimension"
    assert grid[-1]["seeds"] == "0" and grid[-1]["dev accuracy mean"] == ""

    runs = read_csv(out / "runs.csv")
    assert len(runs) == 3 * 2 * 2 * 2 + 2
    assert {r["status"] for r in runs} == {"finished", "diverged", "failed"}

    page = report.read_text()
    assert "## ag_news" in page and "0.8800 ± 0.0141" in page
    assert "| ag_grid/crashed | failed | RuntimeError: CUDA out of memory |" in page
    assert "| ag_grid/cloze-p0-lr2e-05-bs16-s3 | diverged | dev accuracy is nan |" in page
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page):
        assert (out / image).is_file(), image


def test_report_draws_every_plot_as_a_real_png(report):
    folder = report.parent / "ag_news"
    expected = ["heatmap_lr_batch_size_classifier.png", "heatmap_lr_batch_size_cloze.png",
                "sensitivity_method.png", "sensitivity_prompt.png", "sensitivity_lr.png",
                "sensitivity_batch_size.png", "prompts.png", "cloze_vs_classifier.png",
                "learning_curves_classifier.png", "learning_curves_cloze.png"]
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(expected)
    for name in expected:
        assert_png(folder / name)


def test_missing_dimensions_skip_plots_with_a_reason(tmp_path, caplog):
    root = tmp_path / "one_lr"
    for bs in (8, 16):
        for seed in (1, 2):
            write_run(root, f"bs{bs}-s{seed}", "cloze", {"pattern_id": 0, "lr": 1e-5, "batch_size": bs,
                                                         "seed": seed},
                      dev_value("cloze", 0, 1e-5, bs, seed), 0.5, curve=False)
    out = tmp_path / "report"
    with caplog.at_level(logging.INFO, logger="report"):
        report = write_report([str(root / "*")], out)
    log = caplog.text
    assert "skipped heatmap over lr x batch size: needs at least two values of lr, found 1e-05" in log
    assert "skipped prompt comparison: needs at least two prompts" in log
    assert "skipped cloze vs linear head: needs finished runs of both methods cloze and classifier, " \
           "found ['cloze']" in log
    assert "skipped learning curves: no run at a best setting has metrics.jsonl events" in log
    assert [p.name for p in (out / "ag_news").glob("*.png")] == ["sensitivity_batch_size.png"]
    assert "- heatmap over lr x batch size: skipped, needs at least two values of lr" in report.read_text()


def test_bad_inputs_are_clear_errors(tmp_path, capsys):
    run = tmp_path / "runs" / "half"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"args": {"seed": 1}}))
    with pytest.raises(RunDirError, match=re.escape(f"{run / 'results.json'}: not found")):
        write_report([str(run)], tmp_path / "out")
    with pytest.raises(RunDirError, match="no such file or directory"):
        write_report([str(tmp_path / "nowhere*")], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="neither a run directory nor a folder of run directories"):
        write_report([str(tmp_path / "empty")], tmp_path / "out")
    assert main([str(run), "--out", str(tmp_path / "out")]) == 2


def test_method_comes_from_identity_and_old_run_dirs_fall_back_to_args_method(tmp_path):
    """The same runs written with identity only, as the drivers write them, and as before identity existed give
    the same tables."""
    tables = {}
    for style in ("identity", "driver", "legacy"):
        root = tmp_path / style
        for method in ("cloze", "classifier"):
            for seed in (1, 2):
                dev = dev_value(method, 0, 2e-5, 8, seed)
                write_run(root, f"{method}-s{seed}", method, {"pattern_id": 0, "lr": 2e-5, "batch_size": 8,
                                                              "seed": seed}, dev, dev - 0.05, curve=False)
        out = write_report([str(root)], tmp_path / f"report_{style}").parent / "ag_news"
        tables[style] = [(out / name).read_text() for name in ("best.csv", "grid.csv")]
    assert tables["identity"] == tables["driver"] == tables["legacy"]
    best = {r["method"]: r for r in read_csv(tmp_path / "report_identity" / "ag_news" / "best.csv")}
    assert float(best["cloze"]["dev accuracy mean"]) == pytest.approx(0.86)  # dev_value: 0.85 + 0.02 * (seed 2)/2
    assert float(best["classifier"]["dev accuracy mean"]) == pytest.approx(0.76)


@pytest.mark.parametrize("identity, message", [
    ({"family": "glm", "head": "cloze", "peft": "none", "method": "classifier"},
     "identity.method 'classifier' and args.method 'cloze' disagree"),
    ({"family": "glm", "head": "cloze", "method": "cloze"}, "identity.peft must be a non-empty string, got None"),
    ("cloze", "key 'identity' must be a mapping with keys family, head, peft, method"),
])
def test_a_bad_identity_is_a_clear_error(tmp_path, identity, message):
    run = write_run(tmp_path, "r", "cloze", {"pattern_id": 0, "lr": 1e-5, "batch_size": 8, "seed": 1}, 0.8, 0.7)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "identity": identity}))
    with pytest.raises(RunDirError, match=re.escape(f"{run / 'config.json'}: {message}")):
        write_report([str(run)], tmp_path / "out")


def test_leftover_folders_are_skipped_with_a_warning_and_tasks_split_by_metric(tmp_path, caplog):
    root = tmp_path / "runs"
    for seed in (1, 2):
        write_run(root, f"acc-s{seed}", "cloze", {"pattern_id": 0, "lr": 2e-5, "batch_size": 8, "seed": seed}, 0.8, 0.7,
                  curve=False)
        run = write_run(root, f"f1-s{seed}", "cloze", {"pattern_id": 1, "lr": 2e-5, "batch_size": 8, "seed": seed}, 0.6,
                        0.5, curve=False)
        results = json.loads((run / "results.json").read_text())
        results["validation_metric"] = "f1_macro"
        (run / "results.json").write_text(json.dumps(results))
    (root / "notes").mkdir()  # not a run
    with caplog.at_level("WARNING"):
        report = write_report([str(root / "*")], tmp_path / "out")
    assert any("notes: skipped, neither a run directory" in m for m in caplog.messages)
    page = report.read_text()
    assert "## ag_news [accuracy]" in page and "## ag_news [f1_macro]" in page


def test_promptsource_runs_are_named_by_template(tmp_path):
    root = tmp_path / "runs"
    for seed in (1, 2):
        run = write_run(root, f"t-s{seed}", "cloze", {"prompt": "14", "lr": 2e-5, "batch_size": 8, "seed": seed}, 0.8, 0.7,
                        curve=False)
        config = json.loads((run / "config.json").read_text())
        config["identity"].update(task="promptsource:trec", prompt={"id": 14, "name": "trec1"})
        (run / "config.json").write_text(json.dumps(config))
    page = (write_report([str(root)], tmp_path / "out").parent / "ag_news" / "best.md").read_text()
    assert "| trec1 |" in page
