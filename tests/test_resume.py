"""Exact resume is the loop's, so fine-tuning runs (and DeepSpeed runs) have it too."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT
from finetune_glm import main as finetune
from scripts.make_tiny_checkpoint import make_tiny_checkpoint
from test_pretrain import Killed, crash_after, events

DEMO = ROOT / "data" / "demo" / "ag_news"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


def run(ckpt, save, name, *extra) -> dict:
    args = ["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
            "--experiment-name", name, "--seq-length", "96", "--batch-size", "8", "--lr", "2e-3", "--warmup", "0.1",
            "--log-interval", "2", "--max-train-examples", "64", "--epochs", "2", "--save-interval", "3",
            "--eval-interval", "5", *map(str, extra)]
    return finetune(args)


def test_killed_and_resumed_finetuning_equals_the_uninterrupted_run(tiny_ckpt, tmp_path, monkeypatch):
    full = run(tiny_ckpt, tmp_path, "full")
    with monkeypatch.context() as m:
        crash_after(m, 11)  # 8 batches an epoch: the last checkpoint is at step 9 (epoch 1, batch 1)
        with pytest.raises(Killed):
            run(tiny_ckpt, tmp_path, "resumed")
    resumed = run(tiny_ckpt, tmp_path, "resumed", "--resume")
    assert resumed["best"] == full["best"] and resumed["test"] == full["test"]
    assert events(tmp_path / "resumed") == events(tmp_path / "full")
    for name in ("predictions_dev.jsonl", "predictions_test.jsonl"):
        assert (tmp_path / "resumed" / name).read_text() == (tmp_path / "full" / name).read_text()
    a = load_file(str(tmp_path / "full" / "best" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "best" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    state = json.loads((tmp_path / "resumed" / "checkpoints" / "step_00000015" / "trainer.json").read_text())
    position = state["position"]
    assert (position["epoch"], position["batches_done"], position["step"], position["micro"]) == (1, 7, 15, 15)
    assert len(position["running"]) == 1  # step 15's loss, not yet logged (the log interval is 2)


def test_resume_with_gradient_accumulation(tiny_ckpt, tmp_path, monkeypatch):
    common = ("--gradient-accumulation-steps", 2, "--save-interval", 2)
    full = run(tiny_ckpt, tmp_path, "full", *common)
    with monkeypatch.context() as m:
        crash_after(m, 10)  # 4 optimizer steps an epoch; checkpoint at step 4 = batch 8, crash inside step 5
        with pytest.raises(Killed):
            run(tiny_ckpt, tmp_path, "resumed", *common)
    resumed = run(tiny_ckpt, tmp_path, "resumed", *common, "--resume")
    assert resumed["best"] == full["best"]
    assert events(tmp_path / "resumed") == events(tmp_path / "full")


def test_deepspeed_run_resumes_exactly(tiny_ckpt, tmp_path, monkeypatch):
    pytest.importorskip("deepspeed")
    ds_cfg = tmp_path / "ds.json"
    ds_cfg.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    common = ("--deepspeed", "--deepspeed_config", ds_cfg)
    full = run(tiny_ckpt, tmp_path, "full", *common)
    with monkeypatch.context() as m:
        crash_after(m, 11)
        with pytest.raises(Killed):
            run(tiny_ckpt, tmp_path, "resumed", *common)
    assert (tmp_path / "resumed" / "checkpoints" / "step_00000009" / "deepspeed" / "state").is_dir()
    resumed = run(tiny_ckpt, tmp_path, "resumed", *common, "--resume")
    assert resumed["best"] == full["best"] and resumed["test"] == full["test"]
    assert events(tmp_path / "resumed") == events(tmp_path / "full")
