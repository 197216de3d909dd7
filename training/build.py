"""From a prepared task (tasks.registry) and typed configs to what the loop runs: samples, collate, module,
evaluator and the data record. One function per task kind; both drivers read their splits with `load_splits`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from model.glm import GLMModel
from model.peft import ContinuousPromptConfig, PeftConfig, apply_peft
from model.tokenizer import GLMTokenizer
from tasks.base import DataProcessor, InputExample
from tasks.data_io import MissingSplitError
from tasks.registry import PreparedTask
from tasks.sampling import TrainSubset

from .cloze import build_classification_task
from .config import GenerationOptions, HeadConfig, TaskConfig
from .loop import EvalResult

log = logging.getLogger(__name__)


@dataclass
class BuiltTask:
    module: nn.Module
    train_samples: list[Any]
    collate: Callable[[Sequence[Any]], dict]
    make_evaluator: Callable[[int, torch.device], Callable[[nn.Module, str], EvalResult]]
    validation_metric: str
    kind: str = "classification"  # or "generation"
    metric_mode: str = "max"
    data_record: dict = field(default_factory=dict)
    after_run: Callable[[Any], Any] | None = None  # called with the run directory's path when the run finished

    def evaluator(self, batch_size: int, device: torch.device) -> Callable[[nn.Module, str], EvalResult]:
        return self.make_evaluator(batch_size, device)


def load_splits(processor: DataProcessor, data_dir: str | None,
                subset: TrainSubset = TrainSubset()) -> tuple[dict[str, list[InputExample]], dict | None]:
    """train/dev/test examples of a processor, train reduced to `subset`, and the record of that reduction.

    Checked here, before any training, so that no bad split surfaces halfway through a run: every split has
    records; train and dev examples all have labels (a missing one is an error naming its row); test is all
    labelled or all unlabelled (then the run writes test predictions without test metrics, and says so)."""
    train = processor.get_train_examples(data_dir)
    check_split(processor, "train", train)
    try:
        train, subset_record = subset.select(train)
    except ValueError as err:
        raise SystemExit(f"training data of {processor.data_record.get('train', {}).get('from', 'this task')}: {err}") from None
    examples = {"train": train, "dev": processor.get_dev_examples(data_dir), "test": _test_examples(processor, data_dir)}
    check_split(processor, "dev", examples["dev"])
    if examples["test"] or getattr(processor, "has_test_split", True):
        check_split(processor, "test", examples["test"])
    return examples, subset_record


def _test_examples(processor: DataProcessor, data_dir: str | None) -> list[InputExample]:
    """The test split. A processor whose data layout has none by design (`has_test_split = False`: THUDM/GLM's csv
    tasks, whose test.csv is their dev split) gets an empty one, and the data record says why; for every other
    processor a missing test split is the error it raises."""
    if getattr(processor, "has_test_split", True):
        return processor.get_test_examples(data_dir)
    try:
        processor.get_test_examples(data_dir)
    except MissingSplitError as err:
        processor.data_record["test"] = {"from": None, "size": 0, "why": str(err)}
        return []
    raise RuntimeError(f"{type(processor).__name__} says it has no test split but returned one")


def _labelled(example: InputExample) -> bool:
    """A gold answer to score against: the label or target, or (ReCoRD-style dev examples, one per query over all
    entities) the gold answers in meta."""
    if (example.target if example.kind == "generation" else example.label) is not None:
        return True
    return bool(example.meta.get("answers"))


def check_split(processor: DataProcessor, split: str, examples: list[InputExample]) -> None:
    origin = processor.data_record.get(split, {}).get("from") or f"the {split} split"
    if not examples:
        raise SystemExit(f"{origin}: the {split} split has no records; every split needs at least one example "
                         f"(remove the empty file{' to hold out dev from train' if split == 'dev' else ''})")
    missing = [e for e in examples if not _labelled(e)]
    if not missing or (split == "test" and len(missing) == len(examples)):
        if missing:
            log.warning("%s: the test split has no labels; the run writes test predictions and no test metrics", origin)
            processor.data_record.setdefault("test", {})["labelled"] = False
        return
    first = missing[0]
    where = first.meta.get("where") or f"{origin}, example {first.guid}"
    field_name = "target" if first.kind == "generation" else "label"
    raise SystemExit(f"{where}: no {field_name} ({len(missing)} of {len(examples)} {split} examples lack one); "
                     f"{'every train and dev example needs one' if split != 'test' else 'label all test examples or none'}"
                     f" (metrics over only the labelled ones would misreport the split)")


def data_record(processor: DataProcessor, examples: dict[str, list[InputExample]], source: str | None = None,
                train_subset: dict | None = None) -> dict:
    """config.json's "data": where each split came from and how dev was made (the processor's record), the sizes
    used, the part of train used when not all of it, and for generation runs the data source as a whole."""
    record = {**processor.data_record, "sizes": {split: len(exs) for split, exs in examples.items()}}
    if train_subset is not None:
        record["train_subset"] = train_subset
    if source is not None:
        record["from"] = source
    return record


def build_task(task: PreparedTask, cfg: TaskConfig, head: HeadConfig, peft: PeftConfig | None,
               generation: GenerationOptions | None, tokenizer: GLMTokenizer, backbone: GLMModel) -> BuiltTask:
    check_task_flags(task, cfg, head)
    if isinstance(peft, ContinuousPromptConfig):
        peft = _place_continuous_prompt(task, head, peft, max(len(tokenizer), backbone.config.vocab_size))
    if task.kind == "generation":
        assert generation is not None
        prompt = (peft.prefix_prompt, peft.placeholder_id) if isinstance(peft, ContinuousPromptConfig) else (0, -1)
        return _seq2seq(task, cfg, generation, tokenizer, apply_peft(backbone, peft), *prompt)
    from tasks.superglue.processors import SuperGlueProcessor

    if isinstance(task.processor, SuperGlueProcessor):
        if isinstance(peft, ContinuousPromptConfig) and head.kind != "cloze":
            raise SystemExit("--prefix-prompt with the linear head is not available for the SuperGLUE tasks; "
                             "use the cloze head (continuous prompts in the pattern), --ptuning-v2 or --lora")
        return _superglue(task, cfg, head, tokenizer, apply_peft(backbone, peft))
    prompt = (peft.prefix_prompt, peft.placeholder_id) if isinstance(peft, ContinuousPromptConfig) and head.kind != "cloze" else None
    return _classification(task, cfg, head, tokenizer, apply_peft(backbone, peft), prompt)


def _superglue(task: PreparedTask, cfg: TaskConfig, head: HeadConfig, tokenizer: GLMTokenizer, backbone: nn.Module) -> BuiltTask:
    from .superglue import build_superglue_task

    examples, subset = load_splits(task.processor, cfg.data.data_dir, cfg.train_subset)
    built = build_superglue_task(backbone, tokenizer, task.pvp if head.kind == "cloze" else None, task.processor,  # type: ignore[arg-type]
                                 task.processor.task, task.labels, task.kind, examples, head_kind=head.kind,  # type: ignore[attr-defined]
                                 seq_length=cfg.seq_length, loss_func=cfg.loss_func, length_penalty=cfg.length_penalty,
                                 wsc_negative=cfg.wsc_negative, multi_token_layout=cfg.multi_token_layout,
                                 classifier_dropout=head.output_dropout)  # fmt: skip
    return BuiltTask(
        module=built.module,
        train_samples=built.train_samples,
        collate=built.collate,
        make_evaluator=built.make_evaluator,
        validation_metric=task.metrics[0],
        data_record={**data_record(task.processor, examples, train_subset=subset), "scoring": built.record},
        after_run=built.write_submission,
    )


def check_task_flags(task: PreparedTask, cfg: TaskConfig, head: HeadConfig) -> None:
    """Flag combinations that cannot work, found before anything is loaded: the SuperGLUE flags (--loss-func,
    --wsc-negative, --few-superglue) on other tasks; a generative loss without log-probability scores."""
    from tasks.superglue.processors import SuperGlueProcessor

    if not isinstance(task.processor, SuperGlueProcessor):
        given = [flag for flag, on in (("--loss-func " + cfg.loss_func, cfg.loss_func != "cross_entropy"),
                                       ("--wsc-negative", cfg.wsc_negative), ("--few-superglue", cfg.data.few_superglue)) if on]  # fmt: skip
        if given:
            raise SystemExit(f"{', '.join(given)}: SuperGLUE flags, but {task.name} is not a SuperGLUE task")
        return
    generative_wsc = task.processor.task == "wsc" and head.kind == "cloze" and not cfg.wsc_negative  # type: ignore[attr-defined]
    if cfg.loss_func in ("generative", "mix") and not generative_wsc:
        if head.kind != "cloze":
            raise SystemExit(f"--loss-func {cfg.loss_func} needs log-probability scores; the linear head (--no-cloze-eval) gives "
                             "logits: use cross_entropy or hinge")
        if task.pvp is not None and not task.pvp.is_multi_token:
            raise SystemExit(f"--loss-func {cfg.loss_func} needs log-probability scores (multi-token answers); {task.name}'s "
                             "pattern scores single label words by raw logits: use cross_entropy or hinge, or add --multi-token")


def _place_continuous_prompt(task: PreparedTask, head: HeadConfig, peft: ContinuousPromptConfig,
                             placeholder_id: int) -> ContinuousPromptConfig:
    """Continuous prompts live in a pattern: the task's PVP renders their positions as a placeholder id: one no
    text produces and no decoding step can emit (past both the tokenizer and the embedding rows; THUDM/GLM uses the
    tokenizer's length). Generation sources and the linear head's input have no slots: there the prompt tokens go
    right after [CLS] (--prefix-prompt), placed by the seq2seq task or the classification builder."""
    peft = dataclasses.replace(peft, placeholder_id=placeholder_id)
    if task.kind == "generation":
        if peft.num_prompt_tokens:
            raise SystemExit("generation prompts have no continuous-prompt slots: use --prefix-prompt K (prompt tokens "
                             "after [CLS]) instead of --num-prompt-tokens")
        return peft
    if head.kind != "cloze" or task.pvp is None:
        if peft.num_prompt_tokens:
            raise SystemExit("the linear head (--no-cloze-eval) renders no pattern, so it has no continuous-prompt "
                             "slots: use --prefix-prompt K (prompt tokens after [CLS]) instead of --num-prompt-tokens")
        return peft
    try:
        task.pvp.use_continuous_prompt(peft.num_prompt_tokens, peft.prefix_prompt, peft.placeholder_id)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    return peft


def _classification(task: PreparedTask, cfg: TaskConfig, head: HeadConfig, tokenizer: GLMTokenizer, backbone: nn.Module,
                    prefix_prompt: tuple[int, int] | None = None) -> BuiltTask:
    built = build_classification_task(backbone, tokenizer, task.pvp if head.kind == "cloze" else None, task.labels,
                                      task.metrics, cfg.seq_length, head.kind, cfg.multi_token_layout, cfg.length_penalty,
                                      head.output_dropout, prefix_prompt, cfg.pack_examples)
    examples, subset = load_splits(task.processor, cfg.data.data_dir, cfg.train_subset)
    samples = {split: built.encode_all(exs, split) for split, exs in examples.items()}
    return BuiltTask(
        module=built.module,
        train_samples=samples["train"],
        collate=built.collate,
        make_evaluator=lambda bs, device: built.evaluator(samples, examples, bs, device),
        validation_metric=task.metrics[0],
        data_record=data_record(task.processor, examples, train_subset=subset),
    )


def _seq2seq(task: PreparedTask, cfg: TaskConfig, g: GenerationOptions, tokenizer: GLMTokenizer, backbone: GLMModel,
             prefix_prompt: int = 0, prompt_placeholder: int = -1) -> BuiltTask:
    from model.decoding import GenerationConfig
    from tasks.seq2seq.layout import Seq2SeqLayoutConfig

    from .seq2seq import build_seq2seq_task

    layout = Seq2SeqLayoutConfig(g.src_seq_length, g.tgt_seq_length, original_layout=not g.mask_pad_token)
    decoding = GenerationConfig(max_length=g.tgt_seq_length, min_length=g.min_tgt_length, num_beams=g.num_beams,
                                length_penalty=g.length_penalty, no_repeat_ngram_size=g.no_repeat_ngram_size,
                                eop_id=tokenizer.eop_id, pad_id=tokenizer.pad_id, use_cache=g.use_cache)
    built = build_seq2seq_task(backbone, tokenizer, task.seq2seq_prompt, layout, decoding, g.label_smoothing, task.metrics,
                               prefix_prompt, prompt_placeholder)
    examples, subset = load_splits(task.processor, cfg.data.data_dir, cfg.train_subset)
    samples = {split: built.encode_all(exs) for split, exs in examples.items()}
    return BuiltTask(
        module=built.module,
        train_samples=samples["train"],
        collate=built.collate,
        make_evaluator=lambda bs, device: built.evaluator(samples, examples, bs, device, g.eval_max_examples),
        validation_metric=task.metrics[0],
        kind="generation",
        data_record=data_record(task.processor, examples, str(cfg.data.data_dir) if cfg.data.data_dir else "hub", subset),
    )
