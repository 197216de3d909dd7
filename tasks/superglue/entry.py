"""The registry entries of the eight SuperGLUE tasks (`--task RTE`, `--task ReCoRD`, ...; case-insensitive).

`prepare` builds the task's processor for the chosen file layout (official, hub schema or FewGLUE) and its PVP
for the chosen pattern. `multi_token=True` (upstream's --multi-token) scores the label words of a single-token
task as multi-token answers, for vocabularies in which a label word is several tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from model.tokenizer import GLMTokenizer
from tasks.registry import DataOptions, PreparedTask, PromptChoiceError, PromptListing, TaskEntry, TaskKind, _pattern_id
from tasks.superglue import TASK_INFO, TaskInfo
from tasks.superglue.processors import SuperGlueProcessor, WscProcessor
from tasks.upstream import UpstreamPVP

# The names upstream's TASK_NAME uses, shown by the registry; matching is case-insensitive.
DISPLAY_NAMES = {"rte": "RTE", "cb": "CB", "boolq": "BoolQ", "wic": "WiC", "copa": "COPA", "wsc": "WSC", "multirc": "MultiRC",
                 "record": "ReCoRD"}  # fmt: skip


def multi_token_pvp(pvp_class: type[UpstreamPVP]) -> type[UpstreamPVP]:
    """The same patterns with every label word scored as a multi-token answer (BPE + eop), candidates in label order."""
    return type(f"MultiToken{pvp_class.__name__}", (pvp_class,), {"is_multi_token": property(lambda self: True)})


@dataclass(frozen=True)
class SuperGlueTask(TaskEntry):
    name: str
    info: TaskInfo
    aliases: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> TaskKind:  # type: ignore[override]
        return "multiple_choice" if self.info.kind == "multiple_choice" else "classification"

    @property
    def metrics(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.info.metrics

    def processor(self, data: DataOptions, *, cloze_eval: bool = True) -> SuperGlueProcessor:
        cls = self.info.processor
        if cls is WscProcessor or issubclass(cls, WscProcessor):
            return cls(data.dev_fraction, data.data_seed, few_superglue=data.few_superglue, cloze_eval=cloze_eval)
        return cls(data.dev_fraction, data.data_seed, few_superglue=data.few_superglue)

    def _listing(self) -> str:
        return "; ".join(f"{i}: {d}" for i, d in self.info.patterns.items())

    def prompts(self, tokenizer: GLMTokenizer | None) -> list[PromptListing]:
        out = []
        labels = self.info.processor().get_labels()
        for pattern_id, description in self.info.patterns.items():
            kind = "multi-token" if self.info.multi_token else "single-token"
            if tokenizer is not None and not self.info.multi_token:
                try:
                    self.info.pvp(tokenizer, labels, 512, pattern_id=pattern_id)
                except ValueError:
                    kind = "multi-token"  # a label word is several tokens in this vocabulary: needs --multi-token
            out.append(PromptListing(pattern_id, f"p{pattern_id}", kind, description))
        return out

    def prepare(self, data: DataOptions, tokenizer: GLMTokenizer | None, *, prompt: int | str | None = None,
                seq_length: int = 512, with_pattern: bool = True, allow_non_original: bool = False,
                multi_token: bool = False) -> PreparedTask:  # fmt: skip
        offered = list(self.info.patterns)
        pattern_id = self.info.hyperparameters.pattern_id if prompt is None else _pattern_id(self.name, prompt, offered, self._listing())
        processor = self.processor(data, cloze_eval=with_pattern)
        labels = processor.get_labels()
        pvp = None
        if with_pattern and tokenizer is not None:
            pvp_class = multi_token_pvp(self.info.pvp) if multi_token and not self.info.multi_token else self.info.pvp
            try:
                pvp = pvp_class(tokenizer, labels, seq_length, pattern_id=pattern_id)
            except ValueError as err:
                raise PromptChoiceError(f"{err}. Pass --multi-token to score the label words as multi-token answers") from None
        record = {"id": pattern_id, "name": f"p{pattern_id}", "text": self.info.patterns[pattern_id]}
        return PreparedTask(DISPLAY_NAMES[self.name], self.kind, processor, labels, self.metrics, pvp=pvp, prompt=record)


def entries() -> tuple[SuperGlueTask, ...]:
    return tuple(SuperGlueTask(name, info) for name, info in TASK_INFO.items())
