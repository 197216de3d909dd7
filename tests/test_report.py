"""The report on hand-made run directories with known values: the comparison table (GLM first, mean ± std,
intervals, params), the paired bootstrap against a direct computation, McNemar, the variance shares, prompt
spread and rank stability, plots that refuse to pool unequal groups, a mixed GLM + baseline report that needs no
flags to ignore, the paper/ output, and clear errors for bad input."""

import csv
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.compare import compare
from analysis.plots import UnequalGroups, cell_means, plot_heatmap
from analysis.report import write_report
from analysis.runs import find_run_dirs, load_runs, task_data
from analysis.sensitivity import variance_shares
from analysis.significance import bootstrap_interval, kendall_tau, mcnemar, paired_bootstrap, rouge_l_f1
from scripts.report import main
from training.rundir import RunDirError, hyperparameters_of, load_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N_TEST = 100
HEADS = {"cloze": "cloze", "classifier": "classifier", "ptuning_v2": "cloze", "roberta_linear": "linear"}
FAMILIES = {"roberta_linear": "roberta"}
PEFT = {"ptuning_v2": "prefix"}


def write_run(root: Path, name: str, method: str, args: dict, dev: float, test: float, *, curve: bool = True,
              style: str = "driver", task: str = "ag_news", predictions: bool = True,
              params: tuple[int, int] = (1000, 1000), offset: int = 0) -> Path:
    """A run directory as the drivers write it (style "driver"), with identity only ("identity"), or as before
    identity and recorded hyperparameters existed ("legacy": the method as args.method). Test predictions:
    round(test * 100) of 100 examples are right, from example `offset` on (cyclically), so accuracy from the
    predictions equals `test`."""
    run = root / name
    run.mkdir(parents=True)
    family, peft = FAMILIES.get(method, "glm"), PEFT.get(method, "none")
    all_args = {"task": task, "experiment_name": name, "warmup": 0.1, **args}
    config = {"args": dict(all_args), "command": []}
    if style in ("driver", "legacy"):
        config["args"]["method"] = method
    if style in ("driver", "identity"):
        prompt = None if method == "classifier" or family != "glm" else \
            {"id": args.get("pattern_id", 0), "name": f"p{args.get('pattern_id', 0)}", "text": "[X] It is about [MASK]."}
        config["identity"] = {"family": family, "head": HEADS[method], "peft": peft, "method": method,
                              "task": task, "kind": "classification", "prompt": prompt,
                              "model": f"checkpoints/{family}", "params": {"total": params[0], "trainable": params[1]}}
    if style == "driver":
        config["hyperparameters"] = hyperparameters_of(config["args"], peft)
    (run / "config.json").write_text(json.dumps(config))
    (run / "results.json").write_text(json.dumps({
        "status": "finished", "task": task, "validation_metric": "accuracy",
        "best": {"step": 40, "epoch": 2, "dev": {"accuracy": dev, "f1_macro": round(dev - 0.01, 6)}},
        "test": {"accuracy": test, "f1_macro": round(test - 0.01, 6)}, "error": None,
        "cost": {"wall_s": 2.0, "tokens_seen": 500}}))
    if predictions:
        right = round(test * N_TEST)
        rows = [{"idx": i, "label": "a", "prediction": "a" if correct(i, right, offset) else "b"} for i in range(N_TEST)]
        (run / "predictions_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
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


def correct(i: int, right: int, offset: int) -> bool:
    return (i - offset) % N_TEST < right


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
                                  dev, round(dev - 0.05, 6), offset=50 * pattern)
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


