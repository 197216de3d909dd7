"""GLM's seq2seq layout: the source holds one [MASK]; the target is generated after `<|startofpiece|>`.

Shape legend: B batch, S padded source width (real source tokens + padding), N padded target width,
T total width (S + N in training, S + 1 at evaluation).

Training sample (one row of a batch)::

    tokens    [CLS] source ... [MASK] ... (pad)  | [sop]  t1     t2   ...  t_{n-1}
    pos row 0  0     1      ...  m    ...  ...   |  m      m      m   ...  m
    pos row 1  0     0      ...  0    ...  0     |  1      2      3   ...  n
    targets    0     0      ...  0    ...  0     |  t1     t2     t3  ...  [eop]
    loss mask  0     0      ...  0    ...  0     |  1      1      1   ...  1

so the `<|startofpiece|>` position predicts the first target token and the last real target position predicts
`<|endofpiece|>`; the target is `BPE(" " + text) + [eop]`, cut to the target budget (a cut target loses its eop,
as in THUDM/GLM). The model's loss needs no shift.

Attention (True = the query row may read the key column):

* default, `original_layout=False`: every row reads the real source tokens only; target rows also read the
  target block causally. Source padding is invisible, so a batch can be padded to its own longest source and
  the result does not depend on how much padding there is. This is the behaviour THUDM/GLM added later as
  `--mask-pad-token` (THUDM/GLM#70).
* `original_layout=True`: THUDM/GLM's default, `sep = S`: the padded source (padding included) is Part A and is
  read bidirectionally by every row; target rows are causal. The source is then padded to exactly the source
  budget, as upstream does, because the amount of padding changes the numbers.

Evaluation uses the source followed by one `[sop]` (position m, block 1); decoding continues from there.

A `Seq2SeqPrompt` renders an example's source text with a [MASK] where the answer goes. Only the source text is
ever truncated, never the prompt's own words, and each prompt says which end of the source is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch

from model.tokenizer import GLMTokenizer

MASK_TEXT = "[MASK]"
SOURCE_FIELD = "{source}"


class PromptError(ValueError):
    """A prompt that cannot render an example (no room for the source, not exactly one [MASK], ...)."""


@dataclass(frozen=True)
class EncodedSeq2Seq:
    """One example in token ids, before padding.

    `source_ids` starts with [CLS] and holds exactly one mask id at `mask_position`; `target_ids` is
    `BPE(" " + target) + [eop]` cut to the target budget, or None when there is no target (inference).
    """

    guid: str
    source_ids: list[int]
    mask_position: int
    target_ids: list[int] | None
    source_truncated: int = 0  # how many source-text tokens the budget removed (for logging, not for the model)


class Seq2SeqPrompt:
    """One hand-written prompt: a template with a `{source}` slot and exactly one `[MASK]`.

    A subclass sets `template`; `truncate` names the end of the source text that is dropped when the source is
    over budget ("tail": keep the first tokens, as THUDM/GLM does for summarisation; "head": keep the last
    tokens, as its customization task does). `add_eos` closes the source with `</s>`.
    Each piece of the template is BPE-encoded on its own, so no merge crosses the boundary between prompt words
    and source text; whitespace in front of `{source}` moves into the source piece (" " + text), which is how
    a word that follows a space is encoded.
    """

    name: ClassVar[str]
    template: ClassVar[str]
    truncate: ClassVar[Literal["head", "tail"]] = "tail"
    add_eos: ClassVar[bool] = True

    def source_text(self, text: str) -> tuple[str, str, str]:
        """(text before the source, the source with any separating space, text after the source)."""
        if self.template.count(SOURCE_FIELD) != 1:
            raise PromptError(f"prompt {self.name!r}: template must contain {SOURCE_FIELD} exactly once")
        if self.template.count(MASK_TEXT) != 1:
            raise PromptError(f"prompt {self.name!r}: template must contain {MASK_TEXT} exactly once")
        before, after = self.template.split(SOURCE_FIELD)
        stripped = before.rstrip(" ")
        space = " " * (len(before) - len(stripped))
        return stripped, space + text, after

    def encode_example(self, tokenizer: GLMTokenizer, example, *, src_len: int, tgt_len: int) -> EncodedSeq2Seq:
        """`encode` of a generation `InputExample`; prompts that render from the whole record override this."""
        return self.encode(tokenizer, example.text_a, example.target, src_len=src_len, tgt_len=tgt_len, guid=example.guid)

    def encode(self, tokenizer: GLMTokenizer, source: str, target: str | None, *, src_len: int, tgt_len: int,
               guid: str = "") -> EncodedSeq2Seq:
        """Token ids of one example: `[CLS] before source after (</s>)`, at most `src_len` tokens."""
        before, text, after = self.source_text(source)
        ids_before, ids_text, ids_after = tokenizer.encode(before), tokenizer.encode(text), tokenizer.encode(after)
        if tokenizer.mask_id in ids_text:
            raise PromptError(f"{guid}: the source text itself contains {MASK_TEXT}; the prompt's mask would be ambiguous")
        fixed = 1 + len(ids_before) + len(ids_after) + int(self.add_eos)
        room = src_len - fixed
        if room < 1:
            raise PromptError(
                f"prompt {self.name!r} needs {fixed} tokens without the source, leaving {room} of --src-seq-length "
                f"{src_len} for the source text; raise --src-seq-length or use a shorter prompt"
            )
        cut = max(0, len(ids_text) - room)
        if cut:
            ids_text = ids_text[:room] if self.truncate == "tail" else ids_text[cut:]
        source_ids = [tokenizer.cls_id, *ids_before, *ids_text, *ids_after]
        if self.add_eos:
            source_ids.append(tokenizer.eos_id)
        target_ids = None
        if target is not None:
            target_ids = (tokenizer.encode(" " + target) + [tokenizer.eop_id])[:tgt_len]
        return EncodedSeq2Seq(guid, source_ids, source_ids.index(tokenizer.mask_id), target_ids, cut)


@dataclass(frozen=True)
class Seq2SeqLayoutConfig:
    """Budgets and the attention variant. `src_len` counts [CLS] and the prompt words; `tgt_len` counts eop."""

    src_len: int
    tgt_len: int
    original_layout: bool = False


@dataclass(frozen=True)
class Seq2SeqBatch:
    input_ids: torch.Tensor  # [B, T] int64
    position_ids: torch.Tensor  # [B, 2, T] int64 (row 0 position, row 1 block position)
    attention_mask: torch.Tensor  # [B, 1, T, T] bool, True = may attend
    target_ids: torch.Tensor  # [B, T] int64; 0 on the source, pad on target padding
    loss_mask: torch.Tensor  # [B, T] float, 1 on real target tokens
    source_width: int  # S: the column where [sop] sits


def seq2seq_attention(source_lengths: torch.Tensor, source_width: int, total: int, original_layout: bool) -> torch.Tensor:
    """[B, 1, T, T] boolean mask for rows of `source_lengths` real source tokens padded to `source_width`."""
    rows = torch.arange(total).view(total, 1)  # [T, 1]
    cols = torch.arange(total).view(1, total)  # [1, T]
    causal_target = (cols <= rows) & (cols >= source_width)  # [T, T]: target block, causal
    if original_layout:
        visible_source = (cols < source_width).expand(total, total)  # [T, T]: padded source is Part A
        return (visible_source | causal_target).expand(len(source_lengths), 1, total, total).clone()
    # Real source columns are visible to every row; padding columns to none.
    real = cols.view(1, 1, 1, total) < source_lengths.view(-1, 1, 1, 1)  # [B, 1, 1, T]
    return real | causal_target.view(1, 1, total, total)  # [B, 1, T, T]


def _source_width(items: list[EncodedSeq2Seq], config: Seq2SeqLayoutConfig) -> int:
    longest = max(len(it.source_ids) for it in items)
    if longest > config.src_len:
        raise ValueError(f"a source has {longest} tokens, over --src-seq-length {config.src_len}; encode it with the same budget")
    return config.src_len if config.original_layout else longest


def collate_train(items: list[EncodedSeq2Seq], tokenizer: GLMTokenizer, config: Seq2SeqLayoutConfig) -> Seq2SeqBatch:
    """Teacher-forcing batch: `source (padded) + [sop] + target[:-1]`, targets aligned with no shift."""
    if any(it.target_ids is None for it in items):
        missing = next(it.guid for it in items if it.target_ids is None)
        raise ValueError(f"example {missing!r} has no target; training needs one for every example")
    width = _source_width(items, config)
    n = max(len(it.target_ids) for it in items)  # type: ignore[arg-type]
    total = width + n
    pad = tokenizer.pad_id
    input_ids, positions, blocks, targets, loss = [], [], [], [], []
    for it in items:
        tgt: list[int] = it.target_ids  # type: ignore[assignment]
        src_pad = width - len(it.source_ids)
        tgt_pad = n - len(tgt)
        input_ids.append(it.source_ids + [pad] * src_pad + [tokenizer.sop_id] + tgt[:-1] + [pad] * tgt_pad)
        # THUDM/GLM gives source padding position 0; the columns are masked (or, originally, all alike).
        positions.append(list(range(len(it.source_ids))) + [0] * src_pad + [it.mask_position] * n)
        blocks.append([0] * width + list(range(1, n + 1)))
        targets.append([0] * width + tgt + [pad] * tgt_pad)
        loss.append([0.0] * width + [1.0] * len(tgt) + [0.0] * tgt_pad)
    lengths = torch.tensor([len(it.source_ids) for it in items])
    return Seq2SeqBatch(
        input_ids=torch.tensor(input_ids),
        position_ids=torch.stack([torch.tensor(positions), torch.tensor(blocks)], dim=1),  # [B, 2, T]
        attention_mask=seq2seq_attention(lengths, width, total, config.original_layout),
        target_ids=torch.tensor(targets),
        loss_mask=torch.tensor(loss),
        source_width=width,
    )


def collate_eval(items: list[EncodedSeq2Seq], tokenizer: GLMTokenizer, config: Seq2SeqLayoutConfig) -> Seq2SeqBatch:
    """Decoding prompt: `source (padded) + [sop]` with the sop at (mask position, block 1)."""
    width = _source_width(items, config)
    total = width + 1
    pad = tokenizer.pad_id
    input_ids, positions = [], []
    for it in items:
        src_pad = width - len(it.source_ids)
        input_ids.append(it.source_ids + [pad] * src_pad + [tokenizer.sop_id])
        positions.append(list(range(len(it.source_ids))) + [0] * src_pad + [it.mask_position])
    blocks = [[0] * width + [1]] * len(items)
    lengths = torch.tensor([len(it.source_ids) for it in items])
    return Seq2SeqBatch(
        input_ids=torch.tensor(input_ids),
        position_ids=torch.stack([torch.tensor(positions), torch.tensor(blocks)], dim=1),  # [B, 2, S+1]
        attention_mask=seq2seq_attention(lengths, width, total, config.original_layout),
        target_ids=torch.zeros(len(items), total, dtype=torch.long),
        loss_mask=torch.zeros(len(items), total),
        source_width=width,
    )
