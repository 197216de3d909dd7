"""GLM model behaviour beyond the goldens: activation checkpointing, autocast, dropout, masks, cache."""

import pytest
import torch

from model.glm import BeamKVCache, GLMConfig, GLMModel, PrefixProvider, StaticKVCache, build_attention_mask, reorder_cache

CFG = GLMConfig(num_layers=3, hidden_size=32, num_attention_heads=4, vocab_size=128, max_sequence_length=32)


def tiny(seed=0, **kw) -> GLMModel:
    torch.manual_seed(seed)
    return GLMModel(GLMConfig(**{**CFG.__dict__, **kw}))


def batch(seed=1, b=3, n=12):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 128, (b, n), generator=g)
    pos = torch.stack([torch.arange(n).expand(b, n), torch.zeros(b, n, dtype=torch.long)], dim=1)
    return ids, pos


MASK_KINDS = {
    "sep": lambda b, n: {"sep": torch.tensor([0, 5, n])},
    "explicit": lambda b, n: {"attention_mask": torch.rand(b, 1, n, n, generator=torch.Generator().manual_seed(3)) > 0.3},
    "padding": lambda b, n: {"padding_mask": torch.arange(n).expand(b, n) < torch.tensor([[n], [7], [4]])},
    "sep+padding": lambda b, n: {"sep": torch.tensor([2, 5, 3]), "padding_mask": torch.arange(n).expand(b, n) < 9},
}


@pytest.mark.parametrize("kind", list(MASK_KINDS))
def test_activation_checkpointing_same_gradients(kind):
    """Recomputing layers in backward gives the same loss and gradients, with every kind of mask."""
    ids, pos = batch()
    masks = MASK_KINDS[kind](3, 12)
    grads = []
    for ckpt in (False, True):
        model = tiny(checkpoint_activations=ckpt).train()  # same seed: same init and dropout draws
        loss = model(ids, pos, **masks).logits.logsumexp(-1).mean()
        loss.backward()
        grads.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (l0, g0), (l1, g1) = grads
    assert torch.equal(l0, l1)
    for name in g0:
        torch.testing.assert_close(g0[name], g1[name], atol=1e-7, rtol=1e-6, msg=name)


def test_checkpointing_with_dropout_same_gradients():
    """With dropout on, the recomputation must replay the same dropout masks (RNG state is preserved)."""
    ids, pos = batch()
    out = []
    for ckpt in (False, True):
        model = tiny(checkpoint_activations=ckpt).train()
        torch.manual_seed(7)
        loss = model(ids, pos, sep=torch.tensor([3, 4, 5])).logits.square().mean()
        loss.backward()
        out.append(model.transformer.layers[0].attention.query_key_value.weight.grad.clone())
    torch.testing.assert_close(out[0], out[1], atol=1e-7, rtol=1e-6)


def test_dropout_only_in_training():
    model = tiny(embedding_dropout_prob=0.5, attention_dropout_prob=0.5, output_dropout_prob=0.5)
    ids, pos = batch()
    model.eval()
    assert torch.equal(model(ids, pos).logits, model(ids, pos).logits)
    model.train()
    assert not torch.equal(model(ids, pos).logits, model(ids, pos).logits)


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5, 0.9, 0.99999])
def test_keep_mask_keeps_each_position_with_probability_one_minus_p(p):
    """The CPU dropout mask: every one of the four 16-bit slices of a random word (the top one has 15 random bits)
    keeps with probability 1 - p; 1e6 draws per slice, so 5 standard deviations are under 0.0025."""
    from model.glm import keep_mask

    torch.manual_seed(0)
    mask = keep_mask(torch.Size([1000, 4001]), p, torch.device("cpu"))  # 4,001,000: not a multiple of 4
    assert mask.shape == (1000, 4001) and mask.dtype == torch.bool
    flat = mask.view(-1).float()
    for slot in range(4):
        assert abs(1 - flat[slot::4].mean().item() - p) < 0.0025, slot
    # neighbouring positions are independent: P(both kept) = (1 - p)^2
    both = (flat[:-1] * flat[1:]).mean().item()
    assert abs(both - (1 - p) ** 2) < 0.0025


def test_inverted_dropout_scales_kept_entries_and_its_gradient_follows_the_mask():
    from model.glm import inverted_dropout

    torch.manual_seed(0)
    x = torch.randn(64, 257, requires_grad=True)
    torch.manual_seed(1)
    y = inverted_dropout(x, 0.25)
    kept = y != 0
    assert 0.7 < kept.float().mean().item() < 0.8
    torch.testing.assert_close(y[kept], x[kept] / 0.75, rtol=1e-6, atol=0)
    g = torch.randn_like(y)
    y.backward(g)
    torch.testing.assert_close(x.grad, torch.where(kept, g / 0.75, torch.zeros_like(g)), rtol=1e-6, atol=0)
    # seeded: the same draws; eval, p = 0 and p = 1 behave as F.dropout
    torch.manual_seed(1)
    assert torch.equal(inverted_dropout(x.detach(), 0.25), y.detach())
    assert torch.equal(inverted_dropout(x, 0.25, training=False), x)
    assert torch.equal(inverted_dropout(x, 0.0), x)
    assert torch.equal(inverted_dropout(x, 1.0), torch.zeros_like(x))
    # unbiased: E[dropout(x)] = x
    ones = torch.ones(2_000_000)
    assert abs(inverted_dropout(ones, 0.1).mean().item() - 1.0) < 0.002


def test_inverted_dropout_on_bf16_tensors_keeps_the_dtype():
    from model.glm import Dropout

    layer = Dropout(0.1).train()
    x = torch.randn(8, 32, dtype=torch.bfloat16, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == torch.bfloat16 and x.grad.dtype == torch.bfloat16
    assert torch.equal(x.grad != 0, y != 0)  # randn has no exact zeros: the gradient's zeros are the dropped


def test_attention_dropout_on_cpu_is_the_reference_formulation_with_its_mask():
    """SDPA has no fused CPU kernel with dropout; the model's kernel then runs the reference formulation, whose
    dropout is `inverted_dropout` (same seed, same output and gradients)."""
    from model.glm import naive_attention, sdpa_attention

    q, k, v = (torch.randn(2, 4, 9, 8, requires_grad=True) for _ in range(3))
    mask = torch.ones(9, 9, dtype=torch.bool).tril().view(1, 1, 9, 9)
    outs = []
    for kernel in (sdpa_attention, naive_attention):
        torch.manual_seed(3)
        out = kernel(q, k, v, mask, 0.3)
        grads = torch.autograd.grad(out.square().sum(), (q, k, v))
        outs.append((out, grads))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=0, atol=0)
    for a, b in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.manual_seed(3)  # and it is dropout: another seed, another output
    assert not torch.equal(sdpa_attention(q, k, v, mask, 0.3), sdpa_attention(q, k, v, mask, 0.3))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_close_to_fp32(dtype):
    model = tiny().eval()
    ids, pos = batch()
    with torch.no_grad():
        ref = model(ids, pos, sep=torch.tensor([0, 5, 12])).logits
        with torch.autocast("cpu", dtype=dtype):
            low = model(ids, pos, sep=torch.tensor([0, 5, 12])).logits
    assert low.dtype == dtype
    assert (low.float() - ref).abs().max() < 0.05 * ref.abs().max() + 1e-3


def test_part_a_is_bidirectional_part_b_causal():
    """Changing a token after `sep` must not change outputs before it; inside Part A everything sees everything."""
    model = tiny().eval()
    ids, pos = batch(b=1)
    changed = ids.clone()
    changed[0, 9] = (ids[0, 9] + 1) % 128
    with torch.no_grad():
        a = model(ids, pos, sep=6).hidden_states
        b = model(changed, pos, sep=6).hidden_states
    assert torch.equal(a[0, :9], b[0, :9])  # rows 0..8 do not see column 9
    assert not torch.equal(a[0, 9:], b[0, 9:])
    changed_a = ids.clone()
    changed_a[0, 5] = (ids[0, 5] + 1) % 128
    with torch.no_grad():
        c = model(changed_a, pos, sep=6).hidden_states
    assert not torch.equal(a[0, 0], c[0, 0])  # row 0 sees column 5: bidirectional Part A


def test_mask_builder_shapes_and_memory_columns():
    m = build_attention_mask(2, 3, 4, torch.device("cpu"), sep=torch.tensor([0, 2]))
    assert m.shape == (2, 1, 3, 7)
    assert m[:, :, :, :4].all()  # memory always visible
    assert m[0, 0, :, 4:].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert m[1, 0, :, 4:].tolist() == [[True, True, False], [True, True, False], [True, True, True]]
    with pytest.raises(ValueError, match="padding_mask covers"):
        build_attention_mask(2, 3, 0, torch.device("cpu"), padding_mask=torch.ones(2, 5, dtype=torch.bool))


def test_cache_reorder_and_incremental_equal_full():
    model = tiny().eval()
    ids, pos = batch(n=10)
    with torch.no_grad():
        full = model(ids, pos, sep=torch.tensor([4, 4, 4])).logits
        first = model(ids[:, :4], pos[:, :, :4], sep=4, use_cache=True)
        cache, steps = first.past_key_values, []
        for t in range(4, 10):
            o = model(ids[:, t : t + 1], pos[:, :, t : t + 1], use_cache=True, past_key_values=cache)
            cache = o.past_key_values
            steps.append(o.logits)
    torch.testing.assert_close(torch.cat(steps, 1), full[:, 4:], atol=1e-5, rtol=0)
    swapped = reorder_cache(cache, torch.tensor([2, 0]))
    assert torch.equal(swapped[1][0][0], cache[1][0][2]) and swapped[0][1].shape[0] == 2


def test_static_cache_equals_growing_cache_through_steps_and_reorders():
    """The preallocated cache (written in place) gives the same logits as the list cache that grows by
    concatenation, across single steps, a multi-token step and beam-style reorders; it stays one object."""
    model = tiny().eval()
    ids, pos = batch(n=12)
    with torch.no_grad():
        first = model(ids[:, :4], pos[:, :, :4], sep=4, use_cache=True)
        grown = first.past_key_values
        static = StaticKVCache(first.past_key_values, capacity=12)
        chunks = [(4, 5), (5, 7), (7, 8), (8, 12)]
        orders = [torch.tensor([2, 0, 1]), torch.tensor([0, 0, 2]), torch.tensor([1, 2, 0]), None]
        for (a, b), order in zip(chunks, orders):
            ref = model(ids[:, a:b], pos[:, :, a:b], use_cache=True, past_key_values=grown)
            out = model(ids[:, a:b], pos[:, :, a:b], use_cache=True, past_key_values=static)
            assert out.past_key_values is static and static.length == b
            torch.testing.assert_close(out.logits, ref.logits, atol=1e-5, rtol=0)
            grown = ref.past_key_values
            if order is not None:
                grown, static = reorder_cache(grown, order), reorder_cache(static, order)
                ids, pos = ids[order], pos[order]
        for layer in range(len(grown)):
            assert torch.equal(static[layer][0], grown[layer][0]) and torch.equal(static[layer][1], grown[layer][1])


def test_static_cache_refuses_overflow_training_and_a_new_batch_size():
    model = tiny().eval()
    ids, pos = batch(n=6)
    with torch.no_grad():
        static = StaticKVCache(model(ids[:, :4], pos[:, :, :4], sep=4, use_cache=True).past_key_values, capacity=5)
        model(ids[:, 4:5], pos[:, :, 4:5], past_key_values=static, use_cache=True)
        with pytest.raises(ValueError, match="holds 5 positions; 6 were asked for"):
            model(ids[:, 5:6], pos[:, :, 5:6], past_key_values=static, use_cache=True)
    with pytest.raises(ValueError, match="keeps its batch size 3"):
        static.reorder(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="is for inference"):
        model.train()(ids[:, 5:6], pos[:, :, 5:6], past_key_values=static)


class _RandomPrefix(PrefixProvider):
    """Fixed random prefix keys/values for every layer (what P-tuning v2 provides)."""

    def __init__(self, length=3):
        g = torch.Generator().manual_seed(7)
        self.length = length
        self.kv = [(torch.randn(1, 4, length, 8, generator=g), torch.randn(1, 4, length, 8, generator=g)) for _ in range(3)]

    def key_values(self, batch):
        return [(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in self.kv]


@pytest.mark.parametrize("with_prefix", [False, True], ids=["plain", "prefix"])
def test_beam_cache_equals_per_beam_static_cache_through_steps_and_reorders(with_prefix):
    """The beam cache (prompt positions once per prompt, generated ones per beam) gives the logits of a static
    cache holding the prompt once per beam: single and multi-token steps, prompt columns hidden for one prompt,
    reorders within each prompt's beams, a P-tuning prefix in front."""
    model = tiny().eval()
    prompts, beams, p = 2, 3, 5
    ids, pos = batch(b=prompts, n=p)
    prompt_mask = torch.ones(prompts, 1, p, p, dtype=torch.bool)
    prompt_mask[1, :, :, 1] = False  # prompt 1's column 1 is padding: no row may read it
    prefix = _RandomPrefix() if with_prefix else None
    expand = torch.arange(prompts).repeat_interleave(beams)
    rows = prompts * beams
    with torch.no_grad():
        first = model(ids, pos, attention_mask=prompt_mask, use_cache=True, prefix=prefix)
        per_beam = StaticKVCache(reorder_cache(first.past_key_values, expand), capacity=p + 6)
        shared = BeamKVCache(first.past_key_values, beams, capacity=6)
        visible = prompt_mask[expand, 0, -1]  # [R, P]: what the last prompt row reads
        g = torch.Generator().manual_seed(5)
        orders = [torch.tensor([2, 0, 1, 3, 3, 5]), torch.tensor([0, 0, 0, 4, 5, 3]), None, torch.tensor([1, 2, 0, 5, 4, 3])]
        fed = 0
        for width, order in zip([1, 2, 1, 2], orders):
            tokens = torch.randint(0, 128, (rows, width), generator=g)
            positions = torch.stack([torch.full((rows, width), p), torch.arange(fed + 1, fed + 1 + width).expand(rows, width)], 1)
            causal = torch.ones(width, fed + width, dtype=torch.bool).tril(fed)  # [L, T]
            mask = torch.cat([visible[:, None, None, :].expand(rows, 1, width, p), causal.expand(rows, 1, width, fed + width)], -1)
            ref = model(tokens, positions, attention_mask=mask, past_key_values=per_beam, use_cache=True, prefix=prefix)
            out = model(tokens, positions, attention_mask=mask, past_key_values=shared, use_cache=True, prefix=prefix)
            assert out.past_key_values is shared and shared.length == per_beam.length == p + fed + width
            torch.testing.assert_close(out.logits, ref.logits, atol=1e-5, rtol=1e-5)
            fed += width
            if order is not None:
                per_beam, shared = reorder_cache(per_beam, order), reorder_cache(shared, order)
    # the generated positions moved with their beams as the per-beam copies did: layer 0's keys depend on the
    # fed tokens alone (bit-equal); later layers' went through attention computed the other way
    assert torch.equal(shared.generated[0][0], per_beam[0][0][:, :, p:])
    for layer in (1, 2):
        torch.testing.assert_close(shared.generated[layer][1], per_beam[layer][1][:, :, p:], atol=1e-5, rtol=1e-5)


def test_beam_cache_refuses_rows_of_another_prompt_overflow_and_training():
    model = tiny().eval()
    ids, pos = batch(b=2, n=4)
    with torch.no_grad():
        shared = BeamKVCache(model(ids, pos, sep=4, use_cache=True).past_key_values, beams=2, capacity=1)
        with pytest.raises(ValueError, match="within their prompt"):
            shared.reorder(torch.tensor([0, 2, 2, 3]))  # row 2 is prompt 1's beam
        with pytest.raises(ValueError, match="within their prompt"):
            shared.reorder(torch.tensor([0, 1]))
        step = torch.zeros(4, 1, dtype=torch.long), torch.zeros(4, 2, 1, dtype=torch.long)
        model(*step, attention_mask=torch.ones(4, 1, 1, 5, dtype=torch.bool), past_key_values=shared, use_cache=True)
        with pytest.raises(ValueError, match="holds 1 positions; 2 were asked for"):
            model(*step, attention_mask=torch.ones(4, 1, 1, 6, dtype=torch.bool), past_key_values=shared, use_cache=True)
    with pytest.raises(ValueError, match="BeamKVCache is for inference"):
        model.train()(*step, past_key_values=shared)


def test_bad_position_ids_shape():
    model = tiny()
    with pytest.raises(ValueError, match=r"\[B, 2, L\]"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))


def test_sdpa_equals_naive_reference(monkeypatch):
    """The fused kernel and the original -65504 masked softmax agree on every row that attends to something."""
    from model.glm import SelfAttention, naive_attention

    model = tiny().eval()
    ids, pos = batch()
    masks = MASK_KINDS["explicit"](3, 12)
    with torch.no_grad():
        fused = model(ids, pos, **masks).hidden_states
        monkeypatch.setattr(SelfAttention, "kernel", staticmethod(naive_attention))
        naive = model(ids, pos, **masks).hidden_states
    real = masks["attention_mask"][:, 0].any(-1)
    torch.testing.assert_close(fused[real], naive[real], atol=1e-5, rtol=0)


def test_gelu_tanh_forward_is_the_original_formula_bit_for_bit_and_its_gradient_matches_autograd():
    from model.glm import gelu_tanh, gelu_tanh_reference

    x = torch.cat([torch.randn(4096) * 3, torch.tensor([0.0, -0.0, 1e-8, -30.0, 30.0, 2.7, -2.7])]).requires_grad_()
    ref_x = x.detach().clone().requires_grad_()
    out, ref = gelu_tanh(x), gelu_tanh_reference(ref_x)
    assert torch.equal(out, ref)  # the forward changes nothing the goldens saw
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, ref_x.grad, rtol=1e-5, atol=1e-5)  # grads up to ~4; saturated tails differ ~2e-6
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):  # under autocast it runs in its input's dtype, like the formula
        h = torch.randn(8, 16).to(torch.bfloat16).requires_grad_()
        assert torch.equal(gelu_tanh(h), gelu_tanh_reference(h.detach()))
        gelu_tanh(h).sum().backward()
    assert h.grad.dtype == torch.bfloat16
