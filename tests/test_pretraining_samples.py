"""The blank-infilling sample builder (tasks/pretraining.py): hand-checked layouts, and invariants over many draws."""

import json
import math
import shutil

import pytest

from conftest import TOKENIZER_DIR
from tasks.pretraining import (
    BlockIds,
    MaskedChunks,
    MaskingConfig,
    MaskTokenMissing,
    build_sample,
    chunk_document,
    chunk_length,
    collate,
    layout_blocks,
    place_spans,
    sample_rng,
    sentence_boundaries,
)

# A toy vocabulary so the expected sequences can be read: cls 0, eos = pad 2, [MASK] 5, sop 6, eop 7, [gMASK] 8,
# [sMASK] 9; token 4 plays ".", text tokens are 10 and up.
IDS = BlockIds(cls=0, eos=2, pad=2, mask=5, sop=6, eop=7, gmask=8, smask=9, sentence_end=frozenset({4}))
CFG = MaskingConfig()  # span masking, 15%, Poisson(3), shuffled blocks, task masks on


def test_span_mode_golden():
    # Text 10..29 (n = 20). The mask budget is int(0.15 * 20) = 3 tokens; with sample_rng(2, 0, 0) the builder draws
    # two spans of length 2 (3 is reached after the second) and places them at text offsets [6, 8) = tokens 16 17
    # and [11, 13) = tokens 21 22 (one or more tokens between them, as required).
    s = build_sample(list(range(10, 30)), sample_rng(2, 0, 0), CFG, IDS, max_length=64)
    # Part A: [CLS] 10..15 [MASK] 18 19 20 [MASK] 23..29 [eos]. Indices: CLS 0, tokens 10..15 at 1..6, the first
    # [MASK] at 7, 18 19 20 at 8..10, the second [MASK] at 11, 23..29 at 12..18, eos at 19; so sep = len(A) = 20.
    part_a = [0, 10, 11, 12, 13, 14, 15, 5, 18, 19, 20, 5, 23, 24, 25, 26, 27, 28, 29, 2]
    # Part B, in the shuffled order the seed gives (the second span first): each block is sop + span.
    part_b = [6, 21, 22, 6, 16, 17]
    assert s.sep == 20
    assert s.input_ids == part_a + part_b
    # Row 0: Part A counts 0..19; a block's tokens all carry its [MASK]'s index (11 for 21 22, 7 for 16 17).
    # Row 1: 0 in Part A; 1, 2, 3 inside each block (sop = 1).
    assert s.position_ids == [list(range(20)) + [11, 11, 11, 7, 7, 7], [0] * 20 + [1, 2, 3, 1, 2, 3]]
    # Targets: the span then eop (7), shifted against the inputs by the sop; nothing scored in Part A.
    assert s.target_ids == [0] * 20 + [21, 22, 7, 16, 17, 7]
    assert s.loss_mask == [0] * 20 + [1] * 6
    assert s.mode == "span"


def test_sentence_mode_golden():
    # Sentences (4 = "."): [10 11 12 4] [13 14 4] [15 16 17 18 4] [19 20 4], n = 15, budget int(0.15 * 15) = 2; the
    # seed's shuffle puts the second sentence first, which alone covers 3 >= 2 tokens.
    text = [10, 11, 12, 4, 13, 14, 4, 15, 16, 17, 18, 4, 19, 20, 4]
    s = build_sample(text, sample_rng(1, 0, 0), CFG, IDS, max_length=64, mode="sentence")
    # Part A: [CLS] 10 11 12 4 [sMASK] 15 16 17 18 4 19 20 4 [eos] (the [sMASK] at index 5), sep 15.
    assert s.input_ids == [0, 10, 11, 12, 4, 9, 15, 16, 17, 18, 4, 19, 20, 4, 2] + [6, 13, 14, 4]
    assert s.sep == 15
    assert s.position_ids == [list(range(15)) + [5, 5, 5, 5], [0] * 15 + [1, 2, 3, 4]]
    assert s.target_ids == [0] * 15 + [13, 14, 4, 7]
    assert s.loss_mask == [0] * 15 + [1] * 4


def test_document_mode_golden():
    # n = 10 tokens; the span length is uniform in [int(0.5 * 10), 10] = [5, 10] and sample_rng(0, 0, 0) gives 6: the
    # last six tokens 14..19 become one [gMASK] (8) closing Part A, at index 5 after [CLS] 10..13; no eos here.
    s = build_sample(list(range(10, 20)), sample_rng(0, 0, 0), CFG, IDS, max_length=64, add_eos=False, mode="document")
    assert s.input_ids == [0, 10, 11, 12, 13, 8] + [6, 14, 15, 16, 17, 18, 19]
    assert s.sep == 6
    assert s.position_ids == [list(range(6)) + [5] * 7, [0] * 6 + [1, 2, 3, 4, 5, 6, 7]]
    assert s.target_ids == [0] * 6 + [14, 15, 16, 17, 18, 19, 7]


