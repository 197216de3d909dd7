"""Typed run configuration: identity instead of a method string, replay from config.json, positions by task kind,
no argparse abbreviations, and nothing written for a task that does not exist."""

import json

import pytest
from safetensors import safe_open

from conftest import ROOT
from finetune_glm import build_parser
from finetune_glm import main as finetune
from scripts.make_tiny_checkpoint import make_tiny_checkpoint

DEMO = ROOT / "data" / "demo" / "ag_news"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


def args(ckpt, save, name, *extra):
    return ["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
            "--experiment-name", name, "--seq-length", "64", "--batch-size", "16", "--epochs", "1", "--lr", "2e-3",
            "--max-train-examples", "64", *map(str, extra)]


def config(run_dir):
    return json.loads((run_dir / "config.json").read_text())


def test_method_flag_is_gone():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--task", "ag_news", "--method", "ptuning_v2"])


def test_no_abbreviations():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--task", "ag_news", "--warm", "0.1"])


def test_ptuning_v2_records_the_prefix_method_and_a_plain_run_none(tiny_ckpt, tmp_path):
    finetune(args(tiny_ckpt, tmp_path, "plain"))
    finetune(args(tiny_ckpt, tmp_path, "pt2", "--ptuning-v2", "--pre-seq-len", 4))
    plain, pt2 = config(tmp_path / "plain"), config(tmp_path / "pt2")
    assert {k: plain["identity"][k] for k in ("family", "head", "peft", "method")} == \
        {"family": "glm", "head": "cloze", "peft": "none", "method": "cloze"}
    assert pt2["identity"]["peft"] == "prefix" and pt2["identity"]["head"] == "cloze"
    assert pt2["identity"]["method"] == pt2["args"]["method"] == "ptuning_v2"
    with safe_open(str(tmp_path / "pt2" / "best" / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and all(k.startswith("backbone.prefix.") for k in keys), keys  # only the prefixes were trained
    with safe_open(str(tmp_path / "plain" / "best" / "model.safetensors"), "pt") as f:
        assert not any("prefix" in k for k in f.keys())


def test_a_run_is_rebuilt_from_its_config_json(tiny_ckpt, tmp_path):
    first = finetune(args(tiny_ckpt, tmp_path, "first", "--seed", 7, "--epochs", 3, "--max-train-examples", 0,
                          "--seq-length", 96, "--warmup", 0.1))
    assert first["best"]["dev"]["accuracy"] > 0.4  # it learned something (chance 0.25), so equality means something
    again = finetune(["--config", str(tmp_path / "first" / "config.json"), "--experiment-name", "again"])
    assert again["best"] == first["best"] and again["test"] == first["test"]
    a, b = config(tmp_path / "first"), config(tmp_path / "again")
    assert {k: v for k, v in a["args"].items() if k not in ("experiment_name", "config")} == \
        {k: v for k, v in b["args"].items() if k not in ("experiment_name", "config")}
    assert (tmp_path / "first" / "predictions_test.jsonl").read_text() == (tmp_path / "again" / "predictions_test.jsonl").read_text()


def test_position_tables_follow_the_task_kind(tiny_ckpt, tmp_path):
    finetune(args(tiny_ckpt, tmp_path, "cls", "--epochs", 0))
    rows = config(tmp_path / "cls")["model"]["max_sequence_length"]
    original = json.loads((tiny_ckpt / "config.json").read_text())["max_sequence_length"]
    assert rows == max(64, original)  # never raised to the seq2seq defaults (512) for a classification run


def test_unknown_task_writes_nothing(tiny_ckpt, tmp_path):
    with pytest.raises(SystemExit, match="unknown task 'rte_x'"):
        finetune(["--task", "rte_x", "--load-pretrained", str(tiny_ckpt), "--save", str(tmp_path), "--experiment-name", "x"])
    assert not (tmp_path / "x").exists()
