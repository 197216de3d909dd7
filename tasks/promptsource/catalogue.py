"""The templates of a data set as numbered prompts: ids, kinds (single-/multi-token, per-example, generation),
selection by name or id, and the task-level facts a template declares (metrics)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from model.tokenizer import GLMTokenizer

from .loading import PREFIX, PromptsourceError, load_templates

ChoiceKind = Literal["single-token", "multi-token", "per-example", "generation"]

# promptsource metric names -> ours. Accuracy also gets macro-F1 (class imbalance) when the classes are fixed
# (per-example answer choices are positions, whose F1 means nothing); ROUGE and BLEU are the generation metrics
# of tasks/seq2seq; Squad is SQuAD's EM/F1 of the generated answer; the correlations score ratings. Anything else
# ("Other", "AUC", "COQA F1", "Mean Squared Error") is reported as unsupported, and the task falls back to
# accuracy (classification) or ROUGE/BLEU (generation).
_METRICS: dict[str, tuple[str, ...]] = {
    "Accuracy": ("accuracy", "macro_f1"),
    "ROUGE": ("rouge1", "rouge2", "rougeL", "rougeLsum"),
    "BLEU": ("bleu",),
    "Squad": ("squad_f1", "squad_em"),
    "Pearson Correlation": ("pearson",),
    "Pearson correlation": ("pearson",),
    "Spearman Correlation": ("spearman",),
    "Spearman correlation": ("spearman",),
}
_CLASSIFICATION_ONLY = {"macro_f1"}
_GENERATION_ONLY = {"rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "squad_f1", "squad_em"}



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
    fixed = infos[0].fixed_choices if len(infos) == 1 else None
    per_example = all(p.fixed_choices is None for p in infos)
    if kind == "classification":
        ours = [m for m in ours if m not in _GENERATION_ONLY]
        if "accuracy" not in ours:
            ours[:0] = ["accuracy"]  # every cloze classification can at least be scored by accuracy
        if not per_example and "macro_f1" not in ours:
            ours.insert(1, "macro_f1")
        if per_example:  # answer positions, not classes
            ours = [m for m in ours if m not in _CLASSIFICATION_ONLY]
    else:
        ours = [m for m in ours if m not in _CLASSIFICATION_ONLY]
        if not ours:
            ours = [*_METRICS["ROUGE"], *_METRICS["BLEU"]]
    return TaskSpec(
        dataset=dataset,
        subset=subset,
        kind=kind,
        labels=tuple(str(i) for i in range(len(fixed))) if fixed is not None else None,
        label_words=fixed,
        metrics=tuple(dict.fromkeys(ours)),
        unsupported_metrics=tuple(sorted({n for n in names if n not in _METRICS})),
    )
