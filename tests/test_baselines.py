"""The baselines end to end, offline, on tiny random RoBERTa / BART / T5 models built here and saved in the Hugging
Face layout, so the production path (from_pretrained of a local directory) is what runs. A tiny GLM run on the
same data is the reference for the run-directory format and the data splits."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BartForConditionalGeneration, T5ForConditionalGeneration

from conftest import ROOT
from finetune_baseline import BASELINE_NAMES
from finetune_baseline import build_parser as baseline_parser
from finetune_baseline import main as finetune_baseline
from finetune_glm import build_parser as glm_parser
from finetune_glm import main as finetune_glm
from scripts.make_tiny_baseline import BUILDERS
from scripts.make_tiny_checkpoint import make_tiny_checkpoint
from training.baselines import BASELINES, IGNORE_INDEX, LabelTextScorer, Seq2SeqLM, label_text, pad_inputs
from training.upstream_flags import UPSTREAM_FLAGS, dest

DEMO = ROOT / "data" / "demo" / "ag_news"
RUN_FILES = [".lock", "best/model.safetensors", "config.json", "log.txt", "metrics.jsonl", "predictions_dev.jsonl",
             "predictions_test.jsonl", "results.json"]
# finetune_glm.py flags about GLM itself or its prompts; every other flag of it a baseline run records too.
GLM_ONLY_ARGS = {"pattern_id", "list_prompts", "cloze_eval", "multi_token_layout",
                 "ptuning_v2", "pre_seq_len", "prefix_projection", "prefix_hidden_size", "peft", "lora", "lora_rank",
                 "lora_alpha", "lora_dropout", "lora_target_modules", "continuous_prompt", "num_prompt_tokens",
                 "prefix_prompt", "prompt_func", "freeze_transformer", "load_pretrained",
                 "tokenizer_dir", "mask_id", "gelu", "max_position_embeddings", "mask_pad_token", "attention_dropout", "pack_examples"}
# THUDM/GLM's flags that only finetune_glm.py accepts (training/upstream_flags.py)
GLM_ONLY_ARGS |= {dest(f.name) for f in UPSTREAM_FLAGS if f.status in ("checked", "accepted", "limited")}


# ---------------------------------------------------------------------------------------------- tiny models
@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny random models in the Hugging Face layout, written here by the project's builder."""
    root = tmp_path_factory.mktemp("models")
    models = {name: build(root / name) for name, build in BUILDERS.items()}
    t5_tokenizer = AutoTokenizer.from_pretrained(models["t5"])
    assert len(t5_tokenizer) > 100 and t5_tokenizer("Sports").input_ids[-1] == t5_tokenizer.eos_token_id
    assert len(AutoTokenizer.from_pretrained(models["roberta"])) == 50265  # not an empty tokenizer
    return models


# ---------------------------------------------------------------------------------------------- runs
COMMON = ["--task", "ag_news", "--data-dir", str(DEMO), "--seq-length", "96", "--batch-size", "16", "--warmup", "0.1",
          "--log-interval", "1"]


def baseline_run(models, save: Path, name: str, baseline: str, *extra) -> dict:
    return finetune_baseline(["--baseline", baseline, "--model-name-or-path", str(models[baseline]), "--save", str(save),
                              "--experiment-name", name, *COMMON, *map(str, extra)])


@pytest.fixture(scope="module")
def glm_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("glm")
    ckpt = make_tiny_checkpoint(root / "glm-tiny", vocab="demo")
    finetune_glm(["--load-pretrained", str(ckpt), "--save", str(root), "--experiment-name", "glm", *COMMON,
                  "--epochs", "1", "--lr", "1e-3", "--max-train-examples", "32"])
    return root / "glm"


