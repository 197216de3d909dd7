"""The task API a task author writes against: examples, data processors and pattern-verbalizer pairs (PVPs).

Names follow THUDM/GLM's `tasks/superglue` (InputExample, DataProcessor.get_*_examples, PVP.get_parts /
verbalize / is_multi_token / get_answers / shortenable), so a PVP written here ports there with few changes.
What differs on purpose: PVPs render token ids only; the GLM layouts are built in `tasks.layout`, and there
is no global argument namespace (a PVP gets the tokenizer, labels, length and pattern id, nothing else).
"""

from __future__ import annotations

import logging

import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from model.tokenizer import GLMTokenizer
from tasks.data_io import DataError, MissingSplitError, Row, load_hub_split, read_split, split_file, split_record, stratified_split

# A pattern part: a string (BPE-encoded on its own, never cut), a (string, shortenable) pair, literal ids, or
# None: a continuous-prompt slot (upstream's convention), empty unless continuous prompts are on.
Part = str | tuple[str, bool] | list[int] | None



log = logging.getLogger(__name__)

class PromptTooLongError(DataError):
    """The fixed parts of a prompt leave no room for the example's text within the maximum length."""


@dataclass
class InputExample:
    """One example of any task kind.

    Classification: `label` is a label name from the processor's `get_labels()` (None when unlabeled). Generation
    (`kind="generation"`): `text_a` is the source and `target` the text to generate (None when unlabeled; the
    source may be empty, since the prompt's own words still form an input). `meta` carries task-specific fields
    (e.g. candidates, the raw record); `idx` is the example's index in its split.
    """

    guid: str
    text_a: str
    text_b: str | None = None
    label: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    idx: int = -1
    num_choices: int = 1
    target: str | None = None
    kind: Literal["classification", "generation"] = "classification"

    def __post_init__(self) -> None:
        # An empty text would be rendered as a prompt with nothing to classify; that is always a data bug.
        for name in ("text_a", "text_b"):
            value = getattr(self, name)
            if name == "text_b" and value is None:
                continue
            if not isinstance(value, str):
                raise DataError(f"example {self.guid!r}: field {name} is not a string ({value!r})")
            if not value.strip() and not (name == "text_a" and self.kind == "generation"):
                raise DataError(f"example {self.guid!r}: field {name} is empty ({value!r}); every example needs text")
        if self.target is not None and not self.target.strip():
            raise DataError(f"example {self.guid!r}: empty target; an empty reference scores 0 and teaches nothing")


