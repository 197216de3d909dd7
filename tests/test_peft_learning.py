"""Each PEFT method learns on the pretrained tiny GLM (2 layers, hidden 64; checkpoints/glm-tiny-pretrained):
the AG News demo classification well above chance (0.25) and above the untrained model's zero-shot accuracy, and
P-tuning v2 the demo generation task (dev ROUGE-L 0 untrained). Settings as config_tasks/grid_peft_demo.yaml."""

import json

import pytest

from conftest import ROOT
from finetune_glm import main as finetune

DEMO = ROOT / "data" / "demo" / "ag_news"
SEQ_DEMO = ROOT / "data" / "demo" / "seq2seq"


def classify(ckpt, save, name, *extra) -> dict:
    return finetune(["--task", "ag_news", "--data-dir", str(DEMO), "--load-pretrained", str(ckpt), "--save", str(save),
                     "--experiment-name", name, "--seq-length", "96", "--batch-size", "16", "--warmup", "0.1",
                     "--pattern-id", "0", "--num-threads", "1", "--seed", "1", *map(str, extra)])


@pytest.mark.slow
@pytest.mark.parametrize("flags, lr, threshold", [
    ([], 2e-3, 0.9),
    (["--ptuning-v2", "--pre-seq-len", "16"], 1e-2, 0.65),
    (["--lora", "--lora-rank", "8"], 2e-3, 0.9),
    (["--continuous-prompt", "--prefix-prompt", "4"], 2e-3, 0.9),
    (["--continuous-prompt", "--prefix-prompt", "4", "--freeze-transformer"], 1e-2, 0.7),
], ids=["full", "ptuning_v2", "lora", "ptuning", "prompt_tuning"])
def test_each_method_learns_the_demo_classification(pretrained_tiny, tmp_path, flags, lr, threshold):
    zero_shot = classify(pretrained_tiny, tmp_path, "zero", *flags, "--epochs", 0)
    res = classify(pretrained_tiny, tmp_path, "run", *flags, "--epochs", 6, "--lr", lr)
    assert res["status"] == "finished"
    assert res["test"]["accuracy"] >= threshold, res["test"]
    assert res["test"]["accuracy"] >= zero_shot["test"]["accuracy"] + 0.2, (zero_shot["test"], res["test"])


@pytest.mark.slow
def test_ptuning_v2_learns_the_demo_generation_task(pretrained_tiny, tmp_path):
    common = ["--task", "customization", "--data-dir", str(SEQ_DEMO), "--load-pretrained", str(pretrained_tiny),
              "--save", str(tmp_path), "--src-seq-length", "32", "--tgt-seq-length", "8", "--batch-size", "16",
              "--eval-batch-size", "50", "--validation-metric", "rougeL", "--num-threads", "1", "--seed", "1",
              "--ptuning-v2", "--pre-seq-len", "32", "--prefix-projection", "--prefix-hidden-size", "256",
              "--hidden-dropout", "0", "--attention-dropout", "0"]
    untrained = finetune([*common, "--experiment-name", "zero", "--epochs", "0"])
    # 160 epochs: at 80 the frozen 2 x 64 model's prefix is still climbing (dev ROUGE-L 22-25 on a 2-core AVX2
    # CPU); at 160, seeds 1 / 2 / 3 reach dev 46 / 43 / 47 and test 50 / 47 / 51 there.
    res = finetune([*common, "--experiment-name", "pt2", "--epochs", "160", "--lr", "1e-2", "--warmup", "0.06",
                    "--label-smoothing", "0.1", "--eval-epoch", "40"])
    assert untrained["best"]["dev"]["rougeL"] < 5.0
    assert res["status"] == "finished" and res["best"]["dev"]["rougeL"] >= 30.0, res["best"]
    assert res["test"]["rougeL"] >= 30.0, res["test"]
    rows = [json.loads(line) for line in (tmp_path / "pt2" / "predictions_test.jsonl").read_text().splitlines()]
    well_formed = [r for r in rows if len(r["prediction"].split()) == 3 and r["prediction"].split()[0].isdigit()]
    assert len(well_formed) >= 0.8 * len(rows), rows[:5]  # "<number> <colour> <plural noun>", as the targets