@pytest.fixture(scope="module")
def runs(models, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """RoBERTa trained to learn the demo task; BART and T5 for one short epoch (their plumbing)."""
    save = tmp_path_factory.mktemp("runs")
    return {
        "roberta": (save / "roberta", baseline_run(models, save, "roberta", "roberta", "--epochs", 5, "--lr", 2e-3)),
        "bart": (save / "bart", baseline_run(models, save, "bart", "bart", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 48)),
        "t5": (save / "t5", baseline_run(models, save, "t5", "t5", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 48)),
    }


def read_json(path: Path):
    return json.loads(path.read_text())


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------- tests
def test_tiny_roberta_learns_the_demo_task(runs):
    run_dir, res = runs["roberta"]
    assert res["status"] == "finished"
    assert res["best"]["dev"]["accuracy"] >= 0.9, res
    assert res["test"]["accuracy"] >= 0.85, res
    losses = [e["loss"] for e in read_lines(run_dir / "metrics.jsonl") if e["event"] == "train"]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("baseline, method", [("roberta", "roberta_linear"), ("bart", "bart_linear"), ("t5", "t5")])
def test_run_directory_has_the_glm_run_format(runs, glm_dir, baseline, method):
    run_dir, res = runs[baseline]
    assert files(run_dir) == files(glm_dir) == RUN_FILES
    cfg, glm_cfg = read_json(run_dir / "config.json"), read_json(glm_dir / "config.json")
    assert list(cfg) == list(glm_cfg)
    assert set(glm_cfg["args"]) - GLM_ONLY_ARGS <= set(cfg["args"])
    assert cfg["args"]["method"] == method and cfg["args"]["baseline"] == baseline
    assert cfg["model"]["model_type"] == baseline
    data, glm_data = dict(cfg["data"]), dict(glm_cfg["data"])
    sizes, glm_sizes = data.pop("sizes"), glm_data.pop("sizes")
    subset, glm_subset = data.pop("train_subset", None), glm_data.pop("train_subset")  # --max-train-examples differs
    assert data == glm_data  # the same split files and split records
    assert sizes["dev"] == glm_sizes["dev"] and sizes["test"] == glm_sizes["test"]
    assert glm_subset["kind"] == "first" and glm_subset["size"] == glm_sizes["train"]
    if subset is None:  # all of train
        assert sizes["train"] == glm_subset["of"]
    else:
        assert subset["kind"] == "first" and subset["of"] == glm_subset["of"] and subset["size"] == sizes["train"]

    results, glm_results = read_json(run_dir / "results.json"), read_json(glm_dir / "results.json")
    assert results == res
    assert list(results) == list(glm_results)
    assert list(results["best"]) == list(glm_results["best"])
    assert list(results["best"]["dev"]) == list(glm_results["best"]["dev"]) == ["accuracy", "macro_f1"]
    assert list(results["test"]) == list(glm_results["test"])

    def event_kinds(path: Path) -> set[frozenset[str]]:  # the keys of each kind of line (train, dev eval, test eval)
        return {frozenset(e) for e in read_lines(path)}

    assert event_kinds(run_dir / "metrics.jsonl") == event_kinds(glm_dir / "metrics.jsonl")

    for split in ("dev", "test"):
        rows, glm_rows = read_lines(run_dir / f"predictions_{split}.jsonl"), read_lines(glm_dir / f"predictions_{split}.jsonl")
        assert [r["guid"] for r in rows] == [r["guid"] for r in glm_rows]  # the same examples in the same order
        assert [r["label"] for r in rows] == [r["label"] for r in glm_rows]
        assert set(rows[0]) == set(glm_rows[0]) and len(rows[0]["scores"]) == 4
        accuracy = sum(r["label"] == r["prediction"] for r in rows) / len(rows)
        assert accuracy == pytest.approx(results["best"]["dev"]["accuracy"] if split == "dev" else results["test"]["accuracy"])


def test_same_stratified_dev_split_as_glm(models, glm_dir, tmp_path):
    """Without a dev file both drivers hold out the same seeded, stratified part of train."""
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        shutil.copy(DEMO / f"{split}.jsonl", data / f"{split}.jsonl")
    split_args = ["--task", "ag_news", "--data-dir", str(data), "--epochs", "0", "--dev-fraction", "0.2", "--data-seed", "5",
                  "--save", str(tmp_path), "--seq-length", "96"]
    finetune_glm(["--load-pretrained", str(glm_dir.parent / "glm-tiny"), "--experiment-name", "glm", *split_args])
    finetune_baseline(["--baseline", "t5", "--model-name-or-path", str(models["t5"]), "--experiment-name", "t5", *split_args])
    glm_cfg, cfg = read_json(tmp_path / "glm" / "config.json"), read_json(tmp_path / "t5" / "config.json")
    assert cfg["data"] == glm_cfg["data"] and cfg["data"]["sizes"] == {"train": 320, "dev": 80, "test": 100}
    guids = [r["guid"] for r in read_lines(tmp_path / "t5" / "predictions_dev.jsonl")]
    assert guids == [r["guid"] for r in read_lines(tmp_path / "glm" / "predictions_dev.jsonl")]
    assert len(guids) == 80 and all(g.startswith("train-") for g in guids)


def test_epochs_zero_with_load_reproduces_best_dev(models, runs, tmp_path):
    run_dir, res = runs["roberta"]
    again = baseline_run(models, tmp_path, "eval", "roberta", "--epochs", 0, "--load", run_dir)
    assert again["best"]["dev"] == res["best"]["dev"] and again["test"] == res["test"]


def test_label_text_scores_are_hf_log_likelihoods(models):
    """Scoring every label text with one shared encoder pass equals HF's own loss on each (input, label text)."""
    tok = AutoTokenizer.from_pretrained(models["t5"])
    model = T5ForConditionalGeneration.from_pretrained(models["t5"]).eval()
    texts = [label_text(label) for label in ("World", "Sports", "Business", "Sci/Tech")]
    targets = [tok(text_target=t).input_ids for t in texts]
    width = max(map(len, targets))
    candidates = torch.tensor([t + [IGNORE_INDEX] * (width - len(t)) for t in targets])
    sources = [tok("ag_news: The team won the game on Sunday.").input_ids, tok("ag_news: Shares rose.").input_ids]
    batch = {**pad_inputs(sources, tok.pad_token_id), "labels": torch.tensor([1, 2])}
    scorer = LabelTextScorer(model, candidates).eval()
    with torch.no_grad():
        scores, loss = scorer(batch)
        for i, src in enumerate(sources):
            for j, target in enumerate(targets):
                hf = model(input_ids=torch.tensor([src]), labels=torch.tensor([target])).loss  # mean over tokens
                assert scores[i, j].item() == pytest.approx(-hf.item() * len(target), abs=1e-4)
        gold = [targets[1], targets[2]]
        expected = -(scores[0, 1] + scores[1, 2]) / sum(map(len, gold))
        assert loss.item() == pytest.approx(expected.item(), abs=1e-5)
    # training mode decodes the gold texts only; without dropout its loss is the same number
    no_dropout = T5ForConditionalGeneration.from_pretrained(models["t5"], dropout_rate=0.0)
    _, train_loss = LabelTextScorer(no_dropout, candidates).train()(batch)
    assert train_loss.item() == pytest.approx(loss.item(), abs=1e-5)
    assert label_text("EducationalInstitution") == "Educational Institution" and label_text("Sci/Tech") == "Sci/Tech"


@pytest.mark.parametrize("baseline", ["bart", "t5"])
def test_seq2seq_loss_is_hf_loss_without_smoothing(models, baseline):
    cls = {"bart": BartForConditionalGeneration, "t5": T5ForConditionalGeneration}[baseline]
    tok = AutoTokenizer.from_pretrained(models[baseline])
    model = cls.from_pretrained(models[baseline]).eval()
    sources = [tok("Convert: red fox seven").input_ids, tok("The team won the game").input_ids]
    targets = [tok(text_target="7 red foxes").input_ids, tok(text_target="won").input_ids]
    width = max(map(len, targets))
    labels = torch.tensor([t + [IGNORE_INDEX] * (width - len(t)) for t in targets])
    batch = {**pad_inputs(sources, tok.pad_token_id), "labels": labels}
    with torch.no_grad():
        _, loss = Seq2SeqLM(model)(batch)
        hf = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels)
        _, smoothed = Seq2SeqLM(model, label_smoothing=0.1)(batch)
    assert loss.item() == pytest.approx(hf.loss.item(), abs=1e-5)
    # GLM's smoothing: (1 - eps) * NLL + eps * mean over the vocabulary of -log p, averaged over target tokens
    logp, real = hf.logits.log_softmax(-1), labels != IGNORE_INDEX
    nll = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)[real].mean()
    assert smoothed.item() == pytest.approx((0.9 * nll + 0.1 * -logp.mean(-1)[real].mean()).item(), abs=1e-5)


