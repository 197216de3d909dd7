"""The one task registry: every task name the drivers, `--list-prompts`, grid search and the report accept.

    entry = resolve("ag_news")                 # names are matched case-insensitively (upstream lower-cases them)
    entry = resolve("promptsource:super_glue/rte")
    task = entry.prepare(DataOptions("data/demo/ag_news"), tokenizer, prompt=0, seq_length=128)
    task.processor.get_train_examples(...), task.pvp (cloze), task.seq2seq_prompt (generation), task.metrics

A `TaskEntry` knows a task's kind, its prompts, its metrics (the first selects the best checkpoint) and its
default hyperparameters; `prepare` picks one prompt and returns what a run needs. Adding a data set is one
module (a DataProcessor and a PVP, or a Seq2SeqProcessor and its prompts) plus one line in `_BUILTIN` below.
promptsource data sets need no line: `promptsource:<dataset>[/<subset>]` resolves to an entry made on the fly.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from model.tokenizer import GLMTokenizer
from tasks.base import PVP, DataProcessor

TaskKind = Literal["classification", "multiple_choice", "generation"]
PROMPTSOURCE_PREFIX = "promptsource:"


class UnknownTaskError(ValueError):
    """A task name the registry does not hold; the message lists what it holds."""


class PromptChoiceError(ValueError):
    """A prompt (pattern id or template name) the task does not offer; the message lists what it offers."""


@dataclass(frozen=True)
class DataOptions:
    """Where a task's splits come from, how a missing dev (or test) split is carved out of train, and what the
    user declared about the data's schema (promptsource tasks: field renames, label names, uncovered rows)."""

    data_dir: str | None = None
    dev_fraction: float = 0.1
    data_seed: int = 42
    few_superglue: bool = False  # SuperGLUE tasks: the FewGLUE file layout (dev32.jsonl dev, val.jsonl test)
    test_fraction: float = 0.0  # > 0: a data set without a test split gets a stratified test part of train
    field_map: tuple[str, ...] = ()  # "OLD=NEW": a field of the data -> the field the template reads
    label_names: tuple[str, ...] = ()  # "[FIELD=]NAME,NAME,...": the data's class names in id order
    template_label_names: tuple[str, ...] = ()  # "[FIELD=]NAME,...": the class order the template indexes
    skip_uncovered: bool = False  # leave out (count, record) rows a conditional template does not cover


@dataclass(frozen=True)
class PromptListing:
    """One line of `--list-prompts`."""

    id: int
    name: str
    kind: str  # single-token | multi-token | per-example | generation
    description: str
    original_task: bool | None = None  # promptsource's flag; None for hand-written prompts
    fields: tuple[str, ...] = ()  # record fields the prompt reads, where known
    status: str = ""  # with data given: how the prompt fared on a sample of it ("ok ...", "BROKEN: ...")


@dataclass
class PreparedTask:
    """One task with one prompt chosen: what the drivers build a run from."""

    name: str
    kind: TaskKind
    processor: DataProcessor
    labels: list[str]
    metrics: tuple[str, ...]
    pvp: PVP | None = None  # classification with a pattern (the cloze head); None for the linear head
    seq2seq_prompt: Any = None  # generation: has encode_example(tokenizer, example, src_len=, tgt_len=)
    prompt: dict[str, Any] = field(default_factory=dict)  # {"id", "name", "text"} for the run's record


class TaskEntry:
    """What every registered task offers. Subclasses below: hand-written classification, generation, promptsource."""

    name: str
    kind: TaskKind | None  # None: depends on the prompt (promptsource data sets offer both kinds)
    metrics: tuple[str, ...]
    defaults: Mapping[str, Any]
    aliases: tuple[str, ...] = ()

    def processor(self, data: DataOptions) -> DataProcessor:
        raise NotImplementedError

    def prompts(self, tokenizer: GLMTokenizer | None) -> list[PromptListing]:
        raise NotImplementedError

    def prepare(self, data: DataOptions, tokenizer: GLMTokenizer | None, *, prompt: int | str | None = None,
                seq_length: int = 512, with_pattern: bool = True, allow_non_original: bool = False) -> PreparedTask:
        """`with_pattern=False`: no PVP is built (the linear head and the baselines read the plain texts)."""
        raise NotImplementedError


def with_test_fraction(processor: DataProcessor, data: DataOptions) -> DataProcessor:
    if data.test_fraction:
        if not 0.0 < data.test_fraction < 1.0:
            raise ValueError(f"--test-fraction must be in (0, 1), got {data.test_fraction}")
        processor.test_fraction = data.test_fraction
    return processor


