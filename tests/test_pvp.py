"""PVPs: rendered prompts per pattern, verbalizer checks, upstream's truncation rule and clear errors.

The rendered strings are the decoded input ids with the special tokens shown (`<s>`, `</s>`, RoBERTa's
`<mask>` = 50264, `<|startofpiece|>`), i.e. exactly what the model is fed.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.base import PVP, InputExample, PromptTooLongError, truncate
from tasks.classification import AgNewsProcessor, DbpediaProcessor
from tasks.registry import resolve
from tasks.classification.ag_news import AgNewsPVP
from tasks.data_io import DataError
from tasks.layout import encode_candidate_rows, encode_packed, encode_single_token

NEWS = InputExample("test-0", "Stocks rallied on Wall Street as oil prices fell.", label="Business")
ENTITY = InputExample("test-0", "Abbott Farms", "Abbott Farms is a dairy company based in Ohio.", label="Company")
NEWS_LABELS = AgNewsProcessor().get_labels()
ENTITY_LABELS = DbpediaProcessor().get_labels()

SINGLE_TOKEN_GOLDEN = {
    0: ("<s>Stocks rallied on Wall Street as oil prices fell. This topic is about<mask>.</s><|startofpiece|>",
        [" World", " Sports", " Business", " Technology"]),
    1: ("<s><mask> News: Stocks rallied on Wall Street as oil prices fell.</s><|startofpiece|>",
        ["World", "Sports", "Business", "Tech"]),
    2: ("<s>Stocks rallied on Wall Street as oil prices fell. Question: Which section of the newspaper is this from? "
        "Answer:<mask>.</s><|startofpiece|>", [" world", " sports", " business", " science"]),
}  # fmt: skip


@pytest.mark.parametrize("pattern_id", sorted(SINGLE_TOKEN_GOLDEN))
def test_ag_news_single_token_patterns_render(tokenizer, pattern_id):
    pvp = resolve("ag_news").pvp(pattern_id, tokenizer, NEWS_LABELS, 128)
    assert not pvp.is_multi_token
    sample = encode_single_token(pvp, NEWS)
    text, words = SINGLE_TOKEN_GOLDEN[pattern_id]
    assert tokenizer.decode(sample.input_ids, skip_special=False) == text
    assert [tokenizer.decode([i]) for i in sample.verbalizer_ids] == words
    assert sample.label == NEWS_LABELS.index("Business") == 2


def test_ag_news_multi_token_pattern_renders(tokenizer):
    pvp = resolve("ag_news").pvp(3, tokenizer, NEWS_LABELS, 128)
    assert pvp.is_multi_token
    rows = encode_candidate_rows(pvp, NEWS)
    assert [tokenizer.decode(r, skip_special=False) for r in rows.input_ids] == [
        "<s>Stocks rallied on Wall Street as oil prices fell. This article is about<mask>.</s><|startofpiece|>" + answer
        for answer in (" world affairs", " sports", " business and the economy", " science and technology")
    ]
    # Targets: the answer and then eop, scored from the sop position on.
    assert tokenizer.decode(rows.target_ids[2][rows.sep:], skip_special=False) == " business and the economy<|endofpiece|>"


ENTITY_GOLDEN = {
    0: ("<s>Abbott Farms. Abbott Farms is a dairy company based in Ohio. Category:<mask>.</s>",
        [" company", " educational institution", " artist", " athlete", " office holder", " means of transportation",
         " building", " natural place", " village", " animal", " plant", " album", " film", " written work"]),
    1: ("<s>Abbott Farms is a dairy company based in Ohio. Abbott Farms is<mask>.</s>",
        [" a company", " an educational institution", " an artist", " an athlete", " an office holder",
         " a means of transportation", " a building", " a natural place", " a village", " an animal", " a plant",
         " an album", " a film", " a written work"]),
    2: ("<s><mask>: Abbott Farms. Abbott Farms is a dairy company based in Ohio.</s>",
        ["Company", "Educational institution", "Artist", "Athlete", "Office holder", "Means of transportation",
         "Building", "Natural place", "Village", "Animal", "Plant", "Album", "Film", "Written work"]),
}  # fmt: skip


@pytest.mark.parametrize("pattern_id", sorted(ENTITY_GOLDEN))
def test_dbpedia_patterns_render(tokenizer, pattern_id):
    pvp = resolve("dbpedia_14").pvp(pattern_id, tokenizer, ENTITY_LABELS, 128)
    packed = encode_packed(pvp, ENTITY)
    context, answers = ENTITY_GOLDEN[pattern_id]
    assert tokenizer.decode(packed.input_ids[: packed.context_length], skip_special=False) == context
    blocks = [[t for t, c in zip(packed.target_ids, packed.candidate_index) if c == k] for k in range(packed.num_candidates)]
    assert [tokenizer.decode(b, skip_special=False) for b in blocks] == [a + "<|endofpiece|>" for a in answers]
    assert packed.label == 0


def test_single_token_verbalizer_of_several_tokens_is_rejected(tokenizer):
    class SciTechPVP(AgNewsPVP):
        VERBALIZERS = {**AgNewsPVP.VERBALIZERS, 0: {**AgNewsPVP.VERBALIZERS[0], "Sci/Tech": " Sci/Tech"}}

    with pytest.raises(ValueError, match=r"pattern 0, label 'Sci/Tech'.*' Sci/Tech' is 3 BPE tokens"):
        SciTechPVP(tokenizer, NEWS_LABELS, 128, pattern_id=0)


def test_shared_verbalizer_is_rejected(tokenizer):
    class SameWordPVP(AgNewsPVP):
        VERBALIZERS = {**AgNewsPVP.VERBALIZERS, 0: {**AgNewsPVP.VERBALIZERS[0], "Sci/Tech": " Business"}}

    with pytest.raises(ValueError, match="'Business' and 'Sci/Tech' share"):
        SameWordPVP(tokenizer, NEWS_LABELS, 128, pattern_id=0)


def test_unknown_pattern_lists_available(tokenizer):
    with pytest.raises(ValueError, match="no pattern 9.*0: "):
        AgNewsPVP(tokenizer, NEWS_LABELS, 128, pattern_id=9)


def test_empty_text_is_an_error():
    with pytest.raises(DataError, match="example 'train-7': field text_a is empty"):
        InputExample("train-7", "  ")
    with pytest.raises(DataError, match="example 'train-8': field text_b is empty"):
        InputExample("train-8", "title", "")


def test_helpers():
    assert PVP.shortenable("abc") == ("abc", True)
    assert PVP.remove_final_punc("Is it?!") == "Is it"
    assert PVP.lowercase_first("Paris is") == "paris is"


# ---------------------------------------------------------------------------------------------- truncation
def test_truncation_takes_from_the_side_with_more_shortenable_tokens_ties_to_b():
    a, b = truncate([([1, 2, 3], True)], [([4, 5], True)], 3)
    # step 1: a has 3 > 2 -> a loses its last token; step 2: 2 == 2, a tie -> b loses one.
    assert (a, b) == ([([1, 2], True)], [([4], True)])


def test_truncation_cuts_the_last_non_empty_shortenable_part_and_keeps_fixed_parts():
    a, b = truncate([([1, 2], True), ([9], False), ([3], True), ([], True)], [([8], False)], 3)
    assert a == [([1], True), ([9], False), ([], True), ([], True)]
    assert b == [([8], False)]


def test_truncation_without_room_for_text():
    with pytest.raises(PromptTooLongError):
        truncate([([1, 2], True), ([9, 9, 9], False)], [], 3)


class ToyPVP(PVP):
    """text_a* " is about" [MASK] "." || " "+text_b*; 4 fixed tokens."""

    available_patterns = {0: "single-token toy", 1: "multi-token toy"}
    ANSWERS = {0: {"yes": " yes", "no": " no"}, 1: {"yes": " yes", "no": " no no no"}}

    @property
    def is_multi_token(self):
        return self.pattern_id == 1

    def get_parts(self, example):
        return [self.shortenable(example.text_a), " is about", [self.mask_id], "."], [self.shortenable(" " + example.text_b)]

    def verbalize(self, label):
        return [self.ANSWERS[self.pattern_id][label]]


FIXED = 4
TOY = InputExample("toy-0", "The weather", "It rains a lot.", label="no")


def _expected_kept(n_a: int, n_b: int, available: int) -> tuple[int, int]:
    """Upstream's rule for one shortenable part per side, as counts."""
    while n_a + n_b + FIXED > available:
        if n_a > n_b:
            n_a -= 1
        else:
            n_b -= 1
    return n_a, n_b