@pytest.mark.parametrize("baseline", ["t5", "bart"])
def test_seq2seq_run_has_the_glm_seq2seq_run_format(models, glm_dir, tmp_path, baseline):
    """BART and T5 on the demo rewrite task next to a tiny GLM seq2seq run: same splits, metrics and files."""
    common = ["--task", "customization", "--data-dir", str(ROOT / "data" / "demo" / "seq2seq"), "--save", str(tmp_path),
              "--src-seq-length", "16", "--tgt-seq-length", "8", "--epochs", "1", "--lr", "1e-3", "--batch-size", "16",
              "--max-train-examples", "64", "--eval-max-examples", "10", "--log-interval", "1"]
    finetune_glm(["--load-pretrained", str(glm_dir.parent / "glm-tiny"), "--experiment-name", "glm", *common])
    res = finetune_baseline(["--baseline", baseline, "--model-name-or-path", str(models[baseline]), "--experiment-name",
                             baseline, *common])
    run_dir, glm_run = tmp_path / baseline, tmp_path / "glm"
    assert res["status"] == "finished"
    assert files(run_dir) == files(glm_run)
    cfg, glm_cfg = read_json(run_dir / "config.json"), read_json(glm_run / "config.json")
    assert cfg["args"]["method"] == baseline
    assert cfg["data"] == glm_cfg["data"]
    results, glm_results = read_json(run_dir / "results.json"), read_json(glm_run / "results.json")
    assert list(results["best"]["dev"]) == list(glm_results["best"]["dev"]) == ["rougeL", "rouge1", "rouge2", "rougeLsum", "bleu"]
    assert list(results["test"]) == list(glm_results["test"])
    for split, count in (("dev", 10), ("test", 50)):
        rows, glm_rows = read_lines(run_dir / f"predictions_{split}.jsonl"), read_lines(glm_run / f"predictions_{split}.jsonl")
        assert len(rows) == count and set(rows[0]) == set(glm_rows[0])
        assert [(r["guid"], r["label"]) for r in rows] == [(r["guid"], r["label"]) for r in glm_rows]


