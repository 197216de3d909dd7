"""The explicit fine-tuning loop: seeded data order, AdamW + upstream schedule, gradient accumulation, clipping,
autocast, dev evaluation every epoch and every `eval_interval` steps, the best-by-dev trainable parameters kept in
safetensors, the final test at the best point. DeepSpeed (ZeRO-1/2) plugs in through `training.ds`.

What the loop needs from a task is small:
    module(batch) -> (scores or None, loss)           an nn.Module holding the backbone and the head
    evaluate(module, split) -> EvalResult             metrics and prediction rows for "dev" / "test"
Training samples with a `set_epoch(epoch)` method are told each epoch's number before it starts (pretraining
re-draws its masks per epoch). With `save_interval`, resumable checkpoints are written every that many optimizer
steps, and `Trainer(..., resume=True)` continues from the newest exactly (training/resume.py).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from model.peft import load_trainable, save_trainable
from tasks.packing import bucketed_order, sample_length

from .optim import build_optimizer, build_scheduler, total_steps
from .resume import Checkpoints, Position
from .rundir import RunDir

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# torch's single-kernel AdamW: the same update (tests/test_speed_paths.py); on a 2-core CPU it stepped 77M
# parameters 6.4x and 12.7x faster than the multi-tensor default in two runs (benchmarks/bench_cpu_kernels.py);
# on CUDA it saves the kernel launches.
FUSED_ADAMW_DEVICES = ("cuda", "cpu")


class TrainingDiverged(RuntimeError):
    """The run diverged: more non-finite losses than the budget, a non-finite dev metric, or non-finite scores.
    The driver records the run as `diverged` (training/rundir.py), never `finished`."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int = 8
    eval_batch_size: int = 16
    lr: float = 1e-5
    weight_decay: float = 0.01
    warmup: float = 0.01
    lr_decay_style: str = "linear"
    lr_decay_ratio: float = 0.1
    gradient_accumulation_steps: int = 1
    clip_grad: float = 1.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    seed: int = 1234
    eval_interval: int = 0  # optimizer steps between dev evaluations; 0 = only at epoch ends
    eval_epoch: int = 1  # evaluate on dev every this many epochs
    log_interval: int = 10
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 adds loss scaling)
    validation_metric: str = "accuracy"
    metric_mode: str = "max"  # "max": higher is better
    # NaN/inf losses tolerated over the whole run (each skips its step, as upstream); one more ends it `diverged`.
    # A small budget, not a streak: a run that produces a NaN every few steps is as broken as one that never recovers.
    max_nonfinite_losses: int = 3
    save_interval: int = 0  # optimizer steps between resumable checkpoints; 0 = none
    keep_checkpoints: int = 2  # resumable checkpoints kept (the newest)
    length_buckets: int = 0  # batches pooled and sorted by length before the seeded batch shuffle; 0 = off

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {self.precision!r}")
        if self.epochs < 0 or self.batch_size < 1 or self.gradient_accumulation_steps < 1:
            raise ValueError("epochs must be >= 0, batch size and gradient accumulation >= 1")


@dataclass
class EvalResult:
    metrics: dict[str, float]
    predictions: list[dict] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def move(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()}


def autocast(device: torch.device, precision: str):
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def cpu_computes_natively(precision: str) -> bool:
    """Whether this CPU has instructions for `precision`'s matrix products (bf16: AVX512-BF16 or AMX; fp16:
    AVX512-FP16 or AMX-FP16), as oneDNN reports it. Without them autocast emulates the format: on an AVX2-only CPU
    a bf16 linear layer ran at 0.1x its fp32 speed and a training step at 0.02x (benchmarks/bench_packing.py)."""
    if precision == "fp32":
        return True
    probe = {"bf16": "_is_mkldnn_bf16_supported", "fp16": "_is_mkldnn_fp16_supported"}[precision]
    try:
        return bool(getattr(torch.ops.mkldnn, probe)())
    except (AttributeError, RuntimeError):  # a torch without oneDNN's probe: assume nothing
        return False


def precision_warning(device: torch.device, precision: str) -> str | None:
    """What a user asking for `precision` on `device` should know before the run's hours go by, or None."""
    if device.type != "cpu" or cpu_computes_natively(precision):
        return None
    return (f"--{precision} on this CPU: it has no {precision} matrix instructions (oneDNN reports none), so autocast "
            f"emulates {precision} and runs many times slower than fp32 (0.02x for a training step on an AVX2 CPU); "
            f"drop --{precision} to train in fp32")


