"""GLM's pretraining objective, autoregressive blank infilling, as a pure sample builder (no torch module).

A text x_1 .. x_n (token ids, no specials) becomes one sequence of two parts (facts: GLM_FACTS §3.6; upstream's
blocklm_utils.py):

    Part A   [CLS] x, each sampled span replaced by one mask token, then [eos] when the document ends here
    Part B   every span, in shuffled order: inputs  <|startofpiece|> s_1 .. s_l
                                            targets s_1 .. s_l <|endofpiece|>
    position row 0   Part A: 0 .. len(A)-1 (a span collapses to its one mask slot);
                     Part B: the index in Part A of the span's mask token, for every token of its block
    position row 1   Part A: 0;  Part B: 1 .. l+1 inside each block
    sep              len(Part A): Part A attends bidirectionally, Part B causally (to A and to earlier B tokens)
    loss             on Part B only

How spans are chosen (one mode per sample; `draw_mode` picks it with the configured probabilities):
    span       lengths ~ Poisson(avg_block_length) restricted to 1 .. max_block_length-1, drawn until mask_ratio
               of the text is covered, placed at random with at least one unmasked token between two spans; [MASK]
    sentence   whole sentences in random order until gap_sentence_ratio of the text is covered; [sMASK]
    document   one span at the end, its length a uniform share in [gpt_min_ratio, 1] of the text; [gMASK]
With task_mask=False, sentence and document spans use [MASK] as well: upstream without --task-mask, which is how
glm-roberta-large was pretrained (its vocabulary has no [gMASK]/[sMASK]).

A sample's length is 1 + n + (1 if eos) + 2 * (number of spans). `chunk_length` sizes text chunks so that this stays
within the sequence length; the builder stops drawing spans before it would overflow.

Randomness: every sample draws from its own `random.Random`, seeded by (seed, epoch, chunk index) through
`sample_rng`. Masks are therefore re-drawn each epoch, independent of the data order, and a resumed run builds
exactly the samples the interrupted one would have built.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from model.tokenizer import GLMTokenizer

MODES = ("span", "sentence", "document")
# Tokens that end a sentence contain one of these (upstream's list: ASCII and full-width punctuation, newline).
SENTENCE_END_CHARS = ".?!;:\n\u3002\uff1f\uff01\uff1b\u2026"


class MaskTokenMissing(ValueError):
    pass


@dataclass(frozen=True)
class MaskingConfig:
    """How spans are drawn. Names follow upstream's flags (--bert-prob, --gap-sentence-prob, --avg-block-length,
    --gap-sentence-ratio, --gpt-min-ratio, --task-mask, --no-shuffle-block); the rest of the probability mass after
    bert_prob + gap_sentence_prob goes to document-level spans (upstream's "gpt" mode)."""

    bert_prob: float = 1.0  # glm-roberta-large's pretraining used span masking only (--bert-prob 1.0)
    gap_sentence_prob: float = 0.0
    mask_ratio: float = 0.15
    avg_block_length: float = 3.0  # Poisson lambda of span lengths
    max_block_length: int = 40  # span lengths are drawn from 1 .. max_block_length - 1
    gap_sentence_ratio: float = 0.15
    gpt_min_ratio: float = 0.5
    shuffle_blocks: bool = True
    task_mask: bool = True  # [gMASK] / [sMASK] for document / sentence spans; False: [MASK] for all

    def __post_init__(self) -> None:
        for name in ("bert_prob", "gap_sentence_prob", "mask_ratio", "gap_sentence_ratio", "gpt_min_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.bert_prob + self.gap_sentence_prob > 1.0 + 1e-9:
            raise ValueError(f"bert_prob + gap_sentence_prob = {self.bert_prob + self.gap_sentence_prob} exceeds 1")
        if self.avg_block_length <= 0 or self.max_block_length < 2:
            raise ValueError("avg_block_length must be > 0 and max_block_length >= 2")

    @property
    def document_prob(self) -> float:
        return max(0.0, 1.0 - self.bert_prob - self.gap_sentence_prob)

    def span_length_weights(self) -> list[float]:
        """Poisson(avg_block_length) probabilities of lengths 1 .. max_block_length-1 (rng.choices renormalises)."""
        lam = self.avg_block_length
        return [math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1)) for k in range(1, self.max_block_length)]


