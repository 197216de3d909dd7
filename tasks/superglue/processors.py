"""SuperGLUE processors: the eight tasks of the GLM paper, read as THUDM/GLM's `tasks/superglue/dataset.py` reads
them, from either file schema.

Files (`data_dir`):
    official SuperGLUE   train.jsonl, val.jsonl (dev), test.jsonl (unlabelled; predictions are written for it)
    FewGLUE              (few_superglue=True) train.jsonl, dev32.jsonl (dev), val.jsonl (test, labelled)
    hub schema           the Hugging Face `super_glue/<task>` records as local jsonl: train.jsonl,
                         validation.jsonl (or val.jsonl / dev.jsonl), test.jsonl; integer labels, -1 on test
    no data_dir          the hub data set `super_glue/<task>` by name

Which schema a record is in is read from the record itself (WSC: nested `target` or flat span fields; MultiRC:
nested `passage.questions` or one flat row per answer; ReCoRD: nested passage with entity offsets or flat
`entities`/`answers` lists); labels may be names, booleans or integers (`tasks.upstream.label_value`).

What a split becomes (upstream's behaviour, facts in UPSTREAM_COMPAT §2):
    COPA      train: every example, then a mirrored copy of each (choices swapped, label flipped, guid + "m")
    WSC       train (cloze): only label-True examples (the referent is span1, the cloze answer); a candidate list
              (WSC-negative files) longer than 9 is cut into chunks of 9, the last filled up from the start
    MultiRC   one example per answer option; meta keeps passage/question/answer ids (EM groups by question)
    ReCoRD    train: one example per distinct correct answer, candidates = that answer + up to 9 other entities
              (a seeded shuffle when there are more); dev/test: one example per query with every entity
Guids follow upstream ("train-12", "dev-p3-q7-a21", ...). Bad input is an error naming file:line: a label outside
the task's labels, a ReCoRD answer that is not an entity of its passage, a WSC pronoun not found at its index,
an unlabelled record in the train split.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from tasks.base import DataProcessor, InputExample
from tasks.data_io import DataError, MissingSplitError, Row, load_hub_split, read_jsonl
from tasks.upstream import label_value, standardize_punctuation, text_value

# Dev and test file stems per layout, in the order they are looked for.
_OFFICIAL_STEMS = {"train": ("train",), "dev": ("val", "validation", "dev"), "test": ("test",)}
_FEWGLUE_STEMS = {"train": ("train",), "dev": ("dev32",), "test": ("val",)}


class SuperGlueProcessor(DataProcessor):
    """Common reading logic; a task implements `examples_from_row` (one record -> its examples)."""

    task: ClassVar[str]  # upstream's lower-case task name
    hub_name = "super_glue"
    hub_splits: ClassVar[dict[str, str | None]] = {"train": "train", "dev": "validation", "test": "test"}

    def __init__(self, dev_fraction: float = 0.1, seed: int = 42, *, few_superglue: bool = False):
        # dev_fraction is unused: every SuperGLUE layout has its own dev file. It stays for the common signature.
        super().__init__(dev_fraction, seed)
        self.few_superglue = few_superglue
        self._cache: dict[tuple[str, str], list[InputExample]] = {}

    @property
    def hub_subset(self) -> str:  # type: ignore[override]
        return self.task

    # ------------------------------------------------------------------ upstream-compatible API
    def get_train_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        return self._split(data_dir, "train")

    def get_dev_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        return self._split(data_dir, "dev")

    def get_test_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        return self._split(data_dir, "test")

    def classifier_input(self, example: InputExample) -> tuple[str, str | None]:
        """(text_a, text_b) for the linear-head method (no pattern), as upstream's `get_classifier_input`. The
        multiple-choice tasks (COPA, ReCoRD) have `classifier_choices` instead."""
        return example.text_a, example.text_b

    # ------------------------------------------------------------------ what a task implements
    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        """The examples of one record; `ordinal` is the record's position in its split (a fallback index)."""
        raise NotImplementedError

    def start_split(self, split: str) -> None:
        """Called before the records of a split are read (ReCoRD seeds its entity shuffler here)."""

    def finish_split(self, examples: list[InputExample], split: str) -> list[InputExample]:
        """The split's examples after every record was read (COPA adds its mirrored copies here)."""
        return examples

    # ------------------------------------------------------------------ helpers for examples_from_row
    def label(self, row: Row, split: str, value: Any = None, key: str = "label") -> str | None:
        """The record's label name (None when unlabelled); unlabelled in the train split is an error."""
        found = label_value(row, self.get_labels(), row.fields.get(key) if value is None else value, key)
        if found is None and split == "train":
            raise DataError(
                f"{row.where}: no {key}, but the train split is used for training; point the task at labelled files "
                "(the SuperGLUE test.jsonl is unlabelled and only gets predictions)"
            )
        return found

    @staticmethod
    def index(value: Any, ordinal: int) -> int:
        """An integer id (a record's idx, a question's or answer's idx); `ordinal`, the position, when the value is
        missing or not a number (upstream falls back to the line's position the same way)."""
        if isinstance(value, bool):
            return ordinal
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return ordinal

    # ------------------------------------------------------------------ internals
    def split_path(self, data_dir: str | Path, split: str) -> Path:
        stems = (_FEWGLUE_STEMS if self.few_superglue else _OFFICIAL_STEMS)[split]
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise MissingSplitError(f"data directory {data_dir} does not exist")
        for stem in stems:
            path = data_dir / f"{stem}.jsonl"
            if path.is_file():
                return path
        layout = "FewGLUE (--few-superglue)" if self.few_superglue else "SuperGLUE"
        tried = " or ".join(str(data_dir / f"{s}.jsonl") for s in stems)
        raise MissingSplitError(f"{self.task} {split} split not found in the {layout} layout: expected {tried}")

    def _read(self, data_dir: str | Path | None, split: str) -> tuple[list[Row], str]:
        if data_dir is not None:
            path = self.split_path(data_dir, split)
            return read_jsonl(path), str(path)
        if self.few_superglue:
            raise DataError("FewGLUE (--few-superglue) is a file layout: pass --data-dir with train.jsonl, dev32.jsonl and val.jsonl")
        hub_split = self.hub_splits[split]
        assert hub_split is not None
        try:
            rows = load_hub_split(self.hub_name, self.hub_subset, hub_split, self.fields)
        except DataError as e:
            raise DataError(
                f"could not load split {hub_split!r} of the Hugging Face data set {self.hub_name}/{self.hub_subset} "
                f"({e.__cause__!r}). Pass --data-dir instead: a folder with the official SuperGLUE files (train.jsonl, "
                "val.jsonl, test.jsonl) or with the hub's records as jsonl (train.jsonl, validation.jsonl, test.jsonl)"
            ) from e.__cause__
        return rows, f"hub {self.hub_name}/{self.hub_subset} split {hub_split}"

    def _split(self, data_dir: str | Path | None, split: str) -> list[InputExample]:
        key = (str(data_dir), split)
        if key not in self._cache:
            rows, origin = self._read(data_dir, split)
            if split == "train" and not rows:
                raise DataError(f"the train split {origin} has no records")
            self.start_split(split)
            examples: list[InputExample] = []
            for ordinal, row in enumerate(rows):
                examples.extend(self.examples_from_row(row, split, ordinal))
            examples = self.finish_split(examples, split)
            self.data_record[split] = {"from": origin, "records": len(rows), "size": len(examples)}
            self._cache[key] = examples
        return self._cache[key]


