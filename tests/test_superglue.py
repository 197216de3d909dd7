"""SuperGLUE tasks: the demo data, both file schemas, FewGLUE, label forms, clear errors, metrics over examples,
submission records, and the task descriptions. (Renders and processors against upstream's own code:
test_upstream_pvp_golden.py.)"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from tasks.base import InputExample
from tasks.data_io import DataError, MissingSplitError
from tasks.layout import encode_candidate_rows, encode_single_token
from tasks.superglue import PROCESSORS, PVPS, TASK_INFO
from tasks.superglue.evaluate import (
    SUBMISSION_FILES,
    compute_metrics,
    predicted_labels,
    submission_records,
)
from tasks.superglue.processors import CopaProcessor, RecordProcessor, WscProcessor

DEMO = ROOT / "data" / "demo" / "superglue"
FOLDERS = {"rte": "RTE", "cb": "CB", "boolq": "BoolQ", "wic": "WiC", "copa": "COPA", "wsc": "WSC-negative", "multirc": "MultiRC",
           "record": "ReCoRD"}  # fmt: skip


def write(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path.parent


# ---------------------------------------------------------------------------------------------- demo data
@pytest.mark.parametrize("task", sorted(TASK_INFO))
def test_demo_data_loads_and_renders_with_every_pattern(tokenizer, task):
    info = TASK_INFO[task]
    processor = info.processor()
    data_dir = DEMO / FOLDERS[task]
    train, dev, test = processor.get_train_examples(data_dir), processor.get_dev_examples(data_dir), processor.get_test_examples(data_dir)
    assert 100 <= len(train) <= 400 and len(dev) >= 40 and len(test) >= 10
    assert all(e.label is not None for e in train) and all(e.label is None for e in test)
    if task != "record":  # balanced labels (ReCoRD's dev examples have gold answers, not labels)
        counts = Counter(e.label for e in dev)
        assert len(counts) == len(processor.get_labels()) and max(counts.values()) - min(counts.values()) <= len(dev) // 5
    for pattern_id in info.patterns:
        pvp = info.pvp(tokenizer, processor.get_labels(), info.hyperparameters.seq_length, pattern_id=pattern_id)
        encode = encode_candidate_rows if pvp.is_multi_token else encode_single_token
        for example in train[:10] + dev[:10] + test[:5]:
            encode(pvp, example)


def test_demo_data_are_what_the_script_writes(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_demo_superglue
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(sys, "argv", ["make_demo_superglue.py", "--out", str(tmp_path / "demo"), "--fixtures", str(tmp_path / "fixtures")])
    make_demo_superglue.main()
    for ours, base in ((tmp_path / "demo", DEMO), (tmp_path / "fixtures", FIXTURES / "superglue")):
        written = sorted(p.relative_to(ours) for p in ours.rglob("*.jsonl"))
        assert written == sorted(p.relative_to(base) for p in base.rglob("*.jsonl"))
        for rel in written:
            assert (ours / rel).read_bytes() == (base / rel).read_bytes(), rel


def test_demo_record_answers_are_entities_and_dev_has_all_entities():
    processor = RecordProcessor()
    for example in processor.get_dev_examples(DEMO / "ReCoRD"):
        assert example.meta["answers"] and set(example.meta["answers"]) <= set(example.meta["candidates"])
        assert example.num_choices == len(example.meta["candidates"])
    train = processor.get_train_examples(DEMO / "ReCoRD")
    assert all(e.label == "0" and e.meta["candidates"][0] == e.meta["answers"][0] for e in train)


# ---------------------------------------------------------------------------------------------- schemas
HUB_DIRS = {task: FIXTURES / "superglue" / "hub" / task for task in TASK_INFO}


@pytest.mark.parametrize("task", sorted(TASK_INFO))
def test_hub_schema_gives_the_examples_of_the_official_files(tmp_path, task):
    """The same records in the hub's super_glue schema (integer labels, flat fields) and in the official one."""
    official_dir = tmp_path / "official"
    folder = "WSC" if task == "wsc" else FOLDERS[task]  # the hub's WSC has no WSC-negative candidates
    first = 1 if task in ("multirc", "record") else 3
    for split in ("train", "val", "test"):
        lines = (DEMO / folder / f"{split}.jsonl").read_text().splitlines()[:first]
        write(official_dir / f"{split}.jsonl", lines)
    for split in ("train", "dev", "test"):
        official = getattr(PROCESSORS[task](), f"get_{split}_examples")(official_dir)
        hub = getattr(PROCESSORS[task](), f"get_{split}_examples")(HUB_DIRS[task])
        if task == "record" and split == "train":  # the hub sorts a query's answers, the official file lists them
            official, hub = (sorted(exs, key=lambda e: (e.meta["question_idx"], e.meta["answers"])) for exs in (official, hub))
            assert [e.meta for e in official] == [e.meta for e in hub]
            continue
        assert [(e.guid, e.text_a, e.text_b, e.label, e.meta, e.idx) for e in hub] == \
               [(e.guid, e.text_a, e.text_b, e.label, e.meta, e.idx) for e in official], (task, split)  # fmt: skip
        assert official, (task, split)


