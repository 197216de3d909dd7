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
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.config import (  # noqa: E402
    add_generation_flags,
    add_peft_flags,
    add_task_flags,
    add_training_flags,
    generation_options,
    glm_head,
    glm_identity,
    new_parser,
    parse,
    peft_config,
    task_config,
)
from training.driver import command_line, open_run, precision, run  # noqa: E402
from training.upstream_flags import add_upstream_flags, check_against_checkpoint, check_upstream_args  # noqa: E402

log = logging.getLogger("finetune_glm")


# ---------------------------------------------------------------------------------------------- flags
def build_parser() -> argparse.ArgumentParser:
    p = new_parser(__doc__)
    g = add_task_flags(p)
    g.add_argument("--pattern-id", type=int, default=0, help="hand-written pattern (prompt) id; see --list-prompts")
    g.add_argument("--prompt", help="a promptsource template by name or id (for promptsource tasks); 'all': one run per "
                   "original-task template, named after it ({prompt} in --experiment-name is replaced by the prompt's name)")
    g.add_argument("--allow-non-original", action="store_true", help="allow promptsource templates not marked original_task")
    g.add_argument("--list-prompts", action="store_true", help="print the prompts the task offers and exit")
    g.add_argument("--cloze-eval", action=argparse.BooleanOptionalAction, default=True,
                   help="score label words with the LM head (default); --no-cloze-eval uses a linear classifier head")
    g.add_argument("--multi-token-layout", choices=("packed", "rows"), default="packed",
                   help="multi-token candidates packed in one sequence (default) or one row per candidate (upstream)")
    g.add_argument("--pack-examples", action="store_true",
                   help="pack several short examples into each row of --seq-length tokens, each with its own mask and "
                        "positions (single-token cloze and --no-cloze-eval); same scores as one example per row")

    g = add_generation_flags(p)
    g.add_argument("--mask-pad-token", action=argparse.BooleanOptionalAction, default=True,
                   help="exclude source padding from attention (default); --no-mask-pad-token is upstream's original layout")

    add_peft_flags(p)

    g = p.add_argument_group("model")
    g.add_argument("--load-pretrained", help="GLM checkpoint: HF layout dir, original GLM layout dir, or a hub name")
    g.add_argument("--tokenizer-dir", help="vocab.json/merges.txt directory (default: the checkpoint directory)")
    g.add_argument("--mask-id", default="original", choices=("original", "hf"),
                   help="id of [MASK]: original = RoBERTa's <mask> 50264 (GLM's fine-tuning code), hf = 50267")
    g.add_argument("--gelu", choices=("tanh", "erf"), help="GELU variant (default: the checkpoint's, else tanh, the original)")
    g.add_argument("--max-position-embeddings", type=int, help="extend the position tables to this length")
    g.add_argument("--hidden-dropout", type=float, help="dropout of embeddings and residual outputs (default: the checkpoint's)")
    g.add_argument("--attention-dropout", type=float, help="dropout of the attention probabilities (default: the checkpoint's)")
    g.add_argument("--output-dropout", type=float, default=0.1, help="dropout of the classifier head")
    g.add_argument("--checkpoint-activations", action="store_true", help="recompute layers in backward to save memory")

    add_training_flags(p)
    add_upstream_flags(p)  # THUDM/GLM's other flags: accepted with their meaning, checked, or rejected with the reason
    return p


@dataclass(frozen=True)
class ModelSpec:
    load_pretrained: str
    tokenizer_dir: str
    mask_id: str
    gelu: str | None
    max_position_embeddings: int | None
    hidden_dropout: float | None
    attention_dropout: float | None
    checkpoint_activations: bool


ROBERTA_HUB = "roberta-large"  # where upstream's GPT2BPETokenizer("roberta") gets vocab.json / merges.txt


