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
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.driver import add_training_flags, command_line, open_run, precision, run  # noqa: E402

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

    add_training_flags(p)
    p.add_argument("--method", help=argparse.SUPPRESS)  # recorded by grid search; derived from --cloze-eval otherwise
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
def list_prompts(task: str, tokenizer) -> None:
    from training.build import describe_prompts

    for line in describe_prompts(task, tokenizer):
        print(line)


def main(argv: list[str] | None = None) -> dict | None:
    args = build_parser().parse_args(argv)
    precision(args)  # rejects --fp16 with --bf16 before anything is loaded
    method = args.method or derive_method(args)


    from model.tokenizer import GLMTokenizer

    if args.list_prompts:
        tok_dir = args.tokenizer_dir or (resolve_checkpoint(args.load_pretrained) if args.load_pretrained else str(ROOT / "tests" / "fixtures" / "tokenizer"))
        list_prompts(args.task, GLMTokenizer.from_dir(tok_dir, mask_id=args.mask_id))
        return None

    from model.checkpoint import load_glm
    from training.build import build_task

    ctx = open_run(args, args.experiment_name or default_experiment_name(args, method))
    checkpoint = resolve_checkpoint(args.load_pretrained)
    mspec = ModelSpec(checkpoint, args.tokenizer_dir or checkpoint, args.mask_id, args.gelu, args.max_position_embeddings,
                      args.hidden_dropout, args.checkpoint_activations)
    tspec = TaskSpec(args.task, args.data_dir, args.pattern_id, args.prompt, args.allow_non_original, args.seq_length,
                     args.dev_fraction, args.data_seed, args.max_train_examples, method, args.multi_token_layout,
                     args.length_penalty, args.output_dropout, args.ptuning_v2, args.pre_seq_len, args.prefix_projection,
                     args.prefix_hidden_size, generation_flags(args))
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

    def config_record(cfg, ds_config) -> dict:
        return {
            "args": {**vars(args), "method": method, "experiment_name": ctx.experiment, "load_pretrained": checkpoint},
            "command": command_line(argv, "finetune_glm.py"),
            "model": dataclasses.asdict(backbone.config),
            "data": built.data_record,
        }

    return run(args, ctx, built, config_record)

if __name__ == "__main__":
    main()
