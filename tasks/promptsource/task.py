"""promptsource in the project's task API: the PVP, the processor (records -> InputExample) and the task."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from model.tokenizer import GLMTokenizer
from tasks.base import (
    PVP,
    DataProcessor,
    InputExample,
    Part,
)
from tasks.data_io import DataError, MissingSplitError, Row, load_hub_split, read_split, split_file, split_label_names

from .catalogue import PromptInfo, TaskSpec, _label, list_prompts, task_spec
from .loading import PREFIX, EmptyRenderError, parse_task_spec
from .prompts import PromptsourceCloze, PromptsourceSeq2Seq, make_prompt
from .schema import RecordReader, SchemaOptions, check_choice_range, field_use

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- task API
class PromptsourcePVP(PVP):
    """A promptsource cloze prompt in the project's PVP interface (one pattern: the chosen template).

    Examples carry their record in `meta["row"]` (see `PromptsourceProcessor`). Labels are "0", "1", ...;
    with per-example candidates there is no fixed label list, so `label_index` reads the index from the label
    and checks it against the example's own candidates.
    """

    def __init__(self, prompt: PromptsourceCloze, label_list: Sequence[str], max_seq_length: int):
        self.prompt = prompt
        self.available_patterns = {prompt.info.id: f"promptsource: {prompt.info.name}"}
        super().__init__(prompt.tokenizer, label_list, max_seq_length, pattern_id=prompt.info.id)

    @property
    def is_multi_token(self) -> bool:
        return self.prompt.is_multi_token

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        return self.prompt.parts(_row(example), example.guid, _where(example))

    def verbalize(self, label: str) -> list[str]:
        words = self.prompt.label_words
        if words is None:
            raise TypeError(f"template {self.prompt.info.name!r} has per-example answer choices; use get_answers(example)")
        return [" " + words[int(label)]]

    def get_answers(self, example: InputExample) -> list[str]:
        if self.prompt.per_example:
            return self.prompt.candidates(_row(example), example.guid, _where(example))
        return super().get_answers(example)

    def label_index(self, example: InputExample) -> int:
        if not self.prompt.per_example:
            return super().label_index(example)
        if example.label is None:
            return -1
        index = int(example.label)
        if not 0 <= index < example.num_choices:
            raise DataError(f"example {example.guid!r}: label {example.label!r} is not one of its {example.num_choices} candidates")
        return index


def _row(example: InputExample) -> Mapping[str, Any]:
    if "row" not in example.meta:
        raise DataError(f"example {example.guid!r} has no meta['row']; promptsource prompts read the data set record from there")
    return example.meta["row"]


def _where(example: InputExample) -> str:
    return f"{example.meta.get('where', '')} (example {example.guid})".strip()


class PromptsourceProcessor(DataProcessor):
    """Examples of a promptsource data set for one template, from `--data-dir` or the hub.

    Each example keeps its record (`meta["row"]`, the template reads it), the rendered input as `text_a`
    (for logs, predictions and the linear-head baseline), and, for generation templates, the rendered answer
    as `target`. Classification labels are "0", "1", ...: the index of the rendered answer among the
    example's answer choices. Rendering errors (empty input, a field the data lacks, an answer that is no
    choice) surface when the split is read, naming file:line.

    Hub splits are looked up when first needed, so a data set without a validation split (AG News) gets a
    stratified dev part of train, as for the hand-written tasks.
    """

    def __init__(self, dataset: str, subset: str | None, prompt: PromptsourceCloze | PromptsourceSeq2Seq,
                 dev_fraction: float = 0.1, seed: int = 42, schema: SchemaOptions = SchemaOptions(),
                 skip_uncovered: bool = False):
        super().__init__(dev_fraction=dev_fraction, seed=seed)
        self.hub_name = dataset
        self.hub_subset = subset
        self.prompt = prompt
        self.fields = tuple(sorted(prompt.renderer.fields_read))
        self.reader = RecordReader(dataset, subset, prompt.info.name, field_use(prompt.renderer.template),
                                   prompt.renderer.fixed_choices, schema)
        self.skip_uncovered = skip_uncovered
        self._hub_splits: dict[str, str | None] | None = None
        self._max_choices = 0

    @property
    def hub_splits(self) -> dict[str, str | None]:  # type: ignore[override]
        if self._hub_splits is None:
            self._hub_splits = _hub_split_names(self.hub_name, self.hub_subset, self.fields)
        return self._hub_splits

    def get_labels(self) -> list[str]:
        """"0".."k-1" over the template's fixed choices; with per-example choices, over the most candidates any
        example read so far has (the PVP checks each example against its own candidates)."""
        if isinstance(self.prompt, PromptsourceSeq2Seq):
            return []
        words = self.prompt.label_words
        return [str(i) for i in range(len(words) if words is not None else self._max_choices)]

    def raw_rows(self, data_dir: str | Path | None, split: str) -> RawSplit | None:
        """The split's rows as stored, with the ClassLabel names its source declares; None: no such dev split."""
        names: dict[str, tuple[str, ...]] = {}
        if data_dir is not None:
            path = split_file(data_dir, split)
            if split == "dev" and Path(data_dir).is_dir() and path is None:
                return None
            rows = read_split(data_dir, split)
            assert path is not None
            return RawSplit(rows, split_label_names(path), path.suffix == ".csv")
        hub_split = self.hub_splits.get(split)
        if hub_split is None:
            return None
        rows = load_hub_split(self.hub_name, self.hub_subset, hub_split, self.fields, label_names=names)
        return RawSplit(rows, names, False)

    def _rows(self, data_dir: str | Path | None, split: str) -> list[Row] | None:
        """The split's rows in the template's schema (renamed, label-typed, checked; see `schema`)."""
        raw = self.raw_rows(data_dir, split)
        if raw is None:
            return None
        rows = self.reader.read(raw.rows, raw.label_names, raw.strings_only)
        if self.reader.applied:
            self.data_record["schema"] = self.reader.record()
        return rows

    def _examples(self, rows: list[Row], split: str) -> list[InputExample]:
        """Every row as an example; a row the template does not cover is an error, or with --skip-uncovered
        left out, counted, logged and recorded under data.skipped_uncovered in config.json."""
        examples, skipped = [], []
        for i, row in enumerate(rows):
            try:
                examples.append(self.create_example(row, f"{split}-{i}", i))
            except EmptyRenderError:
                if not self.skip_uncovered:
                    raise DataError(self._uncovered_message(row)) from None
                skipped.append(row.where)
        if skipped:
            log.warning("%s: template %r does not cover %d of %d %s rows; skipped (--skip-uncovered), first: %s",
                        self.hub_name, self.prompt.info.name, len(skipped), len(rows), split, skipped[0])
            self.data_record.setdefault("skipped_uncovered", {})[split] = {"skipped": len(skipped), "of": len(rows),
                                                                           "first": skipped[:5]}
            if not examples:
                raise DataError(f"template {self.prompt.info.name!r} covers none of the {len(rows)} {split} rows "
                                f"(first: {skipped[0]}); choose another template with --prompt")
        return examples

    def _uncovered_message(self, row: Row) -> str:
        others = [p.name for p in list_prompts(self.hub_name, self.hub_subset)
                  if p.original_task and p.name != self.prompt.info.name]
        alternative = (f", or choose another template with --prompt ({len(others)} other original-task templates: "
                       f"{', '.join(repr(n) for n in others[:6])}{', ...' if len(others) > 6 else ''})") if others else (
                       "; this data set has no other original-task template")
        return (f"{row.where}: template {self.prompt.info.name!r} does not cover this row (it renders no input: the "
                "template applies only under a condition on the record). Pass --skip-uncovered to leave such rows out "
                f"(they are counted, logged and recorded in config.json){alternative}")

    def create_example(self, row: Row, guid: str, idx: int) -> InputExample:
        where = f"{row.where} (example {guid})"
        rendered = self.prompt.renderer.render(row.fields, guid, where, split=False)
        meta: dict[str, Any] = {"row": row.fields, "where": row.where}
        if isinstance(self.prompt, PromptsourceSeq2Seq):
            return InputExample(guid=guid, text_a=rendered.input_text, target=rendered.target or None, meta=meta, idx=idx,
                                kind="generation")
        check_choice_range(self.reader, row)
        gold = self.prompt.gold_of(rendered, row.fields, where)
        if gold is None:
            raise DataError(f"{where}: template {self.prompt.info.name!r} renders no answer for this row, so it has no "
                            "gold label to train on or score; every row needs one (remove unlabelled rows; for an "
                            "unlabelled test split, carve one from train with --test-fraction)")
        choices = rendered.choices or ()
        self._max_choices = max(self._max_choices, len(choices))
        return InputExample(guid=guid, text_a=rendered.input_text, label=None if gold is None else str(gold), meta=meta,
                            idx=idx, num_choices=len(choices))


