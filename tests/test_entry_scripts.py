"""The users' entry points: ds_finetune_*.sh with config fragments, on CPU with the tiny model."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT


def run_script(script, model, task, tmp_path, *extra, ckpt="ckpt"):
    env = {**os.environ, "PYTHON": sys.executable, "CHECKPOINT_PATH": str(tmp_path / ckpt), "SAVE_PATH": str(tmp_path / "runs"),
           "N_GPU": "0"}
    cmd = ["bash", str(ROOT / "scripts" / script), f"config_tasks/{model}", f"config_tasks/{task}", "--num-threads", "1", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_ds_finetune_superglue_tiny_demo(tmp_path):
    proc = run_script("ds_finetune_superglue.sh", "model_glm_tiny.sh", "task_ag_news_demo.sh", tmp_path,
                      "--epochs", "1", "--max-train-examples", "32", ckpt="my ckpt")  # a path with a space
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "no GPU: one CPU process" in proc.stdout
    assert (tmp_path / "my ckpt" / "model.safetensors").is_file()  # the tiny checkpoint is made on first use
    run_dir = tmp_path / "runs" / "glm-tiny-ag_news-demo-p0"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "finished"
    args = json.loads((run_dir / "config.json").read_text())["args"]
    assert args["lr"] == 2e-3 and args["batch_size"] == 16 and args["seq_length"] == 128 and args["epochs"] == 1


def test_ds_finetune_seq2seq_tiny_demo_with_pattern(tmp_path):
    env_pattern = {"PATTERN_ID": "2"}
    os.environ.update(env_pattern)
    try:
        proc = run_script("ds_finetune_seq2seq.sh", "model_glm_tiny.sh", "seq_demo.sh", tmp_path, "--epochs", "1",
                          "--max-train-examples", "32")
    finally:
        del os.environ["PATTERN_ID"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "glm-tiny-seq-demo-p2"
    assert json.loads((run_dir / "config.json").read_text())["args"]["pattern_id"] == 2
    assert "rougeL" in json.loads((run_dir / "results.json").read_text())["test"]


# Upstream's SuperGLUE fragments keep upstream's PATTERN_IDS (COPA has two, ReCoRD one) and are checked against
# tasks.superglue.TASK_INFO in test_superglue_configs.py.
SUPERGLUE_FRAGMENTS = {f"task_{name}.sh" for name in ("rte", "cb", "boolq", "wic", "copa", "wsc", "multirc", "record")}


@pytest.mark.parametrize("fragment", sorted(p.name for p in (ROOT / "config_tasks").glob("task_*.sh") if p.name not in SUPERGLUE_FRAGMENTS))
def test_task_fragments_define_what_the_script_needs(fragment):
    script = (f"MODEL_TYPE=m; source config_tasks/{fragment}; "
              'for v in EXPERIMENT_NAME TASK_NAME MAX_SEQ_LEN LR_SINGLE EPOCH_SINGLE BATCH_SIZE; do '
              '[ -n "${!v}" ] || { echo "missing $v"; exit 1; }; done; echo "${#PATTERN_IDS[@]} $TASK_NAME"')
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    n_patterns, task = out.stdout.split()
    assert int(n_patterns) >= 3  # at least three prompts per configured task
    # every listed pattern exists for the task
    from model.tokenizer import GLMTokenizer
    from tasks.registry import format_prompts, resolve

    listed = format_prompts(resolve(task).prompts(GLMTokenizer.from_dir(ROOT / "tests" / "fixtures" / "tokenizer")))
    ids = subprocess.run(["bash", "-c", f"MODEL_TYPE=m; source config_tasks/{fragment}; echo ${{PATTERN_IDS[@]}}"],
                         cwd=ROOT, capture_output=True, text=True).stdout.split()
    known = {line.split()[0] for line in listed[1:]}
    assert set(ids) <= known, (ids, known)
