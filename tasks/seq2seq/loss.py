"""The seq2seq training loss: token-level cross-entropy on the target block with THUDM/GLM's label smoothing.

With smoothing eps, each target token costs (1 - eps) * NLL + eps * mean over all vocabulary rows of -log p
(the padding rows of the 50304-row vocabulary included, as upstream's CE normalises over all of them). The batch
loss is the sum over real target tokens divided by their count, so long and short targets weigh per token.
Pure torch on tensors the layout produced; the model stays unaware of tasks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def seq2seq_loss(logits: torch.Tensor, target_ids: torch.Tensor, loss_mask: torch.Tensor,
                 label_smoothing: float = 0.0) -> torch.Tensor:
    """logits [B, T, V], target_ids [B, T], loss_mask [B, T] -> scalar. Pass only the target columns
    (`[:, source_width:]`) to skip the vocabulary projection of the source."""
    logprobs = F.log_softmax(logits.float(), dim=-1)  # [B, T, V]
    nll = -logprobs.gather(-1, target_ids.unsqueeze(-1)).squeeze(-1)  # [B, T]
    if label_smoothing:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logprobs.mean(dim=-1)
    mask = loss_mask.to(nll.dtype)
    return (nll * mask).sum() / mask.sum().clamp_min(1.0)