def assert_png(path: Path, min_bytes: int = 10_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > min_bytes, f"{path} is suspiciously small ({len(data)} bytes)"
    assert path.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"


@pytest.fixture(scope="module")
def report(sweep) -> Path:
    return write_report([str(sweep)], sweep.parent / "report")


def test_comparison_table_has_best_settings_glm_first_with_intervals(report):
    folder = report.parent / "ag_news"
    rows = read_csv(folder / "comparison.csv")
    assert [(r["method"], r["prompt"]) for r in rows] == \
        [("GLM cloze (prompt)", "p0"), ("GLM cloze (prompt)", "p1"), ("GLM linear head", "-")]
    expected = {"p0": 0.86, "p1": 0.88, "-": 0.76}
    for row in rows:
        dev, offset = expected[row["prompt"]], 50 * (row["prompt"] == "p1")
        assert row["seeds"] == "2" and row["best hyperparameters"] == "lr=2e-05, batch_size=8"
        assert float(row["dev accuracy ×100 mean"]) == pytest.approx(dev)
        assert float(row["dev accuracy ×100 std"]) == pytest.approx(0.02 / 2 ** 0.5)
        assert float(row["test accuracy ×100 mean"]) == pytest.approx(dev - 0.05)
        assert row["params (trainable / total)"] == "1K / 1K" and row["time/run (s)"] == "2.0"
        # the interval is the bootstrap over the 100 test examples of the seed-averaged correctness
        seed_1, seed_2 = round((dev - 0.06) * N_TEST), round((dev - 0.04) * N_TEST)
        scores = np.array([(correct(i, seed_1, offset) + correct(i, seed_2, offset)) / 2 for i in range(N_TEST)])
        low, high = bootstrap_interval(scores)
        assert row["test 95% CI"] == f"{low:.6g} {high:.6g}"
    md = (folder / "comparison.md").read_text()
    assert "| GLM cloze (prompt) | p1 | 2 | **88.0 ± 1.4** | **83.0 ± 1.4** |" in md
    tex = (report.parent / "paper" / "ag_news_comparison.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and "±" not in tex
    assert r"$\mathbf{88.0} \pm 1.4$" in tex and r"$86.0 \pm 1.4$" in tex


def test_significance_rows_against_the_best_dev_row_match_a_direct_bootstrap(report, sweep):
    rows = {(r["method"], r["prompt"]): r for r in read_csv(report.parent / "ag_news" / "significance.csv")}
    assert set(rows) == {("GLM cloze (prompt)", "p0"), ("GLM linear head", "-")}  # reference: p1, best on dev
    ref = np.array([(correct(i, 82, 50) + correct(i, 84, 50)) / 2 for i in range(N_TEST)])  # p1: 0.82 / 0.84
    head = np.array([(float(i < 70) + float(i < 72)) / 2 for i in range(N_TEST)])
    direct = paired_bootstrap(head, ref)
    row = rows[("GLM linear head", "-")]
    assert float(row["Δ vs reference ×100 mean"]) == pytest.approx(-0.12)
    assert row["Δ 95% CI"] == f"{direct.low:.6g} {direct.high:.6g}"
    assert row["p (bootstrap)"] == ("< 0.001" if direct.p < 0.001 else f"{direct.p:.3f}")
    assert row["only this / only ref. right"] == "18 / 30"  # majority right: 0-69 vs 50-99 and 0-31
    assert direct.low < 0 < direct.high and row["p < 0.05"] == "no"  # 12 points on 100 examples, 48 discordant
    findings = (report.parent / "paper" / "findings.md").read_text()
    assert "Best on dev: GLM cloze (prompt) with prompt `p1`: dev 88.0 ± 1.4 (n=2), test 83.0 ± 1.4 (n=2)" in findings
    assert "Prompt vs linear head" in findings and "significant (paired bootstrap over 100 test examples)" in findings
    assert "not significant" in findings  # p0 vs p1: 2 points apart on 100 examples
    assert "Not significantly different from the reference GLM cloze (prompt) with prompt `p1`" in findings


def test_paired_bootstrap_equals_the_direct_computation_with_a_fixed_seed():
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 2, 60).astype(float), rng.integers(0, 2, 60).astype(float)
    result = paired_bootstrap(a, b, samples=500, seed=3)
    index = np.random.default_rng(3).integers(0, 60, size=(500, 60))
    deltas = [a[row].mean() - b[row].mean() for row in index]
    assert result.delta == pytest.approx(a.mean() - b.mean())
    assert (result.low, result.high) == pytest.approx(tuple(np.percentile(deltas, [2.5, 97.5])))
    below, above = sum(d <= 0 for d in deltas) / 500, sum(d >= 0 for d in deltas) / 500
    assert result.p == pytest.approx(min(1.0, 2 * min(below, above)))
    same = paired_bootstrap(a, a.copy())
    assert (same.delta, same.low, same.high, same.p) == (0.0, 0.0, 0.0, 1.0)
    better = paired_bootstrap(np.ones(50), np.r_[np.ones(25), np.zeros(25)])
    assert better.low > 0 and better.p < 0.001


def test_mcnemar_exact_p_on_known_counts():
    a = np.array([1] * 8 + [0] * 2 + [1] * 30 + [0] * 10)
    b = np.array([0] * 8 + [1] * 2 + [1] * 30 + [0] * 10)
    result = mcnemar(a, b)
    assert (result.only_a, result.only_b, result.n) == (8, 2, 50)
    assert result.p == pytest.approx(2 * (1 + 10 + 45) / 2 ** 10)  # 2 * P(X <= 2), X ~ Bin(10, 1/2)
    assert mcnemar(a, a).p == 1.0


def test_kendall_tau_and_rouge_l():
    assert kendall_tau([1, 2, 3], [1, 2, 3]) == 1.0 and kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert rouge_l_f1("7 red foxes", "7 red foxes") == 1.0
    assert rouge_l_f1("red 7 foxes", "7 red foxes") == pytest.approx(2 / 3)  # LCS 2 of 3 both ways


def test_variance_shares_of_a_balanced_additive_grid_are_the_effect_variances():
    rows = [{"lr": lr, "bs": bs, "seed": s, "dev": 0.5 + 0.02 * (2 * lr - 1) + 0.01 * (2 * bs - 1) + 0.005 * (2 * s - 1)}
            for lr in (0, 1) for bs in (0, 1) for s in (0, 1)]
    shares, seed, other = variance_shares(pd.DataFrame(rows), ["lr", "bs"])
    total = 0.02 ** 2 + 0.01 ** 2 + 0.005 ** 2
    assert shares["lr"] == pytest.approx(0.02 ** 2 / total)
    assert shares["bs"] == pytest.approx(0.01 ** 2 / total)
    assert seed == pytest.approx(0.005 ** 2 / total) and other == pytest.approx(0.0, abs=1e-12)


def test_sensitivity_and_prompt_tables_hold_the_known_effects(report):
    folder = report.parent / "ag_news"
    sens = {(r["method"], r["axis"]): r for r in read_csv(folder / "sensitivity.csv")}
    # cloze: effects lr ±0.02, prompt ±0.01, batch ±0.005, seed ±0.01 -> variance 4 : 1 : 0.25 : 1
    lr = sens[("GLM cloze (prompt)", "lr")]
    assert float(lr["range ×100 mean"]) == pytest.approx(0.04) and lr["variance share"] == "64%"
    assert sens[("GLM cloze (prompt)", "prompt")]["variance share"] == "16%"
    assert sens[("GLM cloze (prompt)", "batch_size")]["variance share"] == "4%"
    assert lr["seed share"] == "16%" and float(lr["mean seed std ×100 mean"]) == pytest.approx(0.02 / 2 ** 0.5)
    assert lr["values (others at best)"] == "1e-05, 2e-05"
    assert ("GLM linear head", "prompt") not in sens, "the linear head reads no prompt"
    prompts = read_csv(folder / "prompts.csv")
    assert len(prompts) == 1 and prompts[0]["best prompt (dev)"] == "p1"
    assert float(prompts[0]["range ×100 mean"]) == pytest.approx(0.02)
    assert prompts[0]["Kendall τ across seeds"] == "1.00" and prompts[0]["best prompt wins in seeds"] == "2 / 2"


def test_report_page_grid_and_every_plot(report):
    out = report.parent
    folder = out / "ag_news"
    grid = read_csv(folder / "grid.csv")
    assert len(grid) == 3 * 2 * 2 + 1  # every setting, and the crashed run's unknown one
    assert (grid[0]["method"], grid[0]["prompt"], grid[0]["lr"], grid[0]["batch_size"]) == \
        ("GLM cloze (prompt)", "p1", "2e-05", "8")
    assert "warmup" not in grid[0], "a constant hyperparameter is not a grid dimension"
    runs = read_csv(out / "runs.csv")
    assert len(runs) == 3 * 2 * 2 * 2 + 2 and {r["status"] for r in runs} == {"finished", "diverged", "failed"}
    page = report.read_text()
    assert "| ag_grid/crashed | failed | RuntimeError: CUDA out of memory |" in page
    assert "| ag_grid/cloze-p0-lr2e-05-bs16-s3 | diverged | dev accuracy is nan |" in page
    assert "`p0`: `[X] It is about [MASK].`" in page
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page):
        assert (out / image).is_file(), image
    expected = ["comparison.png", "heatmap_lr_batch_size.png", "sensitivity_prompt.png", "sensitivity_lr.png",
                "sensitivity_batch_size.png", "prompts.png", "learning_curves_classifier.png",
                "learning_curves_cloze.png"]
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(expected)
    for name in expected:
        assert_png(folder / name)
        assert (out / "paper" / "figures" / f"ag_news_{Path(name).stem}.pdf").is_file()