@settings(max_examples=150, deadline=None)
@given(n_a=st.integers(1, 60), n_b=st.integers(1, 60), max_len=st.integers(3, 90), multi=st.booleans())
def test_truncation_property(tokenizer, n_a, n_b, max_len, multi):
    example = InputExample("prop-1", " ".join(["x"] * n_a), " ".join(["y"] * n_b), label="no")
    pvp = ToyPVP(tokenizer, ["yes", "no"], max_len, pattern_id=int(multi))
    reserve = 4 if multi else 1  # the longest answer " no no no" + eop, or the sop token
    available = max_len - 2 - reserve
    if FIXED >= available:
        with pytest.raises(PromptTooLongError, match=r"'prop-1'.*4 fixed tokens.*max_seq_length"):
            encode_single_token(pvp, example) if not multi else encode_packed(pvp, example)
        return
    x, y = tokenizer.encode("x"), tokenizer.encode(" y")
    fixed_ids = tokenizer.encode(" is about") + [tokenizer.mask_id] + tokenizer.encode(".")
    keep_a, keep_b = _expected_kept(n_a, n_b, available)
    expected_context = [0] + (x + tokenizer.encode(" x") * (n_a - 1))[:keep_a] + fixed_ids + (y * n_b)[:keep_b] + [2]
    if multi:
        rows = encode_candidate_rows(pvp, example)
        assert all(len(r) <= max_len for r in rows.input_ids)
        assert max(len(r) for r in rows.input_ids) == min(max_len, n_a + n_b + FIXED + 2 + reserve)
        assert all(r[: rows.sep] == expected_context for r in rows.input_ids)
    else:
        sample = encode_single_token(pvp, example)
        assert len(sample.input_ids) == min(max_len, n_a + n_b + FIXED + 3)
        assert sample.input_ids[: sample.sep] == expected_context
        assert sample.input_ids[-1] == tokenizer.sop_id


