"""THUDM/GLM's command line and config fragments, used as upstream's users use them.

- every flag of upstream's arguments.py (the table in training/upstream_flags.py, rendered in docs/UPSTREAM.md) is
  accepted with upstream's meaning or rejected with a reason, and the model-definition flags are checked against
  the checkpoint;
- fragments written in upstream's exact variable format (a model fragment with MODEL_ARGS as upstream writes it,
  task_*.sh and seq_*.sh with upstream's values) run through scripts/ds_finetune_*.sh on the tiny model, with data
  in upstream's file layouts;
- the scripts' variables (DATA_ROOT, CHECKPOINT_PATH, SAVE_PATH, BATCH_SIZE, XXLARGE_EPOCH, PATTERN_ID) behave as
  upstream's scripts, checked on the printed command (PRINT_ONLY=1) where nothing needs to run;
- upstream's task names render what upstream renders (agnews, all six patterns, against goldens made by upstream's
  own code: fixtures/upstream_pvp/README.md) and read upstream's data layouts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from training.upstream_flags import BY_NAME, UPSTREAM_FLAGS, flag_table_markdown

DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


@pytest.fixture(scope="module")
def tiny_real_vocab(tmp_path_factory) -> Path:
    """The same tiny GLM with glm-roberta-large's vocabulary: upstream's SuperGLUE verbalizers (CB's " Maybe", ...)
    are single tokens there, while the demo vocabulary, trained on the demo texts, need not have them."""
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt-real") / "glm-tiny", vocab="real")


# ---------------------------------------------------------------------------------------------- fragments
def model_fragment(model_type: str, layers: int, hidden: int, heads: int, positions: int, checkpoint: str) -> str:
    """A model fragment as upstream's config_tasks/model_blocklm_*.sh writes it."""
    return f'''MODEL_TYPE="{model_type}"
MODEL_ARGS="--block-lm \\
            --cloze-eval \\
            --num-layers {layers} \\
            --hidden-size {hidden} \\
            --num-attention-heads {heads} \\
            --max-position-embeddings {positions} \\
            --tokenizer-model-type roberta \\
            --tokenizer-type GPT2BPETokenizer \\
            --load-pretrained ${{CHECKPOINT_PATH}}/{checkpoint}"'''


UPSTREAM_ROBERTA_LARGE = model_fragment("blocklm-roberta-large", 24, 1024, 16, 512, "blocklm-roberta-large-blank")
TINY_UPSTREAM_STYLE = model_fragment("blocklm-tiny", 2, 64, 4, 256, "glm-tiny")


def task_fragment(name: str, task: str, data: str, seq_len: int, epoch: int, xxlarge: int, train_args: list[str],
                  common_args: list[str], pattern_ids: str, batch: int, experiment_suffix: str | None = None) -> str:
    """A task fragment as upstream's config_tasks/task_*.sh writes it."""
    join = " \\\n            ".join
    return f'''EXPERIMENT_NAME=${{MODEL_TYPE}}-{experiment_suffix or name}
TASK_NAME={task}
DATA_PATH="${{DATA_ROOT}}/{data}"
MAX_SEQ_LEN={seq_len}

LR_SINGLE=1e-5
EPOCH_SINGLE={epoch}
XXLARGE_EPOCH={xxlarge}

TRAIN_ARGS="{join(train_args)}"

COMMON_ARGS="{join(common_args)}"

PATTERN_IDS=({pattern_ids})
PROMPT_IDS=(1 2 3)

BATCH_SIZE={batch}'''


TRAIN = ["--lr-decay-style linear", "--warmup 0.1", "--weight-decay 1.0e-1"]
COMMON = ["--save-interval 10000", "--log-interval 50", "--eval-interval 10000000", "--eval-iters 100"]
COMMON_1000 = ["--save-interval 10000", "--log-interval 50", "--eval-interval 1000", "--eval-iters 100"]

# Upstream's SuperGLUE fragments (config_tasks/task_*.sh at THUDM/GLM 4f61ed7): their values, in their format.
SUPERGLUE = {
    "rte": task_fragment("rte", "RTE", "RTE", 256, 50, 50, [*TRAIN, "--pattern-id 0"], COMMON, "0 1 2 3", 16),
    "cb": task_fragment("CB", "cb", "CB", 256, 50, 100, [*TRAIN, "--pattern-id 3"], COMMON_1000, "0 1 2 3", 16),
    "copa": task_fragment("copa", "COPA", "COPA", 256, 50, 100, [*TRAIN, "--pattern-id 0"],
                          ["--save-interval 10000", "--log-interval 20", "--eval-interval 1000", "--eval-iters 100"], "0 1", 16),
    "wsc": task_fragment("wsc", "wsc", "WSC-negative", 128, 50, 100,
                         ["--lr-decay-style linear", "--warmup 0.1", "--weight-decay 0.1", "--loss-func mix", "--wsc-negative",
                          "--length-penalty 1", "--pattern-id 2"], COMMON_1000, "0 1 2", 16),
    "multirc": task_fragment("MultiRC", "multirc", "MultiRC", 512, 15, 12, ["--batch-size 16", *TRAIN, "--pattern-id 0"],
                             COMMON, "0 1 2", 64),
    "record": task_fragment("record", "ReCoRD", "ReCoRD", 512, 5, 3, [*TRAIN, "--pattern-id 0"], COMMON_1000, "0", 64),
}
SUPERGLUE_PATTERN = {"rte": 0, "cb": 3, "copa": 0, "wsc": 2, "multirc": 0, "record": 0}

# upstream has no fragment for agnews; this one is in the same format, with a pattern other than 0 and a
# TRAIN_ARGS batch size that BATCH_SIZE must beat (as upstream's MultiRC fragment has).
AGNEWS = task_fragment("agnews", "agnews", "agnews", 128, 1, 2, ["--batch-size 4", *TRAIN, "--pattern-id 3"], COMMON, "0 1 2 3 4 5", 16)


def seq_fragment(name: str, task: str, data: str, train: list[str], common: list[str], task_args: list[str]) -> str:
    """A seq2seq fragment as upstream's config_tasks/seq_*.sh writes it (no PATTERN_IDS, as upstream's)."""
    join = " \\\n            ".join
    return f'''EXPERIMENT_NAME=${{MODEL_TYPE}}-{name}
TASK_NAME={task}
DATA_PATH="${{DATA_ROOT}}/{data}"

TRAIN_ARGS="{join(train)}"

COMMON_ARGS="{join(common)}"

TASK_ARGS="{join(task_args)}"'''


SEQ_COMMON = [*COMMON_1000, "--eval-epoch 2"]
# config_tasks/seq_cnndm_org.sh, seq_xsum.sh, seq_gigaword.sh at THUDM/GLM 4f61ed7: their values, in their format.
SEQ = {
    "cnn_dm_original": seq_fragment(
        "cnndm_org", "cnn_dm_original", "cnn_dm_original",
        ["--epochs 10", "--lr 1e-5", "--lr-decay-style linear", "--warmup 0.06", "--weight-decay 1.0e-1", "--label-smoothing 0.1"],
        SEQ_COMMON,
        ["--src-seq-length 608", "--tgt-seq-length 160", "--min-tgt-length 55", "--length-penalty 0.7",
         "--no-repeat-ngram-size 3", "--num-beams 5", "--select-topk", "--eval-batch-size 1"]),
    "xsum": seq_fragment(
        "xsum", "xsum", "bbc-summary-data",
        ["--epochs 6", "--lr 1e-5", "--lr-decay-style linear", "--warmup 0.06", "--weight-decay 1.0e-1", "--label-smoothing 0.1"],
        SEQ_COMMON,
        ["--src-seq-length 608", "--tgt-seq-length 60", "--min-tgt-length 10", "--length-penalty 1.0",
         "--no-repeat-ngram-size 3", "--num-beams 6", "--select-topk", "--eval-batch-size 1"]),
    "gigaword": seq_fragment(
        "ggw", "gigaword", "gigaword/org_data",
        ["--epochs 10", "--lr 3e-5", "--lr-decay-style linear", "--warmup 0.06", "--weight-decay 1.0e-1", "--label-smoothing 0.1"],
        COMMON_1000,
        ["--src-seq-length 192", "--tgt-seq-length 32", "--min-tgt-length 0", "--length-penalty 0.6",
         "--no-repeat-ngram-size 3", "--num-beams 5", "--select-topk", "--eval-batch-size 4"]),
}


# ---------------------------------------------------------------------------------------------- data in upstream's layouts
def write_agnews(root: Path, n_train: int = 48) -> Path:
    """Upstream's ag_news_csv layout (headerless train.csv / test.csv: "label","title","description", labels 1-4),
    made from the demo data's AG News records."""
    import csv

    out = root / "agnews"
    out.mkdir(parents=True, exist_ok=True)
    for source, target, limit in (("train", "train.csv", n_train), ("dev", "test.csv", 24)):
        records = [json.loads(line) for line in (DEMO / "ag_news" / f"{source}.jsonl").read_text().splitlines()[:limit]]
        with open(out / target, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, quoting=csv.QUOTE_ALL)
            for r in records:
                title, _, description = r["text"].partition(", ")
                writer.writerow([str(r["label"] + 1), title, description])
    return out


def demo_pairs(split: str, n: int) -> list[tuple[str, str]]:
    src = (DEMO / "seq2seq" / f"{split}.source").read_text().splitlines()[:n]
    tgt = (DEMO / "seq2seq" / f"{split}.target").read_text().splitlines()[:n]
    return list(zip(src, tgt))


SEQ_SIZES = {"train": 16, "val": 2, "test": 2}


def write_source_target(out: Path, transform=lambda s: s) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for split, n in SEQ_SIZES.items():
        pairs = demo_pairs(split, n)
        (out / f"{split}.source").write_text("".join(transform(s) + "\n" for s, _ in pairs))
        (out / f"{split}.target").write_text("".join(transform(t) + "\n" for _, t in pairs))
    return out


def write_bbc_summary_data(out: Path) -> Path:
    """Upstream's XSum layout: the split JSON and one <id>.summary file per article with [SN]...[SN] sections."""
    out.mkdir(parents=True, exist_ok=True)
    ids: dict[str, list[str]] = {}
    for split, key in (("train", "train"), ("val", "validation"), ("test", "test")):
        ids[key] = []
        for i, (source, target) in enumerate(demo_pairs(split, SEQ_SIZES[split])):
            article = f"{split}{i:04d}"
            ids[key].append(article)
            (out / f"{article}.summary").write_text(
                f"[SN]URL[SN]\nhttp://www.bbc.co.uk/news/{article}\n\n[SN]TITLE[SN]\nA title\n\n"
                f"[SN]FIRST-SENTENCE[SN]\n{target}\n\n[SN]RESTBODY[SN]\n{source}\n\nSecond line.\n")
    (out / "XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json").write_text(json.dumps(ids))
    return out


# ---------------------------------------------------------------------------------------------- running the scripts
def script_env(tmp_path: Path, tiny: Path, **extra: str) -> dict[str, str]:
    """CHECKPOINT_PATH is the folder holding glm-tiny, as upstream's scripts use it."""
    ckpts = tiny.parent
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_ROOT", "CHECKPOINT_PATH", "SAVE_PATH", "PATTERN_ID",
                                                             "XXLARGE_EPOCH", "DEEPSPEED_ON_CPU", "PRINT_ONLY")}
    env.update(PYTHON=sys.executable, N_GPU="0", CHECKPOINT_PATH=str(ckpts), SAVE_PATH=str(tmp_path / "runs"),
               DATA_ROOT=str(tmp_path / "data"), **extra)
    return env