def test_heatmap_cells_never_pool_unequal_groups(tmp_path):
    frame = pd.DataFrame([{"lr": lr, "batch_size": bs, "epochs": ep, "dev": 0.5}
                          for lr in (1, 2) for bs in (8, 16) for ep in ((3, 6) if (lr, bs) == (1, 8) else (3,))])
    with pytest.raises(UnequalGroups, match="different epochs values"):
        cell_means(frame, "batch_size", "lr", ["epochs"])
    mean, n = cell_means(frame[frame["epochs"] == 3], "batch_size", "lr", ["epochs"])
    assert n.to_numpy().tolist() == [[1, 1], [1, 1]]
    # the same through the report's data: one method and prompt, epochs swept only in one lr x batch cell
    root = tmp_path / "runs"
    for lr in (1e-5, 2e-5):
        for bs in (8, 16):
            for ep in ((3, 6) if (lr, bs) == (1e-5, 8) else (3,)):
                write_run(root, f"lr{lr}-bs{bs}-ep{ep}", "cloze",
                          {"pattern_id": 0, "lr": lr, "batch_size": bs, "epochs": ep, "seed": 1}, 0.8, 0.7,
                          curve=False, predictions=False)
    data = task_data("ag_news", load_runs(find_run_dirs([str(root)])))
    with pytest.raises(UnequalGroups):
        plot_heatmap(data, tmp_path)