def test_fewglue_layout(tmp_path):
    few = FIXTURES / "superglue" / "fewglue" / "RTE"
    processor = PROCESSORS["rte"](few_superglue=True)
    dev, test = processor.get_dev_examples(few), processor.get_test_examples(few)
    dev32 = [json.loads(line) for line in (few / "dev32.jsonl").read_text().splitlines()]
    assert [e.text_a for e in dev] == [r["premise"] for r in dev32]
    assert test and all(e.label is not None for e in test)  # FewGLUE's test is the labelled val.jsonl
    assert processor.data_record["test"]["from"] == str(few / "val.jsonl")
    with pytest.raises(MissingSplitError, match=r"FewGLUE \(--few-superglue\) layout: expected .*dev32.jsonl"):
        PROCESSORS["rte"](few_superglue=True).get_dev_examples(DEMO / "RTE")
    assert len(PROCESSORS["copa"](few_superglue=True).get_train_examples(FIXTURES / "superglue" / "fewglue" / "COPA")) == 16  # mirrored


@pytest.mark.parametrize("task, values, expected", [
    ("rte", ["entailment", 0, "0", 1, "not_entailment", "Entailment"], ["entailment", "entailment", "entailment", "not_entailment", "not_entailment", "entailment"]),
    ("boolq", [True, False, 1, 0, "True", "false"], ["true", "false", "true", "false", "true", "false"]),
    ("cb", ["neutral", 2, "contradiction"], ["neutral", "neutral", "contradiction"]),
])  # fmt: skip
def test_string_bool_and_integer_labels_load(tmp_path, task, values, expected):
    base = {"rte": {"premise": "A b.", "hypothesis": "C d."}, "cb": {"premise": "A b.", "hypothesis": "c d"},
            "boolq": {"passage": "A b.", "question": "c d"}}[task]  # fmt: skip
    data_dir = write(tmp_path / "train.jsonl", [{**base, "idx": i, "label": v} for i, v in enumerate(values)])
    assert [e.label for e in PROCESSORS[task]().get_train_examples(data_dir)] == expected


def test_wsc_bool_and_integer_labels(tmp_path):
    row = {"text": "Anna thanked Lena because she was kind.", "target": {"span1_text": "Anna", "span1_index": 0, "span2_text": "she", "span2_index": 4}}
    data_dir = write(tmp_path / "val.jsonl", [{**row, "idx": 0, "label": True}, {**row, "idx": 1, "label": 0}, {**row, "idx": 2, "label": "True"}])
    assert [e.label for e in WscProcessor().get_dev_examples(data_dir)] == ["True", "False", "True"]


