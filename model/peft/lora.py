"""LoRA: trainable low-rank updates W + (alpha / r) * B A on chosen linear projections of a frozen GLM.

The adapter layers are the `peft` library's (`peft.inject_adapter_in_model`): GLM's projections are plain
`nn.Linear` modules, which peft's LoRA layer wraps as they are, so the maths, the initialisation (A Kaiming-uniform,
B zero: an untrained adapter leaves the model unchanged), the merge and peft's adapter file format come from the
library users already know. The backbone keeps its class, so heads, seq2seq decoding and checkpoints need no case
for it; only the wrapped projections' parameter names change (`...query_key_value.base_layer.weight`, plus
`lora_A.default.weight` / `lora_B.default.weight`), until `merge_lora` folds the updates back in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from model.checkpoint import save_tensors

# GLM's projections by module name (suffix match, as peft matches `target_modules`).
LORA_TARGETS = ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")
ADAPTER = "default"  # peft's adapter name; one adapter per model here


def inject_lora(backbone: nn.Module, rank: int, alpha: float, dropout: float, targets: Sequence[str]) -> nn.Module:
    """Wrap every target projection of `backbone` in place with a LoRA layer; freeze everything else."""
    from peft import LoraConfig, inject_adapter_in_model

    unknown = sorted(set(targets) - set(LORA_TARGETS))
    if unknown:
        raise ValueError(f"LoRA target modules {unknown} are not GLM projections; choose from {', '.join(LORA_TARGETS)}")
    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"LoRA dropout must be in [0, 1), got {dropout}")
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets), bias="none")
    backbone.requires_grad_(False)
    inject_adapter_in_model(config, backbone, adapter_name=ADAPTER)
    for name, p in backbone.named_parameters():
        p.requires_grad_(".lora_" in name)
    backbone.peft_config = {ADAPTER: config}  # where peft's own functions look for the adapter's settings
    return backbone


def lora_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from peft.tuners.lora import LoraLayer

    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA update into its base projection and put the plain `nn.Linear` back: the model then has
    exactly the released state-dict keys and can be saved as an ordinary checkpoint (model.checkpoint.save_hf)."""
    layers = lora_layers(model)
    if not layers:
        raise ValueError("the model has no LoRA layers to merge")
    for name, layer in layers:
        layer.merge(adapter_names=[ADAPTER])
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, layer.get_base_layer())
    if hasattr(model, "peft_config"):
        del model.peft_config
    return model


def save_peft_adapter(model: nn.Module, directory: Path) -> None:
    """The adapter in peft's format: adapter_model.safetensors (keys without the adapter name) and
    adapter_config.json, loadable with peft's `set_peft_model_state_dict` onto a GLM with the same targets."""
    from peft import get_peft_model_state_dict

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(model, adapter_name=ADAPTER).items()}
    save_tensors(state, directory / "adapter_model.safetensors", metadata={"format": "pt"})
    config = model.peft_config[ADAPTER].to_dict()
    config = {k: sorted(v) if isinstance(v, set) else v for k, v in config.items()}
    (directory / "adapter_config.json").write_text(json.dumps(config, indent=2, default=str) + "\n", encoding="utf-8")


def load_peft_adapter(model: nn.Module, directory: Path) -> None:
    """Load a peft-format adapter (save_peft_adapter) into a model with LoRA layers on the same targets."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    result = set_peft_model_state_dict(model, load_file(str(directory / "adapter_model.safetensors")), adapter_name=ADAPTER)
    missing = [k for k in getattr(result, "missing_keys", []) if ".lora_" in k]
    if missing or getattr(result, "unexpected_keys", []):
        raise KeyError(f"{directory}: adapter does not match the model (missing {missing[:5]}, "
                       f"unexpected {list(result.unexpected_keys)[:5]})")