def run_script(script: str, model: str, task: str, tmp_path: Path, *flags: str, env: dict) -> subprocess.CompletedProcess:
    frag = tmp_path / "fragments"
    frag.mkdir(exist_ok=True)
    (frag / "model.sh").write_text(model)
    (frag / "task.sh").write_text(task)
    return subprocess.run(["bash", str(ROOT / "scripts" / script), str(frag / "model.sh"), str(frag / "task.sh"), *flags],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def printed_args(proc: subprocess.CompletedProcess) -> list[str]:
    """The driver's arguments from a PRINT_ONLY=1 run (one per line, after the driver's name)."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    return lines[lines.index("finetune_glm.py") + 1:]


def last(args: list[str], flag: str) -> str:
    return [args[i + 1] for i, a in enumerate(args) if a == flag][-1]


QUICK = ("--epochs", "1", "--max-train-examples", "16", "--num-threads", "1")


def finished_run(tmp_path: Path, name: str) -> tuple[dict, dict]:
    run_dir = tmp_path / "runs" / name
    assert run_dir.is_dir(), sorted(p.name for p in (tmp_path / "runs").iterdir())
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "finished", results
    return results, json.loads((run_dir / "config.json").read_text())


# ---------------------------------------------------------------------------------------------- every upstream flag
def test_flag_table_covers_upstream_arguments_once():
    names = [f.name for f in UPSTREAM_FLAGS]
    assert len(names) == len(set(names)) == 173  # 168 in arguments.py + 5 from deepspeed.add_config_arguments
    for f in UPSTREAM_FLAGS:
        assert f.status != "rejected" or len(f.note) > 20, f.name  # a rejection says why
        assert f.status not in ("limited", "accepted", "different") or f.note, f.name


# The flags upstream's launch scripts and fragments pass (finetune_superglue.sh, ds_finetune_superglue.sh,
# ds_finetune_seq2seq.sh, ds_finetune_superglue_prompt.sh, config_tasks/model_*.sh, task_*.sh, seq_*.sh).
UPSTREAM_SCRIPT_FLAGS = (
    "--finetune --block-lm --num-layers --hidden-size --num-attention-heads --tokenizer-type --tokenizer-model-type "
    "--max-position-embeddings --task-mask --cloze-eval --pattern-id --loss-func --wsc-negative --length-penalty "
    "--multi-token --segment-length --fast-decode --continuous-prompt --num-prompt-tokens --prompt-func --prefix-prompt "
    "--freeze-transformer --few-superglue --save-interval --save-epoch --eval-interval --eval-iters --eval-epoch "
    "--eval-batch-size --log-interval --no-load-optim --no-load-lr-scheduler --num-workers --model-parallel-size --fp16 "
    "--checkpoint-activations --deepspeed --deepspeed_config --src-seq-length --tgt-seq-length --min-tgt-length "
    "--num-beams --no-repeat-ngram-size --select-topk --label-smoothing --validation-metric --adapet --pool-token "
    "--attention-dropout --hidden-dropout --experiment-name --task --data-dir --save --seq-length --batch-size --epochs "
    "--lr --overwrite --lr-decay-style --warmup --weight-decay --load-pretrained"
).split()


def test_every_flag_of_upstreams_scripts_is_in_the_table():
    assert set(UPSTREAM_SCRIPT_FLAGS) <= set(BY_NAME)


def parser():
    import finetune_glm

    return finetune_glm.build_parser()


def sample_value(flag) -> list[str]:
    if flag.nargs == 0:
        return []
    if flag.allowed:
        return [flag.allowed[0]]
    if flag.nargs in ("*", "+"):
        return ["a", "b"]
    return [{int: "100000", float: "0.5"}.get(flag.type, "x")]


@pytest.mark.parametrize("flag", UPSTREAM_FLAGS, ids=lambda f: f.name)
def test_every_upstream_flag_is_accepted_or_rejected_with_a_reason(flag, capsys):
    p = parser()
    assert flag.name in p._option_string_actions, flag.name
    argv = ["--task", "agnews", flag.name, *sample_value(flag)]
    if flag.status == "rejected":
        with pytest.raises(SystemExit):
            p.parse_args(argv)
        err = capsys.readouterr().err
        assert f"{flag.name} (THUDM/GLM) is not supported: {flag.note}" in err
        return
    if flag.status in ("same", "different", "superglue"):
        return  # the toolkit's own flag groups define it (their tests cover what it does)
    args = p.parse_args(argv)
    kept = getattr(args, flag.name.lstrip("-").replace("-", "_"))
    assert kept is True if flag.nargs == 0 else str(kept) == sample_value(flag)[0] or float(kept) == float(sample_value(flag)[0])
    if flag.allowed:
        with pytest.raises(SystemExit):
            p.parse_args(["--task", "agnews", flag.name, "7"])
        assert f"{flag.name} 7: not supported here ({flag.note})" in capsys.readouterr().err


def test_no_abbreviations_and_multi_token_is_upstreams_switch():
    p = parser()
    assert p.parse_args(["--task", "agnews", "--multi-token"]).multi_token is True
    assert p.parse_args(["--task", "agnews", "--multi-token"]).multi_token_layout == "packed"
    with pytest.raises(SystemExit):
        p.parse_args(["--task", "agnews", "--multi-token-lay", "rows"])


def test_model_parallel_size_above_one_is_refused(capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(["--task", "agnews", "--model-parallel-size", "2"])
    assert "Megatron tensor model parallelism does not exist here" in capsys.readouterr().err


def test_doc_holds_the_flag_table():
    doc = (ROOT / "docs" / "UPSTREAM.md").read_text()
    assert flag_table_markdown() in doc


# ---------------------------------------------------------------------------------------------- the driver
def finetune(argv: list[str]):
    import finetune_glm

    return finetune_glm.main(argv)


def test_model_definition_flags_are_checked_against_the_checkpoint(tmp_path, tiny):
    """Upstream's own model fragment with the tiny checkpoint: the run stops naming every disagreement, and no run
    directory is left behind."""
    data = write_agnews(tmp_path / "data")
    model_args = ["--block-lm", "--cloze-eval", "--num-layers", "24", "--hidden-size", "1024", "--num-attention-heads", "16",
                  "--max-position-embeddings", "512", "--tokenizer-model-type", "roberta", "--tokenizer-type", "GPT2BPETokenizer"]
    with pytest.raises(SystemExit, match=r"disagree with the checkpoint .*glm-tiny: --num-layers 24 but the checkpoint has 2; "
                                         r"--hidden-size 1024 but the checkpoint has 64; --num-attention-heads 16 but the checkpoint has 4"):
        finetune(["--task", "agnews", "--data-dir", str(data), "--load-pretrained", str(tiny), "--save", str(tmp_path / "runs"),
                  "--experiment-name", "x", *model_args])
    with pytest.raises(SystemExit, match="--task-mask but the checkpoint was trained without a task mask"):
        finetune(["--task", "agnews", "--data-dir", str(data), "--load-pretrained", str(tiny), "--save", str(tmp_path / "runs"),
                  "--experiment-name", "x", "--task-mask"])
    assert not (tmp_path / "runs").exists()


def test_unknown_task_and_save_epoch_stop_before_a_run_directory(tmp_path, tiny):
    with pytest.raises(SystemExit, match="unknown task 'RTX'"):
        finetune(["--task", "RTX", "--load-pretrained", str(tiny), "--save", str(tmp_path / "runs")])
    with pytest.raises(SystemExit, match=r"--save-epoch 1 .* is not supported: the selected model is saved in best/"):
        finetune(["--task", "agnews", "--load-pretrained", str(tiny), "--save", str(tmp_path / "runs"), "--save-epoch", "1", "--epochs", "3"])
    assert not (tmp_path / "runs").exists()


def test_hidden_and_attention_dropout_are_upstreams_two_flags(tiny):
    from model.checkpoint import load_glm

    cfg = load_glm(tiny, hidden_dropout=0.2, attention_dropout=0.3).config
    assert (cfg.embedding_dropout_prob, cfg.output_dropout_prob, cfg.attention_dropout_prob) == (0.2, 0.2, 0.3)
    cfg = load_glm(tiny, hidden_dropout=0.0).config
    assert (cfg.embedding_dropout_prob, cfg.output_dropout_prob, cfg.attention_dropout_prob) == (0.0, 0.0, 0.1)


def test_generation_position_tables_follow_the_source_length():
    import argparse

    from finetune_glm import position_rows

    a = argparse.Namespace(max_position_embeddings=512, seq_length=256, src_seq_length=608, tgt_seq_length=160)
    assert position_rows(a, "generation") == 608  # upstream: max_position_embeddings raised to src_seq_length
    assert position_rows(a, "classification") == 512


# ---------------------------------------------------------------------------------------------- script variables
def test_scripts_default_data_root_and_say_what_is_missing(tmp_path, tiny):
    env = script_env(tmp_path, tiny, PRINT_ONLY="1")
    del env["DATA_ROOT"]
    proc = run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, SUPERGLUE["rte"], tmp_path, env=env)
    assert proc.returncode == 2
    assert "DATA_PATH=data/RTE (set by" in proc.stderr and "from DATA_ROOT=data) does not exist" in proc.stderr
    assert "Set DATA_ROOT to the folder that holds the task's data folder" in proc.stderr


def test_scripts_default_checkpoint_path_and_say_what_is_missing(tmp_path, tiny):
    write_agnews(tmp_path / "data")
    env = script_env(tmp_path, tiny, PRINT_ONLY="1")
    del env["CHECKPOINT_PATH"]
    proc = run_script("ds_finetune_superglue.sh", UPSTREAM_ROBERTA_LARGE, AGNEWS, tmp_path, env=env)
    assert proc.returncode == 2
    assert ("the checkpoint checkpoints/blocklm-roberta-large-blank (--load-pretrained in" in proc.stderr
            and "CHECKPOINT_PATH=checkpoints (the default) must be the folder holding blocklm-roberta-large-blank" in proc.stderr)


def test_scripts_default_save_path_and_upstreams_precedence(tmp_path, tiny):
    write_agnews(tmp_path / "data")
    env = script_env(tmp_path, tiny, PRINT_ONLY="1")
    del env["SAVE_PATH"]
    args = printed_args(run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, AGNEWS, tmp_path, env=env))
    assert last(args, "--save") == "runs"
    assert args.count("--batch-size") == 2 and last(args, "--batch-size") == "16"  # BATCH_SIZE beats TRAIN_ARGS' 4
    assert last(args, "--epochs") == "1" and last(args, "--lr") == "1e-5"  # EPOCH_SINGLE, LR_SINGLE (no DeepSpeed)
    assert last(args, "--pattern-id") == "3" and last(args, "--experiment-name") == "blocklm-tiny-agnews-p3"


def test_xxlarge_epoch_under_deepspeed(tmp_path, tiny):
    write_agnews(tmp_path / "data")
    env = script_env(tmp_path, tiny, PRINT_ONLY="1", DEEPSPEED_ON_CPU="1")
    args = printed_args(run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, AGNEWS, tmp_path, env=env))
    assert "--deepspeed" in args and last(args, "--epochs") == "2"  # XXLARGE_EPOCH
    no_xxl = AGNEWS.replace("XXLARGE_EPOCH=2\n", "")
    args = printed_args(run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, no_xxl, tmp_path, env=env))
    assert last(args, "--epochs") == "1"  # unset: EPOCH_SINGLE


def test_run_name_carries_the_pattern_used(tmp_path, tiny):
    write_agnews(tmp_path / "data")
    args = printed_args(run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, AGNEWS, tmp_path,
                                   env=script_env(tmp_path, tiny, PRINT_ONLY="1", PATTERN_ID="5")))
    assert last(args, "--pattern-id") == "5" and args[args.index("--experiment-name") + 1] == "blocklm-tiny-agnews-p5"
    args = printed_args(run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, AGNEWS, tmp_path, "--pattern-id", "1",
                                   env=script_env(tmp_path, tiny, PRINT_ONLY="1")))
    assert args[args.index("--experiment-name") + 1] == "blocklm-tiny-agnews-p1"


# ---------------------------------------------------------------------------------------------- fragments run unchanged
def test_agnews_fragment_runs_unchanged(tmp_path, tiny):
    write_agnews(tmp_path / "data")
    proc = run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, AGNEWS, tmp_path, *QUICK, env=script_env(tmp_path, tiny))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results, config = finished_run(tmp_path, "blocklm-tiny-agnews-p3")
    assert config["args"]["pattern_id"] == 3 and config["identity"]["prompt"]["id"] == 3
    assert config["args"]["batch_size"] == 16 and config["args"]["task"] == "agnews"
    assert config["data"]["dev"]["from"].endswith("agnews/test.csv") and config["data"]["test"]["size"] == 0
    assert set(results["best"]["dev"]) == {"accuracy", "macro_f1"}


@pytest.mark.parametrize("name", ["rte", pytest.param("cb", marks=pytest.mark.slow), pytest.param("copa", marks=pytest.mark.slow),
                                  pytest.param("wsc", marks=pytest.mark.slow), pytest.param("multirc", marks=pytest.mark.slow),
                                  pytest.param("record", marks=pytest.mark.slow)])
def test_superglue_fragment_runs_unchanged(tmp_path, name, tiny_real_vocab):
    fragment = SUPERGLUE[name]
    env = script_env(tmp_path, tiny_real_vocab)
    env["DATA_ROOT"] = str(DEMO / "superglue")
    proc = run_script("ds_finetune_superglue.sh", TINY_UPSTREAM_STYLE, fragment, tmp_path, *QUICK, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    experiment = fragment.split("EXPERIMENT_NAME=${MODEL_TYPE}-")[1].split()[0]
    _, config = finished_run(tmp_path, f"blocklm-tiny-{experiment}-p{SUPERGLUE_PATTERN[name]}")
    assert config["args"]["pattern_id"] == SUPERGLUE_PATTERN[name]


def test_cnn_dm_original_fragment_runs_unchanged(tmp_path, tiny):
    write_source_target(tmp_path / "data" / "cnn_dm_original")
    proc = run_script("ds_finetune_seq2seq.sh", TINY_UPSTREAM_STYLE, SEQ["cnn_dm_original"], tmp_path, *QUICK, env=script_env(tmp_path, tiny))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results, config = finished_run(tmp_path, "blocklm-tiny-cnndm_org-p0")
    assert config["model"]["max_sequence_length"] >= 608  # raised to --src-seq-length over the fragment's 256
    assert config["args"]["src_seq_length"] == 608 and config["args"]["num_beams"] == 5
    assert "rougeL" in results["test"]


def test_xsum_fragment_runs_unchanged_on_bbc_summary_data(tmp_path, tiny):
    write_bbc_summary_data(tmp_path / "data" / "bbc-summary-data")
    proc = run_script("ds_finetune_seq2seq.sh", TINY_UPSTREAM_STYLE, SEQ["xsum"], tmp_path, *QUICK, env=script_env(tmp_path, tiny))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results, config = finished_run(tmp_path, "blocklm-tiny-xsum-p0")
    assert config["data"]["sizes"] == {"train": 16, "dev": 2, "test": 2}
    assert "bbc-summary-data layout" in config["data"]["train"]["from"]
    assert "rougeL" in results["test"]


@pytest.mark.slow
def test_gigaword_fragment_runs_unchanged(tmp_path, tiny):
    write_source_target(tmp_path / "data" / "gigaword" / "org_data", lambda s: s.replace("red", "-lrb- red -rrb-"))
    proc = run_script("ds_finetune_seq2seq.sh", TINY_UPSTREAM_STYLE, SEQ["gigaword"], tmp_path, *QUICK, env=script_env(tmp_path, tiny))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results, _ = finished_run(tmp_path, "blocklm-tiny-ggw-p0")
    assert "rougeL" in results["test"]


# ---------------------------------------------------------------------------------------------- upstream's data formats
def test_xsum_reads_upstreams_layout_and_names_what_is_missing(tmp_path):
    from tasks.data_io import DataError
    from tasks.registry import DataOptions, resolve

    data = write_bbc_summary_data(tmp_path / "bbc")
    processor = resolve("xsum").processor(DataOptions())
    (first,) = processor.get_dev_examples(data)[:1]
    source, target = demo_pairs("val", 1)[0]
    assert first.text_a == f"{source} Second line." and first.target == target and first.guid == "val0000"
    (data / "test0001.summary").unlink()
    with pytest.raises(DataError, match=r"test0001.summary not found: .*lists id 'test0001' in its 'test' split"):
        processor.get_test_examples(data)
    (data / "train0000.summary").write_text("[SN]FIRST-SENTENCE[SN]\nonly a target\n")
    with pytest.raises(DataError, match=r"train0000.summary: no \[SN\]RESTBODY\[SN\] section"):
        resolve("xsum").processor(DataOptions()).get_train_examples(data)


def test_gigaword_and_cnn_dm_original_clean_lines_as_upstream(tmp_path):
    from tasks.registry import DataOptions, resolve

    (tmp_path / "val.source").write_text("the UNK said -lrb- on monday -rrb- that &amp; \u201cyes\u201d\n")
    (tmp_path / "val.target").write_text("UNK says <unk> -lsb- x -rsb- \u2013 ok\n")
    (example,) = resolve("gigaword").processor(DataOptions()).get_dev_examples(tmp_path)
    assert example.text_a == 'the [UNK] said ( on monday ) that & "yes"'
    assert example.target == "[UNK] says [UNK] [ x ] - ok"
    processor = resolve("CNN_DM_ORIGINAL").processor(DataOptions())
    (example,) = processor.get_dev_examples(tmp_path)
    assert example.text_a == 'the UNK said -lrb- on monday -rrb- that &amp; "yes"'  # punctuation only


def test_agnews_registered_task_renders_as_upstream_for_all_six_patterns(tokenizer):
    """Through the registry, on upstream's own csv files: every pattern's rows equal those upstream's AgnewsPVP made
    (tests/fixtures/upstream_pvp/golden/agnews.json; how they were made: that folder's README)."""
    from tasks.layout import encode_single_token
    from tasks.registry import DataOptions, resolve

    golden = json.loads((FIXTURES / "upstream_pvp" / "golden" / "agnews.json").read_text())
    assert golden["upstream"]["repository"] == "THUDM/GLM" and golden["upstream"]["pvp"] == "AgnewsPVP"
    entry = resolve("AGNEWS")
    checked = set()
    for render in golden["renders"]:
        if render["split"] != "dev":
            continue
        task = entry.prepare(DataOptions(), tokenizer, prompt=int(render["pattern_id"]), seq_length=int(render["seq_length"]))
        examples = task.processor.get_dev_examples(FIXTURES / "upstream_pvp" / "inputs" / "agnews")
        for example, sample in zip(examples, render["samples"], strict=True):
            ours = encode_single_token(task.pvp, example)
            (row,) = sample["rows"]
            assert ours.input_ids == row["input_ids"] and ours.verbalizer_ids == sample["verbalizer_ids"]
            assert ours.position_ids == [row["position_ids"], row["block_position_ids"]]
        checked.add(int(render["pattern_id"]))
    assert checked == {0, 1, 2, 3, 4, 5}


def test_original_layout_checkpoint_without_tokenizer_files(tmp_path, monkeypatch, tiny):
    """Upstream's fragments pass no tokenizer directory: the checkpoint's files, else RoBERTa's from the hub (as
    upstream's GPT2BPETokenizer fetches them), else a message saying to pass --tokenizer-dir."""
    import huggingface_hub

    from finetune_glm import tokenizer_dir

    assert tokenizer_dir(None, str(tiny)) == str(tiny)
    assert tokenizer_dir("tok", str(tiny)) == "tok"
    original = tmp_path / "blocklm-roberta-large-blank"
    original.mkdir()
    (original / "latest_checkpointed_iteration.txt").write_text("250000\n")

    def offline(repo_id, filename, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(SystemExit, match=r"has no vocab.json/merges.txt .* pass --tokenizer-dir"):
        tokenizer_dir(None, str(original))
    cached = tmp_path / "hub" / "roberta"
    cached.mkdir(parents=True)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo_id, filename, **kw: str(cached / filename))
    assert tokenizer_dir(None, str(original)) == str(cached)
