"""Generation metrics: ROUGE-1/2/L/Lsum F-measure (rouge-score, Porter stemming) and corpus BLEU (sacrebleu).

Scale: every value is on 0-100, the scale sacrebleu reports and the one summarisation papers (GLM's
included) print; ROUGE is the mean of the per-pair F-measures times 100.

ROUGE-Lsum treats newlines as sentence breaks. rouge-score can split sentences itself only with nltk's punkt
data, which offline machines lack, so sentences are split here with a regex (after `.`, `!` or `?` followed by
whitespace) and joined with newlines. The other three ROUGE variants ignore sentence breaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sacrebleu
from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# What a generation task reports; rougeL first: the default validation metric.
GENERATION_METRICS = ("rougeL", "rouge1", "rouge2", "rougeLsum", "bleu")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> str:
    """One sentence per line, for ROUGE-Lsum; existing line breaks are kept as breaks."""
    lines = (part.strip() for line in text.strip().splitlines() for part in _SENTENCE_END.split(line))
    return "\n".join(line for line in lines if line)


def rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean F-measure of each ROUGE type over aligned pairs, 0-100."""
    _check_aligned(predictions, references)
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for pred, ref in zip(predictions, references):
        scores = scorer.score(split_sentences(ref), split_sentences(pred))  # (target, prediction)
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    return {name: 100.0 * total / len(predictions) for name, total in totals.items()}


def bleu(predictions: list[str], references: list[str]) -> float:
    """sacrebleu corpus BLEU (default 13a tokenisation, one reference per prediction), 0-100."""
    _check_aligned(predictions, references)
    return float(sacrebleu.corpus_bleu(predictions, [references]).score)


def generation_metrics(predictions: list[str], references: list[str]) -> dict[str, float]:
    """All generation metrics in one dict: rouge1, rouge2, rougeL, rougeLsum, bleu (0-100 each)."""
    return {**rouge(predictions, references), "bleu": bleu(predictions, references)}


def _check_aligned(predictions: list[str], references: list[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("no predictions to score")


# Metrics a generation task may name besides ROUGE and BLEU (promptsource templates declare them).
TEXT_METRICS = ("squad_f1", "squad_em", "pearson", "spearman", "numeric_rate")


def _number(text: str) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    return float(match.group()) if match else None


def text_metrics(names: Sequence[str], predictions: list[str], references: list[str]) -> dict[str, float]:
    """The named metrics of generated texts against references: ROUGE/BLEU (0-100), SQuAD EM/F1 (fractions) and,
    for numeric answers (ratings), Pearson/Spearman of the first number in each text. A prediction without a number
    counts as the mean of the references (no information) and `numeric_rate` says how many had one."""
    from tasks.metrics import pearson_r, spearman_r, squad_em_f1

    _check_aligned(predictions, references)
    out: dict[str, float] = {}
    if any(n in ROUGE_TYPES or n == "bleu" for n in names):
        out.update(generation_metrics(predictions, references))
    if any(n.startswith("squad_") for n in names):
        out.update(squad_em_f1(predictions, references))
    if any(n in ("pearson", "spearman") for n in names):
        golds = [_number(r) for r in references]
        if any(g is None for g in golds):
            bad = next(r for r, g in zip(references, golds) if g is None)
            raise ValueError(f"a correlation metric needs numeric references; got {bad!r}")
        mean = sum(golds) / len(golds)  # type: ignore[arg-type]
        guessed = [_number(p) for p in predictions]
        values = [mean if g is None else g for g in guessed]
        out["pearson"] = pearson_r(values, golds)  # type: ignore[arg-type]
        out["spearman"] = spearman_r(values, golds)  # type: ignore[arg-type]
        out["numeric_rate"] = sum(g is not None for g in guessed) / len(guessed)
    return {n: out[n] for n in (*names, "numeric_rate") if n in out}
