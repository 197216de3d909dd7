"""The classification fine-tuning pipeline end to end on the tiny GLM and the demo data (CPU, seconds each)."""

import json
import math
from pathlib import Path

import pytest

from conftest import ROOT
from finetune_glm import main as finetune
from scripts.make_tiny_checkpoint import make_tiny_checkpoint

DEMO = ROOT / "data" / "demo" / "ag_news"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


def run(ckpt, save, name, *extra) -> dict:
    args = ["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
            "--experiment-name", name, "--seq-length", "96", "--batch-size", "16", "--warmup", "0.1", "--log-interval", "1",
            *map(str, extra)]
    return finetune(args)


def events(run_dir: Path, kind: str) -> list[dict]:
    return [e for e in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if e["event"] == kind]


def test_learns_demo_with_single_token_cloze(tiny_ckpt, tmp_path):
    res = run(tiny_ckpt, tmp_path, "single", "--pattern-id", 0, "--epochs", 6, "--lr", 2e-3)
    assert res["status"] == "finished"
    assert res["best"]["dev"]["accuracy"] >= 0.9, res
    assert res["test"]["accuracy"] >= 0.85, res
    run_dir = tmp_path / "single"
    # the run directory holds what every later tool reads
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["args"]["pattern_id"] == 0 and cfg["args"]["method"] == "cloze"
    assert cfg["data"]["dev"]["from"].endswith("dev.jsonl") and cfg["data"]["sizes"] == {"train": 400, "dev": 100, "test": 100}
    assert json.loads((run_dir / "results.json").read_text())["best"] == res["best"]
    assert (run_dir / "best" / "model.safetensors").is_file()
    preds = [json.loads(line) for line in (run_dir / "predictions_test.jsonl").read_text().splitlines()]
    assert len(preds) == 100 and {"guid", "label", "prediction", "scores"} <= set(preds[0])
    assert math.isclose(sum(p["label"] == p["prediction"] for p in preds) / 100, res["test"]["accuracy"])
    losses = [e["loss"] for e in events(run_dir, "train")]
    assert losses[-1] < 0.5 * losses[0]
    assert len(events(run_dir, "eval")) == 7  # 6 epochs of dev + the final test


def test_learns_demo_with_multi_token_verbalizer(tiny_ckpt, tmp_path):
    res = run(tiny_ckpt, tmp_path, "multi", "--pattern-id", 3, "--epochs", 6, "--lr", 2e-3)
    assert res["best"]["dev"]["accuracy"] >= 0.9, res


def test_epochs_zero_reproduces_best_dev_exactly(tiny_ckpt, tmp_path):
    first = run(tiny_ckpt, tmp_path, "train", "--pattern-id", 1, "--epochs", 2, "--lr", 2e-3)
    again = run(tiny_ckpt, tmp_path, "eval", "--pattern-id", 1, "--epochs", 0, "--load", tmp_path / "train")
    assert again["best"]["dev"] == first["best"]["dev"]
    assert again["test"] == first["test"]
    assert not (tmp_path / "eval" / "best").exists()  # an evaluation-only run writes no checkpoint


def test_same_seed_is_bit_reproducible(tiny_ckpt, tmp_path):
    a = run(tiny_ckpt, tmp_path, "a", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 96)
    b = run(tiny_ckpt, tmp_path, "b", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 96)
    la = [e["loss"] for e in events(tmp_path / "a", "train")]
    lb = [e["loss"] for e in events(tmp_path / "b", "train")]
    assert la == lb and a["best"] == b["best"]
    run(tiny_ckpt, tmp_path, "c", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 96, "--seed", 7)
    assert [e["loss"] for e in events(tmp_path / "c", "train")] != la


def test_linear_head_method_trains_its_head(tiny_ckpt, tmp_path):
    res = run(tiny_ckpt, tmp_path, "cls", "--no-cloze-eval", "--epochs", 1, "--lr", 1e-3, "--max-train-examples", 64)
    assert res["status"] == "finished"
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "cls" / "best" / "model.safetensors"))
    assert saved["head.multichoice_head.weight"].shape == (4, 64)
    assert "backbone.word_embeddings.weight" in saved
    assert json.loads((tmp_path / "cls" / "config.json").read_text())["args"]["method"] == "classifier"


def test_finished_run_is_not_overwritten(tiny_ckpt, tmp_path):
    run(tiny_ckpt, tmp_path, "once", "--epochs", 0)
    with pytest.raises(SystemExit, match="--overwrite"):
        run(tiny_ckpt, tmp_path, "once", "--epochs", 0)