@dataclass(frozen=True)
class BlockIds:
    """The token ids the builder writes, and which ids end a sentence."""

    cls: int
    eos: int
    pad: int
    mask: int
    sop: int
    eop: int
    gmask: int | None
    smask: int | None
    sentence_end: frozenset[int]

    @classmethod
    def from_tokenizer(cls, tokenizer: GLMTokenizer) -> "BlockIds":
        ends = frozenset(
            i for i in range(len(tokenizer)) if any(c in tokenizer.decode([i], skip_special=False) for c in SENTENCE_END_CHARS)
        )
        return cls(tokenizer.cls_id, tokenizer.eos_id, tokenizer.pad_id, tokenizer.mask_id, tokenizer.sop_id,
                   tokenizer.eop_id, tokenizer.gmask_id, tokenizer.smask_id, ends)

    def mask_for(self, mode: str, task_mask: bool) -> int:
        if mode == "span" or not task_mask:
            return self.mask
        name, idx = ("[sMASK]", self.smask) if mode == "sentence" else ("[gMASK]", self.gmask)
        if idx is None:
            raise MaskTokenMissing(
                f"{mode}-level spans with task masks need a {name} token, but the tokenizer has none (glm-roberta-large's "
                f"vocabulary was pretrained without task masks). Either turn task masks off (--no-task-mask: every span "
                f"uses [MASK], as upstream without --task-mask), or list {name} in the tokenizer's added_tokens.json with "
                "the next free id and make sure the model has an embedding row for it"
            )
        return idx

    def check(self, cfg: MaskingConfig) -> None:
        """Fail before training starts when a configured mode needs a token the vocabulary lacks."""
        if cfg.gap_sentence_prob > 0:
            self.mask_for("sentence", cfg.task_mask)
        if cfg.document_prob > 0:
            self.mask_for("document", cfg.task_mask)


@dataclass
class PretrainSample:
    """One blank-infilling sequence: Part A (columns < sep) then Part B."""

    input_ids: list[int]  # [L]
    position_ids: list[list[int]]  # [2, L]
    sep: int  # len(Part A)
    target_ids: list[int]  # [L]: 0 in Part A; in Part B the next token of the block (eop last)
    loss_mask: list[int]  # [L]: 1 on Part B
    mode: str = "span"


# ---------------------------------------------------------------------------------------------- randomness
def sample_rng(seed: int, epoch: int, index: int) -> random.Random:
    """The generator of one sample; string seeds are hashed with SHA-512, so this is stable across runs and
    Python processes (no hash randomisation)."""
    return random.Random(f"glm-blank-infilling:{seed}:{epoch}:{index}")


def draw_mode(rng: random.Random, cfg: MaskingConfig) -> str:
    u = rng.random()
    if u < cfg.bert_prob:
        return "span"
    return "sentence" if u < cfg.bert_prob + cfg.gap_sentence_prob else "document"


# ---------------------------------------------------------------------------------------------- choosing spans
def span_lengths(n: int, rng: random.Random, cfg: MaskingConfig, max_spans: int) -> list[int]:
    """Poisson lengths drawn until mask_ratio of n tokens is covered (at least one span; the last draw may overshoot,
    as upstream's); then shortened from the end until the spans and a one-token gap between each pair fit in n."""
    budget = max(1, int(cfg.mask_ratio * n))
    weights = cfg.span_length_weights()
    lengths: list[int] = []
    while sum(lengths) < budget and len(lengths) < max_spans:
        lengths.append(rng.choices(range(1, cfg.max_block_length), weights=weights)[0])
    while lengths and sum(lengths) + len(lengths) - 1 > n:
        lengths.pop()
    return lengths


def place_spans(lengths: Sequence[int], n: int, rng: random.Random) -> list[tuple[int, int]]:
    """Spans [start, end) of the given lengths (in this order, left to right) at random places in n tokens, with at
    least one token between two spans. `free` counts the tokens beyond the spans and the mandatory gaps; each span
    gets a sorted random share of them before it."""
    free = n - sum(lengths) - (len(lengths) - 1)
    if free < 0:
        raise ValueError(f"spans of lengths {list(lengths)} with gaps do not fit in {n} tokens")
    shifts = sorted(rng.randint(0, free) for _ in lengths)
    spans, offset = [], 0
    for shift, length in zip(shifts, lengths):
        spans.append((offset + shift, offset + shift + length))
        offset += length + 1
    return spans


def sentence_boundaries(text: Sequence[int], sentence_end: frozenset[int]) -> list[tuple[int, int]]:
    """Sentences [start, end): each ends after a sentence-ending token; a trailing rest is a sentence too."""
    spans, start = [], 0
    for i, tok in enumerate(text):
        if tok in sentence_end:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def choose_spans(text: Sequence[int], mode: str, rng: random.Random, cfg: MaskingConfig, ids: BlockIds,
                 max_spans: int) -> list[tuple[int, int]]:
    """The spans of one sample, sorted by start."""
    n = len(text)
    if mode == "span":
        lengths = span_lengths(n, rng, cfg, max_spans)
        rng.shuffle(lengths)
        return place_spans(lengths, n, rng)
    if mode == "sentence":
        sentences = sentence_boundaries(text, ids.sentence_end)
        rng.shuffle(sentences)
        chosen, covered = [], 0
        for start, end in sentences[:max_spans]:
            chosen.append((start, end))
            covered += end - start
            if covered >= int(cfg.gap_sentence_ratio * n):
                break
        return sorted(chosen)
    if mode == "document":
        length = rng.randint(max(1, int(cfg.gpt_min_ratio * n)), n)
        return [(n - length, n)]
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


