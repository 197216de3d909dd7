# coding=utf-8
# Data processor for THUDM/GLM (examples/dbpedia_14). Python 3.8; written by the GLM prompt fine-tuning toolkit's
# scripts/make_upstream_pr.py from its task `dbpedia_14`.

import json
import os

from tasks.data_utils import InputExample
from tasks.superglue.dataset import DataProcessor

LABELS = ['Company', 'EducationalInstitution', 'Artist', 'Athlete', 'OfficeHolder', 'MeanOfTransportation', 'Building', 'NaturalPlace', 'Village', 'Animal', 'Plant', 'Album', 'Film', 'WrittenWork']


class Dbpedia14Processor(DataProcessor):
    """dbpedia_14 in DATA_PATH: train.jsonl, dev.jsonl, test.jsonl (get_data.py writes them from the hub's `dbpedia_14`).

    One JSON object per line with the hub's fields label, title, content; "label" is the class index (0..13)
    or the class name. text_a = title, text_b = content.
    """

    def get_train_examples(self, data_dir):
        return self._create_examples(os.path.join(data_dir, "train.jsonl"), "train")

    def get_dev_examples(self, data_dir, for_train=False):
        return self._create_examples(os.path.join(data_dir, "dev.jsonl"), "dev")

    def get_test_examples(self, data_dir):
        return self._create_examples(os.path.join(data_dir, "test.jsonl"), "test")

    def get_labels(self):
        return list(LABELS)

    @staticmethod
    def _label(value, where):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if value is None or value == -1:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(LABELS):
            return LABELS[value]
        if value in LABELS:
            return value
        raise ValueError("{}: label {!r} is not one of 0..{} or {}".format(where, value, len(LABELS) - 1, LABELS))

    def _create_examples(self, path, set_type):
        if not os.path.isfile(path):
            raise FileNotFoundError("{} not found: run examples/dbpedia_14/get_data.py --out DATA_PATH".format(path))
        examples = []
        with open(path, encoding="utf-8") as f:
            for line_number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = "{}:{}".format(path, line_number)
                record = json.loads(line)
                text_a, text_b = record['title'].strip(), record['content'].strip()
                if not text_a or (text_b is not None and not text_b):
                    raise ValueError("{}: empty text; every example needs text".format(where))
                idx = len(examples)
                examples.append(InputExample(guid="{}-{}".format(set_type, idx), text_a=text_a, text_b=text_b,
                                             label=self._label(record.get("label"), where), idx=idx))
        return examples
