"""Typed run configuration: the flag groups both drivers share, parsed once into frozen dataclasses.

Flag names are THUDM/GLM's. Each group is defined once here and used by `finetune_glm.py` and
`finetune_baseline.py`, so a GLM run and a baseline run read the same flags with the same defaults. Nothing
downstream reads the argparse namespace: the drivers turn it into `TaskConfig`, `GenerationOptions`,
`HeadConfig` and a PEFT config (`model.peft`) and pass those on.

A run's identity (model family, head, PEFT method) is kept apart from its hyperparameters: `identity()` says
what was trained, and the label that grid search and reports print (`method`) is derived from it, never set.

Replay: `config.json` records every flag under "args"; `--config RUN/config.json` starts from those values and
lets the command line override any of them, so `finetune_glm.py --config runs/X/config.json --experiment-name Y`
rebuilds run X.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from model.heads import LOSS_FUNCS
from model.peft import ContinuousPromptConfig, LoraConfig, PeftConfig, PrefixConfig, method_name
from model.peft.prompt import PROMPT_FUNCS
from tasks.registry import DataOptions
from tasks.sampling import TrainSubset

HeadKind = Literal["cloze", "classifier", "lm", "linear", "text_to_text"]


def new_parser(description: str | None) -> argparse.ArgumentParser:
    """No abbreviations: `--warm 0.1` must not silently mean `--warmup`, nor `--multi-token` `--multi-token-layout`."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("--config", help="a run's config.json: start from its flags (the command line overrides them)")
    return p


