"""Baselines of similar size to glm-roberta-large, trained by the same loop on the same data, splits and metrics.

    roberta   RoBERTa with a linear head on <s> (RobertaForSequenceClassification); classification only.
              method "roberta_linear".
    bart      classification: BartForSequenceClassification, a linear head on the decoder's last </s> (the
              BART paper's recipe), method "bart_linear"; generation: BartForConditionalGeneration, method "bart".
    t5        text to text (T5ForConditionalGeneration), method "t5". Generation as is; classification generates
              the label's text: every label's text is scored by its log-likelihood given the input and the best
              one is the prediction, so there is no free-form output to parse and accuracy/F1 are well defined.

Everything here is glue between a Hugging Face model and the project's pieces: processors and their splits
(`training.build.load_splits`), metrics (`tasks.metrics`, `tasks.seq2seq.metrics`), the evaluator
and prediction rows of GLM's classification runs (`training.cloze.ClassificationTask`) and `training.loop`'s
contract: module(batch) -> (scores or None, loss).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm
from transformers import (
    AutoConfig,
    AutoTokenizer,
    BartForConditionalGeneration,
    BartForSequenceClassification,
    GenerationConfig,
    PretrainedConfig,
    PreTrainedModel,
    RobertaForSequenceClassification,
    T5ForConditionalGeneration,
)
from transformers.modeling_outputs import BaseModelOutput

from model.heads import cloze_loss
from tasks.base import InputExample
from tasks.layout import pad_rows
from tasks.registry import DataOptions, PreparedTask, UnknownTaskError, resolve

from .build import BuiltTask, data_record, load_splits
from .cloze import ClassificationTask
from .loop import EvalResult, move
from .seq2seq import generation_evaluator

IGNORE_INDEX = -100  # target padding: no loss, and no score


# ---------------------------------------------------------------------------------------------- the baselines
@dataclass(frozen=True)
class Baseline:
    """One baseline family: which checkpoints it takes, which classes it builds, what its runs are called."""

    name: str
    default_model: str  # hub name of the size comparable with glm-roberta-large (335M)
    model_type: str  # config.json model_type a checkpoint must have
    classifier: type[PreTrainedModel] | None  # a linear head over the encoder (None: text to text)
    generator: type[PreTrainedModel] | None  # an encoder-decoder LM (None: cannot generate)
    classification_method: str
    seq2seq_method: str | None
    dropout_fields: tuple[str, ...]  # config attributes that --hidden-dropout sets
    source_prefix: str = ""  # default text before every input; "{task}" is replaced by the task name

    def method(self, family: str) -> str:
        if family == "classification":
            return self.classification_method
        if self.seq2seq_method is None:
            raise SystemExit(f"--baseline {self.name} is an encoder with a linear head: it classifies, it cannot generate "
                             f"text for a seq2seq task; use --baseline bart or --baseline t5")
        return self.seq2seq_method

    def max_input_tokens(self, config: PretrainedConfig) -> int | None:
        """Longest input the checkpoint's position table holds (None: relative positions, no table)."""
        if self.model_type == "roberta":  # RoBERTa's positions start after the padding index
            return config.max_position_embeddings - config.pad_token_id - 1
        if self.model_type == "bart":
            return config.max_position_embeddings
        return None


BASELINES: dict[str, Baseline] = {
    "roberta": Baseline("roberta", "FacebookAI/roberta-large", "roberta", RobertaForSequenceClassification, None,
                        "roberta_linear", None, ("hidden_dropout_prob", "attention_probs_dropout_prob")),
    "bart": Baseline("bart", "facebook/bart-large", "bart", BartForSequenceClassification, BartForConditionalGeneration,
                     "bart_linear", "bart", ("dropout", "attention_dropout", "activation_dropout")),
    "t5": Baseline("t5", "google-t5/t5-large", "t5", None, T5ForConditionalGeneration, "t5", "t5", ("dropout_rate",),
                   source_prefix="{task}: "),
}


@dataclass(frozen=True)
class BaselineSpec:
    """What the baseline driver resolved from its flags."""

    baseline: Baseline
    model_name_or_path: str
    task: str
    family: str  # "classification" | "seq2seq"
    data_dir: str | None
    seq_length: int  # classification input tokens
    dev_fraction: float
    data_seed: int
    max_train_examples: int
    source_prefix: str
    hidden_dropout: float | None
    output_dropout: float | None
    checkpoint_activations: bool
    length_penalty: float
    # seq2seq only
    src_seq_length: int
    tgt_seq_length: int
    min_tgt_length: int
    num_beams: int
    no_repeat_ngram_size: int
    label_smoothing: float
    eval_max_examples: int
    use_cache: bool

    @property
    def method(self) -> str:
        return self.baseline.method(self.family)


