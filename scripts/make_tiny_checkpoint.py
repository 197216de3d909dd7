#!/usr/bin/env python
"""Write a tiny random GLM checkpoint directory in the real Hugging Face layout.

    python scripts/make_tiny_checkpoint.py --out checkpoints/glm-tiny                 # small demo vocabulary
    python scripts/make_tiny_checkpoint.py --out checkpoints/glm-tiny-real --vocab real

The directory holds config.json (HF field names), model.safetensors (released key names) and the tokenizer files
(vocab.json, merges.txt, added_tokens.json, tokenizer_config.json), so every loader path used for the real
glm-roberta-large runs on it unchanged.

--vocab real   the real glm-roberta-large RoBERTa BPE files (tests/fixtures/tokenizer), 50304 embedding rows.
--vocab demo   a small byte-level BPE trained on the project's own demo data (data/demo) and a built-in text, with
               the same special tokens in the same roles; a few thousand rows, so CPU demos are fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from model.checkpoint import save_hf  # noqa: E402
from model.glm import GLMConfig, GLMModel  # noqa: E402
from model.tokenizer import GLMTokenizer  # noqa: E402

REAL_TOKENIZER = ROOT / "tests" / "fixtures" / "tokenizer"
DEMO_DATA = ROOT / "data" / "demo"

# A little general English so the demo vocabulary has common words besides the demo data's own.
BUILTIN_TEXT = """
The question is whether the answer is yes or no. This article is about world news, sports, business and
science and technology. The team won the game on Sunday. Shares of the company rose after the report.
Researchers found a new way to study the planet. The government said the talks would continue next week.
It was great. It was terrible. The movie was good. Summary: a short text about a longer one. Topic: news.
Question: what is the topic of this text? Answer: Category: World Sports Business Tech Science Politics.
"""


# Label words of the demo tasks' single-token patterns, repeated so that BPE merges each into one token (with and
# without the leading space), as they are in the real vocabulary.
LABEL_WORDS = ("World Sports Business Technology Tech Science world sports business science technology tech "
               "Yes No yes no true false good bad great terrible positive negative news")


def demo_corpus() -> list[str]:
    """Every text field of the demo data sets, plus the built-in text (deterministic order)."""
    words = LABEL_WORDS.split()
    lines = [BUILTIN_TEXT] + [" " + " ".join(words), "\n".join(words)] * 200
    for f in sorted(DEMO_DATA.rglob("*")):
        if f.is_relative_to(DEMO_DATA / "superglue"):
            continue  # the demo vocabulary (and the tests that learn with it) predates the SuperGLUE demo data
        if f.suffix == ".jsonl":
            for line in f.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    lines.extend(str(v) for v in row.values() if isinstance(v, str))
        elif f.suffix in (".source", ".target", ".txt"):
            lines.extend(f.read_text(encoding="utf-8").splitlines())
    return lines


def train_demo_vocab(out: Path, vocab_size: int) -> None:
    """A byte-level BPE whose specials mirror glm-roberta-large's: <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last in
    vocab.json, then <|startofpiece|>, <|endofpiece|>, [MASK] as added tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(demo_corpus(), trainer=trainer)
    model_files = tok.model.save(str(out))  # vocab.json, merges.txt
    vocab_path = Path(model_files[0])
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    vocab["<mask>"] = len(vocab)
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    n = len(vocab)
    (out / "added_tokens.json").write_text(json.dumps({"<|startofpiece|>": n, "<|endofpiece|>": n + 1, "[MASK]": n + 2}))
    (out / "tokenizer_config.json").write_text((REAL_TOKENIZER / "tokenizer_config.json").read_text())


def make_tiny_checkpoint(
    out: str | Path,
    vocab: str = "demo",
    num_layers: int = 2,
    hidden_size: int = 64,
    num_heads: int = 4,
    max_sequence_length: int = 256,
    seed: int = 1234,
    demo_vocab_size: int = 2000,
) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if vocab == "real":
        for name in ("vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json"):
            (out / name).write_bytes((REAL_TOKENIZER / name).read_bytes())
    elif vocab == "demo":
        train_demo_vocab(out, demo_vocab_size)
    else:
        raise ValueError(f"--vocab must be 'real' or 'demo', got {vocab!r}")
    tokenizer = GLMTokenizer.from_dir(out)
    cfg = GLMConfig(
        num_layers=num_layers,
        hidden_size=hidden_size,
        num_attention_heads=num_heads,
        vocab_size=tokenizer.vocab_size,
        max_sequence_length=max_sequence_length,
    )
    torch.manual_seed(seed)
    save_hf(GLMModel(cfg), out)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--vocab", choices=("demo", "real"), default="demo")
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--num-attention-heads", type=int, default=4)
    p.add_argument("--max-sequence-length", type=int, default=256)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--demo-vocab-size", type=int, default=2000)
    a = p.parse_args(argv)
    out = make_tiny_checkpoint(a.out, a.vocab, a.num_layers, a.hidden_size, a.num_attention_heads,
                               a.max_sequence_length, a.seed, a.demo_vocab_size)
    print(f"wrote tiny GLM checkpoint to {out}")


if __name__ == "__main__":
    main()
