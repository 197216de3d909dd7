"""PEFT methods are equivalences first: an untrained LoRA is the base model, a merged LoRA the unmerged one,
P-tuning v2 cached beam search the recomputed one, continuous prompts land where the pattern puts them; and
training moves only the method's own parameters."""

import copy

import pytest
import torch

from model.decoding import GenerationConfig, generate
from model.glm import GLMConfig, GLMModel
from model.heads import SingleTokenClozeHead, cloze_loss
from model.peft import ContinuousPromptConfig, LoraConfig, PrefixConfig, apply_peft, trainable_state
from model.peft.lora import load_peft_adapter, lora_layers, merge_lora, save_peft_adapter
from tasks.base import InputExample
from tasks.superglue.pvps import RtePVP
from test_decoding import EOP, _prompt, _tiny_model

CFG = GLMConfig(num_layers=2, hidden_size=32, num_attention_heads=4, vocab_size=96, max_sequence_length=64,
                embedding_dropout_prob=0.0, attention_dropout_prob=0.0, output_dropout_prob=0.0)


def _inputs(batch: int = 3, length: int = 9):
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 90, (batch, length), generator=gen)
    pos = torch.stack([torch.arange(length).expand(batch, length), torch.zeros(batch, length, dtype=torch.long)], dim=1)
    return ids, pos, torch.tensor([4, 6, 9][:batch])


def _cloze_batch(batch: int = 8, length: int = 10):
    ids = torch.randint(3, 90, (batch, length), generator=torch.Generator().manual_seed(2))
    ids[:, -1] = 95
    pos = torch.stack([torch.arange(length).expand(batch, length), torch.zeros(batch, length, dtype=torch.long)], dim=1)
    return {"input_ids": ids, "position_ids": pos, "sep": torch.full((batch,), length - 1),
            "verbalizer_ids": torch.tensor([[10, 11, 12, 13]]).expand(batch, 4), "labels": torch.arange(batch) % 4}


def _trained_model(model: torch.nn.Module, steps: int = 3, lr: float = 1e-2) -> torch.nn.Module:
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    batch, head = _cloze_batch(), SingleTokenClozeHead()
    for _ in range(steps):
        cloze_loss(head(model, batch), batch["labels"]).backward()
        opt.step()
        opt.zero_grad()
    return model


# ---------------------------------------------------------------------------------------------- LoRA
@torch.no_grad()
def test_untrained_lora_equals_the_base_model():
    torch.manual_seed(0)
    base = GLMModel(CFG).eval()
    ids, pos, sep = _inputs()
    want = base(ids, pos, sep=sep).logits
    lora = apply_peft(copy.deepcopy(base), LoraConfig(rank=4, alpha=8)).eval()
    assert len(lora_layers(lora)) == 4 * CFG.num_layers  # qkv, dense, h->4h, 4h->h in every layer
    assert torch.equal(lora(ids, pos, sep=sep).logits, want)  # B = 0: exactly the base model


def test_only_lora_parameters_train_and_merging_keeps_the_function():
    torch.manual_seed(0)
    base = GLMModel(CFG)
    with torch.no_grad():
        base.word_embeddings.weight[10:14].normal_(0.0, 1.0)
    frozen = {k: v.clone() for k, v in base.state_dict().items()}
    model = apply_peft(copy.deepcopy(base), LoraConfig(rank=4, alpha=8, targets=("query_key_value", "dense_4h_to_h")))
    trainable = list(trainable_state(model))
    assert trainable and all(".lora_" in n for n in trainable)
    assert len(trainable) == 2 * 2 * CFG.num_layers  # A and B of two projections per layer
    _trained_model(model)
    for name, p in model.named_parameters():  # the backbone is bit-identical; the updates moved
        key = name.replace(".base_layer", "")
        if ".lora_" not in name:
            assert torch.equal(p, frozen[key]), name
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)

    model.eval()
    ids, pos, sep = _inputs()
    with torch.no_grad():
        unmerged = model(ids, pos, sep=sep).logits
        assert not torch.allclose(unmerged, base.eval()(ids, pos, sep=sep).logits, atol=1e-4)  # LoRA did something
        merged = merge_lora(model)
        assert set(merged.state_dict()) == set(frozen)  # the released keys again: an ordinary checkpoint
        torch.testing.assert_close(merged(ids, pos, sep=sep).logits, unmerged, atol=1e-5, rtol=1e-5)


def test_lora_adapter_round_trips_in_peft_format(tmp_path):
    torch.manual_seed(0)
    base = GLMModel(CFG)
    trained = _trained_model(apply_peft(copy.deepcopy(base), LoraConfig(rank=2, alpha=4)), steps=2).eval()
    save_peft_adapter(trained, tmp_path / "adapter")
    assert {p.name for p in (tmp_path / "adapter").iterdir()} == {"adapter_model.safetensors", "adapter_config.json"}
    fresh = apply_peft(copy.deepcopy(base), LoraConfig(rank=2, alpha=4)).eval()
    load_peft_adapter(fresh, tmp_path / "adapter")
    ids, pos, sep = _inputs()
    with torch.no_grad():
        assert torch.equal(fresh(ids, pos, sep=sep).logits, trained(ids, pos, sep=sep).logits)