def _field(row: Row, *keys: str) -> Any:
    """A nested field (`_field(row, "target", "span1_text")`); missing is an error naming the path."""
    value: Any = row.fields
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise DataError(f"{row.where}: missing field {'.'.join(keys[: depth + 1])!r}")
        value = value[key]
    return value


# ---------------------------------------------------------------------------------------------- RTE, CB
class RteProcessor(SuperGlueProcessor):
    """premise, hypothesis -> entailment / not_entailment. text_a = premise, text_b = hypothesis."""

    task = "rte"
    fields = ("premise", "hypothesis", "idx", "label")

    def get_labels(self) -> list[str]:
        return ["entailment", "not_entailment"]

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        idx = self.index(row.fields.get("idx"), ordinal)
        return [InputExample(f"{split}-{idx}", text_value(row, "premise"), text_value(row, "hypothesis"), self.label(row, split), idx=idx)]


class CbProcessor(RteProcessor):
    """CommitmentBank: as RTE with three labels (the hub's ClassLabel order)."""

    task = "cb"

    def get_labels(self) -> list[str]:
        return ["entailment", "contradiction", "neutral"]


# ---------------------------------------------------------------------------------------------- BoolQ
class BoolQProcessor(SuperGlueProcessor):
    """passage, question -> false / true. text_a = passage, text_b = question."""

    task = "boolq"
    fields = ("passage", "question", "idx", "label")

    def get_labels(self) -> list[str]:
        return ["false", "true"]

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        idx = self.index(row.fields.get("idx"), ordinal)
        return [InputExample(f"{split}-{idx}", text_value(row, "passage"), text_value(row, "question"), self.label(row, split), idx=idx)]