def test_without_task_masks_every_span_uses_mask():
    cfg = MaskingConfig(task_mask=False)
    s = build_sample(list(range(10, 20)), sample_rng(0, 0, 0), cfg, IDS, max_length=64, add_eos=False, mode="document")
    assert s.input_ids[5] == IDS.mask


def test_layout_of_given_spans_and_order():
    # The deterministic half of the builder, spans and order given: text 10..16, spans [1, 2) and [4, 6), B order 0, 1.
    s = layout_blocks([10, 11, 12, 13, 14, 15, 16], [(1, 2), (4, 6)], [0, 1], 5, IDS, add_eos=True)
    assert s.input_ids == [0, 10, 5, 12, 13, 5, 16, 2, 6, 11, 6, 14, 15]
    assert s.position_ids == [[0, 1, 2, 3, 4, 5, 6, 7, 2, 2, 5, 5, 5], [0] * 8 + [1, 2, 1, 2, 3]]
    assert s.target_ids == [0] * 8 + [11, 7, 14, 15, 7]
    with pytest.raises(ValueError, match="non-overlapping"):
        layout_blocks([10, 11, 12], [(0, 2), (1, 3)], [0, 1], 5, IDS, add_eos=True)


def test_poisson_weights():
    w = CFG.span_length_weights()
    assert len(w) == 39  # lengths 1..39
    assert w[0] == pytest.approx(3 * math.exp(-3))  # P(1) = 0.1494
    assert w[2] == pytest.approx(27 / 6 * math.exp(-3))  # P(3) = 0.2240, the mode together with P(2)
    assert sum(w) == pytest.approx(1 - math.exp(-3))  # everything but P(0)


def _reconstruct(s, mask_ids) -> list[int]:
    """Fill every mask token of Part A (without [CLS] and the closing [eos]) with the block that names its index."""
    blocks: dict[int, list[int]] = {}
    for j in range(s.sep, len(s.input_ids)):
        if s.position_ids[1][j] == 1:
            assert s.input_ids[j] == IDS.sop
            blocks[s.position_ids[0][j]] = []
        else:
            blocks[s.position_ids[0][j]].append(s.input_ids[j])
    out = []
    for j, tok in enumerate(s.input_ids[1 : s.sep - 1], start=1):
        if tok in mask_ids:
            out += blocks.pop(j)
        else:
            out.append(tok)
    assert not blocks, "a block whose mask is not in Part A"
    return out


@pytest.mark.parametrize("mode", ["span", "sentence", "document"])
def test_invariants_over_many_draws(mode):
    masked = total = 0
    for seed in range(200):
        rng = sample_rng(seed, 3, 7)
        n = rng.randint(1, 300)
        text = [rng.choice([4, *range(10, 60)]) for _ in range(n)]
        s = build_sample(text, rng, CFG, IDS, max_length=400, add_eos=True, mode=mode)
        L = len(s.input_ids)
        assert len(s.position_ids) == 2 and all(len(r) == L for r in s.position_ids)
        assert len(s.target_ids) == len(s.loss_mask) == L <= 400
        blocks = s.position_ids[1][s.sep :].count(1)
        assert L == 1 + n + 1 + 2 * blocks  # [CLS], text, [eos], a mask and a sop per span
        assert s.input_ids[0] == IDS.cls and s.input_ids[s.sep - 1] == IDS.eos
        # every masked token appears exactly once in Part B: filling the masks gives the text back
        assert _reconstruct(s, {IDS.mask, IDS.gmask, IDS.smask}) == text
        assert s.loss_mask == [0] * s.sep + [1] * (L - s.sep)
        # targets are the inputs shifted by one inside each block, eop closing it
        for j in range(s.sep, L):
            nxt = j + 1 < L and s.position_ids[1][j + 1] > 1
            assert s.target_ids[j] == (s.input_ids[j + 1] if nxt else IDS.eop)
        if mode == "span":  # two spans never touch: one unmasked token at least between two [MASK]s
            part_a = s.input_ids[: s.sep]
            assert not any(a == b == IDS.mask for a, b in zip(part_a, part_a[1:]))
        masked += L - s.sep - blocks
        total += n
    share = masked / total
    if mode == "span":
        assert 0.14 <= share <= 0.19, share  # 15% of the tokens, plus the last draw's overshoot on short texts
    elif mode == "document":
        assert 0.7 <= share <= 0.8, share  # a uniform share in [0.5, 1]: 3/4 on average


def test_span_count_respects_max_length():
    text = list(range(10, 110))  # 100 tokens: 1 + 100 + 1 = 102, so max_length 108 leaves room for 3 spans
    for seed in range(50):
        s = build_sample(text, sample_rng(seed, 0, 0), CFG, IDS, max_length=108)
        assert len(s.input_ids) <= 108
    with pytest.raises(ValueError, match="no room"):
        build_sample(text, sample_rng(0, 0, 0), CFG, IDS, max_length=103)


