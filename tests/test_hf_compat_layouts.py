"""The HF-port-compatible builders reproduce the port's outputs exactly.

Goldens: tests/fixtures/golden/tokenizer_cases.json (`build_inputs_for_generation`,
`build_inputs_for_multiple_choice`) and cases f/g of inputs.safetensors, all produced by the HF port's
tokenizer code (see tests/fixtures/golden/README.md). The contexts are re-encoded with our tokenizer in the
port's convention ([MASK] = 50267), so these tests cover encoding and layout together.
"""

import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import GOLDEN
from tasks.data_io import DataError
from hf_port_layouts import build_inputs_for_generation, build_inputs_for_multiple_choice

CASES = json.loads((GOLDEN / "tokenizer_cases.json").read_text())
META = json.loads((GOLDEN / "cases.json").read_text())["meta"]
INPUTS = load_file(GOLDEN / "inputs.safetensors")


def _contexts(tokenizer, case):
    enc = tokenizer.hf_batch_encode(case["contexts"])
    assert enc.input_ids == case["context_input_ids"]
    assert enc.attention_mask == case["context_attention_mask"]
    return enc


@pytest.mark.parametrize("case", CASES["build_inputs_for_generation"], ids=lambda c: f"targets={c['targets']!r},pad={c['padding']}")
def test_generation_builder_matches_tokenizer_goldens(hf_tokenizer, case):
    out = build_inputs_for_generation(
        hf_tokenizer, _contexts(hf_tokenizer, case), max_gen_length=case["max_gen_length"],
        targets=case["targets"], padding=case["padding"],
    )
    assert sorted(out) == sorted(case["result"])
    for key, value in case["result"].items():
        assert out[key].dtype == torch.long
        assert out[key].tolist() == value, key


@pytest.mark.parametrize("case", CASES["build_inputs_for_multiple_choice"], ids=lambda c: str(c["choices"]))
def test_multiple_choice_builder_matches_tokenizer_goldens(hf_tokenizer, case):
    out = build_inputs_for_multiple_choice(hf_tokenizer, _contexts(hf_tokenizer, case), case["choices"])
    assert sorted(out) == sorted(case["result"])
    for key, value in case["result"].items():
        got = out[key].tolist() if isinstance(out[key], torch.Tensor) else out[key]
        assert got == value, key


def test_case_f_multiple_choice_inputs(hf_tokenizer):
    enc = hf_tokenizer.hf_batch_encode(META["f.contexts"])
    assert enc.input_ids == INPUTS["f.context_input_ids"].tolist()
    assert enc.attention_mask == INPUTS["f.context_attention_mask"].tolist()
    out = build_inputs_for_multiple_choice(hf_tokenizer, enc, META["f.choices"])
    for key in ("input_ids", "position_ids", "attention_mask"):
        assert torch.equal(out[key], INPUTS[f"f.{key}"]), key
    assert out["choice_ids"] == META["f.choice_ids"]
    assert out["choice_indices"] == META["f.choice_indices"]


def test_case_g_generation_inputs(hf_tokenizer):
    enc = hf_tokenizer.hf_batch_encode(META["g.contexts"])
    assert enc.input_ids == INPUTS["g.context_input_ids"].tolist()
    tf = build_inputs_for_generation(hf_tokenizer, enc, max_gen_length=8, targets=META["g.targets"], padding=False)
    for key in ("input_ids", "position_ids", "attention_mask", "labels"):
        assert torch.equal(tf[key], INPUTS[f"g.tf.{key}"]), key
    gen = build_inputs_for_generation(hf_tokenizer, enc, max_gen_length=8)
    for key in ("input_ids", "position_ids", "generation_attention_mask"):
        assert torch.equal(gen[key], INPUTS[f"g.gen.{key}"]), key


def test_builders_need_a_mask(hf_tokenizer):
    enc = hf_tokenizer.hf_batch_encode(["no blank here"])
    with pytest.raises(DataError, match="no \\[MASK\\]"):
        build_inputs_for_generation(hf_tokenizer, enc)
    with pytest.raises(DataError, match="no \\[MASK\\]"):
        build_inputs_for_multiple_choice(hf_tokenizer, enc, [["a"]])


def test_generation_targets_must_match_batch(hf_tokenizer):
    enc = hf_tokenizer.hf_batch_encode(["a [MASK]", "b [MASK]"])
    with pytest.raises(ValueError, match="2 contexts"):
        build_inputs_for_generation(hf_tokenizer, enc, targets=[" x"])
