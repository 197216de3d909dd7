#!/usr/bin/env python
"""Make the tiny pretrained GLM: the demo tokenizer, a small GLM, blank-infilling pretraining on the generated corpus.

    python scripts/make_pretrained_tiny.py --out checkpoints/glm-tiny-pretrained

Offline, on CPU, reproducible (fixed seeds, one thread by default): a few minutes on two cores. Steps:
  1. a random tiny GLM with the demo vocabulary (scripts/make_tiny_checkpoint.py), whose tokenizer also gets [gMASK]
     and [sMASK] (added_tokens.json), so every span mode of the objective can be used with it later;
  2. the corpus of scripts/make_pretrain_corpus.py (generated English on the demo tasks' topics);
  3. pretrain_glm.py on it (short spans, whole sentences and document-level spans; PRETRAIN_ARGS says why);
  4. the model at the best held-out loss, in the real HF layout, renamed into --out only when complete (so a build
     interrupted on first use is redone, never half used), with pretraining.json saying how it was made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The architecture of config_tasks/model_glm_tiny.sh's random model (2 layers, hidden 64), so the two compare, and
# the pretraining recipe. Changing any of these changes the checkpoint.
ARCH = {"num_layers": 2, "hidden_size": 64, "num_heads": 4, "max_sequence_length": 256}
DOCUMENTS = 8000
# The span mix: short spans ([MASK]) 40%, whole sentences ([sMASK]) 30%, one document-level span ([gMASK]) 30%. With
# short spans alone (glm-roberta-large's recipe) a model this small, in this few steps, learns the corpus' phrasing
# but not which topic words go with which topic name: a topic name is then a target in 15% of its occurrences only.
# Sentence and document spans make the closing line that names the topic a target far more often, conditioned on
# the report before it. No dropout: faster, and a corpus seen ten times does not need it.
PRETRAIN_ARGS = ["--seq-length", "96", "--epochs", "10", "--batch-size", "32", "--lr", "3e-3", "--warmup", "0.02",
                 "--lr-decay-style", "cosine", "--lr-decay-ratio", "0.1", "--weight-decay", "0.01", "--split", "980,20,0",
                 "--bert-prob", "0.4", "--gap-sentence-prob", "0.3", "--task-mask", "--hidden-dropout", "0.0",
                 "--data-seed", "42", "--log-interval", "50"]
FINETUNE_DROPOUT = 0.1  # written into the checkpoint's config: fine-tuning uses the usual dropout, as the random model


def add_task_masks(tokenizer_dir: Path) -> None:
    """List [gMASK] and [sMASK] right after the existing tokens in added_tokens.json."""
    path = tokenizer_dir / "added_tokens.json"
    added = json.loads(path.read_text())
    n = max(added.values()) + 1
    path.write_text(json.dumps({**added, "[gMASK]": n, "[sMASK]": n + 1}))


def make_pretrained_tiny(out: str | Path, threads: int = 1, overwrite: bool = False, seed: int = 1234) -> Path:
    """Build into a hidden directory next to `out`, then rename; `seed` seeds the initial weights and the masks."""
    from model.tokenizer import GLMTokenizer
    from pretrain_glm import main as pretrain
    from scripts.make_pretrain_corpus import SEED as CORPUS_SEED
    from scripts.make_pretrain_corpus import make_corpus
    from scripts.make_tiny_checkpoint import make_tiny_checkpoint

    out = Path(out)
    if (out / "config.json").exists() and not overwrite:
        raise SystemExit(f"{out} already holds a checkpoint; pass --overwrite to rebuild it")
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").exists():
        raise SystemExit(f"{out} is a non-empty directory without a checkpoint in it; choose another --out")
    work = out.parent / f".{out.name}.build-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    start = time.time()
    try:
        init = make_tiny_checkpoint(work / "init", vocab="demo", seed=seed, **ARCH)
        add_task_masks(init)
        tokenizer = GLMTokenizer.from_dir(init)
        rows = json.loads((init / "config.json").read_text())["vocab_size"]
        if rows < len(tokenizer):
            raise RuntimeError(f"{len(tokenizer)} tokens but {rows} embedding rows")
        corpus = work / "corpus.txt"
        corpus.write_text("".join(d + "\n" for d in make_corpus(DOCUMENTS)), encoding="utf-8")
        args = ["--train-data", str(corpus), "--load-pretrained", str(init), "--save", str(work / "runs"),
                "--experiment-name", "pretrain", "--save-hf", str(work / "model"), "--num-threads", str(threads), "--seed", str(seed), *PRETRAIN_ARGS]
        results = pretrain(args)
        config_file = work / "model" / "config.json"
        config = json.loads(config_file.read_text())
        for key in ("embedding_dropout_prob", "attention_dropout_prob", "output_dropout_prob"):
            config[key] = FINETUNE_DROPOUT
        config_file.write_text(json.dumps(config, indent=2, sort_keys=True))
        record = {
            "made_by": "scripts/make_pretrained_tiny.py", "architecture": ARCH, "seed": seed, "corpus": {"script": "scripts/make_pretrain_corpus.py",
            "documents": DOCUMENTS, "seed": CORPUS_SEED}, "pretrain_glm_args": PRETRAIN_ARGS, "best": results["best"],
            "seconds": round(time.time() - start, 1), "threads": threads,
        }
        (work / "model" / "pretraining.json").write_text(json.dumps(record, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work / "model", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote the tiny pretrained GLM to {out} in {time.time() - start:.0f} s (dev loss {results['best']['dev']['loss']:.3f})")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="checkpoints/glm-tiny-pretrained")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the result depends on it only in the last bits)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--seed", type=int, default=1234, help="initial weights and masks (another seed, another model)")
    a = p.parse_args(argv)
    make_pretrained_tiny(a.out, a.threads, a.overwrite, a.seed)


if __name__ == "__main__":
    main()
