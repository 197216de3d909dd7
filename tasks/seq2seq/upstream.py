"""THUDM/GLM's summarisation data as its `tasks/seq2seq/dataset.py` reads it, so its data directories give the
same examples here:

- `gigaword`, `cnn_dm_original` (and upstream's tokenised `cnn_dm`, not ported): `{train,val,test}.source/.target`,
  each line stripped, then punctuation standardised (“ ” -> ", ‘ ’ -> ', – -> -); Gigaword's lines also go
  through `gigaword_detokenize` (its PTB escapes back to brackets, `UNK`/`<unk>` to `[UNK]`), without which ROUGE
  against upstream's references is not comparable;
- `xsum`: `bbc-summary-data/`, i.e. `XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json` (ids per split: train,
  validation, test) beside one `<id>.summary` file per article, whose `[SN]RESTBODY[SN]` section is the source
  and `[SN]FIRST-SENTENCE[SN]` the target (each section's non-empty lines stripped and joined by one space; no
  punctuation standardisation, as upstream).
"""

from __future__ import annotations

import json
from pathlib import Path

from tasks.data_io import DataError, Row
from tasks.upstream import standardize_punctuation

# Gigaword's escapes, as upstream undoes them (in this order, after the unknown-word markers).
_GIGAWORD_ESCAPES = (("-lrb-", "("), ("-rrb-", ")"), ("-lsb-", "["), ("-rsb-", "]"), ("-lcb-", "{"), ("-rcb-", "}"),
                     ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))  # fmt: skip


def gigaword_detokenize(text: str) -> str:
    """Upstream's `gigaword_detokenize`: `UNK` and `<unk>` become `[UNK]`, the PTB/HTML escapes their characters."""
    text = text.replace("UNK", "[UNK]").replace("<unk>", "[UNK]")
    for escaped, char in _GIGAWORD_ESCAPES:
        text = text.replace(escaped, char)
    return text


def upstream_summary_line(text: str, *, gigaword: bool) -> str:
    """A `.source`/`.target` line as upstream's SummmaryProcessor makes it (the caller has stripped it)."""
    text = standardize_punctuation(text)
    return gigaword_detokenize(text) if gigaword else text


XSUM_SPLIT_FILE = "XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json"
XSUM_SPLIT_KEYS = {"train": "train", "dev": "validation", "test": "test"}


def is_xsum_layout(data_dir: str | Path | None) -> bool:
    return data_dir is not None and (Path(data_dir) / XSUM_SPLIT_FILE).is_file()


def _xsum_sections(path: Path) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("[SN]"):
            key = line[4:-4]
            sections[key] = []
        elif line and key is not None:
            sections[key].append(line)
    return {k: " ".join(v) for k, v in sections.items()}


def read_xsum_split(data_dir: str | Path, split: str) -> list[Row]:
    """Rows {"document", "summary", "id"} of one split of upstream's bbc-summary-data layout."""
    data_dir = Path(data_dir)
    split_path = data_dir / XSUM_SPLIT_FILE
    try:
        ids = json.loads(split_path.read_text(encoding="utf-8"))[XSUM_SPLIT_KEYS[split]]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise DataError(f"{split_path}: expected a JSON object with lists of ids under 'train', 'validation', 'test' "
                        f"({type(err).__name__}: {err})") from None
    rows = []
    for article_id in ids:
        path = data_dir / f"{article_id}.summary"
        if not path.is_file():
            raise DataError(f"{path} not found: {split_path} lists id {article_id!r} in its {XSUM_SPLIT_KEYS[split]!r} split")
        sections = _xsum_sections(path)
        for needed in ("RESTBODY", "FIRST-SENTENCE"):
            if needed not in sections:
                raise DataError(f"{path}: no [SN]{needed}[SN] section (found: {', '.join(sorted(sections)) or 'none'})")
        rows.append(Row({"document": sections["RESTBODY"], "summary": sections["FIRST-SENTENCE"], "id": str(article_id)}, str(path)))
    return rows