def test_chunking():
    c = chunk_length(128, CFG)
    # 104 + [CLS] + [eos] + 2 * ceil(2 * 0.15 * 104 / 3) = 104 + 2 + 2 * 11 = 128; 105 would need 129
    assert c == 104
    assert chunk_document(list(range(7)), 3) == [([0, 1, 2], False), ([3, 4, 5], False), ([6], True)]


def test_place_spans_keeps_gaps_and_bounds():
    for seed in range(100):
        spans = place_spans([3, 1, 2], 9, sample_rng(seed, 0, 0))  # 3 + 1 + 2 + 2 gaps = 8 <= 9
        assert [e - s for s, e in spans] == [3, 1, 2]
        assert all(b[0] >= a[1] + 1 for a, b in zip(spans, spans[1:]))
        assert spans[0][0] >= 0 and spans[-1][1] <= 9
    with pytest.raises(ValueError, match="do not fit"):
        place_spans([5, 5], 10, sample_rng(0, 0, 0))


def test_sentence_boundaries():
    assert sentence_boundaries([10, 4, 11, 12, 4, 13], frozenset({4})) == [(0, 2), (2, 5), (5, 6)]


def test_masks_are_redrawn_per_epoch_and_fixed_per_index():
    chunks = [(list(range(10, 60)), True)] * 4
    data = MaskedChunks(chunks, CFG, IDS, max_length=80, seed=1)
    first = [data[i].input_ids for i in range(4)]
    assert [data[i].input_ids for i in range(4)] == first  # the same sample on every access
    assert len({tuple(x) for x in first}) > 1  # different indices, different masks
    data.set_epoch(1)
    assert [data[i].input_ids for i in range(4)] != first


def test_collate_pads():
    a = layout_blocks([10, 11, 12], [(1, 2)], [0], 5, IDS, add_eos=True)
    b = layout_blocks([10], [(0, 1)], [0], 5, IDS, add_eos=False)
    batch = collate([a, b], pad_id=IDS.pad)
    assert batch["input_ids"].tolist() == [[0, 10, 5, 12, 2, 6, 11], [0, 5, 6, 10, 2, 2, 2]]
    # a: Part A [CLS] 10 [MASK] 12 [eos], block at the [MASK] (2); b: Part A [CLS] [MASK], block at 1; padding 0 / 0
    assert batch["position_ids"].tolist() == [[[0, 1, 2, 3, 4, 2, 2], [0, 0, 0, 0, 0, 1, 2]],
                                              [[0, 1, 1, 1, 0, 0, 0], [0, 0, 1, 2, 0, 0, 0]]]
    assert batch["sep"].tolist() == [5, 2]
    assert batch["loss_mask"].tolist() == [[0, 0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 0, 0, 0]]
    assert batch["target_ids"].tolist() == [[0, 0, 0, 0, 0, 11, 7], [0, 0, 10, 7, 0, 0, 0]]


# ---------------------------------------------------------------------------------------------- real vocabularies
def test_real_vocabulary_has_no_task_masks(tokenizer):
    ids = BlockIds.from_tokenizer(tokenizer)
    assert ids.gmask is None and ids.smask is None and ids.mask == 50264 and ids.sop == 50265
    assert tokenizer.encode(".")[0] in ids.sentence_end and tokenizer.encode(" the")[0] not in ids.sentence_end
    ids.check(MaskingConfig())  # span masking alone needs no task mask
    with pytest.raises(MaskTokenMissing, match=r"\[gMASK\].*--no-task-mask"):
        ids.check(MaskingConfig(bert_prob=0.5))
    with pytest.raises(MaskTokenMissing, match=r"\[sMASK\]"):
        ids.check(MaskingConfig(bert_prob=0.5, gap_sentence_prob=0.5))
    ids.check(MaskingConfig(bert_prob=0.5, gap_sentence_prob=0.2, task_mask=False))  # [MASK] everywhere


def test_task_masks_listed_in_added_tokens(tmp_path):
    from model.tokenizer import GLMTokenizer

    for f in TOKENIZER_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    added = json.loads((tmp_path / "added_tokens.json").read_text())
    (tmp_path / "added_tokens.json").write_text(json.dumps({**added, "[gMASK]": 50268, "[sMASK]": 50269}))
    tok = GLMTokenizer.from_dir(tmp_path)
    assert (tok.gmask_id, tok.smask_id, len(tok), tok.vocab_size) == (50268, 50269, 50270, 50304)
    assert tok.encode("a [gMASK]")[-1] == 50268
    (tmp_path / "added_tokens.json").write_text(json.dumps({**added, "[sMASK]": 50270}))
    with pytest.raises(ValueError, match=r"\[sMASK\].*50270"):
        GLMTokenizer.from_dir(tmp_path)
