"""Optimizer groups and upstream's learning-rate schedule."""

import math

import pytest
import torch

from model.glm import GLMConfig, GLMModel
from training.loop import epoch_batches
from training.optim import build_optimizer, build_scheduler, lr_factor, param_groups, total_steps


def test_no_decay_on_biases_and_layernorm():
    model = GLMModel(GLMConfig(num_layers=1, hidden_size=16, num_attention_heads=2, vocab_size=64, max_sequence_length=8))
    decay, no_decay = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(not names[id(p)].endswith("bias") and "layernorm" not in names[id(p)] for p in decay["params"])
    assert all(names[id(p)].endswith("bias") or "layernorm" in names[id(p)] for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    model.word_embeddings.weight.requires_grad_(False)
    assert sum(len(g["params"]) for g in param_groups(model, 0.1)) == len(list(model.parameters())) - 1


def test_total_steps_like_upstream():
    assert total_steps(100, 8, 3) == 39  # ceil(100/8)=13 per epoch
    assert total_steps(100, 8, 3, grad_accum=2) == 19
    assert total_steps(100, 8, 3, world_size=2) == 21  # ceil(ceil(100/2)/8)=7


def test_schedule_values():
    total, warmup = 100, 10
    assert lr_factor(0, total, warmup, "linear", 0.1) == 0.0  # upstream's first step runs at lr 0
    assert lr_factor(5, total, warmup, "linear", 0.1) == 0.5
    assert lr_factor(10, total, warmup, "linear", 0.1) == 1.0
    assert lr_factor(100, total, warmup, "linear", 0.1) == pytest.approx(0.1)  # ends at ratio * lr, not 0
    assert lr_factor(55, total, warmup, "linear", 0.1) == pytest.approx(1 - 0.9 * 0.5)
    assert lr_factor(55, total, warmup, "cosine", 0.1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(100, total, warmup, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(70, total, warmup, "constant", 0.1) == 1.0
    assert lr_factor(0, total, 0, "linear", 0.1) == 1.0  # no warmup: the first step uses the full rate
    with pytest.raises(ValueError, match="lr-decay-style"):
        lr_factor(1, total, warmup, "exp", 0.1)


def test_scheduler_drives_optimizer():
    p = torch.nn.Parameter(torch.zeros(2))
    opt = build_optimizer(torch.nn.ParameterList([p]), lr=1.0, weight_decay=0.0)
    sched = build_scheduler(opt, total=10, warmup_fraction=0.2, style="linear", ratio=0.1)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:3] == [0.0, 0.5, 1.0] and lrs[-1] == pytest.approx(1 - 0.9 * 7 / 8)


def test_epoch_order_is_seeded_and_sharded():
    a = epoch_batches(10, 4, seed=1, epoch=0)
    assert a == epoch_batches(10, 4, seed=1, epoch=0) and a != epoch_batches(10, 4, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(10)) and [len(b) for b in a] == [4, 4, 2]
    r0, r1 = epoch_batches(10, 2, 1, 0, rank=0, world_size=4), epoch_batches(10, 2, 1, 0, rank=1, world_size=4)
    assert len(r0) == len(r1) == 2  # padded to 12 by wrapping: every rank runs the same number of steps