def test_unknown_task_and_pattern(tiny_ckpt, tmp_path):
    with pytest.raises(SystemExit, match="unknown task 'nope'"):
        finetune(["--task", "nope", "--load-pretrained", str(tiny_ckpt), "--save", str(tmp_path)])
    with pytest.raises(SystemExit, match="no pattern 9"):  # before a run directory is made
        run(tiny_ckpt, tmp_path, "p9", "--pattern-id", 9)
    assert not (tmp_path / "p9").exists()


def test_missing_split_file_is_named(tiny_ckpt, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text((DEMO / "train.jsonl").read_text())
    # one line, no traceback, and the run directory says failed with the same message
    with pytest.raises(SystemExit, match=r"split 'test' not found: expected .*test\.jsonl or .*test\.csv"):
        finetune(["--task", "ag_news", "--data-dir", str(data), "--load-pretrained", str(tiny_ckpt), "--save", str(tmp_path),
                  "--experiment-name", "missing"])
    results = json.loads((tmp_path / "missing" / "results.json").read_text())
    assert results["status"] == "failed" and "split 'test' not found" in results["error"]


def test_no_dev_split_uses_recorded_stratified_split(tiny_ckpt, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        (data / f"{split}.jsonl").write_text((DEMO / f"{split}.jsonl").read_text())
    finetune(["--task", "ag_news", "--data-dir", str(data), "--load-pretrained", str(tiny_ckpt), "--save", str(tmp_path),
              "--experiment-name", "split", "--epochs", "0", "--dev-fraction", "0.2", "--data-seed", "5"])
    record = json.loads((tmp_path / "split" / "config.json").read_text())["data"]
    assert record["sizes"] == {"train": 320, "dev": 80, "test": 100}
    assert record["dev"]["seed"] == 5 and record["dev"]["fraction"] == 0.2
    assert sorted(record["dev"]["label_counts"]["dev"].values()) == [20, 20, 20, 20]  # stratified: balanced like train


def test_deepspeed_zero2_first_step_matches_plain_loop(tiny_ckpt, tmp_path):
    pytest.importorskip("deepspeed")
    ds_cfg = tmp_path / "ds.json"
    ds_cfg.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    common = ("--epochs", 1, "--lr", 1e-3, "--max-train-examples", 32, "--warmup", 0.0)
    run(tiny_ckpt, tmp_path, "plain", *common)
    run(tiny_ckpt, tmp_path, "ds", *common, "--deepspeed", "--deepspeed_config", ds_cfg)
    plain, ds = events(tmp_path / "plain", "train"), events(tmp_path / "ds", "train")
    assert len(plain) == len(ds) == 2
    assert ds[0]["loss"] == pytest.approx(plain[0]["loss"], abs=1e-6)  # same data, same weights: same first loss
    assert ds[1]["loss"] == pytest.approx(plain[1]["loss"], abs=1e-4)  # after one identical AdamW step
    assert json.loads((tmp_path / "ds" / "config.json").read_text())["deepspeed"]["zero_optimization"]["stage"] == 2


def test_deepspeed_config_conflict_is_reported(tiny_ckpt, tmp_path):
    from training.ds import DeepSpeedConfigConflict

    ds_cfg = tmp_path / "ds.json"
    ds_cfg.write_text(json.dumps({"train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"lr": 5e-6}}}))
    with pytest.raises(DeepSpeedConfigConflict, match=r"train_micro_batch_size_per_gpu=4 .* --batch-size gives 16(.|\n)*lr=5e-06"):
        run(tiny_ckpt, tmp_path, "conflict", "--deepspeed", "--deepspeed_config", ds_cfg, "--epochs", 1)


def test_ptuning_v2_trains_and_saves_only_prefixes(tiny_ckpt, tmp_path):
    res = run(tiny_ckpt, tmp_path, "pt", "--ptuning-v2", "--pre-seq-len", 4, "--epochs", 1, "--lr", 1e-2, "--max-train-examples", 32)
    assert res["status"] == "finished"
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "pt" / "best" / "model.safetensors"))
    assert list(saved) == ["backbone.prefix.embedding.weight"] and saved["backbone.prefix.embedding.weight"].shape == (4, 2 * 2 * 64)
    assert json.loads((tmp_path / "pt" / "config.json").read_text())["args"]["method"] == "ptuning_v2"
    again = run(tiny_ckpt, tmp_path, "pt-eval", "--ptuning-v2", "--pre-seq-len", 4, "--epochs", 0, "--load", tmp_path / "pt")
    assert again["best"]["dev"] == res["best"]["dev"]


SEQ_DEMO = ROOT / "data" / "demo" / "seq2seq"


def test_seq2seq_through_the_driver_learns_and_reloads(tiny_ckpt, tmp_path):
    common = ["--task", "customization", "--data-dir", str(SEQ_DEMO), "--load-pretrained", str(tiny_ckpt),
              "--save", str(tmp_path), "--src-seq-length", "32", "--tgt-seq-length", "8", "--batch-size", "16",
              "--label-smoothing", "0.1", "--warmup", "0.06", "--eval-batch-size", "50"]
    res = finetune([*common, "--experiment-name", "s2s", "--epochs", "15", "--lr", "5e-3", "--eval-epoch", "5"])
    assert res["validation_metric"] == "rougeL"
    assert res["best"]["dev"]["rougeL"] >= 80, res
    rows = [json.loads(line) for line in (tmp_path / "s2s" / "predictions_test.jsonl").read_text().splitlines()]
    assert len(rows) == 50 and {"guid", "label", "prediction"} <= set(rows[0])
    again = finetune([*common, "--experiment-name", "s2s-eval", "--epochs", "0", "--load", str(tmp_path / "s2s")])
    assert again["best"]["dev"] == res["best"]["dev"] and again["test"] == res["test"]
    beam = finetune([*common, "--experiment-name", "s2s-beam", "--epochs", "0", "--load", str(tmp_path / "s2s"), "--num-beams", "3"])
    assert beam["test"]["rougeL"] >= 80


def test_list_prompts(tiny_ckpt, capsys):
    finetune(["--task", "ag_news", "--list-prompts", "--load-pretrained", str(tiny_ckpt)])
    out = capsys.readouterr().out
    assert "single-token" in out and "multi-token" in out and out.count("\n") == 5  # header + 4 patterns
    finetune(["--task", "samsum", "--list-prompts", "--load-pretrained", str(tiny_ckpt)])
    assert capsys.readouterr().out.count("generation") == 4


@pytest.mark.parametrize("prompt", ["classify", "classify_question_first", "5"])
def test_promptsource_prompts_learn_through_the_driver(tiny_ckpt, tmp_path, prompt):
    """Three original-task promptsource templates of ag_news, each a multi-token cloze, on the demo data."""
    args = ["--task", "promptsource:ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(tiny_ckpt),
            "--save", str(tmp_path), "--experiment-name", "ps", "--seq-length", "96", "--batch-size", "16",
            "--warmup", "0.1", "--epochs", "6", "--lr", "2e-3", "--prompt", prompt]
    res = finetune(args)
    assert res["best"]["dev"]["accuracy"] >= 0.6, res  # chance is 0.25
    cfg = json.loads((tmp_path / "ps" / "config.json").read_text())
    assert cfg["args"]["prompt"] == prompt and cfg["args"]["task"] == "promptsource:ag_news"


def test_promptsource_non_original_needs_flag(tiny_ckpt, tmp_path):
    with pytest.raises(SystemExit, match="--allow-non-original"):  # one line, before any run directory
        finetune(["--task", "promptsource:imdb", "--data-dir", str(DEMO), "--load-pretrained", str(tiny_ckpt),
                  "--save", str(tmp_path), "--prompt", "Negation template for positive and negative"])


def test_generation_runs_record_method_seq2seq(tiny_ckpt, tmp_path):
    finetune(["--task", "customization", "--data-dir", str(SEQ_DEMO), "--load-pretrained", str(tiny_ckpt), "--save", str(tmp_path),
              "--experiment-name", "m", "--src-seq-length", "32", "--tgt-seq-length", "8", "--epochs", "0", "--eval-batch-size", "50"])
    assert json.loads((tmp_path / "m" / "config.json").read_text())["args"]["method"] == "seq2seq"


def test_few_shot_trains_on_a_seeded_stratified_subset_and_records_it(tiny_ckpt, tmp_path):
    run(tiny_ckpt, tmp_path, "k4", "--few-shot", 4, "--epochs", 1, "--lr", 1e-3, "--data-seed", 3)
    data = json.loads((tmp_path / "k4" / "config.json").read_text())["data"]
    assert data["sizes"]["train"] == 16 and data["train_subset"] == {
        "kind": "few_shot", "per_class": 4, "seed": 3, "classes": 4, "of": 400, "size": 16}
    with pytest.raises(SystemExit, match="cannot be combined"):
        run(tiny_ckpt, tmp_path, "both", "--few-shot", 4, "--max-train-examples", 8, "--epochs", 1)