def test_lora_rejects_unknown_targets():
    with pytest.raises(ValueError, match="not GLM projections"):
        apply_peft(GLMModel(CFG), LoraConfig(targets=("q_proj",)))


# ---------------------------------------------------------------------------------------------- P-tuning v2 decoding
@pytest.mark.parametrize("num_beams", [1, 3])
def test_prefix_tuned_cached_decoding_equals_recomputed(num_beams):
    """The prefix is part of every step's keys/values: cached beam search sees it as recomputation does."""
    backbone = _tiny_model(seed=4)
    model = apply_peft(backbone, PrefixConfig(length=5)).eval()
    with torch.no_grad():
        model.prefix.embedding.weight.normal_(0.0, 1.0)  # a prefix large enough to change the generations
    ids, pos, mask = _prompt([5, 9, 7, 4], original_layout=False)
    out = {c: generate(model, ids, pos, mask, GenerationConfig(max_length=10, eop_id=EOP, num_beams=num_beams, use_cache=c))
           for c in (True, False)}
    assert out[True] == out[False]
    plain = generate(backbone, ids, pos, mask, GenerationConfig(max_length=10, eop_id=EOP, num_beams=num_beams))
    assert plain != out[True]  # the prefix is really read


# ---------------------------------------------------------------------------------------------- continuous prompts
def test_continuous_prompt_slots_land_where_the_pattern_puts_them(tokenizer):
    """RTE pattern 0 is [None, '"', h*, '" ?'] || [None, [MASK], ',', None, ' "', p*, '"'] (THUDM/GLM's slots):
    with 4 prompt tokens over 3 slots they get 2, 2 and 0 (ceil(4/3) each, left to right), plus 2 after [CLS]."""
    example = InputExample("e", "The cat sat.", "A cat sat.", label="entailment")
    plain = RtePVP(tokenizer, ["entailment", "not_entailment"], 128, pattern_id=0)
    prompted = RtePVP(tokenizer, ["entailment", "not_entailment"], 128, pattern_id=0)
    ph = len(tokenizer)
    prompted.use_continuous_prompt(4, 2, ph)
    a, b = prompted.encode_parts(example, reserve=1)
    enc = tokenizer.encode
    want_a = [ph, ph] + [ph, ph] + enc('"') + enc("A cat sat") + enc('" ?')
    want_b = [ph, ph] + [tokenizer.mask_id] + enc(",") + [] + enc(' "') + enc("The cat sat.") + enc('"')
    assert (a, b) == (want_a, want_b)
    off_a, off_b = plain.encode_parts(example, reserve=1)  # without prompts the slots vanish
    assert (off_a, off_b) == ([t for t in a if t != ph], [t for t in b if t != ph])


def test_a_pattern_without_slots_refuses_pattern_prompt_tokens(tokenizer):
    from tasks.classification.ag_news import AgNewsPVP

    pvp = AgNewsPVP(tokenizer, ["World", "Sports", "Business", "Sci/Tech"], 64, pattern_id=0)
    pvp.use_continuous_prompt(3, 0, len(tokenizer))
    with pytest.raises(ValueError, match="no continuous-prompt slots.*--prefix-prompt"):
        pvp.encode_parts(InputExample("e", "Some news."), reserve=1)


@pytest.mark.parametrize("func", ["lstm", "mlp", "none"])
def test_prompt_vectors_replace_the_placeholders_and_only_they_train_when_frozen(func):
    torch.manual_seed(0)
    base = GLMModel(CFG)
    frozen = {k: v.clone() for k, v in base.state_dict().items()}
    model = apply_peft(base, ContinuousPromptConfig(prefix_prompt=3, func=func, freeze_transformer=True, placeholder_id=94))
    ids, pos, sep = _inputs(batch=2)
    ids[:, 1:4] = 94
    model.eval()
    with torch.no_grad():
        embeds = base.word_embeddings(ids.masked_fill(ids == 94, 0))
        embeds[:, 1:4] = model.prompt()
        want = base(ids, pos, sep=sep, inputs_embeds=embeds).logits
        torch.testing.assert_close(model(ids, pos, sep=sep).logits, want, atol=0, rtol=0)
        bad = ids.clone()
        bad[0, 5] = 94
        with pytest.raises(ValueError, match="prompt placeholders"):
            model(bad, pos, sep=sep)
    model.train()
    assert all(n.startswith("prompt.") for n in trainable_state(model))
    before = {k: v.clone() for k, v in trainable_state(model).items()}
    batch = _cloze_batch()
    batch["input_ids"][:, 1:4] = 94
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    cloze_loss(SingleTokenClozeHead()(model, batch), batch["labels"]).backward()
    opt.step()
    assert all(torch.equal(frozen[k], v) for k, v in base.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in trainable_state(model).items())


def test_ptuning_v1_trains_the_backbone_too():
    model = apply_peft(GLMModel(CFG), ContinuousPromptConfig(prefix_prompt=2, func="mlp", placeholder_id=95))
    names = list(trainable_state(model))
    assert any(n.startswith("prompt.") for n in names) and any(n.startswith("backbone.") for n in names)
