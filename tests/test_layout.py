"""GLM layouts: exact ids/positions on small hand-made inputs, collate padding, and the equivalence of the
packed multi-token layout with one row per candidate (structurally, and numerically on a tiny random GLM)."""

import pytest
import torch

from model.glm import GLMConfig, GLMModel
from tasks.base import InputExample
from tasks.classification import AgNewsProcessor, DbpediaProcessor
from tasks.registry import resolve
from tasks.data_io import DataError
from tasks.layout import (
    build_candidate_rows,
    build_classifier,
    build_packed,
    build_single_token,
    collate_candidate_rows,
    collate_classifier,
    collate_packed,
    collate_single_token,
    encode_candidate_rows,
    encode_classifier,
    encode_packed,
    encode_single_token,
)

M, SOP, EOP = 50264, 50265, 50266
NEWS_LABELS = AgNewsProcessor().get_labels()
ENTITY_LABELS = DbpediaProcessor().get_labels()
NEWS = [
    InputExample("dev-0", "Stocks rallied on Wall Street as oil prices fell.", label="Business"),
    InputExample("dev-1", "The striker scored twice in the cup final.", label="Sports"),
]
ENTITY = InputExample("dev-2", "Abbott Farms", "Abbott Farms is a dairy company based in Ohio.", label="Company")


# ---------------------------------------------------------------------------------------------- exact layouts
def test_single_token_layout(tokenizer):
    s = build_single_token([10, M, 11], [12], tokenizer, [7, 8], label=1)
    assert s.input_ids == [0, 10, M, 11, 12, 2, SOP]
    assert s.sep == 6  # the sop index = len(Part A)
    assert s.position_ids == [[0, 1, 2, 3, 4, 5, 2], [0, 0, 0, 0, 0, 0, 1]]  # sop sits at the [MASK] position
    assert (s.verbalizer_ids, s.label) == ([7, 8], 1)


def test_the_last_mask_is_the_blank(tokenizer):
    s = build_single_token([M, 10, M], [], tokenizer, [7], label=0)
    assert s.position_ids[0][-1] == 3


def test_candidate_rows_layout(tokenizer):
    rows = build_candidate_rows([10, M], [], [[20, 21, EOP], [30, EOP]], tokenizer, label=0)
    assert rows.sep == 4
    assert rows.input_ids == [[0, 10, M, 2, SOP, 20, 21], [0, 10, M, 2, SOP, 30]]
    assert rows.position_ids == [[[0, 1, 2, 3, 2, 2, 2], [0, 0, 0, 0, 1, 2, 3]], [[0, 1, 2, 3, 2, 2], [0, 0, 0, 0, 1, 2]]]
    assert rows.target_ids == [[0, 0, 0, 0, 20, 21, EOP], [0, 0, 0, 0, 30, EOP]]
    assert rows.loss_mask == [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]]


def test_packed_layout_and_mask(tokenizer):
    packed = build_packed([10, M], [], [[20, 21, EOP], [30, EOP]], tokenizer, label=1)
    assert packed.input_ids == [0, 10, M, 2, SOP, 20, 21, SOP, 30]
    assert packed.position_ids == [[0, 1, 2, 3, 2, 2, 2, 2, 2], [0, 0, 0, 0, 1, 2, 3, 1, 2]]
    assert packed.target_ids == [0, 0, 0, 0, 20, 21, EOP, 30, EOP]
    assert packed.candidate_index == [-1, -1, -1, -1, 0, 0, 0, 1, 1]
    assert (packed.context_length, packed.num_candidates, packed.label) == (4, 2, 1)
    mask = collate_packed([packed])["attention_mask"][0, 0].int().tolist()
    assert mask == [
        [1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 1, 0],
        [1, 1, 1, 1, 0, 0, 0, 1, 1],
    ]


