"""Seq2seq fine-tuning glue: examples -> GLM seq2seq layout -> label-smoothed token loss; dev/test decoding ->
ROUGE/BLEU and prediction rows. `training.loop.Trainer` runs it like a classification task:
`module(batch) -> (None, loss)` and `evaluator(...)(module, split) -> EvalResult`.

Decoding batches are formed in order of source length (less padding); results go back in example order. With
the padding-excluded layout the generated tokens do not depend on how a batch is padded, so this ordering
changes speed, not predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from model.decoding import GenerationConfig, generate
from model.glm import GLMModel
from model.heads import token_loss
from model.tokenizer import GLMTokenizer
from tasks.base import InputExample
from tasks.seq2seq.layout import EncodedSeq2Seq, Seq2SeqBatch, Seq2SeqLayoutConfig, Seq2SeqPrompt, collate_eval, collate_train
from tasks.seq2seq.metrics import GENERATION_METRICS, text_metrics

from .loop import EvalResult



class Seq2SeqModule(nn.Module):
    """The backbone and the seq2seq loss; forward(batch) -> (None, mean label-smoothed target-token loss)."""

    def __init__(self, backbone: GLMModel, label_smoothing: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.label_smoothing = label_smoothing

    def forward(self, batch: dict[str, Tensor]) -> tuple[None, Tensor]:
        hidden = self.backbone(batch["input_ids"], batch["position_ids"], attention_mask=batch["attention_mask"],
                               output_logits=False).hidden_states  # [B, T, H]
        return None, token_loss(self.backbone, hidden, batch["target_ids"], batch["loss_mask"], self.label_smoothing)


def batch_dict(batch: Seq2SeqBatch) -> dict[str, Tensor]:
    """The tensors of a layout batch, keyed by field name (what the loop moves to the device)."""
    return {f.name: getattr(batch, f.name) for f in fields(batch) if isinstance(getattr(batch, f.name), Tensor)}


@dataclass
class Seq2SeqTask:
    """Everything the driver needs for one seq2seq task and prompt."""

    module: Seq2SeqModule
    tokenizer: GLMTokenizer
    prompt: Seq2SeqPrompt
    layout: Seq2SeqLayoutConfig
    generation: GenerationConfig
    metrics: tuple[str, ...] = GENERATION_METRICS
    prefix_prompt: int = 0  # continuous-prompt positions right after [CLS] (P-tuning; model.peft.prompt)
    prompt_placeholder: int = -1  # the id that marks them

    def encode_all(self, examples: Sequence[InputExample]) -> list[EncodedSeq2Seq]:
        k = self.prefix_prompt
        encoded = [self.prompt.encode_example(self.tokenizer, e, src_len=self.layout.src_len - k, tgt_len=self.layout.tgt_len)
                   for e in examples]
        if k:  # the source budget kept room for them; [CLS] stays first, the mask moves by k
            encoded = [dataclasses.replace(x, source_ids=[x.source_ids[0], *[self.prompt_placeholder] * k, *x.source_ids[1:]],
                                           mask_position=x.mask_position + k) for x in encoded]
        return encoded

    def collate(self, samples: Sequence[EncodedSeq2Seq]) -> dict[str, Tensor]:
        return batch_dict(collate_train(list(samples), self.tokenizer, self.layout))

    def predict(self, backbone: GLMModel, samples: Sequence[EncodedSeq2Seq], batch_size: int,
                device: torch.device) -> list[str]:
        """Generated text per sample, in sample order."""
        order = sorted(range(len(samples)), key=lambda i: len(samples[i].source_ids))
        texts: list[str] = [""] * len(samples)
        for start in tqdm(range(0, len(order), batch_size), desc="decode", leave=False, dynamic_ncols=True):
            chunk = order[start : start + batch_size]
            batch = collate_eval([samples[i] for i in chunk], self.tokenizer, self.layout)
            rows = generate(backbone, batch.input_ids.to(device), batch.position_ids.to(device),
                            batch.attention_mask.to(device), self.generation)
            for i, ids in zip(chunk, rows):
                texts[i] = self.tokenizer.decode(ids).strip()
        return texts

    def evaluator(self, samples: dict[str, list[EncodedSeq2Seq]], examples: dict[str, list[InputExample]],
                  batch_size: int, device: torch.device, dev_max_examples: int = 0) -> Callable[[nn.Module, str], EvalResult]:
        return generation_evaluator(examples, lambda module, split, n: self.predict(module.backbone, samples[split][:n], batch_size, device),
                                    self.metrics, dev_max_examples)


def generation_evaluator(examples: dict[str, list[InputExample]], predict: Callable[[nn.Module, str, int], list[str]],
                         metrics: Sequence[str], dev_max_examples: int = 0) -> Callable[[nn.Module, str], EvalResult]:
    """Decode a split and score it, for any model: `predict(module, split, n)` returns the texts of the first n
    examples. `dev_max_examples` caps dev decoding during training (0 = all); test is always decoded in full.
    Unlabelled examples get predictions but no metrics."""

    def evaluate(module: nn.Module, split: str) -> EvalResult:
        n = dev_max_examples if split == "dev" and dev_max_examples else len(examples[split])
        exs = examples[split][:n]
        predictions = predict(module, split, n)
        labelled = [i for i, e in enumerate(exs) if e.target is not None]
        scored = text_metrics(metrics, [predictions[i] for i in labelled], [exs[i].target for i in labelled]) if labelled else {}
        rows = [{"idx": e.idx, "guid": e.guid, "label": e.target, "prediction": p} for e, p in zip(exs, predictions)]
        return EvalResult(scored, rows)

    return evaluate


def build_seq2seq_task(backbone: GLMModel, tokenizer: GLMTokenizer, prompt: Seq2SeqPrompt, layout: Seq2SeqLayoutConfig,
                       generation: GenerationConfig, label_smoothing: float = 0.0,
                       metrics: Sequence[str] = GENERATION_METRICS, prefix_prompt: int = 0,
                       prompt_placeholder: int = -1) -> Seq2SeqTask:
    """Checks that the budgets fit the position tables: source positions reach src_len - 1, block positions
    reach the target length (training) or max_length (decoding)."""
    rows = backbone.transformer.position_embeddings.num_embeddings
    largest = max(layout.src_len - 1, layout.tgt_len, generation.max_length)
    if largest >= rows:
        raise ValueError(f"--src-seq-length {layout.src_len} / --tgt-seq-length {layout.tgt_len} need position id "
                         f"{largest}, but the model's position tables have {rows} rows; load it with a larger "
                         "max_sequence_length (THUDM/GLM extends the tables the same way)")
    if prefix_prompt and layout.src_len - prefix_prompt < 2:
        raise ValueError(f"--prefix-prompt {prefix_prompt} leaves no room in --src-seq-length {layout.src_len}")
    return Seq2SeqTask(Seq2SeqModule(backbone, label_smoothing), tokenizer, prompt, layout, generation, tuple(metrics),
                       prefix_prompt, prompt_placeholder)