class DataProcessor:
    """Turns one data set's splits into `InputExample`s.

    A subclass names the data set on the hub (`hub_name`, `hub_subset`, `hub_splits`: our split -> hub split,
    None when the hub has none), its record fields (`fields`), its labels (`get_labels`) and how one record
    becomes an example (`create_example`). With `data_dir` the splits are read from `DIR/{train,dev,test}.jsonl`
    (or `.csv`) in the hub schema, otherwise from the hub. When there is no dev split, a seeded stratified
    `dev_fraction` of train becomes dev, and `data_record` says so for the run's config.json.
    """

    hub_name: ClassVar[str]
    hub_subset: ClassVar[str | None] = None
    hub_splits: ClassVar[dict[str, str | None]] = {"train": "train", "dev": "validation", "test": "test"}
    fields: ClassVar[tuple[str, ...]]

    # > 0: the data set has no test split, and this stratified share of train (drawn with `seed` before dev is
    # carved) becomes test. Set by the registry from --test-fraction.
    test_fraction: float = 0.0

    def __init__(self, dev_fraction: float = 0.1, seed: int = 42):
        self.dev_fraction = dev_fraction
        self.seed = seed
        self.data_record: dict[str, Any] = {}
        self._train_dev: dict[str, tuple[list[InputExample], list[InputExample]]] = {}
        self._carved_test: dict[str, list[InputExample]] = {}

    # ------------------------------------------------------------------ what a subclass provides
    def get_labels(self) -> list[str]:
        raise NotImplementedError

    def create_example(self, row: Row, guid: str, idx: int) -> InputExample:
        raise NotImplementedError

    # ------------------------------------------------------------------ upstream-compatible API
    def get_train_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        return self._train_and_dev(data_dir)[0]

    def get_dev_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        if str(data_dir) not in self._train_dev:
            dev_rows = self._rows(data_dir, "dev")
            if dev_rows is not None:  # a dev split of its own: train need not be read (nor be valid) for it
                dev = self._examples(dev_rows, "dev")
                self.data_record["dev"] = {"from": self._origin(data_dir, "dev"), "size": len(dev)}
                return dev
        return self._train_and_dev(data_dir)[1]

    def get_test_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        if self.test_fraction > 0:
            self._train_and_dev(data_dir)
            return self._carved_test[str(data_dir)]
        rows = self._rows(data_dir, "test")
        if rows is None:
            raise MissingSplitError(f"the hub data set {self.hub_name!r} has no test split; pass --data-dir with test.jsonl")
        examples = self._examples(rows, "test")
        self.data_record["test"] = {"from": self._origin(data_dir, "test"), "size": len(examples)}
        return examples

    def get_examples(self, data_dir: str | Path | None, split: str) -> list[InputExample]:
        readers = {"train": self.get_train_examples, "dev": self.get_dev_examples, "test": self.get_test_examples}
        if split not in readers:
            raise ValueError(f"split must be one of {sorted(readers)}, got {split!r}")
        return readers[split](data_dir)

    # ------------------------------------------------------------------ field helpers for create_example
    def text_field(self, row: Row, name: str) -> str:
        """The stripped text of field `name`; missing or empty is an error naming the row."""
        if name not in row.fields or row.fields[name] is None:
            raise DataError(f"{row.where}: missing field {name!r}; {self.hub_name} records have the fields {', '.join(self.fields)}")
        value = row.fields[name]
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{row.where}: field {name!r} is empty ({value!r}); every example needs text")
        return value.strip()

    def label_field(self, row: Row, name: str = "label") -> str | None:
        """The label name for the record's label value: an index into `get_labels()` (int or digit string, the
        hub's ClassLabel convention) or the label name itself. Missing, None or -1 (the hub's "no label") means
        unlabeled; anything else outside the labels is an error naming the row and the labels."""
        labels = self.get_labels()
        value = row.fields.get(name)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if value is None or value == -1:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
            return labels[value]
        if isinstance(value, str) and value in labels:
            return value
        choices = ", ".join(f"{i}={label}" for i, label in enumerate(labels))
        raise DataError(f"{row.where}: label {value!r} is not a label of {self.hub_name} ({choices})")

    # ------------------------------------------------------------------ internals
    def _origin(self, data_dir: str | Path | None, split: str) -> str:
        if data_dir is not None:
            return str(split_file(data_dir, split))
        return f"hub {self.hub_name}" + (f"/{self.hub_subset}" if self.hub_subset else "") + f" split {self.hub_splits[split]}"

    def _rows(self, data_dir: str | Path | None, split: str) -> list[Row] | None:
        """Rows of `split`, or None when the data set has no such split (only dev may be absent)."""
        if data_dir is not None:
            if split == "dev" and Path(data_dir).is_dir() and split_file(data_dir, "dev") is None:
                return None
            return read_split(data_dir, split)
        hub_split = self.hub_splits.get(split)
        if hub_split is None:
            return None
        return load_hub_split(self.hub_name, self.hub_subset, hub_split, self.fields, self.hub_remedy(split))

    def _has_split(self, data_dir: str | Path | None, split: str) -> bool:
        if data_dir is not None:
            return split_file(data_dir, split) is not None
        return self.hub_splits.get(split) is not None

    def _carve_test(self, data_dir: str | Path | None, train: list[InputExample]) -> list[InputExample]:
        """Hold out `test_fraction` of train (stratified by label, seeded) as the test split; returns the rest."""
        replaced = self._origin(data_dir, "test") if self._has_split(data_dir, "test") else None
        if replaced is not None:  # e.g. an unlabelled hub test split: not read, and said so
            log.warning("--test-fraction: the test split is carved from train; %s is not used", replaced)
        keep, held_out = stratified_split([e.label for e in train], self.test_fraction, self.seed)
        if not held_out:
            raise DataError(f"the {len(train)} train records are too few to hold out {self.test_fraction:.0%} as test")
        test = [train[i] for i in held_out]
        self._carved_test[str(data_dir)] = test
        rest = [train[i] for i in keep]
        split = split_record([e.label for e in rest], [e.label for e in test], self.test_fraction, self.seed)
        self.data_record["test"] = {
            "test": "stratified split of train (drawn before dev)", "source": split.source, "seed": split.seed,
            "fraction": split.fraction, "sizes": {"train": len(rest), "test": len(test)},
            "label_counts": {"train": split.label_counts["train"], "test": split.label_counts["dev"]},
        }
        if replaced is not None:
            self.data_record["test"]["replaces"] = replaced
        return rest

    def hub_remedy(self, split: str) -> str:
        """Local layouts besides `DIR/<split>.jsonl|csv` that this processor reads (named when the hub fails)."""
        return ""

    def _examples(self, rows: list[Row], split: str) -> list[InputExample]:
        examples = [self.create_example(row, f"{split}-{i}", i) for i, row in enumerate(rows)]
        for example, row in zip(examples, rows):
            example.meta.setdefault("where", row.where)  # file:line, for errors found after reading
        return examples

    def _train_and_dev(self, data_dir: str | Path | None) -> tuple[list[InputExample], list[InputExample]]:
        key = str(data_dir)
        if key not in self._train_dev:
            dev_rows = self._rows(data_dir, "dev")  # first: a broken dev file is reported even when train is broken too
            rows = self._rows(data_dir, "train")
            if not rows:
                raise DataError(f"the train split from {self._origin(data_dir, 'train')} has no records")
            train = self._examples(rows, "train")
            if self.test_fraction > 0:
                train = self._carve_test(data_dir, train)
            if dev_rows is not None:
                dev = self._examples(dev_rows, "dev")
                self.data_record["dev"] = {"from": self._origin(data_dir, "dev"), "size": len(dev)}
            else:
                keep, held_out = stratified_split([e.label for e in train], self.dev_fraction, self.seed)
                if not held_out:
                    raise DataError(
                        f"no dev split in {self._origin(data_dir, 'dev')}, and the {len(train)} train records are too few "
                        f"to hold out {self.dev_fraction:.0%} of each label; add a dev file or raise the dev fraction"
                    )
                train, dev = [train[i] for i in keep], [train[i] for i in held_out]
                record = split_record([e.label for e in train], [e.label for e in dev], self.dev_fraction, self.seed)
                self.data_record["dev"] = record.to_dict()
            self.data_record["train"] = {"from": self._origin(data_dir, "train"), "size": len(train)}
            self._train_dev[key] = (train, dev)
        return self._train_dev[key]


