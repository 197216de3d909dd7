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
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.config import add_generation_flags, add_task_flags, add_training_flags, identity, new_parser, parse  # noqa: E402
from training.driver import command_line, open_run, precision, run  # noqa: E402

log = logging.getLogger("finetune_baseline")

BASELINE_NAMES = ("roberta", "bart", "t5")  # training.baselines.BASELINES, without importing transformers for --help


# ---------------------------------------------------------------------------------------------- flags
def build_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    g = p.add_argument_group("baseline")
    g.add_argument("--baseline", required=True, choices=BASELINE_NAMES, help="the baseline model family")
    g.add_argument("--model-name-or-path", help="Hugging Face model directory or hub name (default: the baseline's large model)")
    g.add_argument("--source-prefix", help='text before every input (default: "<task>: " for t5, nothing otherwise)')
    g.add_argument("--hidden-dropout", type=float, help="override all dropout probabilities of the backbone")
    g.add_argument("--output-dropout", type=float, help="dropout of the linear head (default: the checkpoint's)")
    g.add_argument("--checkpoint-activations", action="store_true", help="recompute layers in backward to save memory")
    g = add_task_flags(p)
    g.add_argument("--prompt", help="promptsource tasks: the template (name or id) whose rendered text is the input (default 0)")
    g.add_argument("--allow-non-original", action="store_true", help="allow promptsource templates not marked original_task")
    add_generation_flags(p)
    add_training_flags(p)
    return p


def head_of(method: str, family: str) -> str:
    """The head a baseline method trains: a linear head, an LM for generation, or label texts scored by the LM."""
    if method.endswith("_linear"):
        return "linear"
    return "lm" if family == "seq2seq" else "text_to_text"


def default_experiment_name(a: argparse.Namespace, method: str) -> str:
    return f"{a.task.replace(':', '-').replace('/', '-')}_{method}_lr{a.lr:g}_bs{a.batch_size}_ep{a.epochs}_s{a.seed}"


# ---------------------------------------------------------------------------------------------- run
def main(argv: list[str] | None = None) -> dict:
    args = parse(build_parser(), argv)
    if args.multi_token or args.wsc_negative:
        raise SystemExit("--multi-token and --wsc-negative choose how GLM's cloze scores; a baseline scores with its linear head")
    precision(args)  # rejects --fp16 with --bf16 before anything is loaded


    from tasks.registry import DataOptions, PromptChoiceError
    from training.baselines import BASELINES, BaselineSpec, build_baseline, prepare_task, task_family

    baseline = BASELINES[args.baseline]
    try:
        family = task_family(args.task, DataOptions(args.data_dir, args.dev_fraction, args.data_seed), args.prompt,
                             args.allow_non_original)
    except PromptChoiceError as err:
        raise SystemExit(str(err)) from None
    method = baseline.method(family)  # a task the baseline cannot do stops here, before any file is written
    prefix = args.source_prefix if args.source_prefix is not None else baseline.source_prefix.format(task=args.task)
    spec = BaselineSpec(
        baseline=baseline, model_name_or_path=args.model_name_or_path or baseline.default_model, task=args.task,
        family=family, data_dir=args.data_dir, seq_length=args.seq_length, dev_fraction=args.dev_fraction,
        data_seed=args.data_seed, max_train_examples=args.max_train_examples, few_shot=args.few_shot, source_prefix=prefix,
        hidden_dropout=args.hidden_dropout, output_dropout=args.output_dropout,
        checkpoint_activations=args.checkpoint_activations, length_penalty=args.length_penalty,
        src_seq_length=args.src_seq_length, tgt_seq_length=args.tgt_seq_length, min_tgt_length=args.min_tgt_length,
        num_beams=args.num_beams, no_repeat_ngram_size=args.no_repeat_ngram_size, label_smoothing=args.label_smoothing,
        eval_max_examples=args.eval_max_examples, use_cache=not args.no_cache,
        few_superglue=args.few_superglue, loss_func=args.loss_func, train_fraction=args.train_fraction,
        test_fraction=args.test_fraction, prompt=args.prompt, allow_non_original=args.allow_non_original,
    )
    schema_flags = [f for f, v in (("--field-map", args.field_map), ("--label-names", args.label_names),
                                   ("--template-label-names", args.template_label_names),
                                   ("--skip-uncovered", args.skip_uncovered)) if v]
    if schema_flags:  # refused rather than ignored
        raise SystemExit(f"{', '.join(schema_flags)}: schema-mapping options of the GLM driver (finetune_glm.py); the "
                         "baseline driver reads promptsource data in the data set's own field names and label order")
    prompt_record = prepare_task(spec).prompt if args.task.lower().startswith("promptsource:") else None

    ctx = open_run(args, args.experiment_name or default_experiment_name(args, method))
    built = build_baseline(spec)

    def config_record(cfg, ds_config) -> dict:
        return {
            "args": {**vars(args), "method": method, "experiment_name": ctx.experiment,
                     "model_name_or_path": spec.model_name_or_path, "source_prefix": prefix},
            "identity": {**identity(baseline.name, head_of(method, family), "none", label=method), "task": args.task,
                         "kind": "generation" if family == "seq2seq" else "classification",
                         "model": spec.model_name_or_path, "prompt": prompt_record},
            "command": command_line(argv, "finetune_baseline.py"),
            "model": built.module.model.config.to_dict(),
            "data": built.data_record,
        }

    return run(args, ctx, built, config_record)

if __name__ == "__main__":
    main()
