"""The seq2seq loss (model.heads.token_loss): a mean over target tokens; label smoothing as THUDM/GLM, uniform
over every vocabulary row, which is also torch's cross_entropy(label_smoothing=eps)."""

import pytest
import torch
import torch.nn.functional as F

from model.glm import GLMConfig, GLMModel
from model.heads import token_loss


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_token_loss_matches_cross_entropy_on_masked_tokens(eps):
    torch.manual_seed(0)
    model = GLMModel(GLMConfig(num_layers=1, hidden_size=16, num_attention_heads=2, vocab_size=11, max_sequence_length=8))
    hidden = torch.randn(2, 5, 16)
    targets = torch.randint(0, 11, (2, 5))
    mask = torch.tensor([[0, 1, 1, 1, 0], [0, 0, 1, 0, 0]], dtype=torch.float)
    keep = mask.bool()
    logits = hidden @ model.word_embeddings.weight.T  # [2, 5, 11]
    want = F.cross_entropy(logits[keep], targets[keep], label_smoothing=eps)  # mean over the 4 real tokens
    got = token_loss(model, hidden, targets, mask, eps)
    assert got.item() == pytest.approx(want.item(), abs=1e-6)
