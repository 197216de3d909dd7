"""Generation metrics equal the reference packages' own computations (on the 0-100 scale)."""

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from tasks.seq2seq.metrics import bleu, generation_metrics, rouge, split_sentences

PREDS = ["The cat sat on the mat. It was happy!", "7 red foxes", "Amanda baked cookies for Jerry."]
REFS = ["A cat was sitting on the mat. The cat was happy.", "7 red foxes", "Amanda baked some cookies. Jerry wants some."]


def test_rouge_equals_rouge_score():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    # rougeLsum needs one sentence per line; the other types ignore the line breaks.
    refs_lines = ["A cat was sitting on the mat.\nThe cat was happy.", "7 red foxes", "Amanda baked some cookies.\nJerry wants some."]
    preds_lines = ["The cat sat on the mat.\nIt was happy!", "7 red foxes", "Amanda baked cookies for Jerry."]
    direct = [scorer.score(r, p) for r, p in zip(refs_lines, preds_lines)]
    got = rouge(PREDS, REFS)
    for name in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert got[name] == pytest.approx(100 * sum(d[name].fmeasure for d in direct) / 3, abs=1e-9)
    # The sentence split matters for Lsum: it differs from plain L on these pairs.
    assert got["rougeLsum"] != pytest.approx(got["rougeL"])


def test_split_sentences():
    assert split_sentences("One. Two! Three? four\nfive.  ") == "One.\nTwo!\nThree?\nfour\nfive."
    assert split_sentences("3.5 is a number") == "3.5 is a number"


def test_bleu_equals_sacrebleu():
    assert bleu(PREDS, REFS) == pytest.approx(sacrebleu.corpus_bleu(PREDS, [REFS]).score, abs=1e-12)


def test_identical_texts_score_100_and_all_keys_present():
    got = generation_metrics(["a b c d e"], ["a b c d e"])
    assert set(got) == {"rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"}
    assert all(v == pytest.approx(100.0) for v in got.values())


def test_misaligned_inputs_are_an_error():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        rouge(["a", "b"], ["a"])