def test_prompt_with_no_room_names_guid_lengths_and_remedy(tokenizer):
    pvp = resolve("ag_news").pvp(2, tokenizer, NEWS_LABELS, 18)
    with pytest.raises(PromptTooLongError, match=r"'test-0'.*pattern 2 of AgNewsPVP has 15 fixed tokens.*18 of max_seq_length 18.*--seq-length"):
        encode_single_token(pvp, NEWS)


def test_pattern_without_mask_is_an_error(tokenizer):
    class NoMaskPVP(ToyPVP):
        def get_parts(self, example):
            return [self.shortenable(example.text_a)], []

    with pytest.raises(DataError, match="'toy-0'.*no \\[MASK\\]"):
        encode_single_token(NoMaskPVP(tokenizer, ["yes", "no"], 64), TOY)


def test_bad_part_type_is_an_error(tokenizer):
    class BadPartPVP(ToyPVP):
        def get_parts(self, example):
            return [self.shortenable(example.text_a), 42], []

    with pytest.raises(TypeError, match="returned a part 42"):
        encode_single_token(BadPartPVP(tokenizer, ["yes", "no"], 64), TOY)


def test_mask_in_a_string_part_counts(tokenizer):
    class StringMaskPVP(ToyPVP):
        def get_parts(self, example):
            return [self.shortenable(example.text_a), " It is [MASK]."], []

    sample = encode_single_token(StringMaskPVP(tokenizer, ["yes", "no"], 64), TOY)
    assert sample.position_ids[0][-1] == sample.input_ids.index(tokenizer.mask_id)