def test_classifier_layout(tokenizer):
    s = build_classifier([10, 11], [12, 13], tokenizer, 16, label=2)
    assert s.input_ids == [0, 10, 11, 2, 12, 13, 2]  # one </s> between A and B, as the original
    assert s.sep == 7 and s.position_ids == [list(range(7)), [0] * 7]
    cut = build_classifier([10, 11], [12, 13], tokenizer, 5, label=2)
    assert cut.input_ids == [0, 10, 11, 2, 2]  # cut to max-1, then eos
    assert build_classifier([10], None, tokenizer, 8, label=0).input_ids == [0, 10, 2]


def test_encode_classifier(tokenizer):
    s = encode_classifier(ENTITY, tokenizer, ENTITY_LABELS, 64)
    assert tokenizer.decode(s.input_ids, skip_special=False) == "<s>Abbott Farms</s>Abbott Farms is a dairy company based in Ohio.</s>"
    assert s.label == 0
    with pytest.raises(DataError, match="'dev-2'.*'Company' is not one of"):
        encode_classifier(ENTITY, tokenizer, NEWS_LABELS, 64)


# ---------------------------------------------------------------------------------------------- collate
def test_collate_single_token_pads_after_sop(tokenizer):
    pvp = resolve("ag_news").pvp(0, tokenizer, NEWS_LABELS, 64)
    samples = [encode_single_token(pvp, e) for e in NEWS]
    batch = collate_single_token(samples)
    n0, n1 = len(samples[0].input_ids), len(samples[1].input_ids)
    width = max(n0, n1)
    assert batch["input_ids"].shape == (2, width) and batch["position_ids"].shape == (2, 2, width)
    short = 0 if n0 < n1 else 1
    assert batch["input_ids"][short, min(n0, n1):].eq(2).all()
    assert batch["position_ids"][short, :, min(n0, n1):].eq(0).all()
    assert batch["sep"].tolist() == [s.sep for s in samples]
    assert batch["verbalizer_ids"].tolist() == [pvp.verbalizer_ids] * 2
    assert batch["labels"].tolist() == [2, 1]


def test_collate_candidate_rows_with_different_candidate_counts(tokenizer):
    news = encode_candidate_rows(resolve("ag_news").pvp(3, tokenizer, NEWS_LABELS, 64), NEWS[0])
    entity = encode_candidate_rows(resolve("dbpedia_14").pvp(0, tokenizer, ENTITY_LABELS, 64), ENTITY)
    batch = collate_candidate_rows([news, entity])
    width = max(len(r) for s in (news, entity) for r in s.input_ids)
    assert batch["input_ids"].shape == (2, 14, width)
    assert batch["position_ids"].shape == (2, 14, 2, width)
    assert batch["choice_mask"].tolist() == [[True] * 4 + [False] * 10, [True] * 14]
    assert torch.equal(batch["input_ids"][0, 5], batch["input_ids"][0, 0])  # missing slots repeat row 0
    assert batch["sep"].tolist() == [[news.sep] * 14, [entity.sep] * 14]
    assert batch["loss_mask"].dtype == torch.bool
    assert batch["loss_mask"][1].sum(-1).tolist() == [len(r) - entity.sep for r in entity.input_ids]
    assert batch["labels"].tolist() == [2, 0]


def test_collate_packed_padding(tokenizer):
    news = encode_packed(resolve("ag_news").pvp(3, tokenizer, NEWS_LABELS, 64), NEWS[1])
    entity = encode_packed(resolve("dbpedia_14").pvp(0, tokenizer, ENTITY_LABELS, 64), ENTITY)
    batch = collate_packed([news, entity])
    n, width = len(news.input_ids), len(entity.input_ids)
    assert n < width
    assert batch["input_ids"].shape == (2, width) and batch["attention_mask"].shape == (2, 1, width, width)
    assert batch["input_ids"][0, n:].eq(2).all() and batch["target_ids"][0, n:].eq(0).all()
    assert batch["candidate_index"][0, n:].eq(-1).all()
    assert not batch["attention_mask"][0, 0, n:].any() and not batch["attention_mask"][0, 0, :, n:].any()
    assert batch["choice_mask"].tolist() == [[True] * 4 + [False] * 10, [True] * 14]


