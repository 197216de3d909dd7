"""Reading a data set's records the way a template expects them: field names, label typing and label order.

Templates were written against one version of a data set's Hugging Face schema. Real files drift from it:

* CSV holds only strings, so `answer_choices["0"]` would render nothing; label fields are converted to the
  integers the data set's `ClassLabel` uses (a digit string, or a label name when the names are known);
* a field may have been renamed on the hub since (TREC: `label_coarse` -> `coarse_label`): `--field-map`;
* a label's class order may have changed with it (TREC's coarse classes): the label is mapped by name from the
  data's own `ClassLabel` order to the one the template indexes, so renaming alone cannot silently mislabel.

Which fields are labels is read from the template itself (jinja's syntax tree, not a guess from the name): a
field that indexes `answer_choices` (`answer_choices[label]`), indexes a mapping the template defines, or is
compared with an integer (`{% if label_coarse == 2 %}`). Every such value is checked when the split is read,
naming file:line: an integer in range, a known label name, or -1/empty for "no label" (which is an error: a row
without a gold answer can neither be trained on nor scored).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes

from tasks.data_io import DataError, Row

from .loading import promptsource_templates


# --------------------------------------------------------------------------------------------- template analysis
@dataclass(frozen=True)
class FieldUse:
    """How a template uses the record's fields."""

    reads: frozenset[str]  # every field it reads
    choice_index: frozenset[str]  # fields used as `answer_choices[field]`
    integer: frozenset[str]  # fields read as integers: choice_index, other indices, compared with an int

    @property
    def labels(self) -> frozenset[str]:
        return self.integer


def field_use(template: Any) -> FieldUse:
    """The fields a promptsource template reads, and which of them it treats as integer labels."""
    ps = promptsource_templates()
    trees = [ps.env.parse(template.jinja)]
    expr = template.get_answer_choices_expr()
    if expr is not None:
        trees.append(ps.env.parse(expr))
    from jinja2 import meta

    reads: set[str] = set()
    for tree in trees:
        reads |= meta.find_undeclared_variables(tree)
    reads -= set(ps.env.globals) | {"answer_choices"}
    choice_index: set[str] = set()
    integer: set[str] = set()
    for tree in trees:
        for node in tree.find_all(nodes.Getitem):
            if isinstance(node.arg, nodes.Name) and node.arg.name in reads:
                integer.add(node.arg.name)
                if isinstance(node.node, nodes.Name) and node.node.name == "answer_choices":
                    choice_index.add(node.arg.name)
        for node in tree.find_all(nodes.Compare):
            operands = [node.expr, *(op.expr for op in node.ops)]
            names = [o.name for o in operands if isinstance(o, nodes.Name) and o.name in reads]
            if names and any(isinstance(o, nodes.Const) and type(o.value) is int for o in operands):
                integer.update(names)
    return FieldUse(frozenset(reads), frozenset(choice_index), frozenset(integer))


# --------------------------------------------------------------------------------------------- known drift
@dataclass(frozen=True)
class SchemaDrift:
    """A data set whose hub schema changed after promptsource's templates were written."""

    renamed: Mapping[str, str]  # field in today's hub data -> field the templates read
    data_labels: Mapping[str, tuple[str, ...]]  # template field -> today's ClassLabel names (hub order)
    template_labels: Mapping[str, tuple[str, ...]]  # template field -> the class order the templates index
    note: str = ""


