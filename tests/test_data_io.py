"""Data loading: local jsonl/csv, hub failures, the stratified dev split, processors on the demo data, and
the errors a user sees for bad input (each names the file and line, or the example and field)."""

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT
from tasks.classification import AgNewsProcessor, DbpediaProcessor
from tasks.data_io import DataError, MissingSplitError, read_csv, read_jsonl, read_split, stratified_split

DEMO = ROOT / "data" / "demo"


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _news_dir(tmp_path: Path, train: list[str], dev: list[str] | None = None) -> Path:
    _write(tmp_path / "train.jsonl", train)
    if dev is not None:
        _write(tmp_path / "dev.jsonl", dev)
    return tmp_path


# ---------------------------------------------------------------------------------------------- readers
def test_read_jsonl_skips_blank_lines_and_keeps_line_numbers(tmp_path):
    path = _write(tmp_path / "train.jsonl", ['{"text": "a", "label": 0}', "", '{"text": "b", "label": 1}'])
    rows = read_jsonl(path)
    assert [r.fields["text"] for r in rows] == ["a", "b"]
    assert rows[1].where == f"{path}:3"


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    path = _write(tmp_path / "train.jsonl", ['{"text": "a", "label": 0}', '{"text": "b", "label": 1', '{"text": "c"}'])
    with pytest.raises(DataError, match=rf"{path}:2: malformed JSON"):
        read_jsonl(path)


def test_jsonl_line_must_be_an_object(tmp_path):
    path = _write(tmp_path / "train.jsonl", ['["text", 0]'])
    with pytest.raises(DataError, match=rf"{path}:1: expected a JSON object, got list"):
        read_jsonl(path)


def test_read_csv(tmp_path):
    path = _write(tmp_path / "train.csv", ["text,label", '"Quoted, with comma",2', "plain,0"])
    rows = read_csv(path)
    assert [r.fields for r in rows] == [{"text": "Quoted, with comma", "label": "2"}, {"text": "plain", "label": "0"}]
    assert rows[1].where == f"{path}:3"


def test_csv_row_with_wrong_value_count(tmp_path):
    path = _write(tmp_path / "train.csv", ["text,label", "a,0", "b,1,extra"])
    with pytest.raises(DataError, match=rf"{path}:3: expected 2 values"):
        read_csv(path)


def test_missing_split_file_names_the_paths(tmp_path):
    with pytest.raises(MissingSplitError, match=rf"split 'test' not found: expected {tmp_path}/test.jsonl or {tmp_path}/test.csv"):
        read_split(tmp_path, "test")
    with pytest.raises(MissingSplitError, match="does not exist"):
        read_split(tmp_path / "nowhere", "train")


def test_processor_reports_a_missing_test_file(tmp_path):
    _news_dir(tmp_path, ['{"text": "a", "label": 0}'])
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path}/test.jsonl"):
        AgNewsProcessor().get_test_examples(tmp_path)


def test_hub_failure_says_how_to_pass_local_files():
    class Unreachable(AgNewsProcessor):
        hub_name = "no-such-owner/no-such-dataset"

    with pytest.raises(DataError, match=r"no-such-owner/no-such-dataset.*--data-dir DIR.*train.jsonl.*fields text, label"):
        Unreachable().get_train_examples(None)


# ---------------------------------------------------------------------------------------------- stratified split
def test_stratified_split_is_seeded_disjoint_and_proportional():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    train, dev = stratified_split(labels, 0.1, seed=3)
    assert sorted(train + dev) == list(range(100))
    assert Counter(labels[i] for i in dev) == {"a": 5, "b": 3, "c": 2}
    assert (train, dev) == stratified_split(labels, 0.1, seed=3)
    assert dev != stratified_split(labels, 0.1, seed=4)[1]


def test_stratified_split_keeps_small_classes_on_both_sides():
    labels = ["a"] * 40 + ["b"] * 2 + ["c"]
    train, dev = stratified_split(labels, 0.1, seed=0)
    assert Counter(labels[i] for i in dev) == {"a": 4, "b": 1}
    assert Counter(labels[i] for i in train) == {"a": 36, "b": 1, "c": 1}
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(labels, 1.0, seed=0)


def test_dev_is_split_from_train_when_absent_and_recorded(tmp_path):
    train = [json.dumps({"text": f"story {i}", "label": i % 4}) for i in range(40)]
    processor = AgNewsProcessor(dev_fraction=0.25, seed=7)
    data_dir = _news_dir(tmp_path, train)
    train_examples, dev_examples = processor.get_train_examples(data_dir), processor.get_dev_examples(data_dir)
    assert (len(train_examples), len(dev_examples)) == (28, 12)
    assert not {e.guid for e in train_examples} & {e.guid for e in dev_examples}
    record = processor.data_record["dev"]
    assert record["dev"] == "stratified split of train"
    assert (record["seed"], record["fraction"], record["sizes"]) == (7, 0.25, {"train": 28, "dev": 12})
    assert record["label_counts"]["dev"] == {"Business": 3, "Sci/Tech": 3, "Sports": 3, "World": 3}
    assert processor.data_record["train"] == {"from": str(data_dir / "train.jsonl"), "size": 28}
    again = AgNewsProcessor(dev_fraction=0.25, seed=7)
    assert [e.guid for e in again.get_dev_examples(data_dir)] == [e.guid for e in dev_examples]


