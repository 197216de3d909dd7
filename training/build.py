"""From a task specification to what the loop runs: samples, collate, module, evaluator, data record.

One function per task family; the driver calls `build_task` and `describe_prompts` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from model.glm import GLMModel
from model.tokenizer import GLMTokenizer

from .cloze import build_classification_task
from .loop import EvalResult


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

    def evaluator(self, batch_size: int, device: torch.device) -> Callable[[nn.Module, str], EvalResult]:
        return self.make_evaluator(batch_size, device)


def with_prefixes(spec, backbone: GLMModel) -> nn.Module:
    """P-tuning v2 wraps the frozen backbone; otherwise every backbone parameter is trained."""
    from model.peft import PrefixConfig, apply_peft

    if not spec.ptuning_v2:
        return backbone
    return apply_peft(backbone, PrefixConfig(spec.pre_seq_len, spec.prefix_projection, spec.prefix_hidden_size))


def build_task(spec, tokenizer: GLMTokenizer, backbone: GLMModel) -> BuiltTask:
    """`spec` is the driver's TaskSpec (task, data_dir, pattern_id, prompt, seq_length, method, ...)."""
    from tasks import classification
    from tasks.seq2seq.datasets import SEQ2SEQ_PROCESSORS, get_prompt

    if spec.task.startswith("promptsource:"):
        return _promptsource(spec, tokenizer, backbone)
    if spec.task in SEQ2SEQ_PROCESSORS:
        if spec.ptuning_v2:
            raise SystemExit("--ptuning-v2 is supported for classification tasks; seq2seq tasks use full fine-tuning")
        return _seq2seq(spec, tokenizer, backbone, SEQ2SEQ_PROCESSORS[spec.task](), get_prompt(spec.task, spec.pattern_id))
    backbone = with_prefixes(spec, backbone)

    if spec.task in classification.PROCESSORS:
        processor = classification.PROCESSORS[spec.task](dev_fraction=spec.dev_fraction, seed=spec.data_seed)
        labels = processor.get_labels()
        pvp = classification.get_pvp(spec.task, spec.pattern_id, tokenizer, labels, spec.seq_length) if not spec.method.startswith("classifier") else None
        metrics = classification.DEFAULT_METRICS[spec.task]
        return _classification(spec, processor, pvp, labels, metrics, tokenizer, backbone)
    known = sorted(classification.PROCESSORS) + sorted(SEQ2SEQ_PROCESSORS)
    raise SystemExit(f"unknown task {spec.task!r}; available: {', '.join(known)}")


def _promptsource(spec, tokenizer: GLMTokenizer, backbone: GLMModel) -> BuiltTask:
    from tasks.promptsource_adapter import make_promptsource_task

    task = make_promptsource_task(spec.task, tokenizer, spec.seq_length, spec.prompt if spec.prompt is not None else spec.pattern_id,
                                  spec.allow_non_original, spec.data_dir, dev_fraction=spec.dev_fraction, seed=spec.data_seed)
    if task.kind == "generation":
        if spec.ptuning_v2:
            raise SystemExit("--ptuning-v2 is supported for classification tasks; seq2seq tasks use full fine-tuning")
        return _seq2seq(spec, tokenizer, backbone, task.processor, task.seq2seq)
    pvp = task.pvp if not spec.method.startswith("classifier") else None
    return _classification(spec, task.processor, pvp, task.processor.get_labels(), task.metrics, tokenizer, with_prefixes(spec, backbone))


def load_splits(processor, spec) -> dict[str, list]:
    """train/dev/test examples of a processor; --max-train-examples keeps the first N of train."""
    examples = {
        "train": processor.get_train_examples(spec.data_dir),
        "dev": processor.get_dev_examples(spec.data_dir),
        "test": processor.get_test_examples(spec.data_dir),
    }
    if spec.max_train_examples:
        examples["train"] = examples["train"][: spec.max_train_examples]
    return examples


def _classification(spec, processor, pvp, labels, metrics, tokenizer, backbone) -> BuiltTask:
    task = build_classification_task(backbone, tokenizer, pvp, labels, metrics, spec.seq_length, spec.method,
                                     spec.multi_token_layout, spec.length_penalty, spec.output_dropout)
    examples = load_splits(processor, spec)
    samples = {split: task.encode_all(exs, split) for split, exs in examples.items()}
    record = dict(processor.data_record)
    record["sizes"] = {split: len(exs) for split, exs in examples.items()}
    return BuiltTask(
        module=task.module,
        train_samples=samples["train"],
        collate=task.collate,
        make_evaluator=lambda bs, device: task.evaluator(samples, examples, bs, device),
        validation_metric=metrics[0],
        data_record=record,
    )


def _seq2seq(spec, tokenizer: GLMTokenizer, backbone: GLMModel, processor, prompt) -> BuiltTask:
    from model.decoding import GenerationConfig
    from tasks.seq2seq.layout import Seq2SeqLayoutConfig

    from .seq2seq import METRICS, build_seq2seq_task

    g = spec.generation
    layout = Seq2SeqLayoutConfig(g["src_seq_length"], g["tgt_seq_length"], original_layout=not g["mask_pad_token"])
    generation = GenerationConfig(max_length=g["tgt_seq_length"], min_length=g["min_tgt_length"], num_beams=g["num_beams"],
                                  length_penalty=g["length_penalty"], no_repeat_ngram_size=g["no_repeat_ngram_size"],
                                  eop_id=tokenizer.eop_id, pad_id=tokenizer.pad_id, use_cache=g["use_cache"])
    task = build_seq2seq_task(backbone, tokenizer, prompt, layout, generation, g["label_smoothing"])
    examples = load_splits(processor, spec)
    samples = {split: task.encode_all(exs) for split, exs in examples.items()}
    return BuiltTask(
        module=task.module,
        train_samples=samples["train"],
        collate=task.collate,
        make_evaluator=lambda bs, device: task.evaluator(samples, examples, bs, device, g["eval_max_examples"]),
        validation_metric=METRICS[0],
        kind="generation",
        data_record={"sizes": {split: len(exs) for split, exs in examples.items()},
                     "from": str(spec.data_dir) if spec.data_dir else "hub"},
    )


def describe_prompts(task: str, tokenizer: GLMTokenizer) -> list[str]:
    """One line per prompt the task offers: id, description, single- or multi-token."""
    from tasks import classification
    from tasks.seq2seq.datasets import SEQ2SEQ_PROMPTS

    if task.startswith("promptsource:"):
        from tasks.promptsource_adapter import format_prompts, list_prompts, parse_task_spec

        return format_prompts(list_prompts(*parse_task_spec(task), tokenizer)).splitlines()
    if task in SEQ2SEQ_PROMPTS:
        return [f"{'id':>4}  {'kind':<12}  prompt"] + [
            f"{i:>4}  {'generation':<12}  {p.name}: {getattr(p, 'template', '') or p.__doc__.strip().splitlines()[0]}"
            for i, p in enumerate(SEQ2SEQ_PROMPTS[task])
        ]
    if task not in classification.PROCESSORS:
        raise SystemExit(f"unknown task {task!r}; available: {', '.join(sorted(classification.PROCESSORS))}")
    labels = classification.PROCESSORS[task]().get_labels()
    lines = [f"{'id':>4}  {'kind':<12}  prompt"]
    for pattern_id, description in classification.list_prompts(task).items():
        pvp = classification.get_pvp(task, pattern_id, tokenizer, labels, 512)
        kind = "multi-token" if pvp.is_multi_token else "single-token"
        lines.append(f"{pattern_id:>4}  {kind:<12}  {description}")
    return lines
