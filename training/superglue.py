"""SuperGLUE fine-tuning glue: the eight tasks of tasks/superglue through a cloze or a linear head, THUDM/GLM's
losses (--loss-func), the SuperGLUE metrics and the leaderboard's submission files.

Heads
    cloze, single-token    RTE, CB, BoolQ, WiC, MultiRC: label-word logits at <sop> (or, with --multi-token, each
                           label word scored as a multi-token answer)
    cloze, multi-token     COPA, WSC, ReCoRD: summed log-probabilities of each candidate (+ eop), packed (default)
                           or one row per candidate; a variable number of candidates is padded and masked; at
                           evaluation the candidates are scored in pieces of CHUNK (ReCoRD's dozens of entities)
    classifier             --no-cloze-eval: a linear head on `<s> A </s> B </s>` (upstream's classifier inputs),
                           for COPA and ReCoRD one score per choice row (upstream's multiple-choice head)
WSC without --wsc-negative follows upstream's generative path: training on the referent alone with the generative
loss, and an example counts as True when greedy decoding at the blank reproduces the referent token for token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from model.glm import GLMModel
from model.heads import (
    ClassificationHead,
    MultipleChoiceClassifierHead,
    MultiTokenClozeHead,
    SingleTokenClozeHead,
    _lm_rows,
    choice_loss,
)
from model.tokenizer import GLMTokenizer
from tasks import layout
from tasks.base import PVP, InputExample
from tasks.superglue.evaluate import SUBMISSION_FILES, compute_metrics, predicted_labels, submission_records
from tasks.superglue.processors import SuperGlueProcessor

from .loop import EvalResult, move

log = logging.getLogger(__name__)

CHUNK = 10  # candidates scored together at evaluation (upstream's segment of 10 choices)


class SuperGlueModule(nn.Module):
    """Backbone + head; forward(batch) -> (scores [B, C], loss or None). A training batch must be labelled."""

    def __init__(self, backbone: nn.Module, head: nn.Module, loss_func: str):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.loss_func = loss_func

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        scores = self.head(self.backbone, batch)
        labels = batch["labels"]
        if bool((labels >= 0).all()):
            return scores, choice_loss(scores, labels, self.loss_func)
        if self.training:
            raise ValueError("a training batch holds examples without a label (label index -1); training needs labelled examples")
        return scores, None

    @torch.no_grad()
    def greedy_match(self, batch: dict[str, Tensor]) -> Tensor:
        """[B] bool: for packed samples with one candidate, whether every target token (eop included) is the
        argmax of its position (greedy decoding at the blank reproduces the answer)."""
        hidden = self.backbone(batch["input_ids"], batch["position_ids"], attention_mask=batch["attention_mask"],
                               output_logits=False).hidden_states  # fmt: skip
        scored = batch["candidate_index"] >= 0  # [B, T]
        hits = torch.ones_like(scored)
        hits[scored] = _lm_rows(self.backbone, hidden[scored]).argmax(-1) == batch["target_ids"][scored]
        return hits.all(dim=1)


@dataclass
class SuperGlueBuilt:
    module: SuperGlueModule
    train_samples: list[Any]
    eval_samples: dict[str, list[list[Any]]]  # split -> per example, its pieces
    collate: Callable[[Sequence[Any]], dict[str, Tensor]]
    make_evaluator: Callable[[int, torch.device], Callable[[nn.Module, str], EvalResult]]
    write_submission: Callable[[Path], Path | None]
    record: dict


def _width(piece: Any) -> int:
    """How many scores a piece contributes to its example."""
    if isinstance(piece, layout.PackedCandidates):
        return piece.num_candidates
    if isinstance(piece, layout.CandidateRows):
        return len(piece.input_ids)
    if isinstance(piece, layout.ClassifierChoices):
        return len(piece.rows)
    if isinstance(piece, layout.SingleTokenSample):
        return len(piece.verbalizer_ids)
    raise TypeError(f"no score width for {type(piece).__name__}")


def build_superglue_task(backbone: GLMModel, tokenizer: GLMTokenizer, pvp: PVP | None, processor: SuperGlueProcessor,
                         task: str, labels: Sequence[str], kind: str, examples: dict[str, list[InputExample]], *,
                         head_kind: str, seq_length: int, loss_func: str, length_penalty: float, wsc_negative: bool,
                         multi_token_layout: str = "packed", classifier_dropout: float = 0.1,
                         chunk: int = CHUNK) -> SuperGlueBuilt:  # fmt: skip
    """`task` is upstream's lower-case name; `examples` the train/dev/test examples of `processor`."""
    labels = list(labels)
    record: dict[str, Any] = {"loss_func": loss_func}
    greedy = False
    if head_kind == "cloze":
        if pvp is None:
            raise ValueError("the cloze head needs a pattern (PVP)")
        if task == "wsc" and not wsc_negative:
            # Upstream's WSC without --wsc-negative: the referent alone, generative loss, greedy-match evaluation.
            examples = {s: [_without_candidates(e) for e in exs] for s, exs in examples.items()}
            greedy, loss_func = True, "generative"
            record.update(loss_func="generative", wsc="referent only (no --wsc-negative): generative loss, greedy-match evaluation")
        if pvp.is_multi_token:
            rows = multi_token_layout == "rows"
            if multi_token_layout not in ("packed", "rows"):
                raise ValueError(f"--multi-token-layout must be 'packed' or 'rows', got {multi_token_layout!r}")
            head: nn.Module = MultiTokenClozeHead(length_penalty)
            encode_train = layout.encode_candidate_rows if rows else layout.encode_packed
            collate = layout.collate_candidate_rows if rows else layout.collate_packed
            train = [encode_train(pvp, e) for e in tqdm(examples["train"], desc="encode train", leave=False)]
            piece_chunk = 1 if greedy else chunk

            def pieces(e: InputExample) -> list[Any]:
                return layout.encode_packed_chunks(pvp, e, piece_chunk, rows=rows and not greedy)
        else:
            head, collate = SingleTokenClozeHead(), layout.collate_single_token
            train = [layout.encode_single_token(pvp, e) for e in examples["train"]]

            def pieces(e: InputExample) -> list[Any]:
                return [layout.encode_single_token(pvp, e)]
    elif head_kind == "classifier":
        hidden = backbone.config.hidden_size
        if kind == "multiple_choice":
            head, collate = MultipleChoiceClassifierHead(hidden, classifier_dropout), layout.collate_classifier_choices

            def encode_choices(e: InputExample, part: slice = slice(None)) -> layout.ClassifierChoices:
                text_a, choices = processor.classifier_choices(e)
                ids = [[t for text in choice for t in tokenizer.encode(text)] for choice in choices]
                return layout.build_classifier_choices(tokenizer.encode(text_a), ids[part], tokenizer, seq_length,
                                                       _choice_label(task, e))  # fmt: skip

            train = [encode_choices(e) for e in examples["train"]]

            def pieces(e: InputExample) -> list[Any]:
                n = len(processor.classifier_choices(e)[1])
                return [replace(encode_choices(e, slice(i, i + chunk)), label=-1) for i in range(0, n, chunk)]
        else:
            head, collate = ClassificationHead(hidden, len(labels), classifier_dropout), layout.collate_classifier

            def encode_one(e: InputExample) -> layout.ClassifierSample:
                a, b = processor.classifier_input(e)
                label = -1 if e.label is None else labels.index(e.label)
                return layout.build_classifier(tokenizer.encode(a), tokenizer.encode(b) if b else None, tokenizer, seq_length, label)

            train = [encode_one(e) for e in examples["train"]]

            def pieces(e: InputExample) -> list[Any]:
                return [replace(encode_one(e), label=-1)]
    else:
        raise ValueError(f"unknown head {head_kind!r} for a SuperGLUE task (cloze or classifier)")

    pad = tokenizer.pad_id
    collate_fn = lambda samples: collate(samples, pad_id=pad)  # noqa: E731
    module = SuperGlueModule(backbone, head, loss_func)
    eval_samples = {s: [pieces(e) for e in tqdm(exs, desc=f"encode {s}", leave=False)] for s, exs in examples.items() if s != "train"}
    n_labels = len(labels)
    width = (lambda p: n_labels) if isinstance(head, ClassificationHead) and kind != "multiple_choice" else _width
    last: dict[str, list[int]] = {}
    make_evaluator = superglue_evaluator(task, examples, eval_samples, collate_fn, width, last, greedy)
    write_submission = submission_writer(task, examples, last)
    return SuperGlueBuilt(module, train, eval_samples, collate_fn, make_evaluator, write_submission, record)