def truncate(parts_a: list[tuple[list[int], bool]], parts_b: list[tuple[list[int], bool]], max_tokens: int) -> tuple[
    list[tuple[list[int], bool]], list[tuple[list[int], bool]]
]:
    """Cut encoded parts to at most `max_tokens` tokens in total, by upstream's rule: one token at a time, from
    the end of the last non-empty shortenable part of whichever side holds more shortenable tokens (ties: b).
    Returns new lists. Raises PromptTooLongError when the fixed parts leave no room for any shortenable token."""
    a = [(list(ids), short) for ids, short in parts_a]
    b = [(list(ids), short) for ids, short in parts_b]

    def shortenable_length(parts: list[tuple[list[int], bool]]) -> int:
        return sum(len(ids) for ids, short in parts if short)

    total = sum(len(ids) for ids, _ in a + b)
    excess = total - max_tokens
    if excess <= 0:
        return a, b
    left_a, left_b = shortenable_length(a), shortenable_length(b)
    fixed = total - left_a - left_b
    if fixed >= max_tokens:
        raise PromptTooLongError(f"the fixed parts take {fixed} tokens, which leaves no room for text within {max_tokens}")
    # The rule's token-by-token choice of side, on counts alone; then each side loses its share from the end of
    # its last shortenable parts. Linear in the text length (cutting one token at a time copied the part each time).
    cut_a = cut_b = 0
    for _ in range(excess):
        if left_a - cut_a > left_b - cut_b:
            cut_a += 1
        else:
            cut_b += 1
    return _cut_from_end(a, cut_a), _cut_from_end(b, cut_b)


