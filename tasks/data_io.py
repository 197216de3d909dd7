"""Reading data splits: local jsonl/csv/parquet files, `save_to_disk` folders, Hugging Face hub data sets, and a
seeded stratified dev split.

Every row keeps where it came from (`file:line`, or hub name/split/row), so that a bad value further down
(a missing field, an empty text, an unknown label) is reported where the user can find and fix it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SPLIT_SUFFIXES = (".jsonl", ".csv", ".parquet")
# A folder written by `datasets.Dataset.save_to_disk` (also each split folder of a saved DatasetDict) holds this.
SAVED_MARKER = "state.json"


class DataError(ValueError):
    """Bad input data. The message says where (file:line, hub row, example guid, field) and what to do."""


class MissingSplitError(DataError, FileNotFoundError):
    """A split file the run needs is not there."""


@dataclass(frozen=True)
class Row:
    """One raw record in the data set's own schema, and where it was read from."""

    fields: dict[str, Any]
    where: str


def read_text(path: Path) -> str:
    """A data file's text; bytes that are not UTF-8 are an error naming `path:line` and the byte offset."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(f"{path}:{line}: not UTF-8 (byte {raw[e.start]:#04x} at offset {e.start}); save the file as "
                        "UTF-8, e.g. `iconv -f latin1 -t utf-8`") from None


def read_jsonl(path: str | Path) -> list[Row]:
    """One JSON object per line; blank lines are allowed (they hold no record), anything else malformed is an
    error naming `path:line`."""
    path = Path(path)
    rows = []
    # one record per line; split on "\n" alone so that the line numbers are the file's
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: malformed JSON ({e.msg}, column {e.colno}); each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
        rows.append(Row(record, where))
    return rows


def read_csv(path: str | Path) -> list[Row]:
    """A CSV file whose header row names the data set's fields. Values stay strings (labels are parsed later)."""
    path = Path(path)
    rows = []
    with io.StringIO(read_text(path), newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise DataError(f"{path}: empty CSV file; the first line must name the fields")
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if None in record or None in record.values():
                raise DataError(f"{where}: expected {len(reader.fieldnames)} values ({', '.join(reader.fieldnames)}), got a different count")
            rows.append(Row(dict(record), where))
    return rows


def read_headerless_csv(path: str | Path, columns: Sequence[str]) -> list[Row]:
    """A CSV file without a header row whose rows hold exactly `columns`, in order (the layout of the AG News,
    Yahoo Answers and Yelp csv releases that THUDM/GLM reads). A row with another number of values is an error
    naming `path:line`."""
    path = Path(path)
    rows = []
    with io.StringIO(read_text(path), newline="") as f:
        reader = csv.reader(f)
        for values in reader:
            where = f"{path}:{reader.line_num}"
            if not values:
                continue  # a blank line holds no record
            if len(values) != len(columns):
                raise DataError(f"{where}: expected {len(columns)} comma-separated values ({', '.join(columns)}), got {len(values)}")
            rows.append(Row(dict(zip(columns, values)), where))
    return rows


# File stems accepted per split: ours first, then the Hugging Face and THUDM/GLM names for dev.
SPLIT_STEMS = {"dev": ("dev", "validation", "val")}


def split_file(data_dir: str | Path, split: str) -> Path | None:
    """`DIR/<split>.jsonl`, else `.csv`, else `.parquet`, else a `save_to_disk` folder `DIR/<split>/` (dev also
    as validation* or val*), else None."""
    for stem in SPLIT_STEMS.get(split, (split,)):
        for suffix in SPLIT_SUFFIXES:
            path = Path(data_dir) / f"{stem}{suffix}"
            if path.is_file():
                return path
        folder = Path(data_dir) / stem
        if (folder / SAVED_MARKER).is_file():
            return folder
    return None


def read_parquet(path: str | Path) -> list[Row]:
    """A parquet file (e.g. written by `datasets.Dataset.to_parquet` or pandas); rows are numbered from 1."""
    import pyarrow.parquet as pq  # a dependency of `datasets`

    path = Path(path)
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        raise DataError(f"{path}: not a readable parquet file ({type(e).__name__}: {e})") from None
    return [Row(record, f"{path} row {i}") for i, record in enumerate(table.to_pylist(), start=1)]


def read_saved(folder: str | Path) -> list[Row]:
    """A folder written by `datasets.Dataset.save_to_disk`; rows are numbered from 1."""
    import datasets

    folder = Path(folder)
    try:
        dataset = datasets.load_from_disk(str(folder))
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{folder}: not a data set folder written by save_to_disk ({type(e).__name__}: {e})") from None
    return [Row(dict(record), f"{folder} row {i}") for i, record in enumerate(dataset, start=1)]


def class_label_names(features: Any) -> dict[str, tuple[str, ...]]:
    """Top-level `ClassLabel` columns of a `datasets.Features` and their names, in id order."""
    import datasets

    return {name: tuple(f.names) for name, f in (features or {}).items() if isinstance(f, datasets.ClassLabel)}


def split_label_names(path: Path) -> dict[str, tuple[str, ...]]:
    """The ClassLabel names a split file declares: parquet written by `datasets` and `save_to_disk` folders keep
    the data set's features; jsonl and csv carry none (empty dict)."""
    import datasets

    if path.is_dir():
        info = path / "dataset_info.json"
        if not info.is_file():
            return {}
        features = json.loads(info.read_text(encoding="utf-8")).get("features")
        return class_label_names(datasets.Features.from_dict(features)) if features else {}
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        if not schema.metadata or b"huggingface" not in schema.metadata:
            return {}
        return class_label_names(datasets.Features.from_arrow_schema(schema))
    return {}


def read_split(data_dir: str | Path, split: str) -> list[Row]:
    """The rows of one split from a local data directory; a missing file is an error naming the paths tried."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise MissingSplitError(f"data directory {data_dir} does not exist")
    path = split_file(data_dir, split)
    if path is None:
        tried = " or ".join([*(str(data_dir / f"{stem}{s}") for stem in SPLIT_STEMS.get(split, (split,)) for s in SPLIT_SUFFIXES),
                             *(f"a save_to_disk folder {data_dir / stem}/" for stem in SPLIT_STEMS.get(split, (split,)))])
        raise MissingSplitError(f"split {split!r} not found: expected {tried}")
    if path.is_dir():
        return read_saved(path)
    return {".jsonl": read_jsonl, ".csv": read_csv, ".parquet": read_parquet}[path.suffix](path)


def load_hub_split(name: str, subset: str | None, split: str, fields: Sequence[str], other_formats: str = "",
                   label_names: dict[str, tuple[str, ...]] | None = None) -> list[Row]:
    """One split of a Hugging Face data set by name. Any failure (offline, unknown name, no such split) becomes
    an error that says how to pass the same data as local files, since that is the user's way out every time
    (`other_formats`: further local layouts the task reads, named in the same message)."""
    import datasets  # heavy import, only needed on this path

    try:
        dataset = datasets.load_dataset(name, subset, split=split)
    except Exception as e:  # noqa: BLE001 - every cause gets the same remedy, and the cause is chained
        label = name if subset is None else f"{name}/{subset}"
        raise DataError(
            f"could not load split {split!r} of the Hugging Face data set {label!r} ({type(e).__name__}: {e}). "
            f"Offline or not on the hub? Pass local files instead: --data-dir DIR holding train.jsonl, dev.jsonl "
            f"(optional) and test.jsonl, or the same names with .csv or .parquet (or save_to_disk folders), whose records have the fields "
            f"{', '.join(fields)} as in the hub data set{'; ' + other_formats if other_formats else ''}."
        ) from e
    if label_names is not None:  # the caller wants the data set's own ClassLabel names
        label_names.update(class_label_names(dataset.features))
    return [Row(dict(record), f"{name}[{split}] row {i}") for i, record in enumerate(dataset)]


@dataclass(frozen=True)
class DevSplitRecord:
    """How a dev set was carved out of train; goes into the run's config.json under "data"."""

    source: str
    seed: int
    fraction: float
    sizes: dict[str, int]
    label_counts: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {"dev": "stratified split of train", **asdict(self)}


def stratified_split(labels: Sequence[Hashable], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, dev), both ascending. From each label's items, fraction*n (rounded half up) go to dev,
    at least one when the label has two or more items and never all of them, so both sides see every label
    that can be split. Deterministic in (labels, fraction, seed)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"dev fraction must be in (0, 1), got {fraction}")
    by_label: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    dev: list[int] = []
    for label in sorted(by_label, key=repr):  # a fixed order, so the rng draws do not depend on file order
        members = by_label[label][:]
        rng.shuffle(members)
        take = math.floor(fraction * len(members) + 0.5)
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        dev.extend(members[:take])
    chosen = set(dev)
    return [i for i in range(len(labels)) if i not in chosen], sorted(dev)


def split_record(train_labels: Sequence[Hashable], dev_labels: Sequence[Hashable], fraction: float, seed: int) -> DevSplitRecord:
    def counts(labels: Sequence[Hashable]) -> dict[str, int]:
        return {str(k): v for k, v in sorted(Counter(labels).items(), key=lambda kv: repr(kv[0]))}

    return DevSplitRecord(
        source="train",
        seed=seed,
        fraction=fraction,
        sizes={"train": len(train_labels), "dev": len(dev_labels)},
        label_counts={"train": counts(train_labels), "dev": counts(dev_labels)},
    )
