"""AdamW with upstream's parameter groups and learning-rate schedule.

Schedule (THUDM/GLM's AnnealingLR, reproduced because users compare numbers with the paper's code):
    total   = epochs * ceil(ceil(N / world_size) / batch_size) // gradient_accumulation_steps
    warmup  = int(warmup_fraction * total)
    lr(s)   = base * s / warmup                                              for s <= warmup (warmup > 0)
            = base * (1 - (1 - ratio) * (s - warmup) / (total - warmup))     linear, ends at ratio * base
            = base * (ratio + (1 - ratio) * (1 + cos(pi * progress)) / 2)   cosine, ends at ratio * base
            = base                                                           constant
where s counts optimizer steps from 0, so with warmup the first step uses lr 0, exactly as upstream.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

DECAY_STYLES = ("linear", "cosine", "constant")


def param_groups(modules: Iterable[nn.Module] | nn.Module, weight_decay: float) -> list[dict]:
    """Trainable parameters in two groups: biases and LayerNorm parameters get no weight decay."""
    if isinstance(modules, nn.Module):
        modules = [modules]
    decay, no_decay, seen = [], [], set()
    for module in modules:
        for sub in module.modules():
            for name, p in sub.named_parameters(recurse=False):
                if not p.requires_grad or id(p) in seen:
                    continue
                seen.add(id(p))
                (no_decay if isinstance(sub, nn.LayerNorm) or name == "bias" else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def total_steps(num_examples: int, batch_size: int, epochs: int, grad_accum: int = 1, world_size: int = 1) -> int:
    per_epoch = math.ceil(math.ceil(num_examples / world_size) / batch_size)
    return max(1, epochs * per_epoch // grad_accum)


def lr_factor(step: int, total: int, warmup: int, style: str, ratio: float) -> float:
    """Multiplier of the base learning rate at optimizer step `step` (0-based)."""
    if style not in DECAY_STYLES:
        raise ValueError(f"--lr-decay-style must be one of {DECAY_STYLES}, got {style!r}")
    if warmup > 0 and step <= warmup:
        return step / warmup
    if style == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if style == "linear":
        return 1.0 - (1.0 - ratio) * progress
    return ratio + (1.0 - ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(
    modules, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
    fused: bool = False,
) -> torch.optim.AdamW:
    """`fused`: torch's single-kernel AdamW (the same update; the trainer asks for it on CUDA and CPU)."""
    groups = param_groups(modules, weight_decay)
    if not groups:
        raise ValueError("no trainable parameters: everything is frozen")
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=fused or None)


def build_scheduler(optimizer, total: int, warmup_fraction: float, style: str, ratio: float):
    warmup = int(warmup_fraction * total)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup, style, ratio))
