"""A chosen template as a GLM prompt: a cloze prompt (answer choices) or a seq2seq prompt (none)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from model.tokenizer import GLMTokenizer
from tasks.base import (
    InputExample,
    PromptTooLongError,
    truncate,
)
from tasks.seq2seq.layout import EncodedSeq2Seq, PromptError

from .catalogue import PromptInfo, _info, choice_kind, select
from .loading import PromptsourceError
from .render import DEFAULT_MIN_LONG_CHARS, RenderedPrompt, TemplateRenderer


# --------------------------------------------------------------------------------------------- prompts
@dataclass(frozen=True)
class PromptsourceCloze:
    """A template with answer choices as a cloze prompt: parts + [MASK], verbalizers " " + choice.

    Labels are the strings "0", "1", ...: indices into the template's answer choices (for the usual
    `answer_choices[label]` templates, the data set's own label ids). With fixed choices every example shares
    them (`label_words`); with per-example choices the candidates come from `candidates(row)`.
    """

    info: PromptInfo
    renderer: TemplateRenderer
    tokenizer: GLMTokenizer

    @property
    def per_example(self) -> bool:
        return self.renderer.fixed_choices is None

    @property
    def label_words(self) -> tuple[str, ...] | None:
        return self.renderer.fixed_choices

    @functools.cached_property
    def is_multi_token(self) -> bool:
        return choice_kind(self.label_words, True, self.tokenizer) != "single-token"

    def parts(self, row: Mapping[str, Any], key: str, where: str = "") -> tuple[list[Any], list[Any]]:
        """(parts_a, parts_b) in the PVP contract: the rendered input, then the mask id; parts_b is empty."""
        rendered = self.renderer.render(row, key, where)
        return [text if not short else (text, True) for text, short in rendered.parts] + [[self.tokenizer.mask_id]], []

    def candidates(self, row: Mapping[str, Any], key: str, where: str = "") -> list[str]:
        choices = self.renderer.answer_choices(row, key, where)
        assert choices is not None  # a cloze prompt always has an answer_choices expression
        return [" " + c for c in choices]

    def gold(self, row: Mapping[str, Any], key: str, where: str = "") -> int | None:
        """Index of the rendered target among the example's choices; None for an unlabelled example.

        Unlabelled: the template renders no target (it guards on the label), or the row's `label` is -1, the
        Hugging Face "no label" value, which an unguarded `answer_choices[label]` would turn into the last
        choice.
        """
        return self.gold_of(self.renderer.render(row, key, where, split=False), row, where or key)

    def gold_of(self, rendered: RenderedPrompt, row: Mapping[str, Any], where: str) -> int | None:
        """`gold` for an example already rendered."""
        if not rendered.target or row.get("label") == -1:
            return None
        assert rendered.choices is not None
        if rendered.target not in rendered.choices:
            raise PromptsourceError(
                f"{where}: template {self.renderer.name!r} renders the answer {rendered.target!r}, which is not one "
                f"of its answer choices {list(rendered.choices)}"
            )
        return rendered.choices.index(rendered.target)


@dataclass(frozen=True)
class PromptsourceSeq2Seq:
    """A template without answer choices as a GLM seq2seq prompt: source parts + [MASK]; the target is the
    rendered answer (generated after `<|startofpiece|>`; the seq2seq layout prepends its space)."""

    info: PromptInfo
    renderer: TemplateRenderer
    tokenizer: GLMTokenizer

    def render_source(self, row: Mapping[str, Any], key: str = "", where: str = "") -> list[Any]:
        rendered = self.renderer.render(row, key, where)
        return [text if not short else (text, True) for text, short in rendered.parts] + [[self.tokenizer.mask_id]]

    def render_target(self, row: Mapping[str, Any], key: str = "", where: str = "") -> str:
        """The rendered answer; "" when the template gives none for this example (unlabelled)."""
        return self.renderer.render(row, key, where, split=False).target

    def encode_example(self, tokenizer: GLMTokenizer, example: InputExample, *, src_len: int, tgt_len: int) -> EncodedSeq2Seq:
        """`[CLS] source [MASK] </s>` in at most `src_len` tokens, the long fields cut by upstream's rule (the end
        of the last shortenable part first; the instruction never), and the target `BPE(" " + answer) + [eop]`
        cut to `tgt_len`, as the hand-written seq2seq prompts encode theirs. The record is `meta["row"]`."""
        where = f"{example.meta.get('where', '')} (example {example.guid})".strip()
        parts = self.render_source(example.meta["row"], example.guid, where)
        encoded = [(list(p), False) if isinstance(p, list) else (tokenizer.encode(p), False) if isinstance(p, str)
                   else (tokenizer.encode(p[0]), True) for p in parts]
        if any(tokenizer.mask_id in ids for ids, _ in encoded[:-1]):
            raise PromptError(f"{where}: the source text itself contains [MASK]; the prompt's mask would be ambiguous")
        try:
            kept, _ = truncate(encoded, [], src_len - 2)  # room for [CLS] and </s>
        except PromptTooLongError:
            fixed = sum(len(ids) for ids, short in encoded if not short)
            raise PromptError(
                f"{where}: template {self.info.name!r} needs {fixed} fixed tokens (its words and [MASK]) plus [CLS] and "
                f"</s>, over --src-seq-length {src_len}; raise it or choose a shorter template"
            ) from None
        body = [t for ids, _ in kept for t in ids]
        target = None if example.target is None else (tokenizer.encode(" " + example.target) + [tokenizer.eop_id])[:tgt_len]
        return EncodedSeq2Seq(example.guid, [tokenizer.cls_id, *body, tokenizer.eos_id], len(body), target,
                              source_truncated=sum(len(ids) for ids, _ in encoded) - len(body))


def make_prompt(dataset: str, subset: str | None, prompt: str | int, tokenizer: GLMTokenizer, allow_non_original: bool = False,
                long_fields: Sequence[str] | None = None, min_long_chars: int = DEFAULT_MIN_LONG_CHARS) -> PromptsourceCloze | PromptsourceSeq2Seq:
    """The chosen template of (dataset, subset) as a cloze prompt (answer choices) or a seq2seq prompt (none)."""
    info, template = select(dataset, subset, prompt, allow_non_original)
    info = _info(info.id, template, tokenizer)
    renderer = TemplateRenderer(template, long_fields, min_long_chars)
    if info.answer_choices is None:
        return PromptsourceSeq2Seq(info, renderer, tokenizer)
    return PromptsourceCloze(info, renderer, tokenizer)