def superglue_evaluator(task: str, examples: dict[str, list[InputExample]], eval_samples: dict[str, list[list[Any]]], collate,
                        width: Callable[[Any], int], last: dict[str, list[int]],
                        greedy: bool = False) -> Callable[[int, torch.device], Callable[[nn.Module, str], EvalResult]]:  # fmt: skip
    """make_evaluator(batch_size, device) -> evaluate(module, split): every example's pieces scored and put side by
    side, the argmax its prediction, the task's SuperGLUE metrics; `last[split]` keeps the predictions."""

    def make_evaluator(batch_size: int, device: torch.device) -> Callable[[nn.Module, str], EvalResult]:
        def evaluate(mod: nn.Module, split: str) -> EvalResult:
            exs = examples[split]
            if greedy:
                predictions = _greedy_predictions(mod, eval_samples[split], collate, batch_size, device)
                scores: list[list[float]] = [[] for _ in exs]
            else:
                scores = _score_pieces(mod, eval_samples[split], collate, width, batch_size, device)
                predictions = [max(range(len(s)), key=s.__getitem__) for s in scores]
            last[split] = predictions
            metrics = compute_metrics(task, predictions, exs)
            shown = predicted_labels(task, predictions, exs)
            rows = [{"idx": e.idx, "guid": e.guid, "label": e.label if task != "record" else e.meta.get("answers"),
                     "prediction": p, "scores": [round(x, 6) for x in s]} for e, p, s in zip(exs, shown, scores)]  # fmt: skip
            return EvalResult(metrics, rows)

        return evaluate

    return make_evaluator


