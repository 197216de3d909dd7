"""The tokenizer reproduces the HF port's goldens (tests/fixtures/golden/tokenizer_cases.json)."""

import json

import pytest

from conftest import GOLDEN, TOKENIZER_DIR
from model.tokenizer import GLMTokenizer, TokenizerFilesError

CASES = json.loads((GOLDEN / "tokenizer_cases.json").read_text())


def test_special_ids(hf_tokenizer):
    s = CASES["special_ids"]
    t = hf_tokenizer
    assert (t.cls_id, t.eos_id, t.sep_id, t.pad_id, t.unk_id) == (
        s["cls_token_id"], s["eos_token_id"], s["sep_token_id"], s["pad_token_id"], s["unk_token_id"])
    assert (t.mask_id, t.sop_id, t.eop_id) == (s["mask_token_id"], s["sop_token_id"], s["eop_token_id"])
    assert len(t) == s["len(tokenizer)"]
    assert t.vocab_size == 50304


@pytest.mark.parametrize("case", CASES["encode"], ids=lambda c: repr(c["text"])[:40])
def test_encode_matches_golden(hf_tokenizer, case):
    assert hf_tokenizer.encode(case["text"]) == case["input_ids_no_special"]
    assert hf_tokenizer.tokenize(case["text"]) == case["tokens_no_special"]
    assert hf_tokenizer.hf_encode(case["text"]).input_ids == case["input_ids"]


@pytest.mark.parametrize("case", CASES["pairs"], ids=lambda c: c["text"])
def test_pairs(hf_tokenizer, case):
    enc = hf_tokenizer.hf_encode(case["text"], case["text_pair"])
    assert enc.input_ids == case["input_ids"]
    assert enc.attention_mask == case["attention_mask"]


@pytest.mark.parametrize("case", CASES["truncation"], ids=lambda c: str(c["max_length"]))
def test_left_truncation(hf_tokenizer, case):
    assert hf_tokenizer.hf_encode(case["text"], max_length=case["max_length"]).input_ids == case["input_ids"]


def test_batch_padding(hf_tokenizer):
    for case in CASES["batch_padding"]:
        enc = hf_tokenizer.hf_batch_encode(case["texts"], padding=case["padding"])
        assert enc.input_ids == case["input_ids"]
        assert enc.attention_mask == case["attention_mask"]


def test_original_mask_id_is_default(tokenizer):
    # Same text, same ids, except [MASK] -> RoBERTa's <mask> (50264), as the original fine-tuning code does.
    assert tokenizer.mask_id == 50264
    assert tokenizer.encode("located in [MASK].") == [462, 23283, 11, 50264, 4]
    # Literal "<mask>" in text is not special in either convention.
    assert 50264 not in tokenizer.encode("a <mask> b")


def test_single_token_verbalizer_check(tokenizer):
    assert tokenizer.single_token_id(" Yes") == 3216
    with pytest.raises(ValueError, match="Sci/Tech"):
        tokenizer.single_token_id(" Sci/Tech")


def test_missing_files_error(tmp_path):
    with pytest.raises(TokenizerFilesError, match="vocab.json"):
        GLMTokenizer.from_dir(tmp_path)


def test_bad_mask_id():
    with pytest.raises(ValueError, match="mask_id"):
        GLMTokenizer.from_dir(TOKENIZER_DIR, mask_id=3)


def test_decode_roundtrip(tokenizer):
    text = "The quick brown fox, naïve café 😀."
    assert tokenizer.decode(tokenizer.encode(text)) == text
