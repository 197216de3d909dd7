"""GLM input layouts, built in this one place.

GLM reads a sequence as Part A (bidirectional, columns < `sep`) followed by Part B (causal), with two position
rows: row 0 the position (for Part B tokens: the position of the [MASK] they fill) and row 1 the block position
(0 in Part A, 1.. inside a filled span). Every builder below returns plain lists in a dataclass (easy to inspect
and compare); the `collate_*` functions pad a list of them into tensors.

Layouts (as THUDM/GLM's tasks/data_utils.py builds them for fine-tuning):
    single-token cloze   <s> A </s> <sop>                  scores read at <sop> over the verbalizer ids
    candidate rows       <s> A </s> <sop> a_1 .. a_n        one row per candidate, targets a_1 .. a_n, eop
    packed candidates    <s> A </s> [<sop> a_1 .. a_n] x C  all candidates in one row, explicit attention mask
    classifier           <s> A </s> B </s>                  everything visible (sep = length), pooled by a head

Token ids come from the tokenizer: cls 0, eos = pad = sep 2, sop 50265, eop 50266, mask 50264 or 50267.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from model.tokenizer import GLMTokenizer
from tasks.base import PVP, InputExample
from tasks.data_io import DataError

def _last_mask_position(ids: Sequence[int], mask_id: int, guid: str) -> int:
    """Index of the last [MASK], as the original builder uses (the HF port uses the first)."""
    for i in range(len(ids) - 1, -1, -1):
        if ids[i] == mask_id:
            return i
    raise DataError(f"example {guid!r}: the rendered prompt has no [MASK] (id {mask_id}); a cloze pattern needs one")


def _context(ids_a: Sequence[int], ids_b: Sequence[int], tokenizer: GLMTokenizer, guid: str) -> tuple[list[int], int]:
    """Part A `<s> a b </s>` (no separator between a and b in cloze mode) and its [MASK] index."""
    context = [tokenizer.cls_id, *ids_a, *ids_b, tokenizer.eos_id]
    return context, _last_mask_position(context, tokenizer.mask_id, guid)


# ---------------------------------------------------------------------------------------------- single token
@dataclass
class SingleTokenSample:
    """`<s> A </s> <sop>`; the label word's logit is read at `sep`, the sop position."""

    input_ids: list[int]  # [L]
    position_ids: list[list[int]]  # [2, L]: 0..L-2 then the [MASK] index; 0s then 1 at sop
    sep: int  # index of <sop> = len(Part A)
    verbalizer_ids: list[int]  # [num_labels]: one token id per label
    label: int  # index into the PVP's label_list, -1 when unlabeled


def build_single_token(
    ids_a: Sequence[int], ids_b: Sequence[int], tokenizer: GLMTokenizer, verbalizer_ids: Sequence[int], label: int, guid: str = ""
) -> SingleTokenSample:
    context, mask_position = _context(ids_a, ids_b, tokenizer, guid)
    sep = len(context)
    return SingleTokenSample(
        input_ids=[*context, tokenizer.sop_id],
        position_ids=[[*range(sep), mask_position], [0] * sep + [1]],
        sep=sep,
        verbalizer_ids=list(verbalizer_ids),
        label=label,
    )


def encode_single_token(pvp: PVP, example: InputExample) -> SingleTokenSample:
    ids_a, ids_b = pvp.encode_parts(example, reserve=1)  # the sop token
    return build_single_token(ids_a, ids_b, pvp.tokenizer, pvp.verbalizer_ids, pvp.label_index(example), example.guid)


# ---------------------------------------------------------------------------------------------- multi token
def _candidates(pvp: PVP, example: InputExample) -> tuple[list[int], list[int], list[list[int]]]:
    """Truncated parts and answers (BPE + eop). The context is cut once, leaving room for the longest answer,
    so every candidate is scored against the same context: packed and per-candidate layouts then pose the same
    problem. (The original cuts per candidate, which only differs when truncation happens at all.)"""
    answers = pvp.answer_ids(example)
    ids_a, ids_b = pvp.encode_parts(example, reserve=max(len(a) for a in answers))
    return ids_a, ids_b, answers


@dataclass
class CandidateRows:
    """One row per candidate: `<s> A </s> <sop> a_1 .. a_n` with targets `a_1 .. a_n, eop` at indices sep..,
    positions of the block = the [MASK] index, block positions 1..n+1."""

    input_ids: list[list[int]]  # [C][L_c]
    position_ids: list[list[list[int]]]  # [C][2][L_c]
    sep: int  # len(Part A), the same for every row
    target_ids: list[list[int]]  # [C][L_c]: 0 in Part A, then the answer tokens (eop last)
    loss_mask: list[list[int]]  # [C][L_c]: 1 where target_ids is scored
    label: int  # index of the correct candidate, -1 when unlabeled