def tokenizer_dir(given: str | None, checkpoint: str) -> str:
    """--tokenizer-dir, else the checkpoint directory when it holds vocab.json and merges.txt, else (an original-layout
    checkpoint, which upstream ships without them) RoBERTa's files from the hub, as upstream's tokenizer fetches them."""
    if given:
        return given
    folder = Path(checkpoint) if Path(checkpoint).is_dir() else Path(checkpoint).parent
    if not Path(checkpoint).exists() or all((folder / name).is_file() for name in ("vocab.json", "merges.txt")):
        return str(folder) if Path(checkpoint).exists() else checkpoint
    try:
        from huggingface_hub import hf_hub_download

        vocab = hf_hub_download(ROBERTA_HUB, "vocab.json")
        hf_hub_download(ROBERTA_HUB, "merges.txt")
    except Exception as err:
        raise SystemExit(
            f"{folder} has no vocab.json/merges.txt (an original-layout GLM checkpoint) and RoBERTa's could not be "
            f"fetched from the hub ({ROBERTA_HUB}: {type(err).__name__}); pass --tokenizer-dir with the "
            "glm-roberta-large tokenizer files"
        ) from None
    log.info("tokenizer: %s has no vocab.json/merges.txt; using %s's from the hub (as upstream does)", folder, ROBERTA_HUB)
    return str(Path(vocab).parent)


def checkpoint_extra(checkpoint: str) -> dict:
    """config.json fields beyond the architecture (task_mask, block_position_encoding), where the layout has one."""
    import json

    path = Path(checkpoint) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def looks_local(name: str) -> str | None:
    """Why `name` must be a local path rather than a hub id (`owner/name`), or None. A mistyped directory is then
    reported as missing, not turned into a hub request for that string."""
    path = Path(name).expanduser()
    if path.is_absolute() or name.startswith((".", "~")):
        return "starts with '/', '.' or '~'"
    parts = Path(name).parts
    if len(parts) > 2 or "\\" in name:
        return "has more than one '/'"
    if len(parts) == 2 and Path(parts[0]).is_dir():
        return f"starts with the local directory {parts[0]}/"
    return None


PROMPT_PLACEHOLDER = "{prompt}"


def name_slug(text: str) -> str:
    """A prompt or template name as a piece of a directory name: letters, digits, '.', '-' and '_' only."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip()).strip("_")
    return slug or "prompt"


def default_experiment_name(a: argparse.Namespace, method: str, prompt_name: str | None = None) -> str:
    prompt = f"ps-{name_slug(prompt_name or str(a.prompt))}" if a.prompt else f"p{a.pattern_id}"
    return f"{a.task.replace(':', '-').replace('/', '-')}_{method}_{prompt}_lr{a.lr:g}_bs{a.batch_size}_ep{a.epochs}_s{a.seed}"


def run_every_prompt(args: argparse.Namespace, argv: list[str] | None) -> dict:
    """`--prompt all`: one run per original-task template of a promptsource task, named after the template."""
    from tasks.promptsource import PromptsourceError, list_prompts, parse_task_spec

    if not args.task.lower().startswith("promptsource:"):
        raise SystemExit(f"--prompt all runs every promptsource template; {args.task!r} is a hand-written task "
                         "(its patterns are chosen with --pattern-id)")
    try:
        infos = [p for p in list_prompts(*parse_task_spec(args.task)) if p.original_task or args.allow_non_original]
    except PromptsourceError as err:
        raise SystemExit(str(err)) from None
    argv = list(sys.argv[1:] if argv is None else argv)
    base = [a for i, a in enumerate(argv) if a != "--prompt" and not a.startswith("--prompt=") and
            not (i and argv[i - 1] == "--prompt") and a != "--experiment-name" and not a.startswith("--experiment-name=")
            and not (i and argv[i - 1] == "--experiment-name")]
    name = args.experiment_name if not args.experiment_name or PROMPT_PLACEHOLDER in args.experiment_name else (
        f"{args.experiment_name}-{PROMPT_PLACEHOLDER}")
    results: dict[str, dict | None] = {}
    failed: dict[str, str] = {}
    for info in infos:
        log.info("--prompt all: template %d/%d %r", len(results) + len(failed) + 1, len(infos), info.name)
        try:
            results[info.name] = main([*base, "--prompt", str(info.id)] + (["--experiment-name", name] if name else []))
        except SystemExit as err:  # this template cannot run on this data: the others still do, then it is reported
            if err.code in (None, 0):
                raise
            failed[info.name] = str(err.code)
            log.error("--prompt all: template %r failed: %s", info.name, err.code)
    if failed:
        raise SystemExit(f"--prompt all: {len(failed)} of {len(infos)} templates failed:\n" +
                         "\n".join(f"  {n}: {e.splitlines()[0]}" for n, e in failed.items()))
    return {"prompts": results}


def experiment_name(args: argparse.Namespace, method: str, prompt_name: str | None) -> str:
    """--experiment-name with "{prompt}" replaced by the chosen prompt's name (a template name, or pN), else a
    name derived from the flags."""
    if not args.experiment_name:
        return default_experiment_name(args, method, prompt_name)
    return args.experiment_name.replace(PROMPT_PLACEHOLDER, name_slug(prompt_name or f"p{args.pattern_id}"))


def resolve_checkpoint(name: str | None) -> str:
    """A local directory as is; otherwise a hub name, downloaded with huggingface_hub (a clear error offline)."""
    if not name:
        raise SystemExit("--load-pretrained is required: a GLM checkpoint directory or hub name (e.g. THUDM/glm-roberta-large)")
    if Path(name).exists():
        return name
    if looks_local(name):
        raise SystemExit(f"--load-pretrained {name!r}: no such directory (a local path, not a hub name: it "
                         f"{looks_local(name)}); check the spelling")
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name, allow_patterns=["*.json", "*.txt", "*.safetensors", "*.bin"])
    except Exception as err:
        raise SystemExit(
            f"--load-pretrained {name!r} is not a local path and could not be fetched from the hub "
            f"({type(err).__name__}). Download it where the hub is reachable and pass the directory instead."
        ) from None


def position_rows(a: argparse.Namespace, kind: str) -> int:
    """Position-table rows the run needs, by task kind: the input length for classification; for generation the
    source budget and the target's block positions (upstream raises the tables to the source length too)."""
    if kind != "generation":
        return a.max_position_embeddings or a.seq_length
    return max(a.max_position_embeddings or 0, a.src_seq_length, a.tgt_seq_length + 1)