def sparse_embedding_grads(module: nn.Module) -> list[nn.Embedding]:
    """Make the GLM word embeddings in `module` produce sparse gradients (only the rows a batch used); returns them.

    For CPU training without DeepSpeed. The word embedding is tied to the output projection, whose dense gradient
    arrives first in backward; a dense embedding gradient would then be a fresh 50304 x H tensor of zeros with the
    used rows written in, added whole onto it (two passes over 200 MB at glm-roberta-large's width, page faults
    included). A sparse one is added into the rows it has. A 2 x 256 step of a 2-layer x 1024 GLM went 1.07x faster on
    a 2-core CPU (benchmarks/bench_cpu_kernels.py). `densify_grads` turns any gradient left sparse (an embedding whose weight no head
    reads) dense before the optimizer sees it: torch's AdamW takes dense gradients only.
    """
    from model.glm import GLMModel

    embeddings = [m.word_embeddings for m in module.modules() if isinstance(m, GLMModel)]
    for emb in embeddings:
        emb.sparse = True
    return embeddings


def densify_grads(params) -> None:
    for p in params:
        if p.grad is not None and p.grad.is_sparse:
            p.grad = p.grad.to_dense()


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """This rank's batches for one epoch: a permutation seeded by seed + epoch (upstream's sampler convention),
    padded by wrapping around to a multiple of world_size and dealt out rank::world_size, so every rank runs the
    same number of steps."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    if world_size > 1:
        order += order[: (-len(order)) % world_size]
        order = order[rank::world_size]
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class Trainer:
    def __init__(
        self,
        module: nn.Module,
        cfg: TrainConfig,
        rundir: RunDir,
        evaluate: Callable[[nn.Module, str], EvalResult],
        device: torch.device | None = None,
        deepspeed_config: dict | None = None,
        rank: int = 0,
        world_size: int = 1,
        resume: bool = False,
    ):
        self.module = module
        self.cfg = cfg
        self.rundir = rundir
        self.evaluate = evaluate
        self.device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.deepspeed_config = deepspeed_config
        self.rank, self.world_size = rank, world_size
        self.best: dict[str, Any] | None = None
        self.resume = resume

    # ------------------------------------------------------------------ evaluation and the best point
    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        old = self.best["dev"][self.cfg.validation_metric]
        return value > old if self.cfg.metric_mode == "max" else value < old

    def _dev(self, step: int, epoch: int, save: bool = True) -> None:
        result = self.run_eval(self.module, "dev")
        metric = result.metrics.get(self.cfg.validation_metric)
        if metric is None:
            raise KeyError(f"validation metric {self.cfg.validation_metric!r} not among dev metrics {sorted(result.metrics)}")
        self.rundir.log("eval", step=step, epoch=epoch, split="dev", **result.metrics)
        bad = {k: v for k, v in result.metrics.items() if isinstance(v, float) and not math.isfinite(v)}
        if bad:
            raise TrainingDiverged(f"dev {', '.join(f'{k} is {v}' for k, v in bad.items())} at step {step}")
        shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
        log.info("dev at step %d (epoch %d): %s", step, epoch, shown)
        if self._better(metric):
            if save:
                save_trainable(self.module, self.rundir.best_dir, {"step": str(step), "epoch": str(epoch)})
            self.rundir.write_predictions("dev", result.predictions)
            # Only now, with best/ and the predictions on disk, does the run's record name the new best point: a
            # failure while writing them (a full disk) leaves the record naming what the files still hold.
            self.best = {"step": step, "epoch": epoch, "dev": result.metrics}
            self.rundir.write_results(self.results("running"))

    def run_eval(self, module: nn.Module, split: str) -> EvalResult:
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), autocast(self.device, self.cfg.precision):
                return self.evaluate(module, split)
        except FloatingPointError as err:  # model.heads.NonFiniteScores
            raise TrainingDiverged(f"{split} evaluation: {err}") from err
        finally:
            module.train(was_training)

    def results(self, status: str, test: dict | None = None, error: str | None = None) -> dict:
        return {
            "status": status,
            "validation_metric": self.cfg.validation_metric,
            "best": self.best,
            "test": test,
            "error": error,
        }

    # ------------------------------------------------------------------ training
    def fit(self, train_samples: Sequence[Any], collate: Callable[[Sequence[Any]], dict]) -> dict:
        cfg = self.cfg
        seed_everything(cfg.seed)
        self.module.to(self.device)
        warning = precision_warning(self.device, cfg.precision)
        if warning:
            log.warning(warning)
            self.rundir.log("warning", message=warning)
        if cfg.epochs == 0 and self.resume:
            raise ValueError("--resume continues training, but --epochs is 0")
        if cfg.epochs == 0:  # evaluation only (zero-shot, or a loaded run)
            self._dev(0, 0, save=False)  # nothing was trained: the parameters are the loaded ones
            return self.finish()
        total = total_steps(len(train_samples), cfg.batch_size, cfg.epochs, cfg.gradient_accumulation_steps, self.world_size)
        optimizer = build_optimizer(self.module, cfg.lr, cfg.weight_decay, (cfg.adam_beta1, cfg.adam_beta2), cfg.adam_eps,
                                    fused=self.device.type in FUSED_ADAMW_DEVICES)
        scheduler = build_scheduler(optimizer, total, cfg.warmup, cfg.lr_decay_style, cfg.lr_decay_ratio)
        engine = None
        if self.deepspeed_config is not None:
            from .ds import initialize

            engine = initialize(self.module, optimizer, scheduler, self.deepspeed_config)
        scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.precision == "fp16" and engine is None)
        forward = engine if engine is not None else self.module
        sparse = sparse_embedding_grads(self.module) if engine is None and self.device.type == "cpu" else []
        self.module.train()
        checkpoints = Checkpoints(self.rundir.path, cfg.keep_checkpoints, self.rank, self.world_size)
        settings = asdict(cfg)  # a resumed run must have been started with the same
        at = Position(epoch=0, batches_done=0, step=0, micro=0)
        if self.resume:
            at, self.best = checkpoints.restore(self.module, optimizer, scheduler, scaler, engine, settings, len(train_samples))
        step, micro, nonfinite, running = at.step, at.micro, at.nonfinite, at.running
        log.info("training: %d examples, %d epochs, %d optimizer steps, device %s", len(train_samples), cfg.epochs, total, self.device)
        progress = tqdm(total=total, initial=step, desc="train", dynamic_ncols=True, disable=not self.rundir.enabled)
        for epoch in range(at.epoch, cfg.epochs):
            if hasattr(train_samples, "set_epoch"):
                train_samples.set_epoch(epoch)
            batches = epoch_batches(len(train_samples), cfg.batch_size, cfg.seed, epoch, self.rank, self.world_size)
            if cfg.length_buckets:
                lengths = [sample_length(s) for s in train_samples]
                batches = bucketed_order(lengths, batches, cfg.length_buckets, cfg.seed, epoch)
            for done, indices in enumerate(batches, start=1):
                if epoch == at.epoch and done <= at.batches_done:
                    continue  # consumed before the checkpoint this run resumed from
                batch = move(collate([train_samples[i] for i in indices]), self.device)
                with autocast(self.device, cfg.precision) if engine is None else nullcontext():
                    _, loss = forward(batch)
                micro += 1
                boundary = micro % cfg.gradient_accumulation_steps == 0
                if not torch.isfinite(loss):
                    # As upstream: a non-finite loss skips its backward; beyond the budget the run diverged.
                    nonfinite += 1
                    self.rundir.log("nonfinite_loss", step=step, epoch=epoch, loss=float(loss.detach()))
                    if nonfinite > cfg.max_nonfinite_losses:
                        raise TrainingDiverged(f"{nonfinite} non-finite losses by step {step} (the budget is "
                                               f"{cfg.max_nonfinite_losses})")
                    if engine is None and boundary:
                        optimizer.zero_grad(set_to_none=True)
                    continue
                running.append(loss.item())
                if engine is not None:
                    engine.backward(loss)
                    engine.step()
                    if not engine.is_gradient_accumulation_boundary():
                        continue
                else:
                    scaler.scale(loss / cfg.gradient_accumulation_steps).backward()
                    if not boundary:
                        continue
                    if sparse:
                        densify_grads(p for group in optimizer.param_groups for p in group["params"])
                    scaler.unscale_(optimizer)
                    if cfg.clip_grad > 0:
                        torch.nn.utils.clip_grad_norm_(self.module.parameters(), cfg.clip_grad)
                    scaler.step(optimizer)
                    scaler.update()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                step += 1
                progress.update(1)
                if step % cfg.log_interval == 0 or step == 1:
                    mean = sum(running) / len(running)
                    lr = optimizer.param_groups[0]["lr"] if engine is None else engine.get_lr()[0]
                    self.rundir.log("train", step=step, epoch=epoch, loss=mean, lr=lr)
                    progress.set_postfix(loss=f"{mean:.4f}")
                    running = []
                if cfg.eval_interval and step % cfg.eval_interval == 0:
                    self._dev(step, epoch)
                if cfg.save_interval and step % cfg.save_interval == 0:
                    checkpoints.save(Position(epoch, done, step, micro, nonfinite, list(running)), self.module, optimizer,
                                     scheduler, scaler, engine, self.best, settings, len(train_samples))
            if (epoch + 1) % cfg.eval_epoch == 0 or epoch + 1 == cfg.epochs:
                self._dev(step, epoch + 1)
        progress.close()
        return self.finish()

    def finish(self) -> dict:
        """Test with the best-by-dev parameters; results.json marks the run finished."""
        best_file = self.rundir.best_dir / "model.safetensors"
        if best_file.is_file():
            load_trainable(self.module, best_file)
        result = self.run_eval(self.module, "test")
        self.rundir.log("eval", step=self.best["step"] if self.best else 0, split="test", **result.metrics)
        bad = {k: v for k, v in result.metrics.items() if isinstance(v, float) and not math.isfinite(v)}
        if bad:
            raise TrainingDiverged(f"test {', '.join(f'{k} is {v}' for k, v in bad.items())}")
        self.rundir.write_predictions("test", result.predictions)
        return self.rundir.write_results(self.results("finished", test=result.metrics))

