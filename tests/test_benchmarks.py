"""The benchmark scripts run at toy sizes: their own equality checks pass and they print what the docs quote.

Timings at these sizes mean nothing; this only keeps the scripts from rotting between measured runs.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOY = ["--layers", "1", "--hidden", "64", "--src-len", "8", "--new-tokens", "4", "--repeats", "1"]


def run_bench(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("bench_roofline.py", [*TOY, "--heads", "2"], ["roofline", "ms per step", "its own matrix work"]),
        # decoding checks cached == recomputed and shared == per-beam prompt cache itself (exit 1 otherwise)
        ("bench_decoding.py", [*TOY, "--heads", "2", "--tgt-len", "4", "--train-batch", "2"],
         ["decode greedy", "decode beam 4", "copied per beam", "interleaved medians", "forward+backward"]),
        ("bench_gpu.py", ["decode", "--device", "cpu", "--batch", "2", *TOY],
         ["prompt cache once per prompt", "prompt cache copied per beam"]),
        ("bench_packing.py", ["--layers", "1", "--hidden", "64", "--heads", "2", "--batch", "4", "--batches", "2",
                              "--budget", "64", "--rounds", "1", "--no-finetune"],
         ["pad-256", "pad-longest", "buckets", "packed", "largest loss difference"]),
    ],
    ids=["roofline", "decoding", "gpu-decode-on-cpu", "packing"],
)
def test_benchmark_runs_at_toy_size(script, args, expected):
    out = run_bench(script, *args)
    for text in expected:
        assert text in out, f"{script} printed no {text!r}:\n{out}"
