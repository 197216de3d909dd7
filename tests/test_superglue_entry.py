"""Every SuperGLUE task trains on the tiny GLM through the users' entry point, scripts/ds_finetune_superglue.sh,
with its upstream-format fragment (config_tasks/task_*.sh) and DATA_ROOT at the demo data."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from tasks.superglue import TASK_INFO
from tasks.superglue.evaluate import SUBMISSION_FILES

# The tiny model's small vocabulary has no single token for CB's " Maybe": its label words are scored as
# multi-token answers there (with the real vocabulary they are single tokens, as upstream requires).
EXTRA = {"cb": ["--multi-token"]}
FAST = {"rte", "record"}  # in the default tier; the other six are slow-marked


def run_fragment(task: str, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "CHECKPOINT_PATH": str(ROOT / "checkpoints" / "glm-tiny"),
           "SAVE_PATH": str(tmp_path), "N_GPU": "0", "DATA_ROOT": str(ROOT / "data" / "demo" / "superglue")}  # fmt: skip
    cmd = ["bash", str(ROOT / "scripts" / "ds_finetune_superglue.sh"), "config_tasks/model_glm_tiny.sh", f"config_tasks/task_{task}.sh",
           "--num-threads", "1", "--epochs", "1", "--max-train-examples", "32", *EXTRA.get(task, []), *extra]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("task", [pytest.param(t, marks=() if t in FAST else pytest.mark.slow) for t in sorted(TASK_INFO)])
def test_task_trains_through_the_entry_script_with_its_fragment(task, tmp_path):
    proc = run_fragment(task, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hp = TASK_INFO[task].hyperparameters
    (run_dir,) = tmp_path.iterdir()  # the fragment's EXPERIMENT_NAME, named by the pattern it ran
    assert run_dir.name.lower() == f"glm-tiny-{task}-p{hp.pattern_id}"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "finished" and set(results["best"]["dev"]) == set(TASK_INFO[task].metrics)
    args = json.loads((run_dir / "config.json").read_text())["args"]
    assert (args["lr"], args["batch_size"], args["seq_length"], args["pattern_id"]) == (hp.lr, hp.batch_size, hp.seq_length, hp.pattern_id)
    assert (args["loss_func"], args["wsc_negative"], args["length_penalty"]) == (hp.loss_func, hp.wsc_negative, hp.length_penalty)
    assert (args["warmup"], args["weight_decay"]) == (hp.warmup, hp.weight_decay)
    assert (run_dir / "submission" / SUBMISSION_FILES[task]).is_file()