def _pattern_id(task: str, prompt: int | str | None, offered: Sequence[int], listing: str) -> int:
    """Hand-written prompts are named by id (`--pattern-id`); a name given to `--prompt` is an error, not ignored."""
    if prompt is None:
        return offered[0] if 0 not in offered else 0
    if isinstance(prompt, str):
        if not prompt.strip().isdigit():
            raise PromptChoiceError(f"task {task!r} has hand-written patterns named by id ({listing}); "
                                    f"use --pattern-id N, not --prompt {prompt!r} (--prompt names promptsource templates)")
        prompt = int(prompt)
    if prompt not in offered:
        raise PromptChoiceError(f"task {task!r} has no pattern {prompt} (available: {listing})")
    return prompt


@dataclass(frozen=True)
class ClozeTask(TaskEntry):
    """A hand-written classification task: a DataProcessor and a PVP class whose `available_patterns` are its prompts."""

    name: str
    processor_class: type[DataProcessor]
    pvp_class: type[PVP]
    metrics: tuple[str, ...] = ("accuracy", "macro_f1")
    kind: TaskKind = "classification"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def processor(self, data: DataOptions) -> DataProcessor:
        return with_test_fraction(self.processor_class(dev_fraction=data.dev_fraction, seed=data.data_seed), data)

    def pvp(self, pattern_id: int, tokenizer: GLMTokenizer, labels: Sequence[str], max_seq_length: int) -> PVP:
        _pattern_id(self.name, pattern_id, list(self.pvp_class.available_patterns), self._listing())
        return self.pvp_class(tokenizer, labels, max_seq_length, pattern_id=pattern_id)

    def _listing(self) -> str:
        return "; ".join(f"{i}: {d}" for i, d in self.pvp_class.available_patterns.items())

    def prompts(self, tokenizer: GLMTokenizer | None) -> list[PromptListing]:
        labels = self.processor_class().get_labels()
        out = []
        for pattern_id, description in self.pvp_class.available_patterns.items():
            kind = "?"
            if tokenizer is not None:
                kind = "multi-token" if self.pvp(pattern_id, tokenizer, labels, 512).is_multi_token else "single-token"
            out.append(PromptListing(pattern_id, f"p{pattern_id}", kind, description))
        return out

    def prepare(self, data: DataOptions, tokenizer: GLMTokenizer | None, *, prompt: int | str | None = None,
                seq_length: int = 512, with_pattern: bool = True, allow_non_original: bool = False) -> PreparedTask:
        pattern_id = _pattern_id(self.name, prompt, list(self.pvp_class.available_patterns), self._listing())
        processor = self.processor(data)
        labels = processor.get_labels()
        pvp = self.pvp(pattern_id, tokenizer, labels, seq_length) if with_pattern and tokenizer is not None else None
        record = {"id": pattern_id, "name": f"p{pattern_id}", "text": self.pvp_class.available_patterns[pattern_id]}
        return PreparedTask(self.name, self.kind, processor, labels, self.metrics, pvp=pvp, prompt=record)


@dataclass(frozen=True)
class GenerationTask(TaskEntry):
    """A hand-written generation task: a Seq2SeqProcessor and its prompts (`--pattern-id` is the index)."""

    name: str
    processor_class: type[DataProcessor]
    prompt_classes: tuple[type, ...]
    metrics: tuple[str, ...] = ()
    kind: TaskKind = "generation"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.metrics:
            from tasks.seq2seq.metrics import GENERATION_METRICS

            object.__setattr__(self, "metrics", GENERATION_METRICS)

    def processor(self, data: DataOptions) -> DataProcessor:
        return with_test_fraction(self.processor_class(dev_fraction=data.dev_fraction, seed=data.data_seed), data)

    def prompt(self, pattern_id: int) -> Any:
        offered = list(range(len(self.prompt_classes)))
        return self.prompt_classes[_pattern_id(self.name, pattern_id, offered, self._listing())]()

    def _listing(self) -> str:
        return ", ".join(f"{i}: {p.name}" for i, p in enumerate(self.prompt_classes))

    def prompts(self, tokenizer: GLMTokenizer | None) -> list[PromptListing]:
        return [PromptListing(i, p.name, "generation", getattr(p, "template", "") or (p.__doc__ or "").strip().splitlines()[0])
                for i, p in enumerate(self.prompt_classes)]

    def prepare(self, data: DataOptions, tokenizer: GLMTokenizer | None, *, prompt: int | str | None = None,
                seq_length: int = 512, with_pattern: bool = True, allow_non_original: bool = False) -> PreparedTask:
        pattern_id = _pattern_id(self.name, prompt, list(range(len(self.prompt_classes))), self._listing())
        chosen = self.prompt(pattern_id)
        record = {"id": pattern_id, "name": chosen.name, "text": getattr(chosen, "template", "")}
        return PreparedTask(self.name, "generation", self.processor(data), [], self.metrics, seq2seq_prompt=chosen,
                            prompt=record)


