"""Checkpoint layouts: HF (safetensors / .bin, prefixed keys) and original GLM; round trips; clear errors."""

import json

import pytest
import torch

from conftest import GOLDEN
from model.checkpoint import CheckpointError, load_glm, read_state_dict, save_hf
from scripts.make_tiny_checkpoint import make_tiny_checkpoint


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def golden_model():
    return load_glm(GOLDEN, gelu="erf")


def test_golden_loads_with_released_key_names(golden_model):
    sd, cfg = read_state_dict(GOLDEN)
    assert set(sd) == set(golden_model.state_dict())  # exactly the 29 released keys, no prefix
    assert len(sd) == 29 and cfg["num_layers"] == 2


def test_save_load_bit_exact(tmp_path, golden_model):
    save_hf(golden_model, tmp_path / "m")
    again = load_glm(tmp_path / "m")
    assert same_weights(golden_model, again)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["num_layers"] == 2 and cfg["hidden_size"] == 64 and cfg["model_type"] == "glm"
    assert again.config.gelu == "erf"  # the activation choice travels with the checkpoint


@pytest.mark.parametrize("prefix", ["", "glm.", "model.", "module."])
def test_pytorch_bin_with_prefixes(tmp_path, golden_model, prefix):
    (tmp_path / "config.json").write_text((GOLDEN / "config.json").read_text())
    torch.save({prefix + k: v for k, v in golden_model.state_dict().items()}, tmp_path / "pytorch_model.bin")
    assert same_weights(golden_model, load_glm(tmp_path, gelu="erf"))


def write_original(root, sd, tag="release"):
    root.mkdir(parents=True, exist_ok=True)
    (root / "latest_checkpointed_iteration.txt").write_text(tag)
    (root / tag).mkdir(parents=True)
    torch.save({"module": sd, "iteration": 0}, root / tag / "mp_rank_00_model_states.pt")


def test_original_layout_to_hf_bit_exact(tmp_path, golden_model):
    write_original(tmp_path / "orig", golden_model.state_dict())
    # The original layout has no config: shapes give it; heads = hidden / 64 unless told.
    orig = load_glm(tmp_path / "orig", gelu="erf", num_attention_heads=4)
    assert orig.config.num_layers == 2 and orig.config.max_sequence_length == 64
    assert same_weights(golden_model, orig)
    save_hf(orig, tmp_path / "hf")
    assert same_weights(golden_model, load_glm(tmp_path / "hf"))
    # upstream's fallback: the <parent>/<tag> directory itself
    assert same_weights(golden_model, load_glm(tmp_path / "orig" / "release", gelu="erf", num_attention_heads=4))


def test_original_layout_with_args_and_rng_state(tmp_path, golden_model):
    """Original checkpoints also hold the argparse namespace and numpy RNG state: still loaded safely."""
    import argparse

    import numpy as np

    root = tmp_path / "o"
    write_original(root, golden_model.state_dict(), tag="1000")
    blob = torch.load(root / "1000" / "mp_rank_00_model_states.pt", weights_only=True)
    blob.update(args=argparse.Namespace(lr=1e-5, task="rte"), np_rng_state=np.random.get_state(), iteration=1000)
    torch.save(blob, root / "1000" / "mp_rank_00_model_states.pt")
    assert same_weights(golden_model, load_glm(root, num_attention_heads=4))


def test_missing_key_is_named(tmp_path, golden_model):
    sd = dict(golden_model.state_dict())
    del sd["transformer.layers.1.mlp.dense_4h_to_h.bias"]
    write_original(tmp_path, sd)
    with pytest.raises(CheckpointError, match=r"transformer\.layers\.1\.mlp\.dense_4h_to_h\.bias"):
        load_glm(tmp_path, num_attention_heads=4)


def test_shape_mismatch_is_named(tmp_path, golden_model):
    sd = dict(golden_model.state_dict())
    sd["transformer.layers.0.attention.dense.weight"] = torch.zeros(64, 32)
    (tmp_path / "config.json").write_text((GOLDEN / "config.json").read_text())
    torch.save(sd, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"attention\.dense\.weight: checkpoint \(64, 32\) vs model \(64, 64\)"):
        load_glm(tmp_path)


def test_extra_keys_are_reported_not_fatal(tmp_path, golden_model, caplog):
    sd = dict(golden_model.state_dict())
    sd["out_proj.weight"] = torch.zeros(2, 64)
    (tmp_path / "config.json").write_text((GOLDEN / "config.json").read_text())
    torch.save(sd, tmp_path / "pytorch_model.bin")
    with caplog.at_level("WARNING"):
        assert same_weights(golden_model, load_glm(tmp_path, gelu="erf"))
    assert "out_proj.weight" in caplog.text


def test_unsafe_pickle_refused(tmp_path, golden_model):
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("1")
    (tmp_path / "1").mkdir()

    import datetime

    # An arbitrary pickled object is refused: weights_only loading never runs code from the file.
    torch.save({"module": golden_model.state_dict(), "when": datetime.datetime(2020, 1, 1)}, tmp_path / "1" / "mp_rank_00_model_states.pt")
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_glm(tmp_path)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="holds no GLM checkpoint"):
        load_glm(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_glm(tmp_path / "nope")


def test_position_tables_extended(tmp_path, golden_model):
    save_hf(golden_model, tmp_path)
    longer = load_glm(tmp_path, max_sequence_length=100)
    for name in ("position_embeddings", "block_position_embeddings"):
        old = getattr(golden_model.transformer, name).weight
        new = getattr(longer.transformer, name).weight
        assert new.shape == (101, 64)
        assert torch.equal(new[:65], old)  # stored rows kept exactly
        assert new[65:].std() > 0.005  # the new rows are initialised, not zeros
    # positions beyond the old table now work; beyond the new one, a clear error
    ids = torch.zeros(1, 90, dtype=torch.long)
    assert longer(ids).logits.shape == (1, 90, 50304)
    with pytest.raises(ValueError, match="exceeds the position table"):
        golden_model(ids)


def test_tiny_checkpoint_real_vocab(tmp_path):
    out = make_tiny_checkpoint(tmp_path / "t", vocab="real", num_layers=1, hidden_size=32, num_heads=2)
    from model.tokenizer import GLMTokenizer

    tok = GLMTokenizer.from_dir(out)
    assert (tok.mask_id, tok.sop_id, tok.eop_id, tok.vocab_size) == (50264, 50265, 50266, 50304)
    m = load_glm(out)
    assert m.word_embeddings.weight.shape == (50304, 32)


def test_tiny_checkpoint_demo_vocab_is_deterministic(tmp_path):
    a = make_tiny_checkpoint(tmp_path / "a", vocab="demo")
    b = make_tiny_checkpoint(tmp_path / "b", vocab="demo")
    for name in ("vocab.json", "merges.txt", "added_tokens.json", "model.safetensors"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    from model.tokenizer import GLMTokenizer

    tok = GLMTokenizer.from_dir(a)
    assert tok.cls_id == 0 and tok.eos_id == 2 and tok.sop_id == tok.mask_id + 1 and tok.vocab_size % 128 == 0
    text = "Shares of the company rose [MASK]."
    assert tok.decode(tok.encode(text), skip_special=False).replace("<mask>", "[MASK]") == text.replace(" [MASK]", "[MASK]")