# TREC: the hub renamed label-coarse/label-fine and reordered the coarse classes. The templates' answer choices
# (Description, Entity, Abbreviation, Person, Quantity, Location) follow the old order DESC, ENTY, ABBR, HUM,
# NUM, LOC; today's ClassLabel is ABBR, ENTY, DESC, HUM, LOC, NUM. The old order of the 50 fine classes is not
# recorded here, so a fine-label template on today's schema needs --template-label-names.
KNOWN_DRIFT: dict[tuple[str, str | None], SchemaDrift] = {
    ("trec", None): SchemaDrift(
        renamed={"coarse_label": "label_coarse", "fine_label": "label_fine"},
        data_labels={"label_coarse": ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM")},
        template_labels={"label_coarse": ("DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC")},
        note="the hub renamed label_coarse/label_fine to coarse_label/fine_label and reordered the coarse classes",
    ),
}


# --------------------------------------------------------------------------------------------- options
def parse_field_map(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """`["coarse_label=label_coarse", "a=b,c=d"]` -> (("coarse_label", "label_coarse"), ("a", "b"), ("c", "d"))."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        for piece in item.split(","):
            if not piece.strip():
                continue
            old, sep, new = piece.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise ValueError(f"--field-map {piece!r}: write OLD=NEW (a field of the data = the field the template reads)")
            pairs.append((old.strip(), new.strip()))
    olds = [o for o, _ in pairs]
    if len(set(olds)) != len(olds):
        raise ValueError(f"--field-map names a field twice: {olds}")
    return tuple(pairs)


def parse_label_names(items: Iterable[str]) -> tuple[tuple[str | None, tuple[str, ...]], ...]:
    """`["label_coarse=ABBR,ENTY", "neg,pos"]` -> (("label_coarse", ("ABBR", "ENTY")), (None, ("neg", "pos"))).
    Without `FIELD=` the names belong to the template's one label field."""
    out: list[tuple[str | None, tuple[str, ...]]] = []
    for item in items:
        head, sep, rest = item.partition("=")
        target, names = (head.strip(), rest) if sep else (None, item)
        values = tuple(n.strip() for n in names.split(","))
        if not values or any(not n for n in values) or len(set(values)) != len(values):
            raise ValueError(f"label names {item!r}: write [FIELD=]NAME,NAME,... with distinct, non-empty names in id order")
        out.append((target, values))
    return tuple(out)


@dataclass(frozen=True)
class SchemaOptions:
    """What the user declared about the data (flags), applied to every row."""

    field_map: tuple[tuple[str, str], ...] = ()
    label_names: tuple[tuple[str | None, tuple[str, ...]], ...] = ()  # the data's ClassLabel names
    template_label_names: tuple[tuple[str | None, tuple[str, ...]], ...] = ()  # the order the template indexes


def _per_field(declared: Sequence[tuple[str | None, tuple[str, ...]]], labels: Sequence[str], flag: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for target, names in declared:
        if target is None:
            if len(labels) != 1:
                raise DataError(f"{flag} without FIELD=: the template has {len(labels)} label fields "
                                f"({', '.join(labels) or 'none'}); write {flag} FIELD=NAME,NAME,...")
            target = labels[0]
        if target not in labels:
            raise DataError(f"{flag} {target}=...: the template reads no label field {target!r} "
                            f"(its label fields: {', '.join(labels) or 'none'})")
        out[target] = names
    return out


# --------------------------------------------------------------------------------------------- the reader
@dataclass
class RecordReader:
    """Turns raw rows of one split into records in the schema the template reads, or a DataError naming the row.

    `source_labels`: ClassLabel names the split's source declares (hub features, parquet metadata, save_to_disk
    info), keyed by the source's field names; they are used unless the user declared names.
    """

    dataset: str
    subset: str | None
    template_name: str
    use: FieldUse
    fixed_choices: tuple[str, ...] | None
    options: SchemaOptions = field(default_factory=SchemaOptions)

    def __post_init__(self) -> None:
        self.drift = KNOWN_DRIFT.get((self.dataset, self.subset))
        labels = sorted(self.use.labels)
        self.declared_names = _per_field(self.options.label_names, labels, "--label-names")
        self.declared_order = _per_field(self.options.template_label_names, labels, "--template-label-names")
        self.applied: dict[str, Any] = {}  # what was done, for config.json

    def record(self) -> dict[str, Any]:
        return dict(self.applied)

    def read(self, rows: Sequence[Row], source_labels: Mapping[str, tuple[str, ...]], strings_only: bool) -> list[Row]:
        """Rename, type and check every row. `strings_only`: the source is CSV (every value a string)."""
        if not rows:
            return []
        renames = self._renames(rows[0])
        names = {renames.get(k, k): v for k, v in source_labels.items()}
        remaps = self._remaps(renames, names)
        return [self._row(row, renames, names, remaps, strings_only) for row in rows]

    # ------------------------------------------------------------------ per split
    def _renames(self, first: Row) -> dict[str, str]:
        renames = dict(self.options.field_map)
        present = set(first.fields)
        for old, new in renames.items():
            if old not in present:
                raise DataError(f"{first.where}: --field-map {old}={new}: the data has no field {old!r} "
                                f"(it has {', '.join(sorted(present))})")
        if self.drift is not None:
            auto = {old: new for old, new in self.drift.renamed.items()
                    if old in present and new not in present and old not in renames and new in self.use.reads}
            if auto:
                self.applied["known_schema_drift"] = self.drift.note
                renames.update(auto)
        for old, new in renames.items():
            if new in present and new not in renames:
                raise DataError(f"{first.where}: renaming {old!r} to {new!r}, but the data already has a field {new!r}")
        if renames:
            self.applied["field_map"] = renames
        return renames

    def _remaps(self, renames: Mapping[str, str], names: dict[str, tuple[str, ...]]) -> dict[str, list[int]]:
        """Per label field, data id -> template id, when the data's class order differs from the template's."""
        drifted = self.drift is not None and any(renames.get(old) == new for old, new in self.drift.renamed.items())
        remaps: dict[str, list[int]] = {}
        for fld in sorted(self.use.labels):
            data = self.declared_names.get(fld) or names.get(fld)
            if data is None and drifted and fld in self.drift.data_labels:
                data = self.drift.data_labels[fld]
            if data is not None:
                names[fld] = data
            order = self.declared_order.get(fld)
            if order is None and drifted:
                order = self.drift.template_labels.get(fld)
                if order is None and fld in self.drift.renamed.values():
                    raise DataError(
                        f"template {self.template_name!r} reads {fld!r}, a field of {self.dataset} whose schema changed "
                        f"({self.drift.note}); the class order the template indexes is not known here, so the labels "
                        f"could be silently wrong. Declare it: --template-label-names {fld}=NAME,NAME,... (the old class "
                        "order) or choose another template")
            if order is None:
                continue
            if data is None:
                raise DataError(f"--template-label-names {fld}=...: the data's own class names for {fld!r} are unknown "
                                f"(jsonl/csv carry none); declare them with --label-names {fld}=NAME,NAME,... in id order")
            if sorted(order) != sorted(data):
                raise DataError(f"label field {fld!r}: the data's classes {list(data)} and the template's {list(order)} "
                                "are not the same names; nothing can be mapped by name")
            if tuple(order) != tuple(data):
                remaps[fld] = [order.index(n) for n in data]
                self.applied.setdefault("label_order", {})[fld] = {"data": list(data), "template": list(order)}
        return remaps

    # ------------------------------------------------------------------ per row
    def _row(self, row: Row, renames: Mapping[str, str], names: Mapping[str, tuple[str, ...]],
             remaps: Mapping[str, list[int]], strings_only: bool) -> Row:
        fields = {renames.get(k, k): v for k, v in row.fields.items()}
        if strings_only:
            fields = {k: _json_cell(v) if k not in self.use.labels else v for k, v in fields.items()}
        for fld in self.use.labels & set(fields):
            fields[fld] = self._label(row.where, fld, fields[fld], names.get(fld), remaps.get(fld))
        for fld in sorted(self.use.reads - self.use.labels):
            value = fields.get(fld)
            if isinstance(value, str) and not value.strip():
                raise DataError(f"{row.where}: field {fld!r} is empty; template {self.template_name!r} reads it and every "
                                "example needs its text (remove the row or fill the field)")
        return Row(fields, row.where)

    def _label(self, where: str, fld: str, value: Any, names: tuple[str, ...] | None, remap: list[int] | None) -> int:
        raw = value
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                value = int(text)
            elif text == "":
                value = None
            elif names is not None and text in names:
                value = names.index(text)
            else:
                known = f"the data's label names are {list(names)}" if names is not None else (
                    "the data's label names are unknown (jsonl/csv carry none): write the label id, or declare the "
                    f"names with --label-names {fld}=NAME,NAME,... in id order")
                raise DataError(f"{where}: label {fld!r} is {raw!r}, neither an integer id nor a label name; {known}")
        elif isinstance(value, float):
            if value != value:  # NaN: a missing value in parquet/pandas
                value = None
            else:
                raise DataError(f"{where}: label {fld!r} is the number {raw!r}; labels are integer class ids (or names)")
        elif isinstance(value, bool) or (value is not None and not isinstance(value, int)):
            raise DataError(f"{where}: label {fld!r} is {raw!r} ({type(raw).__name__}); labels are integer class ids (or names)")
        if value is None or value == -1:
            raise DataError(
                f"{where}: the row has no label ({fld}={raw!r}); template {self.template_name!r} needs one on every row of "
                "every split, since an unlabelled row can be neither trained on nor scored. Remove such rows; for a data "
                "set whose test split is unlabelled, carve a labelled one from train with --test-fraction (the unlabelled "
                "split is then not read)")
        if names is not None and not 0 <= value < len(names):
            raise DataError(f"{where}: label {fld}={raw!r} is outside the data's {len(names)} classes "
                            f"({', '.join(f'{i}={n}' for i, n in enumerate(names))})")
        if remap is not None:
            value = remap[value]
        if value < 0:
            raise DataError(f"{where}: label {fld}={raw!r} is negative; class ids start at 0 (-1 means no label)")
        return value


def check_choice_range(reader: RecordReader, row: Row) -> None:
    """For a row the template covers: every `answer_choices[field]` index within the fixed choices. (Checked after
    rendering, since a conditional template may leave out exactly the rows whose class it has no choice for.)"""
    if reader.fixed_choices is None:
        return
    for fld in sorted(reader.use.choice_index):
        value = row.fields.get(fld)
        if isinstance(value, int) and not 0 <= value < len(reader.fixed_choices):
            raise DataError(f"{row.where}: label {fld}={value!r} is outside template {reader.template_name!r}'s "
                            f"{len(reader.fixed_choices)} answer choices "
                            f"({', '.join(f'{i}={c}' for i, c in enumerate(reader.fixed_choices))})")


def _json_cell(value: Any) -> Any:
    """A CSV cell holding a JSON list or object (how a list field such as answer options is written to CSV)."""
    import json

    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