def _builtin() -> tuple[TaskEntry, ...]:
    """Every hand-written task: one line each."""
    from tasks.classification.ag_news import AgNewsPVP, AgNewsProcessor
    from tasks.classification.dbpedia import DbpediaProcessor, DbpediaPVP
    from tasks.seq2seq import datasets as s2s
    from tasks.superglue.entry import entries as superglue_entries

    return (
        *superglue_entries(),
        ClozeTask("ag_news", AgNewsProcessor, AgNewsPVP),
        ClozeTask("dbpedia_14", DbpediaProcessor, DbpediaPVP),
        GenerationTask("samsum", s2s.SamsumProcessor, s2s.SAMSUM_PROMPTS),
        GenerationTask("xsum", s2s.XSumProcessor, s2s.XSUM_PROMPTS),
        GenerationTask("cnn_dm", s2s.CnnDailyMailProcessor, s2s.CNN_DM_PROMPTS),
        GenerationTask("gigaword", s2s.GigawordProcessor, s2s.GIGAWORD_PROMPTS),
        GenerationTask("customization", s2s.CustomizationProcessor, s2s.CUSTOMIZATION_PROMPTS),
    )


def _upstream() -> tuple[TaskEntry, ...]:
    """THUDM/GLM's own task names with its data formats and patterns (docs/UPSTREAM.md), beside the toolkit's."""
    from tasks.classification import upstream_text as up
    from tasks.seq2seq import datasets as s2s

    return (
        *(ClozeTask(name, up.PROCESSORS[name], up.PVPS[name], metrics=up.DEFAULT_METRICS[name]) for name in up.PROCESSORS),
        GenerationTask("cnn_dm_original", s2s.CnnDmOriginalProcessor, s2s.CNN_DM_PROMPTS),
    )


_REGISTRY: dict[str, TaskEntry] | None = None


def registered() -> dict[str, TaskEntry]:
    """Canonical name -> entry, for every hand-written task (built on first use: importing it is cheap)."""
    global _REGISTRY
    if _REGISTRY is None:
        table: dict[str, TaskEntry] = {}
        for entry in (*_builtin(), *_upstream()):
            for key in (entry.name, *entry.aliases):
                if key.lower() in table:
                    raise RuntimeError(f"task name {key!r} is registered twice")
                table[key.lower()] = entry
        _REGISTRY = table
    return _REGISTRY


def task_names() -> list[str]:
    return sorted({e.name for e in registered().values()})


def resolve(name: str) -> TaskEntry:
    """The entry for a task name (case-insensitive) or `promptsource:<dataset>[/<subset>]`."""
    key = name.strip()
    if key.lower().startswith(PROMPTSOURCE_PREFIX):
        from tasks.promptsource.entry import PromptsourceEntry

        return PromptsourceEntry.from_name(key)
    entry = registered().get(key.lower())
    if entry is None:
        near = difflib.get_close_matches(key.lower(), list(registered()), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UnknownTaskError(f"unknown task {name!r}; available: {', '.join(task_names())}, or "
                               f"promptsource:<dataset>[/<subset>] for any promptsource data set{hint}")
    return entry


def format_prompts(listings: Sequence[PromptListing]) -> list[str]:
    """The `--list-prompts` table."""
    lines = [f"{'id':>4}  {'kind':<12}  {'original':<8}  prompt"]
    for p in listings:
        original = "" if p.original_task is None else ("yes" if p.original_task else "no")
        reads = f"  [reads: {', '.join(p.fields)}]" if p.fields else ""
        status = f"\n{'':>4}  {'':<12}  {'':<8}  -> {p.status}" if p.status else ""
        lines.append(f"{p.id:>4}  {p.kind:<12}  {original:<8}  {p.name}: {p.description}{reads}{status}")
    return lines