def build_candidate_rows(
    ids_a: Sequence[int], ids_b: Sequence[int], answers: Sequence[Sequence[int]], tokenizer: GLMTokenizer, label: int, guid: str = ""
) -> CandidateRows:
    context, mask_position = _context(ids_a, ids_b, tokenizer, guid)
    sep = len(context)
    rows = CandidateRows([], [], sep, [], [], label)
    for answer in answers:  # answer = BPE(candidate) + [eop]
        n = len(answer)
        rows.input_ids.append([*context, tokenizer.sop_id, *answer[:-1]])
        rows.position_ids.append([[*range(sep)] + [mask_position] * n, [0] * sep + [*range(1, n + 1)]])
        rows.target_ids.append([0] * sep + list(answer))
        rows.loss_mask.append([0] * sep + [1] * n)
    return rows


def encode_candidate_rows(pvp: PVP, example: InputExample) -> CandidateRows:
    ids_a, ids_b, answers = _candidates(pvp, example)
    return build_candidate_rows(ids_a, ids_b, answers, pvp.tokenizer, pvp.label_index(example), example.guid)


@dataclass
class PackedCandidates:
    """All candidates of one example in one sequence: the context once, then for each candidate the block
    `<sop> a_1 .. a_n` (its answer without eop). A block sees the context and a causal prefix of itself, never
    another block, so each candidate's scores are those of its own row in `CandidateRows`; the context is
    encoded once instead of C times. T can exceed max_seq_length; no position id does (the context fits it, and
    block positions count within one answer)."""

    input_ids: list[int]  # [T] = context_length + sum of answer lengths
    position_ids: list[list[int]]  # [2][T]: context 0..; each block at the [MASK] index, block positions 1..n
    context_length: int  # len(Part A): columns every real row may see
    target_ids: list[int]  # [T]: 0 in the context; in a block, the answer token (eop last) it predicts
    candidate_index: list[int]  # [T]: -1 in the context; c on candidate c's block
    num_candidates: int
    label: int  # index of the correct candidate, -1 when unlabeled


def build_packed(
    ids_a: Sequence[int], ids_b: Sequence[int], answers: Sequence[Sequence[int]], tokenizer: GLMTokenizer, label: int, guid: str = ""
) -> PackedCandidates:
    context, mask_position = _context(ids_a, ids_b, tokenizer, guid)
    n_context = len(context)
    packed = PackedCandidates(
        input_ids=list(context),
        position_ids=[[*range(n_context)], [0] * n_context],
        context_length=n_context,
        target_ids=[0] * n_context,
        candidate_index=[-1] * n_context,
        num_candidates=len(answers),
        label=label,
    )
    for c, answer in enumerate(answers):  # answer = BPE(candidate) + [eop]
        n = len(answer)
        packed.input_ids += [tokenizer.sop_id, *answer[:-1]]
        packed.position_ids[0] += [mask_position] * n
        packed.position_ids[1] += [*range(1, n + 1)]
        packed.target_ids += list(answer)
        packed.candidate_index += [c] * n
    return packed


def encode_packed(pvp: PVP, example: InputExample) -> PackedCandidates:
    ids_a, ids_b, answers = _candidates(pvp, example)
    return build_packed(ids_a, ids_b, answers, pvp.tokenizer, pvp.label_index(example), example.guid)