def _cut_from_end(parts: list[tuple[list[int], bool]], n: int) -> list[tuple[list[int], bool]]:
    for i in range(len(parts) - 1, -1, -1):
        if n == 0:
            break
        ids, short = parts[i]
        if short and ids:
            take = min(n, len(ids))
            parts[i] = (ids[: len(ids) - take], True)
            n -= take
    return parts


class PVP:
    """A pattern-verbalizer pair: how an example becomes a cloze question, and which words answer it.

    A subclass implements `get_parts` (the pattern, with one [MASK]: `[self.mask_id]` or "[MASK]" in a string)
    and `verbalize` (label -> words, [0] is used), lists its patterns in `available_patterns` (id -> short
    description, shown by --list-prompts) and says whether the current pattern's answers are several tokens
    (`is_multi_token`). Single-token verbalizers are checked against the vocabulary at construction.
    """

    available_patterns: ClassVar[dict[int, str]] = {}

    def __init__(self, tokenizer: GLMTokenizer, label_list: Sequence[str], max_seq_length: int, pattern_id: int = 0):
        if pattern_id not in self.available_patterns:
            listed = "; ".join(f"{i}: {d}" for i, d in self.available_patterns.items())
            raise ValueError(f"{type(self).__name__} has no pattern {pattern_id} (available: {listed})")
        self.tokenizer = tokenizer
        self.label_list = list(label_list)
        self.max_seq_length = max_seq_length
        self.pattern_id = pattern_id
        self.num_prompt_tokens = self.prefix_prompt = 0
        self.prompt_placeholder: int | None = None
        if not self.is_multi_token:
            self.verbalizer_ids = self._single_token_verbalizer_ids()

    # ------------------------------------------------------------------ what a task author writes
    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        raise NotImplementedError

    def verbalize(self, label: str) -> list[str]:
        raise NotImplementedError

    @property
    def is_multi_token(self) -> bool:
        return False

    def get_answers(self, example: InputExample) -> list[str]:
        """Candidate answers, one per choice; for classification the verbalization of every label, in order."""
        return [self.verbalize(label)[0] for label in self.label_list]

    # ------------------------------------------------------------------ helpers for patterns
    @property
    def mask_id(self) -> int:
        return self.tokenizer.mask_id

    @staticmethod
    def shortenable(s: str) -> tuple[str, bool]:
        """Mark a part that truncation may cut from its end."""
        return s, True

    @staticmethod
    def remove_final_punc(s: str) -> str:
        return s.rstrip(string.punctuation)

    @staticmethod
    def lowercase_first(s: str) -> str:
        return s[:1].lower() + s[1:]

    # ------------------------------------------------------------------ rendering (used by tasks.layout)
    def label_index(self, example: InputExample) -> int:
        """Index of the example's label in `label_list`, -1 when unlabeled."""
        if example.label is None:
            return -1
        if example.label not in self.label_list:
            raise DataError(f"example {example.guid!r}: label {example.label!r} is not one of {self.label_list}")
        return self.label_list.index(example.label)

    def answer_ids(self, example: InputExample) -> list[list[int]]:
        """Each candidate as BPE(answer) + [eop]: the tokens a multi-token cloze scores (eop included)."""
        answers = []
        for answer in self.get_answers(example):
            ids = self.tokenizer.encode(answer)
            if not ids:
                raise DataError(f"example {example.guid!r}: candidate answer {answer!r} encodes to no tokens")
            answers.append(ids + [self.tokenizer.eop_id])
        return answers

    def use_continuous_prompt(self, num_prompt_tokens: int, prefix_prompt: int, placeholder_id: int) -> None:
        """Render continuous-prompt positions as `placeholder_id`: `num_prompt_tokens` spread over the pattern's
        None slots (ceil(n / k) each, left to right, a then b, as THUDM/GLM) and `prefix_prompt` more at the start
        of parts_a (right after [CLS]). The model writes the prompt vectors there (model.peft.prompt)."""
        if num_prompt_tokens < 0 or prefix_prompt < 0 or num_prompt_tokens + prefix_prompt < 1:
            raise ValueError(f"a continuous prompt needs >= 1 token (--num-prompt-tokens {num_prompt_tokens}, "
                             f"--prefix-prompt {prefix_prompt})")
        self.num_prompt_tokens, self.prefix_prompt, self.prompt_placeholder = num_prompt_tokens, prefix_prompt, placeholder_id

    def place_prompt_tokens(self, parts_a: list[Part], parts_b: list[Part], example: InputExample) -> tuple[list[Part], list[Part]]:
        """The parts with every None slot replaced by its placeholder ids (or dropped when prompts are off)."""
        if self.prompt_placeholder is None:
            return [p for p in parts_a if p is not None], [p for p in parts_b if p is not None]
        slots = sum(p is None for p in parts_a + parts_b)
        if self.num_prompt_tokens and not slots:
            raise ValueError(f"pattern {self.pattern_id} of {type(self).__name__} has no continuous-prompt slots, so "
                             f"--num-prompt-tokens {self.num_prompt_tokens} has nowhere to go; use --prefix-prompt N "
                             "(prompt tokens after [CLS]) or a pattern with slots")
        left, each = self.num_prompt_tokens, -(-self.num_prompt_tokens // max(slots, 1))

        def fill(parts: list[Part]) -> list[Part]:
            nonlocal left
            out: list[Part] = []
            for p in parts:
                if p is None:
                    n, left = min(each, left), left - min(each, left)
                    out.append([self.prompt_placeholder] * n)
                else:
                    out.append(p)
            return out

        filled_a, filled_b = fill(parts_a), fill(parts_b)
        if self.prefix_prompt:
            filled_a = [[self.prompt_placeholder] * self.prefix_prompt, *filled_a]
        return filled_a, filled_b

    def encode_parts(self, example: InputExample, reserve: int) -> tuple[list[int], list[int]]:
        """Token ids of parts_a and of parts_b (each part BPE-encoded on its own), truncated so that
        `[CLS] + a + b + eos` plus `reserve` more tokens (the sop, or the longest answer with eop) fit
        `max_seq_length`. Continuous-prompt slots are filled or dropped first (`place_prompt_tokens`)."""
        parts_a, parts_b = self.place_prompt_tokens(*self.get_parts(example), example)
        encoded_a = [self._encode_part(p, example) for p in parts_a]
        encoded_b = [self._encode_part(p, example) for p in parts_b]
        available = self.max_seq_length - 2 - reserve
        try:
            encoded_a, encoded_b = truncate(encoded_a, encoded_b, available)
        except PromptTooLongError:
            fixed = sum(len(ids) for ids, short in encoded_a + encoded_b if not short)
            raise PromptTooLongError(
                f"example {example.guid!r}: pattern {self.pattern_id} of {type(self).__name__} has {fixed} fixed tokens; "
                f"with [CLS], eos and {reserve} for the sop/answer that is {fixed + 2 + reserve} of max_seq_length "
                f"{self.max_seq_length}, which leaves no room for the example's text. Raise --seq-length or choose a "
                "pattern (--pattern-id) or verbalizer with fewer tokens."
            ) from None
        return [t for ids, _ in encoded_a for t in ids], [t for ids, _ in encoded_b for t in ids]

    def _encode_part(self, part: Part, example: InputExample) -> tuple[list[int], bool]:
        if isinstance(part, str):
            return self.tokenizer.encode(part), False
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[0], str) and isinstance(part[1], bool):
            return self.tokenizer.encode(part[0]), part[1]
        if isinstance(part, list) and all(isinstance(t, int) for t in part):
            return list(part), False
        raise TypeError(
            f"{type(self).__name__}.get_parts({example.guid!r}) returned a part {part!r}; a part is a string, "
            "a (string, shortenable) pair from shortenable(), or a list of token ids"
        )

    def _single_token_verbalizer_ids(self) -> list[int]:
        ids: list[int] = []
        for label in self.label_list:
            word = self.verbalize(label)[0]
            try:
                token = self.tokenizer.single_token_id(word)
            except ValueError as e:
                raise ValueError(f"{type(self).__name__} pattern {self.pattern_id}, label {label!r}: {e}") from None
            if token in ids:
                other = self.label_list[ids.index(token)]
                raise ValueError(f"{type(self).__name__} pattern {self.pattern_id}: labels {other!r} and {label!r} share the verbalizer {word!r}")
            ids.append(token)
        return ids