@dataclass(frozen=True)
class RawSplit:
    rows: list[Row]
    label_names: dict[str, tuple[str, ...]]  # ClassLabel names the source declares, by its own field names
    strings_only: bool  # CSV: every value is a string


def _hub_split_names(dataset: str, subset: str | None, fields: Sequence[str]) -> dict[str, str | None]:
    """Our train/dev/test -> the hub data set's split names (dev: validation, valid or dev; None if absent)."""
    import datasets  # heavy, and only the hub path needs it

    try:
        names = datasets.get_dataset_split_names(dataset, subset)
    except Exception as e:  # noqa: BLE001 - offline, unknown or gated: the remedy is the same
        raise DataError(
            f"could not reach the Hugging Face data set {_label(dataset, subset)!r} ({type(e).__name__}: {e}). Offline or "
            f"not on the hub? Pass local files instead: --data-dir DIR holding train.jsonl, dev.jsonl (optional) and "
            f"test.jsonl, or the same names with .csv or .parquet (or save_to_disk folders), whose records have the fields {', '.join(fields)} as in the hub "
            "data set."
        ) from e
    dev = next((n for n in ("validation", "valid", "dev") if n in names), None)
    return {"train": "train", "dev": dev, "test": "test" if "test" in names else None}


@dataclass
class PromptsourceTask:
    """What `--task promptsource:<dataset>[/<subset>]` gives the driver.

    `kind` says which half applies: "classification" -> `pvp` (a `tasks.base.PVP`, single- or multi-token,
    for the layouts in `tasks.layout`) and a processor of `InputExample`s; "generation" -> `seq2seq`
    (`encode_example(tokenizer, example, src_len=, tgt_len=)` gives `tasks.seq2seq.layout.EncodedSeq2Seq`) and
    the same processor, whose examples are generation `InputExample`s (target = the rendered answer). `processor.get_train_examples(data_dir)` etc. read the splits.
    """

    name: str  # "promptsource:<dataset>[/<subset>]"
    spec: TaskSpec
    info: PromptInfo
    processor: PromptsourceProcessor
    pvp: PromptsourcePVP | None
    seq2seq: PromptsourceSeq2Seq | None
    data_dir: str | None

    @property
    def kind(self) -> Literal["classification", "generation"]:
        return self.spec.kind

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.spec.metrics

    def get_train_examples(self) -> list[InputExample]:
        return self.processor.get_train_examples(self.data_dir)

    def get_dev_examples(self) -> list[InputExample]:
        return self.processor.get_dev_examples(self.data_dir)

    def get_test_examples(self) -> list[InputExample]:
        return self.processor.get_test_examples(self.data_dir)


