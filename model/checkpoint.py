"""Loading and saving GLM weights in the layouts users have.

Hugging Face layout (what the hub's glm-roberta-large holds)
    <dir>/config.json  +  <dir>/model.safetensors  or  <dir>/pytorch_model.bin
    (+ vocab.json, merges.txt, added_tokens.json for the tokenizer)
Original THUDM/GLM layout
    <dir>/latest_checkpointed_iteration.txt  -> "<tag>"  (an iteration number or "release")
    <dir>/<tag>/mp_rank_00_model_states.pt     a dict whose "module" entry is the state dict
    or a "<parent>/<tag>" directory holding mp_rank_00_model_states.pt directly (upstream's fallback).

Keys are the released ones (no prefix); `glm.`, `model.` and `module.` prefixes are accepted. Loading is strict
about what matters: a missing backbone key or a shape mismatch raises an error naming the key; extra keys (e.g.
heads saved by other code) are reported and ignored. Only safe deserialisation is used: safetensors, or
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from .glm import GLMConfig, GLMModel

log = logging.getLogger(__name__)

TRACKER = "latest_checkpointed_iteration.txt"
ORIGINAL_FILE = "mp_rank_00_model_states.pt"
KEY_PREFIXES = ("module.", "glm.", "model.")
HEAD_DIM = 64  # every released GLM uses 64-dimensional heads; the original layout stores no config


class CheckpointError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------- reading
def _safe_globals() -> list:
    """Classes the original GLM checkpoints carry besides tensors (the argparse namespace, numpy RNG state).
    Allowing these keeps `weights_only=True` loading: no arbitrary code can run."""
    import argparse

    import numpy as np

    allowed: list = [argparse.Namespace, np.ndarray, np.dtype, np._core.multiarray._reconstruct]
    allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    return allowed


def _torch_load(path: Path) -> dict:
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle with non-tensor objects, or a truncated download
        raise CheckpointError(
            f"{path}: cannot be read safely ({type(err).__name__}: {str(err).splitlines()[0][:200]}). A broken or "
            "partial download raises this too (download it again). If the file holds other Python objects, re-save "
            "only its state dict, `torch.save({'module': sd}, path)`, where you trust the file."
        ) from err


# The shape hyperparameters a Hugging Face config.json must give: a default for any of them would build another
# model than the one saved (the tensors' shapes cannot tell the number of attention heads).
REQUIRED_CONFIG_KEYS = (("num_layers", "num_hidden_layers"), ("hidden_size",), ("num_attention_heads",), ("vocab_size",),
                        ("max_sequence_length",))


def read_config(path: Path) -> dict:
    """A checkpoint's config.json, checked: valid JSON, a mapping, every shape key present."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err}); restore the checkpoint's config.json") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object of model hyperparameters, got {type(config).__name__}")
    for names in REQUIRED_CONFIG_KEYS:
        if not any(name in config for name in names):
            raise CheckpointError(f"{path}: key {names[0]!r} is missing; it sets the model's shape and has no safe "
                                  "default; add it with the value of the model the weights were trained as")
    return config


def load_safetensors(path: Path) -> dict[str, Tensor]:
    """A safetensors file, or a CheckpointError naming it when it is truncated or not safetensors at all."""
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises SafetensorError / OSError on a short or garbled file
        raise CheckpointError(f"{path}: not a readable safetensors file ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200] if str(err) else 'no detail'}); it is truncated or "
                              "corrupted: copy or download it again") from err


def find_layout(path: str | Path) -> tuple[str, Path]:
    """("hf", dir) or ("original", file) for a checkpoint path; a clear error when it is neither."""
    path = Path(path)
    if path.is_file() and path.suffix in (".pt", ".bin", ".safetensors"):
        return ("original" if path.suffix == ".pt" else "hf-file"), path
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if (path / "model.safetensors").is_file() or (path / "pytorch_model.bin").is_file():
        return "hf", path
    if (path / TRACKER).is_file():
        tag = (path / TRACKER).read_text().strip()
        f = path / tag / ORIGINAL_FILE
        if not f.is_file():
            raise CheckpointError(f"{path / TRACKER} names tag {tag!r} but {f} does not exist")
        return "original", f
    if (path / ORIGINAL_FILE).is_file():
        return "original", path / ORIGINAL_FILE
    raise CheckpointError(
        f"{path} holds no GLM checkpoint: expected config.json with model.safetensors or pytorch_model.bin "
        f"(Hugging Face layout), or {TRACKER} with <tag>/{ORIGINAL_FILE} (original GLM layout)"
    )


def read_state_dict(path: str | Path) -> tuple[dict[str, Tensor], dict | None]:
    """The backbone state dict (prefixes stripped) and the HF config dict when the layout has one."""
    layout, where = find_layout(path)
    config = None
    if layout == "hf":
        if (where / "config.json").is_file():
            config = read_config(where / "config.json")
        st = where / "model.safetensors"
        sd = load_safetensors(st) if st.is_file() else _torch_load(where / "pytorch_model.bin")
    elif layout == "hf-file":
        sd = load_safetensors(where) if where.suffix == ".safetensors" else _torch_load(where)
        if (where.parent / "config.json").is_file():
            config = read_config(where.parent / "config.json")
    else:
        blob = _torch_load(where)
        if not isinstance(blob, dict) or "module" not in blob:
            raise CheckpointError(f"{where}: expected a dict with a 'module' state dict (original GLM layout)")
        sd = blob["module"]
    return {_strip_prefix(k): v for k, v in sd.items()}, config


