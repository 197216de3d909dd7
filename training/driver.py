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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@dataclasses.dataclass
class RunContext:
    rundir: Any  # training.rundir.RunDir
    experiment: str
    rank: int
    world_size: int


def open_run(args: argparse.Namespace, experiment: str) -> RunContext:
    """The run directory (only rank 0 writes), refusing to replace a finished run without --overwrite."""
    import torch

    from .rundir import RunDir

    world_size = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    rundir = RunDir(Path(args.save) / experiment, enabled=rank == 0)
    previous = rundir.read_results() if rank == 0 else None
    if args.resume and args.overwrite:
        raise SystemExit("--resume continues a run, --overwrite replaces it: choose one")
    if previous and previous.get("status") == "finished" and not args.overwrite:
        raise SystemExit(f"{rundir.path} already holds a finished run; " +
                         ("there is nothing to resume" if args.resume else "pass --overwrite to replace it"))
    if rank == 0 and not args.resume:  # a resumed run keeps its log, cut back to the checkpoint (training/resume.py)
        (rundir.path / "metrics.jsonl").unlink(missing_ok=True)
    setup_logging(rundir.path if rank == 0 else None)
    torch.set_num_threads(default_threads(args.num_threads))
    torch.manual_seed(args.seed)  # new parameters (heads, prefixes, extended position rows) are seeded too
    return RunContext(rundir, experiment, rank, world_size)


def run(args: argparse.Namespace, ctx: RunContext, built, config_record: Callable[[Any, dict | None], dict]) -> dict:
    """Load --load parameters, build TrainConfig and the DeepSpeed config, write config.json, train and test.

    `built` has module, train_samples, collate, evaluator(batch_size, device), validation_metric, metric_mode;
    `config_record(train_config, deepspeed_config)` returns config.json's content.
    """
    import torch

    from model.peft import load_trainable

    from .loop import TrainConfig, Trainer

    if args.load:
        best = Path(args.load) / "best" / "model.safetensors"
        best = best if best.is_file() else Path(args.load) / "model.safetensors"
        names = load_trainable(built.module, best)
        log.info("loaded %d trained tensors from %s", len(names), best)
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
    record.update(train=dataclasses.asdict(cfg), deepspeed=ds_config, versions=versions(), world_size=ctx.world_size)
    ctx.rundir.write_config(record)
    log.info("run directory: %s", ctx.rundir.path)
    trainer = Trainer(built.module, cfg, ctx.rundir, built.evaluator(cfg.eval_batch_size, device), device, ds_config,
                      ctx.rank, ctx.world_size, resume=args.resume)
    try:
        results = trainer.fit(built.train_samples, built.collate)
    except BaseException as err:
        ctx.rundir.write_results(trainer.results("failed", error=f"{type(err).__name__}: {err}"))
        raise
    if ctx.rank == 0:
        print(json.dumps({"run_dir": str(ctx.rundir.path), "best": results["best"], "test": results["test"]}, indent=2))
    return results


def command_line(argv: list[str] | None, script: str) -> list[str]:
    return [sys.executable, *sys.argv] if argv is None else [script, *argv]