def encode_packed_chunks(pvp: PVP, example: InputExample, chunk: int, rows: bool = False) -> list[PackedCandidates] | list[CandidateRows]:
    """An example's candidates in pieces of at most `chunk` candidates (packed, or one row per candidate with
    rows=True), every piece on the same context (cut once for the longest answer of all), so the pieces' scores
    put side by side are the unchunked scores. Labels are -1: a piece is scored, not trained on. ReCoRD's dev
    examples have dozens of entities; a piece bounds the memory one sequence takes."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    ids_a, ids_b, answers = _candidates(pvp, example)
    build = build_candidate_rows if rows else build_packed
    return [build(ids_a, ids_b, answers[i : i + chunk], pvp.tokenizer, -1, example.guid) for i in range(0, len(answers), chunk)]


def packed_attention_mask(context_length: Tensor, length: Tensor, candidate_index: Tensor) -> Tensor:
    """[B, 1, T, T] bool (True = may attend) for packed candidates.

    context_length [B], length [B] (real tokens), candidate_index [B, T] (-1 outside blocks, padding included).
    Real rows see the context columns; a block row also sees the earlier tokens of its own block and itself.
    Padding rows and columns are all False.
    """
    t = candidate_index.shape[1]
    cols = torch.arange(t).view(1, 1, t)  # [1, 1, T]
    rows = torch.arange(t).view(1, t, 1)  # [1, T, 1]
    sees_context = (cols < context_length.view(-1, 1, 1)) & (rows < length.view(-1, 1, 1))  # [B, T, T]
    in_block = candidate_index >= 0  # [B, T]
    same_block = (candidate_index.unsqueeze(2) == candidate_index.unsqueeze(1)) & in_block.unsqueeze(2)  # [B, T, T]
    return (sees_context | (same_block & (cols <= rows))).unsqueeze(1)  # [B, 1, T, T]


# ---------------------------------------------------------------------------------------------- classifier
@dataclass
class ClassifierSample:
    """`<s> A </s> B </s>` (single </s> between the texts); sep = length, so every real token sees all others."""

    input_ids: list[int]  # [L]
    position_ids: list[list[int]]  # [2][L]: 0..L-1, block positions 0
    sep: int  # = L
    label: int  # index into the label list, -1 when unlabeled


def build_classifier(ids_a: Sequence[int], ids_b: Sequence[int] | None, tokenizer: GLMTokenizer, max_seq_length: int, label: int) -> ClassifierSample:
    """As the original: the joined ids are cut to max_seq_length - 1 (the tail of B goes first), then eos."""
    ids = [tokenizer.cls_id, *ids_a, *([tokenizer.sep_id, *ids_b] if ids_b else [])]
    ids = ids[: max_seq_length - 1] + [tokenizer.eos_id]
    return ClassifierSample(ids, [[*range(len(ids))], [0] * len(ids)], len(ids), label)


def encode_classifier(example: InputExample, tokenizer: GLMTokenizer, label_list: Sequence[str], max_seq_length: int) -> ClassifierSample:
    if example.label is not None and example.label not in label_list:
        raise DataError(f"example {example.guid!r}: label {example.label!r} is not one of {list(label_list)}")
    label = -1 if example.label is None else list(label_list).index(example.label)
    ids_b = tokenizer.encode(example.text_b) if example.text_b is not None else None
    return build_classifier(tokenizer.encode(example.text_a), ids_b, tokenizer, max_seq_length, label)


@dataclass
class ClassifierChoices:
    """The multiple-choice classifier (COPA, ReCoRD without a pattern): one row `<s> A </s> B_c </s>` per choice,
    each row scored by the classifier head to one number."""

    rows: list[ClassifierSample]
    label: int  # index of the correct choice, -1 when unlabeled


def build_classifier_choices(ids_a: Sequence[int], choices: Sequence[Sequence[int]], tokenizer: GLMTokenizer, max_seq_length: int,
                             label: int) -> ClassifierChoices:  # fmt: skip
    return ClassifierChoices([build_classifier(ids_a, choice, tokenizer, max_seq_length, -1) for choice in choices], label)


def collate_classifier_choices(samples: Sequence[ClassifierChoices], pad_id: int = 2) -> dict[str, Tensor]:
    """input_ids [B, C, L], position_ids [B, C, 2, L], sep [B, C], choice_mask [B, C] bool, labels [B]. Missing
    choices repeat the first row (choice_mask False)."""
    n_choices = max(len(s.rows) for s in samples)
    width = max(len(r.input_ids) for s in samples for r in s.rows)

    def filled(rows: list[ClassifierSample]) -> list[ClassifierSample]:
        return rows + [rows[0]] * (n_choices - len(rows))

    return {
        "input_ids": torch.stack([pad_rows([r.input_ids for r in filled(s.rows)], pad_id, width) for s in samples]),
        "position_ids": torch.stack([_positions([r.position_ids for r in filled(s.rows)], width) for s in samples]),
        "sep": torch.tensor([[r.sep for r in filled(s.rows)] for s in samples]),
        "choice_mask": torch.tensor([[c < len(s.rows) for c in range(n_choices)] for s in samples]),
        "labels": torch.tensor([s.label for s in samples]),
    }


# ---------------------------------------------------------------------------------------------- collate
def pad_rows(rows: Sequence[Sequence[int]], value: int, width: int | None = None) -> Tensor:
    """[N, width] int64, each row right-padded with `value` (width: the longest row when not given)."""
    width = max(len(r) for r in rows) if width is None else width
    return torch.tensor([[*r, *[value] * (width - len(r))] for r in rows], dtype=torch.long)


def _positions(rows: Sequence[Sequence[Sequence[int]]], width: int) -> Tensor:
    """[N, 2, width]: both position rows padded with 0."""
    return torch.stack([pad_rows(r, 0, width) for r in rows])


def collate_single_token(samples: Sequence[SingleTokenSample], pad_id: int = 2) -> dict[str, Tensor]:
    """input_ids [B, L] (padded with pad_id), position_ids [B, 2, L], sep [B], verbalizer_ids [B, K], labels [B].
    Padding comes after <sop>, in the causal part, so no real token sees it."""
    width = max(len(s.input_ids) for s in samples)
    return {
        "input_ids": pad_rows([s.input_ids for s in samples], pad_id, width),
        "position_ids": _positions([s.position_ids for s in samples], width),
        "sep": torch.tensor([s.sep for s in samples]),
        "verbalizer_ids": torch.tensor([s.verbalizer_ids for s in samples]),
        "labels": torch.tensor([s.label for s in samples]),
    }


def collate_candidate_rows(samples: Sequence[CandidateRows], pad_id: int = 2) -> dict[str, Tensor]:
    """input_ids [B, C, L], position_ids [B, C, 2, L], sep [B, C], target_ids [B, C, L], loss_mask [B, C, L] bool,
    choice_mask [B, C] bool, labels [B]. C is the most candidates in the batch; an example with fewer repeats
    its first row in the missing slots (a valid row, so the model sees no degenerate input) with choice_mask
    False, which a head must use to exclude them."""
    n_choices = max(len(s.input_ids) for s in samples)
    width = max(len(row) for s in samples for row in s.input_ids)

    def filled(rows: list[Any]) -> list[Any]:
        return rows + [rows[0]] * (n_choices - len(rows))

    return {
        "input_ids": torch.stack([pad_rows(filled(s.input_ids), pad_id, width) for s in samples]),
        "position_ids": torch.stack([_positions(filled(s.position_ids), width) for s in samples]),
        "sep": torch.tensor([[s.sep] * n_choices for s in samples]),
        "target_ids": torch.stack([pad_rows(filled(s.target_ids), 0, width) for s in samples]),
        "loss_mask": torch.stack([pad_rows(filled(s.loss_mask), 0, width) for s in samples]).bool(),
        "choice_mask": torch.tensor([[c < len(s.input_ids) for c in range(n_choices)] for s in samples]),
        "labels": torch.tensor([s.label for s in samples]),
    }


def collate_packed(samples: Sequence[PackedCandidates], pad_id: int = 2) -> dict[str, Tensor]:
    """input_ids [B, T] (padded with pad_id), position_ids [B, 2, T], attention_mask [B, 1, T, T] bool,
    target_ids [B, T] (0 where nothing is scored), candidate_index [B, T] (-1 outside candidate blocks),
    choice_mask [B, C] bool, labels [B].

    A head scores candidate c of example b as the sum over t with candidate_index[b, t] == c of
    log_softmax(logits[b, t])[target_ids[b, t]] (optionally divided by the candidate's token count)."""
    width = max(len(s.input_ids) for s in samples)
    n_choices = max(s.num_candidates for s in samples)
    candidate_index = pad_rows([s.candidate_index for s in samples], -1, width)
    mask = packed_attention_mask(
        torch.tensor([s.context_length for s in samples]), torch.tensor([len(s.input_ids) for s in samples]), candidate_index
    )
    return {
        "input_ids": pad_rows([s.input_ids for s in samples], pad_id, width),
        "position_ids": _positions([s.position_ids for s in samples], width),
        "attention_mask": mask,
        "target_ids": pad_rows([s.target_ids for s in samples], 0, width),
        "candidate_index": candidate_index,
        "choice_mask": torch.tensor([[c < s.num_candidates for c in range(n_choices)] for s in samples]),
        "labels": torch.tensor([s.label for s in samples]),
    }


def collate_classifier(samples: Sequence[ClassifierSample], pad_id: int = 2) -> dict[str, Tensor]:
    """input_ids [B, L], position_ids [B, 2, L], sep [B] (each sample's real length), labels [B]."""
    width = max(len(s.input_ids) for s in samples)
    return {
        "input_ids": pad_rows([s.input_ids for s in samples], pad_id, width),
        "position_ids": _positions([s.position_ids for s in samples], width),
        "sep": torch.tensor([s.sep for s in samples]),
        "labels": torch.tensor([s.label for s in samples]),
    }
