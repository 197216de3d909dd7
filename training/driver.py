"""What the two drivers (finetune_glm.py, finetune_baseline.py) share once their flags are parsed (the flag groups
are in training/config.py): the run itself (run directory, TrainConfig, DeepSpeed reconciliation, the Trainer,
the failure record, the summary).

Keeping these in one place is what makes a GLM run and a baseline run comparable: the same flag names and
defaults, the same loop and the same run-directory files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .rundir import hyperparameters_of

log = logging.getLogger("finetune")


def precision(args: argparse.Namespace) -> str:
    if args.fp16 and args.bf16:
        raise SystemExit("choose one of --fp16 and --bf16")
    return "fp16" if args.fp16 else "bf16" if args.bf16 else "fp32"


def default_threads(requested: int = 0) -> int:
    """Torch's CPU threads: the requested number; else OMP_NUM_THREADS when set (a sweep running trials side by
    side sets it to 1 for each); else the cores this process may run on, which on a shared or pinned machine is
    fewer than torch's default (all physical cores) and so does not oversubscribe."""
    if requested > 0:
        return requested
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        allowed = os.cpu_count() or 1
    import torch

    return max(1, min(allowed, torch.get_num_threads()))


def compile_layers(module: Any) -> int:
    """torch.compile every transformer layer in place (nn.Module.compile keeps parameter names, so checkpoints
    and trainable-parameter files are unchanged); returns how many layers were compiled."""
    import torch

    from model.glm import GLMBlock

    layers = [m for m in module.modules() if isinstance(m, GLMBlock)]
    if not layers:
        raise SystemExit("--compile: the model has no GLM transformer layers to compile")
    for layer in layers:
        layer.compile(dynamic=None)
    log.info("compiled %d transformer layers with torch.compile (torch %s)", len(layers), torch.__version__)
    return len(layers)


def setup_logging(run_path: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if run_path is not None:
        run_path.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(run_path / "log.txt", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True)


def versions() -> dict:
    import tokenizers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "cuda": torch.version.cuda, "platform": platform.platform()}


class Terminated(KeyboardInterrupt):
    """SIGTERM (a sweep stopping its trial, a scheduler ending a job): the run is recorded failed, not left running."""


def _terminate(signum, frame) -> None:
    raise Terminated(f"stopped by {signal.Signals(signum).name}")


@dataclasses.dataclass
class RunContext:
    rundir: Any  # training.rundir.RunDir
    experiment: str
    rank: int
    world_size: int
    previous_sigterm: Any = None

    def close(self) -> None:
        """Release the run directory's lock and the SIGTERM handler."""
        self.rundir.unlock()
        if self.previous_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.previous_sigterm)
            self.previous_sigterm = None


def open_run(args: argparse.Namespace, experiment: str) -> RunContext:
    """The run directory (only rank 0 writes), locked against a second writer. A finished run is replaced only
    with --overwrite; an interrupted run with resumable checkpoints is continued (as with --resume) unless
    --overwrite is given; anything else of an earlier run is removed before the new one starts."""
    import torch

    from .resume import Checkpoints
    from .rundir import RunDir, RunDirError, run_path

    world_size = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    if world_size > 1 and not args.deepspeed:
        # Without DeepSpeed nothing reduces gradients across processes: each rank would train its own model on
        # its share of the data, and every rank would write best/.
        raise SystemExit(f"WORLD_SIZE is {world_size} but --deepspeed is not given: this launch would train "
                         f"{world_size} unsynchronised models. Pass --deepspeed (with --deepspeed_config) for "
                         "multi-process training, or launch one process")
    if args.resume and args.overwrite:
        raise SystemExit("--resume continues a run, --overwrite replaces it: choose one")
    try:
        rundir = RunDir(run_path(args.save, experiment), enabled=rank == 0)
        rundir.lock()
    except RunDirError as err:
        raise SystemExit(str(err)) from None
    ctx = RunContext(rundir, experiment, rank, world_size)
    try:
        _prepare(args, rundir, Checkpoints(rundir.path), rank)
    except BaseException:
        ctx.close()
        raise
    if threading.current_thread() is threading.main_thread():
        ctx.previous_sigterm = signal.signal(signal.SIGTERM, _terminate)
    setup_logging(rundir.path if rank == 0 else None)
    torch.set_num_threads(default_threads(args.num_threads))
    torch.manual_seed(args.seed)  # new parameters (heads, prefixes, extended position rows) are seeded too
    return ctx


