"""GLM blank-infilling pretraining on a corpus: documents -> chunks -> masked samples -> the GLM scored on Part B.

What pretrain_glm.py hands to the shared loop (training/driver.py `run`):
    module        BlankInfillingLM: forward(batch) -> (Part-B logits [T, V], mean cross-entropy over the T tokens)
    train_samples MaskedChunks of the train documents, masks re-drawn every epoch (seed, epoch, chunk index)
    evaluator     held-out loss: the same objective on the dev / test documents with fixed masks; metrics
                  loss (the validation metric, lower is better), ppl = exp(loss), accuracy (top-1 on Part B), tokens

Corpus files: plain text with one document per line, or JSON lines with the document under a key (default "text").
Documents are split into train / dev / test by upstream's `--split` proportions (seeded, by document), then cut into
chunks that leave room for the masks (tasks.pretraining.chunk_length).
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.glm import GLMModel
from model.tokenizer import GLMTokenizer
from tasks.data_io import DataError
from tasks.pretraining import BlockIds, MaskedChunks, MaskingConfig, chunk_document, chunk_length, collate

from .build import BuiltTask
from .loop import EvalResult, move

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


# ---------------------------------------------------------------------------------------------- corpus
@dataclass
class Corpus:
    documents: list[str]
    empty: int  # blank lines / empty texts, not documents (counted in the data record)
    files: list[str]


def read_corpus(paths: Sequence[str | Path], text_key: str = "text") -> Corpus:
    """Documents of every file in order: `.jsonl` / `.json` files hold one JSON object per line with the text under
    `text_key`; any other file is plain text, one document per line."""
    documents: list[str] = []
    empty = 0
    for path in map(Path, paths):
        if not path.is_file():
            raise DataError(f"corpus file {path} does not exist")
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if path.suffix in (".jsonl", ".json"):
                    if not line.strip():
                        empty += 1
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise DataError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
                    if not isinstance(row, dict) or not isinstance(row.get(text_key), str):
                        raise DataError(f"{path}:{lineno}: expected an object with a string under {text_key!r} "
                                        f"(--text-key), got {str(row)[:80]}")
                    text = row[text_key]
                else:
                    text = line.rstrip("\n")
                if text.strip():
                    documents.append(text)
                else:
                    empty += 1
    if not documents:
        raise DataError(f"no documents in {', '.join(map(str, paths))}")
    return Corpus(documents, empty, [str(p) for p in paths])


def split_documents(n: int, weights: Sequence[float], seed: int) -> dict[str, list[int]]:
    """Document indices per split: a seeded permutation cut by upstream's --split proportions (train, dev, test);
    a split with a positive weight gets at least one document."""
    if len(weights) != 3 or any(w < 0 for w in weights) or weights[0] <= 0:
        raise ValueError(f"--split takes three non-negative proportions train,dev,test with train > 0, got {list(weights)}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    total = sum(weights)
    sizes = [0, *(max(1, round(n * w / total)) if w > 0 else 0 for w in weights[1:])]
    sizes[0] = n - sizes[1] - sizes[2]
    if sizes[0] < 1:
        raise DataError(f"{n} documents are too few for --split {','.join(f'{w:g}' for w in weights)}: no training documents left")
    out, start = {}, 0
    for name, size in zip(SPLITS, sizes):
        out[name] = sorted(order[start : start + size])
        start += size
    return out


# ---------------------------------------------------------------------------------------------- model
class BlankInfillingLM(nn.Module):
    """The GLM backbone with its tied output projection, scored on Part B (batches from tasks.pretraining.collate)."""

    def __init__(self, backbone: GLMModel):
        super().__init__()
        self.backbone = backbone

    def part_b_logits(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Logits [T, V] (fp32) and targets [T] of the T scored tokens; only their rows are projected on the vocabulary."""
        hidden = self.backbone(batch["input_ids"], batch["position_ids"], sep=batch["sep"], output_logits=False).hidden_states
        scored = batch["loss_mask"].bool()  # [B, L]
        logits = F.linear(hidden[scored], self.backbone.word_embeddings.weight).float()  # [T, H] -> [T, V]
        return logits, batch["target_ids"][scored]

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        logits, targets = self.part_b_logits(batch)
        # the mean over every Part-B token of the batch, as upstream's sum(loss * mask) / sum(mask)
        return logits, F.cross_entropy(logits, targets)


