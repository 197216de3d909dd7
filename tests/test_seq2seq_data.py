"""Seq2seq data: the customization format, local jsonl in hub schemas, the hub failure, the demo data."""

import json
from pathlib import Path

import pytest

from tasks.data_io import DataError

from tasks.registry import resolve

ROOT = Path(__file__).resolve().parent.parent


def _write(folder: Path, name: str, lines: list[str]) -> None:
    (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_customization_reads_aligned_lines(tmp_path):
    _write(tmp_path, "train.source", ["  first source ", "second\u2028source"])
    _write(tmp_path, "train.target", ["first target", "second target"])
    _write(tmp_path, "val.source", ["dev source"])
    _write(tmp_path, "val.target", ["dev target"])
    examples = resolve("customization").processor_class().get_train_examples(tmp_path)
    assert [(e.guid, e.text_a, e.target, e.idx) for e in examples] == [
        ("train-0", "first source", "first target", 0),
        ("train-1", "second\u2028source", "second target", 1),  # only "\n" separates examples
    ]


def test_line_counts_that_differ_name_both_files(tmp_path):
    _write(tmp_path, "val.source", ["a", "b", "c"])
    _write(tmp_path, "val.target", ["x", "y"])
    with pytest.raises(DataError) as err:
        resolve("customization").processor_class().get_dev_examples(tmp_path)
    msg = str(err.value)
    assert "val.source has 3 lines" in msg and "val.target has 2" in msg


def test_empty_target_names_file_and_line(tmp_path):
    _write(tmp_path, "train.source", ["a", "b", "c"])
    _write(tmp_path, "train.target", ["x", "  ", "z"])
    with pytest.raises(DataError, match=r"train\.target:2: empty target"):
        resolve("customization").processor_class().get_train_examples(tmp_path)


def test_test_split_without_targets_is_decode_only(tmp_path):
    _write(tmp_path, "test.source", ["a", "b"])
    examples = resolve("customization").processor_class().get_test_examples(tmp_path)
    assert [e.target for e in examples] == [None, None]
    with pytest.raises(DataError, match="train split needs targets"):
        _write(tmp_path, "train.source", ["a"])
        resolve("customization").processor_class().get_train_examples(tmp_path)


def test_missing_customization_files(tmp_path):
    with pytest.raises(DataError, match="needs --data-dir holding train.source"):
        resolve("customization").processor_class().get_train_examples(tmp_path)


def test_local_jsonl_in_hub_schema(tmp_path):
    rows = [{"id": "13818513", "dialogue": "Amanda: I baked cookies.", "summary": "Amanda baked cookies."},
            {"id": "13728867", "dialogue": "", "summary": "Nothing was said."}]
    (tmp_path / "validation.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    examples = resolve("samsum").processor_class().get_dev_examples(tmp_path)
    assert [(e.guid, e.text_a, e.target) for e in examples] == [
        ("13818513", "Amanda: I baked cookies.", "Amanda baked cookies."),
        ("13728867", "", "Nothing was said."),  # an empty source is allowed
    ]


def test_local_jsonl_errors_name_the_line(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"document": "d", "summary": "s"}\n{"document": "d"}\n')
    with pytest.raises(DataError, match=r"train\.jsonl:2: field 'summary' missing"):
        resolve("xsum").processor_class().get_train_examples(tmp_path)
    (tmp_path / "train.jsonl").write_text('{"document": "d", "summary": " "}\n')
    with pytest.raises(DataError, match=r"train\.jsonl:1: empty target"):
        resolve("xsum").processor_class().get_train_examples(tmp_path)


def test_hub_failure_says_how_to_pass_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DataError) as err:
        resolve("cnn_dm").processor_class().get_test_examples(None)  # no --data-dir: the hub
    msg = str(err.value)
    assert "cnn_dailymail/3.0.0" in msg and "--data-dir" in msg
    assert "test.jsonl" in msg and "article, highlights" in msg and "test.source and test.target" in msg


def test_demo_data_loads_and_follows_the_rule():
    proc = resolve("customization").processor_class()
    folder = ROOT / "data" / "demo" / "seq2seq"
    train, dev, test = (proc.get_examples(folder, s) for s in ("train", "dev", "test"))
    assert (len(train), len(dev), len(test)) == (300, 50, 50)
    assert not {e.text_a for e in train} & {e.text_a for e in dev + test}
    first = train[0]
    assert first.text_a.startswith("Convert: ") and first.target.split()[0].isdigit()


def test_every_generation_task_offers_at_least_three_prompts():
    from tasks.registry import GenerationTask, registered

    generation = {e.name: e for e in registered().values() if isinstance(e, GenerationTask)}
    assert generation and all(len(e.prompt_classes) >= 3 for e in generation.values())