# ---------------------------------------------------------------------------------------------- flags and errors
def test_a_promptsource_task_reads_the_rendered_template_and_records_identity(models, tmp_path):
    """Baselines accept every task the GLM driver accepts: a promptsource template renders the input, and the
    run records the template, the checkpoint, parameter counts, hyperparameters and cost like a GLM run."""
    res = finetune_baseline(["--baseline", "roberta", "--model-name-or-path", str(models["roberta"]), "--save",
                             str(tmp_path), "--experiment-name", "ps", *COMMON[:1], "promptsource:ag_news",
                             *COMMON[2:], "--prompt", "1", "--epochs", "1", "--lr", "1e-3", "--max-train-examples", "16"])
    assert res["status"] == "finished" and res["cost"]["tokens_seen"] > 16 and res["cost"]["wall_s"] > 0
    config = read_json(tmp_path / "ps" / "config.json")
    identity = config["identity"]
    assert identity["task"] == "promptsource:ag_news" and identity["method"] == "roberta_linear"
    assert identity["prompt"]["name"] == "classify_question_first" and "{{text}}" in identity["prompt"]["text"]
    assert identity["model"] == str(models["roberta"])
    assert 0 < identity["params"]["trainable"] == identity["params"]["total"]
    assert config["hyperparameters"]["lr"] == 1e-3 and "baseline" not in config["hyperparameters"]
    assert "model_name_or_path" not in config["hyperparameters"]


def test_baseline_flags_match_the_glm_driver():
    """A flag both drivers have has the same default there, so equal command lines mean equal settings."""
    glm = {a.dest: a for a in glm_parser()._actions}
    own = {a.dest: a for a in baseline_parser()._actions}
    shared = set(glm) & set(own) - {"help", "output_dropout"}  # the head's dropout: the checkpoint's by default
    assert {"task", "data_dir", "seq_length", "lr", "batch_size", "epochs", "warmup", "weight_decay", "lr_decay_style",
            "seed", "experiment_name", "save", "fp16", "bf16", "eval_batch_size", "max_train_examples"} <= shared
    assert {d: own[d].default for d in shared} == {d: glm[d].default for d in shared}
    assert {d: own[d].option_strings for d in shared} == {d: glm[d].option_strings for d in shared}
    assert BASELINE_NAMES == tuple(BASELINES)


def test_unknown_baseline(capsys):
    with pytest.raises(SystemExit):
        finetune_baseline(["--baseline", "gpt2", "--task", "ag_news"])
    assert "invalid choice: 'gpt2'" in capsys.readouterr().err


def test_roberta_cannot_generate():
    with pytest.raises(SystemExit, match="cannot generate.*--baseline bart or --baseline t5"):
        BASELINES["roberta"].method("seq2seq")


