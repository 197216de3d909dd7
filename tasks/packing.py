"""Several short classification examples in one row, and length-bucketed batch order.

Real classification inputs are short (AG News averages about 50 tokens against a 256-token budget), so a batch
padded to its longest example spends most of its matrix work on padding. Packing puts several examples one after
another in a row of up to `capacity` tokens. Each example keeps its own layout exactly:

    row:   [ example 1: Part A | Part B ][ example 2: Part A | Part B ][ ... ][ padding ]
    mask:  block-diagonal; inside a block, GLM's rule (columns before the block's sep are visible to all of
           the block, the rest causal); nothing outside the block is visible
    positions: each example's own position and block-position rows, starting again from 0

so every real token computes exactly what it computes alone in its own row, and scores and losses equal the
one-example-per-row layout (tests/test_packing.py). A padding token attends only to itself, so no row of the
attention is empty. A head reads example i at (read_row[i], read_col[i]); scores come back in the order the
examples were given, so a packed batch of N examples is the same N-example batch to the loss and the metrics.

Supported: single-token cloze (`SingleTokenSample`, read at its sop) and the linear-head classifier
(`ClassifierSample`, read at its first token). Multi-token candidates are already packed per example
(tasks.layout.build_packed) and are not packed across examples.

Rows are filled first-fit by decreasing length, a fixed rule: the same examples always give the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .layout import ClassifierSample, SingleTokenSample


def sample_length(sample) -> int:
    """Tokens a sample occupies: len(input_ids), summed over rows for per-candidate samples."""
    ids = getattr(sample, "input_ids", None)
    if ids is None:
        raise TypeError(f"{type(sample).__name__} has no input_ids; its length is unknown to length bucketing")
    if ids and isinstance(ids[0], (list, tuple)):
        return sum(len(r) for r in ids)
    return len(ids)


def first_fit_rows(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices of `lengths` grouped into rows of at most `capacity` tokens: longest first, each into the first
    row with room (ties keep the given order). An example longer than capacity gets a row of its own."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(capacity - lengths[i])
    return rows


def segment_attention(rows: Sequence[Sequence[tuple[int, int]]], width: int) -> Tensor:
    """[R, 1, T, T] bool from each row's segments (length, sep): block-diagonal, GLM's Part A / Part B rule inside
    each block, padding tokens seeing only themselves."""
    mask = torch.zeros(len(rows), width, width, dtype=torch.bool)
    for r, segments in enumerate(rows):
        start = 0
        for length, sep in segments:
            q = torch.arange(length).view(-1, 1)
            k = torch.arange(length).view(1, -1)
            mask[r, start : start + length, start : start + length] = (k <= q) | (k < sep)
            start += length
        pad = torch.arange(start, width)
        mask[r, pad, pad] = True
    return mask.unsqueeze(1)


def _pack(samples: Sequence[SingleTokenSample | ClassifierSample], capacity: int, pad_id: int, read_offset) -> dict[str, Tensor]:
    lengths = [len(s.input_ids) for s in samples]
    rows = first_fit_rows(lengths, capacity)
    width = max(sum(lengths[i] for i in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    pos = torch.zeros(len(rows), 2, width, dtype=torch.long)
    read_row = torch.empty(len(samples), dtype=torch.long)
    read_col = torch.empty(len(samples), dtype=torch.long)
    segments: list[list[tuple[int, int]]] = []
    for r, row in enumerate(rows):
        start, segs = 0, []
        for i in row:
            s, n = samples[i], lengths[i]
            ids[r, start : start + n] = torch.tensor(s.input_ids)
            pos[r, :, start : start + n] = torch.tensor(s.position_ids)
            read_row[i], read_col[i] = r, start + read_offset(s)
            segs.append((n, s.sep))
            start += n
        segments.append(segs)
    return {
        "input_ids": ids,
        "position_ids": pos,
        "attention_mask": segment_attention(segments, width),
        "read_row": read_row,
        "read_col": read_col,
        "labels": torch.tensor([s.label for s in samples]),
    }


def collate_packed_single_token(samples: Sequence[SingleTokenSample], pad_id: int = 2, capacity: int = 256) -> dict[str, Tensor]:
    """Single-token cloze samples packed into rows of at most `capacity` tokens: input_ids [R, T], position_ids
    [R, 2, T], attention_mask [R, 1, T, T], read_row / read_col [N] (each sample's sop), verbalizer_ids [N, K],
    labels [N]."""
    batch = _pack(samples, capacity, pad_id, lambda s: s.sep)
    batch["verbalizer_ids"] = torch.tensor([s.verbalizer_ids for s in samples])
    return batch


def collate_packed_classifier(samples: Sequence[ClassifierSample], pad_id: int = 2, capacity: int = 256) -> dict[str, Tensor]:
    """Classifier samples packed into rows: as above, read_col at each sample's first token (<s>)."""
    return _pack(samples, capacity, pad_id, lambda s: 0)


def bucketed_order(lengths: Sequence[int], batches: Sequence[Sequence[int]], window: int, seed: int, epoch: int) -> list[list[int]]:
    """Length-bucketed batches from an epoch's seeded batches (training.loop.epoch_batches): every `window`
    consecutive batches are pooled, sorted by length (stable, so ties keep the seeded order) and cut again into
    batches of the same sizes, and the resulting batches are shuffled with a generator seeded by seed + epoch.
    Same seed, epoch and lengths: the same batches in the same order, so runs and resumed runs repeat exactly.
    Each example still appears once per epoch; batch sizes are unchanged."""
    if window < 1:
        raise ValueError(f"length bucketing window must be at least 1 batch, got {window}")
    out: list[list[int]] = []
    for w in range(0, len(batches), window):
        group = batches[w : w + window]
        pooled = sorted((i for b in group for i in b), key=lambda i: lengths[i])
        start = 0
        for b in group:
            out.append(pooled[start : start + len(b)])
            start += len(b)
    perm = torch.randperm(len(out), generator=torch.Generator().manual_seed(seed + epoch + 7919)).tolist()
    return [out[p] for p in perm]
