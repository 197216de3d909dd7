"""The SuperGLUE tasks through the drivers: the registry entries, THUDM/GLM's losses by hand, chunked candidate
scoring equal to unchunked, the multiple-choice classifier head, WSC's greedy-match evaluation, flag errors before
a run directory exists, and the submission files a run writes for test.jsonl."""

from __future__ import annotations

import json
import math
import sys

import pytest
import torch
from conftest import ROOT

from model.glm import GLMConfig, GLMModel
from model.heads import ClassificationHead, MultipleChoiceClassifierHead, MultiTokenClozeHead, choice_loss
from tasks import layout
from tasks.registry import DataOptions, resolve
from tasks.superglue import TASK_INFO
from tasks.superglue.evaluate import compute_metrics
from training.superglue import SuperGlueModule, _score_pieces, _width

DEMO = ROOT / "data" / "demo" / "superglue"
TINY = ROOT / "checkpoints" / "glm-tiny"  # replaced by the session's own tiny GLM (conftest.glm_tiny) below


@pytest.fixture(autouse=True)
def _tiny_glm(glm_tiny, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "TINY", glm_tiny)


def tiny_model(vocab_size: int) -> GLMModel:
    torch.manual_seed(0)
    return GLMModel(GLMConfig(num_layers=2, hidden_size=32, num_attention_heads=4, vocab_size=vocab_size, max_sequence_length=512)).eval()


# ---------------------------------------------------------------------------------------------- registry
@pytest.mark.parametrize("name", ["RTE", "cb", "BoolQ", "WiC", "COPA", "wsc", "MultiRC", "ReCoRD"])
def test_every_task_is_registered_with_its_metrics_and_default_pattern(tokenizer, name):
    entry = resolve(name)
    info = TASK_INFO[name.lower()]
    assert entry is resolve(name.upper()) and entry.metrics == info.metrics
    task = entry.prepare(DataOptions(str(DEMO / info.hyperparameters.data_folder)), tokenizer, prompt=None, seq_length=256)
    assert task.prompt["id"] == info.hyperparameters.pattern_id and task.pvp.pattern_id == info.hyperparameters.pattern_id
    assert task.kind == ("multiple_choice" if name.lower() in ("copa", "record") else "classification")
    dev = task.processor.get_dev_examples(DEMO / info.hyperparameters.data_folder)
    predictions = [0] * len(dev)
    assert tuple(compute_metrics(name.lower(), predictions, dev)) == info.metrics  # the names the entry declares


def test_few_superglue_and_multi_token_reach_the_processor_and_pvp(tmp_path):
    from model.tokenizer import GLMTokenizer

    demo_vocab = GLMTokenizer.from_dir(TINY)  # the tiny model's small vocabulary: " Maybe" is several tokens
    with pytest.raises(ValueError, match="Pass --multi-token"):
        resolve("CB").prepare(DataOptions(), demo_vocab, prompt=3)
    task = resolve("CB").prepare(DataOptions(few_superglue=True), demo_vocab, prompt=3, multi_token=True)
    assert task.processor.few_superglue and task.pvp.is_multi_token
    assert [demo_vocab.decode(a[:-1]) for a in task.pvp.answer_ids(None)] == [" Yes", " No", " Maybe"]


# ---------------------------------------------------------------------------------------------- losses
def test_losses_by_hand():
    scores = torch.tensor([[-1.0, -2.0, -0.5], [-3.0, -0.2, float("-inf")]])  # the second example has two choices
    labels = torch.tensor([0, 1])
    ce = [-(-1.0 - math.log(math.exp(-1) + math.exp(-2) + math.exp(-0.5))), -(-0.2 - math.log(math.exp(-3) + math.exp(-0.2)))]
    assert choice_loss(scores, labels, "cross_entropy").item() == pytest.approx(sum(ce) / 2, rel=1e-6)
    hinge = [max(0, 1 - 2.0 + 1.0) + max(0, 1 - 0.5 + 1.0), max(0, 1 - 3.0 + 0.2)]  # the padded choice counts 0
    assert choice_loss(scores, labels, "hinge").item() == pytest.approx(sum(hinge) / 2, rel=1e-6)
    generative = -(-1.0 - 0.2) / 2
    assert choice_loss(scores, labels, "generative").item() == pytest.approx(generative, rel=1e-6)
    assert choice_loss(scores, labels, "mix").item() == pytest.approx(generative + sum(ce) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="unknown loss function 'l2'"):
        choice_loss(scores, labels, "l2")