def test_seq2seq_task_with_roberta_stops_before_writing(tmp_path):
    with pytest.raises(SystemExit, match="cannot generate"):
        finetune_baseline(["--baseline", "roberta", "--task", "samsum", "--save", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_unknown_task(tmp_path):
    with pytest.raises(SystemExit, match="unknown task 'nope'; available: .*ag_news"):
        finetune_baseline(["--baseline", "t5", "--task", "nope", "--save", str(tmp_path)])


def test_hub_name_offline_says_how_to_pass_a_directory(tmp_path):
    with pytest.raises(SystemExit, match=r"not a local directory .*--model-name-or-path DIR"):
        finetune_baseline(["--baseline", "roberta", "--task", "ag_news", "--data-dir", str(DEMO), "--save", str(tmp_path),
                           "--model-name-or-path", "no-such-org/no-such-model"])


@pytest.mark.parametrize("baseline, model, extra, message", [
    ("roberta", "t5", [], "needs a roberta checkpoint, but .* is a 't5' model"),
    ("roberta", "roberta", ["--seq-length", "200"], "--seq-length 200 is longer than the 128 positions"),
    ("t5", "t5", ["--output-dropout", "0.1"], "the t5 method has no such head"),
])
def test_bad_model_settings(models, tmp_path, baseline, model, extra, message):
    with pytest.raises(SystemExit, match=message):
        finetune_baseline(["--baseline", baseline, "--model-name-or-path", str(models[model]), "--task", "ag_news",
                           "--data-dir", str(DEMO), "--save", str(tmp_path), *extra])


# ---------------------------------------------------------------------------------------------- shell entry point
BASELINE_FRAGMENTS = sorted((ROOT / "config_tasks").glob("baseline_*.sh"))


@pytest.mark.parametrize("fragment", BASELINE_FRAGMENTS, ids=lambda p: p.name)
def test_baseline_fragments_name_a_baseline_and_a_model(fragment):
    shown = subprocess.run(["bash", "-c", f'source "{fragment}"; echo "$MODEL_TYPE|$MODEL_PATH|$BASELINE_ARGS"'],
                           capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}).stdout.strip()
    model_type, model_path, args = shown.split("|")
    assert model_type and model_path
    parsed = baseline_parser().parse_args([*args.split(), "--task", "ag_news"])
    assert parsed.baseline in BASELINES and parsed.model_name_or_path == model_path


def test_shell_script_runs_the_tiny_demo(models, tmp_path):
    """scripts/finetune_baseline.sh with the tiny fragment and the GLM demo task fragment: the task's settings reach
    the driver, and extra flags come last (here: evaluation only). MODEL_PATH holds a model already, as on every
    run after the first (writing it is what the `models` fixture does, with the same builder)."""
    env = {**os.environ, "PYTHON": sys.executable, "N_GPU": "0", "MODEL_PATH": str(models["roberta"]),
           "SAVE_PATH": str(tmp_path / "runs")}
    subprocess.run(["bash", "scripts/finetune_baseline.sh", "config_tasks/baseline_roberta_tiny.sh",
                    "config_tasks/task_ag_news_demo.sh", "--epochs", "0"], cwd=ROOT, env=env, check=True, capture_output=True)
    cfg = read_json(tmp_path / "runs" / "roberta-tiny-ag_news-demo" / "config.json")
    assert cfg["args"]["model_name_or_path"] == str(models["roberta"]) and cfg["args"]["method"] == "roberta_linear"
    assert (cfg["args"]["lr"], cfg["args"]["seq_length"], cfg["args"]["batch_size"]) == (2e-3, 128, 16)  # the task fragment's
    assert cfg["data"]["sizes"] == {"train": 400, "dev": 100, "test": 100}


@pytest.mark.parametrize("task_fragment, expected", [
    ("task_ag_news.sh", {"task": "ag_news", "seq_length": 256, "batch_size": 16, "epochs": 3, "eval_batch_size": 16}),
    ("seq_samsum.sh", {"task": "samsum", "src_seq_length": 512, "tgt_seq_length": 64, "num_beams": 5, "epochs": 6,
                       "label_smoothing": 0.1, "select_topk": True, "eval_batch_size": 4}),
])
def test_shell_script_composes_task_and_baseline_fragments(tmp_path, task_fragment, expected):
    """The flags the script hands the driver (caught by a stand-in interpreter): the task fragment's values, then the
    baseline fragment's overrides (T5's learning rate), for both kinds of task fragment."""
    argv_file = tmp_path / "argv"
    stand_in = tmp_path / "python"
    stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{argv_file}"\n')
    stand_in.chmod(0o755)
    env = {**os.environ, "PYTHON": str(stand_in), "N_GPU": "0", "MODEL_PATH": "/models/t5-large"}
    env.pop("DATA_ROOT", None)
    subprocess.run(["bash", "scripts/finetune_baseline.sh", "config_tasks/baseline_t5_large.sh", f"config_tasks/{task_fragment}"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    driver, *argv = argv_file.read_text().splitlines()
    assert driver == "finetune_baseline.py"
    args = baseline_parser().parse_args(argv)
    assert args.baseline == "t5" and args.model_name_or_path == "/models/t5-large" and args.lr == 1e-4
    assert args.experiment_name == f"t5-large-{expected['task']}"
    assert {k: getattr(args, k) for k in expected} == expected
