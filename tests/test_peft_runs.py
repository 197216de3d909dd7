"""Every PEFT method through finetune_glm.py on the tiny GLM: best/ holds only the method's parameters (and a head's),
`--epochs 0 --load` restores them exactly, generation takes P-tuning v2 and LoRA, bad combinations fail clearly."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT
from finetune_glm import main as finetune
from scripts.make_tiny_checkpoint import make_tiny_checkpoint

DEMO = ROOT / "data" / "demo" / "ag_news"
SEQ_DEMO = ROOT / "data" / "demo" / "seq2seq"

METHODS = {
    "prompt_tuning-linear": (["--continuous-prompt", "--prefix-prompt", "3", "--freeze-transformer", "--no-cloze-eval"],
                             None),
    "lora-linear": (["--lora", "--lora-rank", "2", "--no-cloze-eval"], None),
    "lora": (["--lora", "--lora-rank", "4", "--lora-target-modules", "query_key_value,dense_h_to_4h"], ".lora_"),
    "ptuning": (["--continuous-prompt", "--prefix-prompt", "3", "--prompt-func", "mlp"], None),
    "prompt_tuning": (["--continuous-prompt", "--prefix-prompt", "3", "--freeze-transformer", "--prompt-func", "lstm"], "backbone.prompt."),
    "prefix": (["--peft", "prefix", "--pre-seq-len", "4"], "backbone.prefix."),
}


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def classify(ckpt, save, name, *extra) -> dict:
    return finetune(["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
                     "--experiment-name", name, "--seq-length", "96", "--batch-size", "16", "--warmup", "0.1",
                     "--max-train-examples", "32", *map(str, extra)])


def predictions(run: Path, split: str = "dev") -> list[dict]:
    return [json.loads(line) for line in (run / f"predictions_{split}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", list(METHODS))
def test_method_saves_only_its_parameters_and_reloads_exactly(tiny_ckpt, tmp_path, method):
    flags, owned = METHODS[method]
    res = classify(tiny_ckpt, tmp_path, method, *flags, "--epochs", 1, "--lr", 1e-2)
    assert res["status"] == "finished"
    saved = load_file(str(tmp_path / method / "best" / "model.safetensors"))
    config = json.loads((tmp_path / method / "config.json").read_text())
    if method.endswith("-linear"):  # the method's parameters and the linear head's
        own = ".lora_" if method.startswith("lora") else "backbone.prompt."
        assert saved and all(own in k or k.startswith("head.") for k in saved) and any(own in k for k in saved), sorted(saved)
        assert config["identity"]["head"] == "classifier" and config["identity"]["peft"] == method.removesuffix("-linear")
    elif owned is None:  # P-tuning v1 trains the backbone jointly: the prompt encoder and every backbone weight
        assert any(k.startswith("backbone.prompt.") for k in saved) and "backbone.backbone.word_embeddings.weight" in saved
    else:
        assert saved and all(owned in k for k in saved), sorted(saved)[:5]
    if not method.endswith("-linear"):
        assert config["identity"]["peft"] == method and config["identity"]["method"] == method.replace("prefix", "ptuning_v2")
    again = classify(tiny_ckpt, tmp_path, method + "-eval", *flags, "--epochs", 0, "--load", tmp_path / method)
    assert again["best"]["dev"] == res["best"]["dev"]
    assert predictions(tmp_path / (method + "-eval")) == predictions(tmp_path / method)  # scores too, to 6 digits


def test_generation_takes_ptuning_v2_with_cached_beam_search_and_lora(tiny_ckpt, tmp_path):
    common = ["--task", "customization", "--data-dir", str(SEQ_DEMO), "--load-pretrained", str(tiny_ckpt),
              "--save", str(tmp_path), "--src-seq-length", "32", "--tgt-seq-length", "8", "--batch-size", "16",
              "--eval-batch-size", "50", "--num-beams", "2", "--max-train-examples", "32", "--eval-max-examples", "10"]
    res = finetune([*common, "--experiment-name", "pt2", "--ptuning-v2", "--pre-seq-len", "4", "--epochs", "1", "--lr", "1e-2"])
    assert res["status"] == "finished"
    assert list(load_file(str(tmp_path / "pt2" / "best" / "model.safetensors"))) == ["backbone.prefix.embedding.weight"]
    cached = finetune([*common, "--experiment-name", "pt2-eval", "--ptuning-v2", "--pre-seq-len", "4", "--epochs", "0",
                       "--load", str(tmp_path / "pt2")])
    uncached = finetune([*common, "--experiment-name", "pt2-nocache", "--ptuning-v2", "--pre-seq-len", "4", "--epochs", "0",
                         "--load", str(tmp_path / "pt2"), "--no-cache"])
    assert predictions(tmp_path / "pt2-eval", "test") == predictions(tmp_path / "pt2-nocache", "test")
    assert cached["test"] == uncached["test"] == res["test"]
    lora = finetune([*common, "--experiment-name", "lora", "--lora", "--lora-rank", "2", "--epochs", "1", "--lr", "1e-2"])
    assert lora["status"] == "finished"
    keys = list(load_file(str(tmp_path / "lora" / "best" / "model.safetensors")))
    assert keys and all(".lora_" in k for k in keys)
    assert json.loads((tmp_path / "lora" / "config.json").read_text())["identity"]["method"] == "seq2seq_lora"


def test_generation_takes_continuous_prompts_after_cls(tiny_ckpt, tmp_path):
    """Prompt tokens after [CLS] in the source; decoding reads them from the first step's cache or recomputes them:
    the same beams."""
    common = ["--task", "customization", "--data-dir", str(SEQ_DEMO), "--load-pretrained", str(tiny_ckpt),
              "--save", str(tmp_path), "--src-seq-length", "32", "--tgt-seq-length", "8", "--batch-size", "16",
              "--eval-batch-size", "50", "--num-beams", "2", "--max-train-examples", "32", "--eval-max-examples", "10",
              "--continuous-prompt", "--prefix-prompt", "3", "--freeze-transformer", "--prompt-func", "mlp"]
    res = finetune([*common, "--experiment-name", "pt", "--epochs", "1", "--lr", "1e-2"])
    assert res["status"] == "finished"
    assert all(k.startswith("backbone.prompt.") for k in load_file(str(tmp_path / "pt" / "best" / "model.safetensors")))
    cached = finetune([*common, "--experiment-name", "c", "--epochs", "0", "--load", str(tmp_path / "pt")])
    uncached = finetune([*common, "--experiment-name", "u", "--epochs", "0", "--load", str(tmp_path / "pt"), "--no-cache"])
    assert predictions(tmp_path / "c", "test") == predictions(tmp_path / "u", "test")
    assert cached["test"] == uncached["test"] == res["test"]
    with pytest.raises(SystemExit, match="--prefix-prompt K"):
        finetune([*common, "--experiment-name", "bad", "--num-prompt-tokens", "2", "--epochs", "1"])


def test_seq2seq_prompt_tokens_follow_cls(tokenizer):
    from tasks.registry import resolve
    from tasks.seq2seq.layout import Seq2SeqLayoutConfig
    from training.seq2seq import build_seq2seq_task
    from model.decoding import GenerationConfig
    from model.glm import GLMConfig, GLMModel
    from tasks.base import InputExample

    backbone = GLMModel(GLMConfig(num_layers=1, hidden_size=32, num_attention_heads=2, vocab_size=tokenizer.vocab_size,
                                  max_sequence_length=64))
    layout = Seq2SeqLayoutConfig(src_len=16, tgt_len=8)
    args = (backbone, tokenizer, resolve("customization").prompt(0), layout, GenerationConfig(max_length=8))
    example = InputExample("e", "red fox seven", target="7 red foxes", kind="generation")
    plain = build_seq2seq_task(*args).encode_all([example])[0]
    prompted = build_seq2seq_task(*args, prefix_prompt=3, prompt_placeholder=99999).encode_all([example])[0]
    assert prompted.source_ids == [plain.source_ids[0], 99999, 99999, 99999, *plain.source_ids[1:]]
    assert prompted.mask_position == plain.mask_position + 3 and prompted.source_ids[prompted.mask_position] == tokenizer.mask_id
    assert len(prompted.source_ids) <= layout.src_len


@pytest.mark.parametrize("flags, message", [
    (["--ptuning-v2", "--lora"], "choose one parameter-efficient method"),
    (["--peft", "lora", "--ptuning-v2"], "contradicts"),
    (["--freeze-transformer"], "use it with --continuous-prompt"),
    (["--continuous-prompt"], "needs prompt tokens"),
    (["--continuous-prompt", "--num-prompt-tokens", "3"], "no continuous-prompt slots"),
    (["--continuous-prompt", "--num-prompt-tokens", "3", "--no-cloze-eval"], "linear head"),
])
def test_bad_method_flags_fail_before_training(tiny_ckpt, tmp_path, flags, message):
    with pytest.raises((SystemExit, ValueError), match=message):
        classify(tiny_ckpt, tmp_path, "bad", *flags, "--epochs", 1)


@pytest.mark.parametrize("method", ["lora", "prompt_tuning", "prefix"])
def test_deepspeed_zero2_trains_a_method_like_the_plain_loop(tiny_ckpt, tmp_path, method):
    pytest.importorskip("deepspeed")
    ds_cfg = tmp_path / "ds.json"
    ds_cfg.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    common = (*METHODS[method][0], "--epochs", 1, "--lr", 1e-2, "--warmup", 0.0, "--log-interval", 1)
    classify(tiny_ckpt, tmp_path, "plain", *common)
    classify(tiny_ckpt, tmp_path, "ds", *common, "--deepspeed", "--deepspeed_config", ds_cfg)
    losses = {name: [json.loads(line)["loss"] for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()
                     if json.loads(line)["event"] == "train"] for name in ("plain", "ds")}
    assert len(losses["plain"]) == len(losses["ds"]) == 2
    assert losses["ds"] == pytest.approx(losses["plain"], abs=1e-4)  # the same trainable parameters, the same steps
    assert sorted(load_file(str(tmp_path / "ds" / "best" / "model.safetensors"))) == \
        sorted(load_file(str(tmp_path / "plain" / "best" / "model.safetensors")))



SUPERGLUE = ROOT / "data" / "demo" / "superglue"


@pytest.mark.parametrize("task, layout_name, peft", [
    ("copa", "rows", "lora"), ("copa", "packed", "prompt_tuning"), ("copa", "packed", "prefix"),
    ("rte", "packed", "ptuning"),  # RTE's pattern has prompt slots: --num-prompt-tokens fills them
])
def test_methods_on_multi_token_candidates_and_pattern_slots(tokenizer, task, layout_name, peft):
    """The task layer with a PEFT-wrapped backbone: COPA's multi-token candidates in both layouts, RTE's slots;
    one step moves only the method's parameters."""
    from model.glm import GLMConfig, GLMModel
    from model.peft import ContinuousPromptConfig, LoraConfig, PrefixConfig, apply_peft
    from tasks.superglue import TASK_INFO
    from training.cloze import build_classification_task

    info = TASK_INFO[task]
    processor = info.processor()
    examples = processor.get_train_examples(SUPERGLUE / info.hyperparameters.data_folder)[:8]
    pvp = info.pvp(tokenizer, processor.get_labels(), 128, pattern_id=0)
    config = {"lora": LoraConfig(rank=2), "prefix": PrefixConfig(length=3),
              "prompt_tuning": ContinuousPromptConfig(prefix_prompt=2, freeze_transformer=True, placeholder_id=len(tokenizer)),
              "ptuning": ContinuousPromptConfig(num_prompt_tokens=3, func="mlp", placeholder_id=len(tokenizer))}[peft]
    if isinstance(config, ContinuousPromptConfig):
        pvp.use_continuous_prompt(config.num_prompt_tokens, config.prefix_prompt, config.placeholder_id)
    torch.manual_seed(0)
    backbone = GLMModel(GLMConfig(num_layers=1, hidden_size=32, num_attention_heads=2, vocab_size=tokenizer.vocab_size,
                                  max_sequence_length=128))
    frozen = {k: v.clone() for k, v in backbone.state_dict().items()}
    built = build_classification_task(apply_peft(backbone, config), tokenizer, pvp, processor.get_labels(), ("accuracy",),
                                      128, "cloze", layout_name)
    samples = built.encode_all(examples, "train")
    if isinstance(config, ContinuousPromptConfig):
        ids = samples[0].input_ids if layout_name == "packed" else samples[0].input_ids[0]
        assert ids.count(len(tokenizer)) == config.length
    batch = built.collate(samples)
    _, loss = built.module(batch)
    loss.backward()
    torch.optim.SGD([p for p in built.module.parameters() if p.requires_grad], lr=0.1).step()
    if peft != "ptuning":  # every method but P-tuning v1 leaves the backbone bit-identical
        for name, p in backbone.named_parameters():
            if ".lora_" not in name:
                assert torch.equal(p, frozen[name.replace(".base_layer", "")]), name