def make_promptsource_task(spec: str, tokenizer: GLMTokenizer, max_seq_length: int, prompt: str | int,
                           allow_non_original: bool = False, data_dir: str | None = None, *,
                           long_fields: Sequence[str] | None = None, dev_fraction: float = 0.1, seed: int = 42,
                           schema: SchemaOptions = SchemaOptions(), skip_uncovered: bool = False,
                           test_fraction: float = 0.0) -> PromptsourceTask:
    """Everything a run needs for `--task promptsource:<dataset>[/<subset>] --prompt <name or id>`.

    With per-example answer choices the PVP's label list ("0".."k-1", k the most candidates of any example) is
    only known after reading the data; every split is read here, so a bad template/data pairing also fails
    here, before any model is loaded.
    """
    dataset, subset = parse_task_spec(spec)
    chosen = make_prompt(dataset, subset, prompt, tokenizer, allow_non_original, long_fields)
    processor = PromptsourceProcessor(dataset, subset, chosen, dev_fraction=dev_fraction, seed=seed, schema=schema,
                                      skip_uncovered=skip_uncovered)
    processor.test_fraction = test_fraction
    pvp = None
    if isinstance(chosen, PromptsourceCloze):
        if chosen.per_example:
            processor.get_train_examples(data_dir)  # dev too: the base reads them together
            try:
                processor.get_test_examples(data_dir)
            except MissingSplitError:  # a data set without a test split; the driver decides what that means
                pass
        pvp = PromptsourcePVP(chosen, processor.get_labels(), max_seq_length)
    return PromptsourceTask(
        name=PREFIX + _label(dataset, subset),
        spec=task_spec(dataset, subset, chosen.info.id, allow_non_original),
        info=chosen.info,
        processor=processor,
        pvp=pvp,
        seq2seq=chosen if isinstance(chosen, PromptsourceSeq2Seq) else None,
        data_dir=data_dir,
    )
