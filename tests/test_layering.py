"""The import direction docs/ARCHITECTURE.md states, checked on the source: model/ imports no project package,
tasks/ only model.tokenizer (and itself), training/ no driver or script, analysis/ no torch-side package."""

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGES = ("model", "tasks", "training", "analysis", "scripts", "finetune_glm", "finetune_baseline")
# package -> project modules it may import (prefix match); everything else of the project is an upward import
ALLOWED = {
    "model": ("model",),
    "tasks": ("tasks", "model.tokenizer"),
    "training": ("training", "tasks", "model"),
    "analysis": ("analysis", "training.rundir"),
}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            else:
                names = [node.module or ""]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] in PACKAGES]
    return found


def violations(root: Path) -> list[str]:
    out = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else []:
            for line, module in project_imports(path):
                if not any(module == a or module.startswith(a + ".") for a in allowed):
                    out.append(f"{path.relative_to(root)}:{line} imports {module}")
    return out


def test_the_tree_follows_the_layering():
    assert violations(ROOT) == []


def test_an_upward_import_is_caught(tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "bad.py").write_text("from training.loop import Trainer\n")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "worse.py").write_text("import torch\nfrom model.glm import GLMModel\n")
    monkeypatch.setattr("test_layering.ROOT", tmp_path)
    assert violations(tmp_path) == ["model/bad.py:1 imports training.loop", "tasks/worse.py:2 imports model.glm"]


def test_tasks_define_no_modules():
    offenders = [p for p in (ROOT / "tasks").rglob("*.py")
                 if re.search(r"^class \w+\([^)]*\bnn\.Module", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []
