"""Decoding: the golden generations of the HF port, cached == recomputed, and the beam scorer's rules."""

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from conftest import GOLDEN
from model.checkpoint import load_glm
from model.decoding import GenerationConfig, generate
from model.glm import GLMConfig, GLMModel
from tasks.seq2seq.layout import seq2seq_attention

INPUTS = load_file(str(GOLDEN / "inputs.safetensors"))
EXPECTED = load_file(str(GOLDEN / "expected.safetensors"))


# ----------------------------------------------------------------------------------------------- golden (case g)
def _golden_prompt():
    """g.gen: padded context + [sop] (15 tokens); the position ids and mask are sized for 8 more slots."""
    ids = INPUTS["g.gen.input_ids"]  # [2, 15]
    p = ids.shape[1]
    return ids, INPUTS["g.gen.position_ids"][:, :, :p], INPUTS["g.gen.generation_attention_mask"][:, :, :p, :p].bool()


@pytest.fixture(scope="module")
def golden_model():
    return load_glm(GOLDEN, gelu="erf").eval()  # the HF port uses the erf GELU


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_reproduces_golden_generation(golden_model, use_cache):
    ids, pos, mask = _golden_prompt()
    want = EXPECTED["g.gen.output_ids"]  # [2, 22]: prompt + 7 generated tokens, no eop reached
    got = generate(golden_model, ids, pos, mask, GenerationConfig(max_length=want.shape[1] - ids.shape[1], use_cache=use_cache))
    assert got == want[:, ids.shape[1]:].tolist()


@pytest.mark.parametrize("use_cache", [True, False])
def test_beam2_reproduces_golden_generation(golden_model, use_cache):
    """transformers' beam search (num_beams=2, length_penalty 1, no early stopping). No hypothesis ends in eop
    here, so its length convention (prompt included) and ours (generated tokens) rank the beams alike."""
    ids, pos, mask = _golden_prompt()
    want = EXPECTED["g.beam2.output_ids"]
    config = GenerationConfig(max_length=want.shape[1] - ids.shape[1], num_beams=2, use_cache=use_cache)
    got = generate(golden_model, ids, pos, mask, config)
    assert got == want[:, ids.shape[1]:].tolist()
    assert got != EXPECTED["g.gen.output_ids"][:, ids.shape[1]:].tolist()  # beam search chose differently from greedy


# ----------------------------------------------------------------------------------------------- cached == recomputed
EOP, VOCAB = 7, 48


def _tiny_model(seed: int) -> GLMModel:
    """Random weights far larger than GLM's init: with N(0, 0.02) a tied-embedding model only repeats its last
    token, while these give varied generations, early eops and well-separated argmaxes."""
    torch.manual_seed(seed)
    cfg = GLMConfig(num_layers=2, hidden_size=32, num_attention_heads=4, vocab_size=VOCAB, max_sequence_length=64,
                    embedding_dropout_prob=0.0, attention_dropout_prob=0.0, output_dropout_prob=0.0)
    model = GLMModel(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layernorm" not in name and not name.endswith("bias"):
                p.normal_(0.0, 0.3 if "embeddings" in name else 1.0)
    return model.eval()


def _prompt(lengths: list[int], original_layout: bool, seed: int = 0):
    """A seq2seq evaluation batch: random sources of `lengths` with a mask id, padded, then [sop]."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths) + (2 if original_layout else 0)
    b = len(lengths)
    ids = torch.full((b, width + 1), 2)
    pos = torch.zeros(b, 2, width + 1, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(8, VOCAB, (n,), generator=gen)
        mask_pos = int(torch.randint(1, n, (1,), generator=gen))
        ids[row, mask_pos] = 5  # the mask id of this toy vocabulary
        pos[row, 0, :n] = torch.arange(n)
        pos[row, 0, width] = mask_pos
    ids[:, width] = 6  # sop
    pos[:, 1, width] = 1
    mask = seq2seq_attention(torch.tensor(lengths), width, width + 1, original_layout)
    return ids, pos, mask


@pytest.mark.parametrize("original_layout", [False, True])
@pytest.mark.parametrize(
    "settings",
    [
        dict(num_beams=1),
        dict(num_beams=1, min_length=3, no_repeat_ngram_size=2),
        dict(num_beams=3, length_penalty=0.7, min_length=1),
        dict(num_beams=4, length_penalty=1.0, min_length=2, no_repeat_ngram_size=3),
    ],
    ids=["greedy", "greedy-constrained", "beam3", "beam4-constrained"],
)
def test_cached_equals_recomputed(settings, original_layout):
    model = _tiny_model(seed=4)
    ids, pos, mask = _prompt([5, 9, 7, 4], original_layout)
    outputs = {}
    # cached with the prompt once per prompt (the default), cached with a copy per beam, recomputed
    for use_cache, share in ((True, True), (True, False), (False, True)):
        config = GenerationConfig(max_length=12, eop_id=EOP, use_cache=use_cache, share_prompt_cache=share, **settings)
        outputs[use_cache, share] = generate(model, ids, pos, mask, config)
    assert outputs[True, True] == outputs[True, False] == outputs[False, True]
    assert len({tuple(o) for o in outputs[True, True]}) > 1  # the rows really differ


def test_some_tiny_model_generations_end_in_eop():
    """So the equivalence above covers finished hypotheses, not only max-length ones."""
    model = _tiny_model(seed=4)
    ids, pos, mask = _prompt([5, 9, 7, 4], False)
    for beams in (1, 3):
        out = generate(model, ids, pos, mask, GenerationConfig(max_length=12, eop_id=EOP, num_beams=beams))
        assert any(len(o) < 12 for o in out), beams


def test_padding_excluded_layout_does_not_depend_on_batch_padding():
    model = _tiny_model(seed=4)
    ids, pos, mask = _prompt([5, 9], False)
    together = generate(model, ids, pos, mask, GenerationConfig(max_length=8, eop_id=EOP, num_beams=2))
    alone_ids = torch.cat([ids[:1, :5], ids[:1, -1:]], dim=1)  # the first row without its 4 padding tokens
    alone_pos = torch.cat([pos[:1, :, :5], pos[:1, :, -1:]], dim=2)
    alone_mask = seq2seq_attention(torch.tensor([5]), 5, 6, False)
    alone = generate(model, alone_ids, alone_pos, alone_mask, GenerationConfig(max_length=8, eop_id=EOP, num_beams=2))
    assert together[0] == alone[0]


def test_training_mode_is_refused():
    model = _tiny_model(seed=4).train()
    ids, pos, mask = _prompt([5], False)
    with pytest.raises(ValueError, match="model.eval"):
        generate(model, ids, pos, mask, GenerationConfig(max_length=2))


# ----------------------------------------------------------------------------------------------- scorer rules
SOP, A, B, C, END = 0, 1, 2, 3, 4
# Next-token probabilities of a bigram model (rows: the last token). No two candidates ever tie.
BIGRAM = torch.tensor([
    #  sop    A      B      C      eop
    [0.00, 0.50, 0.40, 0.05, 0.05],  # after sop
    [0.00, 0.15, 0.20, 0.40, 0.25],  # after A
    [0.00, 0.06, 0.05, 0.04, 0.85],  # after B
    [0.00, 0.015, 0.01, 0.005, 0.97],  # after C
    [0.00, 0.25, 0.25, 0.25, 0.25],  # after eop (fed only to finished rows)
]).clamp_min(1e-6).log()


class BigramLM(nn.Module):
    """A stand-in with the GLMModel call signature whose next token depends only on the last one; the identity
    output projection turns its 'hidden states' (log-probabilities) into logits."""

    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding.from_pretrained(torch.eye(5))

    def forward(self, input_ids, position_ids, *, attention_mask, past_key_values=None, use_cache=False,
                output_logits=True):
        dummy = torch.zeros(input_ids.shape[0], 1, 1, 1)  # [B, heads, M, D]: something for reorder_cache to move
        return SimpleNamespace(hidden_states=BIGRAM[input_ids], past_key_values=[(dummy, dummy)] if use_cache else None)


def _bigram(config: GenerationConfig, last_tokens=(SOP,)) -> list[list[int]]:
    ids = torch.tensor([[t] for t in last_tokens])
    pos = torch.zeros(len(last_tokens), 2, 1, dtype=torch.long)
    mask = torch.ones(len(last_tokens), 1, 1, 1, dtype=torch.bool)
    return generate(BigramLM().eval(), ids, pos, mask, config)


def test_length_penalty_decides_between_short_and_long_hypotheses():
    # Finished: [B] with log(.4 * .85) = -1.079 (1 token); [A, C] with log(.5 * .4 * .97) = -1.640 (2 tokens).
    # Greedy follows A (0.5) then C (0.4).
    assert _bigram(GenerationConfig(max_length=5, eop_id=END, pad_id=SOP)) == [[A, C]]
    # length_penalty 1: -1.079 / 1 < -1.640 / 2 = -0.820, so [A, C] wins.
    assert _bigram(GenerationConfig(max_length=5, eop_id=END, pad_id=SOP, num_beams=2, length_penalty=1.0)) == [[A, C]]
    # length_penalty 0: plain sums, -1.079 > -1.640, so the short [B] wins: greedy never sees it.
    assert _bigram(GenerationConfig(max_length=5, eop_id=END, pad_id=SOP, num_beams=2, length_penalty=0.0)) == [[B]]


def test_min_length_forbids_eop():
    # After A C the eop (0.97) is forbidden until 3 tokens exist: A (0.015) follows, then C, then eop.
    assert _bigram(GenerationConfig(max_length=6, eop_id=END, pad_id=SOP, min_length=3)) == [[A, C, A, C]]
    for out in _bigram(GenerationConfig(max_length=6, eop_id=END, pad_id=SOP, min_length=3, num_beams=3)):
        assert len(out) >= 3


def test_no_repeat_ngram_blocks_a_repeated_bigram():
    # As above, but the bigram (A, C) may not occur twice: after A C A the best allowed token is eop (0.25).
    config = GenerationConfig(max_length=6, eop_id=END, pad_id=SOP, min_length=3, no_repeat_ngram_size=2)
    assert _bigram(config) == [[A, C, A]]


def test_max_length_cuts_generation():
    assert _bigram(GenerationConfig(max_length=1, eop_id=END, pad_id=SOP)) == [[A]]
    assert _bigram(GenerationConfig(max_length=1, eop_id=END, pad_id=SOP, num_beams=2)) == [[A]]


def test_batch_rows_are_independent_when_one_finishes_first():
    # The row starting after B finishes at once (eop 0.85) while the other row keeps searching.
    config = GenerationConfig(max_length=5, eop_id=END, pad_id=SOP, num_beams=2, length_penalty=1.0)
    together = _bigram(config, last_tokens=(SOP, B))
    assert together == [_bigram(config, (SOP,))[0], _bigram(config, (B,))[0]]
    assert together[1] == []