# ---------------------------------------------------------------------------------------------- run
def main(argv: list[str] | None = None) -> dict | None:
    args = parse(build_parser(), argv)
    precision(args)  # rejects --fp16 with --bf16 before anything is loaded
    check_upstream_args(args)

    from model.tokenizer import GLMTokenizer
    from tasks.data_io import DataError
    from tasks.promptsource.loading import PromptsourceError
    from tasks.registry import PromptChoiceError, UnknownTaskError, format_prompts, resolve

    try:
        entry = resolve(args.task)
    except (UnknownTaskError, ValueError) as err:
        raise SystemExit(str(err)) from None
    if args.list_prompts:
        tok_dir = args.tokenizer_dir or (resolve_checkpoint(args.load_pretrained) if args.load_pretrained else str(ROOT / "tests" / "fixtures" / "tokenizer"))
        tokenizer = GLMTokenizer.from_dir(tok_dir, mask_id=args.mask_id)
        try:
            listings = entry.prompts(tokenizer)
            if args.data_dir and hasattr(entry, "check_prompts"):  # promptsource: each template tried on the data
                listings = entry.check_prompts(listings, task_config(args).data, tokenizer)
        except (DataError, ValueError) as err:
            raise SystemExit(str(err)) from None
        for line in format_prompts(listings):
            print(line)
        return None
    if args.prompt is not None and args.prompt.strip().lower() == "all":
        return run_every_prompt(args, argv)
    schema_flags = [f for f, v in (("--field-map", args.field_map), ("--label-names", args.label_names),
                                   ("--template-label-names", args.template_label_names),
                                   ("--skip-uncovered", args.skip_uncovered)) if v]
    if schema_flags and not args.task.lower().startswith("promptsource:"):  # refused rather than ignored
        raise SystemExit(f"{', '.join(schema_flags)}: options of promptsource tasks; {args.task!r} is a hand-written "
                         "task whose processor reads its own schema")

    from model.checkpoint import load_glm
    from training.build import build_task, check_task_flags

    # Everything that can be checked without the model is checked before a run directory exists.
    tcfg = task_config(args)
    checkpoint = resolve_checkpoint(args.load_pretrained)
    mspec = ModelSpec(checkpoint, tokenizer_dir(args.tokenizer_dir, checkpoint), args.mask_id, args.gelu, args.max_position_embeddings,
                      args.hidden_dropout, args.attention_dropout, args.checkpoint_activations)
    tokenizer = GLMTokenizer.from_dir(mspec.tokenizer_dir, mask_id=mspec.mask_id)
    extra = {}
    if tcfg.multi_token:
        from tasks.superglue.entry import SuperGlueTask

        if not isinstance(entry, SuperGlueTask):
            raise SystemExit("--multi-token applies to the SuperGLUE tasks (RTE, CB, BoolQ, WiC, MultiRC)")
        extra["multi_token"] = True
    try:
        task = entry.prepare(tcfg.data, tokenizer, prompt=tcfg.prompt, seq_length=tcfg.seq_length,
                             with_pattern=args.cloze_eval, allow_non_original=tcfg.allow_non_original, **extra)
    except (PromptChoiceError, DataError, PromptsourceError) as err:  # bad data or prompt: one line, before any run directory
        raise SystemExit(str(err)) from None
    head, peft = glm_head(args, task.kind), peft_config(args)
    identity = glm_identity(head, peft)
    check_task_flags(task, tcfg, head)
    unsupported = task.prompt.get("unsupported_metrics")
    if unsupported:
        log.warning("the template declares metric(s) %s, which are not implemented here; scored with %s instead "
                    "(recorded in config.json identity.prompt.unsupported_metrics)", ", ".join(unsupported), ", ".join(task.metrics))
    template = task.prompt.get("name") if task.name.lower().startswith("promptsource:") else None  # else pN
    if tcfg.pack_examples and (task.kind != "classification" or (head.kind == "cloze" and task.pvp.is_multi_token)):
        raise SystemExit("--pack-examples packs single-token cloze and --no-cloze-eval classification examples; "
                         f"task {task.name} is {'a generation task' if task.kind != 'classification' else 'scored by multi-token answers'}")

    import torch

    torch.manual_seed(args.seed)  # extended position rows are seeded (open_run seeds again for what follows)
    backbone = load_glm(mspec.load_pretrained, gelu=mspec.gelu, max_sequence_length=position_rows(args, task.kind),
                        hidden_dropout=mspec.hidden_dropout, attention_dropout=mspec.attention_dropout,
                        checkpoint_activations=mspec.checkpoint_activations)
    if backbone.config.vocab_size < tokenizer.vocab_size:
        raise SystemExit(f"the tokenizer in {mspec.tokenizer_dir} has {len(tokenizer)} tokens but the model only "
                         f"{backbone.config.vocab_size} embedding rows: tokenizer and checkpoint do not belong together")
    check_against_checkpoint(args, backbone.config, checkpoint, checkpoint_extra(checkpoint))
    ctx = open_run(args, experiment_name(args, identity["method"], template))
    try:
        built = build_task(task, tcfg, head, peft, generation_options(args), tokenizer, backbone)
    except (DataError, PromptsourceError) as err:  # bad data found while reading the splits: said in one line, recorded
        from training.rundir import mark_failed

        log.error("%s", err)
        if ctx.rank == 0:
            mark_failed(ctx.rundir.path, f"{type(err).__name__}: {err}")
        raise SystemExit(str(err)) from None

    def config_record(cfg, ds_config) -> dict:
        return {
            "args": {**vars(args), "method": identity["method"], "experiment_name": ctx.experiment, "load_pretrained": checkpoint},
            "identity": {**identity, "task": task.name, "kind": task.kind, "prompt": task.prompt,
                         "model": checkpoint},
            "command": command_line(argv, "finetune_glm.py"),
            "model": dataclasses.asdict(backbone.config),
            "data": built.data_record,
        }

    return run(args, ctx, built, config_record)


if __name__ == "__main__":
    main()
