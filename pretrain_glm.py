#!/usr/bin/env python
"""Pretrain GLM with its blank-infilling objective, or continue pretraining a checkpoint on your own corpus.

    python pretrain_glm.py --train-data corpus.txt --load-pretrained checkpoints/glm-tiny \\
        --seq-length 128 --epochs 3 --batch-size 32 --lr 1e-3 --experiment-name my-pretraining

    # domain-adaptive pretraining of glm-roberta-large, DeepSpeed on GPUs, resumable every 1000 steps
    deepspeed pretrain_glm.py --deepspeed --deepspeed_config config_tasks/ds_config_zero2.json --fp16 \\
        --load-pretrained /path/to/glm-roberta-large --train-data my_domain.jsonl --seq-length 512 \\
        --lr 1e-5 --epochs 1 --save-interval 1000 --experiment-name glm-large-my-domain     # later: add --resume

The corpus is plain text with one document per line, or JSON lines with the text under --text-key. Documents are
split by --split (train,dev,test proportions, as upstream's); the held-out dev loss picks the best point, and the
model at that point is written in the Hugging Face layout (config.json, model.safetensors and the tokenizer files)
to --save-hf (default <run dir>/hf), which finetune_glm.py's --load-pretrained reads. Masking flags follow upstream's
names (--bert-prob, --gap-sentence-prob, --avg-block-length, --gap-sentence-ratio, --gpt-min-ratio, --task-mask,
--no-shuffle-block); docs/PRETRAINING.md describes the objective. The run directory has the usual files
(docs/ARCHITECTURE.md) with `loss` as the validation metric.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.config import add_training_flags  # noqa: E402
from training.driver import command_line, open_run, precision, run  # noqa: E402

log = logging.getLogger("pretrain_glm")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    g = p.add_argument_group("corpus")
    g.add_argument("--train-data", nargs="+", required=True, help="corpus files: .txt (one document per line) or .jsonl")
    g.add_argument("--text-key", default="text", help="the field holding the text in .jsonl files")
    g.add_argument("--split", default="949,50,1", help="train,dev,test proportions of the documents (upstream's flag)")
    g.add_argument("--data-seed", type=int, default=42, help="seed of the document split and of the held-out masks")
    g.add_argument("--seq-length", type=int, default=512, help="tokens per sample, Part A and Part B together")

    g = p.add_argument_group("blank infilling (upstream's flags)")
    g.add_argument("--bert-prob", type=float, default=1.0, help="share of samples with short spans ([MASK])")
    g.add_argument("--gap-sentence-prob", type=float, default=0.0, help="share with whole-sentence spans; the rest: one document-level span")
    g.add_argument("--mask-ratio", type=float, default=0.15, help="share of tokens in short spans")
    g.add_argument("--avg-block-length", type=float, default=3.0, help="Poisson lambda of short-span lengths")
    g.add_argument("--max-block-length", type=int, default=40, help="short spans are 1 .. this - 1 tokens long")
    g.add_argument("--gap-sentence-ratio", type=float, default=0.15, help="share of tokens in sentence spans")
    g.add_argument("--gpt-min-ratio", type=float, default=0.5, help="a document-level span covers at least this share")
    g.add_argument("--task-mask", action=argparse.BooleanOptionalAction, default=True,
                   help="[gMASK] / [sMASK] for document / sentence spans (default); --no-task-mask uses [MASK] for all")
    g.add_argument("--no-shuffle-block", action="store_true", help="keep Part B in text order instead of shuffling")

    g = p.add_argument_group("model")
    g.add_argument("--load-pretrained", required=True, help="GLM checkpoint to start from: HF layout or original GLM layout")
    g.add_argument("--tokenizer-dir", help="vocab.json/merges.txt directory (default: the checkpoint directory)")
    g.add_argument("--mask-id", default="original", choices=("original", "hf"), help="id of [MASK] (as finetune_glm.py)")
    g.add_argument("--gelu", choices=("tanh", "erf"), help="GELU variant (default: the checkpoint's, else tanh)")
    g.add_argument("--hidden-dropout", type=float, help="override all dropout probabilities of the backbone")
    g.add_argument("--checkpoint-activations", action="store_true", help="recompute layers in backward to save memory")
    g.add_argument("--save-hf", help="where the pretrained model goes in the HF layout (default: <run dir>/hf)")

    add_training_flags(p)
    p.set_defaults(validation_metric=None)  # the held-out loss (run() reads this attribute)
    return p


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise SystemExit(f"--split must be three comma-separated proportions train,dev,test (e.g. 949,50,1), got {text!r}")
    return values  # type: ignore[return-value]


def default_experiment_name(a: argparse.Namespace) -> str:
    return f"pretrain_{Path(a.train_data[0]).stem}_seq{a.seq_length}_lr{a.lr:g}_bs{a.batch_size}_ep{a.epochs}_s{a.seed}"


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    precision(args)

    from finetune_glm import resolve_checkpoint
    from model.checkpoint import load_glm, save_hf
    from model.tokenizer import GLMTokenizer
    from tasks.pretraining import MaskingConfig
    from training.pretrain import PretrainSpec, build_pretraining

    try:
        masking = MaskingConfig(bert_prob=args.bert_prob, gap_sentence_prob=args.gap_sentence_prob, mask_ratio=args.mask_ratio,
                                avg_block_length=args.avg_block_length, max_block_length=args.max_block_length,
                                gap_sentence_ratio=args.gap_sentence_ratio, gpt_min_ratio=args.gpt_min_ratio,
                                shuffle_blocks=not args.no_shuffle_block, task_mask=args.task_mask)
    except ValueError as err:
        raise SystemExit(f"masking flags: {err}") from None
    spec = PretrainSpec(tuple(args.train_data), args.text_key, parse_split(args.split), args.seq_length, args.seed,
                        args.data_seed, masking)
    ctx = open_run(args, args.experiment_name or default_experiment_name(args))
    checkpoint = resolve_checkpoint(args.load_pretrained)
    tokenizer_dir = args.tokenizer_dir or checkpoint
    tokenizer = GLMTokenizer.from_dir(tokenizer_dir, mask_id=args.mask_id)
    backbone = load_glm(checkpoint, gelu=args.gelu, max_sequence_length=args.seq_length, dropout=args.hidden_dropout,
                        checkpoint_activations=args.checkpoint_activations)
    if backbone.config.vocab_size < len(tokenizer):
        raise SystemExit(f"the tokenizer in {tokenizer_dir} has {len(tokenizer)} tokens but the model only "
                         f"{backbone.config.vocab_size} embedding rows: tokenizer and checkpoint do not belong together")
    built = build_pretraining(spec, tokenizer, backbone)

    def config_record(cfg, ds_config) -> dict:
        return {
            "args": {**vars(args), "method": "blank_infilling", "experiment_name": ctx.experiment, "load_pretrained": checkpoint},
            "command": command_line(argv, "pretrain_glm.py"),
            "model": dataclasses.asdict(backbone.config),
            "data": built.data_record,
        }

    results = run(args, ctx, built, config_record)
    if ctx.rank == 0:  # the module now holds the best-by-dev parameters (Trainer.finish loaded them)
        out = save_hf(built.module.backbone, args.save_hf or ctx.rundir.path / "hf", tokenizer_dir=tokenizer_dir)
        log.info("pretrained model (best dev loss) in the HF layout: %s", out)
        results = {**results, "hf": str(out)}
    return results


if __name__ == "__main__":
    main()
