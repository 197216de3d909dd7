"""Upstream's agnews / yahoo / yelp tasks: its csv layout, labels as names, clear errors. (Renders and examples
against upstream's own code: test_upstream_pvp_golden.py.)"""

import pytest

from tasks.base import InputExample
from tasks.classification.upstream_text import (
    PROCESSORS,
    PVPS,
    AgnewsProcessor,
    YahooProcessor,
)
from tasks.data_io import DataError, MissingSplitError
from tasks.layout import encode_single_token


def test_labels_are_names_not_indices(tmp_path):
    (tmp_path / "train.csv").write_text('"10","Who won?","","Greece"\n"1","Why?","Just because","No idea"\n')
    train = YahooProcessor().get_train_examples(tmp_path)
    assert [e.label for e in train] == ["10", "1"]  # "1" is the first class (Society), never index 1
    assert train[0].text_a == "Who won? " and train[0].text_b == "Greece"


def test_dev_is_test_csv_and_there_is_no_test_split(tmp_path):
    (tmp_path / "train.csv").write_text('"1","A","b"\n')
    (tmp_path / "test.csv").write_text('"2","C","d"\n"3","E","f"\n')
    processor = AgnewsProcessor()
    assert [e.label for e in processor.get_dev_examples(tmp_path)] == ["2", "3"]
    assert processor.data_record["dev"] == {"from": str(tmp_path / "test.csv"), "size": 2}
    with pytest.raises(MissingSplitError, match="test.csv is the dev split"):
        processor.get_test_examples(tmp_path)


@pytest.mark.parametrize("content, message", [
    ('"1","A","b"\n"5","C","d"\n', r"train.csv:2: label '5' is not a label of this task \(labels: 1, 2, 3, 4\)"),
    ('"1","A","b"\n"2","C"\n', r"train.csv:2: expected 3 comma-separated values \(label, title, description\), got 2"),
    ('"1","","b"\n', r"train.csv:1: the title is empty"),
])  # fmt: skip
def test_bad_rows_name_file_and_line(tmp_path, content, message):
    (tmp_path / "train.csv").write_text(content)
    with pytest.raises(DataError, match=message):
        AgnewsProcessor().get_train_examples(tmp_path)


def test_missing_files_and_no_hub(tmp_path):
    with pytest.raises(MissingSplitError, match=r"agnews train split not found: expected .*train.csv \(headerless csv: label, title, description\)"):
        AgnewsProcessor().get_train_examples(tmp_path)
    with pytest.raises(DataError, match="pass --data-dir with train.csv and test.csv"):
        AgnewsProcessor().get_train_examples()


def test_every_pattern_has_single_token_verbalizers(tokenizer):
    example = InputExample("train-0", "Great food", "Friendly staff.", label="2")
    for task in PROCESSORS:
        processor = PROCESSORS[task]()
        for pattern_id in PVPS[task].available_patterns:
            pvp = PVPS[task](tokenizer, processor.get_labels(), 64, pattern_id=pattern_id)
            assert not pvp.is_multi_token and len(pvp.verbalizer_ids) == len(processor.get_labels())
            assert encode_single_token(pvp, example).label == 1