def test_heatmap_facets_prompts_instead_of_pooling_them(report):
    """Two prompts at 86/88: one panel each (the file is one figure), never a pooled 0.87 cell."""
    data = task_data("ag_news", load_runs(find_run_dirs([str(report.parent.parent / "ag_grid")])))
    frame = data.frame()
    part = frame[(frame["method"] == "cloze") & (frame["prompt"] == "p1")]
    mean, n = cell_means(part, "batch_size", "lr", [])
    assert mean.loc[8, 2e-5] == pytest.approx(0.88) and n.loc[8, 2e-5] == 2


def test_a_mixed_glm_and_baseline_report_needs_no_ignore_flags(tmp_path):
    """GLM runs (promptsource prompts, cloze, linear head, P-tuning v2) and RoBERTa runs on the same data set,
    each with the identity flags of its driver, land in one table with only lr as an axis."""
    root = tmp_path / "mixed"
    glm_flags = {"load_pretrained": "checkpoints/glm", "cloze_eval": True, "multi_token_layout": "packed",
                 "list_prompts": False, "allow_non_original": False, "output_dropout": 0.1, "mask_pad_token": True}
    for seed in (1, 2):
        for lr in (1e-4, 2e-4):
            for prompt in (0, 1):
                write_run(root, f"glm-p{prompt}-lr{lr}-s{seed}", "cloze",
                          {**glm_flags, "pattern_id": prompt, "lr": lr, "seed": seed}, 0.8 + 0.01 * prompt,
                          0.78, task="promptsource:ag_news", params=(5_200_000, 5_200_000))
            write_run(root, f"pt-lr{lr}-s{seed}", "ptuning_v2",
                      {**glm_flags, "pattern_id": 0, "ptuning_v2": True, "pre_seq_len": 16,
                       "prefix_projection": False, "lr": lr, "seed": seed}, 0.75, 0.74,
                      task="promptsource:ag_news", params=(5_300_000, 41_000))
            write_run(root, f"head-lr{lr}-s{seed}", "classifier", {**glm_flags, "cloze_eval": False,
                      "pattern_id": 0, "lr": lr, "seed": seed}, 0.7, 0.7, task="ag_news")
            write_run(root, f"roberta-lr{lr}-s{seed}", "roberta_linear",
                      {"baseline": "roberta", "model_name_or_path": "checkpoints/roberta-tiny", "source_prefix": "",
                       "hidden_dropout": None, "output_dropout": None, "lr": lr, "seed": seed}, 0.72, 0.7)
    assert main([str(root), "--out", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "ag_news"
    rows = read_csv(folder / "comparison.csv")
    assert [r["method"] for r in rows] == ["GLM cloze (prompt)", "GLM cloze (prompt)", "GLM linear head",
                                           "GLM P-tuning v2 (cloze)", "RoBERTa linear head"]
    assert rows[3]["params (trainable / total)"] == "41K / 5.3M"
    grid_header = next(csv.reader(open(folder / "grid.csv")))
    assert grid_header[:5] == ["rank", "method", "prompt", "lr", "seeds"]
    assert not [h for h in grid_header if any(f in h for f in ("baseline", "model_name", "cloze_eval", "prefix",
                                                                 "pre_seq_len", "source_prefix", "dropout"))]
    assert sorted(p.name for p in folder.glob("sensitivity_*.png")) == ["sensitivity_lr.png",
                                                                       "sensitivity_prompt.png"]


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
    assert "skipped heatmap over lr x batch size: needs at least two values of lr within one method and " \
           "prompt, found 1e-05" in log
    assert "skipped prompt comparison: needs at least two prompts" in log
    assert "skipped comparison: needs at least two methods or prompts" in log
    assert "skipped learning curves: no run at a best setting has metrics.jsonl events" in log
    assert [p.name for p in (out / "ag_news").glob("*.png")] == ["sensitivity_batch_size.png"]
    assert "- heatmap over lr x batch size: skipped, needs at least two values of lr" in report.read_text()


def test_bad_inputs_are_clear_errors(tmp_path, caplog):
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
    good = tmp_path / "good"
    write_run(good, "r", "cloze", {"pattern_id": 0, "lr": 1e-5, "seed": 1}, 0.8, 0.7, curve=False)
    assert main([str(good), "--out", str(tmp_path / "out2"), "--reference", "t5"]) == 2
    assert "--reference 't5' names no row of ag_news; rows: cloze:p0" in caplog.text


def test_method_comes_from_identity_and_old_run_dirs_fall_back_to_args(tmp_path):
    """The same runs written by the drivers, with identity only, and as before identity and recorded
    hyperparameters existed give the same numbers."""
    tables = {}
    for style in ("identity", "driver", "legacy"):
        root = tmp_path / style
        for method in ("cloze", "classifier"):
            for seed in (1, 2):
                dev = dev_value(method, 0, 2e-5, 8, seed)
                write_run(root, f"{method}-s{seed}", method, {"pattern_id": 0, "lr": 2e-5, "batch_size": 8,
                                                              "seed": seed}, dev, dev - 0.05, curve=False,
                          style=style)
        out = write_report([str(root)], tmp_path / f"report_{style}").parent / "ag_news"
        tables[style] = [(r["method"], r["prompt"], round(float(r["dev accuracy ×100 mean"]), 6),
                          round(float(r["test accuracy ×100 mean"]), 6)) for r in read_csv(out / "comparison.csv")]
    assert tables["identity"] == tables["driver"] == tables["legacy"]
    assert tables["driver"] == [("GLM cloze (prompt)", "p0", 0.86, 0.81), ("GLM linear head", "-", 0.76, 0.71)]
    legacy = load_run(tmp_path / "legacy" / "cloze-s1")
    assert legacy.hyperparameters == {"lr": 2e-5, "batch_size": 8, "warmup": 0.1}
    assert legacy.identity.params_total is None and legacy.cost["wall_s"] == 2.0


def test_hyperparameters_are_the_tunable_flags_and_the_peft_sizes_of_the_method_used():
    args = {"lr": 1e-3, "batch_size": 8, "seed": 3, "baseline": "bart", "pre_seq_len": 16, "save": "runs",
            "model_name_or_path": "x", "ptuning_v2": True, "hidden_dropout": None}
    assert hyperparameters_of(args, "none") == {"lr": 1e-3, "batch_size": 8}
    assert hyperparameters_of(args, "prefix") == {"lr": 1e-3, "batch_size": 8, "pre_seq_len": 16}


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
        results["validation_metric"] = "f1_macro"  # a template that declares another metric and scores only that
        results["best"]["dev"] = {"f1_macro": results["best"]["dev"]["f1_macro"]}
        results["test"] = {"f1_macro": results["test"]["f1_macro"]}
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
    out = write_report([str(root)], tmp_path / "out").parent
    tables = "".join(p.read_text() for p in out.glob("*/comparison.md"))
    assert "trec1" in tables
def test_compare_reference_by_name(sweep):
    data = task_data("ag_news", load_runs(find_run_dirs([str(sweep)])))
    comp = compare(data, "classifier")
    assert comp.reference.method == "classifier"
    p1 = next(r for r in comp.rows if r.prompt == "p1")
    assert p1.versus.delta == pytest.approx(0.12) and (p1.mcnemar.only_a, p1.mcnemar.only_b) == (30, 18) and math.isfinite(p1.mcnemar.p)


def test_a_column_where_every_row_ties_gets_no_bold():
    from analysis.report import _bold_best
    from analysis.tables import Score

    rows = [["a", Score(0.0, 0.0, 2), Score(0.9, 0.0, 2)], ["b", Score(0.0, 0.0, 2), Score(0.8, 0.1, 2)]]
    _bold_best(rows, [1, 2], higher=True)
    assert not rows[0][1].bold and not rows[1][1].bold  # BLEU 0 everywhere: nothing to single out
    assert rows[0][2].bold and not rows[1][2].bold
