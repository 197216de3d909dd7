"""Seq2seq data: the customization format, local jsonl in hub schemas, the hub failure, the demo data."""

import json
from pathlib import Path

import pytest

from tasks.seq2seq.datasets import (
    SEQ2SEQ_PROCESSORS,
    SEQ2SEQ_PROMPTS,
    Seq2SeqDataError,
    get_prompt,
)

ROOT = Path(__file__).resolve().parent.parent


def _write(folder: Path, name: str, lines: list[str]) -> None:
    (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_customization_reads_aligned_lines(tmp_path):
    _write(tmp_path, "train.source", ["  first source ", "second\u2028source"])
    _write(tmp_path, "train.target", ["first target", "second target"])
    examples = SEQ2SEQ_PROCESSORS["customization"]().get_train_examples(tmp_path)
    assert [(e.guid, e.source, e.target, e.idx) for e in examples] == [
        ("train-0", "first source", "first target", 0),
        ("train-1", "second\u2028source", "second target", 1),  # only "\n" separates examples
    ]


def test_line_counts_that_differ_name_both_files(tmp_path):
    _write(tmp_path, "val.source", ["a", "b", "c"])
    _write(tmp_path, "val.target", ["x", "y"])
    with pytest.raises(Seq2SeqDataError) as err:
        SEQ2SEQ_PROCESSORS["customization"]().get_dev_examples(tmp_path)
    msg = str(err.value)
    assert "val.source has 3 lines" in msg and "val.target has 2" in msg


def test_empty_target_names_file_and_line(tmp_path):
    _write(tmp_path, "train.source", ["a", "b", "c"])
    _write(tmp_path, "train.target", ["x", "  ", "z"])
    with pytest.raises(Seq2SeqDataError, match=r"train\.target:2: empty target"):
        SEQ2SEQ_PROCESSORS["customization"]().get_train_examples(tmp_path)


def test_test_split_without_targets_is_decode_only(tmp_path):
    _write(tmp_path, "test.source", ["a", "b"])
    examples = SEQ2SEQ_PROCESSORS["customization"]().get_test_examples(tmp_path)
    assert [e.target for e in examples] == [None, None]
    with pytest.raises(Seq2SeqDataError, match="train split needs targets"):
        _write(tmp_path, "train.source", ["a"])
        SEQ2SEQ_PROCESSORS["customization"]().get_train_examples(tmp_path)


def test_missing_customization_files(tmp_path):
    with pytest.raises(Seq2SeqDataError, match="needs --data-dir holding train.source"):
        SEQ2SEQ_PROCESSORS["customization"]().get_train_examples(tmp_path)


def test_local_jsonl_in_hub_schema(tmp_path):
    rows = [{"id": "13818513", "dialogue": "Amanda: I baked cookies.", "summary": "Amanda baked cookies."},
            {"id": "13728867", "dialogue": "", "summary": "Nothing was said."}]
    (tmp_path / "validation.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    examples = SEQ2SEQ_PROCESSORS["samsum"]().get_dev_examples(tmp_path)
    assert [(e.guid, e.source, e.target) for e in examples] == [
        ("13818513", "Amanda: I baked cookies.", "Amanda baked cookies."),
        ("13728867", "", "Nothing was said."),  # an empty source is allowed
    ]


def test_local_jsonl_errors_name_the_line(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"document": "d", "summary": "s"}\n{"document": "d"}\n')
    with pytest.raises(Seq2SeqDataError, match=r"train\.jsonl:2: field 'summary' missing"):
        SEQ2SEQ_PROCESSORS["xsum"]().get_train_examples(tmp_path)
    (tmp_path / "train.jsonl").write_text('{"document": "d", "summary": " "}\n')
    with pytest.raises(Seq2SeqDataError, match=r"train\.jsonl:1: empty target"):
        SEQ2SEQ_PROCESSORS["xsum"]().get_train_examples(tmp_path)


def test_hub_failure_says_how_to_pass_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(Seq2SeqDataError) as err:
        SEQ2SEQ_PROCESSORS["cnn_dm"]().get_test_examples(tmp_path)
    msg = str(err.value)
    assert "cnn_dailymail/3.0.0" in msg and "--data-dir" in msg
    assert "test.jsonl with the fields 'article' and 'highlights'" in msg and "test.source and test.target" in msg


def test_demo_data_loads_and_follows_the_rule():
    proc = SEQ2SEQ_PROCESSORS["customization"]()
    folder = ROOT / "data" / "demo" / "seq2seq"
    train, dev, test = (proc.get_examples(folder, s) for s in ("train", "dev", "test"))
    assert (len(train), len(dev), len(test)) == (300, 50, 50)
    assert not {e.source for e in train} & {e.source for e in dev + test}
    first = train[0]
    assert first.source.startswith("Convert: ") and first.target.split()[0].isdigit()


def test_every_task_has_three_prompts_that_render(tokenizer):
    for task, prompts in SEQ2SEQ_PROMPTS.items():
        assert len(prompts) >= 3, task
        for pid in range(len(prompts)):
            enc = get_prompt(task, pid).encode(tokenizer, "Some source text.", "A target.", src_len=64, tgt_len=8)
            assert enc.source_ids[0] == tokenizer.cls_id and enc.source_ids.count(tokenizer.mask_id) == 1
    with pytest.raises(KeyError, match="0: upstream_customization"):
        get_prompt("customization", 99)
