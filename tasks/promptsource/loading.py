"""Finding promptsource and its templates: the import shim, the data set catalogue, task names."""

from __future__ import annotations

import difflib
import functools
import importlib.util
import os
import sys
import types
import warnings
from typing import Any

SEPARATOR = "|||"
PREFIX = "promptsource:"


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