# ---------------------------------------------------------------------------------------------- flag groups
def add_task_flags(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    g = p.add_argument_group("task")
    g.add_argument("--task", required=True,
                   help="task name (e.g. ag_news, dbpedia_14, samsum; case-insensitive) or promptsource:<dataset>[/<subset>]")
    g.add_argument("--data-dir", help="local data: train/dev/test .jsonl or .csv in the data set's schema (else the hub)")
    g.add_argument("--seq-length", type=int, default=256, help="maximum input length in tokens (classification)")
    g.add_argument("--dev-fraction", type=float, default=0.1, help="share of train held out as dev when there is no dev split")
    g.add_argument("--data-seed", type=int, default=42, help="seed of the stratified dev split")
    g.add_argument("--max-train-examples", type=int, default=0, help="use only the first N training examples (0 = all)")
    g.add_argument("--few-shot", type=int, default=0, metavar="K",
                   help="train on K examples of every class, a stratified sample drawn with --data-seed (0 = all)")
    g.add_argument("--train-fraction", type=float, default=0.0, metavar="F",
                   help="train on this share of train, stratified by label and drawn with --data-seed (0 = all)")
    g.add_argument("--test-fraction", type=float, default=0.0, metavar="F",
                   help="data without a test split: hold out this stratified share of train as test (seeded, recorded)")
    g.add_argument("--field-map", action="append", default=[], metavar="OLD=NEW",
                   help="promptsource: rename a field of the data to the one the template reads (repeatable, or a,b)")
    g.add_argument("--label-names", action="append", default=[], metavar="[FIELD=]A,B,...",
                   help="promptsource: the data's class names in id order (jsonl/csv carry none; hub, parquet and "
                        "save_to_disk data declare their own); lets labels be written as names")
    g.add_argument("--template-label-names", action="append", default=[], metavar="[FIELD=]A,B,...",
                   help="promptsource: the class order the template indexes, when it differs from the data's; labels "
                        "are then mapped by name")
    g.add_argument("--skip-uncovered", action="store_true",
                   help="promptsource: leave out rows a conditional template does not cover (counted, logged, recorded)")
    g.add_argument("--validation-metric", help="dev metric that selects the best checkpoint (default: the task's first)")
    g.add_argument("--length-penalty", type=float, default=0.0,
                   help="score / len**penalty: multi-token candidates and beams (0 = plain sum)")
    add_superglue_flags(g)
    return g


def add_superglue_flags(g: argparse._ArgumentGroup) -> None:
    """THUDM/GLM's SuperGLUE flags (tasks/superglue; docs/SUPERGLUE.md)."""
    g.add_argument("--loss-func", choices=LOSS_FUNCS, default="cross_entropy",
                   help="loss over the scores of labels or candidates: cross_entropy; hinge (sum of max(0, 1 + s_c - s_gold)); "
                        "generative (minus the gold candidate's log-probability; multi-token cloze); mix (generative + cross_entropy)")
    g.add_argument("--wsc-negative", action="store_true",
                   help="WSC: train against the candidate noun phrases of the WSC-negative files (without it: the generative "
                        "loss on the referent alone, and evaluation by whether greedy decoding reproduces the referent)")
    g.add_argument("--few-superglue", action="store_true",
                   help="FewGLUE files: dev32.jsonl is dev and val.jsonl is test (SuperGLUE tasks)")
    g.add_argument("--multi-token", action="store_true",
                   help="score label words as multi-token answers (for label words that are several tokens in the vocabulary)")


def add_generation_flags(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    g = p.add_argument_group("generation (seq2seq tasks)")
    g.add_argument("--src-seq-length", type=int, default=512, help="source budget in tokens")
    g.add_argument("--tgt-seq-length", type=int, default=128, help="target budget in tokens; also the decoding limit")
    g.add_argument("--min-tgt-length", type=int, default=0, help="end of text is forbidden before this many generated tokens")
    g.add_argument("--num-beams", type=int, default=1, help="1 = greedy")
    g.add_argument("--no-repeat-ngram-size", type=int, default=0, help="forbid repeating n-grams of this size (0 = off)")
    g.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the target-token loss")
    g.add_argument("--select-topk", action="store_true",
                   help="accepted for THUDM/GLM configs: beam candidates are always the top 2*num_beams (no sampling)")
    g.add_argument("--eval-max-examples", type=int, default=0, help="decode at most N dev examples during training (0 = all)")
    g.add_argument("--no-cache", action="store_true", help="decode by recomputing the whole sequence each step (slow; for checks)")
    return g


PEFT_CHOICES = ("none", "prefix", "lora", "ptuning", "prompt_tuning")


def add_peft_flags(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """One sub-group per method of `model.peft.METHODS`, and `--peft NAME`, the method as one value (a grid axis)."""
    g = p.add_argument_group("parameter-efficient tuning: the method by name")
    g.add_argument("--peft", choices=PEFT_CHOICES,
                   help="the method as one flag (for grid axes): prefix = --ptuning-v2, lora = --lora, ptuning = "
                        "--continuous-prompt, prompt_tuning = --continuous-prompt --freeze-transformer, none = full "
                        "fine-tuning; each method's size flags below still apply")
    g = p.add_argument_group("parameter-efficient tuning: P-tuning v2 (prefix)")
    g.add_argument("--ptuning-v2", action="store_true",
                   help="P-tuning v2: freeze the model, train per-layer key/value prefixes (and a head, if any)")
    g.add_argument("--pre-seq-len", type=int, default=16, help="P-tuning v2 prefix length")
    g.add_argument("--prefix-projection", action="store_true", help="reparameterise prefixes through an MLP")
    g.add_argument("--prefix-hidden-size", type=int, default=512, help="hidden units of that MLP")
    g = p.add_argument_group("parameter-efficient tuning: LoRA")
    g.add_argument("--lora", action="store_true", help="LoRA: freeze the model, train low-rank updates of its projections")
    g.add_argument("--lora-rank", type=int, default=8, help="rank r of the updates")
    g.add_argument("--lora-alpha", type=float, default=16.0, help="updates are scaled by alpha / r")
    g.add_argument("--lora-dropout", type=float, default=0.0, help="dropout on the LoRA branch's input")
    g.add_argument("--lora-target-modules", default=",".join(LoraConfig.targets),
                   help="comma-separated projections to adapt (of query_key_value, dense, dense_h_to_4h, dense_4h_to_h)")
    g = p.add_argument_group("parameter-efficient tuning: P-tuning (continuous prompts) and prompt tuning")
    g.add_argument("--continuous-prompt", action="store_true",
                   help="P-tuning: trainable prompt vectors at the pattern's prompt slots and/or after [CLS]")
    g.add_argument("--num-prompt-tokens", type=int, default=0, help="prompt tokens spread over the pattern's prompt slots")
    g.add_argument("--prefix-prompt", type=int, default=0, help="prompt tokens right after [CLS]")
    g.add_argument("--prompt-func", choices=PROMPT_FUNCS, default="lstm", help="prompt encoder (reparameterisation)")
    g.add_argument("--freeze-transformer", action="store_true",
                   help="freeze the backbone (word embeddings included): prompt tuning; else P-tuning trains it jointly")
    return g


def add_training_flags(p: argparse.ArgumentParser) -> None:
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
    g.add_argument("--eval-iters", type=int, default=100,
                   help="accepted for THUDM/GLM's fragments (its loss-only validation batches); dev metrics always use all of dev")
    g.add_argument("--eval-epoch", type=int, default=1, help="dev evaluation every N epochs")
    g.add_argument("--log-interval", type=int, default=10)
    g.add_argument("--num-threads", type=int, default=0,
                   help="CPU threads for torch (0: OMP_NUM_THREADS if set, else the cores this process may use)")
    g.add_argument("--length-buckets", type=int, default=0, metavar="W",
                   help="sort every W consecutive batches of the seeded order by length, then shuffle the batches "
                        "(seeded): less padding, same examples per epoch (0 = off)")
    g.add_argument("--compile", action="store_true", help="torch.compile the transformer layers")
    g.add_argument("--deepspeed", action="store_true", help="train through deepspeed.initialize")
    g.add_argument("--deepspeed_config", "--deepspeed-config", dest="deepspeed_config", help="DeepSpeed JSON")
    g.add_argument("--local_rank", "--local-rank", dest="local_rank", type=int, default=int(os.environ.get("LOCAL_RANK", 0)),
                   help=argparse.SUPPRESS)

    g = p.add_argument_group("run")
    g.add_argument("--experiment-name", help="run directory name under --save (default: derived from the flags)")
    g.add_argument("--save", "--save-dir", dest="save", default="runs", help="root of run directories")
    g.add_argument("--load", help="a run directory (or its best/) whose trained parameters to load")
    g.add_argument("--overwrite", action="store_true", help="replace a finished run of the same name")
    g.add_argument("--save-interval", type=int, default=0,
                   help="write a resumable checkpoint (model, optimizer, schedule, RNG, data position) every N optimizer steps")
    g.add_argument("--keep-checkpoints", type=int, default=2, help="resumable checkpoints kept (the newest)")
    g.add_argument("--resume", action="store_true",
                   help="continue the run of this --experiment-name from its newest resumable checkpoint, exactly")


# Flags that say where a run goes or how it is launched, not what it is: a replay does not take them over.
_NOT_REPLAYED = frozenset({"config", "local_rank", "overwrite", "resume"})


def parse(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse argv; with `--config RUN/config.json`, the recorded flags become the defaults first."""
    only = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    only.add_argument("--config")
    first, _ = only.parse_known_args(argv)
    if first.config:
        path = Path(first.config)
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))["args"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise SystemExit(f"--config {path}: not a run's config.json with an 'args' object ({type(err).__name__}: {err})") from None
        dests = {a.dest for a in p._actions}
        p.set_defaults(**{k: v for k, v in recorded.items() if k in dests and k not in _NOT_REPLAYED})
        for action in p._actions:  # a recorded value satisfies a required flag
            if action.dest in recorded:
                action.required = False
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------- typed configs
@dataclass(frozen=True)
class TaskConfig:
    name: str
    data: DataOptions
    seq_length: int
    max_train_examples: int
    validation_metric: str | None
    length_penalty: float
    prompt: int | str | None = None  # pattern id (hand-written) or template name/id (promptsource)
    allow_non_original: bool = False
    multi_token_layout: str = "packed"
    few_shot: int = 0  # examples per class (0: all, or the first max_train_examples)
    loss_func: str = "cross_entropy"  # LOSS_FUNCS
    wsc_negative: bool = False
    multi_token: bool = False
    train_fraction: float = 0.0  # a stratified share of train (0: all)
    pack_examples: bool = False  # several short examples per row (tasks.packing)

    @property
    def train_subset(self) -> TrainSubset:
        return TrainSubset(first=self.max_train_examples, per_class=self.few_shot, seed=self.data.data_seed,
                           fraction=self.train_fraction)


def task_config(a: argparse.Namespace) -> TaskConfig:
    prompt = getattr(a, "prompt", None)
    cfg = TaskConfig(
        name=a.task,
        data=DataOptions(a.data_dir, a.dev_fraction, a.data_seed, few_superglue=getattr(a, "few_superglue", False),
                         test_fraction=a.test_fraction, field_map=tuple(a.field_map), label_names=tuple(a.label_names),
                         template_label_names=tuple(a.template_label_names), skip_uncovered=a.skip_uncovered),
        seq_length=a.seq_length, train_fraction=a.train_fraction,
        max_train_examples=a.max_train_examples, validation_metric=a.validation_metric, length_penalty=a.length_penalty,
        prompt=prompt if prompt is not None else getattr(a, "pattern_id", None),
        allow_non_original=getattr(a, "allow_non_original", False),
        multi_token_layout=getattr(a, "multi_token_layout", "packed"), few_shot=a.few_shot,
        loss_func=getattr(a, "loss_func", "cross_entropy"), wsc_negative=getattr(a, "wsc_negative", False),
        multi_token=getattr(a, "multi_token", False),
        pack_examples=getattr(a, "pack_examples", False),
    )
    try:
        cfg.train_subset
        if not 0.0 <= a.test_fraction < 1.0:
            raise ValueError(f"--test-fraction must be in [0, 1), got {a.test_fraction}")
    except ValueError as err:
        raise SystemExit(str(err)) from None
    return cfg


@dataclass(frozen=True)
class GenerationOptions:
    src_seq_length: int
    tgt_seq_length: int
    min_tgt_length: int
    num_beams: int
    length_penalty: float
    no_repeat_ngram_size: int
    label_smoothing: float
    eval_max_examples: int
    use_cache: bool
    mask_pad_token: bool = True  # GLM only: source padding excluded from attention


def generation_options(a: argparse.Namespace) -> GenerationOptions:
    return GenerationOptions(a.src_seq_length, a.tgt_seq_length, a.min_tgt_length, a.num_beams, a.length_penalty,
                             a.no_repeat_ngram_size, a.label_smoothing, a.eval_max_examples, not a.no_cache,
                             getattr(a, "mask_pad_token", True))


@dataclass(frozen=True)
class HeadConfig:
    """How a GLM run scores: `cloze` (pattern + verbalizer through the LM head), `classifier` (a new linear head on
    the first token), `lm` (generation). Chosen from the task kind and --cloze-eval; never from a PEFT name."""

    kind: HeadKind
    output_dropout: float = 0.1


def glm_head(a: argparse.Namespace, task_kind: str) -> HeadConfig:
    if task_kind == "generation":
        return HeadConfig("lm", a.output_dropout)
    return HeadConfig("cloze" if a.cloze_eval else "classifier", a.output_dropout)


def peft_config(a: argparse.Namespace) -> PeftConfig | None:
    """The PEFT method the flags choose (None: full fine-tuning); more than one method is an error."""
    by_flag = {"prefix": a.ptuning_v2, "lora": getattr(a, "lora", False),
               "ptuning": getattr(a, "continuous_prompt", False) and not getattr(a, "freeze_transformer", False),
               "prompt_tuning": getattr(a, "continuous_prompt", False) and getattr(a, "freeze_transformer", False)}
    chosen = {name for name, on in by_flag.items() if on}
    named = getattr(a, "peft", None)
    if named is not None and chosen and chosen != {named}:
        raise SystemExit(f"--peft {named} contradicts the method flags given ({', '.join(sorted(chosen))}); use one")
    if named is not None:
        chosen = set() if named == "none" else {named}
    if len(chosen) > 1:
        raise SystemExit("choose one parameter-efficient method (--ptuning-v2, --lora or --continuous-prompt)")
    if getattr(a, "freeze_transformer", False) and not chosen & {"prompt_tuning", "ptuning"}:
        raise SystemExit("--freeze-transformer is prompt tuning's frozen backbone: use it with --continuous-prompt "
                         "(P-tuning v2 and LoRA freeze the backbone themselves)")
    method = next(iter(chosen), None)
    if method == "prefix":
        return PrefixConfig(a.pre_seq_len, a.prefix_projection, a.prefix_hidden_size)
    if method == "lora":
        targets = tuple(t.strip() for t in str(a.lora_target_modules).split(",") if t.strip())
        return LoraConfig(a.lora_rank, a.lora_alpha, a.lora_dropout, targets)
    if method in ("ptuning", "prompt_tuning"):
        if a.num_prompt_tokens < 0 or a.prefix_prompt < 0 or a.num_prompt_tokens + a.prefix_prompt < 1:
            raise SystemExit(f"--continuous-prompt needs prompt tokens: --num-prompt-tokens N (pattern slots) and/or "
                             f"--prefix-prompt K (after [CLS]); got {a.num_prompt_tokens} and {a.prefix_prompt}")
        return ContinuousPromptConfig(a.num_prompt_tokens, a.prefix_prompt, a.prompt_func, method == "prompt_tuning")
    return None


# The labels runs had before identity was recorded; reports keep printing them.
_GLM_LABELS = {("cloze", "none"): "cloze", ("classifier", "none"): "classifier", ("lm", "none"): "seq2seq",
               ("cloze", "prefix"): "ptuning_v2", ("classifier", "prefix"): "classifier_ptuning_v2",
               ("lm", "prefix"): "seq2seq_ptuning_v2", ("cloze", "lora"): "lora", ("lm", "lora"): "seq2seq_lora",
               ("cloze", "ptuning"): "ptuning", ("cloze", "prompt_tuning"): "prompt_tuning"}


def identity(family: str, head: str, peft: str, label: str | None = None) -> dict[str, str]:
    """What a run trains, as config.json's "identity": model family, head, PEFT method, and the derived label."""
    if label is None:
        label = _GLM_LABELS.get((head, peft), f"{head}_{peft}") if family == "glm" else f"{family}_{head}"
    return {"family": family, "head": head, "peft": peft, "method": label}


def glm_identity(head: HeadConfig, peft: PeftConfig | None) -> dict[str, str]:
    return identity("glm", head.kind, method_name(peft))