def _prepare(args: argparse.Namespace, rundir, checkpoints, rank: int) -> None:
    """Decide, on rank 0, between continuing and replacing what the run directory holds, and clean it."""
    from .rundir import RunDirError

    if rank != 0:
        return
    try:
        previous = rundir.read_results()
    except RunDirError:
        previous = None  # unreadable: an interrupted run; what it left is replaced below
    status = previous.get("status") if isinstance(previous, dict) else None
    if status == "finished" and not args.overwrite:
        raise SystemExit(f"{rundir.path} already holds a finished run; " +
                         ("there is nothing to resume" if args.resume else "pass --overwrite to replace it"))
    removed = rundir.remove_temp_files()
    if removed:
        log.warning("removed %d temporary files left by an interrupted writer: %s", len(removed),
                    ", ".join(p.name for p in removed[:5]))
    if not args.resume and not args.overwrite and status != "diverged" and args.epochs > 0 and checkpoints.complete():
        args.resume = True  # re-running the command of an interrupted run continues it exactly
        print(f"{rundir.path}: continuing the interrupted run from {checkpoints.complete()[-1].name} "
              "(pass --overwrite to start it again)", file=sys.stderr)
    if not args.resume:
        rundir.clear()  # a resumed run keeps its files; metrics.jsonl and best/ are cut back to the checkpoint


def run(args: argparse.Namespace, ctx: RunContext, built, config_record: Callable[[Any, dict | None], dict]) -> dict:
    """Load --load parameters, build TrainConfig and the DeepSpeed config, write config.json, train and test.

    `built` has module, train_samples, collate, evaluator(batch_size, device), validation_metric, metric_mode;
    `config_record(train_config, deepspeed_config)` returns config.json's content.
    """
    import torch

    from .loop import TrainConfig, Trainer, TrainingDiverged

    if args.load:
        _load_run(built.module, Path(args.load))
    prec = precision(args)
    device = torch.device(f"cuda:{args.local_rank}" if torch.cuda.is_available() else "cpu")
    cfg = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, eval_batch_size=args.eval_batch_size or args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, warmup=args.warmup, lr_decay_style=args.lr_decay_style,
        lr_decay_ratio=args.lr_decay_ratio, gradient_accumulation_steps=args.gradient_accumulation_steps,
        clip_grad=args.clip_grad, adam_beta1=args.adam_beta1, adam_beta2=args.adam_beta2, adam_eps=args.adam_eps,
        seed=args.seed, eval_interval=args.eval_interval, eval_epoch=args.eval_epoch, log_interval=args.log_interval,
        precision=prec, validation_metric=args.validation_metric or built.validation_metric, metric_mode=built.metric_mode,
        save_interval=args.save_interval, keep_checkpoints=args.keep_checkpoints,
        length_buckets=getattr(args, "length_buckets", 0),
    )
    if getattr(args, "compile", False):
        compile_layers(built.module)
    ds_config = None
    if args.deepspeed:
        from .ds import load_config, reconcile

        raw = load_config(args.deepspeed_config) if args.deepspeed_config else {"zero_optimization": {"stage": 0}}
        ds_config = reconcile(raw, batch_size=cfg.batch_size, grad_accum=cfg.gradient_accumulation_steps, clip_grad=cfg.clip_grad,
                              precision=prec, lr=cfg.lr, weight_decay=cfg.weight_decay,
                              betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps, world_size=ctx.world_size,
                              source=args.deepspeed_config or "default DeepSpeed config")
    record = config_record(cfg, ds_config)
    record.update(train=dataclasses.asdict(cfg), deepspeed=ds_config, versions=versions(), world_size=ctx.world_size,
                  parameters=parameter_counts(built.module))
    identity = record.get("identity")
    if identity is not None:  # fine-tuning drivers; pretraining records no identity
        identity["params"] = {k: record["parameters"][k] for k in ("total", "trainable")}
    record["hyperparameters"] = hyperparameters_of(record.get("args", vars(args)), (identity or {}).get("peft"))
    ctx.rundir.write_config(record)
    log.info("run directory: %s", ctx.rundir.path)
    trainer = Trainer(built.module, cfg, ctx.rundir, built.evaluator(cfg.eval_batch_size, device), device, ds_config,
                      ctx.rank, ctx.world_size, resume=args.resume)
    counter = TokenCounter(built.collate)
    started = time.perf_counter()
    try:
        results = trainer.fit(built.train_samples, counter)
    except TrainingDiverged as err:
        ctx.rundir.write_results(trainer.results("diverged", error=str(err)))
        raise SystemExit(f"{ctx.rundir.path}: the run diverged ({err}); it is recorded as diverged. Lower --lr "
                         "or check the checkpoint's weights") from None
    except BaseException as err:
        ctx.rundir.write_results(trainer.results("failed", error=f"{type(err).__name__}: {err}"))
        raise
    else:
        # What the run cost, for the report's tables: seconds of training and test in this process (a resumed run
        # counts its last part only) and the input positions (padding included) fed to the model in training.
        results["cost"] = {"wall_s": round(time.perf_counter() - started, 3), "tokens_seen": counter.tokens,
                           "resumed": bool(args.resume)}
        ctx.rundir.write_results(results)
        after_run = getattr(built, "after_run", None)
        if after_run is not None and ctx.rank == 0:
            written = after_run(ctx.rundir.path)
            if written is not None:
                log.info("submission file: %s", written)
    finally:
        ctx.close()
    if ctx.rank == 0:
        print(json.dumps({"run_dir": str(ctx.rundir.path), "best": results["best"], "test": results["test"]}, indent=2))
    return results


