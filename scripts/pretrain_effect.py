#!/usr/bin/env python
"""What pretraining does for prompts: the tiny pretrained GLM against the tiny random GLM on the demo AG News task.

    python scripts/pretrain_effect.py [--seeds 1234 1 2] [--out runs/pretrain_effect]

For every seed s, each model is made with seed s (the pretrained one by scripts/make_pretrained_tiny.py --seed s,
the random one by scripts/make_tiny_checkpoint.py --seed s; same architecture and vocabulary) and run through
finetune_glm.py on data/demo/ag_news:
    zero-shot    --epochs 0, cloze, every pattern
    few-shot     K per class drawn with seed s (tasks.sampling.few_shot_subset), cloze vs linear head (--no-cloze-eval)
    full         all 400 training examples, cloze vs linear head
Training runs use seed s too; dev (100 examples) picks the best epoch for every run alike, and the test accuracy
(100 examples, chance 0.25) at that point is reported as mean ± std over the seeds. Writes <out>/results.json and
<out>/table.md, and prints the table. Everything is CPU, one thread; about twenty minutes for three seeds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEMO = ROOT / "data" / "demo" / "ag_news"
PATTERNS = (0, 1, 2, 3)
COMMON = ["--task", "ag_news", "--seq-length", "128", "--batch-size", "16", "--warmup", "0.1", "--num-threads", "1",
          "--log-interval", "50", "--overwrite"]
FEW_SHOT = ["--epochs", "10", "--lr", "1e-3"]
FULL = ["--epochs", "6", "--lr", "2e-3"]  # config_tasks/task_ag_news_demo.sh's settings


def write_few_shot_data(out: Path, k: int, seed: int) -> Path:
    from tasks.sampling import few_shot_subset

    rows = [json.loads(line) for line in (DEMO / "train.jsonl").read_text().splitlines() if line.strip()]
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in few_shot_subset(rows, k, seed)))
    for split in ("dev", "test"):
        shutil.copy(DEMO / f"{split}.jsonl", out / f"{split}.jsonl")
    return out


def model_dir(out: Path, kind: str, seed: int) -> Path:
    from scripts.make_pretrained_tiny import make_pretrained_tiny
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    path = out / "models" / f"{kind}-s{seed}"
    if not (path / "config.json").is_file():
        if kind == "pretrained":
            make_pretrained_tiny(path, threads=1, seed=seed)
        else:
            make_tiny_checkpoint(path, vocab="demo", seed=seed)
    return path


def accuracy(ckpt: Path, data: Path, runs: Path, name: str, *extra: str) -> float:
    from finetune_glm import main as finetune

    res = finetune([*COMMON, "--data-dir", str(data), "--load-pretrained", str(ckpt), "--save", str(runs),
                    "--experiment-name", name, *extra])
    return res["test"]["accuracy"]


def measure(seeds: list[int], k: int, pattern: int, out: Path) -> dict:
    scores: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        few = write_few_shot_data(out / "data" / f"few{k}-s{seed}", k, seed)
        for kind in ("pretrained", "random"):
            ckpt = model_dir(out, kind, seed)
            row = scores.setdefault(kind, {})
            runs = out / "runs"
            for p in PATTERNS:
                row.setdefault(f"zero-shot p{p}", []).append(
                    accuracy(ckpt, DEMO, runs, f"{kind}-s{seed}-zero-p{p}", "--epochs", "0", "--pattern-id", str(p)))
            for label, data, settings in ((f"{k}-shot", few, FEW_SHOT), ("full", DEMO, FULL)):
                base = [*settings, "--seed", str(seed), "--pattern-id", str(pattern)]
                row.setdefault(f"{label} cloze", []).append(accuracy(ckpt, data, runs, f"{kind}-s{seed}-{label}-cloze", *base))
                row.setdefault(f"{label} linear", []).append(
                    accuracy(ckpt, data, runs, f"{kind}-s{seed}-{label}-linear", *base, "--no-cloze-eval"))
    return scores


def table(scores: dict, seeds: list[int], k: int, pattern: int) -> str:
    def cell(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {sd:.3f}"

    settings = list(scores["pretrained"])
    lines = [f"AG News demo test accuracy (100 examples, 4 classes, chance 0.250), mean ± std over seeds {seeds}; "
             f"fine-tuning with pattern {pattern}, {k}-shot = {k} per class", "",
             "| setting | tiny pretrained GLM | tiny random GLM |", "|---|---|---|"]
    lines += [f"| {s} | {cell(scores['pretrained'][s])} | {cell(scores['random'][s])} |" for s in settings]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1234, 1, 2])
    p.add_argument("--k", type=int, default=32, help="few-shot examples per class")
    p.add_argument("--pattern-id", type=int, default=0, help="pattern of the fine-tuning runs (the demo's default)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "pretrain_effect")
    a = p.parse_args(argv)
    scores = measure(a.seeds, a.k, a.pattern_id, a.out)
    text = table(scores, a.seeds, a.k, a.pattern_id)
    (a.out / "results.json").write_text(json.dumps({"seeds": a.seeds, "k": a.k, "pattern_id": a.pattern_id,
                                                    "test_accuracy": scores}, indent=2) + "\n")
    (a.out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