def test_losses_give_finite_gradients_through_padded_choices():
    scores = torch.tensor([[-1.0, -2.0, -0.5], [-3.0, -0.2, -9.0]], requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    for loss_func in ("cross_entropy", "hinge", "generative", "mix"):
        masked = scores.masked_fill(~mask, float("-inf"))
        (grad,) = torch.autograd.grad(choice_loss(masked, torch.tensor([0, 1]), loss_func), scores)
        assert torch.isfinite(grad).all() and grad[1, 2] == 0, loss_func


# ---------------------------------------------------------------------------------------------- scoring
@pytest.mark.parametrize("chunk", [1, 3, 5])
def test_chunked_record_scores_equal_unchunked(tokenizer, chunk):
    task = resolve("ReCoRD").prepare(DataOptions(), tokenizer, seq_length=256)
    example = max(task.processor.get_dev_examples(DEMO / "ReCoRD")[:10], key=lambda e: e.num_choices)
    assert example.num_choices > chunk
    model = tiny_model(tokenizer.vocab_size)
    head = MultiTokenClozeHead()
    with torch.no_grad():
        whole = head(model, layout.collate_packed([layout.encode_packed(task.pvp, example)]))[0]
        module = SuperGlueModule(model, head, "cross_entropy").eval()
        for rows in (False, True):
            pieces = layout.encode_packed_chunks(task.pvp, example, chunk, rows=rows)
            assert len(pieces) == math.ceil(example.num_choices / chunk)
            collate = layout.collate_candidate_rows if rows else layout.collate_packed
            scores = _score_pieces(module, [pieces], collate, _width, 2, torch.device("cpu"))[0]
            assert torch.allclose(torch.tensor(scores), whole, atol=1e-5), rows


def test_multiple_choice_classifier_scores_each_row_and_masks_missing_choices(tokenizer):
    model = tiny_model(tokenizer.vocab_size)
    head = MultipleChoiceClassifierHead(32, dropout=0.0).eval()
    a = tokenizer.encode("The man broke his toe because")
    choices = [[tokenizer.encode(" he dropped a hammer on his foot.")], [tokenizer.encode(" he got a hole in his sock.")],
               [tokenizer.encode(" ok")]]  # fmt: skip
    two = layout.build_classifier_choices(a, [c[0] for c in choices[:2]], tokenizer, 64, 0)
    three = layout.build_classifier_choices(a, [c[0] for c in choices], tokenizer, 64, 2)
    with torch.no_grad():
        scores = head(model, layout.collate_classifier_choices([two, three]))
        single = ClassificationHead.forward(head, model, layout.collate_classifier([three.rows[1]]))
    assert scores.shape == (2, 3) and scores[0, 2] == float("-inf") and torch.isfinite(scores[1]).all()
    assert torch.allclose(scores[1, 1], single[0, 0], atol=1e-5)


def test_wsc_greedy_match_checks_every_target_token(tokenizer):
    task = resolve("WSC").prepare(DataOptions(), tokenizer, prompt=2, seq_length=128)
    example = task.processor.get_dev_examples(DEMO / "WSC")[0]
    sample = layout.encode_packed_chunks(task.pvp, example, 1)[0]
    model = tiny_model(tokenizer.vocab_size)
    module = SuperGlueModule(model, MultiTokenClozeHead(), "generative").eval()
    batch = layout.collate_packed([sample])
    with torch.no_grad():
        logits = model(batch["input_ids"], batch["position_ids"], attention_mask=batch["attention_mask"]).logits[0]
    scored = batch["candidate_index"][0] >= 0
    greedy = sample.target_ids.copy()
    for t in scored.nonzero().flatten().tolist():
        greedy[t] = int(logits[t].argmax())
    sample.target_ids = greedy  # the model's own greedy tokens: a match
    assert module.greedy_match(layout.collate_packed([sample])).tolist() == [True]
    last = scored.nonzero().flatten()[-1].item()
    sample.target_ids = greedy[:last] + [(greedy[last] + 1) % tokenizer.vocab_size] + greedy[last + 1 :]
    assert module.greedy_match(layout.collate_packed([sample])).tolist() == [False]


def test_a_training_batch_without_labels_is_an_error(tokenizer):
    task = resolve("RTE").prepare(DataOptions(), tokenizer, seq_length=128)
    test = task.processor.get_test_examples(DEMO / "RTE")[:2]
    from model.heads import SingleTokenClozeHead

    module = SuperGlueModule(tiny_model(tokenizer.vocab_size), SingleTokenClozeHead(), "cross_entropy").train()
    with pytest.raises(ValueError, match="training batch holds examples without a label"):
        module(layout.collate_single_token([layout.encode_single_token(task.pvp, e) for e in test]))


# ---------------------------------------------------------------------------------------------- the driver
def finetune(tmp_path, *argv: str) -> dict:
    from finetune_glm import main

    return main(["--load-pretrained", str(TINY), "--save", str(tmp_path), "--num-threads", "1", *argv])


@pytest.mark.parametrize("argv, message", [
    (["--task", "RTE", "--loss-func", "generative"], "needs log-probability scores"),
    (["--task", "COPA", "--loss-func", "mix", "--no-cloze-eval"], "the linear head"),
    (["--task", "ag_news", "--loss-func", "hinge", "--data-dir", str(ROOT / "data" / "demo" / "ag_news")], "not a SuperGLUE task"),
    (["--task", "ag_news", "--multi-token"], "--multi-token applies to the SuperGLUE tasks"),
])  # fmt: skip
def test_flag_errors_come_before_the_run_directory(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        finetune(tmp_path, *argv, "--experiment-name", "x", "--data-dir", str(DEMO / "RTE"))
    assert not (tmp_path / "x").exists()


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_submission_files_have_the_superglue_format(tmp_path):
    for task, folder in (("RTE", "RTE"), ("COPA", "COPA"), ("MultiRC", "MultiRC"), ("ReCoRD", "ReCoRD"), ("WSC", "WSC-negative")):
        argv = ["--task", task, "--data-dir", str(DEMO / folder), "--epochs", "0", "--experiment-name", task, "--seq-length", "256"]
        result = finetune(tmp_path, *argv, *(["--wsc-negative", "--pattern-id", "2"] if task == "WSC" else []))
        assert result["status"] == "finished" and result["test"] == {}  # test.jsonl is unlabelled
        lines = read_jsonl(tmp_path / task / "submission" / f"{task}.jsonl")
        records = read_jsonl(DEMO / folder / "test.jsonl")
        if task == "MultiRC":  # one line per passage, answers nested under their questions
            assert [r["idx"] for r in lines] == [r["idx"] for r in records]
            for line, record in zip(lines, records):
                want = [[a["idx"] for a in q["answers"]] for q in record["passage"]["questions"]]
                got = [[a["idx"] for a in q["answers"]] for q in line["passage"]["questions"]]
                assert got == want and all(a["label"] in (0, 1) for q in line["passage"]["questions"] for a in q["answers"])
        elif task == "ReCoRD":  # one line per query, the label an entity string of its passage
            queries = [(q["idx"], r["passage"]) for r in records for q in r["qas"]]
            assert [r["idx"] for r in lines] == [q for q, _ in queries]
            for line, (_, passage) in zip(lines, queries):
                entities = {passage["text"][e["start"] : e["end"] + 1] for e in passage["entities"]}
                assert line["label"] in entities
        else:
            assert [r["idx"] for r in lines] == [r["idx"] for r in records]
            allowed = {"RTE": {"entailment", "not_entailment"}, "COPA": {0, 1}, "WSC": {"True", "False"}}[task]
            assert {r["label"] for r in lines} <= allowed and all(set(r) == {"idx", "label"} for r in lines)


def test_few_superglue_run_tests_on_labelled_val(tmp_path):
    data = tmp_path / "fewglue"
    data.mkdir()
    src = DEMO / "RTE"
    rows = (src / "train.jsonl").read_text().splitlines()
    (data / "train.jsonl").write_text("\n".join(rows[:32]) + "\n")
    (data / "dev32.jsonl").write_text("\n".join(rows[32:64]) + "\n")
    (data / "val.jsonl").write_text((src / "val.jsonl").read_text())
    result = finetune(tmp_path, "--task", "RTE", "--data-dir", str(data), "--few-superglue", "--epochs", "1",
                      "--experiment-name", "few", "--seq-length", "128")  # fmt: skip
    assert set(result["test"]) == {"accuracy"}  # FewGLUE's val.jsonl is the (labelled) test split
    record = json.loads((tmp_path / "few" / "config.json").read_text())
    assert record["data"]["dev"]["from"].endswith("dev32.jsonl") and record["data"]["test"]["from"].endswith("val.jsonl")
    assert record["args"]["few_superglue"] is True


# ---------------------------------------------------------------------------------------------- the baseline driver
@pytest.mark.parametrize("task, folder", [pytest.param("WiC", "WiC", marks=pytest.mark.slow), ("ReCoRD", "ReCoRD")])
def test_the_roberta_baseline_runs_superglue_tasks_with_the_same_metrics_and_submission(tmp_path, task, folder):
    from finetune_baseline import main as finetune_baseline
    from scripts.make_tiny_baseline import BUILDERS

    model = BUILDERS["roberta"](tmp_path / "roberta-tiny")
    result = finetune_baseline(["--baseline", "roberta", "--model-name-or-path", str(model), "--task", task, "--data-dir",
                                str(DEMO / folder), "--save", str(tmp_path), "--experiment-name", "b", "--epochs", "1",
                                "--max-train-examples", "16", "--seq-length", "128", "--num-threads", "1", "--loss-func", "hinge"])  # fmt: skip
    assert result["status"] == "finished" and tuple(result["best"]["dev"]) == TASK_INFO[task.lower()].metrics
    assert (tmp_path / "b" / "submission" / f"{task}.jsonl").is_file()
    assert json.loads((tmp_path / "b" / "config.json").read_text())["data"]["scoring"] == {"loss_func": "hinge"}


@pytest.mark.parametrize("folder, row, message", [
    ("RTE", {"premise": "A man sleeps.", "hypothesis": "A man rests.", "label": "maybe", "idx": 0},
     r"train.jsonl:1: label 'maybe' is not a label of this task \(labels: 0='entailment', 1='not_entailment'"),
    ("RTE", {"premise": "A man sleeps.", "hypothesis": "A man rests.", "idx": 0}, r"train.jsonl:1: no label, but the train split"),
])  # fmt: skip
def test_bad_data_stops_the_driver_with_the_file_and_line(tmp_path, folder, row, message):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text(json.dumps(row) + "\n")
    for split in ("val", "test"):
        (data / f"{split}.jsonl").write_text((DEMO / folder / f"{split}.jsonl").read_text())
    with pytest.raises(SystemExit, match=message):  # one line naming the file and line, before any training
        finetune(tmp_path, "--task", folder, "--data-dir", str(data), "--epochs", "1", "--experiment-name", "bad")