def held_out_metrics(module: BlankInfillingLM, samples: MaskedChunks, batch_size: int, device: torch.device) -> dict[str, float]:
    total, correct, count = 0.0, 0, 0
    for start in range(0, len(samples), batch_size):
        batch = move(collate([samples[i] for i in range(start, min(start + batch_size, len(samples)))], samples.ids.pad), device)
        logits, targets = module.part_b_logits(batch)
        total += F.cross_entropy(logits, targets, reduction="sum").item()
        correct += int((logits.argmax(-1) == targets).sum())
        count += targets.numel()
    loss = total / count
    return {"loss": loss, "ppl": math.exp(min(loss, 700.0)), "accuracy": correct / count, "tokens": count}


# ---------------------------------------------------------------------------------------------- the task
@dataclass(frozen=True)
class PretrainSpec:
    train_data: tuple[str, ...]
    text_key: str
    split: tuple[float, float, float]
    seq_length: int
    seed: int  # masks of the training samples (re-drawn per epoch)
    data_seed: int  # the document split and the fixed masks of dev / test
    masking: MaskingConfig


def build_pretraining(spec: PretrainSpec, tokenizer: GLMTokenizer, backbone: GLMModel) -> BuiltTask:
    ids = BlockIds.from_tokenizer(tokenizer)
    ids.check(spec.masking)
    corpus = read_corpus(spec.train_data, spec.text_key)
    parts = split_documents(len(corpus.documents), spec.split, spec.data_seed)
    if not parts["dev"]:
        raise DataError("--split gives no dev documents, but the held-out loss selects the best checkpoint; give dev a share")
    length = chunk_length(spec.seq_length, spec.masking)
    encoded = [tokenizer.encode(d) for d in corpus.documents]
    chunks = {name: [c for i in idx for c in chunk_document(encoded[i], length)] for name, idx in parts.items()}
    data = {
        "train": MaskedChunks(chunks["train"], spec.masking, ids, spec.seq_length, spec.seed),
        "dev": MaskedChunks(chunks["dev"], spec.masking, ids, spec.seq_length, spec.data_seed),
        "test": MaskedChunks(chunks["test"], spec.masking, ids, spec.seq_length, spec.data_seed + 1),
    }
    record = {
        "from": corpus.files, "text_key": spec.text_key, "empty_lines_skipped": corpus.empty,
        "split": list(spec.split), "data_seed": spec.data_seed, "chunk_tokens": length,
        "documents": {name: len(idx) for name, idx in parts.items()},
        "sizes": {name: len(c) for name, c in chunks.items()},  # samples (chunks) per split
        "tokens": {name: sum(len(c) for c, _ in chunks[name]) for name in SPLITS},
        "masking": asdict(spec.masking),
    }
    log.info("corpus: %d documents (%s), %d training chunks of <= %d tokens", len(corpus.documents),
             ", ".join(f"{k} {v}" for k, v in record["documents"].items()), len(chunks["train"]), length)
    module = BlankInfillingLM(backbone)

    def make_evaluator(batch_size: int, device: torch.device):
        def evaluate(mod: nn.Module, split: str) -> EvalResult:
            samples = data[split]
            return EvalResult(held_out_metrics(mod, samples, batch_size, device) if len(samples) else {})

        return evaluate

    return BuiltTask(
        module=module,
        train_samples=data["train"],
        collate=lambda batch: collate(batch, ids.pad),
        make_evaluator=make_evaluator,
        validation_metric="loss",
        kind="pretraining",
        metric_mode="min",
        data_record=record,
    )
