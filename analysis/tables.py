"""Tables for a write-up: Markdown, LaTeX (booktabs) and CSV, with a Stat cell shown as mean ± std."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Score:
    """A metric value (or mean ± std over seeds) shown at a table's scale and precision, optionally in bold."""

    mean: float
    std: float | None = None
    n: int | None = None
    bold: bool = False

    @classmethod
    def of(cls, stat: Stat | None) -> "Score | None":
        return None if stat is None else cls(stat.mean, stat.std if stat.n > 1 else None, stat.n)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Style:
    """How numbers are shown: metrics × scale (100 for accuracy-like fractions) with `digits` decimals."""

    scale: float = 1.0
    digits: int = 4

    def number(self, value: float) -> str:
        return f"{value * self.scale:.{self.digits}f}"


def cell_text(value: Any, style: Style, latex: bool = False) -> str:
    if isinstance(value, Stat):
        value = Score(value.mean, value.std, value.n)
    if isinstance(value, Score):
        mean = style.number(value.mean)
        if latex:
            mean = rf"\mathbf{{{mean}}}" if value.bold else mean
            text = f"${mean}" + (rf" \pm {style.number(value.std)}$" if value.std is not None else "$")
            return text
        text = mean + (f" ± {style.number(value.std)}" if value.std is not None else "")
        return f"**{text}**" if value.bold else text
    if isinstance(value, Interval):
        text = f"[{style.number(value.low)}, {style.number(value.high)}]"
        return text
    text = format_value(value) if not isinstance(value, str) else value
    return _latex_escape(text) if latex else text


def _latex_escape(text: str) -> str:
    replace = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$",
               "×": r"$\times$", "Δ": r"$\Delta$", "≤": r"$\leq$", "<": r"$<$", ">": r"$>$"}
    return "".join(replace.get(c, c) for c in text)


def _numeric_columns(rows: Sequence[Sequence[Any]], width: int) -> list[bool]:
    return [bool(rows) and all(isinstance(row[i], Stat | Score | Interval | int | float) or row[i] is None
                               for row in rows) and any(row[i] is not None for row in rows)
            for i in range(width)]


def latex_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str, label: str,
                style: Style = Style()) -> str:
    """A booktabs table (\\usepackage{booktabs}); text columns left, numbers right."""
    numeric = _numeric_columns(rows, len(headers))
    align = "".join("r" if numeric[i] else "l" for i in range(len(headers)))
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_latex_escape(caption)}}}",
             rf"\label{{{label}}}", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_latex_escape(h) for h in headers) + r" \\", r"\midrule"]
    lines += [" & ".join(cell_text(c, style, latex=True) for c in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _stat_columns(rows: Sequence[Sequence[Any]], width: int) -> list[bool]:
    return [any(isinstance(row[i], Stat | Score) for row in rows) for i in range(width)]


def write_tables(stem: Path, headers: list[str], rows: list[list[Any]], caption: str,
                 style: Style = Style()) -> str:
    """Write stem.md, stem.tex and stem.csv (mean and std in their own CSV columns, unscaled); return the
    Markdown."""
    md = markdown_table(headers, [[cell_text(c, style) for c in row] for row in rows])
    stem.with_suffix(".md").write_text(f"{caption}\n\n{md}")
    label = "tab:" + re.sub(r"[^A-Za-z0-9]+", "-", f"{stem.parent.name}-{stem.name}")
    stem.with_suffix(".tex").write_text(latex_table(headers, rows, caption, label, style))
    stats = _stat_columns(rows, len(headers))
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([part for h, is_stat in zip(headers, stats)
                         for part in ((f"{h} mean", f"{h} std") if is_stat else (h,))])
        for row in rows:
            writer.writerow([part for c, is_stat in zip(row, stats) for part in _csv_parts(c, is_stat)])
    return md


def _csv_parts(cell: Any, is_stat: bool) -> tuple:
    if isinstance(cell, Stat | Score):
        return (cell.mean, "" if cell.std is None else cell.std)
    if is_stat:
        return ("", "")
    if isinstance(cell, Interval):
        return (f"{cell.low:.6g} {cell.high:.6g}",)
    return ("" if cell is None else cell,)