@pytest.mark.parametrize("task, row, message", [
    ("rte", {"premise": "A.", "hypothesis": "B.", "idx": 0, "label": "contradiction"}, r"train.jsonl:2: label 'contradiction' is not a label of this task \(labels: 0='entailment', 1='not_entailment'"),
    ("cb", {"premise": "A.", "hypothesis": "B.", "idx": 0, "label": True}, r"train.jsonl:2: label True is not a label"),
    ("copa", {"premise": "A.", "choice1": "B.", "choice2": "C.", "question": "effect", "idx": 0, "label": 2}, r"train.jsonl:2: label 2 is not a label"),
    ("rte", {"premise": "A.", "hypothesis": "B.", "idx": 0}, r"train.jsonl:2: no label, but the train split is used for training"),
    ("copa", {"premise": "A.", "choice1": "B.", "choice2": "C.", "question": "why", "idx": 0, "label": 1}, r"train.jsonl:2: question 'why' must be 'cause' or 'effect'"),
    ("wsc", {"text": "Anna met Lena.", "target": {"span1_text": "Anna", "span1_index": 0, "span2_text": "she", "span2_index": 2}, "idx": 0, "label": True},
     r"train.jsonl:2: span2_text 'she' is not at word 2 of the text \(found 'Lena.'"),
    ("multirc", {"idx": 0, "passage": {"text": "P.", "questions": [{"question": "Q?", "idx": 0, "answers": [{"text": "A", "idx": 0}]}]}},
     r"train.jsonl:2: no label, but the train split"),
])  # fmt: skip
def test_bad_records_name_file_and_line(tmp_path, task, row, message):
    good = json.loads((DEMO / FOLDERS[task] / "train.jsonl").read_text().splitlines()[0])
    data_dir = write(tmp_path / "train.jsonl", [good, row])
    with pytest.raises(DataError, match=message):
        PROCESSORS[task]().get_train_examples(data_dir)


def _record(answers: list[str] | None, query: str = "@placeholder won.") -> dict:
    text = "Oslo (AP) Norway beat Sweden."
    entities = [{"start": text.index(w), "end": text.index(w) + len(w) - 1} for w in ("Oslo", "AP", "Norway", "Sweden")]
    qa = {"query": query, "idx": 0}
    if answers is not None:
        qa["answers"] = [{"start": 0, "end": len(a) - 1, "text": a} for a in answers]
    return {"passage": {"text": text, "entities": entities}, "qas": [qa], "idx": 0}


def test_record_errors_name_file_and_line(tmp_path):
    data_dir = write(tmp_path / "train.jsonl", [_record(["Norway"]), _record(["Denmark"])])
    with pytest.raises(DataError, match=r"train.jsonl:2: answer 'Denmark' of query 0 is not an entity of the passage \(entities: 'AP', 'Norway', 'Oslo', 'Sweden'\)"):
        RecordProcessor().get_train_examples(data_dir)
    data_dir = write(tmp_path / "a" / "train.jsonl", [_record(None)])
    with pytest.raises(DataError, match=r"a/train.jsonl:1: query 0 has no answers, but the train split is used for training"):
        RecordProcessor().get_train_examples(data_dir)
    data_dir = write(tmp_path / "b" / "val.jsonl", [_record(["Norway"], query="Nobody won.")])
    with pytest.raises(DataError, match=r"b/val.jsonl:1: query 0 must contain '@placeholder' exactly once"):
        RecordProcessor().get_dev_examples(data_dir)
    with pytest.raises(MissingSplitError, match=r"record test split not found in the SuperGLUE layout"):
        RecordProcessor().get_test_examples(data_dir)


def test_unlabelled_test_split_used_for_training_is_an_error(tmp_path):
    data_dir = write(tmp_path / "train.jsonl", (DEMO / "BoolQ" / "test.jsonl").read_text().splitlines())
    with pytest.raises(DataError, match=r"train.jsonl:1: no label, but the train split is used for training"):
        PROCESSORS["boolq"]().get_train_examples(data_dir)


# ---------------------------------------------------------------------------------------------- split behaviour
def test_copa_train_is_mirrored(tmp_path):
    rows = [{"premise": "It rained.", "choice1": "The street was wet.", "choice2": "The sun shone.", "question": "effect", "idx": 7, "label": 0}]
    train = CopaProcessor().get_train_examples(write(tmp_path / "train.jsonl", rows))
    assert [(e.guid, e.label, e.meta["choice1"]) for e in train] == [("train-7", "0", "The street was wet."), ("train-7m", "1", "The sun shone.")]
    assert [e.guid for e in CopaProcessor().get_dev_examples(write(tmp_path / "val.jsonl", rows))] == ["dev-7"]


