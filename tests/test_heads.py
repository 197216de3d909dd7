"""Scoring heads: hand computations on the golden model, packed == per-candidate, length normalisation."""

import pytest
import torch
import torch.nn.functional as F

from conftest import GOLDEN
from model.checkpoint import load_glm
from model.heads import ClassificationHead, MultiTokenClozeHead, NonFiniteScores, SingleTokenClozeHead, check_scores, token_loss
from tasks import layout


@pytest.fixture(scope="module")
def golden():
    return load_glm(GOLDEN, gelu="erf").eval()


@torch.no_grad()
def test_single_token_head_equals_full_logits_at_sop(golden, hf_tokenizer):
    """Scores are the full vocabulary logits at the <sop> position, columns = the label words."""
    t = hf_tokenizer
    samples = [
        layout.build_single_token(t.encode("Tsinghua University is located in [MASK]."), [], t, [t.encode(" Beijing")[0], t.encode(" Yes")[0]], 0),
        layout.build_single_token(t.encode("The movie was great."), t.encode(" It was [MASK]."), t, [t.encode(" good")[0], t.encode(" bad")[0]], 1),
    ]
    batch = layout.collate_single_token(samples)
    scores = SingleTokenClozeHead()(golden, batch)
    full = golden(batch["input_ids"], batch["position_ids"], sep=batch["sep"]).logits  # [B, L, V]
    for b, s in enumerate(samples):
        # hand computation: logits row at index sep (the sop), restricted to the verbalizer ids
        assert batch["input_ids"][b, s.sep] == t.sop_id
        hand = full[b, s.sep, torch.tensor(s.verbalizer_ids)]
        torch.testing.assert_close(scores[b], hand, atol=1e-6, rtol=0)
        # and the same number from first principles: final hidden state . embedding row of the word
        h = golden(batch["input_ids"][b : b + 1], batch["position_ids"][b : b + 1], sep=s.sep).hidden_states[0, s.sep]
        torch.testing.assert_close(scores[b, 0], h @ golden.word_embeddings.weight[s.verbalizer_ids[0]], atol=1e-6, rtol=0)


def _multi_batches(t):
    contexts = [t.encode("Tsinghua University is located in [MASK]."), t.encode("The capital of France is [MASK], a city.")]
    answers = [[" Beijing", " Shanghai Jiao Tong", " the moon"], [" Paris", " London Bridge area"]]
    packed, rows = [], []
    for ctx, cands, label in zip(contexts, answers, (0, 1)):
        ids = [t.encode(a) + [t.eop_id] for a in cands]
        packed.append(layout.build_packed(ctx, [], ids, t, label))
        rows.append(layout.build_candidate_rows(ctx, [], ids, t, label))
    return layout.collate_packed(packed), layout.collate_candidate_rows(rows), answers


@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 0.7])
@torch.no_grad()
def test_packed_equals_per_candidate_rows(golden, hf_tokenizer, length_penalty):
    packed, rows, _ = _multi_batches(hf_tokenizer)
    head = MultiTokenClozeHead(length_penalty)
    a, b = head(golden, packed), head(golden, rows)
    assert a.shape == b.shape == (2, 3)
    assert torch.isinf(a[1, 2]) and torch.isinf(b[1, 2])  # the second example has only two candidates
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@torch.no_grad()
def test_multi_token_scores_by_hand(golden, hf_tokenizer):
    """Sum over the answer tokens and eop of log_softmax(full logits), divided by count**penalty."""
    t = hf_tokenizer
    _, rows, answers = _multi_batches(t)
    for penalty in (0.0, 1.0):
        scores = MultiTokenClozeHead(penalty)(golden, rows)
        for b in range(2):
            for c, answer in enumerate(answers[b]):
                ids, pos = rows["input_ids"][b, c : c + 1], rows["position_ids"][b, c : c + 1]
                logp = golden(ids, pos, sep=rows["sep"][b, c]).logits[0].log_softmax(-1)
                tokens = t.encode(answer) + [t.eop_id]
                sep = int(rows["sep"][b, c])
                hand = sum(logp[sep + k, tok] for k, tok in enumerate(tokens)) / len(tokens) ** penalty
                assert scores[b, c].item() == pytest.approx(hand.item(), abs=1e-5)


def test_classification_head_shapes_and_pooling(golden, hf_tokenizer):
    t = hf_tokenizer
    samples = [layout.build_classifier(t.encode("a b c"), t.encode("d"), t, 16, 1), layout.build_classifier(t.encode("x"), None, t, 16, 0)]
    batch = layout.collate_classifier(samples)
    torch.manual_seed(0)
    head = ClassificationHead(64, 3, dropout=0.0)
    out = head(golden, batch)
    assert out.shape == (2, 3)
    h0 = golden(batch["input_ids"], batch["position_ids"], sep=batch["sep"]).hidden_states[:, 0]
    torch.testing.assert_close(out, head.multichoice_head(torch.tanh(head.pool_layer(h0))), atol=1e-6, rtol=0)


def test_token_loss_label_smoothing_by_hand(golden):
    torch.manual_seed(0)
    hidden = torch.randn(2, 5, 64)
    targets = torch.randint(0, 50304, (2, 5))
    mask = torch.tensor([[0, 1, 1, 0, 0], [1, 1, 1, 1, 0]])
    logp = F.linear(hidden, golden.word_embeddings.weight).log_softmax(-1)
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    smooth = -logp.mean(-1)
    want = ((0.9 * nll + 0.1 * smooth) * mask).sum() / mask.sum()
    torch.testing.assert_close(token_loss(golden, hidden, targets, mask, 0.1), want, atol=1e-5, rtol=0)
    plain = (nll * mask).sum() / mask.sum()
    torch.testing.assert_close(token_loss(golden, hidden, targets, mask), plain, atol=1e-5, rtol=0)


def test_check_scores_passes_finite_and_padded_slots_and_names_nan_inf_and_empty_rows():
    fine = torch.randn(3, 5)
    assert check_scores(fine) is fine
    padded = fine.clone()
    padded[1, 3:] = float("-inf")  # missing choices of a shorter example
    assert check_scores(padded) is padded
    huge = torch.full((2, 4), 3e38)  # every entry finite, the sum overflows: the exact check decides
    assert check_scores(huge) is huge
    for row, value in ((2, float("nan")), (0, float("inf"))):
        bad = fine.clone()
        bad[row, 1] = value
        with pytest.raises(NonFiniteScores, match=f"1 of 3 rows of the batch \\(first row {row}\\)"):
            check_scores(bad)
    empty = fine.clone()
    empty[1] = float("-inf")
    with pytest.raises(NonFiniteScores, match="first row 1"):
        check_scores(empty, "logits")
