"""Coverage of promptsource: every original-task template either renders a GLM prompt on synthetic records built
from its own fields, or is listed with its reason in docs/PROMPTSOURCE_COVERAGE.md (checked to be current)."""

from __future__ import annotations

import pytest

from conftest import ROOT
from tasks.promptsource.coverage import markdown, summary, survey, synthetic_records, try_template
from tasks.promptsource import load_templates


def test_synthetic_records_follow_how_the_template_uses_each_field():
    squad = synthetic_records(load_templates("squad")["answer_the_question"])[0]
    assert isinstance(squad["answers"], dict) and isinstance(squad["answers"]["text"], list)
    assert isinstance(squad["context"], str)
    copa = synthetic_records(load_templates("super_glue", "copa")["…why? C1 or C2"])
    assert isinstance(copa[0]["label"], int)
    assert copa[0]["question"] != "cause" and any(r["question"] == "cause" for r in copa)  # the compared constant


@pytest.mark.parametrize("dataset,subset,name,rendered,conditional,reason", [
    ("super_glue", "copa", "…why? C1 or C2", True, True, ""),  # covers only question == "cause"
    ("hate_speech18", None, "hate_or_noHate_sentiment_analysis", True, False, ""),
    ("trec", None, "trec1", True, False, ""),
    ("squad", None, "answer_the_question", True, False, ""),
    ("emotion", None, "select_emotion_label_from_list", False, False, "answer not among its choices"),  # renders fear'
])
def test_single_templates(tokenizer, dataset, subset, name, rendered, conditional, reason):
    outcome = try_template(dataset, subset, name, tokenizer)
    assert (outcome.rendered, outcome.conditional, outcome.reason) == (rendered, conditional, reason), outcome


@pytest.mark.slow
def test_every_original_task_template_renders_or_is_listed_with_its_reason(tokenizer):
    """About a minute: all 1535 templates of 259 data sets."""
    outcomes = survey(tokenizer)
    s = summary(outcomes)
    assert s["templates"] == 1535 and s["datasets"] == 259
    assert s["rendered"] >= 1400
    assert all(o.reason and o.detail for o in outcomes if not o.rendered)
    committed = (ROOT / "docs" / "PROMPTSOURCE_COVERAGE.md").read_text(encoding="utf-8")
    assert markdown(outcomes) == committed, "docs/PROMPTSOURCE_COVERAGE.md is stale: run scripts/promptsource_coverage.py"