# ---------------------------------------------------------------------------------------------- tasks
def prepare_task(spec: "BaselineSpec") -> PreparedTask:
    """The task from the one registry, read with the plain texts (no GLM pattern)."""
    return resolve(spec.task).prepare(DataOptions(spec.data_dir, spec.dev_fraction, spec.data_seed), None,
                                      seq_length=spec.seq_length, with_pattern=False)


def task_family(task: str) -> str:
    """'classification' or 'seq2seq' (the baselines' two model shapes); an unknown task is an error."""
    try:
        kind = resolve(task).kind
    except UnknownTaskError as err:
        raise SystemExit(str(err)) from None
    if kind is None:
        raise SystemExit(f"{task}: promptsource tasks are not supported by the baseline driver yet")
    return "seq2seq" if kind == "generation" else "classification"


def label_text(label: str) -> str:
    """The text a text-to-text model generates for a label: the label name with CamelCase split into words
    ("EducationalInstitution" -> "Educational Institution"), since T5's own tasks name classes in words."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label)


def source_text(example: InputExample, prefix: str) -> str:
    """A text-to-text input: the prefix, then text_a and text_b joined by a space."""
    return prefix + " ".join(t for t in (example.text_a, example.text_b) if t)


# ---------------------------------------------------------------------------------------------- loading
def load_pretrained(spec: BaselineSpec, labels: Sequence[str] | None) -> tuple[PreTrainedModel, Any]:
    """Model and tokenizer from a local directory or the hub. With `labels`, a baseline with a linear head gets a
    new head of that size. A hub failure says how to pass a local directory; a checkpoint of another
    architecture, or a length the position table cannot hold, is an error before anything is trained."""
    b, name = spec.baseline, spec.model_name_or_path
    try:
        config = AutoConfig.from_pretrained(name)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:
        if Path(name).is_dir():
            raise SystemExit(f"--model-name-or-path {name}: not a Hugging Face model directory "
                             f"({type(err).__name__}: {err}); it needs config.json, the weights and the tokenizer files") from None
        raise SystemExit(
            f"--model-name-or-path {name!r} is not a local directory and could not be fetched from the hub "
            f"({type(err).__name__}). Where the hub is reachable, download it (e.g. `hf download {name} --local-dir DIR`) "
            f"and pass --model-name-or-path DIR."
        ) from None
    if config.model_type != b.model_type:
        raise SystemExit(f"--baseline {b.name} needs a {b.model_type} checkpoint, but {name} is a {config.model_type!r} model")
    if tokenizer.pad_token_id is None:
        raise SystemExit(f"the tokenizer of {name} has no padding token; batches cannot be formed")
    limit = b.max_input_tokens(config)
    longest = spec.src_seq_length if spec.family == "seq2seq" else spec.seq_length
    if limit is not None and longest > limit:
        flag = "--src-seq-length" if spec.family == "seq2seq" else "--seq-length"
        raise SystemExit(f"{flag} {longest} is longer than the {limit} positions of {name}")
    if spec.hidden_dropout is not None:
        for field in b.dropout_fields:
            setattr(config, field, spec.hidden_dropout)
    if spec.output_dropout is not None:
        if b.classifier is None or spec.family != "classification":
            raise SystemExit(f"--output-dropout sets a classifier head's dropout; the {spec.method} method has no such head")
        config.classifier_dropout = spec.output_dropout
    if labels is not None and b.classifier is not None:
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        model = b.classifier.from_pretrained(name, config=config)
    else:
        model = b.generator.from_pretrained(name, config=config)
    if spec.checkpoint_activations:
        model.gradient_checkpointing_enable()
    return model, tokenizer


# ---------------------------------------------------------------------------------------------- samples
@dataclass
class ClassSample:
    input_ids: list[int]  # [L], specials included
    label: int  # index into the label list, -1 when unlabeled


@dataclass
class TextPair:
    input_ids: list[int]  # [L]
    target_ids: list[int] | None  # [T] with the closing eos; None when unlabeled


def pad_inputs(rows: Sequence[Sequence[int]], pad_id: int) -> dict[str, Tensor]:
    """input_ids [B, L] right-padded with pad_id, attention_mask [B, L] (1 on each row's own tokens)."""
    ids = pad_rows(rows, pad_id)
    lengths = torch.tensor([len(r) for r in rows])
    return {"input_ids": ids, "attention_mask": (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()}


def collate_classes(samples: Sequence[ClassSample], pad_id: int) -> dict[str, Tensor]:
    return {**pad_inputs([s.input_ids for s in samples], pad_id),
            "labels": torch.tensor([s.label for s in samples], dtype=torch.long)}  # [B]


def collate_pairs(samples: Sequence[TextPair], pad_id: int) -> dict[str, Tensor]:
    """Inputs padded with pad_id, targets with IGNORE_INDEX (training only: every target is present)."""
    return {**pad_inputs([s.input_ids for s in samples], pad_id),
            "labels": pad_rows([s.target_ids for s in samples], IGNORE_INDEX)}  # [B, T]


# ---------------------------------------------------------------------------------------------- modules
class LinearClassifier(nn.Module):
    """A Hugging Face *ForSequenceClassification: forward(batch) -> (logits [B, C], cross-entropy or None)."""

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits  # [B, C]
        labels = batch["labels"]
        return logits, cloze_loss(logits, labels) if bool((labels >= 0).all()) else None


def target_log_probs(model: PreTrainedModel, encoded: Tensor, attention_mask: Tensor, targets: Tensor) -> Tensor:
    """Log-probability of every target token, 0 at IGNORE_INDEX padding.

    encoded [N, S, H] encoder states, attention_mask [N, S], targets [N, T] -> [N, T]. The decoder input is the
    targets shifted right behind the model's decoder start token (the model's own rule, also used in training).
    """
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=targets)  # [N, T]
    logits = model(encoder_outputs=BaseModelOutput(last_hidden_state=encoded), attention_mask=attention_mask,
                   decoder_input_ids=decoder_input_ids).logits.float()  # [N, T, V]
    real = targets != IGNORE_INDEX
    picked = logits.log_softmax(-1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # [N, T]
    return picked * real


class LabelTextScorer(nn.Module):
    """Classification by an encoder-decoder LM: the score of a label is the log-likelihood of its text
    (divided by its token count ** length_penalty, as GLM's multi-token cloze; 0 = the plain sum).

    Training maximises the likelihood of the gold label's text (standard text-to-text fine-tuning: token-level
    cross-entropy over the batch) and decodes only that text; evaluation scores every label's text.
    forward(batch) -> (scores [B, C] or None while training, loss or None when the batch is unlabeled).
    """

    def __init__(self, model: PreTrainedModel, candidates: Tensor, length_penalty: float = 0.0):
        super().__init__()
        self.model = model
        self.register_buffer("candidates", candidates, persistent=False)  # [C, T], IGNORE_INDEX padded
        self.length_penalty = length_penalty

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor | None, Tensor | None]:
        labels, mask = batch["labels"], batch["attention_mask"]  # [B], [B, S]
        labelled = bool((labels >= 0).all())
        encoded = self.model.get_encoder()(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state  # [B, S, H]
        if self.training and labelled:
            gold = self.candidates[labels]  # [B, T]
            logp = target_log_probs(self.model, encoded, mask, gold)
            return None, -logp.sum() / (gold != IGNORE_INDEX).sum()
        b, (c, t) = labels.shape[0], self.candidates.shape
        flat = self.candidates.repeat(b, 1)  # [B*C, T]: row i*C + j is label j of example i
        logp = target_log_probs(self.model, encoded.repeat_interleave(c, 0), mask.repeat_interleave(c, 0), flat).view(b, c, t)
        lengths = (self.candidates != IGNORE_INDEX).sum(-1)  # [C]
        scores = logp.sum(-1) / lengths.float() ** self.length_penalty  # [B, C]
        if not labelled:
            return scores, None
        gold = logp[torch.arange(b), labels]  # [B, T]
        return scores, -gold.sum() / lengths[labels].sum()


class Seq2SeqLM(nn.Module):
    """An encoder-decoder LM for generation: forward(batch) -> (None, token-level cross-entropy with label
    smoothing, as GLM's seq2seq loss: (1 - eps) * NLL + eps * mean over the vocabulary of -log p)."""

    def __init__(self, model: PreTrainedModel, label_smoothing: float = 0.0):
        super().__init__()
        self.model = model
        self.label_smoothing = label_smoothing

    def forward(self, batch: dict[str, Tensor]) -> tuple[None, Tensor]:
        targets = batch["labels"]  # [B, T]
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            decoder_input_ids=self.model.prepare_decoder_input_ids_from_labels(labels=targets)).logits
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
                               label_smoothing=self.label_smoothing)
        return None, loss


# ---------------------------------------------------------------------------------------------- building
def build_baseline(spec: BaselineSpec) -> BuiltTask:
    """From the spec to what the loop runs, for either task family."""
    return _classification(spec) if spec.family == "classification" else _seq2seq(spec)


def _classification(spec: BaselineSpec) -> BuiltTask:
    task = prepare_task(spec)
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
    examples = load_splits(processor, spec.data_dir, spec.max_train_examples)
    samples = {split: built.encode_all(exs, split) for split, exs in examples.items()}
    return BuiltTask(
        module=module,
        train_samples=samples["train"],
        collate=built.collate,
        make_evaluator=lambda bs, device: built.evaluator(samples, examples, bs, device),
        validation_metric=metrics[0],
        data_record=data_record(processor, examples),  # as GLM's runs
    )


def _seq2seq(spec: BaselineSpec) -> BuiltTask:
    model, tokenizer = load_pretrained(spec, None)
    task = prepare_task(spec)
    examples = load_splits(task.processor, spec.data_dir, spec.max_train_examples)

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
        data_record=data_record(task.processor, examples, str(spec.data_dir) if spec.data_dir else "hub"),
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
