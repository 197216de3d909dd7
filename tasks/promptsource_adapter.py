"""promptsource templates as GLM blank-infilling prompts, with no code per data set.

A promptsource template is a jinja string whose rendering is split at "|||" into an input and a target, plus an
optional `answer_choices` expression. GLM reads it as follows:

* the rendered input, then one [MASK] (`"<input> [MASK]"`): the answer is the blank GLM fills;
* with answer choices (classification or multiple choice): each choice, with the single leading space a word
  has after the input, is a verbalizer. Fixed choices are single-token when every `" " + choice` is one BPE
  token, multi-token otherwise; choices that depend on the example are per-example candidates (multi-token).
  The gold answer is the rendered target matched against the example's choices;
* without answer choices (generation): the same source, and the rendered target is generated after
  `<|startofpiece|>`.

Why this module renders the jinja itself instead of calling `Template.apply`: `apply` cuts every field to 2048
characters without saying so, and returns one string, so a long article could not be truncated apart from the
instruction. Here the template is rendered with promptsource's own jinja environment (so every filter and
global it offers behaves the same) and no cut. Long text fields are rendered as sentinels first; the rendered
string is then split at the sentinels into fixed instruction parts and shortenable field parts, and the split
is accepted only if putting the field values back reproduces the plain rendering exactly.

Two more promptsource behaviours are changed on purpose, both for reproducibility: its `choice` filter draws
from the global `random` state on every call; here it draws from a generator seeded by the template and the
example, so one example always gets the same prompt (and the global random state is left alone). And a field
a template reads but the data lacks renders as an empty string in promptsource; here it is an error.

Prompt ids: the templates of a data set are numbered 0, 1, ... in the order of their names (Python's string
order, as promptsource's `all_template_names` lists them), over all templates, original-task or not, so an id
does not change with `--allow-non-original`. Ids are stable for a given promptsource version (0.2.3 is pinned).
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import os
import random
import re
import sys
import types
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import meta, pass_context

from model.tokenizer import GLMTokenizer
from tasks.base import PVP, DataProcessor, InputExample, Part, PromptTooLongError, truncate
from tasks.data_io import DataError, MissingSplitError, Row
from tasks.seq2seq.datasets import Seq2SeqExample
from tasks.seq2seq.layout import EncodedSeq2Seq, PromptError

SEPARATOR = "|||"
PREFIX = "promptsource:"
# Private-use code points around a number: no jinja filter that changes case or trims touches them, and no data
# set text contains them, so a sentinel survives rendering unchanged or the round-trip check below notices.
_SENTINEL = "\ue000{}\ue001"
_SENTINEL_RE = re.compile("\ue000(\\d+)\ue001")
DEFAULT_MIN_LONG_CHARS = 200

ChoiceKind = Literal["single-token", "multi-token", "per-example", "generation"]

# promptsource metric names -> ours. Accuracy also gets macro-F1 (class imbalance); ROUGE and BLEU are the
# generation metrics that tasks/seq2seq computes.
_METRICS: dict[str, tuple[str, ...]] = {
    "Accuracy": ("accuracy", "macro_f1"),
    "ROUGE": ("rouge1", "rouge2", "rougeL", "rougeLsum"),
    "BLEU": ("bleu",),
}


class PromptsourceError(ValueError):
    """A data set, subset, template or example that promptsource cannot turn into a GLM prompt; the message
    says what exists instead or how to fix it."""


class EmptyRenderError(PromptsourceError):
    """A template renders no input for an example (templates that cover only some examples, e.g. COPA's
    effect-only prompts, or labelled-only templates on a test split)."""


# --------------------------------------------------------------------------------------------- loading
@functools.cache
def promptsource_templates() -> types.ModuleType:
    """`promptsource.templates`, imported once.

    promptsource 0.2.3 calls `pkg_resources.resource_filename` at import time to find its template folder.
    `pkg_resources` ships with setuptools < 82 only; without it a stand-in that answers that one call is put in
    `sys.modules` for the duration of the import and removed afterwards, so no other library sees it. The
    deprecation warning `pkg_resources` prints on import is silenced: it is not actionable for our users.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        missing = object()
        before = sys.modules.get("pkg_resources", missing)
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("pkg_resources")
            stand_in.resource_filename = _resource_filename  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = stand_in
        else:
            stand_in = None
        try:
            import promptsource.templates as templates
        except ImportError as e:
            raise PromptsourceError(
                "promptsource is not installed; install it with "
                "`pip install --no-deps --ignore-requires-python promptsource==0.2.3` (it needs pyyaml, jinja2 "
                f"and pandas at run time) ({e})"
            ) from e
        finally:
            if stand_in is not None:
                if before is missing:
                    sys.modules.pop("pkg_resources", None)
                else:
                    sys.modules["pkg_resources"] = before  # type: ignore[assignment]
    return templates


