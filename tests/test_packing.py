"""Several examples per row (tasks.packing) give the scores, losses and gradients of one example per row;
length-bucketed batch order is seeded and reproducible; both work through the driver."""

import json
from pathlib import Path

import pytest
import torch

from conftest import ROOT
from model.glm import GLMConfig, GLMModel
from model.heads import ClassificationHead, SingleTokenClozeHead, cloze_loss
from tasks import layout, packing
from training.loop import epoch_batches


class Ids:
    """Special ids inside a 128-row test vocabulary."""

    cls_id, eos_id, pad_id, sep_id, mask_id, sop_id, eop_id = 0, 2, 2, 2, 3, 5, 6


def tiny(seed=0) -> GLMModel:
    torch.manual_seed(seed)
    cfg = GLMConfig(num_layers=2, hidden_size=32, num_attention_heads=4, vocab_size=128, max_sequence_length=64,
                    embedding_dropout_prob=0.0, attention_dropout_prob=0.0, output_dropout_prob=0.0)
    return GLMModel(cfg)


def single_token_samples(n=7, seed=1):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        length = int(torch.randint(3, 20, (1,), generator=g))
        text = torch.randint(10, 128, (length,), generator=g).tolist()
        text[int(torch.randint(0, length, (1,), generator=g))] = Ids.mask_id
        out.append(layout.build_single_token(text, [], Ids, [40, 41, 42], i % 3))
    return out


def classifier_samples(n=7, seed=2):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        a = torch.randint(10, 128, (int(torch.randint(2, 15, (1,), generator=g)),), generator=g).tolist()
        b = torch.randint(10, 128, (int(torch.randint(1, 8, (1,), generator=g)),), generator=g).tolist() if i % 2 else None
        out.append(layout.build_classifier(a, b, Ids, 64, i % 4))
    return out


def test_first_fit_rows_respect_capacity_and_keep_every_example_once():
    lengths = [30, 5, 17, 40, 8, 8, 25, 3]
    rows = packing.first_fit_rows(lengths, 48)
    assert sorted(i for r in rows for i in r) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in r) <= 48 for r in rows)
    assert rows == [[3, 4], [0, 2], [6, 5, 1, 7]]  # longest first, each into the first row with room
    assert packing.first_fit_rows([60, 4], 48) == [[0], [1]]  # too long for a row: a row of its own


def test_segment_mask_by_hand():
    # one row: example of length 3 with sep 2, then example of length 2 with sep 1, then one padding token
    mask = packing.segment_attention([[(3, 2), (2, 1)]], 6)[0, 0].int()
    expected = torch.tensor([
        [1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0, 1],
    ])
    assert torch.equal(mask, expected)


