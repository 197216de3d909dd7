"""Seq2seq data sets and their prompts: samsum, xsum, cnn_dailymail 3.0.0, gigaword, and THUDM/GLM's
`customization` file format for any user data.

Where the data comes from (first match wins):

1. `data_dir` holds `{train,val,test}.source` / `.target` (the customization format: one example per line,
   lines aligned by index, each line stripped; THUDM/GLM's file names, so its data directories work as-is);
2. `data_dir` holds `{train,validation,test}.jsonl` with the hub data set's own field names (e.g. samsum's
   `dialogue`, `summary`, `id`);
3. the Hugging Face hub by name (`datasets.load_dataset`); offline, this fails with a message that says how to
   pass local files instead.

Rules for bad input, the same for every source: line counts of `.source` and `.target` that differ are an
error naming both files and counts; an empty target is an error naming file:line (an empty reference would
score 0 and an empty training target teaches only `<|endofpiece|>`); an empty source is allowed (some hub
articles are empty; the prompt words still form the input). For the test split of the customization format,
`test.target` may be absent: then the examples have no target and can only be decoded, not scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tasks.seq2seq.layout import Seq2SeqPrompt

SPLITS = ("train", "dev", "test")
CUSTOMIZATION_NAMES = {"train": "train", "dev": "val", "test": "test"}  # THUDM/GLM's file stems


class Seq2SeqDataError(ValueError):
    """Data that cannot be used as given; the message names the file (and line) and how to fix it."""


@dataclass(frozen=True)
class Seq2SeqExample:
    """One source/target pair; `target` is None only for unlabelled test data."""

    guid: str
    source: str
    target: str | None
    idx: int
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- file readers
def _read_lines(path: Path) -> list[str]:
    """Lines without their newline; a final newline does not make an extra empty line. Only "\\n" separates
    examples (str.splitlines would also split on characters such as U+2028 inside a text)."""
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return [] if text == "" else [line.rstrip("\r") for line in text.split("\n")]


def read_customization(data_dir: str | Path, split: str) -> list[Seq2SeqExample]:
    """Examples of one split in the customization format (`val` is the dev split's file stem)."""
    stem = CUSTOMIZATION_NAMES[split]
    src_path, tgt_path = Path(data_dir) / f"{stem}.source", Path(data_dir) / f"{stem}.target"
    if not src_path.is_file():
        raise Seq2SeqDataError(f"{src_path} not found: the customization format needs {stem}.source and {stem}.target")
    sources = _read_lines(src_path)
    if not tgt_path.is_file():
        if split != "test":
            raise Seq2SeqDataError(f"{tgt_path} not found: the {split} split needs targets ({stem}.target beside {stem}.source)")
        targets: list[str | None] = [None] * len(sources)
    else:
        lines = _read_lines(tgt_path)
        if len(lines) != len(sources):
            raise Seq2SeqDataError(
                f"{src_path} has {len(sources)} lines but {tgt_path} has {len(lines)}; the files must be aligned "
                "line by line (one example per line)"
            )
        targets = list(lines)
    examples = []
    for i, (src, tgt) in enumerate(zip(sources, targets)):
        if tgt is not None and not tgt.strip():
            raise Seq2SeqDataError(f"{tgt_path}:{i + 1}: empty target line")
        examples.append(Seq2SeqExample(f"{split}-{i}", src.strip(), None if tgt is None else tgt.strip(), i))
    return examples


def _read_jsonl(path: Path, source_field: str, target_field: str, id_field: str | None, split: str) -> list[Seq2SeqExample]:
    examples = []
    for i, line in enumerate(_read_lines(path)):
        if not line.strip():
            continue  # blank separator lines carry no example
        where = f"{path}:{i + 1}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise Seq2SeqDataError(f"{where}: not a JSON object ({err.msg})") from None
        examples.append(_from_record(row, source_field, target_field, id_field, split, len(examples), where))
    return examples


def _from_record(row: dict[str, Any], source_field: str, target_field: str, id_field: str | None, split: str,
                 idx: int, where: str) -> Seq2SeqExample:
    for name in (source_field, target_field):
        if not isinstance(row.get(name), str):
            raise Seq2SeqDataError(f"{where}: field {name!r} missing or not a string (fields: {sorted(row)})")
    target = row[target_field].strip()
    if not target:
        raise Seq2SeqDataError(f"{where}: empty target field {target_field!r}")
    guid = str(row[id_field]) if id_field and id_field in row else f"{split}-{idx}"
    return Seq2SeqExample(guid, row[source_field].strip(), target, idx)


# --------------------------------------------------------------------------------------------- processors
@dataclass(frozen=True)
class HubSpec:
    """Where a hub data set lives and which fields hold source, target and id."""

    hub_name: str
    hub_config: str | None
    source_field: str
    target_field: str
    id_field: str | None
    hub_splits: tuple[str, str, str] = ("train", "validation", "test")  # our train/dev/test


class Seq2SeqProcessor:
    """Upstream-style processor (`get_train_examples(data_dir)` ...) over the three data locations above."""

    spec: ClassVar[HubSpec | None] = None

    def get_train_examples(self, data_dir: str | Path | None) -> list[Seq2SeqExample]:
        return self.get_examples(data_dir, "train")

    def get_dev_examples(self, data_dir: str | Path | None) -> list[Seq2SeqExample]:
        return self.get_examples(data_dir, "dev")

    def get_test_examples(self, data_dir: str | Path | None) -> list[Seq2SeqExample]:
        return self.get_examples(data_dir, "test")

    def get_examples(self, data_dir: str | Path | None, split: str) -> list[Seq2SeqExample]:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        folder = Path(data_dir) if data_dir is not None else None
        stem = CUSTOMIZATION_NAMES[split]
        if folder is not None and (folder / f"{stem}.source").is_file():
            return read_customization(folder, split)
        if self.spec is None:
            raise Seq2SeqDataError(f"the customization task needs --data-dir holding {stem}.source and {stem}.target; "
                                   f"{folder} has no {stem}.source")
        s = self.spec
        name = s.hub_splits[SPLITS.index(split)]
        if folder is not None and (folder / f"{name}.jsonl").is_file():
            return _read_jsonl(folder / f"{name}.jsonl", s.source_field, s.target_field, s.id_field, split)
        return _load_hub(s, split, folder)


def _load_hub(s: HubSpec, split: str, looked_in: Path | None) -> list[Seq2SeqExample]:
    name = s.hub_splits[SPLITS.index(split)]
    stem = CUSTOMIZATION_NAMES[split]
    try:
        import datasets

        rows = datasets.load_dataset(s.hub_name, s.hub_config, split=name)
    except Exception as err:  # offline, unknown name, removed loading script: the remedy is the same
        looked = f" (no local files in {looked_in})" if looked_in is not None else ""
        raise Seq2SeqDataError(
            f"could not load {s.hub_name}{'/' + s.hub_config if s.hub_config else ''} split {name!r} from the "
            f"Hugging Face hub{looked}: {type(err).__name__}: {err}. Pass local files with --data-dir: either "
            f"{name}.jsonl with the fields {s.source_field!r} and {s.target_field!r}"
            f"{' (and ' + repr(s.id_field) + ')' if s.id_field else ''}, or {stem}.source and {stem}.target with "
            "one example per line"
        ) from err
    return [
        _from_record(row, s.source_field, s.target_field, s.id_field, split, i, f"{s.hub_name}[{name}][{i}]")
        for i, row in enumerate(rows)
    ]


class CustomizationProcessor(Seq2SeqProcessor):
    """THUDM/GLM's `customization` task: `{train,val,test}.source/.target` in --data-dir."""


class SamsumProcessor(Seq2SeqProcessor):
    spec = HubSpec("samsum", None, "dialogue", "summary", "id")


class XSumProcessor(Seq2SeqProcessor):
    spec = HubSpec("xsum", None, "document", "summary", "id")


class CnnDailyMailProcessor(Seq2SeqProcessor):
    spec = HubSpec("cnn_dailymail", "3.0.0", "article", "highlights", "id")


class GigawordProcessor(Seq2SeqProcessor):
    spec = HubSpec("gigaword", None, "document", "summary", None)


# --------------------------------------------------------------------------------------------- prompts
class UpstreamSummary(Seq2SeqPrompt):
    """THUDM/GLM's summarisation input `[CLS] [MASK] Content: <source>`, first tokens kept, no eos."""

    name = "upstream_content"
    template = "[MASK] Content: {source}"
    add_eos = False


class UpstreamCustomization(Seq2SeqPrompt):
    """THUDM/GLM's customization input `[CLS] <source> [MASK] </s>`, last tokens kept (src_len - 3 of them)."""

    name = "upstream_customization"
    template = "{source} [MASK]"
    truncate = "head"


class DialogueSummary(Seq2SeqPrompt):
    name = "dialogue_summary"
    template = "{source} Summary: [MASK]"


class SummaryOfDialogue(Seq2SeqPrompt):
    name = "summary_of_dialogue"
    template = "[MASK] That is what happened in this chat: {source}"


class SummarizeDialogue(Seq2SeqPrompt):
    name = "summarize_dialogue"
    template = "Summarize the conversation. {source} In short, [MASK]"


class OneSentence(Seq2SeqPrompt):
    name = "one_sentence"
    template = "{source} In one sentence: [MASK]"


class ArticleGist(Seq2SeqPrompt):
    name = "article_gist"
    template = "Article: {source} The gist of the article: [MASK]"


class Highlights(Seq2SeqPrompt):
    name = "highlights"
    template = "{source} Highlights: [MASK]"


class ArticleSummary(Seq2SeqPrompt):
    name = "article_summary"
    template = "Article: {source} Summary: [MASK]"


class Headline(Seq2SeqPrompt):
    name = "headline"
    template = "{source} Headline: [MASK]"


class WriteHeadline(Seq2SeqPrompt):
    name = "write_headline"
    template = "Write a headline for this news. {source} Headline: [MASK]"


class InputOutput(Seq2SeqPrompt):
    name = "input_output"
    template = "Input: {source} Output: [MASK]"
    truncate = "head"


class AnswerAfter(Seq2SeqPrompt):
    name = "answer_after"
    template = "{source} Answer: [MASK]"
    truncate = "head"


class AnswerFirst(Seq2SeqPrompt):
    name = "answer_first"
    template = "[MASK] is the answer to: {source}"
    truncate = "head"


SEQ2SEQ_PROCESSORS: dict[str, type[Seq2SeqProcessor]] = {
    "samsum": SamsumProcessor,
    "xsum": XSumProcessor,
    "cnn_dm": CnnDailyMailProcessor,
    "gigaword": GigawordProcessor,
    "customization": CustomizationProcessor,
}

# The pattern id (--pattern-id) is the index into a task's list; pattern 0 is THUDM/GLM's own input format.
SEQ2SEQ_PROMPTS: dict[str, list[type[Seq2SeqPrompt]]] = {
    "samsum": [UpstreamSummary, DialogueSummary, SummaryOfDialogue, SummarizeDialogue],
    "xsum": [UpstreamSummary, OneSentence, ArticleGist, ArticleSummary],
    "cnn_dm": [UpstreamSummary, Highlights, ArticleSummary, ArticleGist],
    "gigaword": [UpstreamSummary, Headline, WriteHeadline, OneSentence],
    "customization": [UpstreamCustomization, InputOutput, AnswerAfter, AnswerFirst],
}


def get_prompt(task: str, pattern_id: int) -> Seq2SeqPrompt:
    """The prompt `pattern_id` of `task`, with an error that lists what exists."""
    if task not in SEQ2SEQ_PROMPTS:
        raise KeyError(f"unknown seq2seq task {task!r}; known: {sorted(SEQ2SEQ_PROMPTS)}")
    prompts = SEQ2SEQ_PROMPTS[task]
    if not 0 <= pattern_id < len(prompts):
        names = ", ".join(f"{i}: {p.name}" for i, p in enumerate(prompts))
        raise KeyError(f"task {task!r} has no pattern id {pattern_id}; its prompts are {names}")
    return prompts[pattern_id]()