def _resource_filename(package: str, resource: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot locate package {package!r}")
    return os.path.join(os.path.dirname(spec.origin), resource)


@functools.cache
def available_datasets() -> tuple[tuple[str, str | None], ...]:
    """Every (data set, subset) that promptsource has templates for, read from its template folder.

    Folder layout: `<dataset>/templates.yaml`, `<dataset>/<subset>/templates.yaml`, and for the users whose
    data sets promptsource includes, `<user>/<dataset>/templates.yaml` (data set name "user/dataset").
    """
    ps = promptsource_templates()
    root = ps.TEMPLATES_FOLDER_PATH
    found: list[tuple[str, str | None]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        if ps.DatasetTemplates.TEMPLATE_FILENAME not in files:
            continue
        parts = os.path.relpath(folder, root).split(os.sep)
        head = 2 if parts[0] in ps.INCLUDED_USERS else 1
        found.append(("/".join(parts[:head]), "/".join(parts[head:]) or None))
    return tuple(sorted(found, key=lambda p: (p[0], p[1] or "")))


def parse_task_spec(spec: str) -> tuple[str, str | None]:
    """`"promptsource:super_glue/copa"` (prefix optional) -> ("super_glue", "copa"). A spec that is itself a
    data set name ("Zaid/coqa_expanded") has no subset; otherwise the last "/" separates the subset."""
    spec = spec.removeprefix(PREFIX).strip()
    if not spec:
        raise PromptsourceError("empty promptsource task; write promptsource:<dataset> or promptsource:<dataset>/<subset>")
    if any(name == spec for name, _ in available_datasets()) or "/" not in spec:
        return spec, None
    dataset, subset = spec.rsplit("/", 1)
    return dataset, subset


def load_templates(dataset: str, subset: str | None = None) -> Any:
    """promptsource's `DatasetTemplates` for (dataset, subset), or an error naming what exists.

    promptsource itself returns an empty collection with a log warning for a name it does not know; a run
    would then fail much later or, worse, silently have no prompts.
    """
    known = available_datasets()
    if (dataset, subset) not in known:
        subsets = [s for d, s in known if d == dataset]
        label = dataset if subset is None else f"{dataset}/{subset}"
        if not subsets:
            names = sorted({d for d, _ in known})
            close = difflib.get_close_matches(dataset, names, n=5, cutoff=0.6)
            hint = f"; close names: {', '.join(close)}" if close else ""
            raise PromptsourceError(
                f"promptsource has no templates for data set {dataset!r}{hint} ({len(names)} data sets have templates; "
                "see promptsource's templates folder)"
            )
        with_subset = sorted(s for s in subsets if s is not None)
        if subset is None:
            raise PromptsourceError(
                f"promptsource's templates for {dataset!r} are per subset; name one: "
                + ", ".join(f"{dataset}/{s}" for s in with_subset)
            )
        close = difflib.get_close_matches(subset, with_subset, n=5, cutoff=0.5)
        hint = f"; close names: {', '.join(close)}" if close else ""
        listed = ", ".join(f"{dataset}/{s}" if s else dataset for s in sorted(subsets, key=lambda s: s or ""))
        raise PromptsourceError(f"promptsource has no templates for {label!r}{hint}; it has: {listed}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collection = promptsource_templates().DatasetTemplates(dataset, subset)
    if len(collection) == 0:  # a folder without templates: same symptom as an unknown name
        raise PromptsourceError(f"promptsource's template file for {dataset!r}/{subset!r} holds no templates")
    return collection


# --------------------------------------------------------------------------------------------- catalogue
def _label(dataset: str, subset: str | None) -> str:
    return dataset if subset is None else f"{dataset}/{subset}"


@dataclass(frozen=True)
class PromptInfo:
    """One template of a data set, as `--list-prompts` shows it."""

    id: int  # position in the name-sorted list of all the data set's templates
    name: str
    uuid: str  # promptsource's own template id
    original_task: bool
    answer_choices: str | None  # the jinja expression, None for generation templates
    fixed_choices: tuple[str, ...] | None  # the choices when they do not depend on the example
    choice_kind: ChoiceKind | None  # None when no tokenizer was given for fixed choices
    metrics: tuple[str, ...]  # promptsource's metric names

    def row(self) -> dict[str, Any]:
        """A flat dict for printing and JSON."""
        return {
            "id": self.id,
            "name": self.name,
            "original_task": self.original_task,
            "answer_choices": list(self.fixed_choices) if self.fixed_choices is not None else self.answer_choices,
            "choices": self.choice_kind,
            "metrics": list(self.metrics),
        }


def choice_kind(fixed_choices: Sequence[str] | None, has_choices: bool, tokenizer: GLMTokenizer | None) -> ChoiceKind | None:
    """How a template's answers are scored: `generation` without choices, `per-example` when the choices
    depend on the example, else `single-token` iff every " " + choice is one BPE token (None: no tokenizer)."""
    if not has_choices:
        return "generation"
    if fixed_choices is None:
        return "per-example"
    if tokenizer is None:
        return None
    return "single-token" if all(len(tokenizer.encode(" " + c)) == 1 for c in fixed_choices) else "multi-token"


def _info(index: int, template: Any, tokenizer: GLMTokenizer | None) -> PromptInfo:
    fixed = template.get_fixed_answer_choices_list()
    expr = template.get_answer_choices_expr()
    return PromptInfo(
        id=index,
        name=template.get_name(),
        uuid=template.get_id(),
        original_task=bool(template.metadata.original_task),
        answer_choices=expr,
        fixed_choices=tuple(fixed) if fixed is not None else None,
        choice_kind=choice_kind(fixed, expr is not None, tokenizer),
        metrics=tuple(template.metadata.metrics or ()),
    )


def list_prompts(dataset: str, subset: str | None = None, tokenizer: GLMTokenizer | None = None) -> list[PromptInfo]:
    """Every template of the data set in id order, original-task or not (the row says which)."""
    collection = load_templates(dataset, subset)
    return [_info(i, collection[name], tokenizer) for i, name in enumerate(collection.all_template_names)]


def format_prompts(infos: Sequence[PromptInfo]) -> str:
    """A plain-text table of `list_prompts` rows, as `--list-prompts` prints it."""
    lines = [f"{'id':>3}  {'original':8}  {'answers':12}  {'name':40}  answer choices"]
    for p in infos:
        choices = " | ".join(p.fixed_choices) if p.fixed_choices is not None else (p.answer_choices or "-")
        lines.append(f"{p.id:>3}  {'yes' if p.original_task else 'no':8}  {p.choice_kind or '?':12}  {p.name:40}  {choices}")
    return "\n".join(lines)


def select(dataset: str, subset: str | None, name_or_id: str | int, allow_non_original: bool = False) -> tuple[PromptInfo, Any]:
    """The template named `name_or_id` (or with that id; "promptsource:" before it is allowed), and its info.

    A template that promptsource does not mark `original_task` asks for something else than the data set's
    task (e.g. generating the review from the rating); using one must be asked for explicitly.
    """
    collection = load_templates(dataset, subset)
    names = collection.all_template_names
    label = _label(dataset, subset)
    key = name_or_id.removeprefix(PREFIX) if isinstance(name_or_id, str) else name_or_id
    # Some names end in a space (imdb's "Sentiment with choices "), which a shell argument easily loses.
    loose = [n for n in names if isinstance(key, str) and n.strip() == key.strip()]
    if isinstance(key, str) and key in names:
        index = names.index(key)
    elif len(loose) == 1:
        index = names.index(loose[0])
    elif isinstance(key, int) or (isinstance(key, str) and key.strip().isdigit()):
        index = int(key)
        if not 0 <= index < len(names):
            raise PromptsourceError(f"{label} has no prompt id {index}; its ids are 0..{len(names) - 1}:\n{_listing(names)}")
    else:
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        hint = f" Close names: {', '.join(repr(c) for c in close)}." if close else ""
        raise PromptsourceError(f"{label} has no promptsource template {key!r}.{hint} Available (id: name):\n{_listing(names)}")
    template = collection[names[index]]
    info = _info(index, template, None)
    if not info.original_task and not allow_non_original:
        raise PromptsourceError(
            f"template {info.name!r} (id {index}) of {label} is not marked original_task in promptsource: it does not "
            "ask for the data set's own task. Pass --allow-non-original to use it anyway."
        )
    return info, template


def _listing(names: Sequence[str]) -> str:
    return "\n".join(f"  {i}: {n}" for i, n in enumerate(names))


@dataclass(frozen=True)
class TaskSpec:
    """What a promptsource task is, from template metadata: the kind of prompt, the label space of the chosen
    template (None for per-example choices and generation) and the metrics, first one for model selection."""

    dataset: str
    subset: str | None
    kind: Literal["classification", "generation"]
    labels: tuple[str, ...] | None  # label names: "0", "1", ... index the template's answer choices
    label_words: tuple[str, ...] | None  # the fixed answer choices those indices name
    metrics: tuple[str, ...]
    unsupported_metrics: tuple[str, ...]  # promptsource metrics with no implementation here (e.g. "Squad")


def task_spec(dataset: str, subset: str | None = None, prompt: str | int | None = None, allow_non_original: bool = False) -> TaskSpec:
    """The task as the chosen template describes it, or, without `prompt`, as its original-task templates do
    (they must then agree on classification vs generation)."""
    if prompt is not None:
        infos = [select(dataset, subset, prompt, allow_non_original)[0]]
    else:
        infos = [p for p in list_prompts(dataset, subset) if p.original_task]
        if not infos:
            raise PromptsourceError(f"{_label(dataset, subset)} has no original-task template; choose one with --prompt and --allow-non-original")
        if len({p.answer_choices is None for p in infos}) > 1:
            raise PromptsourceError(
                f"{_label(dataset, subset)} has original-task templates with and without answer choices; the task kind "
                "depends on the prompt, so pass one with --prompt"
            )
    kind: Literal["classification", "generation"] = "generation" if infos[0].answer_choices is None else "classification"
    names = [m for p in infos for m in p.metrics]
    ours = [m for name in names for m in _METRICS.get(name, ())]
    if kind == "classification" and "accuracy" not in ours:
        ours[:0] = _METRICS["Accuracy"]  # every cloze classification can at least be scored by accuracy
    if kind == "generation" and not ours:
        ours = [*_METRICS["ROUGE"], *_METRICS["BLEU"]]
    fixed = infos[0].fixed_choices if len(infos) == 1 else None
    return TaskSpec(
        dataset=dataset,
        subset=subset,
        kind=kind,
        labels=tuple(str(i) for i in range(len(fixed))) if fixed is not None else None,
        label_words=fixed,
        metrics=tuple(dict.fromkeys(ours)),
        unsupported_metrics=tuple(sorted({n for n in names if n not in _METRICS})),
    )


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

    def encode_example(self, tokenizer: GLMTokenizer, example: Seq2SeqExample, *, src_len: int, tgt_len: int) -> EncodedSeq2Seq:
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


# --------------------------------------------------------------------------------------------- task API
class PromptsourcePVP(PVP):
    """A promptsource cloze prompt in the project's PVP interface (one pattern: the chosen template).

    Examples carry their record in `meta["row"]` (see `PromptsourceProcessor`). Labels are "0", "1", ...;
    with per-example candidates there is no fixed label list, so `label_index` reads the index from the label
    and checks it against the example's own candidates.
    """

    def __init__(self, prompt: PromptsourceCloze, label_list: Sequence[str], max_seq_length: int):
        self.prompt = prompt
        self.available_patterns = {prompt.info.id: f"promptsource: {prompt.info.name}"}
        super().__init__(prompt.tokenizer, label_list, max_seq_length, pattern_id=prompt.info.id)

    @property
    def is_multi_token(self) -> bool:
        return self.prompt.is_multi_token

    def get_parts(self, example: InputExample) -> tuple[list[Part], list[Part]]:
        return self.prompt.parts(_row(example), example.guid, _where(example))

    def verbalize(self, label: str) -> list[str]:
        words = self.prompt.label_words
        if words is None:
            raise TypeError(f"template {self.prompt.info.name!r} has per-example answer choices; use get_answers(example)")
        return [" " + words[int(label)]]

    def get_answers(self, example: InputExample) -> list[str]:
        if self.prompt.per_example:
            return self.prompt.candidates(_row(example), example.guid, _where(example))
        return super().get_answers(example)

    def label_index(self, example: InputExample) -> int:
        if not self.prompt.per_example:
            return super().label_index(example)
        if example.label is None:
            return -1
        index = int(example.label)
        if not 0 <= index < example.num_choices:
            raise DataError(f"example {example.guid!r}: label {example.label!r} is not one of its {example.num_choices} candidates")
        return index


def _row(example: InputExample) -> Mapping[str, Any]:
    if "row" not in example.meta:
        raise DataError(f"example {example.guid!r} has no meta['row']; promptsource prompts read the data set record from there")
    return example.meta["row"]


def _where(example: InputExample) -> str:
    return f"{example.meta.get('where', '')} (example {example.guid})".strip()


class PromptsourceProcessor(DataProcessor):
    """Examples of a promptsource data set for one template, from `--data-dir` or the hub.

    Each example keeps its record (`meta["row"]`, the template reads it), the rendered input as `text_a`
    (for logs, predictions and the linear-head baseline), and, for generation templates, the rendered answer
    in `meta["target"]`. Classification labels are "0", "1", ...: the index of the rendered answer among the
    example's answer choices. Rendering errors (empty input, a field the data lacks, an answer that is no
    choice) surface when the split is read, naming file:line.

    Hub splits are looked up when first needed, so a data set without a validation split (AG News) gets a
    stratified dev part of train, as for the hand-written tasks.
    """

    def __init__(self, dataset: str, subset: str | None, prompt: PromptsourceCloze | PromptsourceSeq2Seq,
                 dev_fraction: float = 0.1, seed: int = 42):
        super().__init__(dev_fraction=dev_fraction, seed=seed)
        self.hub_name = dataset
        self.hub_subset = subset
        self.prompt = prompt
        self.fields = tuple(sorted(prompt.renderer.fields_read))
        self._hub_splits: dict[str, str | None] | None = None
        self._max_choices = 0

    @property
    def hub_splits(self) -> dict[str, str | None]:  # type: ignore[override]
        if self._hub_splits is None:
            self._hub_splits = _hub_split_names(self.hub_name, self.hub_subset, self.fields)
        return self._hub_splits

    def get_labels(self) -> list[str]:
        """"0".."k-1" over the template's fixed choices; with per-example choices, over the most candidates any
        example read so far has (the PVP checks each example against its own candidates)."""
        if isinstance(self.prompt, PromptsourceSeq2Seq):
            return []
        words = self.prompt.label_words
        return [str(i) for i in range(len(words) if words is not None else self._max_choices)]

    def create_example(self, row: Row, guid: str, idx: int) -> InputExample:
        where = f"{row.where} (example {guid})"
        rendered = self.prompt.renderer.render(row.fields, guid, where, split=False)
        meta: dict[str, Any] = {"row": row.fields, "where": row.where}
        if isinstance(self.prompt, PromptsourceSeq2Seq):
            meta["target"] = rendered.target or None
            return InputExample(guid=guid, text_a=rendered.input_text, meta=meta, idx=idx)
        gold = self.prompt.gold_of(rendered, row.fields, where)
        choices = rendered.choices or ()
        self._max_choices = max(self._max_choices, len(choices))
        return InputExample(guid=guid, text_a=rendered.input_text, label=None if gold is None else str(gold), meta=meta,
                            idx=idx, num_choices=len(choices))


class PromptsourceSeq2SeqProcessor:
    """The examples of a generation template as `tasks.seq2seq` reads them: `Seq2SeqExample(guid, source=the
    rendered input, target=the rendered answer or None, idx, meta={"row", "where"})`. Reading, dev splitting and
    errors are `PromptsourceProcessor`'s."""

    def __init__(self, examples: PromptsourceProcessor):
        self.examples = examples

    @property
    def data_record(self) -> dict[str, Any]:
        return self.examples.data_record

    def get_train_examples(self, data_dir: str | None = None) -> list[Seq2SeqExample]:
        return self._convert(self.examples.get_train_examples(data_dir))

    def get_dev_examples(self, data_dir: str | None = None) -> list[Seq2SeqExample]:
        return self._convert(self.examples.get_dev_examples(data_dir))

    def get_test_examples(self, data_dir: str | None = None) -> list[Seq2SeqExample]:
        return self._convert(self.examples.get_test_examples(data_dir))

    @staticmethod
    def _convert(examples: list[InputExample]) -> list[Seq2SeqExample]:
        return [Seq2SeqExample(e.guid, e.text_a, e.meta["target"], e.idx, e.meta) for e in examples]


def _hub_split_names(dataset: str, subset: str | None, fields: Sequence[str]) -> dict[str, str | None]:
    """Our train/dev/test -> the hub data set's split names (dev: validation, valid or dev; None if absent)."""
    import datasets  # heavy, and only the hub path needs it

    try:
        names = datasets.get_dataset_split_names(dataset, subset)
    except Exception as e:  # noqa: BLE001 - offline, unknown or gated: the remedy is the same
        raise DataError(
            f"could not reach the Hugging Face data set {_label(dataset, subset)!r} ({type(e).__name__}: {e}). Offline or "
            f"not on the hub? Pass local files instead: --data-dir DIR holding train.jsonl, dev.jsonl (optional) and "
            f"test.jsonl, or the same names with .csv, whose records have the fields {', '.join(fields)} as in the hub "
            "data set."
        ) from e
    dev = next((n for n in ("validation", "valid", "dev") if n in names), None)
    return {"train": "train", "dev": dev, "test": "test" if "test" in names else None}


@dataclass
class PromptsourceTask:
    """What `--task promptsource:<dataset>[/<subset>]` gives the driver.

    `kind` says which half applies: "classification" -> `pvp` (a `tasks.base.PVP`, single- or multi-token,
    for the layouts in `tasks.layout`) and a processor of `InputExample`s; "generation" -> `seq2seq`
    (`encode_example(tokenizer, example, src_len=, tgt_len=)` gives `tasks.seq2seq.layout.EncodedSeq2Seq`) and
    a processor of `Seq2SeqExample`s. `processor.get_train_examples(data_dir)` etc. read the splits.
    """

    name: str  # "promptsource:<dataset>[/<subset>]"
    spec: TaskSpec
    info: PromptInfo
    processor: PromptsourceProcessor | PromptsourceSeq2SeqProcessor
    pvp: PromptsourcePVP | None
    seq2seq: PromptsourceSeq2Seq | None
    data_dir: str | None

    @property
    def kind(self) -> Literal["classification", "generation"]:
        return self.spec.kind

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.spec.metrics

    def get_train_examples(self) -> list[InputExample] | list[Seq2SeqExample]:
        return self.processor.get_train_examples(self.data_dir)

    def get_dev_examples(self) -> list[InputExample] | list[Seq2SeqExample]:
        return self.processor.get_dev_examples(self.data_dir)

    def get_test_examples(self) -> list[InputExample] | list[Seq2SeqExample]:
        return self.processor.get_test_examples(self.data_dir)


def make_promptsource_task(spec: str, tokenizer: GLMTokenizer, max_seq_length: int, prompt: str | int,
                           allow_non_original: bool = False, data_dir: str | None = None, *,
                           long_fields: Sequence[str] | None = None, dev_fraction: float = 0.1, seed: int = 42) -> PromptsourceTask:
    """Everything a run needs for `--task promptsource:<dataset>[/<subset>] --prompt <name or id>`.

    With per-example answer choices the PVP's label list ("0".."k-1", k the most candidates of any example) is
    only known after reading the data; every split is read here, so a bad template/data pairing also fails
    here, before any model is loaded.
    """
    dataset, subset = parse_task_spec(spec)
    chosen = make_prompt(dataset, subset, prompt, tokenizer, allow_non_original, long_fields)
    processor = PromptsourceProcessor(dataset, subset, chosen, dev_fraction=dev_fraction, seed=seed)
    pvp = None
    if isinstance(chosen, PromptsourceCloze):
        if chosen.per_example:
            processor.get_train_examples(data_dir)  # dev too: the base reads them together
            try:
                processor.get_test_examples(data_dir)
            except MissingSplitError:  # a data set without a test split; the driver decides what that means
                pass
        pvp = PromptsourcePVP(chosen, processor.get_labels(), max_seq_length)
    return PromptsourceTask(
        name=PREFIX + _label(dataset, subset),
        spec=task_spec(dataset, subset, chosen.info.id, allow_non_original),
        info=chosen.info,
        processor=processor if isinstance(chosen, PromptsourceCloze) else PromptsourceSeq2SeqProcessor(processor),
        pvp=pvp,
        seq2seq=chosen if isinstance(chosen, PromptsourceSeq2Seq) else None,
        data_dir=data_dir,
    )
