"""Checks on the real glm-roberta-large weights. Skipped unless GLM_CHECKPOINT points at a checkpoint directory
(HF layout, or the original layout with GLM_TOKENIZER set); run with `-m realweights`."""

import os
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.realweights

CKPT = os.environ.get("GLM_CHECKPOINT")
needs_ckpt = pytest.mark.skipif(not CKPT or not Path(CKPT).exists(), reason="set GLM_CHECKPOINT to a glm-roberta-large directory")


@needs_ckpt
def test_shapes_and_parameter_count():
    from model.checkpoint import load_glm

    model = load_glm(CKPT)
    c = model.config
    assert (c.num_layers, c.hidden_size, c.num_attention_heads, c.vocab_size) == (24, 1024, 16, 50304)
    assert model.num_parameters == 354_873_344


@needs_ckpt
def test_zero_shot_cloze_is_sensible():
    """With the id the model was trained with, an easy fact is filled correctly at the sop position."""
    from model.checkpoint import load_glm
    from model.tokenizer import GLMTokenizer
    from scripts.check_checkpoint import top_fills

    model = load_glm(CKPT).eval()
    tok = GLMTokenizer.from_dir(os.environ.get("GLM_TOKENIZER", CKPT))
    fills = [w.strip() for w, _ in top_fills(model, tok, "The capital of France is [MASK].", tok.mask_id, 5)]
    assert "Paris" in fills, fills


@needs_ckpt
def test_cached_decoding_matches_full_forward_on_real_weights():
    from model.checkpoint import load_glm

    model = load_glm(CKPT).eval()
    ids = torch.randint(100, 50000, (1, 24))
    with torch.no_grad():
        full = model(ids, sep=12).logits
        first = model(ids[:, :12], sep=12, use_cache=True)
        step = model(ids[:, 12:], past_key_values=first.past_key_values, sep=0).logits
    torch.testing.assert_close(step, full[:, 12:], atol=1e-4, rtol=1e-4)
