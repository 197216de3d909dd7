"""From a baseline spec to what the loop runs: the task from the registry, samples, module, evaluator, decoding."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import (
    GenerationConfig,
    PreTrainedModel,
)

from tasks.base import InputExample
from tasks.layout import pad_rows
from tasks.registry import DataOptions, PreparedTask, UnknownTaskError, resolve
from training.build import BuiltTask, data_record, load_splits
from training.cloze import ClassificationTask
from training.loop import EvalResult, move
from training.seq2seq import generation_evaluator

from .families import BaselineSpec, load_pretrained
from .modules import (
    IGNORE_INDEX,
    ClassSample,
    LabelTextScorer,
    LinearClassifier,
    Seq2SeqLM,
    TextPair,
    collate_classes,
    collate_pairs,
    pad_inputs,
)


# ---------------------------------------------------------------------------------------------- tasks
def prepare_task(spec: "BaselineSpec") -> PreparedTask:
    """The task from the one registry, read with the plain texts (no GLM pattern)."""
    return resolve(spec.task).prepare(DataOptions(spec.data_dir, spec.dev_fraction, spec.data_seed, few_superglue=spec.few_superglue,
                                                  test_fraction=spec.test_fraction), None,
                                      prompt=spec.prompt, seq_length=spec.seq_length, with_pattern=False,
                                      allow_non_original=spec.allow_non_original)


def task_family(task: str, data: DataOptions | None = None, prompt: int | str | None = None,
                allow_non_original: bool = False) -> str:
    """'classification' or 'seq2seq' (the baselines' two model shapes); an unknown task is an error. A
    promptsource data set offers both kinds, so its chosen template decides: the task is prepared to find out."""
    try:
        entry = resolve(task)
        kind = entry.kind
        if kind is None:
            kind = entry.prepare(data or DataOptions(None, 0.1, 42), None, prompt=prompt, with_pattern=False,
                                 allow_non_original=allow_non_original).kind
    except UnknownTaskError as err:
        raise SystemExit(str(err)) from None
    return "seq2seq" if kind == "generation" else "classification"


def label_text(label: str) -> str:
    """The text a text-to-text model generates for a label: the label name with CamelCase split into words
    ("EducationalInstitution" -> "Educational Institution"), since T5's own tasks name classes in words."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label)


def source_text(example: InputExample, prefix: str) -> str:
    """A text-to-text input: the prefix, then text_a and text_b joined by a space."""
    return prefix + " ".join(t for t in (example.text_a, example.text_b) if t)




# ---------------------------------------------------------------------------------------------- building
def build_baseline(spec: BaselineSpec) -> BuiltTask:
    """From the spec to what the loop runs, for either task family."""
    return _classification(spec) if spec.family == "classification" else _seq2seq(spec)


def _classification(spec: BaselineSpec) -> BuiltTask:
    task = prepare_task(spec)
    from tasks.superglue.processors import SuperGlueProcessor

    if isinstance(task.processor, SuperGlueProcessor):
        return _superglue(spec, task)
    if spec.few_superglue or spec.loss_func != "cross_entropy":
        raise SystemExit(f"--few-superglue and --loss-func are SuperGLUE flags, but {spec.task} is not a SuperGLUE task")
    processor, labels, metrics = task.processor, task.labels, task.metrics
    model, tokenizer = load_pretrained(spec, labels)
    label_index = {label: i for i, label in enumerate(labels)}

    def label_of(e: InputExample) -> int:
        return -1 if e.label is None else label_index[e.label]  # the processor has checked the label

    if spec.baseline.classifier is not None:
        module: nn.Module = LinearClassifier(model)

        def encode(e: InputExample) -> ClassSample:
            ids = tokenizer(e.text_a, e.text_b, truncation=True, max_length=spec.seq_length)["input_ids"]
            return ClassSample(ids, label_of(e))
    else:
        texts = [label_text(label) for label in labels]
        candidate_ids = tokenizer(text_target=texts)["input_ids"]
        if len({tuple(ids) for ids in candidate_ids}) < len(texts):
            raise SystemExit(f"the tokenizer of {spec.model_name_or_path} encodes two label texts of {spec.task} "
                             f"({', '.join(texts)}) to the same tokens, so they cannot be told apart")
        module = LabelTextScorer(model, pad_rows(candidate_ids, IGNORE_INDEX), spec.length_penalty)

        def encode(e: InputExample) -> ClassSample:
            ids = tokenizer(source_text(e, spec.source_prefix), truncation=True, max_length=spec.seq_length)["input_ids"]
            return ClassSample(ids, label_of(e))

    built = ClassificationTask(module, encode, partial(collate_classes, pad_id=tokenizer.pad_token_id), labels, metrics)
    examples, subset = load_splits(processor, spec.data_dir, spec.train_subset)
    samples = {split: built.encode_all(exs, split) for split, exs in examples.items()}
    return BuiltTask(
        module=module,
        train_samples=samples["train"],
        collate=built.collate,
        make_evaluator=lambda bs, device: built.evaluator(samples, examples, bs, device),
        validation_metric=metrics[0],
        data_record=data_record(processor, examples, train_subset=subset),  # as GLM's runs
    )


def _superglue(spec: BaselineSpec, task: PreparedTask) -> BuiltTask:
    """A SuperGLUE task with a linear head, on upstream's classifier inputs (processor.classifier_input), and for
    COPA / ReCoRD one score per `A </s></s> choice` pair (a one-output head, as GLM's multiple-choice head); the
    same splits, SuperGLUE metrics and submission files as GLM's runs (training/superglue.py)."""
    from training.superglue import submission_writer, superglue_evaluator

    from .modules import ChoiceSample, MultipleChoiceLinear, collate_choices

    if spec.baseline.classifier is None:
        raise SystemExit(f"the SuperGLUE tasks run with a linear-head baseline (roberta_linear, bart_linear), not {spec.baseline.name}")
    if spec.loss_func in ("generative", "mix"):
        raise SystemExit(f"--loss-func {spec.loss_func} needs log-probability scores; a linear head gives logits (cross_entropy or hinge)")
    processor, name = task.processor, task.processor.task  # type: ignore[attr-defined]
    examples, subset = load_splits(processor, spec.data_dir, spec.train_subset)
    if task.kind == "multiple_choice":
        model, tokenizer = load_pretrained(spec, ["score"])  # one output per (context, choice) pair
        module: nn.Module = MultipleChoiceLinear(model, spec.loss_func)

        def encode(e: InputExample, part: slice = slice(None), label: bool = True) -> ChoiceSample:
            text_a, choices = processor.classifier_choices(e)  # type: ignore[attr-defined]
            rows = [tokenizer(text_a, " ".join(c), truncation="only_first", max_length=spec.seq_length)["input_ids"] for c in choices[part]]
            gold = set(e.meta.get("answers", [])) if name == "record" else None
            target = next((i for i, c in enumerate(e.meta["candidates"]) if c in gold), -1) if gold is not None else \
                (-1 if e.label is None else int(e.label))  # fmt: skip
            return ChoiceSample(rows, target if label else -1)

        def pieces(e: InputExample) -> list[ChoiceSample]:
            n = len(processor.classifier_choices(e)[1])  # type: ignore[attr-defined]
            return [encode(e, slice(i, i + 10), label=False) for i in range(0, n, 10)]

        width = lambda piece: len(piece.rows)  # noqa: E731
        collate = partial(collate_choices, pad_id=tokenizer.pad_token_id)
    else:
        labels = task.labels
        model, tokenizer = load_pretrained(spec, labels)
        module = LinearClassifier(model, spec.loss_func)

        def encode(e: InputExample) -> ClassSample:  # type: ignore[misc]
            a, b = processor.classifier_input(e)  # type: ignore[attr-defined]
            ids = tokenizer(a, b, truncation=True, max_length=spec.seq_length)["input_ids"]
            return ClassSample(ids, -1 if e.label is None else labels.index(e.label))

        def pieces(e: InputExample) -> list[ClassSample]:  # type: ignore[misc]
            return [ClassSample(encode(e).input_ids, -1)]

        width = lambda piece: len(labels)  # noqa: E731
        collate = partial(collate_classes, pad_id=tokenizer.pad_token_id)
    train = [encode(e) for e in tqdm(examples["train"], desc="encode train", leave=False)]
    eval_samples = {s: [pieces(e) for e in exs] for s, exs in examples.items() if s != "train"}
    last: dict[str, list[int]] = {}
    return BuiltTask(
        module=module,
        train_samples=train,
        collate=collate,
        make_evaluator=superglue_evaluator(name, examples, eval_samples, collate, width, last),
        validation_metric=task.metrics[0],
        data_record={**data_record(processor, examples, train_subset=subset), "scoring": {"loss_func": spec.loss_func}},
        after_run=submission_writer(name, examples, last),
    )


def _seq2seq(spec: BaselineSpec) -> BuiltTask:
    model, tokenizer = load_pretrained(spec, None)
    task = prepare_task(spec)
    examples, subset = load_splits(task.processor, spec.data_dir, spec.train_subset)

    def encode(source: str, target: str | None) -> TextPair:
        ids = tokenizer(spec.source_prefix + source, truncation=True, max_length=spec.src_seq_length)["input_ids"]
        if target is None:
            return TextPair(ids, None)
        return TextPair(ids, tokenizer(text_target=target, truncation=True, max_length=spec.tgt_seq_length)["input_ids"])

    samples = {split: [encode(e.text_a, e.target) for e in exs] for split, exs in examples.items()}
    generation = decoding_config(model, spec)

    def make_evaluator(batch_size: int, device: torch.device) -> Callable[[nn.Module, str], EvalResult]:
        def predict(module: nn.Module, split: str, n: int) -> list[str]:
            return generate_texts(module.model, tokenizer, samples[split][:n], generation, batch_size, device)

        return generation_evaluator(examples, predict, task.metrics, spec.eval_max_examples)

    return BuiltTask(
        module=Seq2SeqLM(model, spec.label_smoothing),
        train_samples=samples["train"],
        collate=partial(collate_pairs, pad_id=tokenizer.pad_token_id),
        make_evaluator=make_evaluator,
        validation_metric=task.metrics[0],
        data_record=data_record(task.processor, examples, str(spec.data_dir) if spec.data_dir else "hub", subset),
    )


# ---------------------------------------------------------------------------------------------- decoding
def decoding_config(model: PreTrainedModel, spec: BaselineSpec) -> GenerationConfig:
    """Decoding exactly as the flags say. Only the special-token ids come from the checkpoint, so decoding
    defaults a hub checkpoint ships (facebook/bart-large: 4 beams, no repeated trigrams, ...) cannot change
    results behind the flags' back."""
    shipped = model.generation_config
    return GenerationConfig(
        decoder_start_token_id=shipped.decoder_start_token_id, bos_token_id=shipped.bos_token_id,
        eos_token_id=shipped.eos_token_id, pad_token_id=shipped.pad_token_id,
        forced_bos_token_id=getattr(shipped, "forced_bos_token_id", None),
        forced_eos_token_id=getattr(shipped, "forced_eos_token_id", None),
        max_new_tokens=spec.tgt_seq_length, min_new_tokens=spec.min_tgt_length, num_beams=spec.num_beams,
        length_penalty=spec.length_penalty, no_repeat_ngram_size=spec.no_repeat_ngram_size, do_sample=False,
        use_cache=spec.use_cache,
    )


def generate_texts(model: PreTrainedModel, tokenizer: Any, samples: Sequence[TextPair], generation: GenerationConfig,
                   batch_size: int, device: torch.device) -> list[str]:
    """Generated text per sample, in sample order. Batches are formed in order of input length (less padding);
    the attention mask keeps padding out, so the order changes speed, not the output."""
    order = sorted(range(len(samples)), key=lambda i: len(samples[i].input_ids))
    texts = [""] * len(samples)
    for start in tqdm(range(0, len(order), batch_size), desc="decode", leave=False, dynamic_ncols=True):
        chunk = order[start : start + batch_size]
        batch = move(pad_inputs([samples[i].input_ids for i in chunk], tokenizer.pad_token_id), device)
        out = model.generate(**batch, generation_config=generation)  # [b, 1 + generated]
        for i, text in zip(chunk, tokenizer.batch_decode(out, skip_special_tokens=True)):
            texts[i] = text.strip()
    return texts
