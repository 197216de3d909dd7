"""The one task registry: every registered task renders its demo fixture with every prompt; names resolve
case-insensitively; unknown names and prompts are clear errors; both drivers use it."""

import pytest

from conftest import ROOT
from tasks.layout import encode_candidate_rows, encode_classifier, encode_packed, encode_single_token
from tasks.metrics import METRICS
from tasks.registry import ClozeTask, DataOptions, GenerationTask, PromptChoiceError, UnknownTaskError, registered, resolve
from tasks.seq2seq.metrics import GENERATION_METRICS
from tasks.superglue.entry import SuperGlueTask

DEMO = ROOT / "data" / "demo"
UPSTREAM_INPUTS = ROOT / "tests" / "fixtures" / "upstream_pvp" / "inputs"
ENTRIES = sorted({e.name: e for e in registered().values()}.values(), key=lambda e: e.name)
CLOZE_PATTERNS = [(e.name, pid) for e in ENTRIES if isinstance(e, ClozeTask) for pid in e.pvp_class.available_patterns]
GENERATION_PROMPTS = [(e.name, pid) for e in ENTRIES if isinstance(e, GenerationTask) for pid in range(len(e.prompt_classes))]


def test_every_entry_declares_known_metrics_and_prompts():
    for entry in ENTRIES:
        known = METRICS if entry.kind != "generation" else GENERATION_METRICS
        if isinstance(entry, SuperGlueTask):  # metrics over examples (groups, gold-answer sets): test_superglue_driver.py
            known = {"accuracy", "macro_f1", "f1a", "em", "f1"}
        assert entry.metrics and set(entry.metrics) <= set(known), entry.name
        assert entry.prompts(None), entry.name


def test_names_are_case_insensitive_and_unknown_names_list_the_known():
    assert resolve("AG_NEWS") is resolve("ag_news") is resolve(" ag_news ")
    with pytest.raises(UnknownTaskError, match="unknown task 'ag_newz'; available: ag_news, .*dbpedia_14.*did you mean ag_news"):
        resolve("ag_newz")
    assert resolve("PromptSource:ag_news").name == "promptsource:ag_news"


def test_prompt_errors(tokenizer):
    with pytest.raises(PromptChoiceError, match="no pattern 7.*0: "):
        resolve("dbpedia_14").prepare(DataOptions(), tokenizer, prompt=7)
    with pytest.raises(PromptChoiceError, match="use --pattern-id N, not --prompt 'classify'"):
        resolve("ag_news").prepare(DataOptions(), tokenizer, prompt="classify")
    with pytest.raises(PromptChoiceError, match="0: upstream_customization"):
        resolve("customization").prompt(99)


def test_ag_news_has_single_and_multi_token_patterns(tokenizer):
    listing = {p.id: p for p in resolve("ag_news").prompts(tokenizer)}
    assert {i: p.kind for i, p in listing.items()} == {0: "single-token", 1: "single-token", 2: "single-token", 3: "multi-token"}
    assert "[MASK]" in listing[0].description
    task = resolve("ag_news").prepare(DataOptions(), tokenizer, prompt=3)
    assert task.pvp.is_multi_token and max(len(tokenizer.encode(w)) for w in task.pvp.get_answers(None)) > 1
    assert task.prompt == {"id": 3, "name": "p3", "text": listing[3].description}


@pytest.mark.parametrize("task,pattern_id", CLOZE_PATTERNS)
def test_every_pattern_renders_every_demo_example(tokenizer, task, pattern_id):
    prepared = resolve(task).prepare(DataOptions(), tokenizer, prompt=pattern_id, seq_length=64)
    pvp, labels, processor = prepared.pvp, prepared.labels, prepared.processor
    data = DEMO / task if (DEMO / task).is_dir() else UPSTREAM_INPUTS / task  # upstream's csv tasks: upstream's layout
    examples = processor.get_dev_examples(data)
    if getattr(processor, "has_test_split", True):
        examples += processor.get_test_examples(data)
    assert examples
    for example in examples:
        if pvp.is_multi_token:
            rows = encode_candidate_rows(pvp, example)
            assert max(len(r) for r in rows.input_ids) <= 64
            assert len(encode_packed(pvp, example).input_ids) == rows.sep + sum(len(r) - rows.sep for r in rows.input_ids)
        else:
            assert len(encode_single_token(pvp, example).input_ids) <= 64
        assert len(encode_classifier(example, tokenizer, labels, 64).input_ids) <= 64


@pytest.mark.parametrize("task,pattern_id", GENERATION_PROMPTS)
def test_every_generation_prompt_renders(tokenizer, task, pattern_id):
    prepared = resolve(task).prepare(DataOptions(), tokenizer, prompt=pattern_id)
    assert prepared.kind == "generation" and prepared.metrics[0] == "rougeL"
    enc = prepared.seq2seq_prompt.encode(tokenizer, "Some source text.", "A target.", src_len=64, tgt_len=8)
    assert enc.source_ids[0] == tokenizer.cls_id and enc.source_ids.count(tokenizer.mask_id) == 1
    if task == "customization":  # the demo data is in this format
        examples = prepared.processor.get_dev_examples(DEMO / "seq2seq")
        assert all(prepared.seq2seq_prompt.encode_example(tokenizer, e, src_len=64, tgt_len=16).target_ids for e in examples)