def test_wsc_cloze_training_keeps_true_examples_and_chunks_candidates(tmp_path):
    row = {"text": "Anna thanked Lena because she was kind.", "target": {"span1_text": "Lena", "span1_index": 2, "span2_text": "she", "span2_index": 4}}
    many = [{"text": f"thing {i}"} for i in range(12)]
    rows = [{**row, "idx": 0, "label": True, "candidates": many}, {**row, "idx": 1, "label": False, "candidates": many[:2]}]
    processor = WscProcessor()
    train = processor.get_train_examples(write(tmp_path / "train.jsonl", rows))
    assert [len(e.meta["candidates"]) for e in train] == [9, 9]
    assert train[1].meta["candidates"] == [f"thing {i}" for i in (9, 10, 11, 0, 1, 2, 3, 4, 5)]  # filled up from the start
    assert processor.data_record["wsc_train_dropped_not_true"] == 1
    assert len(WscProcessor(cloze_eval=False).get_train_examples(tmp_path)) == 3  # the linear head trains on both labels


def test_record_train_has_one_example_per_distinct_answer_with_seeded_others(tmp_path):
    text = "A B C D E F G H I J K L M N O P."
    entities = [{"start": i, "end": i} for i in range(0, 31, 2)]
    qa = {"query": "@placeholder won.", "idx": 3, "answers": [{"text": t, "start": 0, "end": 0} for t in ("A", "C", "A")]}
    data_dir = write(tmp_path / "train.jsonl", [{"passage": {"text": text, "entities": entities}, "qas": [qa], "idx": 0}])
    first, again = RecordProcessor().get_train_examples(data_dir), RecordProcessor().get_train_examples(data_dir)
    assert [e.meta["answers"] for e in first] == [["A"], ["C"]] and [e.guid for e in first] == ["train-p0-q3-a0", "train-p0-q3-a1"]
    for e in first:
        others = e.meta["candidates"][1:]
        assert len(others) == 9 and not {"A", "C"} & set(others) and len(set(others)) == 9
    assert [e.meta for e in first] == [e.meta for e in again]  # seeded
    assert first[0].meta["candidates"][1:] != first[1].meta["candidates"][1:]  # one shuffler, drawn in turn


# ---------------------------------------------------------------------------------------------- metrics and submissions
def _ex(guid, label, idx=0, **meta):
    return InputExample(guid, "text", "question", label, meta=meta, idx=idx)


def test_multirc_metrics_by_hand():
    examples = [_ex("a", "1", passage_idx=0, question_idx=0, answer_idx=0), _ex("b", "0", passage_idx=0, question_idx=0, answer_idx=1),
                _ex("c", "1", passage_idx=0, question_idx=1, answer_idx=2), _ex("d", "1", passage_idx=1, question_idx=2, answer_idx=3)]  # fmt: skip
    predictions = [1, 0, 0, 1]  # question 1 wrong; f1a: tp 2, fn 1, fp 0 -> 4/5; EM 2/3; accuracy 3/4
    assert compute_metrics("multirc", predictions, examples) == {"f1a": pytest.approx(0.8), "em": pytest.approx(2 / 3), "accuracy": 0.75}
    assert submission_records("multirc", predictions, examples) == [
        {"idx": 0, "passage": {"questions": [{"idx": 0, "answers": [{"idx": 0, "label": 1}, {"idx": 1, "label": 0}]},
                                             {"idx": 1, "answers": [{"idx": 2, "label": 0}]}]}},
        {"idx": 1, "passage": {"questions": [{"idx": 2, "answers": [{"idx": 3, "label": 1}]}]}},
    ]  # fmt: skip


