"""From a prepared task (tasks.registry) and typed configs to what the loop runs: samples, collate, module,
evaluator and the data record. One function per task kind; both drivers read their splits with `load_splits`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from model.glm import GLMModel
from model.peft import PeftConfig, apply_peft
from model.tokenizer import GLMTokenizer
from tasks.base import DataProcessor, InputExample
from tasks.registry import PreparedTask
from tasks.sampling import TrainSubset

from .cloze import build_classification_task
from .config import GenerationOptions, HeadConfig, TaskConfig
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


def load_splits(processor: DataProcessor, data_dir: str | None,
                subset: TrainSubset = TrainSubset()) -> tuple[dict[str, list[InputExample]], dict | None]:
    """train/dev/test examples of a processor, train reduced to `subset`, and the record of that reduction."""
    train = processor.get_train_examples(data_dir)
    try:
        train, subset_record = subset.select(train)
    except ValueError as err:
        raise SystemExit(f"training data of {processor.data_record.get('train', {}).get('from', 'this task')}: {err}") from None
    examples = {"train": train, "dev": processor.get_dev_examples(data_dir), "test": processor.get_test_examples(data_dir)}
    return examples, subset_record


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
    if task.kind == "generation":
        if peft is not None:
            raise SystemExit("parameter-efficient tuning (--ptuning-v2) is supported for classification tasks; "
                             "generation tasks use full fine-tuning")
        assert generation is not None
        return _seq2seq(task, cfg, generation, tokenizer, backbone)
    return _classification(task, cfg, head, tokenizer, apply_peft(backbone, peft))


def _classification(task: PreparedTask, cfg: TaskConfig, head: HeadConfig, tokenizer: GLMTokenizer, backbone: nn.Module) -> BuiltTask:
    built = build_classification_task(backbone, tokenizer, task.pvp if head.kind == "cloze" else None, task.labels,
                                      task.metrics, cfg.seq_length, head.kind, cfg.multi_token_layout, cfg.length_penalty,
                                      head.output_dropout, cfg.pack_examples)
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


def _seq2seq(task: PreparedTask, cfg: TaskConfig, g: GenerationOptions, tokenizer: GLMTokenizer, backbone: GLMModel) -> BuiltTask:
    from model.decoding import GenerationConfig
    from tasks.seq2seq.layout import Seq2SeqLayoutConfig

    from .seq2seq import build_seq2seq_task

    layout = Seq2SeqLayoutConfig(g.src_seq_length, g.tgt_seq_length, original_layout=not g.mask_pad_token)
    decoding = GenerationConfig(max_length=g.tgt_seq_length, min_length=g.min_tgt_length, num_beams=g.num_beams,
                                length_penalty=g.length_penalty, no_repeat_ngram_size=g.no_repeat_ngram_size,
                                eop_id=tokenizer.eop_id, pad_id=tokenizer.pad_id, use_cache=g.use_cache)
    built = build_seq2seq_task(backbone, tokenizer, task.seq2seq_prompt, layout, decoding, g.label_smoothing, task.metrics)
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
