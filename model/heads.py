"""Scoring heads on top of the GLM backbone. Each returns scores [B, C] (one per label or candidate); the loss is
cross-entropy over C, as in the original fine-tuning code, except the seq2seq head which returns a token loss.

Batch dictionaries are the ones built by `tasks.layout` (keys and shapes documented there). The heads compute
vocabulary logits only where they are read: the single-token head projects the sop hidden state onto the label
words' embedding rows; the multi-token heads project only the scored positions onto the full vocabulary (the
log-softmax needs it). The results equal slicing the full [B, L, V] logits.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .glm import GLMModel


def _lm_rows(model: GLMModel, hidden: Tensor) -> Tensor:
    """Full-vocabulary log-probabilities for a few hidden rows: [N, H] -> [N, V] in fp32."""
    return F.linear(hidden, model.word_embeddings.weight).float().log_softmax(dim=-1)


def mask_missing_choices(scores: Tensor, choice_mask: Tensor | None) -> Tensor:
    """Padded choice slots (examples with fewer candidates than the batch's widest) can never win."""
    return scores if choice_mask is None else scores.masked_fill(~choice_mask, float("-inf"))


class NonFiniteScores(FloatingPointError):
    """Scores holding NaN or +inf (or a row with no finite score): the argmax of such a row is meaningless (NaN
    picks class 0), so evaluation stops instead of reporting it."""


def check_scores(scores: Tensor, what: str = "scores") -> Tensor:
    """`scores` unchanged when every row is usable: no NaN, no +inf, at least one finite entry (a -inf entry is a
    padded choice slot, see mask_missing_choices)."""
    if math.isfinite(scores.sum()):
        # The common case in one reduction: a NaN or an infinity anywhere makes the sum non-finite. (Decoding checks
        # [rows, 50304] logits at every step; isfinite().all() takes 13x longer there, 0.87 vs 0.066 ms on a
        # 2-core CPU.) A finite sum proves every entry finite; a sum that overflows goes to the exact check below.
        return scores
    bad = torch.isnan(scores) | torch.isposinf(scores)
    empty = ~torch.isfinite(scores).any(dim=-1)
    if bool(bad.any()) or bool(empty.any()):
        rows = (bad.any(dim=-1) | empty).nonzero().flatten().tolist()  # scores are [B, C]
        raise NonFiniteScores(f"non-finite {what} in {len(rows)} of {len(scores)} rows of the batch (first row {rows[0]}); "
                              "the weights or the training diverged (check the learning rate and the checkpoint)")
    return scores


def cloze_loss(scores: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy over labels/candidates in fp32 (mean over the batch)."""
    return F.cross_entropy(scores.float(), labels)


def read_packed(model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
    """Examples packed several to a row (input_ids [R, T], position_ids [R, 2, T], block-diagonal attention_mask
    [R, 1, T, T]): the final hidden state of example i at (read_row[i], read_col[i]) -> [N, H], in example order."""
    hidden = model(batch["input_ids"], batch["position_ids"], attention_mask=batch["attention_mask"],
                   output_logits=False).hidden_states  # [R, T, H]
    return hidden[batch["read_row"], batch["read_col"]]


class SingleTokenClozeHead(nn.Module):
    """Upstream's single-token cloze: logits of the label words, read at the <|startofpiece|> position.

    batch: input_ids [B, L], position_ids [B, 2, L], sep [B] (= the sop index), verbalizer_ids [B, K]; or the
    packed keys of `read_packed` with verbalizer_ids [B, K].
    returns [B, K] raw logits (softmax restricted to the label words happens in the loss).
    """

    def forward(self, model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
        if "read_row" in batch:
            at_sop = read_packed(model, batch)  # [B, H], several examples per row (tasks.packing)
        else:
            sep = batch["sep"]
            hidden = model(batch["input_ids"], batch["position_ids"], sep=sep, output_logits=False).hidden_states
            at_sop = hidden[torch.arange(hidden.shape[0], device=hidden.device), sep]  # [B, H]
        words = model.word_embeddings.weight[batch["verbalizer_ids"]]  # [B, K, H]
        return torch.einsum("bh,bkh->bk", at_sop, words).float()  # [B, K]


class MultiTokenClozeHead(nn.Module):
    """Each candidate scored by the summed log-probabilities of its tokens and the closing <|endofpiece|>,
    divided by (number of tokens) ** length_penalty when length_penalty > 0 (0 = plain sum, upstream's default).

    Two layouts, same scores: `packed` (all candidates of an example in one sequence, explicit attention mask;
    keys input_ids [B, T], position_ids [B, 2, T], attention_mask [B, 1, T, T], target_ids, candidate_index
    [B, T], choice_mask [B, C]) and per-candidate rows (input_ids [B, C, L], position_ids [B, C, 2, L],
    sep [B, C], target_ids, loss_mask [B, C, L], choice_mask [B, C]).
    """

    def __init__(self, length_penalty: float = 0.0):
        super().__init__()
        self.length_penalty = length_penalty

    def forward(self, model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
        if "candidate_index" in batch:
            return self._packed(model, batch)
        return self._rows(model, batch)

    def _sum(self, logp: Tensor, row: Tensor, choice: Tensor, shape: tuple[int, int]) -> Tensor:
        """Scatter per-token log-probs [N] into per-candidate scores [B, C] (sum, then length normalisation)."""
        scores = logp.new_zeros(shape).index_put((row, choice), logp, accumulate=True)
        if self.length_penalty > 0:
            counts = logp.new_zeros(shape).index_put((row, choice), torch.ones_like(logp), accumulate=True)
            scores = scores / counts.clamp(min=1) ** self.length_penalty
        return scores

    def _packed(self, model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
        hidden = model(
            batch["input_ids"], batch["position_ids"], attention_mask=batch["attention_mask"], output_logits=False
        ).hidden_states  # [B, T, H]
        index = batch["candidate_index"]  # [B, T]
        scored = index >= 0
        row = torch.arange(index.shape[0], device=index.device).unsqueeze(1).expand_as(index)[scored]  # [N]
        logp = _lm_rows(model, hidden[scored]).gather(1, batch["target_ids"][scored].unsqueeze(1)).squeeze(1)  # [N]
        scores = self._sum(logp, row, index[scored], tuple(batch["choice_mask"].shape))
        return mask_missing_choices(scores, batch["choice_mask"])

    def _rows(self, model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
        b, c, length = batch["input_ids"].shape
        hidden = model(
            batch["input_ids"].view(b * c, length),  # [B, C, L] -> [B*C, L]
            batch["position_ids"].view(b * c, 2, length),
            sep=batch["sep"].view(b * c),
            output_logits=False,
        ).hidden_states  # [B*C, L, H]
        scored = batch["loss_mask"].view(b * c, length)  # [B*C, L] bool
        flat_row = torch.arange(b * c, device=hidden.device).unsqueeze(1).expand(b * c, length)[scored]  # [N]
        targets = batch["target_ids"].view(b * c, length)[scored]
        logp = _lm_rows(model, hidden[scored]).gather(1, targets.unsqueeze(1)).squeeze(1)  # [N]
        scores = self._sum(logp, flat_row // c, flat_row % c, (b, c))
        return mask_missing_choices(scores, batch.get("choice_mask"))


LOSS_FUNCS = ("cross_entropy", "hinge", "generative", "mix")


def choice_loss(scores: Tensor, labels: Tensor, loss_func: str = "cross_entropy") -> Tensor:
    """THUDM/GLM's losses over the scores [B, C] of labels or candidates (padded choices are -inf and never count):
    cross_entropy; hinge = mean_b sum_{c != y} max(0, 1 + s_c - s_y); generative = -mean_b s_y (the gold
    candidate's log-probability, length-normalised as scored); mix = generative + cross_entropy."""
    scores = scores.float()
    if loss_func == "cross_entropy":
        return F.cross_entropy(scores, labels)
    gold = scores.gather(1, labels.unsqueeze(1))  # [B, 1]
    if loss_func == "hinge":
        margins = (1.0 + scores - gold).clamp(min=0.0)  # the gold column contributes exactly 1
        return margins.sum(dim=1).mean() - 1.0
    if loss_func in ("generative", "mix"):
        generative = -gold.mean()
        return generative + F.cross_entropy(scores, labels) if loss_func == "mix" else generative
    raise ValueError(f"unknown loss function {loss_func!r} (one of {', '.join(LOSS_FUNCS)})")


class ClassificationHead(nn.Module):
    """The linear-head alternative to cloze (no --cloze-eval): the first token's final hidden state ->
    dense -> tanh -> dropout -> linear, as upstream's `pool_layer` / `multichoice_head`.

    batch: input_ids [B, L], position_ids [B, 2, L], sep [B] (each sample's real length), or the packed keys of
    `read_packed`. Returns [B, num_labels].
    """

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.pool_layer = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.multichoice_head = nn.Linear(hidden_size, num_labels)

    def forward(self, model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
        if "read_row" in batch:
            first = read_packed(model, batch)  # [B, H], several examples per row (tasks.packing)
        else:
            first = model(batch["input_ids"], batch["position_ids"], sep=batch["sep"], output_logits=False).hidden_states[:, 0]
        pooled = torch.tanh(self.pool_layer(first))  # [B, H], the <s> position
        return self.multichoice_head(self.dropout(pooled)).float()  # [B, num_labels]


class MultipleChoiceClassifierHead(ClassificationHead):
    """Upstream's multiple-choice classifier for COPA and ReCoRD without --cloze-eval: every `<s> A </s> B_c </s>`
    row pooled and scored to one number. batch: input_ids [B, C, L], position_ids [B, C, 2, L], sep [B, C],
    choice_mask [B, C]. Returns [B, C] (missing choices -inf)."""

    def __init__(self, hidden_size: int, dropout: float = 0.1):
        super().__init__(hidden_size, 1, dropout)

    def forward(self, model: GLMModel, batch: dict[str, Tensor]) -> Tensor:
        b, c, length = batch["input_ids"].shape
        flat = {"input_ids": batch["input_ids"].view(b * c, length), "position_ids": batch["position_ids"].view(b * c, 2, length),
                "sep": batch["sep"].view(b * c)}  # fmt: skip
        return mask_missing_choices(super().forward(model, flat).view(b, c), batch["choice_mask"])


def token_loss(
    model: GLMModel, hidden: Tensor, target_ids: Tensor, loss_mask: Tensor, label_smoothing: float = 0.0
) -> Tensor:
    """Mean over scored tokens of (1-eps)*NLL + eps*mean_v(-log p_v), upstream's label smoothing (uniform over all
    vocabulary rows). hidden [B, L, H], target_ids / loss_mask [B, L]."""
    scored = loss_mask.bool()
    logp = _lm_rows(model, hidden[scored])  # [N, V]
    nll = -logp.gather(1, target_ids[scored].unsqueeze(1)).squeeze(1)  # [N]
    if label_smoothing > 0:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(dim=-1)
    return nll.sum() / scored.sum().clamp(min=1)
