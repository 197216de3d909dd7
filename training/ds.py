"""DeepSpeed wrapping with one source of truth: the command line.

Upstream lets the DeepSpeed JSON silently overwrite --lr, --batch-size, --weight-decay and gradient accumulation.
Here the JSON supplies only what the flags do not (ZeRO stage, offload, loss-scale settings...). Batch size,
accumulation, clipping and precision are filled in from the flags; where the JSON states a different value, the
run stops with an error naming both. Our optimizer (with its no-decay groups) and schedule are always the ones
used: an "optimizer"/"scheduler" section whose hyperparameters disagree with the flags is an error, and one that
agrees is dropped with a log line.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
from pathlib import Path

log = logging.getLogger(__name__)


class DeepSpeedConfigConflict(ValueError):
    pass


def load_config(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--deepspeed_config {path} does not exist")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err


def reconcile(ds: dict, *, batch_size: int, grad_accum: int, clip_grad: float, precision: str, lr: float,
              weight_decay: float, betas: tuple[float, float], eps: float, world_size: int = 1, source: str = "deepspeed config") -> dict:
    """The DeepSpeed config to use, with the flags' values; raises DeepSpeedConfigConflict on disagreement."""
    ds = copy.deepcopy(ds)
    conflicts = []

    def want(key: str, value, flag: str) -> None:
        if key in ds and ds[key] != "auto" and ds[key] != value:
            conflicts.append(f"{key}={ds[key]} in {source} but {flag} gives {value}")
        ds[key] = value

    want("train_micro_batch_size_per_gpu", batch_size, "--batch-size")
    want("gradient_accumulation_steps", grad_accum, "--gradient-accumulation-steps")
    if "train_batch_size" in ds and ds["train_batch_size"] != "auto" and ds["train_batch_size"] != batch_size * grad_accum * world_size:
        conflicts.append(f"train_batch_size={ds['train_batch_size']} in {source} but the flags give "
                         f"{batch_size} x {grad_accum} x {world_size} GPUs")
    ds.pop("train_batch_size", None)
    want("gradient_clipping", clip_grad, "--clip-grad")
    for key in ("bf16", "fp16"):
        stated = ds.get(key, {}).get("enabled", "auto")
        if stated != "auto" and bool(stated) != (precision == key):
            conflicts.append(f"{key}.enabled={stated} in {source} but the flags choose {precision}")
        if precision == key:
            ds.setdefault(key, {})["enabled"] = True
        elif key in ds:
            ds[key]["enabled"] = False
    opt = ds.pop("optimizer", None)
    if opt:
        params = opt.get("params", {})
        for key, value, flag in (("lr", lr, "--lr"), ("weight_decay", weight_decay, "--weight-decay"), ("eps", eps, "--adam-eps")):
            if key in params and params[key] != value:
                conflicts.append(f"optimizer.params.{key}={params[key]} in {source} but {flag} gives {value}")
        if "betas" in params and tuple(params["betas"]) != tuple(betas):
            conflicts.append(f"optimizer.params.betas={params['betas']} in {source} but --adam-beta1/2 give {list(betas)}")
        log.info("%s: its optimizer section agrees with the flags; the toolkit's AdamW (no decay on biases/LayerNorm) is used", source)
    sched = ds.pop("scheduler", None)
    if sched:
        log.info("%s: its scheduler section is replaced by --warmup/--lr-decay-style (upstream's schedule)", source)
    if conflicts:
        raise DeepSpeedConfigConflict(
            "the DeepSpeed config disagrees with the command line (the command line is the one source of truth; "
            "remove these keys from the JSON or change the flags):\n  " + "\n  ".join(conflicts)
        )
    return ds


def initialize(module, optimizer, scheduler, ds_config: dict):
    """deepspeed.initialize with our optimizer and schedule. On a machine without a launcher, the environment of a
    single-process job is filled in so no MPI discovery is attempted."""
    import deepspeed

    for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1")):
        os.environ.setdefault(key, value)
    if "MASTER_PORT" not in os.environ:  # a single process: any free local port (two runs side by side must not clash)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    # The shared-memory communication op is JIT-compiled on first use (~40 s) and only helps multi-process CPU runs.
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    engine, _, _, _ = deepspeed.initialize(model=module, optimizer=optimizer, lr_scheduler=scheduler, config=ds_config)
    return engine
