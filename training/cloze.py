"""Classification fine-tuning glue: examples -> GLM layouts -> head -> loss / predictions / metrics.

Heads (HeadConfig.kind; a PEFT method is orthogonal and never seen here)
    cloze       a PVP renders a cloze question; label words (single-token) or answers (multi-token) are scored
                by the LM head, no new parameters (upstream's --cloze-eval).
    classifier  the same text without a pattern, `<s> A </s> B </s>`, scored by a new linear head on the first
                token (upstream without --cloze-eval): the baseline the prompt method is compared with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from model.glm import GLMModel
from model.heads import ClassificationHead, MultiTokenClozeHead, SingleTokenClozeHead, check_scores, cloze_loss
from model.tokenizer import GLMTokenizer
from tasks import layout, packing
from tasks.base import PVP, InputExample
from tasks.metrics import compute_metrics

from .loop import EvalResult, move


class ClozeModule(nn.Module):
    """Backbone + head; forward(batch) -> (scores [B, C], loss or None when the batch is unlabeled)."""

    def __init__(self, backbone: GLMModel, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        scores = self.head(self.backbone, batch)
        labels = batch["labels"]
        loss = cloze_loss(scores, labels) if bool((labels >= 0).all()) else None
        return scores, loss


@dataclass
class ClassificationTask:
    """Everything the driver needs for one classification task and method. `module` is any nn.Module whose
    forward(batch) returns (scores [B, num_labels], loss or None): the GLM's ClozeModule, or a baseline's."""

    module: nn.Module
    encode: Callable[[InputExample], Any]
    collate: Callable[[Sequence[Any]], dict[str, Tensor]]
    label_list: list[str]
    metric_names: tuple[str, ...]

    def encode_all(self, examples: Sequence[InputExample], desc: str) -> list[Any]:
        return [self.encode(e) for e in tqdm(examples, desc=f"encode {desc}", leave=False, dynamic_ncols=True)]

    def evaluator(self, samples: dict[str, list[Any]], examples: dict[str, list[InputExample]], batch_size: int,
                  device: torch.device) -> Callable[[nn.Module, str], EvalResult]:
        def evaluate(module: nn.Module, split: str) -> EvalResult:
            preds, scores = predict(module, samples[split], self.collate, batch_size, device)
            golds = [self.label_list.index(e.label) if e.label is not None else -1 for e in examples[split]]
            labelled = [i for i, g in enumerate(golds) if g >= 0]
            metrics = compute_metrics(self.metric_names, [preds[i] for i in labelled], [golds[i] for i in labelled]) if labelled else {}
            rows = [
                {"idx": e.idx, "guid": e.guid, "label": e.label, "prediction": self.label_list[p],
                 "scores": [round(s, 6) for s in sc]}
                for e, p, sc in zip(examples[split], preds, scores)
            ]
            return EvalResult(metrics, rows)

        return evaluate


def predict(module: nn.Module, samples: Sequence[Any], collate, batch_size: int, device: torch.device) -> tuple[list[int], list[list[float]]]:
    """Argmax predictions and scores, in sample order."""
    preds: list[int] = []
    all_scores: list[list[float]] = []
    for i in tqdm(range(0, len(samples), batch_size), desc="eval", leave=False, dynamic_ncols=True):
        batch = move(collate(samples[i : i + batch_size]), device)
        scores, _ = module(batch)
        scores = check_scores(scores.float())
        preds.extend(scores.argmax(-1).tolist())
        all_scores.extend(scores.tolist())
    return preds, all_scores


def build_classification_task(
    backbone: GLMModel,
    tokenizer: GLMTokenizer,
    pvp: PVP | None,
    label_list: Sequence[str],
    metric_names: Sequence[str],
    max_seq_length: int,
    head: str = "cloze",
    multi_token_layout: str = "packed",
    length_penalty: float = 0.0,
    classifier_dropout: float = 0.1,
    prefix_prompt: tuple[int, int] | None = None,
    pack_examples: bool = False,
) -> ClassificationTask:
    """`prefix_prompt` = (K, placeholder id): K continuous-prompt positions right after [CLS] of the linear head's
    input (cloze patterns place their prompt tokens themselves, tasks.base.PVP.use_continuous_prompt).
    `pack_examples`: several examples per row of up to max_seq_length tokens (tasks.packing), same scores and
    losses as one per row; for single-token cloze and the classifier head."""
    if prefix_prompt and pack_examples:
        raise SystemExit("--pack-examples with --prefix-prompt: packed rows have no single [CLS] to put the prompt after")
    pad = tokenizer.pad_id
    if head == "classifier":
        scorer: nn.Module = ClassificationHead(backbone.config.hidden_size, len(label_list), classifier_dropout)
        k = prefix_prompt[0] if prefix_prompt else 0
        encode = partial(layout.encode_classifier, tokenizer=tokenizer, label_list=label_list, max_seq_length=max_seq_length - k)
        if prefix_prompt:
            encode = partial(_with_prompt_after_cls, encode, *prefix_prompt)
        collate = (partial(packing.collate_packed_classifier, pad_id=pad, capacity=max_seq_length) if pack_examples
                   else partial(layout.collate_classifier, pad_id=pad))
    elif head == "cloze":
        if pvp is None:
            raise ValueError("the cloze method needs a PVP (pattern)")
        if pack_examples and pvp.is_multi_token:
            raise ValueError("--pack-examples packs single-token cloze and classifier examples; this pattern has "
                             "multi-token answers, which --multi-token-layout packed already packs per example")
        if not pvp.is_multi_token:
            scorer, encode = SingleTokenClozeHead(), layout.encode_single_token
            collate = (partial(packing.collate_packed_single_token, capacity=max_seq_length) if pack_examples
                       else layout.collate_single_token)
        elif multi_token_layout == "packed":
            scorer, encode, collate = MultiTokenClozeHead(length_penalty), layout.encode_packed, layout.collate_packed
        elif multi_token_layout == "rows":
            scorer, encode, collate = MultiTokenClozeHead(length_penalty), layout.encode_candidate_rows, layout.collate_candidate_rows
        else:
            raise ValueError(f"--multi-token-layout must be 'packed' or 'rows', got {multi_token_layout!r}")
        encode = partial(encode, pvp)
        collate = partial(collate, pad_id=pad)
    else:
        raise ValueError(f"unknown classification head {head!r} (cloze or classifier)")
    return ClassificationTask(ClozeModule(backbone, scorer), encode, collate, list(label_list), tuple(metric_names))


def _with_prompt_after_cls(encode: Callable[[InputExample], layout.ClassifierSample], k: int, placeholder: int,
                           example: InputExample) -> layout.ClassifierSample:
    """The linear head's `<s> A </s> B </s>` with k prompt placeholders after <s> (encoded k tokens shorter)."""
    sample = encode(example)
    ids = [sample.input_ids[0], *[placeholder] * k, *sample.input_ids[1:]]
    return layout.ClassifierSample(ids, [[*range(len(ids))], [0] * len(ids)], len(ids), sample.label)