@pytest.mark.parametrize("capacity", [24, 40, 64])
def test_packed_single_token_equals_one_example_per_row(capacity):
    model, head = tiny(), SingleTokenClozeHead()
    samples = single_token_samples()
    unpacked = layout.collate_single_token(samples)
    packed = packing.collate_packed_single_token(samples, capacity=capacity)
    assert packed["input_ids"].shape[0] < len(samples)  # several examples really share rows
    assert packed["input_ids"].shape[1] <= capacity
    ref_scores = head(model, unpacked)
    ref_loss = cloze_loss(ref_scores, unpacked["labels"])
    ref_loss.backward()
    ref_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    scores = head(model, packed)
    loss = cloze_loss(scores, packed["labels"])
    loss.backward()
    torch.testing.assert_close(scores, ref_scores, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(loss, ref_loss, atol=1e-6, rtol=1e-6)
    for name, p in model.named_parameters():
        if name in ref_grads:
            torch.testing.assert_close(p.grad, ref_grads[name], atol=1e-5, rtol=1e-4, msg=name)


def test_packed_classifier_equals_one_example_per_row():
    model = tiny()
    torch.manual_seed(5)
    head = ClassificationHead(32, 4, dropout=0.0)
    samples = classifier_samples()
    unpacked = layout.collate_classifier(samples)
    packed = packing.collate_packed_classifier(samples, capacity=40)
    assert packed["input_ids"].shape[0] < len(samples)
    ref = head(model, unpacked)
    got = head(model, packed)
    torch.testing.assert_close(got, ref, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(cloze_loss(got, packed["labels"]), cloze_loss(ref, unpacked["labels"]), atol=1e-6, rtol=1e-6)


def test_packing_a_wrong_read_position_would_be_caught():
    """The equality above is not automatic: reading one token off gives different scores."""
    model, head = tiny(), SingleTokenClozeHead()
    samples = single_token_samples()
    packed = packing.collate_packed_single_token(samples, capacity=40)
    ref = head(model, layout.collate_single_token(samples))
    packed["read_col"] = packed["read_col"] - 1
    assert not torch.allclose(head(model, packed), ref, atol=1e-3)


def test_bucketed_order_is_seeded_complete_and_less_padded():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 200, (103,), generator=g).tolist()
    plain = epoch_batches(len(lengths), 8, seed=11, epoch=0)
    a = packing.bucketed_order(lengths, plain, 4, seed=11, epoch=0)
    assert a == packing.bucketed_order(lengths, plain, 4, seed=11, epoch=0)  # reproducible
    assert sorted(i for b in a for i in b) == list(range(len(lengths)))  # every example once
    assert sorted(map(len, a)) == sorted(map(len, plain))  # batch sizes unchanged
    later = packing.bucketed_order(lengths, epoch_batches(len(lengths), 8, seed=11, epoch=1), 4, seed=11, epoch=1)
    assert later != a

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    assert padded(a) < 0.8 * padded(plain)


def test_bucketed_order_rejects_a_bad_window():
    with pytest.raises(ValueError, match="at least 1"):
        packing.bucketed_order([1, 2], [[0, 1]], 0, seed=1, epoch=0)


# ---------------------------------------------------------------------------------------------- through the driver
DEMO = ROOT / "data" / "demo" / "ag_news"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


def _train(ckpt, save, name, *extra):
    from finetune_glm import main as finetune

    args = ["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
            "--experiment-name", name, "--seq-length", "96", "--batch-size", "16", "--warmup", "0.1", "--log-interval", "1",
            "--epochs", "1", "--lr", "2e-3", "--hidden-dropout", "0", "--attention-dropout", "0", "--max-train-examples", "64", *map(str, extra)]
    res = finetune(args)
    run_dir = Path(save) / name
    losses = [e["loss"] for e in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if e["event"] == "train"]
    preds = [json.loads(line) for line in (run_dir / "predictions_dev.jsonl").read_text().splitlines()] \
        if (run_dir / "predictions_dev.jsonl").exists() else None
    return res, losses, preds


def test_driver_pack_examples_trains_as_one_example_per_row(tiny_ckpt, tmp_path):
    plain, plain_losses, _ = _train(tiny_ckpt, tmp_path, "plain")
    packed, packed_losses, _ = _train(tiny_ckpt, tmp_path, "packed", "--pack-examples")
    assert plain["status"] == packed["status"] == "finished"
    assert len(plain_losses) == len(packed_losses) >= 4
    assert packed_losses == pytest.approx(plain_losses, rel=1e-4, abs=1e-5)
    assert packed["best"]["dev"] == pytest.approx(plain["best"]["dev"])
    config = json.loads((tmp_path / "packed" / "config.json").read_text())
    assert config["args"]["pack_examples"] is True


def test_driver_length_buckets_reproducible(tiny_ckpt, tmp_path):
    a, a_losses, _ = _train(tiny_ckpt, tmp_path, "b1", "--length-buckets", 2)
    b, b_losses, _ = _train(tiny_ckpt, tmp_path, "b2", "--length-buckets", 2)
    assert a["status"] == "finished"
    assert a_losses == b_losses  # same seed, same batches, bit for bit
    config = json.loads((tmp_path / "b1" / "config.json").read_text())
    assert config["train"]["length_buckets"] == 2


def test_driver_rejects_packing_multi_token_answers(tiny_ckpt, tmp_path):
    with pytest.raises(SystemExit, match="pack-examples"):
        _train(tiny_ckpt, tmp_path, "multi", "--pack-examples", "--pattern-id", "3")  # multi-token verbalizer
    assert not (tmp_path / "multi").exists()  # refused before a run directory is made