# ---------------------------------------------------------------------------------------------- WiC
class WicProcessor(SuperGlueProcessor):
    """word, sentence1, sentence2 -> false / true (same sense). meta["word"] is the word as written (upstream does
    not standardise it)."""

    task = "wic"
    fields = ("word", "sentence1", "sentence2", "idx", "label")

    def get_labels(self) -> list[str]:
        return ["false", "true"]

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        idx = self.index(row.fields.get("idx"), ordinal)
        word = text_value(row, "word", standardize=False)
        return [InputExample(f"{split}-{idx}", text_value(row, "sentence1"), text_value(row, "sentence2"), self.label(row, split),
                             meta={"word": word}, idx=idx)]  # fmt: skip

    def classifier_input(self, example: InputExample) -> tuple[str, str | None]:
        return example.meta["word"] + ": " + example.text_a, example.text_b


# ---------------------------------------------------------------------------------------------- COPA
class CopaProcessor(SuperGlueProcessor):
    """premise, choice1, choice2, question (cause | effect) -> "0" (choice1) / "1" (choice2). Upstream leaves COPA's
    text as written (no punctuation standardisation on the cloze path). Train gets a mirrored copy of every example."""

    task = "copa"
    fields = ("premise", "choice1", "choice2", "question", "idx", "label")

    def get_labels(self) -> list[str]:
        return ["0", "1"]

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        idx = self.index(row.fields.get("idx"), ordinal)
        question = _field(row, "question")
        if question not in ("cause", "effect"):
            raise DataError(f"{row.where}: question {question!r} must be 'cause' or 'effect'")
        meta = {"choice1": text_value(row, "choice1", standardize=False), "choice2": text_value(row, "choice2", standardize=False),
                "question": question}  # fmt: skip
        return [InputExample(f"{split}-{idx}", text_value(row, "premise", standardize=False), label=self.label(row, split), meta=meta, idx=idx)]

    def finish_split(self, examples: list[InputExample], split: str) -> list[InputExample]:
        if split != "train":
            return examples
        mirrored = [
            InputExample(e.guid + "m", e.text_a, label="1" if e.label == "0" else "0",
                         meta={"choice1": e.meta["choice2"], "choice2": e.meta["choice1"], "question": e.meta["question"]})
            for e in examples
        ]  # fmt: skip
        return examples + mirrored

    def classifier_choices(self, example: InputExample) -> tuple[str, list[list[str]]]:
        """Upstream's multiple-choice classifier input: text_a = premise + " because" / " so", then one row
        `<s> A </s> choice </s>` per choice; all standardised."""
        joiner = "because" if example.meta["question"] == "cause" else "so"
        choices = [[standardize_punctuation(example.meta[k])] for k in ("choice1", "choice2")]
        return standardize_punctuation(example.text_a) + " " + joiner, choices


