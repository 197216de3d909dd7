#!/usr/bin/env python
"""Fine-tune GLM on a task as blank infilling (or with a linear head), and write a run directory.

    python finetune_glm.py --task ag_news --data-dir data/demo/ag_news --load-pretrained checkpoints/glm-tiny \\
        --pattern-id 0 --epochs 3 --batch-size 16 --lr 1e-4 --experiment-name demo

Flags follow THUDM/GLM's names. They are parsed once here into frozen dataclasses; nothing downstream reads a
global namespace. The run directory (runs/<experiment-name>/, see docs/ARCHITECTURE.md) holds config.json,
metrics.jsonl, results.json, predictions and best/.

`--list-prompts` prints every prompt a task offers and exits. `--epochs 0` evaluates without training
(zero-shot, or a saved run given with --load).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("finetune_glm")


# ---------------------------------------------------------------------------------------------- flags
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("task")
    g.add_argument("--task", required=True, help="task name (e.g. ag_news, dbpedia_14, samsum) or promptsource:<dataset>[/<subset>]")
    g.add_argument("--data-dir", help="local data: train/dev/test .jsonl or .csv in the data set's schema (else the hub)")
    g.add_argument("--pattern-id", type=int, default=0, help="hand-written pattern (prompt) id; see --list-prompts")
    g.add_argument("--prompt", help="a promptsource template by name or id (for promptsource tasks)")
    g.add_argument("--allow-non-original", action="store_true", help="allow promptsource templates not marked original_task")
    g.add_argument("--list-prompts", action="store_true", help="print the prompts the task offers and exit")
    g.add_argument("--seq-length", type=int, default=256, help="maximum input length in tokens")
    g.add_argument("--dev-fraction", type=float, default=0.1, help="share of train held out as dev when there is no dev split")
    g.add_argument("--data-seed", type=int, default=42, help="seed of the stratified dev split")
    g.add_argument("--max-train-examples", type=int, default=0, help="use only the first N training examples (0 = all)")
    g.add_argument("--cloze-eval", action=argparse.BooleanOptionalAction, default=True,
                   help="score label words with the LM head (default); --no-cloze-eval uses a linear classifier head")
    g.add_argument("--multi-token-layout", choices=("packed", "rows"), default="packed",
                   help="multi-token candidates packed in one sequence (default) or one row per candidate (upstream)")
    g.add_argument("--ptuning-v2", action="store_true",
                   help="P-tuning v2: freeze the model, train per-layer key/value prefixes (and a head, if any)")
    g.add_argument("--pre-seq-len", type=int, default=16, help="P-tuning v2 prefix length")
    g.add_argument("--prefix-projection", action="store_true", help="reparameterise prefixes through an MLP")
    g.add_argument("--prefix-hidden-size", type=int, default=512, help="hidden units of that MLP")
    g.add_argument("--length-penalty", type=float, default=0.0, help="multi-token score / len**penalty (0 = sum)")
    g.add_argument("--validation-metric", help="dev metric that selects the best checkpoint (default: the task's first)")

    g = p.add_argument_group("generation (seq2seq tasks)")
    g.add_argument("--src-seq-length", type=int, default=512, help="source budget in tokens ([CLS], prompt words and [MASK] included)")
    g.add_argument("--tgt-seq-length", type=int, default=128, help="target budget in tokens (eop included); also the decoding limit")
    g.add_argument("--min-tgt-length", type=int, default=0, help="eop is forbidden before this many generated tokens")
    g.add_argument("--num-beams", type=int, default=1, help="1 = greedy")
    g.add_argument("--no-repeat-ngram-size", type=int, default=0)
    g.add_argument("--label-smoothing", type=float, default=0.0)
    g.add_argument("--select-topk", action="store_true",
                   help="accepted for THUDM/GLM configs: beam candidates are always the top 2*num_beams (no sampling)")
    g.add_argument("--mask-pad-token", action=argparse.BooleanOptionalAction, default=True,
                   help="exclude source padding from attention (default); --no-mask-pad-token is upstream's original layout")
    g.add_argument("--eval-max-examples", type=int, default=0, help="decode at most N dev examples during training (0 = all)")
    g.add_argument("--no-cache", action="store_true", help="decode by recomputing the whole sequence each step (slow; for checks)")

    g = p.add_argument_group("model")
    g.add_argument("--load-pretrained", help="GLM checkpoint: HF layout dir, original GLM layout dir, or a hub name")
    g.add_argument("--tokenizer-dir", help="vocab.json/merges.txt directory (default: the checkpoint directory)")
    g.add_argument("--mask-id", default="original", choices=("original", "hf"),
                   help="id of [MASK]: original = RoBERTa's <mask> 50264 (GLM's fine-tuning code), hf = 50267")
    g.add_argument("--gelu", choices=("tanh", "erf"), help="GELU variant (default: the checkpoint's, else tanh, the original)")
    g.add_argument("--max-position-embeddings", type=int, help="extend the position tables to this length")
    g.add_argument("--hidden-dropout", type=float, help="override all dropout probabilities of the backbone")
    g.add_argument("--output-dropout", type=float, default=0.1, help="dropout of the classifier head")
    g.add_argument("--checkpoint-activations", action="store_true", help="recompute layers in backward to save memory")

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
    g.add_argument("--method", help=argparse.SUPPRESS)  # recorded by grid search; derived from --cloze-eval otherwise
    return p


@dataclass(frozen=True)
class ModelSpec:
    load_pretrained: str
    tokenizer_dir: str
    mask_id: str
    gelu: str | None
    max_position_embeddings: int | None
    hidden_dropout: float | None
    checkpoint_activations: bool


@dataclass(frozen=True)
class TaskSpec:
    task: str
    data_dir: str | None
    pattern_id: int
    prompt: str | None
    allow_non_original: bool
    seq_length: int
    dev_fraction: float
    data_seed: int
    max_train_examples: int
    method: str
    multi_token_layout: str
    length_penalty: float
    output_dropout: float
    ptuning_v2: bool = False
    pre_seq_len: int = 16
    prefix_projection: bool = False
    prefix_hidden_size: int = 512
    generation: dict | None = None  # seq2seq flags (src/tgt lengths, beams, ...) for generation tasks


def derive_method(a: argparse.Namespace) -> str:
    """The name grid search and reports compare by: cloze | classifier, with a _ptuning_v2 suffix for prefixes."""
    base = "cloze" if a.cloze_eval else "classifier"
    return {"cloze": "ptuning_v2", "classifier": "classifier_ptuning_v2"}[base] if a.ptuning_v2 else base


def generation_flags(a: argparse.Namespace) -> dict:
    return {"src_seq_length": a.src_seq_length, "tgt_seq_length": a.tgt_seq_length, "min_tgt_length": a.min_tgt_length,
            "num_beams": a.num_beams, "length_penalty": a.length_penalty, "no_repeat_ngram_size": a.no_repeat_ngram_size,
            "label_smoothing": a.label_smoothing, "mask_pad_token": a.mask_pad_token,
            "eval_max_examples": a.eval_max_examples, "use_cache": not a.no_cache}


def default_experiment_name(a: argparse.Namespace, method: str) -> str:
    prompt = f"ps-{a.prompt}" if a.prompt else f"p{a.pattern_id}"
    return f"{a.task.replace(':', '-').replace('/', '-')}_{method}_{prompt}_lr{a.lr:g}_bs{a.batch_size}_ep{a.epochs}_s{a.seed}"


def resolve_checkpoint(name: str | None) -> str:
    """A local directory as is; otherwise a hub name, downloaded with huggingface_hub (a clear error offline)."""
    if not name:
        raise SystemExit("--load-pretrained is required: a GLM checkpoint directory or hub name (e.g. THUDM/glm-roberta-large)")
    if Path(name).exists():
        return name
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name, allow_patterns=["*.json", "*.txt", "*.safetensors", "*.bin"])
    except Exception as err:
        raise SystemExit(
            f"--load-pretrained {name!r} is not a local path and could not be fetched from the hub "
            f"({type(err).__name__}). Download it where the hub is reachable and pass the directory instead."
        ) from None


# ---------------------------------------------------------------------------------------------- run
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


def list_prompts(task: str, tokenizer) -> None:
    from training.build import describe_prompts

    for line in describe_prompts(task, tokenizer):
        print(line)


def main(argv: list[str] | None = None) -> dict | None:
    args = build_parser().parse_args(argv)
    if args.fp16 and args.bf16:
        raise SystemExit("choose one of --fp16 and --bf16")
    method = args.method or derive_method(args)

    import torch

    from model.tokenizer import GLMTokenizer

    if args.list_prompts:
        tok_dir = args.tokenizer_dir or (resolve_checkpoint(args.load_pretrained) if args.load_pretrained else str(ROOT / "tests" / "fixtures" / "tokenizer"))
        list_prompts(args.task, GLMTokenizer.from_dir(tok_dir, mask_id=args.mask_id))
        return None

    from model.checkpoint import load_glm
    from training.build import build_task
    from training.loop import TrainConfig, Trainer, load_trainable
    from training.rundir import RunDir

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

    checkpoint = resolve_checkpoint(args.load_pretrained)
    mspec = ModelSpec(checkpoint, args.tokenizer_dir or checkpoint, args.mask_id, args.gelu, args.max_position_embeddings,
                      args.hidden_dropout, args.checkpoint_activations)
    tspec = TaskSpec(args.task, args.data_dir, args.pattern_id, args.prompt, args.allow_non_original, args.seq_length,
                     args.dev_fraction, args.data_seed, args.max_train_examples, method, args.multi_token_layout,
                     args.length_penalty, args.output_dropout, args.ptuning_v2, args.pre_seq_len, args.prefix_projection,
                     args.prefix_hidden_size, generation_flags(args))
    precision = "fp16" if args.fp16 else "bf16" if args.bf16 else "fp32"

    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    torch.manual_seed(args.seed)  # new parameters (heads, extended position rows) are seeded too
    tokenizer = GLMTokenizer.from_dir(mspec.tokenizer_dir, mask_id=mspec.mask_id)
    positions = mspec.max_position_embeddings or max(args.seq_length, args.src_seq_length, args.tgt_seq_length + 1)
    backbone = load_glm(mspec.load_pretrained, gelu=mspec.gelu, max_sequence_length=positions,
                        dropout=mspec.hidden_dropout, checkpoint_activations=mspec.checkpoint_activations)
    if backbone.config.vocab_size < tokenizer.vocab_size:
        raise SystemExit(f"the tokenizer in {mspec.tokenizer_dir} has {len(tokenizer)} tokens but the model only "
                         f"{backbone.config.vocab_size} embedding rows: tokenizer and checkpoint do not belong together")
    built = build_task(tspec, tokenizer, backbone)
    if built.kind == "generation" and not args.method:
        method = "seq2seq"
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
        "args": {**vars(args), "method": method, "experiment_name": experiment, "load_pretrained": checkpoint},
        "command": [sys.executable, *sys.argv] if argv is None else ["finetune_glm.py", *argv],
        "model": dataclasses.asdict(backbone.config),
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
    summary = {"run_dir": str(rundir.path), "best": results["best"], "test": results["test"]}
    if rank == 0:
        print(json.dumps(summary, indent=2))
    return results


if __name__ == "__main__":
    main()
