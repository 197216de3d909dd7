"""THUDM/GLM's command line, flag by flag: what each of its `arguments.py` flags does here.

Users bring upstream's `config_tasks/*.sh` fragments and launch scripts, which pass flags this toolkit's own
groups (training/config.py) do not define. `UPSTREAM_FLAGS` lists every flag of upstream's `arguments.py`
(and the ones `deepspeed.add_config_arguments` adds) with its status here:

    same       defined by the toolkit's flag groups with upstream's meaning
    different  defined by the toolkit's flag groups, with a meaning or default that differs (the note says how)
    checked    a model-definition flag: compared with the checkpoint, a disagreement stops the run
    accepted   accepted for upstream's scripts; the note says why it changes nothing here
    limited    accepted with the values the note names (upstream's defaults); any other value is an error
    rejected   an error that says why and what to use instead
    superglue  provided by the SuperGLUE task layer (its flags live with the SuperGLUE tasks)

`add_upstream_flags(parser)` adds every flag of the last five kinds that the parser does not define yet;
`check_upstream_args(args)` validates what needs more than one flag; `check_against_checkpoint` compares the
model-definition flags with the loaded backbone. docs/UPSTREAM.md renders the table (`flag_table_markdown`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["same", "different", "checked", "accepted", "limited", "rejected", "superglue"]
STATUSES: tuple[Status, ...] = ("same", "different", "checked", "accepted", "limited", "rejected", "superglue")


@dataclass(frozen=True)
class UpstreamFlag:
    name: str  # upstream's spelling
    status: Status
    nargs: int | str  # 0: a switch; 1: one value; "*" / "+": a list (as upstream parses it)
    note: str = ""
    allowed: tuple[str, ...] = ()  # "limited": the values accepted (compared as text and as numbers)
    type: type = str  # how a kept value is parsed


def _f(name: str, status: Status, nargs: int | str, note: str = "", allowed: tuple[str, ...] = (), type: type = str) -> UpstreamFlag:
    return UpstreamFlag(name, status, nargs, note, allowed, type)


PRETRAINING = "a pretraining option of upstream's pretrain_glm.py; fine-tuning never reads it (pretraining here: pretrain_glm.py, docs/PRETRAINING.md)"
PRETRAIN_DATA = "upstream's pretraining data pipeline; fine-tuning reads a task's files from --data-dir"
MEGATRON = "an option of upstream's Megatron-style training stack, which this toolkit does not have"
FP16_JSON = "dynamic loss scaling: set it in the DeepSpeed JSON's fp16 section (--deepspeed --deepspeed_config); without DeepSpeed, torch's GradScaler scales dynamically"
LOAD_ONLY_PARAMS = "--load here restores only trained parameters, never optimizer, schedule or RNG state, which is what this asks for"
SAMPLING = "used by upstream's interactive sampling scripts, not by fine-tuning; decoding here is beam search/greedy (--num-beams)"
# Every flag of upstream's arguments.py (commit 4f61ed7), in its order, then DeepSpeed's.
UPSTREAM_FLAGS: tuple[UpstreamFlag, ...] = (
    # model config
    _f("--transformer-xl", "rejected", 0, "Transformer-XL memory is not part of GLM fine-tuning here"),
    _f("--pretrained-bert", "rejected", 0, "BERT models are not loaded by this driver; finetune_baseline.py runs RoBERTa/BART/T5 baselines"),
    _f("--encoder-decoder", "rejected", 0, "GLM here is the decoder-only block LM; encoder-decoder baselines: finetune_baseline.py"),
    _f("--attention-dropout", "same", 1, "dropout of the attention probabilities (default: the checkpoint's, 0.1)"),
    _f("--num-attention-heads", "checked", 1, "must equal the checkpoint's", type=int),
    _f("--hidden-size", "checked", 1, "must equal the checkpoint's", type=int),
    _f("--intermediate-size", "checked", 1, "must be 4 x hidden size, the only MLP width GLM uses", type=int),
    _f("--num-layers", "checked", 1, "must equal the checkpoint's", type=int),
    _f("--layernorm-epsilon", "checked", 1, "must equal the checkpoint's (1e-5)", type=float),
    _f("--hidden-dropout", "same", 1, "dropout of embeddings and residual outputs (default: the checkpoint's, 0.1); attention: --attention-dropout"),
    _f("--output-dropout", "same", 1, "dropout before the classifier head (--no-cloze-eval)"),
    _f("--max-position-embeddings", "different", 1, "raises the position tables to this length (new rows initialised as upstream does); a value below the checkpoint's keeps the checkpoint's tables. Generation raises them to --src-seq-length itself, as upstream"),
    _f("--vocab-size", "accepted", 1, "upstream overwrites it from the tokenizer; here the embedding rows come from the checkpoint", type=int),
    _f("--deep-init", "rejected", 0, "an initialisation for training from scratch; fine-tuning starts from --load-pretrained"),
    _f("--make-vocab-size-divisible-by", "accepted", 1, "upstream pads the vocabulary when it builds a model; here the embedding rows come from the checkpoint", type=int),
    _f("--cpu-optimizer", "rejected", 0, "CPU optimizer offload is DeepSpeed's: zero_optimization.offload_optimizer in the DeepSpeed JSON"),
    _f("--cpu_torch_adam", "rejected", 0, "CPU optimizer offload is DeepSpeed's: zero_optimization.offload_optimizer in the DeepSpeed JSON"),
    # fp16
    _f("--fp16", "same", 0, "mixed precision with dynamic loss scaling (torch autocast, or DeepSpeed's fp16); --bf16 is the alternative"),
    _f("--fp32-embedding", "rejected", 0, "mixed precision here is torch autocast, which keeps parameters in fp32 already"),
    _f("--fp32-layernorm", "rejected", 0, "mixed precision here is torch autocast, which runs layer norms in fp32 already"),
    _f("--fp32-tokentypes", "rejected", 0, "GLM has no token-type embeddings"),
    _f("--fp32-allreduce", "rejected", 0, MEGATRON),
    _f("--hysteresis", "rejected", 1, FP16_JSON),
    _f("--loss-scale", "rejected", 1, FP16_JSON),
    _f("--loss-scale-window", "rejected", 1, FP16_JSON),
    _f("--min-scale", "rejected", 1, FP16_JSON),
    _f("--attention-scale", "limited", 1, "only 1.0 (the glm-roberta-large family); the 1.25-scale variant's attention scaling is not implemented", ("1.0",), float),
    # training
    _f("--experiment-name", "different", 1, "the run directory's name; upstream's scripts append a date, this toolkit's keep the name (so --resume finds the run); default: derived from the flags"),
    _f("--batch-size", "same", 1, "per device"),
    _f("--gradient-accumulation-steps", "same", 1),
    _f("--weight-decay", "same", 1, "decoupled (AdamW), not on biases and layer norms"),
    _f("--checkpoint-activations", "same", 0, "recompute each layer in backward"),
    _f("--checkpoint-num-layers", "limited", 1, "only 1: each layer is its own recompute segment", ("1",), int),
    _f("--deepspeed-activation-checkpointing", "rejected", 0, "use --checkpoint-activations (torch.utils.checkpoint, with or without DeepSpeed)"),
    _f("--epochs", "same", 1),
    _f("--clip-grad", "same", 1),
    _f("--train-iters", "limited", 1, "only 0: fine-tuning length is --epochs (upstream's fine-tuning also derives the iterations from the epochs)", ("0",), int),
    _f("--label-smoothing", "same", 1, "generation tasks' target-token loss"),
    _f("--log-interval", "same", 1),
    _f("--summary-dir", "rejected", 1, "no TensorBoard writer: every logged value is in the run directory's metrics.jsonl"),
    _f("--seed", "same", 1),
    _f("--reset-position-ids", "rejected", 0, PRETRAIN_DATA),
    _f("--reset-attention-mask", "rejected", 0, PRETRAIN_DATA),
    _f("--lr-decay-iters", "rejected", 1, "the schedule always spans the whole run (epochs x steps per epoch), as upstream's fine-tuning uses it"),
    _f("--lr-decay-style", "different", 1, "linear, cosine or constant; upstream's exponential is not offered"),
    _f("--lr-decay-ratio", "same", 1, "the schedule ends at ratio x lr"),
    _f("--lr", "same", 1, "with --deepspeed, the flag's value is used, not the JSON's (a JSON that disagrees is an error)"),
    _f("--warmup", "same", 1, "a fraction of all optimizer steps"),
    _f("--switch-linear", "rejected", 0, "a pretraining schedule switch; fine-tuning here uses --lr-decay-style"),
    _f("--save", "same", 1, "the folder of run directories (<save>/<experiment-name>/)"),
    _f("--new-save-directory", "rejected", 0, "every run writes its own directory <save>/<experiment-name>/ already"),
    _f("--save-epoch", "limited", 1, "accepted when it saves nothing within the run (upstream's scripts pass 100000): the selected model is saved in best/, and --save-interval N writes resumable checkpoints every N steps", type=int),
    _f("--save-interval", "different", 1, "resumable checkpoints (model, optimizer, schedule, RNG, data position) every N optimizer steps, continued with --resume; default 0 (none), upstream 5000"),
    _f("--no-save-optim", "rejected", 0, "a resumable checkpoint (--save-interval) needs the optimizer state; best/ holds only parameters"),
    _f("--no-save-rng", "rejected", 0, "a resumable checkpoint (--save-interval) needs the RNG state to resume exactly"),
    _f("--load", "different", 1, "a run directory (or its best/) whose trained parameters are loaded; to continue an interrupted run use --resume"),
    _f("--no-load-optim", "accepted", 0, LOAD_ONLY_PARAMS),
    _f("--no-load-rng", "accepted", 0, LOAD_ONLY_PARAMS),
    _f("--no-load-lr-scheduler", "accepted", 0, LOAD_ONLY_PARAMS),
    _f("--no-deepspeed-load", "accepted", 0, "checkpoints are always read by the toolkit's own loader, with or without DeepSpeed"),
    _f("--finetune", "accepted", 0, "this driver always fine-tunes: --load-pretrained gives the weights, optimizer and schedule start fresh"),
    _f("--resume-dataloader", "rejected", 0, "use --resume: it continues exactly, the data position included"),
    _f("--distributed-backend", "rejected", 1, "the backend is chosen by the launcher (DeepSpeed: NCCL on GPUs, gloo on CPU)"),
    _f("--DDP-impl", "rejected", 1, "multi-GPU training here is DeepSpeed (scripts/launch.sh); there is no separate DDP wrapper to choose"),
    _f("--local_rank", "same", 1, "set by the launcher"),
    _f("--block-lm", "checked", 0, "every checkpoint this toolkit loads is a GLM block LM; accepted as a statement about the checkpoint"),
    _f("--masked-lm", "rejected", 0, "BERT-style masked-LM models are not GLM checkpoints; RoBERTa baselines: finetune_baseline.py"),
    _f("--bert-prob", "rejected", 1, PRETRAINING),
    _f("--gpt-infill-prob", "rejected", 1, PRETRAINING),
    _f("--gpt-min-ratio", "rejected", 1, PRETRAINING),
    _f("--gap-sentence-prob", "rejected", 1, PRETRAINING),
    _f("--gap-sentence-ratio", "rejected", 1, PRETRAINING),
    _f("--avg-block-length", "rejected", 1, PRETRAINING),
    _f("--short-seq-prob", "rejected", 1, PRETRAINING),
    _f("--single-span-prob", "rejected", 1, PRETRAINING),
    _f("--task-mask", "checked", 0, "task-mask GLMs mark blanks with [sMASK]/[gMASK], which the supported checkpoints (glm-roberta-large family, trained without --task-mask) and their tokenizer do not have; stops the run unless the checkpoint's config says task_mask"),
    _f("--no-shuffle-block", "rejected", 0, PRETRAINING),
    _f("--no-block-position", "checked", 0, "GLM checkpoints here use 2D (block) positions; a model without them is a different model"),
    _f("--sentinel-token", "rejected", 0, PRETRAINING),
    _f("--block-mask-prob", "rejected", 1, PRETRAINING),
    _f("--context-mask-ratio", "rejected", 1, PRETRAINING),
    _f("--random-position", "rejected", 0, PRETRAINING),
    # evaluation
    _f("--eval-batch-size", "same", 1, "default: the batch size"),
    _f("--eval-iters", "accepted", 1, "upstream: the number of batches of its validation-loss check at --eval-interval; that loss-only check does not exist here (dev metrics are computed on the whole dev split), so the value changes nothing", type=int),
    _f("--eval-interval", "different", 1, "here: a full dev evaluation (metrics, model selection) every N optimizer steps, 0 = at epoch ends only (the default). Upstream: a validation-loss check every N iterations, default 1000, with model selection only at --eval-epoch. Upstream's fragments pass 10000000 (never) or 1000; with 1000, dev is evaluated and the best model selected mid-epoch too, which for generation tasks means decoding the dev split every 1000 steps: append --eval-interval 0 to select only at --eval-epoch as upstream does (or --eval-max-examples N to decode fewer)"),
    _f("--eval-epoch", "same", 1, "dev evaluation and model selection every N epochs"),
    _f("--eval-seq-length", "rejected", 1, "zero-shot language-model evaluation (upstream's evaluate_lm.sh) is not part of this toolkit"),
    _f("--eval-max-preds-per-seq", "rejected", 1, PRETRAINING),
    _f("--overlapping-eval", "rejected", 1, "zero-shot language-model evaluation (upstream's evaluate_lm.sh) is not part of this toolkit"),
    # text generation
    _f("--temperature", "rejected", 1, SAMPLING),
    _f("--top-p", "rejected", 1, SAMPLING),
    _f("--top-k", "rejected", 1, SAMPLING),
    _f("--out-seq-length", "rejected", 1, "the decoding limit is --tgt-seq-length (as in upstream's seq2seq fine-tuning)"),
    _f("--num-beams", "same", 1),
    _f("--length-penalty", "superglue", 1, "beams and multi-token candidates: score / len**penalty"),
    _f("--no-repeat-ngram-size", "same", 1),
    _f("--min-tgt-length", "same", 1),
    _f("--select-topk", "different", 0, "beam candidates are always the top 2 x num-beams tokens, the behaviour upstream's --select-topk turns on; without it upstream samples them, which is not offered"),
    _f("--blank-maskratio", "rejected", 1, "upstream's blank-infilling demo task (seq_blank.sh) is not ported"),
    # data
    _f("--model-parallel-size", "limited", 1, "only 1: Megatron tensor model parallelism does not exist here; for models that do not fit one GPU use DeepSpeed ZeRO (config_tasks/ds_config_zero2.json, offload in the JSON)", ("1",), int),
    _f("--shuffle", "accepted", 0, "training data is always shuffled, by a permutation seeded with --seed and the epoch"),
    _f("--filter-english", "rejected", 0, PRETRAIN_DATA),
    _f("--train-data", "rejected", "+", PRETRAIN_DATA),
    _f("--valid-data", "rejected", "*", PRETRAIN_DATA),
    _f("--test-data", "rejected", "*", PRETRAIN_DATA),
    _f("--data-dir", "same", 1, "the task's files, in upstream's layouts for upstream's task names (docs/UPSTREAM.md)"),
    _f("--input-data-sizes-file", "rejected", 1, PRETRAIN_DATA),
    _f("--delim", "rejected", 1, PRETRAIN_DATA),
    _f("--text-key", "rejected", 1, PRETRAIN_DATA),
    _f("--eval-text-key", "rejected", 1, PRETRAIN_DATA),
    _f("--split", "rejected", 1, "--dev-fraction carves dev out of train where a task has no dev split"),
    _f("--no-lazy-loader", "rejected", 0, PRETRAIN_DATA),
    _f("--half-lazy-loader", "rejected", 0, PRETRAIN_DATA),
    _f("--loader-scatter", "rejected", 1, PRETRAIN_DATA),
    _f("--loose-json", "rejected", 0, PRETRAIN_DATA),
    _f("--presplit-sentences", "rejected", 0, PRETRAIN_DATA),
    _f("--num-workers", "accepted", 1, "samples are tokenised once, in memory, before training; batches are collated in the training process, so there are no loader workers to set", type=int),
    _f("--tokenizer-model-type", "checked", 1, "only roberta: the checkpoints here use RoBERTa's BPE (vocab.json/merges.txt with the checkpoint or --tokenizer-dir)", ("roberta",)),
    _f("--tokenizer-path", "rejected", 1, "a SentencePiece model path; the tokenizer here is RoBERTa's BPE from the checkpoint directory or --tokenizer-dir"),
    _f("--tokenizer-type", "checked", 1, "only GPT2BPETokenizer (with --tokenizer-model-type roberta), the tokenizer of the glm-roberta-large family", ("GPT2BPETokenizer",)),
    _f("--fix-command-token", "rejected", 0, "command-token ids are the checkpoint's (see --mask-id)"),
    _f("--no-pre-tokenize", "accepted", 0, "fine-tuning data is tokenised once in memory either way"),
    _f("--cache-dir", "rejected", 1, "hub files go to the Hugging Face cache (HF_HOME); --load-pretrained and --tokenizer-dir take local directories"),
    _f("--use-tfrecords", "rejected", 0, PRETRAIN_DATA),
    _f("--seq-length", "same", 1, "classification input length"),
    _f("--mem-length", "limited", 1, "only 0: no Transformer-XL memory", ("0",), int),
    _f("--max-preds-per-seq", "rejected", 1, PRETRAINING),
    _f("--non-sentence-start", "rejected", 1, PRETRAINING),
    _f("--sample-one-document", "rejected", 0, PRETRAIN_DATA),
    _f("--load-splits", "rejected", 1, PRETRAIN_DATA),
    _f("--save-splits", "rejected", 1, PRETRAIN_DATA),
    _f("--save-test-data", "rejected", 1, PRETRAIN_DATA),
    _f("--multi-task-data", "rejected", "*", "multi-task pretraining data; not part of fine-tuning"),
    _f("--multi-task-ratio", "rejected", 1, "multi-task pretraining; not part of fine-tuning"),
    _f("--multi-seq-length", "rejected", 1, "multi-task pretraining; not part of fine-tuning"),
    _f("--multi-batch-size", "rejected", 1, "multi-task pretraining; not part of fine-tuning"),
    # fine-tuning
    _f("--task", "same", 1, "case-insensitive; upstream's task names resolve to upstream's data formats (docs/UPSTREAM.md)"),
    _f("--load-pretrained", "same", 1, "a checkpoint directory (Hugging Face or original layout) or a hub name"),
    _f("--pool-token", "limited", 1, "only cls: the classifier head (--no-cloze-eval) reads the first token", ("cls",)),
    _f("--cloze-eval", "different", 0, "on by default here (--no-cloze-eval: linear head); upstream's default is off, but its scripts always pass it"),
    _f("--multi-token", "accepted", 0, "upstream overwrites this flag from the task's pattern (multi-token verbalizers or multiple-choice tasks); here the pattern decides too. The scoring layout: --multi-token-layout"),
    _f("--segment-length", "limited", 1, "only 0: candidates are not split into segments", ("0",), int),
    _f("--loss-func", "superglue", 1),
    _f("--block-lm-ratio", "limited", 1, "only 0: no auxiliary blank-infilling loss during fine-tuning", ("0", "0.0"), float),
    _f("--adapet", "rejected", 0, "ADAPET's label-conditioned loss is not implemented"),
    _f("--pattern-id", "same", 1, "see --list-prompts"),
    _f("--fast-decode", "accepted", 0, "multi-token candidates share one pass over the context already (--multi-token-layout packed, the default)"),
    _f("--few-superglue", "superglue", 0),
    _f("--eval-valid", "rejected", 0, "dev selects the model and the test split (where the task has one) is evaluated at the end; there is nothing to switch"),
    _f("--validation-metric", "same", 1),
    _f("--unidirectional", "rejected", 0, "a left-to-right (GPT-style) attention variant of upstream's; GLM's context is bidirectional here"),
    _f("--src-seq-length", "same", 1, "also raises the position tables when longer than the checkpoint's, as upstream"),
    _f("--tgt-seq-length", "same", 1),
    _f("--adam-beta1", "same", 1),
    _f("--adam-beta2", "same", 1),
    _f("--adam-eps", "same", 1),
    _f("--optimizer", "limited", 1, "only adam (AdamW); Adafactor is not offered", ("adam",)),
    _f("--wsc-negative", "superglue", 0),
    _f("--overwrite", "same", 0, "replace a finished run of the same name"),
    _f("--no-validation", "rejected", 0, "dev evaluation selects the saved model; to skip model selection train with --eval-epoch larger than --epochs and evaluate with --load afterwards"),
    _f("--continuous-prompt", "same", 0, "P-tuning v1 / prompt tuning: continuous prompt tokens at the pattern's slots (docs/PEFT.md)"),
    _f("--num-prompt-tokens", "same", 1, "continuous prompt tokens spread over the pattern's slots", type=int),
    _f("--prompt-func", "same", 1, "the prompt encoder: lstm, mlp or none"),
    _f("--freeze-transformer", "same", 0, "prompt tuning: the backbone stays frozen, only the prompt (and a head) train"),
    _f("--tune-prefix-layers", "rejected", 1, "use --ptuning-v2 (prefixes on every layer)"),
    _f("--prefix-prompt", "same", 1, "K continuous prompt tokens right after [CLS]", type=int),
    _f("--prompt-init", "rejected", 0, "initialising the prompt from the pattern's words is not implemented; prompts start from the encoder's own initialisation"),
    _f("--mask-pad-token", "different", 0, "on by default here (source padding is excluded from attention); --no-mask-pad-token gives upstream's default layout"),
    # added by deepspeed.add_config_arguments
    _f("--deepspeed", "same", 0),
    _f("--deepspeed_config", "different", 1, "the DeepSpeed JSON supplies ZeRO, offload and loss-scale settings; batch size, accumulation, lr and weight decay come from the flags (upstream lets the JSON overwrite them; a JSON that disagrees is an error here)"),
    _f("--deepscale", "rejected", 0, "DeepSpeed's deprecated name of --deepspeed"),
    _f("--deepscale_config", "rejected", 1, "DeepSpeed's deprecated name of --deepspeed_config"),
    _f("--deepspeed_mpi", "rejected", 0, "launch with the deepspeed launcher (scripts/launch.sh); MPI discovery is not supported"),
)

BY_NAME: dict[str, UpstreamFlag] = {f.name: f for f in UPSTREAM_FLAGS}
# Flags the SuperGLUE task layer defines (tasks/superglue and its flags in training/config.py).
SUPERGLUE_LAYER_FLAGS: frozenset[str] = frozenset(f.name for f in UPSTREAM_FLAGS if f.status == "superglue")
# What the toolkit's own groups must define (status same/different); the others are added here.
OWN_FLAGS: frozenset[str] = frozenset(f.name for f in UPSTREAM_FLAGS if f.status in ("same", "different"))
MODEL_DEFINITION = ("--block-lm", "--num-layers", "--hidden-size", "--num-attention-heads", "--intermediate-size",
                    "--layernorm-epsilon", "--tokenizer-type", "--tokenizer-model-type", "--task-mask", "--no-block-position")


def dest(name: str) -> str:
    return name.lstrip("-").replace("-", "_")


def _matches(value: str, allowed: Iterable[str]) -> bool:
    for a in allowed:
        if value == a:
            return True
        try:
            if float(value) == float(a):
                return True
        except ValueError:
            pass
    return False


class _Rejected(argparse.Action):
    """An upstream flag that has no counterpart here: using it is an error that says why."""

    def __init__(self, option_strings, dest, reason: str, **kwargs):
        self.reason = reason
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} (THUDM/GLM) is not supported: {self.reason}")


class _Limited(argparse.Action):
    """An upstream flag accepted only with the values that mean nothing is asked beyond what happens here."""

    def __init__(self, option_strings, dest, flag: UpstreamFlag, **kwargs):
        self.flag = flag
        super().__init__(option_strings, dest, default=None, help=f"THUDM/GLM's flag: {flag.note}", **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        text = str(values).strip()
        if self.flag.allowed and not _matches(text, self.flag.allowed):
            parser.error(f"{option_string} {values}: not supported here ({self.flag.note})")
        try:
            setattr(namespace, self.dest, self.flag.type(text))
        except ValueError:
            parser.error(f"{option_string}: expected a {self.flag.type.__name__}, got {values!r}")


def add_upstream_flags(p: argparse.ArgumentParser) -> None:
    """Add every flag of UPSTREAM_FLAGS that `p` does not define yet: checked and accepted flags keep their values
    (dest = upstream's), limited ones check their value, rejected ones fail with their reason. Flags of the
    toolkit's own groups and of the SuperGLUE layer are left to those."""
    g = p.add_argument_group("THUDM/GLM compatibility (docs/UPSTREAM.md)")
    known = set(p._option_string_actions)
    for flag in UPSTREAM_FLAGS:
        if flag.name in known or flag.status in ("same", "different", "superglue"):
            continue
        nargs = None if flag.nargs == 1 else flag.nargs
        if flag.status == "rejected":
            g.add_argument(flag.name, action=_Rejected, reason=flag.note, nargs=0 if flag.nargs == 0 else nargs)
        elif flag.nargs == 0:
            g.add_argument(flag.name, dest=dest(flag.name), action="store_true", help=f"THUDM/GLM's flag: {flag.note}")
        elif flag.status == "limited" or flag.allowed:
            g.add_argument(flag.name, dest=dest(flag.name), action=_Limited, flag=flag)
        else:
            g.add_argument(flag.name, dest=dest(flag.name), type=flag.type, help=f"THUDM/GLM's flag: {flag.note}")


def check_upstream_args(a: argparse.Namespace) -> None:
    """What needs more than one flag to judge; raises SystemExit with the reason."""
    save_epoch = getattr(a, "save_epoch", None)
    epochs = getattr(a, "epochs", None)
    if save_epoch is not None and epochs is not None and save_epoch <= epochs:
        raise SystemExit(f"--save-epoch {save_epoch} (THUDM/GLM: a checkpoint every {save_epoch} epochs) is not supported: "
                         "the selected model is saved in best/, and --save-interval N writes resumable checkpoints every N "
                         f"optimizer steps; drop the flag or pass a value above --epochs ({epochs}), as upstream's scripts do")


def check_against_checkpoint(a: argparse.Namespace, config: Any, source: str, extra: dict | None = None) -> None:
    """Compare the model-definition flags given on the command line with the checkpoint's config (a GLMConfig);
    a disagreement stops the run naming the flag, both values and the checkpoint. `extra`: fields of the
    checkpoint's config.json beyond GLMConfig (task_mask, block_position_encoding)."""
    extra = extra or {}
    wanted = {"num_layers": config.num_layers, "hidden_size": config.hidden_size,
              "num_attention_heads": config.num_attention_heads, "intermediate_size": 4 * config.hidden_size,
              "layernorm_epsilon": config.layernorm_epsilon}
    problems = []
    for key, actual in wanted.items():
        given = getattr(a, key, None)
        if given is not None and given != actual:
            problems.append(f"--{key.replace('_', '-')} {given} but the checkpoint has {actual}")
    if getattr(a, "task_mask", False) and not extra.get("task_mask", False):
        problems.append("--task-mask but the checkpoint was trained without a task mask (no [sMASK]/[gMASK] blanks); "
                        "drop --task-mask for the glm-roberta-large family")
    if getattr(a, "no_block_position", False) and extra.get("block_position_encoding", True):
        problems.append("--no-block-position but the checkpoint uses 2D block positions")
    if problems:
        raise SystemExit(f"model-definition flags disagree with the checkpoint {source}: " + "; ".join(problems) +
                         ". These flags describe the checkpoint; drop them or load the checkpoint they describe")


def flag_table_markdown() -> str:
    """The table docs/UPSTREAM.md shows (tests/test_upstream_compat.py checks the doc holds exactly this)."""
    rows = ["| upstream flag | status here | notes |", "|---|---|---|"]
    for f in UPSTREAM_FLAGS:
        status = "same (SuperGLUE task layer)" if f.status == "superglue" else f.status
        if f.allowed and f.status == "limited":
            status += f" ({', '.join(f.allowed)})"
        rows.append(f"| `{f.name}` | {status} | {f.note.replace('|', '/')} |")
    return "\n".join(rows)
