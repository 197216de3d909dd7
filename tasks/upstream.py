"""What THUDM/GLM's task code does to text, labels and pattern parts, reproduced for the tasks ported from it.

The SuperGLUE tasks (`tasks/superglue`) and upstream's other classification tasks
(`tasks/classification/upstream_text.py`) render exactly what upstream's PVPs render (checked id for id by
`tests/test_upstream_pvp_golden.py` against renders made by upstream's own code). Two facts about upstream make
that possible and live here:

- text goes through upstream's punctuation standardisation (curly quotes to straight quotes, the en dash to "-")
  before it reaches a pattern, for the tasks where upstream applies it;
- upstream's tokenizer encodes a string part that is empty or only whitespace to no tokens at all (our BPE would
  give the whitespace its own tokens), e.g. ReCoRD's text before "@placeholder" when the query starts with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasks.base import PVP, InputExample, Part
from tasks.data_io import DataError, Row

# Each key is one character and so is each value: offsets into the text stay valid (ReCoRD's entity spans).
_PUNCTUATION = {"\u201c": '"', "\u201d": '"', "\u2019": "'", "\u2018": "'", "\u2013": "-"}
_PUNCTUATION_TABLE = str.maketrans(_PUNCTUATION)


def standardize_punctuation(text: str) -> str:
    """Upstream's `punctuation_standardization`: “ ” -> ", ‘ ’ -> ', – -> -."""
    return text.translate(_PUNCTUATION_TABLE)


def text_value(row: Row, key: str, value: Any = None, *, standardize: bool = True) -> str:
    """A text field as upstream reads it: not stripped (whitespace is part of what gets encoded), punctuation
    standardised unless the task's upstream processor leaves it alone. Missing, non-string or empty is an error
    naming the row. `value` overrides the lookup for nested fields (`key` then names it in the message)."""
    if value is None:
        value = row.fields.get(key)
    if value is None:
        raise DataError(f"{row.where}: missing field {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{row.where}: field {key!r} is empty or not text ({value!r}); every example needs text")
    return standardize_punctuation(value) if standardize else value


def label_value(row: Row, labels: Sequence[str], value: Any, key: str = "label") -> str | None:
    """The label name for a record's label value, accepting every form the SuperGLUE files and the hub use:

    - a label name (case-insensitive: BoolQ's "True" is "true"), e.g. RTE's "not_entailment";
    - a bool (the official BoolQ, WiC, WSC files) for a two-label task whose labels are [false, true];
    - an int or digit string: an index into `labels` (the hub's ClassLabel; COPA's and MultiRC's 0/1 are both
      index and name);
    - None or -1 (the hub's test label): unlabelled.

    Anything else is an error naming the row, the value and the labels.
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value == -1):
        return None
    if isinstance(value, bool):
        if len(labels) == 2:
            return labels[int(value)]
    elif isinstance(value, int):
        if 0 <= value < len(labels):
            return labels[value]
    elif isinstance(value, str):
        if value in labels:
            return value
        folded = [name for name in labels if name.lower() == value.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        if value.strip().isdigit() and int(value) < len(labels):
            return labels[int(value)]
        if value.strip() == "-1":
            return None
    listed = ", ".join(f"{i}={name!r}" for i, name in enumerate(labels))
    raise DataError(f"{row.where}: {key} {value!r} is not a label of this task (labels: {listed}; true/false where there are two)")


def label_name(row: Row, labels: Sequence[str], value: Any, key: str = "label") -> str:
    """A label that must be one of `labels` exactly as written (upstream's csv tasks: AG News' "1".."4", which
    are names, not indices)."""
    text = str(value).strip() if value is not None else ""
    if text not in labels:
        raise DataError(f"{row.where}: {key} {value!r} is not a label of this task (labels: {', '.join(labels)})")
    return text


class UpstreamPVP(PVP):
    """A PVP whose parts encode as upstream's tokenizer encodes them: a string part that is empty or only
    whitespace gives no tokens. Everything else is the base PVP (each string part BPE-encoded on its own)."""

    def _encode_part(self, part: Part, example: InputExample) -> tuple[list[int], bool]:
        text = part if isinstance(part, str) else part[0] if isinstance(part, tuple) and part else None
        if isinstance(text, str) and not text.strip():
            return [], isinstance(part, tuple) and bool(part[1])
        return super()._encode_part(part, example)
