"""Tables for a write-up: Markdown, LaTeX (booktabs) and CSV, with a Stat cell shown as mean ± std."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .stats import Stat


def format_value(value: Any) -> str:
    """Hyperparameter values as people write them: 1e-05, 0.0003, 16."""
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def setting_label(setting: Mapping[str, Any], skip: Sequence[str] = ()) -> str:
    """`lr=2e-05, batch_size=8`: a setting without the keys its table or title already shows."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in setting.items() if k not in skip) or "-"


def last_line(text: str | None) -> str:
    """The line of an error that says what went wrong (a traceback ends with it)."""
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    replace = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$"}
    return "".join(replace.get(c, c) for c in text)


def _latex_cell(value: Any) -> str:
    if isinstance(value, Stat):
        return f"${value.mean:.4f} \\pm {value.std:.4f}$"
    return _latex_escape(format_value(value) if not isinstance(value, str) else value)


def _stat_columns(rows: Sequence[Sequence[Any]], width: int) -> list[bool]:
    return [any(isinstance(row[i], Stat) for row in rows) for i in range(width)]


def latex_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str, label: str) -> str:
    """A booktabs table (\\usepackage{booktabs}); text columns left, numbers right."""
    stats = _stat_columns(rows, len(headers))
    align = "".join("r" if stats[i] or rows and all(isinstance(row[i], int | float) for row in rows) else "l"
                    for i in range(len(headers)))
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_latex_escape(caption)}}}",
             rf"\label{{{label}}}", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_latex_escape(h) for h in headers) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_cell(c) for c in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _md_cell(value: Any) -> str:
    return str(value) if isinstance(value, Stat | str) else format_value(value)


def write_tables(stem: Path, headers: list[str], rows: list[list[Any]], caption: str) -> str:
    """Write stem.md, stem.tex and stem.csv (mean and std in their own CSV columns); return the Markdown."""
    md = markdown_table(headers, [[_md_cell(c) for c in row] for row in rows])
    stem.with_suffix(".md").write_text(f"{caption}\n\n{md}")
    label = "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", f"{stem.parent.name}-{stem.name}")
    stem.with_suffix(".tex").write_text(latex_table(headers, rows, caption, label))
    stats = _stat_columns(rows, len(headers))
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([part for h, is_stat in zip(headers, stats)
                         for part in ((f"{h} mean", f"{h} std") if is_stat else (h,))])
        for row in rows:
            writer.writerow([part for c, is_stat in zip(row, stats) for part in
                             ((c.mean, c.std) if isinstance(c, Stat) else ("", "") if is_stat
                              else ("" if c is None else c,))])
    return md
