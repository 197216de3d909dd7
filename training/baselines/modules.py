"""Baseline samples, collate functions and modules: module(batch) -> (scores or None, loss), as the loop expects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import (
    PreTrainedModel,
)
from transformers.modeling_outputs import BaseModelOutput

from model.heads import choice_loss, mask_missing_choices
from tasks.layout import pad_rows

IGNORE_INDEX = -100  # target padding: no loss, and no score


# ---------------------------------------------------------------------------------------------- samples
@dataclass
class ClassSample:
    input_ids: list[int]  # [L], specials included
    label: int  # index into the label list, -1 when unlabeled


@dataclass
class TextPair:
    input_ids: list[int]  # [L]
    target_ids: list[int] | None  # [T] with the closing eos; None when unlabeled


def pad_inputs(rows: Sequence[Sequence[int]], pad_id: int) -> dict[str, Tensor]:
    """input_ids [B, L] right-padded with pad_id, attention_mask [B, L] (1 on each row's own tokens)."""
    ids = pad_rows(rows, pad_id)
    lengths = torch.tensor([len(r) for r in rows])
    return {"input_ids": ids, "attention_mask": (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()}


def collate_classes(samples: Sequence[ClassSample], pad_id: int) -> dict[str, Tensor]:
    return {**pad_inputs([s.input_ids for s in samples], pad_id),
            "labels": torch.tensor([s.label for s in samples], dtype=torch.long)}  # [B]


def collate_pairs(samples: Sequence[TextPair], pad_id: int) -> dict[str, Tensor]:
    """Inputs padded with pad_id, targets with IGNORE_INDEX (training only: every target is present)."""
    return {**pad_inputs([s.input_ids for s in samples], pad_id),
            "labels": pad_rows([s.target_ids for s in samples], IGNORE_INDEX)}  # [B, T]


# ---------------------------------------------------------------------------------------------- modules
class LinearClassifier(nn.Module):
    """A Hugging Face *ForSequenceClassification: forward(batch) -> (logits [B, C], the loss or None).
    `loss_func`: cross_entropy (default) or hinge, as GLM's runs (model.heads.choice_loss)."""

    def __init__(self, model: PreTrainedModel, loss_func: str = "cross_entropy"):
        super().__init__()
        self.model = model
        self.loss_func = loss_func

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits  # [B, C]
        labels = batch["labels"]
        return logits, choice_loss(logits, labels, self.loss_func) if bool((labels >= 0).all()) else None


@dataclass
class ChoiceSample:
    rows: list[list[int]]  # one `A </s></s> choice` row per choice, specials included
    label: int  # index of the correct choice, -1 when unlabeled


def collate_choices(samples: Sequence[ChoiceSample], pad_id: int) -> dict[str, Tensor]:
    """input_ids / attention_mask [B*C, L] (missing choices repeat the first row), choice_mask [B, C], labels [B]."""
    n = max(len(s.rows) for s in samples)
    rows = [r for s in samples for r in s.rows + [s.rows[0]] * (n - len(s.rows))]
    return {**pad_inputs(rows, pad_id), "choice_mask": torch.tensor([[c < len(s.rows) for c in range(n)] for s in samples]),
            "labels": torch.tensor([s.label for s in samples], dtype=torch.long)}


class MultipleChoiceLinear(nn.Module):
    """A one-output *ForSequenceClassification over every (context, choice) row: scores [B, C], missing choices -inf."""

    def __init__(self, model: PreTrainedModel, loss_func: str = "cross_entropy"):
        super().__init__()
        self.model = model
        self.loss_func = loss_func

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        mask = batch["choice_mask"]
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits  # [B*C, 1]
        scores = mask_missing_choices(logits.view(mask.shape).float(), mask)
        labels = batch["labels"]
        return scores, choice_loss(scores, labels, self.loss_func) if bool((labels >= 0).all()) else None


def target_log_probs(model: PreTrainedModel, encoded: Tensor, attention_mask: Tensor, targets: Tensor) -> Tensor:
    """Log-probability of every target token, 0 at IGNORE_INDEX padding.

    encoded [N, S, H] encoder states, attention_mask [N, S], targets [N, T] -> [N, T]. The decoder input is the
    targets shifted right behind the model's decoder start token (the model's own rule, also used in training).
    """
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=targets)  # [N, T]
    logits = model(encoder_outputs=BaseModelOutput(last_hidden_state=encoded), attention_mask=attention_mask,
                   decoder_input_ids=decoder_input_ids).logits.float()  # [N, T, V]
    real = targets != IGNORE_INDEX
    picked = logits.log_softmax(-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # [N, T]
    return picked * real


class LabelTextScorer(nn.Module):
    """Classification by an encoder-decoder LM: the score of a label is the log-likelihood of its text
    (divided by its token count ** length_penalty, as GLM's multi-token cloze; 0 = the plain sum).

    Training maximises the likelihood of the gold label's text (standard text-to-text fine-tuning: token-level
    cross-entropy over the batch) and decodes only that text; evaluation scores every label's text.
    forward(batch) -> (scores [B, C] or None while training, loss or None when the batch is unlabeled).
    """

    def __init__(self, model: PreTrainedModel, candidates: Tensor, length_penalty: float = 0.0):
        super().__init__()
        self.model = model
        self.register_buffer("candidates", candidates, persistent=False)  # [C, T], IGNORE_INDEX padded
        self.length_penalty = length_penalty

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor | None, Tensor | None]:
        labels, mask = batch["labels"], batch["attention_mask"]  # [B], [B, S]
        labelled = bool((labels >= 0).all())
        encoded = self.model.get_encoder()(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state  # [B, S, H]
        if self.training and labelled:
            gold = self.candidates[labels]  # [B, T]
            logp = target_log_probs(self.model, encoded, mask, gold)
            return None, -logp.sum() / (gold != IGNORE_INDEX).sum()
        b, (c, t) = labels.shape[0], self.candidates.shape
        flat = self.candidates.repeat(b, 1)  # [B*C, T]: row i*C + j is label j of example i
        logp = target_log_probs(self.model, encoded.repeat_interleave(c, 0), mask.repeat_interleave(c, 0), flat).view(b, c, t)
        lengths = (self.candidates != IGNORE_INDEX).sum(-1)  # [C]
        scores = logp.sum(-1) / lengths.float() ** self.length_penalty  # [B, C]
        if not labelled:
            return scores, None
        gold = logp[torch.arange(b), labels]  # [B, T]
        return scores, -gold.sum() / lengths[labels].sum()


class Seq2SeqLM(nn.Module):
    """An encoder-decoder LM for generation: forward(batch) -> (None, token-level cross-entropy with label
    smoothing, as GLM's seq2seq loss: (1 - eps) * NLL + eps * mean over the vocabulary of -log p)."""

    def __init__(self, model: PreTrainedModel, label_smoothing: float = 0.0):
        super().__init__()
        self.model = model
        self.label_smoothing = label_smoothing

    def forward(self, batch: dict[str, Tensor]) -> tuple[None, Tensor]:
        targets = batch["labels"]  # [B, T]
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            decoder_input_ids=self.model.prepare_decoder_input_ids_from_labels(labels=targets)).logits
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
                               label_smoothing=self.label_smoothing)
        return None, loss
