"""Test helper: the Hugging Face port's `build_inputs_for_generation` / `build_inputs_for_multiple_choice`
tensors rebuilt from our tokenizer, so tests can compare the port's layouts with ours (they are not used in
production: the toolkit builds its own layouts in tasks/layout.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from model.tokenizer import GLMTokenizer
from tasks.data_io import DataError
from tasks.layout import pad_rows

IGNORE_INDEX = -100  # label value the HF port's loss skips


def _context_batch(model_input: Any, tokenizer: GLMTokenizer) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """(ids [B][L], padding mask [B][L], first [MASK] index per row) from a tokenizer batch (ours or the port's)."""
    ids = torch.as_tensor(model_input.input_ids).tolist()
    padding = torch.as_tensor(model_input.attention_mask).tolist()
    first_masks = []
    for b, row in enumerate(ids):
        if tokenizer.mask_id not in row:
            raise DataError(f"context {b} has no [MASK] (id {tokenizer.mask_id}); the HF-port builders need one")
        first_masks.append(row.index(tokenizer.mask_id))
    return ids, padding, first_masks


def build_inputs_for_generation(
    tokenizer: GLMTokenizer,
    model_input: Any,
    max_gen_length: int = 512,
    targets: str | Sequence[str] | None = None,
    padding: bool = False,
) -> dict[str, Tensor]:
    """The HF port's `tokenizer.build_inputs_for_generation`, tensor for tensor (the hub repository's tokenization_glm.py).

    model_input: a right-padded batch with `.input_ids` and `.attention_mask` [B, L] (our
    `GLMTokenizer.hf_batch_encode` or the port's BatchEncoding). G generation slots follow the context, all at
    the first [MASK]'s position with block positions 1..G. The context is visible (padding excluded) to every
    row; generation rows also see a causal prefix of the generated block.

    Without targets (G = max_gen_length): input_ids [B, L+1] (context + sop), position_ids [B, 2, L+G],
    generation_attention_mask [B, 1, L+G, L+G] int64.
    With targets (each BPE(target) + eop, cut to max_gen_length; G = max_gen_length if padding else the longest):
    input_ids [B, L+G] (context + sop + target[:-1], padded with pad), labels [B, L+G] (-100 on the context and
    padding; the sop column predicts the first target token, so no shift), position_ids [B, 2, L+G],
    attention_mask [B, 1, L+G, L+G] int64.
    """
    ids, padding_mask, first_masks = _context_batch(model_input, tokenizer)
    batch, length = len(ids), len(ids[0])
    result: dict[str, Tensor] = {}
    if targets is None:
        gen = max_gen_length
        result["input_ids"] = torch.tensor([row + [tokenizer.sop_id] for row in ids])
    else:
        targets = [targets] if isinstance(targets, str) else list(targets)
        if len(targets) != batch:
            raise ValueError(f"{len(targets)} targets for a batch of {batch} contexts")
        encoded = [(tokenizer.encode(t) + [tokenizer.eop_id])[:max_gen_length] for t in targets]
        gen = max_gen_length if padding else max(len(t) for t in encoded)
        pieces = [[tokenizer.sop_id, *t] + [tokenizer.pad_id] * (gen - len(t)) for t in encoded]  # each G + 1 long
        result["input_ids"] = torch.tensor([row + piece[:-1] for row, piece in zip(ids, pieces)])
        result["labels"] = torch.tensor([[IGNORE_INDEX] * length + t + [IGNORE_INDEX] * (gen - len(t)) for t in encoded])
    total = length + gen
    result["position_ids"] = torch.tensor(
        [[[*range(length)] + [m] * gen, [0] * length + [*range(1, gen + 1)]] for m in first_masks]
    )  # [B, 2, L+G]
    mask = torch.zeros(batch, 1, total, total, dtype=torch.long)
    mask[:, 0, :, :length] = torch.tensor(padding_mask).unsqueeze(1)  # context columns = padding mask, every row
    mask[:, 0, length:, length:] = torch.tril(torch.ones(gen, gen, dtype=torch.long))
    result["generation_attention_mask" if targets is None else "attention_mask"] = mask
    return result


def build_inputs_for_multiple_choice(tokenizer: GLMTokenizer, model_input: Any, choices: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The HF port's `tokenizer.build_inputs_for_multiple_choice` (the hub repository's tokenization_glm.py), tensor for tensor.

    Per sample: the padded context (its full length is Part A), then for each choice c = BPE(choice) (no eop,
    no added space) the block `<sop> + c[:-1]` at the first [MASK]'s position, block positions 1..len(c); the
    logits at `choice_indices[k]` score `choice_ids[k]`. Blocks see the context's real tokens and a causal prefix
    of themselves. The batch is padded with id 0, all-False mask rows/columns and repeated last positions.

    Returns input_ids [B, T], position_ids [B, 2, T], attention_mask [B, 1, T, T] int64, and the ragged lists
    choice_ids [B][C][n] and choice_indices [B][C][n].
    """
    ids, padding_mask, first_masks = _context_batch(model_input, tokenizer)
    if len(choices) != len(ids):
        raise ValueError(f"choices for {len(choices)} samples, but {len(ids)} contexts")
    tokens, positions, masks, all_choice_ids, all_choice_indices = [], [], [], [], []
    for row, pad_row, mask_position, sample_choices in zip(ids, padding_mask, first_masks, choices):
        length = len(row)
        seq, pos, block = list(row), [*range(length)], [0] * length
        choice_ids, choice_indices = [], []
        for choice in sample_choices:
            c = tokenizer.encode(choice)
            if not c:
                raise DataError(f"choice {choice!r} encodes to no tokens")
            choice_indices.append([*range(len(seq), len(seq) + len(c))])
            choice_ids.append(c)
            seq += [tokenizer.sop_id, *c[:-1]]
            pos += [mask_position] * len(c)
            block += [*range(1, len(c) + 1)]
        mask = torch.zeros(len(seq), len(seq), dtype=torch.long)
        mask[:, :length] = torch.tensor(pad_row)  # every row sees the context's real tokens
        for span in choice_indices:
            start, end = span[0], span[-1] + 1
            mask[start:end, start:end] = torch.tril(torch.ones(end - start, end - start, dtype=torch.long))
        tokens.append(seq)
        positions.append([pos, block])
        masks.append(mask)
        all_choice_ids.append(choice_ids)
        all_choice_indices.append(choice_indices)
    width = max(len(s) for s in tokens)
    padded_masks = torch.zeros(len(tokens), 1, width, width, dtype=torch.long)
    for b, mask in enumerate(masks):
        padded_masks[b, 0, : mask.shape[0], : mask.shape[1]] = mask
    return {
        "input_ids": pad_rows(tokens, 0, width),  # the port pads with <s> (0), not with pad
        "position_ids": torch.tensor([[r + [r[-1]] * (width - len(r)) for r in p] for p in positions]),
        "attention_mask": padded_masks,
        "choice_ids": all_choice_ids,
        "choice_indices": all_choice_indices,
    }