# ---------------------------------------------------------------------------------------------- WSC
class WscProcessor(SuperGlueProcessor):
    """text, span1 (a noun phrase) and span2 (a pronoun) -> "False" / "True" (span2 refers to span1).

    The WSC-negative files add `candidates` (other noun phrases, [{"text": ...}]), which become further answers
    of the cloze (meta["candidates"], duplicates removed). Span indices are word indices into text.split(); as
    upstream, an index off by one is corrected, a pronoun glued to the next characters ("him.") is split off, and
    the text is re-joined with single spaces. With cloze_eval (upstream's --cloze-eval, the default), training
    keeps only the examples whose label is True."""

    task = "wsc"
    fields = ("text", "span1_index", "span2_index", "span1_text", "span2_text", "idx", "label")
    CHUNK = 9  # candidates per training example when a list is longer (upstream's constant)

    def __init__(self, dev_fraction: float = 0.1, seed: int = 42, *, few_superglue: bool = False, cloze_eval: bool = True):
        super().__init__(dev_fraction, seed, few_superglue=few_superglue)
        self.cloze_eval = cloze_eval

    @property
    def hub_subset(self) -> str:  # type: ignore[override]
        return "wsc.fixed"

    def get_labels(self) -> list[str]:
        return ["False", "True"]

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        idx = self.index(row.fields.get("idx"), ordinal)
        label = self.label(row, split)
        spans = row.fields["target"] if isinstance(row.fields.get("target"), dict) else row.fields  # official | hub
        span1_text = text_value(row, "span1_text", spans.get("span1_text"), standardize=False)
        span2_text = text_value(row, "span2_text", spans.get("span2_text"), standardize=False)
        span1_index, span2_index = (self._int(row, k, spans.get(k)) for k in ("span1_index", "span2_index"))
        words = text_value(row, "text").split()
        span1_index = self._fix_span1(words, span1_index, span1_text)
        words, span2_index = self._fix_span2(row, words, span2_index, span2_text)
        meta: dict[str, Any] = {"span1_text": span1_text, "span2_text": span2_text, "span1_index": span1_index, "span2_index": span2_index}
        candidates = self._candidates(row) if "candidates" in row.fields else None
        text = " ".join(words)
        guid = f"{split}-{idx}"
        if self.cloze_eval and split == "train" and label != "True":
            self.data_record.setdefault("wsc_train_dropped_not_true", 0)
            self.data_record["wsc_train_dropped_not_true"] += 1
            return []
        if split == "train" and candidates is not None and len(candidates) > self.CHUNK:
            examples = []
            for start in range(0, len(candidates), self.CHUNK):
                chunk = candidates[start : start + self.CHUNK]
                chunk += candidates[: self.CHUNK - len(chunk)]  # the last chunk is filled up from the start
                examples.append(InputExample(guid, text, label=label, meta={**copy.deepcopy(meta), "candidates": chunk}, idx=idx))
            return examples
        if candidates is not None:
            meta["candidates"] = candidates
        return [InputExample(guid, text, label=label, meta=meta, idx=idx)]

    @staticmethod
    def _int(row: Row, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DataError(f"{row.where}: {key} must be an integer word index, got {value!r}")
        return value

    @staticmethod
    def _fix_span1(words: list[str], index: int, text: str) -> int:
        """Upstream shifts span1 by -1 or +1 when its words (lower-cased) are found there instead."""
        lower, target = [w.lower() for w in words], text.lower().split()
        if lower[index : index + len(target)] != target:
            for offset in (-1, 1):
                if index + offset >= 0 and lower[index + offset : index + offset + len(target)] == target:
                    return index + offset
        return index

    @staticmethod
    def _fix_span2(row: Row, words: list[str], index: int, pronoun: str) -> tuple[list[str], int]:
        def at(i: int) -> str | None:
            return words[i] if 0 <= i < len(words) else None

        if at(index) != pronoun:
            for offset in (-1, 1):
                if at(index + offset) == pronoun:
                    index += offset
                    break
            word = at(index)
            if word is not None and word != pronoun and word.startswith(pronoun):
                words = words[:index] + [pronoun, word[len(pronoun) :]] + words[index + 1 :]
        if at(index) != pronoun:
            raise DataError(
                f"{row.where}: span2_text {pronoun!r} is not at word {index} of the text (found {at(index)!r}, nor at "
                "the neighbouring words); span2_index counts words of text.split() from 0"
            )
        return words, index

    @staticmethod
    def _candidates(row: Row) -> list[str]:
        raw = row.fields["candidates"]
        if not isinstance(raw, list):
            raise DataError(f"{row.where}: candidates must be a list of {{'text': ...}} objects, got {type(raw).__name__}")
        texts = []
        for i, candidate in enumerate(raw):
            text = candidate.get("text") if isinstance(candidate, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{row.where}: candidates[{i}] must be an object with a non-empty 'text', got {candidate!r}")
            if text not in texts:
                texts.append(text)
        return texts

    def classifier_input(self, example: InputExample) -> tuple[str, str | None]:
        """Upstream: the text with the pronoun in asterisks, and span1 as text_b."""
        words = example.text_a.split()
        i = example.meta["span2_index"]
        words[i] = "*" + words[i] + "*"
        return " ".join(words), example.meta["span1_text"]


# ---------------------------------------------------------------------------------------------- MultiRC
class MultiRcProcessor(SuperGlueProcessor):
    """One example per answer option: text_a = passage, text_b = question, meta["answer"], label "0" / "1".
    meta keeps passage_idx, question_idx and answer_idx (EM is computed per question); idx = answer_idx."""

    task = "multirc"
    fields = ("paragraph", "question", "answer", "idx", "label")

    def get_labels(self) -> list[str]:
        return ["0", "1"]

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        return list(self._official(row, split, ordinal) if isinstance(row.fields.get("passage"), dict) else self._hub(row, split, ordinal))

    def _example(self, row: Row, split: str, passage: str, question: str, answer: str, ids: tuple[int, int, int], label: Any) -> InputExample:
        p, q, a = ids
        meta = {"passage_idx": p, "question_idx": q, "answer_idx": a, "answer": answer}
        return InputExample(f"{split}-p{p}-q{q}-a{a}", passage, question, self.label(row, split, label), meta=meta, idx=a)

    def _official(self, row: Row, split: str, ordinal: int) -> Iterator[InputExample]:
        passage = text_value(row, "passage.text", _field(row, "passage", "text"))
        p = self.index(row.fields.get("idx"), ordinal)
        for qi, q_json in enumerate(_field(row, "passage", "questions")):
            if not isinstance(q_json, dict):
                raise DataError(f"{row.where}: passage.questions[{qi}] must be an object with question, idx and answers")
            question = text_value(row, f"passage.questions[{qi}].question", q_json.get("question"))
            q = self.index(q_json.get("idx"), qi)
            for ai, a_json in enumerate(q_json.get("answers") or []):
                if not isinstance(a_json, dict):
                    raise DataError(f"{row.where}: passage.questions[{qi}].answers[{ai}] must be an object with text, idx and label")
                answer = text_value(row, f"passage.questions[{qi}].answers[{ai}].text", a_json.get("text"))
                label = a_json.get("label", -1)
                yield self._example(row, split, passage, question, answer, (p, q, self.index(a_json.get("idx"), ai)), -1 if label is None else label)

    def _hub(self, row: Row, split: str, ordinal: int) -> Iterator[InputExample]:
        ids = row.fields.get("idx") if isinstance(row.fields.get("idx"), dict) else {}
        yield self._example(row, split, text_value(row, "paragraph"), text_value(row, "question"), text_value(row, "answer"),
                            (self.index(ids.get("paragraph"), ordinal), self.index(ids.get("question"), ordinal),
                             self.index(ids.get("answer"), ordinal)), row.fields.get("label", -1))  # fmt: skip

    def classifier_input(self, example: InputExample) -> tuple[str, str | None]:
        return example.text_a, " ".join([example.text_b or "", "answer:", example.meta["answer"]])


# ---------------------------------------------------------------------------------------------- ReCoRD
class RecordProcessor(SuperGlueProcessor):
    """A news passage and a cloze query with "@placeholder"; the answers are entities of the passage.

    text_a = passage (standardised, "@highlight\\n" -> "- "), text_b = query; meta["candidates"] are the answer
    strings scored by the cloze, meta["answers"] the gold answers (the metrics take the max over them).
    Train: one example per distinct answer with label "0" (candidates[0] is that answer) and up to 9 other
    entities, shuffled by one Random(42) per split read in file order, as upstream. Dev/test: one example per
    query with every entity (sorted) and no label; the gold answers are in meta.
    """

    task = "record"
    fields = ("passage", "query", "entities", "answers", "idx")
    MAX_TRAIN_CANDIDATES = 10  # the answer + 9 other entities
    ENTITY_SHUFFLE_SEED = 42  # upstream's fixed seed (not the run's seed)

    def __init__(self, dev_fraction: float = 0.1, seed: int = 42, *, few_superglue: bool = False):
        super().__init__(dev_fraction, seed, few_superglue=few_superglue)
        self._shuffler = random.Random(self.ENTITY_SHUFFLE_SEED)

    def get_labels(self) -> list[str]:
        # Upstream's label list; "0" = the first candidate is the answer (train examples). Dev examples carry no
        # single label: every entity that is a gold answer is right.
        return ["0", "1"]

    def start_split(self, split: str) -> None:
        self._shuffler = random.Random(self.ENTITY_SHUFFLE_SEED)

    def examples_from_row(self, row: Row, split: str, ordinal: int) -> list[InputExample]:
        passage = row.fields.get("passage")
        if isinstance(passage, dict):  # official: one record per passage, entity character spans, several queries
            raw = text_value(row, "passage.text", passage.get("text"))
            entities = self._official_entities(row, raw, passage.get("entities"))
            p = self.index(row.fields.get("idx"), ordinal)
            queries = _field(row, "qas")
            if not isinstance(queries, list) or not all(isinstance(q, dict) for q in queries):
                raise DataError(f"{row.where}: qas must be a list of {{'query', 'idx', 'answers'}} objects")
            items = [(self.index(q.get("idx"), qi), text_value(row, f"qas[{qi}].query", q.get("query")),
                      [text_value(row, f"qas[{qi}].answers[{ai}].text", a.get("text") if isinstance(a, dict) else None)
                       for ai, a in enumerate(q.get("answers") or [])]) for qi, q in enumerate(queries)]  # fmt: skip
        else:  # hub: one record per query, entity strings, answer strings
            raw = text_value(row, "passage")
            entities = sorted({standardize_punctuation(self._entity_text(row, e)) for e in _field(row, "entities")})
            ids = row.fields.get("idx") if isinstance(row.fields.get("idx"), dict) else {}
            p = self.index(ids.get("passage"), ordinal)
            answers = row.fields.get("answers") or []
            items = [(self.index(ids.get("query"), ordinal), text_value(row, "query"),
                      [text_value(row, f"answers[{i}]", a) for i, a in enumerate(answers)])]  # fmt: skip
        text = standardize_punctuation(raw).replace("@highlight\n", "- ")  # as upstream, after the entity offsets
        return [e for q, query, answers in items for e in self._query_examples(row, split, text, entities, p, q, query, answers)]

    @staticmethod
    def _entity_text(row: Row, entity: Any) -> str:
        if not isinstance(entity, str) or not entity.strip():
            raise DataError(f"{row.where}: entity {entity!r} is not a non-empty string")
        return entity

    def _official_entities(self, row: Row, raw: str, spans: Any) -> list[str]:
        if not isinstance(spans, list) or not spans:
            raise DataError(f"{row.where}: passage.entities must be a non-empty list of {{'start', 'end'}} character spans")
        standardized, found = standardize_punctuation(raw), set()
        for i, span in enumerate(spans):
            start, end = (span.get("start"), span.get("end")) if isinstance(span, dict) else (None, None)
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(raw)):
                raise DataError(f"{row.where}: passage.entities[{i}] = {span!r} is not a span of the passage (start <= end, both inclusive, < {len(raw)})")
            found.add(standardized[start : end + 1])
        return sorted(found)

    def _query_examples(self, row: Row, split: str, text: str, entities: list[str], p: int, q: int, query: str,
                        raw_answers: list[str]) -> list[InputExample]:  # fmt: skip
        if query.count("@placeholder") != 1:
            raise DataError(f"{row.where}: query {q} must contain '@placeholder' exactly once: {query!r}")
        query = standardize_punctuation(query)
        answers = list(dict.fromkeys(standardize_punctuation(a) for a in raw_answers))  # distinct, in file order
        for answer in answers:
            if answer not in entities:
                raise DataError(
                    f"{row.where}: answer {answer!r} of query {q} is not an entity of the passage (entities: "
                    f"{', '.join(map(repr, entities[:8]))}{', ...' if len(entities) > 8 else ''}); answers must be entity strings"
                )
        if split == "train":
            if not answers:
                raise DataError(f"{row.where}: query {q} has no answers, but the train split is used for training")
            examples = []
            for a, answer in enumerate(answers):
                others = [e for e in entities if e not in answers]
                if len(others) > self.MAX_TRAIN_CANDIDATES - 1:
                    self._shuffler.shuffle(others)
                    others = others[: self.MAX_TRAIN_CANDIDATES - 1]
                meta = {"passage_idx": p, "question_idx": q, "candidates": [answer, *others], "answers": [answer]}
                examples.append(InputExample(f"{split}-p{p}-q{q}-a{a}", text, query, label="0", meta=meta, idx=q, num_choices=len(others) + 1))
            return examples
        meta = {"passage_idx": p, "question_idx": q, "candidates": list(entities), "answers": answers}
        return [InputExample(f"{split}-p{p}-q{q}", text, query, label=None, meta=meta, idx=q, num_choices=len(entities))]

    def classifier_choices(self, example: InputExample) -> tuple[str, list[list[str]]]:
        """Upstream's multiple-choice classifier input: one row `<s> passage </s> query candidate </s>` per
        candidate, the query and the candidate encoded separately (no space is added before the candidate)."""
        return example.text_a, [[example.text_b or "", candidate] for candidate in example.meta["candidates"]]


PROCESSORS: dict[str, type[SuperGlueProcessor]] = {
    cls.task: cls
    for cls in (RteProcessor, CbProcessor, BoolQProcessor, WicProcessor, CopaProcessor, WscProcessor, MultiRcProcessor, RecordProcessor)
}