def test_exported_lora_merged_checkpoint_scores_like_the_run(tiny_ckpt, tmp_path):
    from scripts.export_lora import main as export

    flags = ["--lora", "--lora-rank", "4"]
    classify(tiny_ckpt, tmp_path, "lora", *flags, "--epochs", 1, "--lr", 1e-2)
    merged = export([str(tmp_path / "lora"), "--out", str(tmp_path / "merged")])
    again = classify(merged, tmp_path, "merged-eval", "--epochs", 0)  # an ordinary checkpoint now, no LoRA flags
    want = predictions(tmp_path / "lora")
    got = predictions(tmp_path / "merged-eval")
    assert [r["prediction"] for r in got] == [r["prediction"] for r in want]
    assert max(abs(a - b) for g, w in zip(got, want) for a, b in zip(g["scores"], w["scores"])) < 1e-4
    adapter = export([str(tmp_path / "lora"), "--out", str(tmp_path / "adapter"), "--adapter"])
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 4
    with pytest.raises(SystemExit, match="not a LoRA run"):
        classify(tiny_ckpt, tmp_path, "plain", "--epochs", 0)
        export([str(tmp_path / "plain"), "--out", str(tmp_path / "x")])


@pytest.mark.slow
def test_ds_finetune_seq2seq_script_takes_ptuning_v2(tmp_path):
    from test_entry_scripts import run_script

    proc = run_script("ds_finetune_seq2seq.sh", "model_glm_tiny.sh", "seq_demo.sh", tmp_path, "--epochs", "1",
                      "--max-train-examples", "32", "--eval-max-examples", "10", "--ptuning-v2", "--pre-seq-len", "4",
                      "--num-beams", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "runs" / "glm-tiny-seq-demo-p0"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["identity"]["peft"] == "prefix" and config["identity"]["method"] == "seq2seq_ptuning_v2"
    assert config["parameters"]["trainable"] == 4 * 2 * config["model"]["num_layers"] * config["model"]["hidden_size"]
    assert json.loads((run_dir / "results.json").read_text())["status"] == "finished"


def test_the_method_is_a_grid_axis():
    """config_tasks/grid_peft_demo.yaml sweeps --peft; every trial's flags parse to the method it names."""
    from analysis.sweep import build_sweep, load_spec
    from finetune_glm import build_parser
    from training.config import peft_config

    spec_path = ROOT / "config_tasks" / "grid_peft_demo.yaml"
    sweep = build_sweep(load_spec(spec_path), str(spec_path))
    assert len(sweep.trials) == 5 * 2 * 3
    seen = set()
    for trial in sweep.trials:
        args = build_parser().parse_args([*sweep.base_args, *trial.args])
        config = peft_config(args)
        seen.add("none" if config is None else config.method)
        assert (config is None) == (trial.params["peft"] == "none")
        if config is not None:
            assert config.method == trial.params["peft"]
    assert seen == {"none", "prefix", "lora", "ptuning", "prompt_tuning"}
