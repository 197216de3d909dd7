"""The seq2seq loss: a token mean over the loss mask, label smoothing as THUDM/GLM (uniform over all rows)."""

import pytest
import torch
import torch.nn.functional as F

from tasks.seq2seq.loss import seq2seq_loss


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_loss_matches_cross_entropy_on_masked_tokens(eps):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 11, generator=gen)
    targets = torch.randint(0, 11, (2, 5), generator=gen)
    mask = torch.tensor([[0, 1, 1, 1, 0], [0, 0, 1, 0, 0]], dtype=torch.float)
    keep = mask.bool()
    want = F.cross_entropy(logits[keep], targets[keep], label_smoothing=eps)  # mean over the 4 real tokens
    assert seq2seq_loss(logits, targets, mask, eps).item() == pytest.approx(want.item(), abs=1e-6)


def test_smoothing_term_is_mean_negative_logprob():
    logits = torch.tensor([[[2.0, 0.0, -1.0]]])
    logp = F.log_softmax(logits, -1)[0, 0]
    want = 0.9 * -logp[0] + 0.1 * -logp.mean()
    got = seq2seq_loss(logits, torch.tensor([[0]]), torch.ones(1, 1), 0.1)
    assert got.item() == pytest.approx(want.item(), abs=1e-6)