# ---------------------------------------------------------------------------------------------- the layout
def layout_blocks(text: Sequence[int], spans: Sequence[tuple[int, int]], order: Sequence[int], mask_id: int,
                  ids: BlockIds, add_eos: bool, mode: str = "span") -> PretrainSample:
    """Part A / Part B for given spans (sorted, non-overlapping) and the Part-B order of their indices."""
    part_a, mask_at, last = [ids.cls], [], 0
    for start, end in spans:
        if start < last or end <= start or end > len(text):
            raise ValueError(f"spans must be sorted, non-empty, non-overlapping and inside the text: {list(spans)}")
        part_a += text[last:start]
        mask_at.append(len(part_a))
        part_a.append(mask_id)
        last = end
    part_a += text[last:]
    if add_eos:
        part_a.append(ids.eos)
    sep = len(part_a)
    inputs, rows, block, targets, loss = list(part_a), list(range(sep)), [0] * sep, [0] * sep, [0] * sep
    for i in order:
        start, end = spans[i]
        span = list(text[start:end])
        inputs += [ids.sop, *span]
        targets += [*span, ids.eop]
        rows += [mask_at[i]] * (len(span) + 1)
        block += list(range(1, len(span) + 2))
        loss += [1] * (len(span) + 1)
    return PretrainSample(inputs, [rows, block], sep, targets, loss, mode)


def build_sample(text: Sequence[int], rng: random.Random, cfg: MaskingConfig, ids: BlockIds, max_length: int,
                 add_eos: bool = True, mode: str | None = None) -> PretrainSample:
    """One blank-infilling sample of `text` (ids without specials); `mode` None draws it from cfg's probabilities.
    The result has at most `max_length` tokens."""
    if not text:
        raise ValueError("cannot build a blank-infilling sample from an empty text")
    mode = draw_mode(rng, cfg) if mode is None else mode
    max_spans = (max_length - 1 - len(text) - int(add_eos)) // 2
    if max_spans < 1:
        raise ValueError(f"a text of {len(text)} tokens leaves no room for a span within {max_length} tokens; "
                         "chunk texts with chunk_length(max_length, cfg)")
    mask_id = ids.mask_for(mode, cfg.task_mask)
    spans = choose_spans(text, mode, rng, cfg, ids, max_spans)
    order = list(range(len(spans)))
    if cfg.shuffle_blocks:
        rng.shuffle(order)
    return layout_blocks(text, spans, order, mask_id, ids, add_eos, mode)


# ---------------------------------------------------------------------------------------------- documents
def chunk_length(seq_length: int, cfg: MaskingConfig) -> int:
    """Text tokens per chunk: the most that leave room for [CLS], [eos] and a mask + sop pair for twice the expected
    number of spans (mask_ratio * c / avg_block_length). Rarely reached; beyond it fewer spans are drawn."""
    for c in range(seq_length - 2, 0, -1):
        spans = max(1, math.ceil(round(2 * cfg.mask_ratio * c / cfg.avg_block_length, 9)))  # round: 11.000000000000002 is 11
        if c + 2 + 2 * spans <= seq_length:
            return c
    raise ValueError(f"--seq-length {seq_length} is too short for a blank-infilling sample")


def chunk_document(ids: Sequence[int], length: int) -> list[tuple[list[int], bool]]:
    """A document's token ids cut into chunks of at most `length`; the flag marks the chunk that ends the document
    (it gets the [eos])."""
    chunks = [list(ids[i : i + length]) for i in range(0, len(ids), length)]
    return [(chunk, i == len(chunks) - 1) for i, chunk in enumerate(chunks)]


class MaskedChunks(Sequence):
    """Text chunks whose blank-infilling samples are built on access, with masks drawn from (seed, epoch, index).

    `set_epoch(e)` (the training loop calls it at the start of every epoch) re-draws every mask; held-out sets keep
    epoch 0, so their loss is comparable across evaluations.
    """

    def __init__(self, chunks: Sequence[tuple[list[int], bool]], cfg: MaskingConfig, ids: BlockIds, max_length: int,
                 seed: int):
        self.chunks, self.cfg, self.ids, self.max_length, self.seed = chunks, cfg, ids, max_length, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, index: int) -> PretrainSample:  # type: ignore[override]
        text, ends = self.chunks[index]
        return build_sample(text, sample_rng(self.seed, self.epoch, index), self.cfg, self.ids, self.max_length, add_eos=ends)


def collate(samples: Sequence[PretrainSample], pad_id: int) -> dict[str, Tensor]:
    """Right-padded tensors. Padding needs no attention mask: it sits after Part B, and Part B is causal.
        input_ids [B, L] (pad_id), position_ids [B, 2, L] (0), sep [B], target_ids [B, L] (0), loss_mask [B, L] (0)
    """
    width = max(len(s.input_ids) for s in samples)

    def pad(row: list[int], value: int) -> list[int]:
        return row + [value] * (width - len(row))

    return {
        "input_ids": torch.tensor([pad(s.input_ids, pad_id) for s in samples]),
        "position_ids": torch.tensor([[pad(r, 0) for r in s.position_ids] for s in samples]),
        "sep": torch.tensor([s.sep for s in samples]),
        "target_ids": torch.tensor([pad(s.target_ids, 0) for s in samples]),
        "loss_mask": torch.tensor([pad(s.loss_mask, 0) for s in samples]),
    }