# ---------------------------------------------------------------------------------------------- processors
def test_ag_news_demo_data():
    processor = AgNewsProcessor()
    train, dev, test = (processor.get_train_examples(DEMO / "ag_news"), processor.get_dev_examples(DEMO / "ag_news"),
                        processor.get_test_examples(DEMO / "ag_news"))  # fmt: skip
    assert (len(train), len(dev), len(test)) == (400, 100, 100)
    assert Counter(e.label for e in train) == {label: 100 for label in processor.get_labels()}
    assert Counter(e.label for e in dev) == {label: 25 for label in processor.get_labels()}
    assert train[0].guid == "train-0" and train[0].idx == 0 and train[0].text_b is None
    assert processor.data_record["dev"] == {"from": str(DEMO / "ag_news" / "dev.jsonl"), "size": 100}


def test_dbpedia_demo_data():
    processor = DbpediaProcessor()
    train = processor.get_train_examples(DEMO / "dbpedia_14")
    assert len(train) == 280 and len(processor.get_labels()) == 14
    assert Counter(e.label for e in train) == {label: 20 for label in processor.get_labels()}
    first = json.loads((DEMO / "dbpedia_14" / "train.jsonl").read_text().splitlines()[0])
    assert (train[0].text_a, train[0].text_b) == (first["title"], first["content"])
    assert len(processor.get_test_examples(DEMO / "dbpedia_14")) == 70


def test_label_outside_the_labels_names_file_line_and_label(tmp_path):
    data_dir = _news_dir(tmp_path, ['{"text": "fine", "label": 3}', '{"text": "bad", "label": 4}'])
    with pytest.raises(DataError, match=rf"{data_dir}/train.jsonl:2: label 4 is not a label of ag_news \(0=World, 1=Sports"):
        AgNewsProcessor().get_train_examples(data_dir)


def test_csv_labels_as_digits_or_names(tmp_path):
    _write(tmp_path / "train.csv", ["text,label", "a story,1", "another,Sci/Tech", "no label yet,-1", "\" padded \",0"])
    _write(tmp_path / "dev.csv", ["text,label", "dev story,2"])
    processor = AgNewsProcessor()
    train = processor.get_train_examples(tmp_path)
    assert [e.label for e in train] == ["Sports", "Sci/Tech", None, "World"]
    assert train[3].text_a == "padded"  # surrounding whitespace is not part of the text
    assert [e.text_a for e in processor.get_dev_examples(tmp_path)] == ["dev story"]


def test_too_few_records_to_split_off_dev(tmp_path):
    data_dir = _news_dir(tmp_path, ['{"text": "one", "label": 0}', '{"text": "two", "label": 1}'])
    with pytest.raises(DataError, match="too few"):
        AgNewsProcessor().get_dev_examples(data_dir)


def test_empty_text_names_file_line_and_field(tmp_path):
    data_dir = _news_dir(tmp_path, ['{"text": "ok", "label": 0}', '{"text": "   ", "label": 1}'])
    with pytest.raises(DataError, match=rf"{data_dir}/train.jsonl:2: field 'text' is empty"):
        AgNewsProcessor().get_train_examples(data_dir)


def test_missing_field_names_the_schema(tmp_path):
    data_dir = _news_dir(tmp_path, ['{"text": "x", "label": 0}'])
    with pytest.raises(DataError, match=r"train.jsonl:1: missing field 'title'; dbpedia_14 records have the fields label, title, content"):
        DbpediaProcessor().get_train_examples(data_dir)


def test_demo_data_are_what_the_script_writes(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_demo_data
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(sys, "argv", ["make_demo_data.py", "--out", str(tmp_path)])
    make_demo_data.main()
    for path in sorted(p for folder in ("ag_news", "dbpedia_14") for p in (DEMO / folder).rglob("*.jsonl")):  # this script's files
        assert (tmp_path / path.relative_to(DEMO)).read_bytes() == path.read_bytes(), path
    assert len(list(tmp_path.rglob("*.jsonl"))) == 6


def test_dev_split_accepts_hub_and_upstream_names(tmp_path):
    from tasks.data_io import read_split, split_file

    for stem in ("validation", "val"):
        d = tmp_path / stem
        d.mkdir()
        (d / f"{stem}.jsonl").write_text('{"text": "a b", "label": 0}\n')
        assert split_file(d, "dev") == d / f"{stem}.jsonl"
        assert read_split(d, "dev")[0].fields["text"] == "a b"
    assert split_file(tmp_path / "val", "test") is None
