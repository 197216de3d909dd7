#!/usr/bin/env python
"""Inspect a GLM checkpoint and confirm which [MASK] id it was trained with.

    python scripts/check_checkpoint.py PATH [--gelu tanh|erf] [--top 5]

PATH is a Hugging Face layout directory (config.json + model.safetensors / pytorch_model.bin + tokenizer files)
or an original GLM directory (latest_checkpointed_iteration.txt + <tag>/mp_rank_00_model_states.pt); for the
latter pass --tokenizer DIR with vocab.json and merges.txt.

Prints the parameter count and dtype, compares embedding rows 50264 (RoBERTa's <mask>, used by the original
fine-tuning code) and 50267 (the HF tokenizer's [MASK]), and fills a few built-in cloze sentences with each id.
On the real glm-roberta-large the id the model was trained with gives sensible fills; the other does not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from model.checkpoint import load_glm, read_state_dict  # noqa: E402
from model.tokenizer import GLMTokenizer  # noqa: E402

CLOZE_SENTENCES = [
    "The capital of France is [MASK].",
    "Tsinghua University is located in [MASK].",
    "The cat sat on the [MASK].",
    "He went to the store to buy some [MASK].",
    "The movie was great. It was [MASK].",
]


@torch.no_grad()
def top_fills(model, tokenizer: GLMTokenizer, sentence: str, mask_id: int, k: int) -> list[tuple[str, float]]:
    """Single-token fill read at the <|startofpiece|> position, GLM's cloze layout: <s> text </s> <sop>."""
    ids = [tokenizer.cls_id] + [mask_id if i == tokenizer.mask_id else i for i in tokenizer.encode(sentence)]
    ids.append(tokenizer.eos_id)
    mask_pos = ids.index(mask_id)
    sep = len(ids)
    ids.append(tokenizer.sop_id)
    positions = torch.tensor([list(range(sep)) + [mask_pos], [0] * sep + [1]]).unsqueeze(0)  # [1, 2, L]
    logits = model(torch.tensor([ids]), positions, sep=sep).logits[0, sep]  # [V] at the sop position
    probs = logits.float().log_softmax(-1)
    values, idx = probs.topk(k)
    return [(tokenizer.decode([int(i)], skip_special=False), float(v)) for v, i in zip(values, idx)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path")
    p.add_argument("--tokenizer", help="directory with vocab.json/merges.txt (default: the checkpoint directory)")
    p.add_argument("--gelu", choices=("tanh", "erf"), default=None)
    p.add_argument("--top", type=int, default=5)
    a = p.parse_args(argv)

    sd, cfg = read_state_dict(a.path)
    n_params = sum(v.numel() for v in sd.values())
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in sd.values()})
    print(f"checkpoint: {a.path}")
    print(f"tensors: {len(sd)}  parameters: {n_params:,}  dtypes: {', '.join(dtypes)}")
    model = load_glm(a.path, gelu=a.gelu).eval()
    c = model.config
    print(f"config: layers {c.num_layers}, hidden {c.hidden_size}, heads {c.num_attention_heads}, vocab rows "
          f"{c.vocab_size}, max positions {c.max_sequence_length}, gelu {c.gelu}")

    tok_dir = Path(a.tokenizer) if a.tokenizer else Path(a.path)
    tokenizer = GLMTokenizer.from_dir(tok_dir)
    original, hf = tokenizer.mask_id, GLMTokenizer.from_dir(tok_dir, mask_id="hf").mask_id
    emb = sd["word_embeddings.weight"].float()
    if max(original, hf) < emb.shape[0]:
        a_row, b_row = emb[original], emb[hf]
        cos = torch.nn.functional.cosine_similarity(a_row, b_row, dim=0).item()
        print(f"embedding row {original} (<mask>): norm {a_row.norm():.4f}; row {hf} ([MASK]): norm {b_row.norm():.4f}; "
              f"max |diff| {(a_row - b_row).abs().max():.4g}; cosine {cos:.4f}")
        print(f"mean row norm over the vocabulary: {emb.norm(dim=1).mean():.4f}")
    for sentence in CLOZE_SENTENCES:
        print(f"\n{sentence}")
        for mask_id, name in ((original, "original <mask>"), (hf, "HF [MASK]")):
            fills = top_fills(model, tokenizer, sentence, mask_id, a.top)
            shown = ", ".join(f"{w!r} {lp:.2f}" for w, lp in fills)
            print(f"  id {mask_id:>5} ({name}): {shown}")


if __name__ == "__main__":
    main()