def test_collate_classifier(tokenizer):
    samples = [build_classifier([10, 11, 12], [13], tokenizer, 16, 1), build_classifier([10], None, tokenizer, 16, 0)]
    batch = collate_classifier(samples)
    assert batch["input_ids"].tolist() == [[0, 10, 11, 12, 2, 13, 2], [0, 10, 2, 2, 2, 2, 2]]
    assert batch["position_ids"].tolist() == [[[0, 1, 2, 3, 4, 5, 6], [0] * 7], [[0, 1, 2, 0, 0, 0, 0], [0] * 7]]
    assert batch["sep"].tolist() == [7, 3] and batch["labels"].tolist() == [1, 0]


# ---------------------------------------------------------------------------------------------- packed == rows
def _row_triples(batch, b, c):
    """Per scored token of candidate c: (token, position, block position, target, visible (token, pos, block))
    in a candidate row, with the model's sep rule: columns < sep, or at or before the row."""
    ids, pos = batch["input_ids"][b, c].tolist(), batch["position_ids"][b, c].tolist()
    sep, targets = int(batch["sep"][b, c]), batch["target_ids"][b, c].tolist()
    keys = list(zip(ids, pos[0], pos[1]))
    return [
        (ids[t], pos[0][t], pos[1][t], targets[t], [keys[j] for j in range(len(ids)) if j < sep or j <= t])
        for t in range(len(ids)) if batch["loss_mask"][b, c, t]
    ]  # fmt: skip


def _packed_triples(batch, b, c):
    ids, pos = batch["input_ids"][b].tolist(), batch["position_ids"][b].tolist()
    targets, mask = batch["target_ids"][b].tolist(), batch["attention_mask"][b, 0]
    keys = list(zip(ids, pos[0], pos[1]))
    return [
        (ids[t], pos[0][t], pos[1][t], targets[t], [keys[j] for j in range(len(ids)) if mask[t, j]])
        for t in range(len(ids)) if batch["candidate_index"][b, t] == c
    ]  # fmt: skip


def _batches(tokenizer, max_len=64):
    news_pvp = resolve("ag_news").pvp(3, tokenizer, NEWS_LABELS, max_len)
    entity_pvp = resolve("dbpedia_14").pvp(1, tokenizer, ENTITY_LABELS, max_len)
    pairs = [(news_pvp, NEWS[0]), (entity_pvp, ENTITY), (news_pvp, NEWS[1])]
    rows = collate_candidate_rows([encode_candidate_rows(p, e) for p, e in pairs])
    packed = collate_packed([encode_packed(p, e) for p, e in pairs])
    return rows, packed


def test_packed_and_rows_pose_the_same_scoring_problem(tokenizer):
    rows, packed = _batches(tokenizer)
    assert torch.equal(rows["choice_mask"], packed["choice_mask"])
    for b in range(3):
        for c in range(int(rows["choice_mask"][b].sum())):
            row_view = _row_triples(rows, b, c)
            assert row_view, "every candidate scores at least its first token and eop"
            assert row_view == _packed_triples(packed, b, c)


def test_packed_and_rows_agree_after_truncation(tokenizer):
    # A length where the context is cut: both layouts use the context cut once for the longest answer.
    rows, packed = _batches(tokenizer, max_len=20)
    assert rows["input_ids"].shape[-1] <= 20
    for c in range(14):
        assert _row_triples(rows, 1, c) == _packed_triples(packed, 1, c)


