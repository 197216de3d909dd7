"""Our processors and PVP renders against THUDM/GLM's own, id for id.

The goldens in fixtures/upstream_pvp/golden/ were made by running upstream's `tasks/superglue/dataset.py` and
`pvp.py` on fixtures/upstream_pvp/inputs/ (see the README there). Two checks per task:

- processors: our examples from the same files equal upstream's (guid, texts, label, meta, idx, choices), with
  the documented representation differences (`expected_label`, `expected_idx`);
- renders: for every pattern id, split and sequence length, our PVP on upstream's examples, through
  tasks/layout.py, gives upstream's rows: single-token cloze = `encode_single_token`; multi-token cloze =
  `encode_candidate_rows` (upstream's layout: one row per candidate) and `encode_packed` (the same blocks after
  one shared context). Where upstream fails (the fixed parts leave no room), we raise PromptTooLongError.

Multi-token truncation differs by design: upstream cuts the context separately for each candidate, we cut it once
for the longest answer (tasks/layout.py `_candidates`). So the row of the longest answer equals upstream's
exactly, and every other row has that same context followed by upstream's block for its candidate.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from tasks.base import InputExample, PromptTooLongError
from tasks.classification import upstream_text
from tasks.layout import encode_candidate_rows, encode_packed, encode_single_token
from tasks.superglue import PROCESSORS, PVPS

GOLDEN_DIR = FIXTURES / "upstream_pvp" / "golden"
INPUTS = FIXTURES / "upstream_pvp" / "inputs"
TASKS = sorted(p.stem for p in GOLDEN_DIR.glob("*.json"))
ALL_PROCESSORS = {**PROCESSORS, **upstream_text.PROCESSORS}
ALL_PVPS = {**PVPS, **upstream_text.PVPS}


def load(task: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{task}.json").read_text(encoding="utf-8"))


def test_every_task_and_pattern_has_goldens():
    assert set(TASKS) == set(PROCESSORS) | set(upstream_text.PROCESSORS)
    for task in TASKS:
        golden = load(task)
        assert golden["upstream"]["commit"] == "4f61ed7237a3b0187f4d62062429348276a78c84"
        rendered = {r["pattern_id"] for r in golden["renders"]}
        assert rendered == set(ALL_PVPS[task].available_patterns), task  # upstream's available_patterns() = ours


def expected_label(task: str, split: str, label: Any) -> str | None:
    """Upstream's label as ours: ints (COPA, MultiRC) as their names; ReCoRD's placeholder labels ("0" on train
    examples = candidate 0 is right, "1" on dev/test for every query) become "0" and None; WiC's test records
    without a label are "false" upstream and unlabelled here."""
    if task == "record":
        return "0" if split == "train" else None
    if task == "wic" and split == "test":
        return None
    return None if label is None else str(label)


def expected_idx(task: str, idx: Any, position: int) -> int:
    """Upstream's MultiRC idx is [passage, question, answer] (ours: the answer id, the others in meta); its
    ReCoRD train idx is [passage, question, answer] (ours: the question id, as its dev idx); its csv tasks set
    none (-1; ours: the row's position)."""
    if task in upstream_text.PROCESSORS:
        return position
    if task == "multirc":
        return idx[2]
    if task == "record" and isinstance(idx, list):
        return idx[1]
    return idx


def our_example(task: str, split: str, record: dict[str, Any], position: int) -> InputExample:
    return InputExample(record["guid"], record["text_a"], record["text_b"], expected_label(task, split, record["label"]),
                        meta=record["meta"], idx=expected_idx(task, record["idx"], position), num_choices=record["num_choices"])  # fmt: skip


# ---------------------------------------------------------------------------------------------- processors
@pytest.mark.parametrize("task", TASKS)
def test_processor_matches_upstream(task):
    golden = load(task)
    processor = ALL_PROCESSORS[task]()
    assert processor.get_labels() == [str(label) for label in golden["labels"]]
    data_dir = FIXTURES / "upstream_pvp" / golden["inputs"]
    read = {"train": processor.get_train_examples, "dev": processor.get_dev_examples, "test": processor.get_test_examples}
    for split, records in golden["examples"].items():
        ours = read[split](data_dir)
        expected = [our_example(task, split, r, i) for i, r in enumerate(records)]
        assert len(ours) == len(expected), (task, split)
        if task == "record" and split == "train":
            ours, expected = _record_train_pairing(ours, expected)
        for mine, theirs in zip(ours, expected):
            assert (mine.guid, mine.text_a, mine.text_b, mine.label) == (theirs.guid, theirs.text_a, theirs.text_b, theirs.label), (task, split)
            assert (mine.meta, mine.idx, mine.num_choices) == (theirs.meta, theirs.idx, theirs.num_choices), (task, split, mine.guid)


def _record_train_pairing(ours: list[InputExample], theirs: list[InputExample]) -> tuple[list[InputExample], list[InputExample]]:
    """Upstream orders a query's distinct answers as a Python set (hash-seed dependent); ours keeps file order.
    The seeded shuffle is drawn once per answer in turn, so the k-th example of a query gets the same other
    entities either way: check that, and that the answers are the same set; then compare the rest with the
    answers (and the guids that count them) taken from ours."""
    by_query: dict[Any, list[int]] = {}
    for i, e in enumerate(theirs):
        by_query.setdefault(e.meta["question_idx"], []).append(i)
    aligned = []
    for indices in by_query.values():
        mine = [ours[i] for i in indices]
        assert Counter(e.meta["answers"][0] for e in mine) == Counter(theirs[i].meta["answers"][0] for i in indices)
        for m, i in zip(mine, indices):
            t = theirs[i]
            assert m.meta["candidates"][1:] == t.meta["candidates"][1:], "the k-th answer's other entities differ"
            meta = {**t.meta, "candidates": [m.meta["answers"][0], *t.meta["candidates"][1:]], "answers": m.meta["answers"]}
            aligned.append(InputExample(m.guid, t.text_a, t.text_b, t.label, meta=meta, idx=t.idx, num_choices=t.num_choices))
    return ours, aligned


# ---------------------------------------------------------------------------------------------- renders
def _renders() -> list[tuple[str, int]]:
    return [(task, i) for task in TASKS for i in range(len(load(task)["renders"]))]


@pytest.fixture(scope="module")
def goldens() -> dict[str, dict[str, Any]]:
    return {task: load(task) for task in TASKS}


@pytest.mark.parametrize("task, index", _renders(), ids=lambda v: str(v))
def test_render_matches_upstream(tokenizer, goldens, task, index):
    golden = goldens[task]
    render = golden["renders"][index]
    split, pattern_id, length = render["split"], render["pattern_id"], render["seq_length"]
    labels = [str(label) for label in golden["labels"]]
    pvp = ALL_PVPS[task](tokenizer, labels, length, pattern_id=pattern_id)
    examples = [our_example(task, split, r, i) for i, r in enumerate(golden["examples"][split])]
    assert [e.guid for e in examples] == [s["guid"] for s in render["samples"]]
    for example, sample in zip(examples, render["samples"]):
        if task == "wsc" and render["loss_func"] == "cross_entropy":
            # Without --wsc-negative upstream trains and scores the referent alone (its generative WSC path).
            example = InputExample(example.guid, example.text_a, label=example.label,
                                   meta={k: v for k, v in example.meta.items() if k != "candidates"}, idx=example.idx)  # fmt: skip
        if "error" in sample:
            encode = encode_candidate_rows if pvp.is_multi_token else encode_single_token
            with pytest.raises(PromptTooLongError):
                encode(pvp, example)
            continue
        if pvp.is_multi_token:
            _check_multi_token(pvp, example, sample, task, split, render["loss_func"])
        else:
            _check_single_token(pvp, example, sample)


def _check_single_token(pvp, example: InputExample, sample: dict[str, Any]) -> None:
    (row,) = sample["rows"]
    ours = encode_single_token(pvp, example)
    assert ours.input_ids == row["input_ids"], example.guid
    assert ours.position_ids == [row["position_ids"], row["block_position_ids"]], example.guid
    assert ours.sep == row["sep"] and ours.verbalizer_ids == sample["verbalizer_ids"] and ours.label == sample["label"]


def _check_multi_token(pvp, example: InputExample, sample: dict[str, Any], task: str, split: str, loss_func: str) -> None:
    rows = sample["rows"]
    ours = encode_candidate_rows(pvp, example)
    assert len(ours.input_ids) == len(rows), example.guid
    answers = [len(r["input_ids"]) - r["sep"] for r in rows]  # answer tokens incl. eop = scored positions
    longest = answers.index(max(answers))
    for c, row in enumerate(rows):
        sep = row["sep"]
        if c == longest or sep == ours.sep:  # the same context: the whole row is upstream's
            assert ours.input_ids[c] == row["input_ids"], (example.guid, c)
            assert ours.position_ids[c] == [row["position_ids"], row["block_position_ids"]], (example.guid, c)
            assert ours.target_ids[c] == row["target_ids"] and ours.loss_mask[c] == row["loss_mask"], (example.guid, c)
        else:  # upstream kept more context for this shorter answer; the candidate's block is the same
            assert sep > ours.sep, (example.guid, c)
            assert ours.input_ids[c][ours.sep :] == row["input_ids"][sep:], (example.guid, c)
            assert ours.position_ids[c][1][ours.sep :] == row["block_position_ids"][sep:]
            assert ours.target_ids[c][ours.sep :] == row["target_ids"][sep:]
    assert ours.sep == rows[longest]["sep"]
    assert ours.label == _expected_candidate_label(task, split, loss_func, example, sample["label"])

    packed = encode_packed(pvp, example)  # the context once, then every candidate's block
    assert packed.input_ids[: packed.context_length] == ours.input_ids[longest][: ours.sep]
    blocks = [ours.input_ids[c][ours.sep :] for c in range(len(rows))]
    assert packed.input_ids[packed.context_length :] == [t for b in blocks for t in b]
    assert packed.target_ids[packed.context_length :] == [t for c in range(len(rows)) for t in ours.target_ids[c][ours.sep :]]
    assert packed.position_ids[1][packed.context_length :] == [p for c in range(len(rows)) for p in ours.position_ids[c][1][ours.sep :]]
    assert packed.label == ours.label


def _expected_candidate_label(task: str, split: str, loss_func: str, example: InputExample, upstream: int) -> int:
    """Our label is the index of the right candidate. Upstream's is that too for COPA, for ReCoRD training
    examples and for WSC training under the mix/generative losses; its WSC dev label is the label index (False 0,
    True 1, mapped from "candidate 0 wins" at evaluation) and its ReCoRD dev label is a placeholder 1."""
    if task == "wsc" and (split == "dev" or loss_func == "cross_entropy"):
        assert upstream == ["False", "True"].index(example.label)
        return 0 if example.label == "True" else -1
    if task == "record" and split != "train":
        assert upstream == 1
        return next(i for i, c in enumerate(example.meta["candidates"]) if c in example.meta["answers"])
    return upstream


def test_goldens_cover_truncation_and_failures(goldens):
    """The short sequence lengths do cut text (and for COPA leave no room at all), so truncation is tested too."""
    cut = failed = 0
    for golden in goldens.values():
        for render in golden["renders"]:
            long_render = next(r for r in golden["renders"] if (r["split"], r["pattern_id"], r["loss_func"]) ==
                               (render["split"], render["pattern_id"], render["loss_func"]))  # fmt: skip
            for sample, full in zip(render["samples"], long_render["samples"]):
                if "error" in sample:
                    failed += 1
                elif "rows" in full and len(sample["rows"][0]["input_ids"]) < len(full["rows"][0]["input_ids"]):
                    cut += 1
    assert cut > 300 and failed > 0


def test_inputs_folder_is_what_the_goldens_read():
    for task in TASKS:
        assert (INPUTS / Path(load(task)["inputs"]).name).is_dir()
