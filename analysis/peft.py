"""The PEFT table of a report: per method (its best setting by mean dev metric), the share of the backbone it
trains, dev and test mean ± std over seeds, and the memory and step-time ratios to full fine-tuning that
`benchmarks/bench_peft.py --json FILE` measured (at glm-roberta-large's width; the demo runs are too small to say).

Trainable and backbone parameter counts come from each run's config.json ("parameters", written by the driver).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.rundir import read_json

from .runs import TaskData, best_per_method_and_prompt
from .stats import Stat

# identity.peft -> the benchmark's row for that method
BENCH_ROWS = {"none": "full", "prefix": "prefix16", "lora": "lora8", "prompt_tuning": "prompt20"}


def run_parameters(run_dir: Path) -> tuple[str | None, dict[str, int] | None]:
    """(identity.peft, config.json's "parameters") of a run; None for what it does not record."""
    if not (run_dir / "config.json").is_file():  # a run that died before writing it
        return None, None
    config = read_json(run_dir / "config.json")
    return (config.get("identity") or {}).get("peft"), config.get("parameters")


def load_benchmark(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SystemExit(f"--peft-benchmark {path}: not a bench_peft.py --json file ({type(err).__name__}: {err})") from None


def has_peft(data: TaskData) -> bool:
    return any(run_parameters(r.path)[0] not in (None, "none") for r in data.runs)


def peft_table(data: TaskData, benchmark: dict[str, Any] | None) -> tuple[list[str], list[list[Any]], str]:
    """Headers, rows and caption of the PEFT table for one task."""
    test_metric = data.metric
    headers = ["method", "peft", "prompt", "seeds", "trainable", "% of backbone", f"dev {data.metric}",
               f"test {test_metric}", "memory / full FT", "step time / full FT"]
    bench = (benchmark or {}).get("rows", {})
    full = bench.get("full")
    by_path = {r.name: r for r in data.runs}
    rows = []
    for s in best_per_method_and_prompt(data):
        peft, counts = run_parameters(by_path[s.runs[0]].path) if s.runs else (None, None)
        share = 100.0 * counts["trainable"] / counts["backbone"] if counts else None
        row = bench.get(BENCH_ROWS.get(peft or "", ""))
        memory = row["peak_mb"] / full["peak_mb"] if row and full else None
        time = row["s_per_step"] / full["s_per_step"] if row and full else None
        rows.append([s.setting["method"], peft or "-", s.setting["prompt"], len(s.seeds),
                     f"{counts['trainable']:,}" if counts else "-", round(share, 3) if share is not None else None,
                     s.dev.get(data.metric), s.test.get(test_metric),
                     round(memory, 2) if memory is not None else None, round(time, 2) if time is not None else None])
    rows.sort(key=lambda r: -(r[6].mean if isinstance(r[6], Stat) else float("-inf")))
    shape = (benchmark or {}).get("shape", {})
    where = (f"memory and time ratios from benchmarks/bench_peft.py ({shape.get('layers')} layers x {shape.get('hidden')}, "
             f"batch {shape.get('batch')} x {shape.get('seq')}; {BENCH_ROWS['prefix']} for P-tuning v2, "
             f"{BENCH_ROWS['lora']} for LoRA, {BENCH_ROWS['prompt_tuning']} for prompt tuning)") if benchmark else \
        "memory and time ratios: pass --peft-benchmark FILE from benchmarks/bench_peft.py --json"
    caption = (f"{data.task}: parameter-efficient methods, each at its best setting by mean dev {data.metric}; "
               f"mean ± std over seeds; trainable = parameters the run trained (a head's included); {where}.")
    return headers, rows, caption