# ---------------------------------------------------------------------------------------------- tiny GLM
@pytest.fixture(scope="module")
def tiny_glm():
    torch.manual_seed(0)
    model = GLMModel(GLMConfig(num_layers=2, hidden_size=32, num_attention_heads=4, max_sequence_length=128,
                               embedding_dropout_prob=0.0, attention_dropout_prob=0.0, output_dropout_prob=0.0))  # fmt: skip
    with torch.no_grad():  # larger weights than the init: sharp attention, so a visibility error shows
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    return model.eval()


def _target_logp(model, hidden, scored, targets):
    """log p(target) at the scored positions only: [N]. (Full [.., V] logits for every row would dominate the
    test's time.)"""
    logits = hidden[scored] @ model.word_embeddings.weight.T  # [N, V]
    return logits.log_softmax(-1).gather(-1, targets[scored].unsqueeze(-1)).squeeze(-1)


def _row_scores(model, rows):
    b, c, length = rows["input_ids"].shape
    out = model(rows["input_ids"].view(b * c, length), rows["position_ids"].view(b * c, 2, length),
                sep=rows["sep"].view(-1), output_logits=False)  # fmt: skip
    scored = rows["loss_mask"].view(b * c, length)
    logp = torch.zeros(b * c, length).masked_scatter(scored, _target_logp(model, out.hidden_states, scored, rows["target_ids"].view(b * c, length)))
    return logp.sum(-1).view(b, c)


def _packed_scores(model, packed, attention_mask=None):
    mask = packed["attention_mask"] if attention_mask is None else attention_mask
    out = model(packed["input_ids"], packed["position_ids"], attention_mask=mask, output_logits=False)
    scored = packed["candidate_index"] >= 0
    logp = torch.zeros(scored.shape).masked_scatter(scored, _target_logp(model, out.hidden_states, scored, packed["target_ids"]))
    scores = torch.zeros(packed["choice_mask"].shape)
    return scores.scatter_add(1, packed["candidate_index"].clamp(min=0), logp)  # [B, C]


def test_packed_scores_equal_per_candidate_scores_on_a_tiny_glm(tokenizer, tiny_glm):
    rows, packed = _batches(tokenizer)
    with torch.no_grad():
        per_row, together = _row_scores(tiny_glm, rows), _packed_scores(tiny_glm, packed)
    valid = rows["choice_mask"]
    assert torch.allclose(per_row[valid], together[valid], atol=1e-5, rtol=0)
    # The check can fail: letting the candidate blocks see each other changes the scores.
    leaky = packed["attention_mask"] | ((packed["candidate_index"] >= 0).unsqueeze(-1) & (packed["candidate_index"] >= 0).unsqueeze(1)).unsqueeze(1).tril()
    with torch.no_grad():
        assert (per_row[valid] - _packed_scores(tiny_glm, packed, leaky)[valid]).abs().max() > 1e-3


def test_single_token_score_is_the_first_step_of_the_multi_token_rows(tokenizer, tiny_glm):
    pvp = resolve("ag_news").pvp(0, tokenizer, NEWS_LABELS, 64)
    single = collate_single_token([encode_single_token(pvp, e) for e in NEWS])
    ids_a, ids_b = pvp.encode_parts(NEWS[0], reserve=2)
    rows = build_candidate_rows(ids_a, ids_b, [[v, EOP] for v in pvp.verbalizer_ids], tokenizer, label=2)
    batch = collate_candidate_rows([rows])
    with torch.no_grad():
        out = tiny_glm(single["input_ids"], single["position_ids"], sep=single["sep"])
        at_sop = out.logits[0, single["sep"][0]].log_softmax(-1)[single["verbalizer_ids"][0]]  # [num_labels]
        rows_out = tiny_glm(batch["input_ids"][0], batch["position_ids"][0], sep=batch["sep"][0])
        first = rows_out.logits[:, rows.sep].log_softmax(-1).gather(-1, batch["target_ids"][0, :, rows.sep, None]).squeeze(-1)
    assert torch.allclose(at_sop, first, atol=1e-5, rtol=0)
