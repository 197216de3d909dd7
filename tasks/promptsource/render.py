"""Rendering a template without promptsource's silent cuts: fixed instruction parts and shortenable field parts."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import meta, pass_context

from .loading import (
    SEPARATOR,
    EmptyRenderError,
    PromptsourceError,
    promptsource_templates,
)

# Private-use code points around a number: no jinja filter that changes case or trims touches them, and no data
# set text contains them, so a sentinel survives rendering unchanged or the round-trip check below notices.
_SENTINEL = "\ue000{}\ue001"
_SENTINEL_RE = re.compile("\ue000(\\d+)\ue001")
DEFAULT_MIN_LONG_CHARS = 200


# --------------------------------------------------------------------------------------------- rendering
@dataclass(frozen=True)
class RenderedPrompt:
    """One example under one template.

    `parts` are the input side as (text, shortenable) pairs whose concatenation is the rendered input exactly
    (`input_text`); spaces in front of a field move into the field's part, so each part BPE-encodes as it would
    inside the whole string. `target` is the rendered answer ("" when the template gives none, e.g. unlabelled
    test data); `choices` the example's answer choices (None for generation templates).
    """

    parts: tuple[tuple[str, bool], ...]
    target: str
    choices: tuple[str, ...] | None
    split_by_field: bool = True  # False: the long fields could not be located; the input is one fixed part

    @property
    def input_text(self) -> str:
        return "".join(text for text, _ in self.parts)


class TemplateRenderer:
    """Renders one promptsource template for examples given as dicts in the data set's Hugging Face schema.

    Which fields truncation may cut (`shortenable_fields`): those named in `long_fields` when given; otherwise,
    per example, the longest text field the template reads (the article, the passage, the dialogue) and any
    other over `min_long_chars` characters. Short fields (a question, an answer option) stay fixed, because
    upstream truncation cuts the last shortenable part first and those usually follow the passage.
    """

    def __init__(self, template: Any, long_fields: Sequence[str] | None = None, min_long_chars: int = DEFAULT_MIN_LONG_CHARS):
        ps = promptsource_templates()
        self.template = template
        self.name = template.get_name()
        self.long_fields = tuple(long_fields) if long_fields is not None else None
        self.min_long_chars = min_long_chars
        self._protector: str = ps.Template.pipe_protector
        self._rng = random.Random()
        # promptsource's environment (its filters and globals) with a `choice` filter drawing from our generator.
        # `pass_context` keeps jinja from evaluating `[...] | choice` once at compile time (constant folding),
        # which would freeze one draw for every example since the template is compiled once here.
        @pass_context
        def choice(_context: Any, items: Sequence[Any]) -> Any:
            return self._rng.choice(items)

        env = ps.env.overlay()
        env.filters = {**ps.env.filters, "choice": choice}
        self._body = env.from_string(template.jinja)
        expr = template.get_answer_choices_expr()
        self._choices = env.from_string(expr) if expr is not None else None
        fixed = template.get_fixed_answer_choices_list()
        self.fixed_choices: tuple[str, ...] | None = tuple(fixed) if fixed is not None else None
        reads = meta.find_undeclared_variables(ps.env.parse(template.jinja))
        if expr is not None:
            reads |= meta.find_undeclared_variables(ps.env.parse(expr))
        self.fields_read = frozenset(reads - set(ps.env.globals) - {"answer_choices"})

    # ------------------------------------------------------------------ public
    def render(self, row: Mapping[str, Any], key: str = "", where: str = "", split: bool = True) -> RenderedPrompt:
        """Render `row` (`key` seeds the template's random choices; `where` names the example in errors).
        With `split=False` the input is one fixed part: enough for its text, target and choices, and cheaper."""
        where = where or key or "example"
        self._check_fields(row, where)
        choices = self._render_choices(row, key, where)
        pieces = self._render_pieces(row, choices, key, where)
        input_text = self._unescape(pieces[0]).strip()
        target = self._unescape(pieces[1]).strip()
        if not split:
            return RenderedPrompt(((input_text, False),), target, choices)
        long = self.shortenable_fields(row)
        parts = self._split_at_fields(row, long, choices, key, input_text)
        if parts is None:  # some field is transformed by the template; keep those that round-trip on their own
            alone = [f for f in long if self._split_at_fields(row, [f], choices, key, input_text) is not None]
            parts = self._split_at_fields(row, alone, choices, key, input_text) if alone else None
        if parts is None:
            # Cutting this input from its end could cut the instruction, so nothing is cut: an example that does
            # not fit is then an error from truncation rather than a silently different prompt.
            return RenderedPrompt(((input_text, False),), target, choices, split_by_field=False)
        return RenderedPrompt(parts, target, choices)

    def shortenable_fields(self, row: Mapping[str, Any]) -> list[str]:
        """The fields of `row` that truncation may cut: `long_fields` when given, otherwise the longest
        non-empty string field the template reads and every other one over `min_long_chars` characters."""
        if self.long_fields is not None:
            return [f for f in self.long_fields if isinstance(row.get(f), str) and row[f]]
        texts = {f: v for f, v in row.items() if f in self.fields_read and isinstance(v, str) and v.strip()}
        if not texts:
            return []
        longest = max(texts, key=lambda f: len(texts[f]))
        return [f for f, v in texts.items() if f == longest or len(v) > self.min_long_chars]

    def answer_choices(self, row: Mapping[str, Any], key: str = "", where: str = "") -> tuple[str, ...] | None:
        return self._render_choices(row, key, where or key or "example")

    # ------------------------------------------------------------------ internals
    def _check_fields(self, row: Mapping[str, Any], where: str) -> None:
        if "answer_choices" in row:
            raise PromptsourceError(f"{where}: a field named 'answer_choices' clashes with the template variable of that name")
        missing = sorted(self.fields_read - set(row))
        if missing:
            raise PromptsourceError(
                f"{where}: template {self.name!r} reads the field(s) {', '.join(missing)}, which the example lacks "
                f"(it has {', '.join(sorted(row))}); the data must use the Hugging Face schema the template was written for"
            )

    def _escape(self, row: Mapping[str, Any]) -> dict[str, Any]:
        # As promptsource does: a "|||" inside a text must not split the rendering.
        return {k: v.replace(SEPARATOR, self._protector) if isinstance(v, str) else v for k, v in row.items()}

    def _unescape(self, text: str) -> str:
        return text.replace(self._protector, SEPARATOR)

    def _seed(self, key: str) -> None:
        self._rng.seed(f"{self.template.get_id()}\x1f{key}")

    def _render_choices(self, row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        if self._choices is None:
            return None
        self._seed(key)
        rendered = self._choices.render(**self._escape(row))
        choices = tuple(self._unescape(c.strip()) for c in rendered.split(SEPARATOR))
        if any(not c for c in choices):
            raise PromptsourceError(f"{where}: template {self.name!r} gives an empty answer choice for this example: {list(choices)}")
        return choices

    def _render_pieces(self, row: Mapping[str, Any], choices: tuple[str, ...] | None, key: str, where: str) -> list[str]:
        self._seed(key)
        values = self._escape(row)
        values["answer_choices"] = list(choices) if choices is not None else None
        pieces = self._body.render(**values).split(SEPARATOR)
        if (len(pieces) == 1 and not pieces[0].strip()) or (len(pieces) == 2 and not pieces[0].strip()):
            raise EmptyRenderError(
                f"{where}: template {self.name!r} renders an empty input for this example (it covers only some "
                "examples, e.g. under a condition on a field, or needs a label the example lacks); choose another "
                "template with --prompt"
            )
        if len(pieces) != 2:
            raise PromptsourceError(
                f"{where}: template {self.name!r} renders {len(pieces)} '|||'-separated pieces for this example; "
                "a prompt needs exactly an input and a target"
            )
        return pieces

    def _split_at_fields(self, row: Mapping[str, Any], fields: Sequence[str], choices: tuple[str, ...] | None, key: str,
                         input_text: str) -> tuple[tuple[str, bool], ...] | None:
        """Input parts with each of `fields` as its own shortenable part, or None when the sentinel rendering
        does not reproduce `input_text` (the template slices, filters or tests that field)."""
        if not fields:
            return ((input_text, False),)
        marked = dict(row)
        for i, name in enumerate(fields):
            marked[name] = _SENTINEL.format(i)
        try:
            raw = self._render_pieces(marked, choices, key, "")[0]
        except Exception:  # noqa: BLE001 - a sentinel the template cannot handle (e.g. int() of it): no split
            return None
        segments: list[list[Any]] = []  # [text, shortenable]
        pos = 0
        for match in _SENTINEL_RE.finditer(raw):
            segments.append([self._unescape(raw[pos : match.start()]), False])
            index = int(match.group(1))
            if index >= len(fields):
                return None
            segments.append([row[fields[index]], True])
            pos = match.end()
        segments.append([self._unescape(raw[pos:]), False])
        # The real input is stripped at both ends; strip the same way across segment boundaries.
        for seg in segments:
            seg[0] = seg[0].lstrip()
            if seg[0]:
                break
        for seg in reversed(segments):
            seg[0] = seg[0].rstrip()
            if seg[0]:
                break
        # Spaces before a field belong to the field's first word, as in the BPE of the whole string.
        for prev, seg in zip(segments, segments[1:]):
            if seg[1] and not prev[1]:
                stripped = prev[0].rstrip(" ")
                seg[0] = prev[0][len(stripped) :] + seg[0]
                prev[0] = stripped
        parts = tuple((text, short) for text, short in segments if text)
        if "".join(text for text, _ in parts) != input_text:
            return None
        return parts
