"""Resumable checkpoints: everything a training run needs to continue exactly where it was.

    <run dir>/checkpoints/step_00000120/
        trainer.json        where the loop was (epoch, batches done in it, optimizer step, micro-batch count,
                            non-finite streak, losses not yet logged), the best point so far, the length of
                            metrics.jsonl, the data size, and the training configuration it was made with
        model.safetensors   the trainable parameters
        optimizer.pt        optimizer, schedule and loss-scaler states (plain loop)
        deepspeed/          the engine's own checkpoint (DeepSpeed runs: optimizer partitions of every rank)
        rng_rank<r>.pt      the Python, NumPy, torch (and CUDA) generator states of rank r
        best.safetensors    best/model.safetensors as it was at this step (a hard link when the file system allows)

The data order needs no state of its own: epoch_batches is a function of (seed, epoch), and the pretraining masks
of (seed, epoch, index). A checkpoint is written into a hidden temporary directory and renamed into place, so every
step_* directory is complete; the newest `keep` are kept. On resume, metrics.jsonl is cut back to its length at the
checkpoint and best/ restored, so the resumed run writes the files an uninterrupted run would have written.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from model.checkpoint import atomic_write_bytes

log = logging.getLogger(__name__)

PREFIX = "step_"
# Settings that may change between the interrupted run and its resumption without changing what is computed.
MAY_DIFFER = ("save_interval", "keep_checkpoints")


class ResumeError(RuntimeError):
    pass


@dataclass
class Position:
    """Where the loop stands after an optimizer step."""

    epoch: int  # the epoch in progress
    batches_done: int  # batches of that epoch already consumed
    step: int  # optimizer steps so far
    micro: int  # micro-batches so far (gradient accumulation counts them)
    nonfinite: int = 0  # non-finite losses so far
    running: list[float] = field(default_factory=list)  # losses since the last train log line


def rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [kind, torch.from_numpy(keys.copy()), pos, has_gauss, gauss],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy(), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_torch(obj: Any, path: Path) -> None:
    atomic_write_bytes(path, lambda tmp: torch.save(obj, tmp))


def _load_torch(path: Path) -> Any:
    return torch.load(path, map_location="cpu", weights_only=True)


def _barrier(world_size: int) -> None:
    if world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


class Checkpoints:
    """The resumable checkpoints of one run directory."""

    def __init__(self, run_path: Path, keep: int = 2, rank: int = 0, world_size: int = 1):
        if keep < 1:
            raise ValueError(f"--keep-checkpoints must be >= 1, got {keep}")
        self.root = Path(run_path) / "checkpoints"
        self.run_path = Path(run_path)
        self.keep, self.rank, self.world_size = keep, rank, world_size

    def complete(self) -> list[Path]:
        """Finished checkpoints, oldest first (temporary directories of an interrupted save are not among them)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit())

    # ------------------------------------------------------------------ writing
    def save(self, position: Position, module: nn.Module, optimizer, scheduler, scaler, engine, best: dict | None,
             config: dict, num_samples: int) -> Path:
        final = self.root / f"{PREFIX}{position.step:08d}"
        tmp = self.root / f".tmp-{final.name}"
        if self.rank == 0:
            shutil.rmtree(tmp, ignore_errors=True)  # left over by a run killed while saving
            tmp.mkdir(parents=True)
        _barrier(self.world_size)
        _save_torch(rng_state(), tmp / f"rng_rank{self.rank}.pt")
        if engine is not None:
            engine.save_checkpoint(str(tmp / "deepspeed"), tag="state", save_latest=False)
        if self.rank == 0:
            from .loop import save_trainable

            save_trainable(module, tmp, {"step": str(position.step)})
            if engine is None:
                _save_torch({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                             "scaler": scaler.state_dict()}, tmp / "optimizer.pt")
            best_file = self.run_path / "best" / "model.safetensors"
            if best_file.is_file():
                try:  # best/ is replaced by rename, never rewritten in place: the link keeps today's content
                    os.link(best_file, tmp / "best.safetensors")
                except OSError:
                    shutil.copy2(best_file, tmp / "best.safetensors")
            metrics = self.run_path / "metrics.jsonl"
            state = {"position": dataclasses.asdict(position), "best": best, "config": config, "num_samples": num_samples,
                     "metrics_bytes": metrics.stat().st_size if metrics.is_file() else 0,
                     "world_size": self.world_size, "deepspeed": engine is not None}
            atomic_write_bytes(tmp / "trainer.json", lambda p: Path(p).write_text(json.dumps(state, indent=1)))
        _barrier(self.world_size)
        if self.rank == 0:
            if final.exists():  # the same step saved by an earlier attempt of this run
                shutil.rmtree(final)
            os.replace(tmp, final)
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)  # the rename itself reaches the disk
            finally:
                os.close(fd)
            for old in self.complete()[: -self.keep]:
                shutil.rmtree(old)
            log.info("saved resumable checkpoint %s", final)
        _barrier(self.world_size)
        return final

    # ------------------------------------------------------------------ reading
    def latest(self) -> Path:
        found = self.complete()
        if not found:
            raise ResumeError(f"--resume: {self.root} holds no checkpoint (runs save them with --save-interval N); "
                              "start the run without --resume")
        return found[-1]

    def restore(self, module: nn.Module, optimizer, scheduler, scaler, engine, config: dict, num_samples: int) -> tuple[Position, dict | None]:
        """Load the newest checkpoint into the given objects; returns where to continue and the best point."""
        from .loop import load_trainable

        path = self.latest()
        state = json.loads((path / "trainer.json").read_text())
        changed = sorted(k for k in set(config) | set(state["config"])
                         if k not in MAY_DIFFER and config.get(k) != state["config"].get(k))
        if changed:
            diff = "; ".join(f"{k}: {state['config'].get(k)!r} then, {config.get(k)!r} now" for k in changed)
            raise ResumeError(f"{path}: the run was started with other settings ({diff}); resume with the same flags")
        if state["num_samples"] != num_samples:
            raise ResumeError(f"{path}: the run trained on {state['num_samples']} samples, this one has {num_samples}; "
                              "resume on the same data")
        if state["world_size"] != self.world_size or state["deepspeed"] != (engine is not None):
            raise ResumeError(f"{path}: saved with world size {state['world_size']} and deepspeed={state['deepspeed']}; "
                              f"this run has {self.world_size} and deepspeed={engine is not None}")
        if engine is not None:
            engine.load_checkpoint(str(path / "deepspeed"), tag="state")
        else:
            load_trainable(module, path / "model.safetensors")
            opt = _load_torch(path / "optimizer.pt")
            optimizer.load_state_dict(opt["optimizer"])
            scheduler.load_state_dict(opt["scheduler"])
            scaler.load_state_dict(opt["scaler"])
        set_rng_state(_load_torch(path / f"rng_rank{self.rank}.pt"))
        if self.rank == 0:
            self._restore_run_files(path, state)
        log.info("resumed from %s (step %d)", path, state["position"]["step"])
        return Position(**state["position"]), state["best"]

    def _restore_run_files(self, path: Path, state: dict) -> None:
        """metrics.jsonl back to its length at the checkpoint; best/ back to its content then."""
        metrics = self.run_path / "metrics.jsonl"
        size = metrics.stat().st_size if metrics.is_file() else 0
        if size < state["metrics_bytes"]:
            raise ResumeError(f"{metrics} is shorter ({size} bytes) than when {path} was saved ({state['metrics_bytes']})")
        with open(metrics, "ab") as f:
            f.truncate(state["metrics_bytes"])
        best_file = self.run_path / "best" / "model.safetensors"
        if (path / "best.safetensors").is_file():
            atomic_write_bytes(best_file, lambda tmp: shutil.copyfile(path / "best.safetensors", tmp))
        else:
            best_file.unlink(missing_ok=True)  # written after the checkpoint: the resumed run decides again
