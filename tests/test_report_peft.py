"""The report's PEFT table on hand-made run directories: per method its best setting, the trainable share of the
backbone from config.json, mean ± std over seeds, and the benchmark's memory and time ratios."""

import json
from pathlib import Path

from analysis.report import write_report

BACKBONE = 1_000_000
METHODS = {  # method label -> (identity.peft, trainable parameters, dev accuracy of seed 1 at the better lr)
    "cloze": ("none", BACKBONE, 0.90), "ptuning_v2": ("prefix", 2_048, 0.80), "lora": ("lora", 10_000, 0.85),
}


def write_run(root: Path, method: str, lr: float, seed: int) -> None:
    peft, trainable, dev = METHODS[method]
    dev = round(dev + 0.02 * (seed - 1) - 0.1 * (lr == 1e-3), 6)
    run = root / f"{method}-lr{lr}-s{seed}"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({
        "args": {"task": "ag_news", "lr": lr, "seed": seed, "pattern_id": 0, "method": method},
        "identity": {"family": "glm", "head": "cloze", "peft": peft, "method": method},
        "parameters": {"trainable": trainable, "total": BACKBONE + (trainable if peft != "none" else 0), "backbone": BACKBONE}}))
    (run / "results.json").write_text(json.dumps({
        "status": "finished", "validation_metric": "accuracy", "best": {"step": 1, "epoch": 1, "dev": {"accuracy": dev}},
        "test": {"accuracy": round(dev - 0.05, 6)}, "error": None}))


def test_peft_table(tmp_path):
    for method in METHODS:
        for lr in (1e-3, 1e-2):
            for seed in (1, 2, 3):
                write_run(tmp_path / "grid", method, lr, seed)
    bench = {"shape": {"layers": 6, "hidden": 1024, "batch": 2, "seq": 256},
             "rows": {"full": {"peak_mb": 4000.0, "s_per_step": 2.0}, "prefix16": {"peak_mb": 1000.0, "s_per_step": 0.5},
                      "lora8": {"peak_mb": 2000.0, "s_per_step": 1.5}}}
    report = write_report([str(tmp_path / "grid")], tmp_path / "out", peft_benchmark=bench)
    page = report.read_text()
    assert "### Parameter-efficient methods" in page
    table = (tmp_path / "out" / "ag_news" / "peft.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]] for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| method")}
    assert list(rows) == ["cloze", "lora", "ptuning_v2"]  # best mean dev first
    assert rows["ptuning_v2"][1:6] == ["prefix", "p0", "3", "2,048", "0.205"]  # 2048 / 1e6 = 0.205 %
    assert rows["lora"][6].startswith("87.0 ± 2.0")  # x100; lr 1e-2, seeds 0.85 / 0.87 / 0.89
    assert rows["lora"][8:] == ["0.5", "0.75"] and rows["ptuning_v2"][8:] == ["0.25", "0.25"]
    assert rows["cloze"][8:] == ["1", "1"]