def _load_run(module, load: Path) -> None:
    """--load: a run directory (or its best/) whose trained parameters must cover every parameter this run
    trains; a run of another head or method would otherwise leave the new ones at their random start."""
    from model.checkpoint import CheckpointError
    from model.peft import load_trainable

    candidates = [load / "best" / "model.safetensors", load / "model.safetensors"]
    best = next((p for p in candidates if p.is_file()), None)
    if best is None:
        raise SystemExit(f"--load {load}: neither {candidates[0]} nor {candidates[1]} exists; give a run directory "
                         "that finished training (or its best/)")
    try:
        names = set(load_trainable(module, best))
    except (CheckpointError, KeyError, ValueError) as err:
        raise SystemExit(f"--load {load}: {err.args[0] if err.args else err}") from None
    missing = [n for n, p in module.named_parameters() if p.requires_grad and n not in names]
    if missing:
        raise SystemExit(f"--load {load}: {best} holds no values for {len(missing)} parameters this run trains "
                         f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): it was trained with "
                         "another head or method; use the same --cloze-eval/--ptuning-v2 flags as that run")
    log.info("loaded %d trained tensors from %s", len(names), best)


def parameter_counts(module) -> dict[str, int]:
    """config.json's "parameters": what trains, everything, and the pretrained backbone alone (a GLM's, adapters
    excluded; for a baseline, everything), so reports can say what share of the backbone a method trains."""
    from model.glm import GLMModel

    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    total = sum(p.numel() for p in module.parameters())
    glm = next((m for m in module.modules() if isinstance(m, GLMModel)), None)
    backbone = total if glm is None else sum(p.numel() for n, p in glm.named_parameters() if ".lora_" not in n)
    return {"trainable": trainable, "total": total, "backbone": backbone}


class TokenCounter:
    """The collate function, counting the input positions of every training batch it builds."""

    def __init__(self, collate: Callable):
        self.collate, self.tokens = collate, 0

    def __call__(self, samples):
        batch = self.collate(samples)
        ids = batch.get("input_ids") if isinstance(batch, dict) else None
        if ids is not None and hasattr(ids, "numel"):
            self.tokens += int(ids.numel())
        return batch


def command_line(argv: list[str] | None, script: str) -> list[str]:
    return [sys.executable, *sys.argv] if argv is None else [script, *argv]
