"""Classification tasks scored as blank infilling, and their registries (plain dicts, as upstream).

Adding a data set: a DataProcessor (schema, labels) and a PVP (patterns, verbalizers) in a module here, then
one entry in each of PROCESSORS, PVPS and DEFAULT_METRICS.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.tokenizer import GLMTokenizer
from tasks.base import PVP, DataProcessor
from tasks.classification.ag_news import AgNewsProcessor, AgNewsPVP
from tasks.classification.dbpedia import DbpediaProcessor, DbpediaPVP

PROCESSORS: dict[str, type[DataProcessor]] = {
    "ag_news": AgNewsProcessor,
    "dbpedia_14": DbpediaProcessor,
}

# task -> {pattern id -> PVP class}; the class is built with that pattern id.
PVPS: dict[str, dict[int, type[PVP]]] = {
    task: {pattern_id: pvp for pattern_id in pvp.available_patterns}
    for task, pvp in (("ag_news", AgNewsPVP), ("dbpedia_14", DbpediaPVP))
}

# The first metric is the validation metric (model selection on dev).
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "ag_news": ("accuracy", "macro_f1"),
    "dbpedia_14": ("accuracy", "macro_f1"),
}


def _check_task(task: str) -> None:
    if task not in PROCESSORS:
        raise KeyError(f"unknown task {task!r}; available: {', '.join(sorted(PROCESSORS))}")


def list_prompts(task: str) -> dict[int, str]:
    """Pattern id -> short description, for --list-prompts."""
    _check_task(task)
    return {pattern_id: pvp.available_patterns[pattern_id] for pattern_id, pvp in PVPS[task].items()}


def get_pvp(task: str, pattern_id: int, tokenizer: GLMTokenizer, label_list: Sequence[str], max_seq_length: int) -> PVP:
    _check_task(task)
    if pattern_id not in PVPS[task]:
        listed = "; ".join(f"{i}: {d}" for i, d in list_prompts(task).items())
        raise KeyError(f"task {task!r} has no pattern {pattern_id} (available: {listed})")
    return PVPS[task][pattern_id](tokenizer, label_list, max_seq_length, pattern_id=pattern_id)
