"""The seq2seq layout written out by hand: tokens, both position rows, attention, targets and loss mask."""

import pytest
import torch

from tasks.seq2seq.datasets import DialogueSummary, UpstreamCustomization, UpstreamSummary
from tasks.seq2seq.layout import PromptError, Seq2SeqLayoutConfig, collate_eval, collate_train

CLS, EOS, PAD, SOP, EOP, MASK = 0, 2, 2, 50265, 50266, 50264
RED, FOX, SEVEN, ES, SEVEN_DIGIT, RED_SP = 2050, 23602, 707, 293, 262, 1275  # "red" " fox" " seven" "es" " 7" " red"
A, B = 102, 741  # "a" " b"


def _pair(tokenizer):
    """'red fox seven' -> '7 red foxes' and the shorter 'a b' -> '7' with THUDM/GLM's customization prompt."""
    prompt = UpstreamCustomization()
    first = prompt.encode(tokenizer, "red fox seven", "7 red foxes", src_len=8, tgt_len=6, guid="x")
    second = prompt.encode(tokenizer, "a b", "7", src_len=8, tgt_len=6, guid="y")
    return first, second


def test_encoding_of_one_example(tokenizer):
    first, second = _pair(tokenizer)
    assert first.source_ids == [CLS, RED, FOX, SEVEN, MASK, EOS]
    assert first.mask_position == 4
    assert first.target_ids == [SEVEN_DIGIT, RED_SP, FOX, ES, EOP]  # BPE(" " + target) + [eop]
    assert second.source_ids == [CLS, A, B, MASK, EOS] and second.mask_position == 3


