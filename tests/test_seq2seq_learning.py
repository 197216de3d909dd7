"""A tiny GLM learns the demo rewrite ("Convert: red fox seven" -> "7 red foxes") end to end through the project's
training loop: the tiny checkpoint in the real HF layout (its small BPE vocabulary is trained on the demo data),
the customization processor and prompt, the seq2seq layout, the label-smoothed loss, greedy decoding with the
cache, ROUGE, and the run directory. Dev ROUGE-L must reach 80 (0-100 scale)."""

import json

import pytest
import torch

from conftest import ROOT
from model.checkpoint import load_glm
from model.decoding import GenerationConfig
from model.tokenizer import GLMTokenizer
from scripts.make_tiny_checkpoint import make_tiny_checkpoint
from tasks.registry import resolve
from tasks.seq2seq.layout import Seq2SeqLayoutConfig
from training.loop import TrainConfig, Trainer
from training.rundir import RunDir
from training.seq2seq import build_seq2seq_task

DATA = ROOT / "data" / "demo" / "seq2seq"


@pytest.fixture
def one_thread():
    """Tiny matrices: one thread is fastest, and several oversubscribe a shared 2-core machine badly."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_tiny_glm_learns_the_demo_mapping(tmp_path, one_thread):
    ckpt = make_tiny_checkpoint(tmp_path / "glm-tiny", vocab="demo", num_layers=1)
    tokenizer = GLMTokenizer.from_dir(ckpt)
    torch.manual_seed(0)
    backbone = load_glm(ckpt, dropout=0.0)
    layout = Seq2SeqLayoutConfig(src_len=16, tgt_len=8)
    task = build_seq2seq_task(backbone, tokenizer, resolve("customization").prompt(0), layout,
                              GenerationConfig(max_length=8, eop_id=tokenizer.eop_id, pad_id=tokenizer.pad_id),
                              label_smoothing=0.1)
    processor = resolve("customization").processor_class()
    examples = {split: processor.get_examples(DATA, split) for split in ("train", "dev", "test")}
    samples = {split: task.encode_all(exs) for split, exs in examples.items()}
    assert all(s.source_truncated == 0 for s in samples["train"])

    cfg = TrainConfig(epochs=15, batch_size=16, lr=5e-3, warmup=0.06, weight_decay=0.01, eval_epoch=5,
                      validation_metric="rougeL", seed=1)
    run = RunDir(tmp_path / "run")
    trainer = Trainer(task.module, cfg, run, task.evaluator(samples, examples, 50, torch.device("cpu")),
                      device=torch.device("cpu"))
    before = trainer.run_eval(task.module, "dev").metrics["rougeL"]
    result = trainer.fit(samples["train"], task.collate)

    assert before < 20.0, f"untrained dev ROUGE-L {before}: the data leaks the answer"
    assert result["status"] == "finished"
    assert result["best"]["dev"]["rougeL"] >= 80.0, result
    assert result["test"]["rougeL"] >= 80.0, result
    assert list(result["test"]) == ["rougeL", "rouge1", "rouge2", "rougeLsum", "bleu"]
    rows = [json.loads(line) for line in (run.path / "predictions_test.jsonl").read_text().splitlines()]
    assert len(rows) == 50 and rows[0]["label"] == examples["test"][0].target
    exact = sum(r["prediction"] == r["label"] for r in rows) / len(rows)
    assert exact >= 0.5, rows[:5]  # predictions come back in example order although decoding sorts by length

    capped = task.evaluator(samples, examples, 50, torch.device("cpu"), dev_max_examples=7)
    assert len(capped(task.module.eval(), "dev").predictions) == 7  # --eval-max-examples caps dev only
    assert len(capped(task.module, "test").predictions) == 50
