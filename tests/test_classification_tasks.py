"""Registries and shipped patterns: every task/pattern builds with the real vocabulary and renders every demo
example within the length limit."""

import pytest

from conftest import ROOT
from tasks.classification import DEFAULT_METRICS, PROCESSORS, PVPS, get_pvp, list_prompts
from tasks.layout import encode_candidate_rows, encode_classifier, encode_packed, encode_single_token
from tasks.metrics import METRICS

DEMO = ROOT / "data" / "demo"
TASK_PATTERNS = [(task, pattern_id) for task in PVPS for pattern_id in PVPS[task]]


def test_registries_agree():
    assert set(PROCESSORS) == set(PVPS) == set(DEFAULT_METRICS)
    assert all(set(names) <= set(METRICS) for names in DEFAULT_METRICS.values())
    assert len(PVPS["ag_news"]) >= 3 and len(PVPS["dbpedia_14"]) >= 2


def test_list_prompts():
    prompts = list_prompts("ag_news")
    assert sorted(prompts) == [0, 1, 2, 3]
    assert "multi-token" in prompts[3] and "[MASK]" in prompts[0]


def test_registry_errors(tokenizer):
    with pytest.raises(KeyError, match="unknown task 'sst9'.*ag_news, dbpedia_14"):
        list_prompts("sst9")
    with pytest.raises(KeyError, match="no pattern 7.*0: "):
        get_pvp("dbpedia_14", 7, tokenizer, PROCESSORS["dbpedia_14"]().get_labels(), 64)


def test_ag_news_has_single_and_multi_token_patterns(tokenizer):
    labels = PROCESSORS["ag_news"]().get_labels()
    kinds = {pid: get_pvp("ag_news", pid, tokenizer, labels, 64).is_multi_token for pid in PVPS["ag_news"]}
    assert kinds == {0: False, 1: False, 2: False, 3: True}
    multi = get_pvp("ag_news", 3, tokenizer, labels, 64)
    assert max(len(tokenizer.encode(w)) for w in multi.get_answers(None)) > 1


@pytest.mark.parametrize("task,pattern_id", TASK_PATTERNS)
def test_every_pattern_renders_every_demo_example(tokenizer, task, pattern_id):
    processor = PROCESSORS[task]()
    labels = processor.get_labels()
    max_len = 64
    pvp = get_pvp(task, pattern_id, tokenizer, labels, max_len)
    for example in processor.get_dev_examples(DEMO / task) + processor.get_test_examples(DEMO / task):
        if pvp.is_multi_token:
            rows = encode_candidate_rows(pvp, example)
            assert max(len(r) for r in rows.input_ids) <= max_len
            assert len(encode_packed(pvp, example).input_ids) == rows.sep + sum(len(r) - rows.sep for r in rows.input_ids)
        else:
            assert len(encode_single_token(pvp, example).input_ids) <= max_len
        assert len(encode_classifier(example, tokenizer, labels, max_len).input_ids) <= max_len
