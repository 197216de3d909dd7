"""`promptsource:<dataset>[/<subset>]` as a task registry entry: any data set promptsource covers, no code per set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.tokenizer import GLMTokenizer
from tasks.base import DataProcessor
from tasks.data_io import DataError
from tasks.registry import DataOptions, PreparedTask, PromptListing, TaskEntry

from .catalogue import _label, list_prompts
from .loading import PREFIX, parse_task_spec
from .prompts import PromptsourceCloze, make_prompt
from .schema import SchemaOptions, parse_field_map, parse_label_names
from .task import PromptsourceProcessor, make_promptsource_task


@dataclass(frozen=True)
class PromptsourceEntry(TaskEntry):
    dataset: str
    subset: str | None
    name: str = ""
    kind: None = None  # classification or generation: the chosen template decides
    metrics: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_name(cls, name: str) -> PromptsourceEntry:
        dataset, subset = parse_task_spec(PREFIX + name.strip()[len(PREFIX):])
        return cls(dataset, subset, name=PREFIX + _label(dataset, subset))

    def processor(self, data: DataOptions) -> DataProcessor:
        raise TypeError(f"{self.name}: a promptsource processor renders one template; use prepare(..., prompt=...)")

    def prompts(self, tokenizer: GLMTokenizer | None) -> list[PromptListing]:
        out = []
        for info in list_prompts(self.dataset, self.subset, tokenizer):
            chosen = make_prompt(self.dataset, self.subset, info.id, tokenizer, allow_non_original=True)
            choices = " | ".join(info.fixed_choices) if info.fixed_choices is not None else (info.answer_choices or "-")
            out.append(PromptListing(info.id, info.name, info.choice_kind or "?", f"answers: {choices}",
                                     info.original_task, tuple(sorted(chosen.renderer.fields_read))))
        return out

    def prepare(self, data: DataOptions, tokenizer: GLMTokenizer | None, *, prompt: int | str | None = None,
                seq_length: int = 512, with_pattern: bool = True, allow_non_original: bool = False) -> PreparedTask:
        if prompt is None:
            prompt = 0
        try:
            schema = SchemaOptions(parse_field_map(data.field_map), parse_label_names(data.label_names),
                                   parse_label_names(data.template_label_names))
        except ValueError as err:
            raise DataError(str(err)) from None
        task = make_promptsource_task(self.name, tokenizer, seq_length, prompt, allow_non_original, data.data_dir,
                                      dev_fraction=data.dev_fraction, seed=data.data_seed, schema=schema,
                                      skip_uncovered=data.skip_uncovered, test_fraction=data.test_fraction)
        processor: PromptsourceProcessor = task.processor
        chosen = task.seq2seq if task.kind == "generation" else processor.prompt
        record = {"id": task.info.id, "name": task.info.name, "text": chosen.renderer.template.jinja}
        if task.kind == "generation":
            return PreparedTask(self.name, "generation", processor, [], task.metrics, seq2seq_prompt=task.seq2seq, prompt=record)
        assert isinstance(chosen, PromptsourceCloze)
        return PreparedTask(self.name, "classification", processor, processor.get_labels(), task.metrics,
                            pvp=task.pvp if with_pattern else None, prompt=record)
