"""`promptsource:<dataset>[/<subset>]` as a task registry entry: any data set promptsource covers, no code per set."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from model.tokenizer import GLMTokenizer
from tasks.base import DataProcessor
from tasks.data_io import DataError
from tasks.registry import DataOptions, PreparedTask, PromptListing, TaskEntry

from .catalogue import _label, list_prompts
from .loading import PREFIX, PromptsourceError, parse_task_spec
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

    def check_prompts(self, listings: list[PromptListing], data: DataOptions, tokenizer: GLMTokenizer,
                      sample: int = 64) -> list[PromptListing]:
        """Each listed template tried on the first `sample` train rows of the data (read once): its status says
        how many it turns into examples, how many it does not cover, or why it is broken (first error)."""
        schema = self._schema(data)
        raw = None
        out = []
        for listing in listings:
            try:
                chosen = make_prompt(self.dataset, self.subset, listing.id, tokenizer, allow_non_original=True)
                processor = PromptsourceProcessor(self.dataset, self.subset, chosen, schema=schema, skip_uncovered=True)
                if raw is None:
                    raw = processor.raw_rows(data.data_dir, "train")
                    assert raw is not None
                rows = processor.reader.read(raw.rows[:sample], raw.label_names, raw.strings_only)
                examples = processor._examples(rows, "train")
                render = chosen.parts if isinstance(chosen, PromptsourceCloze) else chosen.render_source
                for example in examples:  # the prompt as the model gets it (parts split at the fields)
                    render(example.meta["row"], example.guid, example.meta["where"])
                skipped = processor.data_record.get("skipped_uncovered", {}).get("train", {}).get("skipped", 0)
                status = f"ok on {len(examples)} of {len(rows)} sample rows" + (f" ({skipped} not covered: needs --skip-uncovered)" if skipped else "")
            except (DataError, PromptsourceError) as err:
                status = f"BROKEN: {str(err).splitlines()[0]}"
            out.append(replace(listing, status=status))
        return out

    @staticmethod
    def _schema(data: DataOptions) -> SchemaOptions:
        try:
            return SchemaOptions(parse_field_map(data.field_map), parse_label_names(data.label_names),
                                 parse_label_names(data.template_label_names))
        except ValueError as err:
            raise DataError(str(err)) from None

    def prepare(self, data: DataOptions, tokenizer: GLMTokenizer | None, *, prompt: int | str | None = None,
                seq_length: int = 512, with_pattern: bool = True, allow_non_original: bool = False) -> PreparedTask:
        if prompt is None:
            prompt = 0
        schema = self._schema(data)
        task = make_promptsource_task(self.name, tokenizer, seq_length, prompt, allow_non_original, data.data_dir,
                                      dev_fraction=data.dev_fraction, seed=data.data_seed, schema=schema,
                                      skip_uncovered=data.skip_uncovered, test_fraction=data.test_fraction)
        processor: PromptsourceProcessor = task.processor
        chosen = task.seq2seq if task.kind == "generation" else processor.prompt
        record = {"id": task.info.id, "name": task.info.name, "text": chosen.renderer.template.jinja,
                  "declared_metrics": list(task.info.metrics), "metrics": list(task.metrics)}
        if task.spec.unsupported_metrics:
            record["unsupported_metrics"] = list(task.spec.unsupported_metrics)
        if task.kind == "generation":
            return PreparedTask(self.name, "generation", processor, [], task.metrics, seq2seq_prompt=task.seq2seq, prompt=record)
        assert isinstance(chosen, PromptsourceCloze)
        return PreparedTask(self.name, "classification", processor, processor.get_labels(), task.metrics,
                            pvp=task.pvp if with_pattern else None, prompt=record)
