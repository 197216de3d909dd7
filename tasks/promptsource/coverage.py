"""Which promptsource templates become GLM prompts: every original-task template tried on synthetic records.

No data set is downloaded: a record is built from how the template itself uses each field (jinja's syntax tree):
a field indexed with a number or iterated is a list, one with attributes or string keys a dict, one indexing
`answer_choices` or compared with a number an integer, anything else text. A few variants of that record are
tried (distinct texts; identical texts, so look-ups such as `choices.label.index(answerKey)` succeed; each
integer or string constant the template compares a field with, so conditional templates get a covered row).
A template "renders" when one variant gives a non-empty input, a gold answer among its choices (or a target
for generation) and encodes to a GLM prompt; otherwise the first variant's error is its reason.

`python scripts/promptsource_coverage.py` writes the table in docs/PROMPTSOURCE_COVERAGE.md from `survey()`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes

from model.tokenizer import GLMTokenizer

from .catalogue import list_prompts
from .loading import EmptyRenderError, PromptsourceError, available_datasets, load_templates, promptsource_templates
from .prompts import PromptsourceCloze, make_prompt

# Attribute names that are string or list methods, not record keys.
_STR_METHODS = {"split", "strip", "lstrip", "rstrip", "lower", "upper", "replace", "startswith", "endswith", "capitalize",
                "title", "format", "join", "find", "count", "isdigit", "splitlines", "rsplit", "partition"}
_LIST_METHODS = {"index", "append", "pop", "sort", "reverse", "insert", "extend"}
_LIST_FILTERS = {"join", "length", "count", "first", "last", "list", "sort", "unique", "map", "select", "reject",
                 "random", "choice", "batch", "slice", "sum", "max", "min", "shuffle", "reverse"}


@dataclass
class Shape:
    """What a value must look like for the template: text, integer, list of a shape, or dict of shapes."""

    kind: str = "str"  # str | int | list | dict
    items: Shape | None = None
    keys: dict[str, Shape] = field(default_factory=dict)
    constants: set[Any] = field(default_factory=set)  # values the template compares it with

    def as_list(self) -> Shape:
        if self.kind != "list":
            self.kind, self.items = "list", self.items or Shape()
        assert self.items is not None
        return self.items

    def as_dict(self) -> Shape:
        if self.kind not in ("dict",):
            self.kind = "dict"
        return self

    def key(self, name: str) -> Shape:
        self.as_dict()
        return self.keys.setdefault(name, Shape())


class _Inference:
    def __init__(self, reads: set[str]):
        self.fields: dict[str, Shape] = {name: Shape() for name in reads}
        self.loop_vars: dict[str, Shape] = {}

    def shape_of(self, node: nodes.Node) -> Shape | None:
        """The shape a chain like `answers.text[0]` refers to (created on first use), or None if not a field."""
        if isinstance(node, nodes.Name):
            return self.fields.get(node.name) or self.loop_vars.get(node.name)
        if isinstance(node, nodes.Getattr):
            if node.attr in _STR_METHODS or node.attr in _LIST_METHODS:
                return None  # handled at the call
            parent = self.shape_of(node.node)
            return parent.key(node.attr) if parent is not None else None
        if isinstance(node, nodes.Filter) and node.node is not None:
            inner = self.shape_of(node.node)
            if inner is None:
                return None
            if node.name == "map":
                attribute = next((kw.value.value for kw in node.kwargs if kw.key == "attribute" and isinstance(kw.value, nodes.Const)), None)
                if isinstance(attribute, str):
                    return Shape("list", inner.as_list().key(attribute))
                return None
            if node.name in ("list", "sort", "unique", "reverse", "select", "reject", "batch", "slice", "shuffle"):
                inner.as_list()
                return inner
            if node.name in ("first", "last", "random", "choice"):
                return inner.as_list()
            return None
        if isinstance(node, nodes.Getitem):
            parent = self.shape_of(node.node)
            if parent is None:
                return None
            arg = node.arg
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                return parent.key(arg.value)
            return parent.as_list()
        return None

    def visit(self, tree: nodes.Node) -> None:
        for node in tree.find_all((nodes.For,)):
            target, source = node.target, self.shape_of(node.iter)
            if source is not None and isinstance(target, nodes.Name):
                self.loop_vars[target.name] = source.as_list()
        for node in tree.find_all((nodes.Getitem, nodes.Getattr)):
            self.shape_of(node)  # creates the shapes a chain like answers["text"][0] implies
        for node in tree.find_all(nodes.Getitem):
            shape = self.shape_of(node.node)
            if shape is not None and isinstance(node.arg, nodes.Slice):
                shape.as_list()
            arg = self.shape_of(node.arg) if isinstance(node.arg, (nodes.Name, nodes.Getattr, nodes.Getitem)) else None
            if arg is not None and isinstance(node.node, nodes.Name) and node.node.name in ("answer_choices",):
                arg.kind = "int"
            elif arg is not None and isinstance(node.node, nodes.Name) and node.node.name not in self.fields and arg.kind == "str":
                arg.kind = "int"  # an index into a mapping the template defines ({% set m = {0: ...} %})
        for node in tree.find_all(nodes.Getattr):
            target = self.shape_of(node.node)
            if target is None:
                continue
            if node.attr in _LIST_METHODS:
                target.as_list()
        for node in tree.find_all(nodes.Filter):
            target = self.shape_of(node.node) if node.node is not None else None
            if target is not None and node.name in _LIST_FILTERS and target.kind != "dict":
                target.as_list()
        for node in tree.find_all(nodes.Compare):
            operands = [node.expr, *(op.expr for op in node.ops)]
            shapes = [self.shape_of(o) for o in operands]
            consts = [o.value for o in operands if isinstance(o, nodes.Const) and isinstance(o.value, (str, int, float))]
            for shape in filter(None, shapes):
                for c in consts:
                    if type(c) is int and shape.kind == "str":
                        shape.kind = "int"
                    shape.constants.add(c)
            for o in operands:  # `x in [0, 1]`
                if isinstance(o, (nodes.List, nodes.Tuple)):
                    for shape in filter(None, shapes):
                        for item in o.items:
                            if isinstance(item, nodes.Const) and isinstance(item.value, (str, int, float)):
                                shape.constants.add(item.value)
        for node in tree.find_all((nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod)):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                shape = self.shape_of(side)
                if shape is not None and shape.kind == "str" and isinstance(other, nodes.Const) and type(other.value) in (int, float):
                    shape.kind = "int"  # arithmetic on a number (label - 1, 5 * score)
        for node in tree.find_all(nodes.Slice):
            for bound in (node.start, node.stop):
                shape = self.shape_of(bound) if bound is not None else None
                if shape is not None:
                    shape.kind = "int"
        for node in tree.find_all(nodes.Filter):
            shape = self.shape_of(node.node) if node.node is not None else None
            if shape is not None and node.name in ("round", "abs") and shape.kind == "str":
                shape.kind = "int"
        for node in tree.find_all(nodes.Call):  # range(x) / x.index(...)
            if isinstance(node.node, nodes.Name) and node.node.name == "range":
                for arg in node.args:
                    shape = self.shape_of(arg)
                    if shape is not None:
                        shape.kind = "int"


def _value(shape: Shape, path: str, same_text: bool, ints: int) -> Any:
    if shape.kind == "int":
        return ints
    if shape.kind == "list":
        assert shape.items is not None
        return [_value(shape.items, f"{path}{i}", same_text, ints) for i in range(5)]
    if shape.kind == "dict":
        return {k: _value(v, f"{path}_{k}", same_text, ints) for k, v in shape.keys.items()}
    return "A" if same_text else f"word {path} text"


def _all_constants(shapes: dict[str, Shape]) -> Iterator[tuple[str, Shape]]:
    for name, shape in shapes.items():
        yield name, shape
        if shape.kind == "dict":
            yield from _all_constants({f"{name}.{k}": v for k, v in shape.keys.items()})


def synthetic_records(template: Any, texts: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Variants of a record in the schema the template reads (see the module doc); `texts`: further variants
    whose every text is that string (a template's first answer choice, for answers copied from a field)."""
    ps = promptsource_templates()
    trees = [ps.env.parse(template.jinja)]
    if template.get_answer_choices_expr() is not None:
        trees.append(ps.env.parse(template.get_answer_choices_expr()))
    from jinja2 import meta

    reads: set[str] = set()
    for tree in trees:
        reads |= meta.find_undeclared_variables(tree)
    reads -= set(ps.env.globals) | {"answer_choices"}
    inference = _Inference(reads)
    for _ in range(2):  # a second pass sees shapes the first one created (loop variables)
        for tree in trees:
            inference.visit(tree)
    variants = []
    for same_text, ints in itertools.product((False, True), (0, 1)):
        variants.append({k: _value(s, k, same_text, ints) for k, s in inference.fields.items()})
    for text in texts:
        variants.append({k: _replace_text(_value(s, k, True, 0), text) for k, s in inference.fields.items()})
    for name, shape in _all_constants(inference.fields):  # each compared-with constant, for conditional templates
        if shape.kind in ("list", "dict"):
            continue
        for constant in sorted(shape.constants, key=repr):
            for base in variants[:2]:
                record = _deep_copy(base)
                _set(record, name.split("."), constant)
                variants.append(record)
    return variants


