#!/usr/bin/env python
"""Fine-tune a baseline (RoBERTa, BART or T5) on a task and write a run directory in the GLM runs' format.

    python finetune_baseline.py --baseline roberta --task ag_news --data-dir data/demo/ag_news \\
        --model-name-or-path DIR --epochs 3 --batch-size 16 --lr 1e-5 --experiment-name roberta-demo

The baselines exist to be compared with GLM, so everything but the model is GLM's: the task processors and
their splits (including the seeded stratified dev split), the metrics, the training loop, optimizer and
schedule, and the run directory (config.json, metrics.jsonl, results.json, predictions, best/; see
docs/ARCHITECTURE.md). Flags that mean the same as finetune_glm.py's have its names and defaults.

    --baseline roberta   linear head on <s>                       classification   method roberta_linear
    --baseline bart      linear head on the last </s>             classification   method bart_linear
                         encoder-decoder generation               seq2seq          method bart
    --baseline t5        text to text (label texts scored)        classification   method t5
                         text to text                             seq2seq          method t5

--model-name-or-path is a local Hugging Face model directory or a hub name (default: the baseline's
large model). docs/BASELINES.md has the details and the commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from finetune_glm import setup_logging, versions  # noqa: E402

log = logging.getLogger("finetune_baseline")

BASELINE_NAMES = ("roberta", "bart", "t5")  # training.baselines.BASELINES, without importing transformers for --help


# ---------------------------------------------------------------------------------------------- flags
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("baseline")
    g.add_argument("--baseline", required=True, choices=BASELINE_NAMES, help="the baseline model family")
    g.add_argument("--model-name-or-path", help="Hugging Face model directory or hub name (default: the baseline's large model)")
    g.add_argument("--source-prefix", help='text before every input (default: "<task>: " for t5, nothing otherwise)')
    g.add_argument("--hidden-dropout", type=float, help="override all dropout probabilities of the backbone")
    g.add_argument("--output-dropout", type=float, help="dropout of the linear head (default: the checkpoint's)")
    g.add_argument("--checkpoint-activations", action="store_true", help="recompute layers in backward to save memory")

    g = p.add_argument_group("task")
    g.add_argument("--task", required=True, help="task name (e.g. ag_news, dbpedia_14; seq2seq tasks with bart and t5)")
    g.add_argument("--data-dir", help="local data: the split files the task's processor reads (else the hub)")
    g.add_argument("--seq-length", type=int, default=256, help="maximum input length in tokens (classification)")
    g.add_argument("--dev-fraction", type=float, default=0.1, help="share of train held out as dev when there is no dev split")
    g.add_argument("--data-seed", type=int, default=42, help="seed of the stratified dev split")
    g.add_argument("--max-train-examples", type=int, default=0, help="use only the first N training examples (0 = all)")
    g.add_argument("--validation-metric", help="dev metric that selects the best checkpoint (default: the task's first)")
    g.add_argument("--length-penalty", type=float, default=0.0,
                   help="score / len**penalty: label texts (t5 classification) and beams (seq2seq); 0 = sum")

    g = p.add_argument_group("seq2seq")
    g.add_argument("--src-seq-length", type=int, default=512, help="maximum source length in tokens")
    g.add_argument("--tgt-seq-length", type=int, default=128, help="maximum target length in tokens (training and decoding)")
    g.add_argument("--min-tgt-length", type=int, default=0, help="generate at least this many tokens")
    g.add_argument("--num-beams", type=int, default=1, help="beam width (1 = greedy)")
    g.add_argument("--no-repeat-ngram-size", type=int, default=0, help="forbid repeating n-grams of this size (0 = off)")
    g.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the target-token loss")
    g.add_argument("--select-topk", action="store_true",
                   help="accepted for THUDM/GLM configs: beam candidates are always the top ones (no sampling)")
    g.add_argument("--eval-max-examples", type=int, default=0, help="decode only the first N dev examples (0 = all; test: all)")
    g.add_argument("--no-cache", action="store_true", help="decode without the key/value cache (slow; for checks)")

    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=3)
    g.add_argument("--batch-size", type=int, default=8, help="per device")
    g.add_argument("--eval-batch-size", type=int, help="default: batch size")
    g.add_argument("--gradient-accumulation-steps", type=int, default=1)
    g.add_argument("--lr", type=float, default=1e-5)
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--warmup", type=float, default=0.01, help="warmup steps as a fraction of all optimizer steps")
    g.add_argument("--lr-decay-style", choices=("linear", "cosine", "constant"), default="linear")
    g.add_argument("--lr-decay-ratio", type=float, default=0.1, help="the schedule ends at ratio * lr")
    g.add_argument("--clip-grad", type=float, default=1.0)
    g.add_argument("--adam-beta1", type=float, default=0.9)
    g.add_argument("--adam-beta2", type=float, default=0.999)
    g.add_argument("--adam-eps", type=float, default=1e-8)
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("--fp16", action="store_true")
    g.add_argument("--bf16", action="store_true")
    g.add_argument("--eval-interval", type=int, default=0, help="dev evaluation every N optimizer steps (0: epoch ends only)")
    g.add_argument("--eval-epoch", type=int, default=1, help="dev evaluation every N epochs")
    g.add_argument("--log-interval", type=int, default=10)
    g.add_argument("--num-threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    g.add_argument("--deepspeed", action="store_true", help="train through deepspeed.initialize")
    g.add_argument("--deepspeed_config", "--deepspeed-config", dest="deepspeed_config", help="DeepSpeed JSON")
    g.add_argument("--local_rank", "--local-rank", dest="local_rank", type=int, default=int(os.environ.get("LOCAL_RANK", 0)),
                   help=argparse.SUPPRESS)

    g = p.add_argument_group("run")
    g.add_argument("--experiment-name", help="run directory name under --save (default: derived from the flags)")
    g.add_argument("--save", "--save-dir", dest="save", default="runs", help="root of run directories")
    g.add_argument("--load", help="a run directory (or its best/) whose trained parameters to load")
    g.add_argument("--overwrite", action="store_true", help="replace a finished run of the same name")
    return p


def default_experiment_name(a: argparse.Namespace, method: str) -> str:
    return f"{a.task.replace(':', '-').replace('/', '-')}_{method}_lr{a.lr:g}_bs{a.batch_size}_ep{a.epochs}_s{a.seed}"


# ---------------------------------------------------------------------------------------------- run
def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    if args.fp16 and args.bf16:
        raise SystemExit("choose one of --fp16 and --bf16")

    import torch

    from training.baselines import BASELINES, BaselineSpec, build_baseline, task_family
    from training.loop import TrainConfig, Trainer, load_trainable
    from training.rundir import RunDir

    baseline = BASELINES[args.baseline]
    family = task_family(args.task)
    method = baseline.method(family)  # a task the baseline cannot do stops here, before any file is written
    prefix = args.source_prefix if args.source_prefix is not None else baseline.source_prefix.format(task=args.task)
    spec = BaselineSpec(
        baseline=baseline, model_name_or_path=args.model_name_or_path or baseline.default_model, task=args.task,
        family=family, data_dir=args.data_dir, seq_length=args.seq_length, dev_fraction=args.dev_fraction,
        data_seed=args.data_seed, max_train_examples=args.max_train_examples, source_prefix=prefix,
        hidden_dropout=args.hidden_dropout, output_dropout=args.output_dropout,
        checkpoint_activations=args.checkpoint_activations, length_penalty=args.length_penalty,
        src_seq_length=args.src_seq_length, tgt_seq_length=args.tgt_seq_length, min_tgt_length=args.min_tgt_length,
        num_beams=args.num_beams, no_repeat_ngram_size=args.no_repeat_ngram_size, label_smoothing=args.label_smoothing,
        eval_max_examples=args.eval_max_examples, use_cache=not args.no_cache,
    )

    world_size = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    experiment = args.experiment_name or default_experiment_name(args, method)
    rundir = RunDir(Path(args.save) / experiment, enabled=rank == 0)
    previous = rundir.read_results() if rank == 0 else None
    if previous and previous.get("status") == "finished" and not args.overwrite:
        raise SystemExit(f"{rundir.path} already holds a finished run; pass --overwrite to replace it")
    if rank == 0:
        (rundir.path / "metrics.jsonl").unlink(missing_ok=True)
    setup_logging(rundir.path if rank == 0 else None)
    precision = "fp16" if args.fp16 else "bf16" if args.bf16 else "fp32"

    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    torch.manual_seed(args.seed)  # the new heads are seeded
    built = build_baseline(spec)
    if args.load:
        best = Path(args.load) / "best" / "model.safetensors"
        best = best if best.is_file() else Path(args.load) / "model.safetensors"
        names = load_trainable(built.module, best)
        log.info("loaded %d trained tensors from %s", len(names), best)

    device = torch.device(f"cuda:{args.local_rank}" if torch.cuda.is_available() else "cpu")
    cfg = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, eval_batch_size=args.eval_batch_size or args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, warmup=args.warmup, lr_decay_style=args.lr_decay_style,
        lr_decay_ratio=args.lr_decay_ratio, gradient_accumulation_steps=args.gradient_accumulation_steps,
        clip_grad=args.clip_grad, adam_beta1=args.adam_beta1, adam_beta2=args.adam_beta2, adam_eps=args.adam_eps,
        seed=args.seed, eval_interval=args.eval_interval, eval_epoch=args.eval_epoch, log_interval=args.log_interval,
        precision=precision, validation_metric=args.validation_metric or built.validation_metric,
        metric_mode=built.metric_mode,
    )
    ds_config = None
    if args.deepspeed:
        from training.ds import load_config, reconcile

        raw = load_config(args.deepspeed_config) if args.deepspeed_config else {"zero_optimization": {"stage": 0}}
        ds_config = reconcile(raw, batch_size=cfg.batch_size, grad_accum=cfg.gradient_accumulation_steps, clip_grad=cfg.clip_grad,
                              precision=precision, lr=cfg.lr, weight_decay=cfg.weight_decay,
                              betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps, world_size=world_size,
                              source=args.deepspeed_config or "default DeepSpeed config")

    rundir.write_config({
        "args": {**vars(args), "method": method, "experiment_name": experiment,
                 "model_name_or_path": spec.model_name_or_path, "source_prefix": prefix},
        "command": [sys.executable, *sys.argv] if argv is None else ["finetune_baseline.py", *argv],
        "model": built.module.model.config.to_dict(),
        "train": dataclasses.asdict(cfg),
        "deepspeed": ds_config,
        "data": built.data_record,
        "versions": versions(),
        "world_size": world_size,
    })
    log.info("run directory: %s", rundir.path)
    trainer = Trainer(built.module, cfg, rundir, built.evaluator(cfg.eval_batch_size, device), device, ds_config, rank, world_size)
    try:
        results = trainer.fit(built.train_samples, built.collate)
    except BaseException as err:
        rundir.write_results(trainer.results("failed", error=f"{type(err).__name__}: {err}"))
        raise
    if rank == 0:
        print(json.dumps({"run_dir": str(rundir.path), "best": results["best"], "test": results["test"]}, indent=2))
    return results


if __name__ == "__main__":
    main()
