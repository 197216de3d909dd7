"""Seq2seq data sets and their prompts: samsum, xsum, cnn_dailymail 3.0.0, gigaword, and THUDM/GLM's
`customization` file format for any user data.

Where the data comes from (first match wins):

1. `data_dir` holds `{train,val,test}.source` / `.target` (the customization format: one example per line,
   lines aligned by index, each line stripped; THUDM/GLM's file names, so its data directories work as-is);
2. `data_dir` holds `train`, `dev` (or `validation`, `val`) and `test` `.jsonl`/`.csv` files with the hub data
   set's own field names (e.g. samsum's `dialogue`, `summary`, `id`), read like every other task's files;
3. the Hugging Face hub by name (`datasets.load_dataset`); offline, this fails with a message that says how to
   pass local files instead.

Rules for bad input, the same for every source: line counts of `.source` and `.target` that differ are an
error naming both files and counts; an empty target is an error naming file:line (an empty reference would
score 0 and an empty training target teaches only `<|endofpiece|>`); an empty source is allowed (some hub
articles are empty; the prompt words still form the input). For the test split of the customization format,
`test.target` may be absent: then the examples have no target and can only be decoded, not scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from tasks.base import DataProcessor, InputExample
from tasks.data_io import DataError, Row
from tasks.seq2seq.layout import Seq2SeqPrompt
from tasks.seq2seq.upstream import is_xsum_layout, read_xsum_split, upstream_summary_line

CUSTOMIZATION_NAMES = {"train": "train", "dev": "val", "test": "test"}  # THUDM/GLM's file stems


# --------------------------------------------------------------------------------------------- file readers
def _read_lines(path: Path) -> list[str]:
    """Lines without their newline; a final newline does not make an extra empty line. Only "\\n" separates
    examples (str.splitlines would also split on characters such as U+2028 inside a text)."""
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return [] if text == "" else [line.rstrip("\r") for line in text.split("\n")]


def read_customization(data_dir: str | Path, split: str) -> list[Row]:
    """Rows {"source", "target"} of one split in the customization format (`val` is the dev split's file stem);
    each row's `where` is the target file's line (where an empty target is fixed)."""
    stem = CUSTOMIZATION_NAMES[split]
    src_path, tgt_path = Path(data_dir) / f"{stem}.source", Path(data_dir) / f"{stem}.target"
    if not src_path.is_file():
        raise DataError(f"{src_path} not found: the customization format needs {stem}.source and {stem}.target")
    sources = _read_lines(src_path)
    if not tgt_path.is_file():
        if split != "test":
            raise DataError(f"{tgt_path} not found: the {split} split needs targets ({stem}.target beside {stem}.source)")
        return [Row({"source": src, "target": None}, f"{src_path}:{i + 1}") for i, src in enumerate(sources)]
    targets = _read_lines(tgt_path)
    if len(targets) != len(sources):
        raise DataError(
            f"{src_path} has {len(sources)} lines but {tgt_path} has {len(targets)}; the files must be aligned "
            "line by line (one example per line)"
        )
    return [Row({"source": src, "target": tgt}, f"{tgt_path}:{i + 1}") for i, (src, tgt) in enumerate(zip(sources, targets))]


# --------------------------------------------------------------------------------------------- processors
class Seq2SeqProcessor(DataProcessor):
    """A generation data set: `InputExample(kind="generation", text_a=source, target=target)`.

    Where the splits come from: THUDM/GLM's customization files in `data_dir` when present, otherwise what every
    processor reads (`DIR/{train,dev,test}.jsonl|csv` in the hub schema, dev also as validation/val, or the hub).
    A subclass names its hub data set and the fields holding source, target and id.
    """

    source_field: ClassVar[str] = "source"
    target_field: ClassVar[str] = "target"
    id_field: ClassVar[str | None] = None
    customization_only: ClassVar[bool] = False

    def get_labels(self) -> list[str]:
        return []

    @property
    def fields(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(f for f in (self.source_field, self.target_field, self.id_field) if f)

    def _rows(self, data_dir: str | Path | None, split: str) -> list[Row] | None:
        stem = CUSTOMIZATION_NAMES[split]
        if data_dir is not None and (Path(data_dir) / f"{stem}.source").is_file():
            return [Row({self.source_field: self.file_line(r.fields["source"]), self.target_field: self.file_line(r.fields["target"])},
                        r.where) for r in read_customization(data_dir, split)]
        if self.customization_only:
            if split == "dev":
                if data_dir is not None and (Path(data_dir) / "train.source").is_file():
                    return None  # no val.source: a seeded share of train becomes dev, as for every task without dev
                stem = CUSTOMIZATION_NAMES["train"]
            raise DataError(f"the customization task needs --data-dir holding {stem}.source and {stem}.target; "
                            f"{data_dir} has no {stem}.source")
        return super()._rows(data_dir, split)

    def file_line(self, text: str | None) -> str | None:
        """A line of a `.source`/`.target` file as the task reads it (THUDM/GLM's summarisation tasks clean it)."""
        return text

    def hub_remedy(self, split: str) -> str:
        stem = CUSTOMIZATION_NAMES[split]
        return f"or {stem}.source and {stem}.target with one example per line (THUDM/GLM's customization format)"

    def create_example(self, row: Row, guid: str, idx: int) -> InputExample:
        source, target = row.fields.get(self.source_field), row.fields.get(self.target_field)
        if not isinstance(source, str):
            raise DataError(f"{row.where}: field {self.source_field!r} missing or not a string (fields: {sorted(row.fields)})")
        if target is not None and not isinstance(target, str):
            raise DataError(f"{row.where}: field {self.target_field!r} is not a string ({target!r})")
        if target is None and not guid.startswith("test"):
            raise DataError(f"{row.where}: field {self.target_field!r} missing (fields: {sorted(row.fields)}); "
                            "only the test split may lack targets")
        if target is not None and not target.strip():
            raise DataError(f"{row.where}: empty target field {self.target_field!r}")
        if self.id_field and row.fields.get(self.id_field) is not None:
            guid = str(row.fields[self.id_field])
        return InputExample(guid, source.strip(), target=None if target is None else target.strip(), idx=idx,
                            kind="generation", meta={"where": row.where})


class CustomizationProcessor(Seq2SeqProcessor):
    """THUDM/GLM's `customization` task: `{train,val,test}.source/.target` in --data-dir."""

    hub_name = "customization"
    customization_only = True


class SamsumProcessor(Seq2SeqProcessor):
    hub_name, hub_subset = "samsum", None
    source_field, target_field, id_field = "dialogue", "summary", "id"


class XSumProcessor(Seq2SeqProcessor):
    """Also reads THUDM/GLM's layout: `bbc-summary-data/` with the split JSON and `<id>.summary` files."""

    hub_name, hub_subset = "xsum", None
    source_field, target_field, id_field = "document", "summary", "id"

    def _rows(self, data_dir: str | Path | None, split: str) -> list[Row] | None:
        if is_xsum_layout(data_dir):
            return read_xsum_split(data_dir, split)
        return super()._rows(data_dir, split)

    def _origin(self, data_dir: str | Path | None, split: str) -> str:
        if is_xsum_layout(data_dir):
            return f"{data_dir} (bbc-summary-data layout, split {split})"
        return super()._origin(data_dir, split)


class CnnDailyMailProcessor(Seq2SeqProcessor):
    hub_name, hub_subset = "cnn_dailymail", "3.0.0"
    source_field, target_field, id_field = "article", "highlights", "id"


class CnnDmOriginalProcessor(Seq2SeqProcessor):
    """THUDM/GLM's `cnn_dm_original`: its `{train,val,test}.source/.target` files of untokenised CNN/DailyMail,
    punctuation standardised as upstream reads them (without files: the hub's cnn_dailymail 3.0.0)."""

    hub_name, hub_subset = "cnn_dailymail", "3.0.0"
    source_field, target_field, id_field = "article", "highlights", "id"

    def file_line(self, text: str | None) -> str | None:
        return None if text is None else upstream_summary_line(text, gigaword=False)


class GigawordProcessor(Seq2SeqProcessor):
    """From `.source`/`.target` files (THUDM/GLM's gigaword/org_data), lines are cleaned as upstream reads them:
    punctuation standardised and `gigaword_detokenize`d (-lrb- -> "(", UNK -> [UNK], ...); hub records as they are."""

    hub_name, hub_subset = "gigaword", None
    source_field, target_field, id_field = "document", "summary", None

    def file_line(self, text: str | None) -> str | None:
        return None if text is None else upstream_summary_line(text, gigaword=True)


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


# The pattern id (--pattern-id) is the index into a task's tuple; pattern 0 is THUDM/GLM's own input format.
SAMSUM_PROMPTS = (UpstreamSummary, DialogueSummary, SummaryOfDialogue, SummarizeDialogue)
XSUM_PROMPTS = (UpstreamSummary, OneSentence, ArticleGist, ArticleSummary)
CNN_DM_PROMPTS = (UpstreamSummary, Highlights, ArticleSummary, ArticleGist)
GIGAWORD_PROMPTS = (UpstreamSummary, Headline, WriteHeadline, OneSentence)
CUSTOMIZATION_PROMPTS = (UpstreamCustomization, InputOutput, AnswerAfter, AnswerFirst)