def _replace_text(value: Any, text: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_text(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_text(v, text) for v in value]
    return text if isinstance(value, str) else value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _set(record: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        record = record[key]
    record[path[-1]] = value


# --------------------------------------------------------------------------------------------- survey
@dataclass(frozen=True)
class Outcome:
    dataset: str
    subset: str | None
    template: str
    kind: str  # the prompt's choice kind
    rendered: bool
    reason: str = ""  # why not (the category), empty when rendered
    detail: str = ""  # the first error message
    conditional: bool = False  # some synthetic record was not covered (the template has a condition)


def try_template(dataset: str, subset: str | None, name: str, tokenizer: GLMTokenizer) -> Outcome:
    """Adapt one template and render it on its synthetic records; the first variant that works wins."""
    try:
        prompt = make_prompt(dataset, subset, name, tokenizer, allow_non_original=True)
    except PromptsourceError as err:
        return Outcome(dataset, subset, name, "?", False, "does not adapt", str(err).splitlines()[0])
    kind = prompt.info.choice_kind or "?"
    first_error: Exception | None = None
    conditional = False
    texts = prompt.renderer.fixed_choices[:1] if prompt.renderer.fixed_choices else ()
    for i, record in enumerate(synthetic_records(load_templates(dataset, subset)[name], texts)):
        try:
            _render(prompt, record, tokenizer, str(i))
            return Outcome(dataset, subset, name, kind, True, conditional=conditional)
        except EmptyRenderError as err:
            conditional = True
            first_error = first_error or err
        except Exception as err:  # noqa: BLE001 - any failure is a reason to report, never to stop the survey
            first_error = first_error or err
    assert first_error is not None
    return Outcome(dataset, subset, name, kind, False, reason_of(first_error), str(first_error).splitlines()[0][:300],
                   conditional)


def _render(prompt: Any, record: dict[str, Any], tokenizer: GLMTokenizer, key: str) -> None:
    if isinstance(prompt, PromptsourceCloze):
        parts, _ = prompt.parts(record, key)
        gold = prompt.gold(record, key)
        if gold is None:
            raise PromptsourceError("renders no answer for the synthetic record")
        if prompt.per_example:
            prompt.candidates(record, key)
    else:
        parts = prompt.render_source(record, key)
        if not prompt.render_target(record, key):
            raise PromptsourceError("renders no target for the synthetic record")
    ids = [t for p in parts for t in (p if isinstance(p, list) else tokenizer.encode(p if isinstance(p, str) else p[0]))]
    if tokenizer.mask_id not in ids:
        raise PromptsourceError("the prompt has no [MASK]")


def reason_of(err: Exception) -> str:
    """A short category for a failure, for the table."""
    text = str(err)
    for needle, reason in (("renders an empty input", "covers no synthetic record (conditional on values not inferred)"),
                           ("which is not one of its answer choices", "answer not among its choices"),
                           ("empty answer choice", "an empty answer choice"),
                           ("renders no answer", "renders no answer"), ("renders no target", "renders no target"),
                           ("'|||'-separated pieces", "not exactly one '|||' split"),
                           ("reads the field(s)", "needs a field the record lacks")):
        if needle in text:
            return reason
    return f"template error ({type(err).__name__})"


def survey(tokenizer: GLMTokenizer) -> list[Outcome]:
    """Every original-task template of every promptsource data set."""
    out = []
    for dataset, subset in available_datasets():
        try:
            infos = [p for p in list_prompts(dataset, subset) if p.original_task]
        except PromptsourceError:
            continue
        out += [try_template(dataset, subset, p.name, tokenizer) for p in infos]
    return out


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    rendered = [o for o in outcomes if o.rendered]
    return {
        "datasets": len({(o.dataset, o.subset) for o in outcomes}),
        "templates": len(outcomes),
        "rendered": len(rendered),
        "by_kind": dict(sorted(Counter(o.kind for o in rendered).items())),
        "reasons": dict(sorted(Counter(o.reason for o in outcomes if not o.rendered).items(), key=lambda kv: (-kv[1], kv[0]))),
        "conditional_rendered": sum(o.conditional and o.rendered for o in outcomes),
        "conditional": sum(o.conditional for o in outcomes),
    }


def markdown(outcomes: list[Outcome]) -> str:
    """The committed table (docs/PROMPTSOURCE_COVERAGE.md)."""
    s = summary(outcomes)
    label = lambda o: o.dataset if o.subset is None else f"{o.dataset}/{o.subset}"  # noqa: E731
    lines = [
        "# promptsource coverage",
        "",
        "Every original-task template of every promptsource 0.2.3 data set, adapted as a GLM prompt and rendered on",
        "synthetic records built from the fields the template reads (no data downloaded; see",
        "`tasks/promptsource/coverage.py`). Regenerate with `python scripts/promptsource_coverage.py`; the test",
        "`tests/test_promptsource_coverage.py` checks that this file is what the survey gives.",
        "",
        f"- data sets (with subsets) with original-task templates: **{s['datasets']}**",
        f"- original-task templates: **{s['templates']}**",
        f"- render and encode as GLM prompts: **{s['rendered']}** "
        f"({', '.join(f'{k} {v}' for k, v in s['by_kind'].items())})",
        f"- conditional templates (a condition leaves some records uncovered; train them with `--skip-uncovered`): "
        f"**{s['conditional']}**, of which {s['conditional_rendered']} render on a covered record",
        f"- not rendered on a synthetic record: **{s['templates'] - s['rendered']}**, by reason:",
        "",
        "| reason | templates |",
        "|---|---|",
        *[f"| {reason} | {n} |" for reason, n in s["reasons"].items()],
        "",
        "A template listed below may still work on real data: the synthetic record cannot know every value a template",
        "tests or parses (a separator inside a text, a language name, a label string). Try it on your files with",
        "`finetune_glm.py --task promptsource:<dataset> --data-dir DIR --list-prompts`, which renders every template",
        "on a sample of the data and marks the broken ones.",
        "",
        "| data set | template | reason | first error |",
        "|---|---|---|---|",
    ]
    for o in sorted((o for o in outcomes if not o.rendered), key=lambda o: (label(o), o.template)):
        detail, name = (text.replace("|", "\\|").replace("\n", " ") for text in (o.detail, o.template))
        lines.append(f"| {label(o)} | {name} | {o.reason} | {detail} |")
    return "\n".join(lines) + "\n"