def test_record_metrics_by_hand():
    examples = [_ex("q0", None, candidates=["Oslo", "Norway", "Sweden"], answers=["Norway"], idx=10),
                _ex("q1", None, candidates=["Barack Obama", "Paris"], answers=["Obama"], idx=11)]  # fmt: skip
    # q0 predicts Norway: EM 1, F1 1. q1 predicts "Barack Obama" against "Obama": EM 0, F1 2/3.
    assert compute_metrics("record", [1, 0], examples) == {"em": 0.5, "f1": pytest.approx((1 + 2 / 3) / 2)}
    assert submission_records("record", [1, 0], examples) == [{"idx": 10, "label": "Norway"}, {"idx": 11, "label": "Barack Obama"}]
    assert compute_metrics("record", [0], [_ex("t", None, candidates=["A"], answers=[])]) == {}  # the unlabelled test split


def test_wsc_prediction_is_true_when_the_referent_wins():
    examples = [_ex("a", "True"), _ex("b", "False"), _ex("c", "False"), _ex("d", None)]
    predictions = [0, 0, 2, 1]  # -> True, True, False, False
    assert predicted_labels("wsc", predictions, examples) == ["True", "True", "False", "False"]
    assert compute_metrics("wsc", predictions, examples) == {"accuracy": pytest.approx(2 / 3)}  # the unlabelled one is left out


def test_classification_metrics_and_submission_format():
    examples = [_ex("a", "entailment"), _ex("b", "neutral"), _ex("c", "contradiction")]
    assert compute_metrics("cb", [0, 2, 0], examples) == {"accuracy": pytest.approx(2 / 3), "macro_f1": pytest.approx((2 / 3 + 0 + 1) / 3)}
    copa = [InputExample("t", "p", meta={"choice1": "x", "choice2": "y", "question": "cause"}, idx=5)]
    assert submission_records("copa", [1], copa) == [{"idx": 5, "label": 1}]
    assert submission_records("boolq", [1], [_ex("q", None, idx=3)]) == [{"idx": 3, "label": "true"}]
    assert set(SUBMISSION_FILES) == set(TASK_INFO)


# ---------------------------------------------------------------------------------------------- task descriptions
def test_task_info_matches_processors_pvps_and_upstream():
    assert list(TASK_INFO) == ["rte", "cb", "boolq", "wic", "copa", "wsc", "multirc", "record"]
    for name, info in TASK_INFO.items():
        hp = info.hyperparameters
        assert info.processor is PROCESSORS[name] and info.pvp is PVPS[name] and info.patterns == info.pvp.available_patterns
        assert hp.pattern_id in info.patterns and set(hp.pattern_ids) <= set(info.patterns)
        assert info.kind == ("multiple_choice" if name in ("copa", "record") else "classification")
        assert (hp.lr, hp.warmup, hp.weight_decay, hp.lr_decay_style) == (1e-5, 0.1, 0.1, "linear")
    # upstream's DEFAULT_METRICS order and the paper's recipe (config_tasks/task_*.sh)
    assert TASK_INFO["multirc"].metrics == ("f1a", "em", "accuracy") and TASK_INFO["record"].metrics == ("em", "f1")
    assert TASK_INFO["cb"].metrics == ("accuracy", "macro_f1")
    assert {n: (i.hyperparameters.seq_length, i.hyperparameters.batch_size, i.hyperparameters.epochs, i.hyperparameters.pattern_id)
            for n, i in TASK_INFO.items()} == {"rte": (256, 16, 50, 0), "cb": (256, 16, 50, 3), "boolq": (256, 16, 20, 4), "wic": (256, 16, 30, 1),
                                               "copa": (256, 16, 50, 0), "wsc": (128, 16, 50, 2), "multirc": (512, 64, 15, 0),
                                               "record": (512, 64, 5, 0)}  # fmt: skip
    wsc = TASK_INFO["wsc"].hyperparameters
    assert (wsc.loss_func, wsc.wsc_negative, wsc.length_penalty, wsc.data_folder) == ("mix", True, 1.0, "WSC-negative")
    assert [n for n, i in TASK_INFO.items() if i.variable_candidates] == ["wsc", "record"]
    assert [n for n, i in TASK_INFO.items() if i.multi_token] == ["copa", "wsc", "record"]


def test_hub_by_name_offline_says_how_to_pass_files():
    with pytest.raises(DataError, match=r"super_glue/wsc.fixed .*Pass --data-dir instead: a folder with the official SuperGLUE files"):
        PROCESSORS["wsc"]().get_train_examples()