def test_training_layout_golden_padding_excluded(tokenizer):
    batch = collate_train(list(_pair(tokenizer)), tokenizer, Seq2SeqLayoutConfig(src_len=8, tgt_len=6))
    # Source width S = 6 (the longer source), target width N = 5, T = 11.
    assert batch.source_width == 6
    assert batch.input_ids.tolist() == [
        [CLS, RED, FOX, SEVEN, MASK, EOS, SOP, SEVEN_DIGIT, RED_SP, FOX, ES],
        [CLS, A, B, MASK, EOS, PAD, SOP, SEVEN_DIGIT, PAD, PAD, PAD],
    ]
    assert batch.position_ids.tolist() == [
        [[0, 1, 2, 3, 4, 5, 4, 4, 4, 4, 4], [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]],
        [[0, 1, 2, 3, 4, 0, 3, 3, 3, 3, 3], [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]],
    ]
    assert batch.target_ids.tolist() == [
        [0, 0, 0, 0, 0, 0, SEVEN_DIGIT, RED_SP, FOX, ES, EOP],
        [0, 0, 0, 0, 0, 0, SEVEN_DIGIT, EOP, PAD, PAD, PAD],
    ]
    assert batch.loss_mask.tolist() == [[0] * 6 + [1] * 5, [0] * 6 + [1, 1, 0, 0, 0]]
    src_rows_1 = [[1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]] * 6
    src_rows_2 = [[1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]] * 6  # the pad column 5 is visible to no row
    expected = [
        src_rows_1
        + [
            [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        ],
        src_rows_2
        + [
            [1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0],
            [1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0],
            [1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1],
        ],
    ]
    assert batch.attention_mask.dtype == torch.bool
    assert batch.attention_mask[:, 0].int().tolist() == expected


def test_training_layout_golden_original(tokenizer):
    """THUDM/GLM's default: source padded to src_len, sep = src_len, so its padding is read by every row."""
    first, _ = _pair(tokenizer)
    batch = collate_train([first], tokenizer, Seq2SeqLayoutConfig(src_len=8, tgt_len=6, original_layout=True))
    assert batch.input_ids.tolist() == [[CLS, RED, FOX, SEVEN, MASK, EOS, PAD, PAD, SOP, SEVEN_DIGIT, RED_SP, FOX, ES]]
    assert batch.position_ids.tolist() == [[[0, 1, 2, 3, 4, 5, 0, 0, 4, 4, 4, 4, 4], [0] * 8 + [1, 2, 3, 4, 5]]]
    assert batch.target_ids.tolist() == [[0] * 8 + [SEVEN_DIGIT, RED_SP, FOX, ES, EOP]]
    assert batch.loss_mask.tolist() == [[0] * 8 + [1] * 5]
    expected = [[1] * 8 + [0] * 5] * 8 + [[1] * 8 + [1] * k + [0] * (5 - k) for k in range(1, 6)]
    assert batch.attention_mask[0, 0].int().tolist() == expected


def test_eval_layout_golden(tokenizer):
    batch = collate_eval(list(_pair(tokenizer)), tokenizer, Seq2SeqLayoutConfig(src_len=8, tgt_len=6))
    assert batch.input_ids.tolist() == [[CLS, RED, FOX, SEVEN, MASK, EOS, SOP], [CLS, A, B, MASK, EOS, PAD, SOP]]
    assert batch.position_ids.tolist() == [
        [[0, 1, 2, 3, 4, 5, 4], [0, 0, 0, 0, 0, 0, 1]],
        [[0, 1, 2, 3, 4, 0, 3], [0, 0, 0, 0, 0, 0, 1]],
    ]
    assert batch.attention_mask[:, 0].int().tolist() == [
        [[1, 1, 1, 1, 1, 1, 0]] * 6 + [[1, 1, 1, 1, 1, 1, 1]],
        [[1, 1, 1, 1, 1, 0, 0]] * 6 + [[1, 1, 1, 1, 1, 0, 1]],
    ]


def test_source_over_budget_keeps_last_tokens_for_customization(tokenizer):
    # THUDM/GLM's customization keeps the last src_len - 3 source tokens.
    enc = UpstreamCustomization().encode(tokenizer, "a b c d e f g", None, src_len=6, tgt_len=4)
    assert enc.source_ids == [CLS, 364, 856, 821, MASK, EOS]  # " e" " f" " g"
    assert enc.source_truncated == 4 and enc.target_ids is None


def test_source_over_budget_keeps_first_tokens_for_summaries(tokenizer):
    enc = DialogueSummary().encode(tokenizer, "a b c d e f g", "x", src_len=8, tgt_len=4)
    # [CLS] a b c | " Summary" ":" [MASK] </s>: the prompt words survive whole, the source tail goes.
    assert tokenizer.convert_ids_to_tokens(enc.source_ids) == ["<s>", "a", "Ġb", "Ġc", "ĠSummary", ":", "<mask>", "</s>"]
    assert enc.mask_position == 6
    upstream = UpstreamSummary().encode(tokenizer, "a b c d e f g", "x", src_len=6, tgt_len=4)
    assert tokenizer.convert_ids_to_tokens(upstream.source_ids) == ["<s>", "<mask>", "ĠContent", ":", "Ġa", "Ġb"]


def test_target_over_budget_loses_eop(tokenizer):
    enc = UpstreamCustomization().encode(tokenizer, "red fox seven", "7 red foxes", src_len=8, tgt_len=3)
    assert enc.target_ids == [SEVEN_DIGIT, RED_SP, FOX]


def test_prompt_without_room_is_an_error(tokenizer):
    with pytest.raises(PromptError, match="--src-seq-length 5"):
        DialogueSummary().encode(tokenizer, "a b", "x", src_len=5, tgt_len=4)


def test_mask_in_source_text_is_an_error(tokenizer):
    with pytest.raises(PromptError, match="contains \\[MASK\\]"):
        DialogueSummary().encode(tokenizer, "a [MASK] b", "x", src_len=20, tgt_len=4, guid="train-3")


def test_padding_does_not_change_visible_real_columns(tokenizer):
    """A short source padded wider gains only columns that nothing reads."""
    first, second = _pair(tokenizer)
    alone = collate_train([second], tokenizer, Seq2SeqLayoutConfig(src_len=8, tgt_len=6))
    padded = collate_train([first, second], tokenizer, Seq2SeqLayoutConfig(src_len=8, tgt_len=6))
    keep = [0, 1, 2, 3, 4] + list(range(6, 8))  # real source columns and the two real target rows of `second`
    assert torch.equal(padded.attention_mask[1, 0][keep][:, keep], alone.attention_mask[0, 0])
