"""Parameter-efficient fine-tuning: methods composed onto a GLMModel behind one small protocol.

A method is a frozen config dataclass with a `method` name and an `apply(backbone) -> nn.Module` that returns a
module with GLMModel's call signature (heads and decoding use it unchanged) whose trainable parameters are the
method's own. Adding a method is one module here plus one entry in `METHODS` (and its flag group in
`training/config.py`); nothing in `GLMModel.forward` is specific to a method: prefixes arrive through the generic
per-layer key/value provider (`model.glm.PrefixProvider`).

Adapter checkpoints hold only the trainable parameters (`trainable_state`, `save_trainable`, `load_trainable`),
so a P-tuning v2 run's best/ is a few hundred kilobytes next to a 335M-parameter backbone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from torch import Tensor, nn

from model.checkpoint import load_safetensors, save_tensors
from model.glm import GLMModel


class PeftConfig(Protocol):
    """What every method's config offers: its name (recorded as the run's `peft`) and how to apply it."""

    method: ClassVar[str]

    def apply(self, backbone: GLMModel) -> nn.Module: ...


@dataclass(frozen=True)
class PrefixConfig:
    """P-tuning v2: per-layer key/value prefixes of `length` positions on a frozen backbone."""

    method: ClassVar[str] = "prefix"
    length: int = 16
    projection: bool = False  # reparameterise through an MLP (more stable for some tasks)
    projection_hidden: int = 512

    def apply(self, backbone: GLMModel) -> nn.Module:
        from .prefix import PrefixEncoder, PrefixTunedGLM

        encoder = PrefixEncoder(backbone.config, self.length, self.projection, self.projection_hidden,
                                dropout=backbone.config.embedding_dropout_prob)
        return PrefixTunedGLM(backbone, encoder)


@dataclass(frozen=True)
class LoraConfig:
    """LoRA: low-rank updates (alpha / rank) * B A on the `targets` projections of a frozen backbone (lora.py)."""

    method: ClassVar[str] = "lora"
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    targets: tuple[str, ...] = ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")

    def apply(self, backbone: GLMModel) -> nn.Module:
        from .lora import inject_lora

        return inject_lora(backbone, self.rank, self.alpha, self.dropout, self.targets)


@dataclass(frozen=True)
class ContinuousPromptConfig:
    """P-tuning v1 (backbone trained too) or prompt tuning (`freeze_transformer`): `num_prompt_tokens` spread
    over the pattern's prompt slots plus `prefix_prompt` tokens after [CLS], reparameterised by `func` (prompt.py).
    `placeholder_id` marks the prompt positions in rendered ids (an id no text or decoding step produces); the task
    builder sets it."""

    num_prompt_tokens: int = 0
    prefix_prompt: int = 0
    func: str = "lstm"
    freeze_transformer: bool = False
    placeholder_id: int = -1

    @property
    def method(self) -> str:
        return "prompt_tuning" if self.freeze_transformer else "ptuning"

    @property
    def length(self) -> int:
        return self.num_prompt_tokens + self.prefix_prompt

    def apply(self, backbone: GLMModel) -> nn.Module:
        from .prompt import ContinuousPromptGLM, PromptEncoder

        if self.placeholder_id < 0:
            raise ValueError("ContinuousPromptConfig.placeholder_id is unset: the task builder sets it from the tokenizer")
        encoder = PromptEncoder(backbone.config.hidden_size, self.length, self.func, backbone.config.initializer_range)
        return ContinuousPromptGLM(backbone, encoder, self.placeholder_id, self.freeze_transformer)


# name -> config class; `peft: none` is the absence of a config (full fine-tuning).
METHODS: dict[str, type] = {PrefixConfig.method: PrefixConfig, LoraConfig.method: LoraConfig,
                            "ptuning": ContinuousPromptConfig, "prompt_tuning": ContinuousPromptConfig}


def method_name(config: PeftConfig | None) -> str:
    """The run's `peft`: none, prefix, lora, ptuning or prompt_tuning."""
    return "none" if config is None else config.method


def apply_peft(backbone: GLMModel, config: PeftConfig | None) -> nn.Module:
    """The backbone as the task module will hold it: unchanged for full fine-tuning, wrapped otherwise."""
    return backbone if config is None else config.apply(backbone)


# ---------------------------------------------------------------------------------------------- adapter weights
def trainable_state(module: nn.Module) -> dict[str, Tensor]:
    """Every parameter that trains (all of them for full fine-tuning; a method's own ones otherwise)."""
    return {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}


def save_trainable(module: nn.Module, directory: Path, metadata: dict[str, str]) -> None:
    """`directory`/model.safetensors, written atomically."""
    save_tensors(trainable_state(module), directory / "model.safetensors", metadata=metadata)


def load_trainable(module: nn.Module, path: Path) -> list[str]:
    """Load saved trainable parameters into `module`; every saved tensor must find its parameter."""
    return load_tensors(module, load_safetensors(Path(path)), str(path))


def load_tensors(module: nn.Module, saved: dict[str, Tensor], source: str) -> list[str]:
    """Copy `saved` into `module`'s parameters of the same names and shapes (an error names any that do not fit)."""
    import torch

    own = dict(module.named_parameters())
    unknown = [k for k in saved if k not in own]
    if unknown:
        raise KeyError(f"{source}: parameters {unknown[:10]} do not exist in this model (another task or method?)")
    with torch.no_grad():
        for k, v in saved.items():
            if own[k].shape != v.shape:
                raise ValueError(f"{source}: {k} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
            own[k].copy_(v)
    return list(saved)