def submission_writer(task: str, examples: dict[str, list[InputExample]], last: dict[str, list[int]]) -> Callable[[Path], Path | None]:
    def write_submission(run_dir: Path) -> Path | None:
        """`<run_dir>/submission/<Task>.jsonl` from the test predictions at the best point (the loop's last test)."""
        if "test" not in last or not examples["test"]:
            return None
        path = Path(run_dir) / "submission" / SUBMISSION_FILES[task]
        path.parent.mkdir(parents=True, exist_ok=True)
        records = submission_records(task, last["test"], examples["test"])
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        tmp.replace(path)
        return path

    return write_submission


def _without_candidates(e: InputExample) -> InputExample:
    if "candidates" not in e.meta:
        return e
    return replace(e, meta={k: v for k, v in e.meta.items() if k != "candidates"})


def _choice_label(task: str, e: InputExample) -> int:
    if task == "record":
        gold = set(e.meta.get("answers", []))
        return next((i for i, c in enumerate(e.meta["candidates"]) if c in gold), -1)
    return -1 if e.label is None else int(e.label)


def _score_pieces(module: nn.Module, samples: list[list[Any]], collate, width: Callable[[Any], int], batch_size: int,
                  device: torch.device) -> list[list[float]]:  # fmt: skip
    """Every example's scores, its pieces scored in batches of `batch_size` pieces and put side by side."""
    flat = [(i, p) for i, ps in enumerate(samples) for p in ps]
    out: list[list[float]] = [[] for _ in samples]
    for start in tqdm(range(0, len(flat), batch_size), desc="eval", leave=False, dynamic_ncols=True):
        chunk = flat[start : start + batch_size]
        scores, _ = module(move(collate([p for _, p in chunk]), device))
        for (i, piece), row in zip(chunk, scores.float().tolist()):
            out[i].extend(row[: width(piece)])
    return out


def _greedy_predictions(module: nn.Module, samples: list[list[Any]], collate, batch_size: int, device: torch.device) -> list[int]:
    """WSC's generative evaluation: 0 (the referent, True) when greedy decoding reproduces it, else 1."""
    core = getattr(module, "module", module)
    flat = [ps[0] for ps in samples]
    out: list[int] = []
    for start in range(0, len(flat), batch_size):
        hits = core.greedy_match(move(collate(flat[start : start + batch_size]), device))
        out.extend(0 if h else 1 for h in hits.tolist())
    return out
