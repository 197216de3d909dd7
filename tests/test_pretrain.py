"""pretrain_glm.py end to end on a tiny GLM (CPU, seconds): learning, the HF checkpoint it writes, exact resume."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT
from pretrain_glm import main as pretrain
from scripts.make_tiny_checkpoint import make_tiny_checkpoint


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "glm-tiny", vocab="demo")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The demo AG News training texts, one document per line: repeated phrasing a tiny model learns in seconds."""
    rows = [json.loads(line) for line in (ROOT / "data" / "demo" / "ag_news" / "train.jsonl").read_text().splitlines()]
    path = tmp_path_factory.mktemp("corpus") / "news.txt"
    path.write_text("".join(r["text"] + "\n" for r in rows[:240]))
    return path


def run(ckpt, corpus, save, name, *extra) -> dict:
    args = ["--train-data", str(corpus), "--load-pretrained", str(ckpt), "--save", str(save), "--experiment-name", name,
            "--seq-length", "64", "--batch-size", "16", "--lr", "2e-3", "--warmup", "0.05", "--split", "90,10,0",
            "--log-interval", "1", *map(str, extra)]
    return pretrain(args)


def events(run_dir: Path, kind: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time"} for r in rows if kind is None or r["event"] == kind]


def test_pretraining_loss_falls_and_the_hf_checkpoint_reloads_exactly(tiny_ckpt, corpus, tmp_path):
    res = run(tiny_ckpt, corpus, tmp_path, "learn", "--epochs", 3)
    run_dir = tmp_path / "learn"
    train = [e["loss"] for e in events(run_dir, "train")]
    dev = [e["loss"] for e in events(run_dir, "eval") if e.get("split") == "dev"]
    first, last = sum(train[:5]) / 5, sum(train[-5:]) / 5
    assert last < 0.7 * first, train  # from ~log(vocab) = 7.6 towards the corpus' regularities
    assert dev == sorted(dev, reverse=True) and dev[-1] < dev[0] - 1.0, dev
    assert res["best"]["dev"]["loss"] == dev[-1] and res["test"] == {}  # --split 90,10,0: no test documents
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["args"]["method"] == "blank_infilling" and cfg["train"]["metric_mode"] == "min"
    assert cfg["data"]["documents"] == {"train": 216, "dev": 24, "test": 0}

    # the HF directory loads through the loader finetune_glm.py uses, bit-exactly the best parameters
    from model.checkpoint import load_glm
    from model.tokenizer import GLMTokenizer

    hf = Path(res["hf"])
    assert hf == run_dir / "hf" and {"config.json", "model.safetensors", "vocab.json", "merges.txt", "added_tokens.json"} <= {
        p.name for p in hf.iterdir()}
    GLMTokenizer.from_dir(hf)
    reloaded = load_glm(hf)
    best = load_file(str(run_dir / "best" / "model.safetensors"))
    own = reloaded.state_dict()
    assert set(own) == {k.removeprefix("backbone.") for k in best}
    for k, v in best.items():
        assert torch.equal(own[k.removeprefix("backbone.")], v), k
    start = load_glm(tiny_ckpt).state_dict()
    assert not torch.equal(start["word_embeddings.weight"], own["word_embeddings.weight"])  # it did train


class Killed(Exception):
    pass


def crash_after(monkeypatch, batches: int) -> None:
    """Make the next run die while collating training batch `batches` + 1, as a kill between two steps would."""
    import training.loop

    class Crashing(training.loop.Trainer):
        def fit(self, samples, collate):
            calls = itertools.count(1)

            def collate_or_die(batch):
                if next(calls) > batches:
                    raise Killed(f"killed after {batches} batches")
                return collate(batch)

            return super().fit(samples, collate_or_die)

    monkeypatch.setattr(training.loop, "Trainer", Crashing)


def test_killed_and_resumed_pretraining_equals_the_uninterrupted_run(tiny_ckpt, corpus, tmp_path, monkeypatch):
    # 14 batches per epoch, 2 epochs; checkpoints every 5 steps, dev every 4 (best/ changes after a checkpoint)
    common = ("--epochs", 2, "--save-interval", 5, "--eval-interval", 4, "--keep-checkpoints", 2)
    full = run(tiny_ckpt, corpus, tmp_path, "full", *common)
    with monkeypatch.context() as m:
        crash_after(m, 18)  # the last checkpoint is at step 15 (epoch 1, batch 1); steps 16-18 and a dev eval are lost
        with pytest.raises(Killed):
            run(tiny_ckpt, corpus, tmp_path, "resumed", *common)
    run_dir = tmp_path / "resumed"
    assert json.loads((run_dir / "results.json").read_text())["status"] == "failed"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_00000010", "step_00000015"]
    assert events(run_dir, "train")[-1]["step"] == 18  # logged past the checkpoint: the resume must cut this back
    resumed = run(tiny_ckpt, corpus, tmp_path, "resumed", *common, "--resume")

    assert resumed["best"] == full["best"]
    assert events(run_dir) == events(tmp_path / "full")  # every loss, lr and dev value, in order, no duplicates
    a, b = load_file(str(tmp_path / "full" / "hf" / "model.safetensors")), load_file(str(run_dir / "hf" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_00000020", "step_00000025"]


def test_resume_refuses_other_settings_and_missing_checkpoints(tiny_ckpt, corpus, tmp_path):
    from training.resume import ResumeError

    with pytest.raises(ResumeError, match="no checkpoint"):
        run(tiny_ckpt, corpus, tmp_path, "none", "--epochs", 1, "--resume")
    run(tiny_ckpt, corpus, tmp_path, "lr", "--epochs", 1, "--save-interval", 5)
    (tmp_path / "lr" / "results.json").unlink()  # as if it had been killed
    with pytest.raises(ResumeError, match=r"lr: 0\.002 then, 0\.001 now"):
        run(tiny_ckpt, corpus, tmp_path, "lr", "--epochs", 1, "--save-interval", 5, "--resume", "--lr", "1e-3")
    with pytest.raises(SystemExit, match="choose one"):
        run(tiny_ckpt, corpus, tmp_path, "lr", "--epochs", 1, "--resume", "--overwrite")


def test_document_spans_need_gmask_or_no_task_mask(tiny_ckpt, corpus, tmp_path):
    from tasks.pretraining import MaskTokenMissing

    with pytest.raises(MaskTokenMissing, match=r"\[gMASK\]"):
        run(tiny_ckpt, corpus, tmp_path, "doc", "--epochs", 1, "--bert-prob", 0.5)
    res = run(tiny_ckpt, corpus, tmp_path, "doc", "--epochs", 1, "--bert-prob", 0.5, "--gap-sentence-prob", 0.25,
              "--no-task-mask", "--overwrite")
    assert res["status"] == "finished"


def test_corpus_errors_name_file_and_line(tiny_ckpt, tmp_path):
    from tasks.data_io import DataError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"body": "no text key"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2: .*'text'"):
        run(tiny_ckpt, bad, tmp_path, "bad", "--epochs", 1)


@pytest.mark.slow
def test_sigkilled_process_resumes_to_the_same_parameters(tiny_ckpt, corpus, tmp_path):
    """A real kill: the driver in a subprocess, SIGKILLed once its second checkpoint exists, then resumed."""
    common = ["--epochs", "6", "--save-interval", "10", "--num-threads", "1"]
    args = [sys.executable, str(ROOT / "pretrain_glm.py"), "--train-data", str(corpus), "--load-pretrained", str(tiny_ckpt),
            "--save", str(tmp_path), "--seq-length", "64", "--batch-size", "16", "--lr", "2e-3", "--split", "90,10,0", *common]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    subprocess.run([*args, "--experiment-name", "full"], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*args, "--experiment-name", "killed"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = tmp_path / "killed" / "checkpoints" / "step_00000020"
    while not target.exists() and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.exists() and not (tmp_path / "killed" / "hf").exists(), "the run finished before it could be killed"
    subprocess.run([*args, "--experiment-name", "killed", "--resume"], check=True, env=env, capture_output=True)
    a = load_file(str(tmp_path / "full" / "hf" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "hf" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert events(tmp_path / "killed") == events(tmp_path / "full")
