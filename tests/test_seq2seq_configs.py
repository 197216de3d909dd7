"""Every shipped config_tasks/seq_*.sh parses in bash and names a known task, known prompts and the flags the
seq2seq driver reads; the customization file carries THUDM/GLM's hyperparameters."""

import shlex
import subprocess
from pathlib import Path

import pytest

from tasks.registry import GenerationTask, resolve

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "config_tasks").glob("seq_*.sh"))
REQUIRED_FLAGS = ("--src-seq-length", "--tgt-seq-length", "--min-tgt-length", "--length-penalty",
                  "--no-repeat-ngram-size", "--num-beams", "--select-topk", "--eval-batch-size")


def _source(path: Path) -> dict[str, str]:
    script = (f"MODEL_TYPE=m DATA_ROOT=d; source {shlex.quote(str(path))}; "
              'printf "%s\\n" "$EXPERIMENT_NAME" "$TASK_NAME" "$DATA_PATH" "$TRAIN_ARGS" "$COMMON_ARGS" "$TASK_ARGS" '
              '"${PATTERN_IDS[*]}"')
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")
    keys = ("EXPERIMENT_NAME", "TASK_NAME", "DATA_PATH", "TRAIN_ARGS", "COMMON_ARGS", "TASK_ARGS", "PATTERN_IDS")
    return dict(zip(keys, out))


def _flags(args: str) -> dict[str, str | None]:
    words = args.split()
    return {w: (words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else None)
            for i, w in enumerate(words) if w.startswith("--")}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_is_complete(path):
    v = _source(path)
    assert v["EXPERIMENT_NAME"] and v["DATA_PATH"]
    ids = [int(i) for i in v["PATTERN_IDS"].split()]
    assert len(ids) >= 3
    if v["TASK_NAME"].startswith("promptsource:"):  # original-task generation templates of that data set
        from conftest import TOKENIZER_DIR
        from model.tokenizer import GLMTokenizer
        from tasks.promptsource import list_prompts, parse_task_spec

        infos = {p.id: p for p in list_prompts(*parse_task_spec(v["TASK_NAME"]), GLMTokenizer.from_dir(TOKENIZER_DIR))}
        assert all(i in infos and infos[i].original_task and infos[i].choice_kind == "generation" for i in ids)
    else:
        entry = resolve(v["TASK_NAME"])
        assert isinstance(entry, GenerationTask)
        assert all(0 <= i < len(entry.prompt_classes) for i in ids)
    task = _flags(v["TASK_ARGS"])
    assert all(f in task for f in REQUIRED_FLAGS), path.name
    assert "--label-smoothing" in _flags(v["TRAIN_ARGS"])


def test_customization_has_upstream_hyperparameters():
    v = _source(next(p for p in CONFIGS if p.name == "seq_customization.sh"))
    train, task = _flags(v["TRAIN_ARGS"]), _flags(v["TASK_ARGS"])
    assert train == {"--epochs": "10", "--lr": "1e-5", "--lr-decay-style": "linear", "--warmup": "0.06",
                     "--label-smoothing": "0.1"}
    assert (task["--src-seq-length"], task["--tgt-seq-length"], task["--min-tgt-length"]) == ("512", "128", "55")
    assert (task["--length-penalty"], task["--no-repeat-ngram-size"], task["--num-beams"]) == ("0.7", "3", "5")