def _strip_prefix(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in KEY_PREFIXES:
            if key.startswith(p):
                key, changed = key[len(p) :], True
    return key


def infer_config(sd: dict[str, Tensor], **overrides) -> GLMConfig:
    """A GLMConfig from tensor shapes, for the original layout (which stores no config)."""
    try:
        vocab, hidden = sd["word_embeddings.weight"].shape
        positions = sd["transformer.position_embeddings.weight"].shape[0]
    except KeyError as err:
        raise CheckpointError(f"state dict lacks {err.args[0]!r}: not a GLM backbone") from err
    layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("transformer.layers."))
    kw = dict(num_layers=layers, hidden_size=hidden, num_attention_heads=hidden // HEAD_DIM, vocab_size=vocab,
              max_sequence_length=positions - 1)
    kw.update(overrides)
    return GLMConfig(**kw)


# ---------------------------------------------------------------------------------------------- loading
def load_glm(
    path: str | Path,
    *,
    gelu: str | None = None,
    max_sequence_length: int | None = None,
    dropout: float | None = None,
    checkpoint_activations: bool = False,
    num_attention_heads: int | None = None,
    hidden_dropout: float | None = None,
    attention_dropout: float | None = None,
) -> GLMModel:
    """Build a GLMModel from a checkpoint in either layout.

    `max_sequence_length` larger than the checkpoint's extends both position tables: the stored rows are kept and
    the new rows are freshly initialised N(0, initializer_range), as upstream does for long sources.
    `gelu` defaults to the config's value, else "tanh" (the activation the original weights were trained with).
    `dropout` sets every dropout probability; `hidden_dropout` (embeddings and residual outputs) and
    `attention_dropout` (attention probabilities) set one kind each, as THUDM/GLM's two flags do, and win over it.
    """
    sd, hf_config = read_state_dict(path)
    overrides: dict = {"checkpoint_activations": checkpoint_activations}
    if gelu is not None:
        overrides["gelu"] = gelu
    if num_attention_heads is not None:
        overrides["num_attention_heads"] = num_attention_heads
    if dropout is not None:
        overrides.update(embedding_dropout_prob=dropout, attention_dropout_prob=dropout, output_dropout_prob=dropout)
    if hidden_dropout is not None:
        overrides.update(embedding_dropout_prob=hidden_dropout, output_dropout_prob=hidden_dropout)
    if attention_dropout is not None:
        overrides["attention_dropout_prob"] = attention_dropout
    cfg = GLMConfig.from_hf_dict(hf_config, **overrides) if hf_config else infer_config(sd, **overrides)
    stored_len = cfg.max_sequence_length
    if max_sequence_length and max_sequence_length > stored_len:
        cfg = dataclasses.replace(cfg, max_sequence_length=max_sequence_length)
    model = GLMModel(cfg)
    load_into(model, sd, source=str(path))
    return model


def load_into(model: nn.Module, sd: dict[str, Tensor], source: str = "checkpoint") -> None:
    """Copy `sd` into `model` or raise naming every missing key and shape mismatch. Position tables may be shorter
    in `sd` than in the model (they are extended); extra keys are logged and ignored."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    mismatched = []
    extended = []
    for k, v in sd.items():
        if k not in own or own[k].shape == v.shape:
            continue
        if k.endswith("position_embeddings.weight") and v.shape[0] < own[k].shape[0] and v.shape[1:] == own[k].shape[1:]:
            extended.append(k)
        else:
            mismatched.append(f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}")
    if missing or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
        if mismatched:
            parts.append(f"shape mismatches: {'; '.join(mismatched[:10])}")
        raise CheckpointError(f"{source} does not fit the model: " + " | ".join(parts))
    if unexpected:
        log.warning("%s: ignoring %d keys the model does not use: %s", source, len(unexpected), ", ".join(unexpected[:10]))
    with torch.no_grad():
        for k, v in sd.items():
            if k not in own:
                continue
            if k in extended:
                own[k][: v.shape[0]].copy_(v)
                log.info("%s: extended %s from %d to %d rows", source, k, v.shape[0], own[k].shape[0])
            else:
                own[k].copy_(v)


# ---------------------------------------------------------------------------------------------- saving
def atomic_write_bytes(path: Path, write) -> None:
    """`write(tmp_path)` into a temporary file in the same directory, flush it to disk, then rename it over `path`:
    readers (and a run killed at any moment) see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sort_metadata(path: str) -> None:
    """Put a safetensors file's `__metadata__` entries in sorted order, in place. The library writes them from a
    hash map, in an order that changes from process to process, so the same tensors and metadata gave files with
    different bytes (and hashes). The header keeps its length (the same compact JSON, reordered; padded as before)."""
    with open(path, "rb+") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        if len(header.get("__metadata__") or {}) < 2:
            return
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) <= size:
            f.seek(8)
            f.write(text + b" " * (size - len(text)))


def save_tensors(tensors: dict[str, Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}

    def write(tmp: str) -> None:
        save_file(tensors, tmp, metadata=metadata)
        _sort_metadata(tmp)

    atomic_write_bytes(path, write)


def save_hf(model: GLMModel, out_dir: str | Path, tokenizer_dir: str | Path | None = None) -> Path:
    """Save in the HF layout (model.safetensors + config.json with the HF field names, released key names)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_tensors(model.state_dict(), out / "model.safetensors", metadata={"format": "pt"})
    cfg = model.config.to_hf_dict()
    cfg.pop("checkpoint_activations", None)
    atomic_write_bytes(out / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(cfg, indent=2, sort_keys=True)))
    if tokenizer_dir is not None:
        for name in ("vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json"):
            src = Path(tokenizer_dir) / name
            if src.is_file():
                (out / name).write_bytes(src.read_bytes())
    return out
