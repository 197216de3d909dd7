"""config_tasks/task_{rte,cb,...}.sh: upstream's variable format with the values TASK_INFO records."""

import shlex
import subprocess

import pytest
from conftest import ROOT

from tasks.superglue import TASK_INFO

VARIABLES = ("EXPERIMENT_NAME", "TASK_NAME", "DATA_PATH", "MAX_SEQ_LEN", "LR_SINGLE", "EPOCH_SINGLE", "XXLARGE_EPOCH", "TRAIN_ARGS",
             "COMMON_ARGS", "BATCH_SIZE")  # fmt: skip


def source(fragment: str) -> dict[str, str]:
    script = (f"MODEL_TYPE=glm; DATA_ROOT=/data; source config_tasks/{fragment}; "
              + " ".join(f'printf "%s\\0" "${v}";' for v in VARIABLES)
              + ' printf "%s\\0" "${PATTERN_IDS[*]}" "${PROMPT_IDS[*]:-}"')  # fmt: skip
    out = subprocess.run(["bash", "-euc", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return dict(zip((*VARIABLES, "PATTERN_IDS", "PROMPT_IDS"), out.split("\0")))


def flags(args: str) -> dict[str, str | None]:
    words, found = shlex.split(args), {}
    for i, word in enumerate(words):
        if word.startswith("--"):
            found[word] = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else None
    return found


@pytest.mark.parametrize("name", sorted(TASK_INFO))
def test_fragment_has_the_papers_values(name):
    info, hp = TASK_INFO[name], TASK_INFO[name].hyperparameters
    v = source(f"task_{name}.sh")
    assert v["TASK_NAME"].lower() == name and v["EXPERIMENT_NAME"].startswith("glm-")
    assert v["DATA_PATH"] == f"/data/{hp.data_folder}"
    assert (int(v["MAX_SEQ_LEN"]), float(v["LR_SINGLE"]), int(v["EPOCH_SINGLE"]), int(v["XXLARGE_EPOCH"]), int(v["BATCH_SIZE"])) == \
           (hp.seq_length, hp.lr, hp.epochs, hp.xxlarge_epochs, hp.batch_size)  # fmt: skip
    train = flags(v["TRAIN_ARGS"])
    assert int(train["--pattern-id"]) == hp.pattern_id and float(train["--warmup"]) == hp.warmup
    assert float(train["--weight-decay"]) == hp.weight_decay and train["--lr-decay-style"] == hp.lr_decay_style
    assert train.get("--loss-func", "cross_entropy") == hp.loss_func and ("--wsc-negative" in train) == hp.wsc_negative
    assert float(train.get("--length-penalty") or 0.0) == hp.length_penalty
    common = flags(v["COMMON_ARGS"])
    assert int(common["--log-interval"]) == hp.log_interval and int(common["--eval-interval"]) == hp.eval_interval
    assert tuple(int(i) for i in v["PATTERN_IDS"].split()) == hp.pattern_ids
    assert tuple(int(i) for i in v["PROMPT_IDS"].split()) == hp.prompt_ids
    assert set(hp.pattern_ids) <= set(info.patterns)


@pytest.mark.parametrize("name", sorted(TASK_INFO))
def test_demo_data_has_the_fragments_folder(name):
    """DATA_ROOT=data/demo/superglue runs every fragment on the demo data."""
    folder = ROOT / "data" / "demo" / "superglue" / TASK_INFO[name].hyperparameters.data_folder
    assert {p.name for p in folder.glob("*.jsonl")} == {"train.jsonl", "val.jsonl", "test.jsonl"}
    TASK_INFO[name].processor().get_train_examples(folder)
