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
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
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
    )
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
    identity = record.get("identity")
    if identity is not None:  # fine-tuning drivers; pretraining records no identity
        identity["params"] = parameter_counts(built.module)
    record["hyperparameters"] = hyperparameters_of(record.get("args", vars(args)), (identity or {}).get("peft"))
    ctx.rundir.write_config(record)
    log.info("run directory: %s", ctx.rundir.path)
    trainer = Trainer(built.module, cfg, ctx.rundir, built.evaluator(cfg.eval_batch_size, device), device, ds_config,
                      ctx.rank, ctx.world_size, resume=args.resume)
    counter = TokenCounter(built.collate)
    started = time.perf_counter()
    try:
        results = trainer.fit(built.train_samples, counter)
    except BaseException as err:
        ctx.rundir.write_results(trainer.results("failed", error=f"{type(err).__name__}: {err}"))
        raise
    # What the run cost, for the report's tables: seconds of training and test in this process (a resumed run
    # counts its last part only) and the input positions (padding included) fed to the model in training.
    results["cost"] = {"wall_s": round(time.perf_counter() - started, 3), "tokens_seen": counter.tokens,
                       "resumed": bool(args.resume)}
    ctx.rundir.write_results(results)
    if ctx.rank == 0:
        print(json.dumps({"run_dir": str(ctx.rundir.path), "best": results["best"], "test": results["test"]}, indent=2))
    return results


def parameter_counts(module) -> dict[str, int]:
    """Total and trainable parameters of the task module (a frozen backbone under PEFT counts as not trainable)."""
    params = list(module.parameters())
    return {"total": sum(p.numel() for p in params), "trainable": sum(p.numel() for p in params if p.requires_grad)}


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
