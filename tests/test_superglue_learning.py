"""The SuperGLUE demo data carry a signal the cloze path learns: a tiny random GLM (2 layers, hidden 64, the real
vocabulary) trained through the task's PVP, tasks/layout.py and the cloze heads ends well above chance on dev.
(The driver's own runs on these tasks are tested with the registry; this checks the data and the task layer.)"""

import random

import pytest
import torch
from conftest import ROOT

from model.glm import GLMConfig, GLMModel
from model.heads import MultiTokenClozeHead, SingleTokenClozeHead, cloze_loss
from tasks import layout
from tasks.superglue import TASK_INFO
from tasks.superglue.evaluate import compute_metrics

DEMO = ROOT / "data" / "demo" / "superglue"


def train_and_evaluate(tokenizer, task: str, pattern_id: int, epochs: int, lr: float, seq_length: int) -> dict[str, float]:
    info = TASK_INFO[task]
    processor = info.processor()
    data_dir = DEMO / info.hyperparameters.data_folder
    train, dev = processor.get_train_examples(data_dir), processor.get_dev_examples(data_dir)
    pvp = info.pvp(tokenizer, processor.get_labels(), seq_length, pattern_id=pattern_id)
    if pvp.is_multi_token:  # packed candidates, variable counts padded and masked by collate_packed
        head, encode, collate = MultiTokenClozeHead(info.hyperparameters.length_penalty), layout.encode_packed, layout.collate_packed
    else:
        head, encode, collate = SingleTokenClozeHead(), layout.encode_single_token, layout.collate_single_token
    train_samples, dev_samples = [encode(pvp, e) for e in train], [encode(pvp, e) for e in dev]
    torch.manual_seed(0)
    model = GLMModel(GLMConfig(num_layers=2, hidden_size=64, num_attention_heads=4, vocab_size=tokenizer.vocab_size, max_sequence_length=256))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    order = list(range(len(train_samples)))
    rng = random.Random(0)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in range(0, len(order), 16):
            batch = collate([train_samples[j] for j in order[i : i + 16]])
            loss = cloze_loss(head(model, batch), batch["labels"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = [p for i in range(0, len(dev_samples), 32) for p in head(model, collate(dev_samples[i : i + 32])).argmax(-1).tolist()]
    return compute_metrics(task, predictions, dev)


@pytest.mark.slow
@pytest.mark.parametrize("task, pattern_id, epochs, lr, seq_length, metric, chance, threshold", [
    ("rte", 0, 15, 5e-4, 128, "accuracy", 0.5, 0.7),
    ("copa", 0, 10, 2e-3, 128, "accuracy", 0.5, 0.65),
    ("wsc", 2, 30, 2e-3, 128, "accuracy", 0.5, 0.7),
    ("record", 0, 25, 2e-3, 256, "em", 0.15, 0.5),  # 8 entities per passage
])  # fmt: skip
# WSC and ReCoRD get 30 and 25 epochs: at 20 and 15 they were still learning on a 2-core AVX2 CPU (dev 0.68 and
# 0.48, under the thresholds), and reach 1.0 at 30 and 25 there.
def test_cloze_learns_the_demo_data(tokenizer, task, pattern_id, epochs, lr, seq_length, metric, chance, threshold):
    result = train_and_evaluate(tokenizer, task, pattern_id, epochs, lr, seq_length)
    assert result[metric] >= threshold > chance, result


@pytest.mark.slow
@pytest.mark.parametrize("task, folder, argv, metric, chance, threshold", [
    ("RTE", "RTE", ["--epochs", "10", "--lr", "5e-4", "--seq-length", "128"], "accuracy", 0.5, 0.7),
    ("COPA", "COPA", ["--epochs", "8", "--lr", "1e-3", "--seq-length", "128"], "accuracy", 0.5, 0.7),
    ("ReCoRD", "ReCoRD", ["--epochs", "4", "--lr", "1e-3", "--seq-length", "256"], "em", 0.125, 0.3),  # 8 entities per passage
])  # fmt: skip
def test_the_driver_learns_the_demo_data_on_the_pretrained_tiny_glm(pretrained_tiny, tmp_path, task, folder, argv, metric, chance, threshold):
    """The whole path a user runs (finetune_glm.py: registry, packed candidates, loss, loop, metrics) on the tiny GLM
    pretrained by blank infilling."""
    from finetune_glm import main

    result = main(["--task", task, "--data-dir", str(DEMO / folder), "--load-pretrained", str(pretrained_tiny), "--save", str(tmp_path),
                   "--batch-size", "16", "--warmup", "0.1", "--weight-decay", "0.1", "--num-threads", "1", *argv])  # fmt: skip
    assert result["status"] == "finished"
    assert result["best"]["dev"][metric] >= threshold > chance, result["best"]
